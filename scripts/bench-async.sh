#!/bin/sh
# The "Async save" table of docs/PERFORMANCE.md: `h5ckpt bench --async` for
# the big and llm presets at 1, 2 and 4 ranks, ROUNDS times each (default
# 3, in rotating order), each run under the shared benchmark lock
# (/tmp/h5ckpt-bench.lock), then the medians as a markdown table.  Raw
# JSON lines go to $OUT (default bench-async.jsonl).
#   sh scripts/bench-async.sh [DIR]     DIR: where the files go (default $TMPDIR or /tmp)
#   ROUNDS=3 FSYNC=--no-fsync EXTRA="--snapshot-bytes 64M" H5CKPT_TOOL=path/to/h5ckpt sh scripts/bench-async.sh
# Needs a built tree (sh scripts/build.sh).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-${TMPDIR:-/tmp}}
rounds=${ROUNDS:-3}
fsync=${FSYNC:---no-fsync}
out=${OUT:-bench-async.jsonl}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpi="${MPIEXEC:-mpirun} --oversubscribe"
bench="${H5CKPT_TOOL:-$(pwd)/tools/h5ckpt} bench"
f="$dir/h5ckpt-bench-async-$$.h5"
trap 'rm -f "$f"' EXIT
: >"$out"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r);" \
    "load $(cut -d' ' -f1-3 /proc/loadavg); dir $dir; $rounds rounds; $fsync ${EXTRA:-}" >&2
r=0
while [ "$r" -lt "$rounds" ]; do
    for k in 0 1 2 3 4 5; do
        k=$(( (k + r) % 6 ))
        preset=$( [ $k -lt 3 ] && echo big || echo llm )
        np=$(echo "1 2 4" | cut -d' ' -f$(( k % 3 + 1 )))
        line=$(flock /tmp/h5ckpt-bench.lock timeout 900 $mpi ${LD_LIBRARY_PATH:+-x LD_LIBRARY_PATH} -np "$np" $bench --write "$f" \
            --async --preset "$preset" $fsync ${EXTRA:-} --json) || {
            echo "bench failed: $preset at $np ranks" >&2
            exit 1
        }
        rm -f "$f"
        echo "{\"preset\": \"$preset\", \"ranks\": $np, \"round\": $r, \"result\": $line}" >>"$out"
        echo "round $r: $preset, $np rank(s) done" >&2
    done
    r=$((r + 1))
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = [("stall_seconds", "stall s", 3), ("memcpy_seconds", "memcpy s", 3),
        ("memcpy_settled_seconds", "memcpy settled s", 3),
        ("stall_over_memcpy", "stall/memcpy", 2), ("background_seconds", "background s", 3),
        ("sync_commit_seconds", "sync commit s", 3), ("background_over_sync", "bg/sync", 2),
        ("loop_slowdown", "loop slowdown", 2), ("cpu_contention_share", "CPU-wait share", 2),
        ("rss_over_shard_max_bytes", "RSS over shard MiB", 0)]
print("| preset | ranks | runs | " + " | ".join(k[1] for k in keys) + " |")
print("|---|---|---|" + "---|" * len(keys))
for preset in ("big", "llm"):
    for np in (1, 2, 4):
        rs = [r["result"] for r in rows if r["preset"] == preset and r["ranks"] == np]
        if not rs:
            continue
        cells = []
        for k, _, nd in keys:
            if any(k not in x for x in rs):  # lines of an older bench
                cells.append("-")
                continue
            v = statistics.median(x[k] for x in rs)
            cells.append(f"{v / 1048576:.0f}" if k.endswith("bytes") else f"{v:.{nd}f}")
        print(f"| {preset} | {np} | {len(rs)} | " + " | ".join(cells) + " |")
PY
