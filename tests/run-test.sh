#!/bin/sh
# Test driver used by `make check` (LOG_COMPILER).  Every test runs under
# `timeout`; MPI test binaries (tests/mpi/test_*) run at 1, 2, 3 and 4 ranks
# (odd counts catch even-split bugs), or at the counts in H5CKPT_NPROCS.
t=${TEST_TIMEOUT:-300}
mpiexec=${MPIEXEC:-mpirun}
case "$1" in
*.sh)
    exec timeout -k 10 "$t" sh "$@" ;;
*/mpi/test_*)
    for np in ${H5CKPT_NPROCS:-1 2 3 4}; do
        echo "== $1 at $np rank(s)"
        timeout -k 10 "$t" "$mpiexec" --oversubscribe -np "$np" "$@" || {
            rc=$?
            echo "FAILED at $np rank(s) (exit $rc)"
            exit "$rc"
        }
    done
    exit 0 ;;
*)
    exec timeout -k 10 "$t" "$@" ;;
esac
