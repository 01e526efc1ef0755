# Crash trials: saves killed with SIGKILL (whole job or one rank) never cost
# the previous checkpoint.  CI runs H5CKPT_CRASH_TRIALS (default 10) trials.
if BUILD_TOOLS
TESTS += tests/crash/crash_trials.sh
endif
EXTRA_DIST += tests/crash/crash_trials.sh
