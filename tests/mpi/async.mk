# Asynchronous commits (test_async, with MPI_THREAD_FUNNELED: links the
# convenience library for the test knobs and the fake device) and their
# refusal without that thread level (test_async_single, plain MPI_Init).
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_async tests/mpi/test_async_single
TESTS += tests/mpi/test_async tests/mpi/test_async_single
tests_mpi_test_async_SOURCES = tests/mpi/test_async.c tests/mpi/fake_device.c \
	tests/mpi/fake_device.h tests/mpi/values.c tests/mpi/values.h \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_async_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_async_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) $(XXHASH_LIBS)
tests_mpi_test_async_single_SOURCES = tests/mpi/test_async_single.c \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_async_single_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_async_single_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
