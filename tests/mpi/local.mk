# tests/mpi: the MPI test programs (Check).  tests/run-test.sh runs each at
# 1, 2, 3 and 4 ranks under `timeout`; tests/cluster/*.cluster run several
# of them again across simulated nodes.
#
# The harness is one convenience library, tests/mpi/libharness.la:
# harness.c (MPI setup, failures agreed across ranks before asserting,
# scratch files), values.c (deterministic values, world_mesh), nodes.c (the
# node a rank runs on) and fake_device.c (a device backend in host memory,
# for the programs that link the core library).  A program's source is its
# own test_NAME.c.  MPI_API_TESTS link lib/libh5ckpt.la and see only the
# public API; MPI_CORE_TESTS link the convenience library
# lib/libh5ckpt_core.la for internal functions, test knobs or link-time
# seams (why, per program, below).  Check's CFLAGS are -pthread only, which
# CHECK_LIBS passes at link time.
if HAVE_CHECK
check_LTLIBRARIES += tests/mpi/libharness.la
tests_mpi_libharness_la_SOURCES = tests/mpi/harness.c tests/mpi/harness.h \
	tests/mpi/values.c tests/mpi/values.h tests/mpi/nodes.c tests/mpi/nodes.h \
	tests/mpi/fake_device.c tests/mpi/fake_device.h
tests_mpi_libharness_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
MPI_API_LDADD = tests/mpi/libharness.la lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
MPI_CORE_LDADD = tests/mpi/libharness.la lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) \
	$(XXHASH_LIBS)

# Through the public API:
#  roundtrip, layouts    round trips and layout kinds
#  disagree              the rank-disagreement matrix
#  overlap               reads whose selections overlap across ranks, both
#                        executors, contiguous and chunked, verified or not
#  binding, boxes        bindings' entry points (MPI_Fint communicators,
#                        h5ckpt_memkind_usable); several boxes per rank
#  failures, crash       the failure suite; what crashes leave behind
#  executors, direct     the fast executor against the plain one; its
#                        direct (O_DIRECT) writes
#  verify, corpus        h5ckpt_verify; the malformed-file corpus against
#                        tests/corpus/MANIFEST
#  ckdir, state          checkpoint directories; the training-state layer
#  async_single          asynchronous commits refused below MPI_THREAD_FUNNELED
#  nodes                 placement and owners across (simulated) nodes
MPI_API_TESTS = \
	tests/mpi/test_roundtrip tests/mpi/test_layouts tests/mpi/test_disagree \
	tests/mpi/test_overlap tests/mpi/test_binding tests/mpi/test_boxes \
	tests/mpi/test_failures tests/mpi/test_crash tests/mpi/test_executors \
	tests/mpi/test_direct tests/mpi/test_verify tests/mpi/test_corpus \
	tests/mpi/test_ckdir tests/mpi/test_state tests/mpi/test_async_single \
	tests/mpi/test_nodes
# Through the core library:
#  held        its stat() calls must reach the test's seam (static link)
#  checksums   calls the internal whole-file verifier the tools use
#  device      installs a fake backend (h5ckpt__devops_override)
#  exchange    sets the unit size, counts units; wraps process_vm_* below
#  xprobe      counts exchanged units (a seccomp filter: a binary of its own)
#  async       test knobs (a paced or failing background writer), fake device
MPI_CORE_TESTS = \
	tests/mpi/test_held tests/mpi/test_checksums tests/mpi/test_device \
	tests/mpi/test_exchange tests/mpi/test_xprobe tests/mpi/test_async
check_PROGRAMS += $(MPI_API_TESTS) $(MPI_CORE_TESTS)
TESTS += $(MPI_API_TESTS) $(MPI_CORE_TESTS)

tests_mpi_test_roundtrip_LDADD = $(MPI_API_LDADD)
tests_mpi_test_layouts_LDADD = $(MPI_API_LDADD)
tests_mpi_test_disagree_LDADD = $(MPI_API_LDADD)
tests_mpi_test_overlap_LDADD = $(MPI_API_LDADD)
tests_mpi_test_binding_LDADD = $(MPI_API_LDADD)
tests_mpi_test_boxes_LDADD = $(MPI_API_LDADD)
tests_mpi_test_failures_LDADD = $(MPI_API_LDADD)
tests_mpi_test_crash_LDADD = $(MPI_API_LDADD)
tests_mpi_test_executors_LDADD = $(MPI_API_LDADD)
tests_mpi_test_direct_LDADD = $(MPI_API_LDADD)
tests_mpi_test_verify_LDADD = $(MPI_API_LDADD)
tests_mpi_test_corpus_LDADD = $(MPI_API_LDADD)
tests_mpi_test_corpus_CPPFLAGS = $(AM_CPPFLAGS) -DH5CKPT_CORPUS_DIR='"$(abs_top_srcdir)/tests/corpus"'
tests_mpi_test_ckdir_LDADD = $(MPI_API_LDADD)
tests_mpi_test_state_LDADD = $(MPI_API_LDADD)
tests_mpi_test_async_single_LDADD = $(MPI_API_LDADD)
tests_mpi_test_nodes_LDADD = $(MPI_API_LDADD)

tests_mpi_test_held_LDADD = $(MPI_CORE_LDADD)
tests_mpi_test_checksums_LDADD = $(MPI_CORE_LDADD)
tests_mpi_test_device_LDADD = $(MPI_CORE_LDADD)
tests_mpi_test_exchange_LDADD = $(MPI_CORE_LDADD)
# Every cross-memory copy the library makes goes through the test first,
# which checks that its target runs on the same node.
tests_mpi_test_exchange_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=process_vm_writev \
	-Wl,--wrap=process_vm_readv
tests_mpi_test_xprobe_LDADD = $(MPI_CORE_LDADD)
tests_mpi_test_async_LDADD = $(MPI_CORE_LDADD)
endif
