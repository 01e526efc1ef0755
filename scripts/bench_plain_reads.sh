#!/bin/sh
# The plain executor's reads: independent H5Dread (its choice since issue
# 13) against collective H5Dread under each OMPIO collective algorithm
# (fcoll: Open MPI's default choice, two_phase, individual), on four
# workloads (bench/bench_plain_reads.c says which).  One line per case,
# mode and fcoll: median seconds over REPS interleaved loads and the wrong
# elements returned.
#   sh scripts/bench_plain_reads.sh [NP] [REPS] [CASES]
# (defaults 4 ranks, 5 repetitions, "small big whole overlap"; after `make
# check` or `make bench/bench_plain_reads`).  Files go to $TMPDIR (page
# cache).
set -eu
cd "$(dirname "$0")/.."
np=${1:-4}
reps=${2:-5}
cases=${3:-small big whole overlap}
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-bench-XXXXXX")
trap 'rm -rf "$d"' EXIT
make -s bench/bench_plain_reads >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for c in $cases; do
    for fcoll in default two_phase individual; do
        if [ "$fcoll" = default ]; then
            unset OMPI_MCA_fcoll
        else
            OMPI_MCA_fcoll=$fcoll
            export OMPI_MCA_fcoll
        fi
        ${MPIEXEC:-mpirun} --oversubscribe -np "$np" bench/bench_plain_reads "$c" "$reps" "$d" |
            sed "s/^/fcoll=$fcoll /"
    done
done
