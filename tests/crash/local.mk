# Crash trials: saves killed with SIGKILL (whole job or one rank) never cost
# the previous checkpoint.  CI runs H5CKPT_CRASH_TRIALS (default 10) trials.
check_PROGRAMS += tests/crash/ckverify
tests_crash_ckverify_SOURCES = tests/crash/ckverify.c
tests_crash_ckverify_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
TESTS += tests/crash/crash_trials.sh
EXTRA_DIST += tests/crash/crash_trials.sh
