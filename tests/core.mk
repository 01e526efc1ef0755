# Failure suite (MPI) and the tool/crash scripts.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_failures
TESTS += tests/mpi/test_failures
tests_mpi_test_failures_SOURCES = tests/mpi/test_failures.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_failures_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_failures_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
check_PROGRAMS += tests/scripts/sample
tests_scripts_sample_SOURCES = tests/scripts/sample.c
# links the convenience library: --slow --async paces the background writer
tests_scripts_sample_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
TESTS += tests/scripts/tools.sh
EXTRA_DIST += tests/scripts/tools.sh tests/scripts/read_h5py.py
