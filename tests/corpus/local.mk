# tests/corpus: malformed files (make_corpus.sh writes them; they are
# checked in), HDF5's own crashers in hdf5-bugs/, and the fuzzer's target.
# tests/mpi/test_corpus checks every file against MANIFEST; the tool's side
# is tests/cli/corpus_verify.sh and hostile.sh.
EXTRA_DIST += tests/corpus tests/fuzz/fuzz_open.c
