# tests/scripts rules

# A save into a full file system (diskfull.sh, on a tmpfs it mounts as
# root; skipped otherwise).
check_PROGRAMS += tests/scripts/diskfull
tests_scripts_diskfull_SOURCES = tests/scripts/diskfull.c
tests_scripts_diskfull_LDADD = lib/libh5ckpt.la $(HDF5_LIBS)
TESTS += tests/scripts/diskfull.sh
EXTRA_DIST += tests/scripts/diskfull.sh
