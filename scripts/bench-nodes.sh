#!/bin/sh
# The big, llm and small presets of `h5ckpt bench` on 4 ranks, on one node
# and on 2 simulated nodes x 2 ranks (tests/cluster/mpirun-nodes), runs
# interleaved, RUNS times each (default 5); prints the medians as the
# markdown table of docs/PERFORMANCE.md, "Across nodes (simulated)".  The
# ceiling is the bench's own (POSIX pwrite/pread of the same per-rank bytes
# into one scratch file, in the same run, on the same nodes).  Raw JSON
# lines go to $OUT (default bench-nodes.jsonl).  Needs root (the simulated
# nodes) and a built tree.
#   sh scripts/bench-nodes.sh [DIR]     DIR: where the files go (default $TMPDIR or /tmp)
#   RUNS=5 EXECUTORS="fast plain" PRESETS="big llm small" LOCK=/tmp/h5ckpt-bench.lock sh scripts/bench-nodes.sh
# With LOCK set, each group of interleaved runs (one preset, both
# layouts) holds that lock (flock), so that benchmarks of several people
# sharing a machine do not overlap and both layouts see the same minutes.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-${TMPDIR:-/tmp}}
runs=${RUNS:-5}
out=${OUT:-bench-nodes.jsonl}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench="$(pwd)/tools/h5ckpt bench"
f="$dir/h5ckpt-bench-nodes-$$.h5"
trap 'rm -f "$f" "$f.ceiling-scratch"' EXIT
: >"$out"
sh tests/cluster/mpirun-nodes 2 2 true >/dev/null || {
    echo "bench-nodes: no simulated cluster here" >&2
    exit 1
}

# one WHERE LABEL ARGS...: one run, one JSON line tagged with WHERE, LABEL
one() {
    where=$1 label=$2
    shift 2
    case $where in
    1x4) set -- ${MPIEXEC:-mpirun} --oversubscribe -np 4 $bench "$@" ;;
    2x2) set -- sh tests/cluster/mpirun-nodes 2 2 $bench "$@" ;;
    esac
    set -- timeout 600 "$@" --no-fsync --json
    line=$("$@") || {
        echo "bench failed: $where $label: $*" >&2
        exit 1
    }
    echo "{\"where\": \"$where\", \"label\": \"$label\", \"result\": $line}" >>"$out"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); dir $dir; $runs runs" >&2
[ -z "${LOCK:-}" ] || exec 8>"$LOCK"
i=0
while [ "$i" -lt "$runs" ]; do # run-major: a cut-short series covers every preset
    for preset in ${PRESETS:-big llm small}; do
        mesh= # llm: dp x tp = nodes x ranks per node
        [ "$preset" = llm ] && mesh="--mesh 2x2"
        for ex in ${EXECUTORS:-fast plain}; do
            [ -z "${LOCK:-}" ] || flock 8
            for where in 1x4 2x2; do # interleaved: both see the same machine
                one "$where" "$preset write" --write "$f" --preset "$preset" $mesh --executor "$ex"
                one "$where" "$preset read" --read "$f" --preset "$preset" $mesh --executor "$ex"
                # llm: also read on a 1-D mesh of 4 (Shard(1) split over both nodes)
                [ "$preset" != llm ] ||
                    one "$where" "llm read, 1-D mesh" --read "$f" --preset llm --executor "$ex"
                rm -f "$f"
            done
            [ -z "${LOCK:-}" ] || flock -u 8
        done
    done
    i=$((i + 1))
done

/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    d = json.loads(line)
    r = d["result"]
    key = (d["label"], r["executor"], d["where"])
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append(r)
med = statistics.median
print("| workload, 4 ranks | executor | nodes x ranks | runs | seconds (median) | GB/s | ceiling GB/s | ratio (median) | ratios | mismatches |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key in order:
    rs = rows[key]
    print("| %s | %s | %s | %d | %.3f | %.3f | %.3f | %.2f | %s | %d |" % (
        key[0], key[1], key[2].replace("x", " x "), len(rs),
        med([r["seconds"] for r in rs]), med([r["gbps"] for r in rs]),
        med([r["ceiling_gbps"] for r in rs]), med([r["ratio"] for r in rs]),
        " ".join("%.2f" % r["ratio"] for r in rs),
        sum(r["mismatches"] for r in rs)))
PY
