# The malformed-file corpus (make_corpus.sh writes it; it is checked in) and
# the MPI test that checks every file against MANIFEST.
EXTRA_DIST += tests/corpus
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_corpus
TESTS += tests/mpi/test_corpus
tests_mpi_test_corpus_SOURCES = tests/mpi/test_corpus.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_corpus_CPPFLAGS = $(AM_CPPFLAGS) -DH5CKPT_CORPUS_DIR='"$(abs_top_srcdir)/tests/corpus"'
tests_mpi_test_corpus_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_corpus_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz_open.c
