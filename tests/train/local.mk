# tests/train rules: the training-state layer (issue 4).
# test_ckdir, test_state: MPI tests (run at 1-4 ranks by tests/run-test.sh);
# resume.sh: train_mlp interrupted and resumed on 4 -> 2 -> 3 ranks equals
# the uninterrupted run bit for bit.
TESTS += tests/train/resume.sh
EXTRA_DIST += tests/train/resume.sh tests/train/compare.py
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_ckdir tests/mpi/test_state
TESTS += tests/mpi/test_ckdir tests/mpi/test_state
tests_mpi_test_ckdir_SOURCES = tests/mpi/test_ckdir.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_ckdir_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_ckdir_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
tests_mpi_test_state_SOURCES = tests/mpi/test_state.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_state_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_state_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
