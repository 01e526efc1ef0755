#!/bin/sh
# Regenerate the malformed-file corpus (tests/corpus/*.h5 and MANIFEST) from
# a valid checkpoint written by the library's test writer
# (tests/scripts/sample).  Needs a built tree and Debian's h5py:
#   sh scripts/build.sh && make tests/scripts/sample && sh tests/corpus/make_corpus.sh
# The output is checked in; tests/mpi/test_corpus checks every file against
# MANIFEST.  Regenerating changes the bytes (HDF5 stores object times), not
# the outcomes.
set -e
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tests/scripts/sample write "$work/base.h5" >/dev/null
rm -f tests/corpus/*.h5
/usr/bin/python3 tests/corpus/make_corpus.py "$work/base.h5" tests/corpus
echo "corpus: $(ls tests/corpus/*.h5 | wc -l) files, $(du -ck tests/corpus/*.h5 | tail -1 | cut -f1) KiB"
