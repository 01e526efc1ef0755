#!/bin/sh
# make check: the Python tests at 1 and 2 rank(s) (tests/python/run.sh).
H5CKPT_PY_NPROCS="1 2" exec sh "$(dirname "$0")/run.sh"
