# tests/train: the training-state layer.  resume.sh: train_mlp interrupted
# and resumed on 4 -> 2 -> 3 ranks (synchronous and asynchronous saves)
# equals the uninterrupted run bit for bit.  Its MPI tests (test_ckdir,
# test_state) are declared in tests/mpi/local.mk.
TESTS += tests/train/resume.sh
EXTRA_DIST += tests/train/resume.sh tests/train/compare.py
