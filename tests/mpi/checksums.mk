# Checksums (test_checksums): links the convenience library to call the
# internal whole-file verifier that tools use.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_checksums
TESTS += tests/mpi/test_checksums
tests_mpi_test_checksums_SOURCES = tests/mpi/test_checksums.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_checksums_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_checksums_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) $(XXHASH_LIBS)
endif
# What crashes leave behind (test_crash): temporaries refused and removed.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_crash
TESTS += tests/mpi/test_crash
tests_mpi_test_crash_SOURCES = tests/mpi/test_crash.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_crash_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_crash_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
