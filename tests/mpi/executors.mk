# The fast executor against the plain one (test_executors) and the bench
# tool's verification (bench.sh).
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_executors
TESTS += tests/mpi/test_executors
tests_mpi_test_executors_SOURCES = tests/mpi/test_executors.c tests/mpi/values.c \
	tests/mpi/values.h tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_executors_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_executors_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
if BUILD_TOOLS
TESTS += tests/scripts/bench.sh
endif
EXTRA_DIST += tests/scripts/bench.sh

# The fast reader's node-local exchange (test_exchange): links the
# convenience library to set the unit size and count units.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_exchange
TESTS += tests/mpi/test_exchange
tests_mpi_test_exchange_SOURCES = tests/mpi/test_exchange.c tests/mpi/values.c \
	tests/mpi/values.h tests/mpi/nodes.c tests/mpi/nodes.h tests/mpi/harness.c \
	tests/mpi/harness.h
tests_mpi_test_exchange_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# Every cross-memory copy the library makes goes through the test first,
# which checks that its target runs on the same node.
tests_mpi_test_exchange_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=process_vm_writev \
	-Wl,--wrap=process_vm_readv
tests_mpi_test_exchange_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) $(XXHASH_LIBS)
endif
# Its probe where only process_vm_writev is refused (test_xprobe: a seccomp
# filter, which stays for the life of the process, hence a binary of its
# own; links the convenience library to count exchanged units).
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_xprobe
TESTS += tests/mpi/test_xprobe
tests_mpi_test_xprobe_SOURCES = tests/mpi/test_xprobe.c tests/mpi/values.c \
	tests/mpi/values.h tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_xprobe_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_xprobe_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) $(XXHASH_LIBS)
endif

# The fast writer's direct writes (test_direct): large pieces round trip
# with and without O_DIRECT, and bypass the page cache where it can.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_direct
TESTS += tests/mpi/test_direct
tests_mpi_test_direct_SOURCES = tests/mpi/test_direct.c tests/mpi/values.c \
	tests/mpi/values.h tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_direct_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_direct_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
