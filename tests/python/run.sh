#!/bin/sh
# The Python package's tests (pytest) under mpirun, at the rank counts given
# (default 1 2 3 4), each run under `timeout`.  Every rank runs every test;
# rank 0 prints the report.  pytest's exit 5 (no test collected) is a
# failure: a test file that silently stops being collected must not pass.
#   run.sh [-k EXPR] [FILE...]      (H5CKPT_PY_NPROCS="1 2" to choose)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
py=${PYTHON_H5PY:-/usr/bin/python3}
t=${H5CKPT_PY_TIMEOUT:-240}
lib=$top_builddir/lib/.libs/libh5ckpt.so
[ -f "$lib" ] || { echo "SKIP: $lib not built"; exit 77; }
if ldd "$lib" 2>/dev/null | grep -q 'libasan'; then
    # ctypes cannot load an ASan library into an uninstrumented python
    echo "skipped: Python tests do not run against a sanitizer build"
    exit 77
fi
$py -c 'import numpy, mpi4py, pytest' 2>/dev/null ||
    { echo "skipped: $py lacks numpy, mpi4py or pytest"; exit 77; }
export PYTHONPATH="$top_srcdir/python:$top_srcdir/tests/python${PYTHONPATH:+:$PYTHONPATH}"
export H5CKPT_LIBRARY="$lib" H5CKPT_TOOL="$top_builddir/tools/h5ckpt"
export top_srcdir top_builddir OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export PYTHONDONTWRITEBYTECODE=1
mpiexec=${MPIEXEC:-mpirun}
if [ $# -eq 0 ]; then set -- "$top_srcdir/tests/python"; fi
H5CKPT_PY_LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-pylog-XXXXXX") || exit 99
export H5CKPT_PY_LOGDIR
trap 'rm -rf "$H5CKPT_PY_LOGDIR"' EXIT
# Files written by the C library for the reader tests: every dtype (2 ranks)
# and a 2x2 mesh (4 ranks).
fx=$top_builddir/tests/cli/fixture
sm=$top_builddir/tests/scripts/sample
if [ -x "$fx" ] && timeout 60 "$mpiexec" --oversubscribe -np 2 "$fx" "$H5CKPT_PY_LOGDIR/fixture.h5"; then
    export H5CKPT_PY_FIXTURE="$H5CKPT_PY_LOGDIR/fixture.h5"
fi
if [ -x "$sm" ] && timeout 60 "$mpiexec" --oversubscribe -np 4 "$sm" write \
        "$H5CKPT_PY_LOGDIR/sample2x2.h5" --mesh 2x2 >/dev/null; then
    export H5CKPT_PY_SAMPLE2X2="$H5CKPT_PY_LOGDIR/sample2x2.h5"
fi
status=0
for np in ${H5CKPT_PY_NPROCS:-1 2 3 4}; do
    echo "== pytest at $np rank(s)"
    rm -f "$H5CKPT_PY_LOGDIR"/rank*.log
    : "${H5CKPT_PY_FIXTURE:=}" "${H5CKPT_PY_SAMPLE2X2:=}"
    export H5CKPT_PY_FIXTURE H5CKPT_PY_SAMPLE2X2
    timeout -k 10 "$t" "$mpiexec" --oversubscribe -x PYTHONPATH -x H5CKPT_LIBRARY \
        -x H5CKPT_TOOL -x top_srcdir -x top_builddir -x OMP_NUM_THREADS \
        -x PYTHONDONTWRITEBYTECODE -x H5CKPT_PY_LOGDIR -x H5CKPT_PY_FIXTURE \
        -x H5CKPT_PY_SAMPLE2X2 -np "$np" \
        sh "$top_srcdir/tests/python/rank.sh" \
        $py -m pytest -q -p no:cacheprovider --color=no -rs "$@"
    rc=$?
    if [ "$rc" != 0 ]; then
        for f in "$H5CKPT_PY_LOGDIR"/rank*.log; do
            [ -f "$f" ] && { echo "==== $(basename "$f" .log)"; tail -n 40 "$f"; }
        done
        echo "FAILED at $np rank(s) (exit $rc)"
        status=1
    fi
done
exit $status
