#!/bin/sh
# Cost of checksums: save with checksums off/on, load with verification
# off/on (aligned and misaligned layouts), for 10,000 small tensors and for
# 256 MiB in 4 tensors.  usage: sh scripts/bench_checksums.sh [NP] [REPS]
# (defaults 2 ranks, 5 repetitions; after `make check` or
# `make bench/bench_checksums`).  Files go to $TMPDIR (page cache, fsync off).
set -eu
cd "$(dirname "$0")/.."
np=${1:-2}
reps=${2:-5}
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-bench-XXXXXX")
trap 'rm -rf "$d"' EXIT
make -s bench/bench_checksums >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for c in small big; do
    ${MPIEXEC:-mpirun} --oversubscribe -np "$np" bench/bench_checksums "$c" "$reps" "$d"
done
