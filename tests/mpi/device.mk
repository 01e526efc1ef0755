# Device buffers through a fake backend (test_device): links the convenience
# library to install the fake with h5ckpt__devops_override.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_device
TESTS += tests/mpi/test_device
tests_mpi_test_device_SOURCES = tests/mpi/test_device.c tests/mpi/fake_device.c \
	tests/mpi/fake_device.h tests/mpi/values.c tests/mpi/values.h \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_device_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_device_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) $(XXHASH_LIBS)
endif
