# tests/scripts: shell tests around small C programs.
#  tools.sh     h5dump/h5ls/h5py read what `sample` writes
#  diskfull.sh  a save into a full file system (a tmpfs it mounts as root;
#               skipped otherwise)
#  bench.sh     the bench tool verifies what it wrote (needs the tool)
check_PROGRAMS += tests/scripts/sample tests/scripts/diskfull
tests_scripts_sample_SOURCES = tests/scripts/sample.c
# links the convenience library: --slow --async paces the background writer
tests_scripts_sample_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
tests_scripts_diskfull_SOURCES = tests/scripts/diskfull.c
tests_scripts_diskfull_LDADD = lib/libh5ckpt.la $(HDF5_LIBS)
TESTS += tests/scripts/tools.sh tests/scripts/diskfull.sh
if BUILD_TOOLS
TESTS += tests/scripts/bench.sh
endif
EXTRA_DIST += tests/scripts/tools.sh tests/scripts/read_h5py.py tests/scripts/diskfull.sh \
	tests/scripts/bench.sh
