#!/bin/sh
# The measurements behind docs/SCALING.md: bench/bench_scale (per-phase time,
# MPI calls and bytes, memory high-water marks per rank) over
#   - tensors: 1k (REPS repetitions), 10k, 100k at 4 ranks, layouts
#              shard and range;
#   - ranks:   2 and 8 (oversubscribed) at 10k tensors, shard and range, and
#              cols at 8 ranks (fragmented reads: the node exchange).
# usage: sh scripts/bench-scale.sh [OUT [REPS [BENCH]]]   (default
# docs/bench-data/scale.txt, 3 repetitions, bench/bench_scale; BENCH may be
# the bench_scale of another build, e.g. one from before a change).
# GRID=ranks runs only 2, 4, 8 ranks at 10k tensors, shard and range, once
# (what docs/SCALING.md compares with the code before its fixes:
# GRID=ranks sh scripts/bench-scale.sh docs/bench-data/scale-before.txt 1 OLD/bench/bench_scale).
# Runs go in a few batches, each under /tmp/h5ckpt-bench.lock (held for a
# minute or three), so benchmarks of several people on one machine do not
# overlap.  Files go to $TMPDIR (page cache, fsync off).
# Then: /usr/bin/python3 scripts/scale-fit.py OUT   (the fits and the model).
set -eu
cd "$(dirname "$0")/.."
out=${1:-docs/bench-data/scale.txt}
reps=${2:-3}
bench=${3:-bench/bench_scale}
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-scale-XXXXXX")
trap 'rm -rf "$d"' EXIT
[ -n "${3:-}" ] || make -s bench/bench_scale >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$(dirname "$out")"
{
    echo "# $bench ($(cd "$(dirname "$bench")" && git rev-parse --short HEAD 2>/dev/null || echo '?')) $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
         "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# phase NAME P T LAYOUT REP R0_S OTHER_S R0_CALLS R0_OUT R0_IN OTHER_CALLS OTHER_OUT OTHER_IN R0_MEM_KB OTHER_MEM_KB"
} >"$out"
mpi=${MPIEXEC:-mpirun}
# batch "NP LAYOUT T REPS" ...: the runs one after the other, under one lock
batch() {
    cmd=
    for r in "$@"; do
        set -- $r
        cmd="$cmd $mpi --oversubscribe -np $1 $bench $2 $3 $4 $d >>$out &&"
    done
    flock /tmp/h5ckpt-bench.lock sh -c "$cmd true"
}
if [ "${GRID:-all}" = ranks ]; then
    batch "2 shard 10000 1" "2 range 10000 1" "4 shard 10000 1" "4 range 10000 1"
    batch "8 shard 10000 1" "8 range 10000 1"
    echo "wrote $out"
    exit 0
fi
batch "4 shard 1000 $reps" "4 range 1000 $reps" "4 shard 10000 1" "4 range 10000 1"
batch "4 shard 100000 1"
batch "4 range 100000 1"
batch "2 shard 10000 1" "2 range 10000 1" "8 shard 10000 1" "8 range 10000 1" "8 cols 10000 1"
echo "wrote $out"
