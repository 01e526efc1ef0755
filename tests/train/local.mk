# tests/train rules: the training-state layer (issue 4).
# test_ckdir, test_state: MPI tests (run at 1-4 ranks by tests/run-test.sh);
# resume.sh: train_mlp interrupted and resumed on 4 -> 2 -> 3 ranks equals
# the uninterrupted run bit for bit.
TESTS += tests/train/resume.sh
EXTRA_DIST += tests/train/resume.sh tests/train/compare.py
