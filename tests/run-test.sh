#!/bin/sh
# Test driver used by `make check` (LOG_COMPILER).  Every test runs under
# `timeout`; MPI test binaries (tests/mpi/test_*) run at 1, 2, 3 and 4 ranks
# (odd counts catch even-split bugs), or at the counts in H5CKPT_NPROCS,
# as does tests/gpu/test_cuda_roundtrip, whose exit 77 (no CUDA device) at
# the first count is automake's SKIP.
# With H5CKPT_CLUSTER set to node layouts ("2x2 3x1": NODES x RANKS per
# node) they run on the simulated cluster (tests/cluster/mpirun-nodes)
# instead.  A tests/cluster/*.cluster file names one MPI test binary and
# its layouts, and is run that way; H5CKPT_CLUSTER_LAYOUTS, when set,
# replaces every file's layouts (0: skip the cross-node tests).  A word
# executors=fast (or plain) in the file runs it under that one only: for a
# binary that names its executors itself (test_executors).
t=${TEST_TIMEOUT:-300}
ran=
mpiexec=${MPIEXEC:-mpirun}
case "$1" in
*.cluster)
    read -r prog words <"$1"
    layouts=
    for w in $words; do
        case $w in
        executors=*) H5CKPT_EXECUTORS=${w#executors=} && export H5CKPT_EXECUTORS ;;
        *) layouts="$layouts $w" ;;
        esac
    done
    H5CKPT_CLUSTER=${H5CKPT_CLUSTER_LAYOUTS:-$layouts}
    if [ "$H5CKPT_CLUSTER" = 0 ]; then
        echo "skipped: cross-node tests turned off (H5CKPT_CLUSTER_LAYOUTS=0)"
        exit 77
    fi
    export H5CKPT_CLUSTER
    exec sh "$0" "${top_builddir:-.}/$prog" ;;
*.sh)
    exec timeout -k 10 "$t" sh "$@" ;;
*/mpi/test_*|*/gpu/test_cuda_roundtrip)
    # ... and once per executor (H5CKPT_EXECUTORS, default both): the library
    # resolves the default executor from H5CKPT_EXECUTOR.  test_executors
    # names the executor in every create and open (it compares them), so a
    # second pass would repeat the same work: it runs once.
    case "$1" in */mpi/test_executors) H5CKPT_EXECUTORS=${H5CKPT_EXECUTORS:-fast} ;; esac
    nodes=$(dirname "$0")/cluster/mpirun-nodes
    for ex in ${H5CKPT_EXECUTORS:-plain fast}; do
    for run in ${H5CKPT_CLUSTER:-${H5CKPT_NPROCS:-1 2 3 4}}; do
        if [ -n "$H5CKPT_CLUSTER" ]; then
            where="${run%x*} node(s) x ${run#*x} rank(s)"
        else
            where="$run rank(s)"
        fi
        echo "== $1 at $where, $ex executor"
        start=$(date +%s)
        if [ -n "$H5CKPT_CLUSTER" ]; then
            H5CKPT_EXECUTOR=$ex timeout -k 10 "$t" sh "$nodes" "${run%x*}" "${run#*x}" "$@"
        else
            H5CKPT_EXECUTOR=$ex timeout -k 10 "$t" "$mpiexec" --oversubscribe \
                -x H5CKPT_EXECUTOR -np "$run" "$@"
        fi || {
            rc=$?
            [ "$rc" = 77 ] && [ -z "$ran" ] && exit 77 # skipped on every rank
            echo "FAILED at $where, $ex executor (exit $rc)"
            exit "$rc"
        }
        echo "   ($(($(date +%s) - start)) s)"
        ran=1
    done
    done
    exit 0 ;;
*)
    exec timeout -k 10 "$t" "$@" ;;
esac
