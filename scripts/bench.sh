#!/bin/sh
# Rerun the table of docs/PERFORMANCE.md: every workload of issue 5 with the
# plain and the fast executor, RUNS times each (default 5), and print the
# medians as a markdown table (seconds, GB/s, ratio to the POSIX ceiling
# measured in the same run, peak RSS over own shard).  Raw JSON lines go to
# $OUT (default bench-results.jsonl).  The sweep (cost against tensor count
# and bytes) runs for the fast executor only, SWEEP_RUNS times (default 3).
#   sh scripts/bench.sh [DIR]        DIR: where the files go (default $TMPDIR or /tmp)
#   RUNS=5 PLAIN_RUNS=5 SWEEP_RUNS=3 FSYNC=--no-fsync EXECUTORS="plain fast" SWEEP=1 sh scripts/bench.sh
# Needs a built tree (sh scripts/build.sh).  Files are deleted at the end.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-${TMPDIR:-/tmp}}
runs=${RUNS:-5}
fsync=${FSYNC:---no-fsync}
execs=${EXECUTORS:-plain fast}
out=${OUT:-bench-results.jsonl}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpi="${MPIEXEC:-mpirun} --oversubscribe"
bench="$(pwd)/tools/h5ckpt bench"
f="$dir/h5ckpt-bench-$$.h5"
trap 'rm -f "$f" "$f.ceiling-scratch"' EXIT
: >"$out"

# one LABEL NP ARGS...: RUNS runs, one JSON line each, tagged with LABEL
one() {
    label=$1 np=$2
    shift 2
    i=0
    while [ "$i" -lt "$runs" ]; do
        line=$(timeout 600 $mpi -np "$np" $bench "$@" $fsync --json) || {
            echo "bench failed: $label: $*" >&2
            exit 1
        }
        echo "{\"label\": \"$label\", \"result\": $line}" >>"$out"
        i=$((i + 1))
    done
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); dir $dir; $runs runs; $fsync" >&2
for ex in $execs; do
    runs=${RUNS:-5}
    [ "$ex" = plain ] && runs=${PLAIN_RUNS:-$runs}
    for np in 1 2 4; do
        one "big write, $np ranks" "$np" --write "$f" --preset big --executor "$ex"
        one "big read, $np ranks" "$np" --read "$f" --preset big --executor "$ex"
        rm -f "$f"
    done
    one "llm write, 4 ranks as 2x2" 4 --write "$f" --preset llm --mesh 2x2 --executor "$ex"
    one "llm read of the 2x2 file, 3 ranks" 3 --read "$f" --preset llm --executor "$ex"
    one "llm read of the 2x2 file, 1 rank" 1 --read "$f" --preset llm --executor "$ex"
    rm -f "$f"
    one "small write, 4 ranks" 4 --write "$f" --preset small --executor "$ex"
    one "small read, 4 ranks" 4 --read "$f" --preset small --executor "$ex"
    rm -f "$f"
    if [ "${SWEEP:-1}" = 1 ] && [ "$ex" = fast ]; then
        save=$runs
        runs=${SWEEP_RUNS:-3}
        for n in 1000 3000 10000; do
            one "sweep: $n x 4 KiB write, 2 ranks" 2 --write "$f" --preset small --count "$n" --executor "$ex"
            one "sweep: $n x 4 KiB read, 2 ranks" 2 --read "$f" --preset small --count "$n" --executor "$ex"
            rm -f "$f"
        done
        for s in 4M 32M 128M; do
            one "sweep: 8 x $s write, 2 ranks" 2 --write "$f" --preset big --size "$s" --executor "$ex"
            one "sweep: 8 x $s read, 2 ranks" 2 --read "$f" --preset big --size "$s" --executor "$ex"
            rm -f "$f"
        done
        runs=$save
    fi
done

/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    d = json.loads(line)
    r = d["result"]
    key = (d["label"], r["executor"])
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append(r)
print("| workload | executor | runs | seconds | GB/s | ceiling GB/s | ratio | RSS over own shard (MiB) | mismatches |")
print("|---|---|---|---|---|---|---|---|---|")
med = statistics.median
for key in order:
    rs = rows[key]
    print("| %s | %s | %d | %.3f | %.3f | %.3f | %.2f | %.1f | %d |" % (
        key[0], key[1], len(rs), med([r["seconds"] for r in rs]),
        med([r["gbps"] for r in rs]), med([r["ceiling_gbps"] for r in rs]),
        med([r["ratio"] for r in rs]),
        max(r["rss_over_shard_max_bytes"] for r in rs) / 1048576.0,
        sum(r["mismatches"] for r in rs)))
PY
