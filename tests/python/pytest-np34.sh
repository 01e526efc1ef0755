#!/bin/sh
# make check: the Python tests at 3 and 4 rank(s) (tests/python/run.sh).
H5CKPT_PY_NPROCS="3 4" exec sh "$(dirname "$0")/run.sh"
