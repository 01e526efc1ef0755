#!/bin/sh
# Test driver used by `make check` (LOG_COMPILER).  Every test runs under
# `timeout`; MPI test binaries (tests/mpi/test_*) run at 1, 2, 3 and 4 ranks
# (odd counts catch even-split bugs), or at the counts in H5CKPT_NPROCS,
# as does tests/gpu/test_cuda_roundtrip, whose exit 77 (no CUDA device) at
# the first count is automake's SKIP,
t=${TEST_TIMEOUT:-300}
ran=
mpiexec=${MPIEXEC:-mpirun}
case "$1" in
*.sh)
    exec timeout -k 10 "$t" sh "$@" ;;
*/mpi/test_*|*/gpu/test_cuda_roundtrip)
    # ... and once per executor (H5CKPT_EXECUTORS, default both): the library
    # resolves the default executor from H5CKPT_EXECUTOR.
    for ex in ${H5CKPT_EXECUTORS:-plain fast}; do
    for np in ${H5CKPT_NPROCS:-1 2 3 4}; do
        echo "== $1 at $np rank(s), $ex executor"
        H5CKPT_EXECUTOR=$ex timeout -k 10 "$t" "$mpiexec" --oversubscribe -x H5CKPT_EXECUTOR -np "$np" "$@" || {
            rc=$?
            [ "$rc" = 77 ] && [ -z "$ran" ] && exit 77 # skipped on every rank
            echo "FAILED at $np rank(s), $ex executor (exit $rc)"
            exit "$rc"
        }
        ran=1
    done
    done
    exit 0 ;;
*)
    exec timeout -k 10 "$t" "$@" ;;
esac
