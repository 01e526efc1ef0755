#!/bin/sh
# The measurements behind docs/SCALING.md: bench/bench_scale (per-phase time,
# MPI calls and bytes, memory high-water marks per rank) over
#   - tensors: 1k, 3k, 10k (REPS repetitions), 30k, 100k (one) at 4 ranks,
#              layouts shard and range; repl and cols at 10k;
#   - ranks:   1, 2, 8 (oversubscribed) at 10k tensors, shard and range
#              (4 is in the first part); cols at 8 ranks.
# usage: sh scripts/bench-scale.sh [OUT [REPS [BENCH]]]   (default
# docs/bench-data/scale.txt, 3 repetitions, bench/bench_scale; BENCH may be
# the bench_scale of another build, e.g. one from before a change).
# GRID=ranks runs only 2, 4, 8 ranks at 10k tensors, shard and range, once
# (what docs/SCALING.md compares with the code before its fixes:
# GRID=ranks sh scripts/bench-scale.sh docs/bench-data/scale-before.txt 1 OLD/bench/bench_scale).
# Each mpirun holds /tmp/h5ckpt-bench.lock, so benchmarks of several people
# on one machine do not overlap.  Files go to $TMPDIR (page cache, fsync off).
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
run() { # NP LAYOUT T REPS
    flock /tmp/h5ckpt-bench.lock ${MPIEXEC:-mpirun} --oversubscribe -np "$1" \
        "$bench" "$2" "$3" "$4" "$d" >>"$out"
}
if [ "${GRID:-all}" = ranks ]; then
    for p in 2 4 8; do
        for l in shard range; do run "$p" "$l" 10000 1; done
    done
    echo "wrote $out"
    exit 0
fi
for t in 1000 3000 10000 30000 100000; do
    r=$reps; [ "$t" -gt 10000 ] && r=1
    for l in shard range; do run 4 "$l" "$t" "$r"; done
done
for l in repl cols; do run 4 "$l" 10000 1; done
for p in 1 2 8; do
    for l in shard range; do run "$p" "$l" 10000 1; done
done
run 8 cols 10000 1
echo "wrote $out"
