#!/bin/sh
# The write exchange against per-run writes (docs/PERFORMANCE.md, "Fragmented
# writes shared among a node's ranks"): `h5ckpt bench --write` of the llm
# state at 2 and 4 ranks, interleaved with H5CKPT_EXCHANGE=1 and =0, RUNS
# times (default 3), each run under the shared benchmark lock; JSON lines
# to $OUT (default bench-wexchange.jsonl), medians printed.
#   sh scripts/bench-wexchange.sh [DIR]     RUNS=3 NPS="2 4" PRESET=llm
set -eu
cd "$(dirname "$0")/.."
dir=${1:-${TMPDIR:-/tmp}}
runs=${RUNS:-3}
out=${OUT:-bench-wexchange.jsonl}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
f="$dir/h5ckpt-wexchange-$$.h5"
trap 'rm -f "$f" "$f".ceiling-*' EXIT
: >"$out"
for np in ${NPS:-2 4}; do
    i=0
    while [ "$i" -lt "$runs" ]; do
        for x in 1 0; do
            line=$(H5CKPT_EXCHANGE=$x flock /tmp/h5ckpt-bench.lock timeout 600 \
                ${MPIEXEC:-mpirun} --oversubscribe -x H5CKPT_EXCHANGE -np "$np" \
                tools/h5ckpt bench --write "$f" --preset "${PRESET:-llm}" --no-fsync --json)
            rm -f "$f"
            echo "{\"ranks\": $np, \"exchange\": $x, \"run\": $i, \"result\": $line}" >>"$out"
        done
        i=$((i + 1))
    done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| ranks | exchange | runs | seconds (median) | ratio to one-file ceiling (median) | ratio to file-per-rank ceiling (median) |")
print("|---|---|---|---|---|---|")
for np in sorted({r["ranks"] for r in rows}):
    for x in (1, 0):
        rs = [r["result"] for r in rows if r["ranks"] == np and r["exchange"] == x]
        med = lambda k: statistics.median(r[k] for r in rs if k in r)
        print(f"| {np} | {'on' if x else 'off'} | {len(rs)} | {med('seconds'):.3f} | "
              f"{med('ratio'):.2f} | {med('ratio_per_rank'):.2f} |")
PY
