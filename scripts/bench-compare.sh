#!/bin/sh
# Two builds of h5ckpt, the same benchmarks, interleaved: a regression check
# for changes that must not cost speed (issue 14's refactor was measured so).
#   sh scripts/bench-compare.sh OLD_TOOL NEW_TOOL [ROUNDS] [DIR]
# OLD_TOOL, NEW_TOOL: the `h5ckpt` of each build (tools/h5ckpt of a built
# tree).  Each round runs every case once per build, the order of the builds
# alternating between rounds; every run holds the machine's benchmark lock
# (/tmp/h5ckpt-bench.lock).  Prints, per case, the median seconds and the
# median ratio to the POSIX ceiling measured in the same run, for each
# build, and new/old.  Raw JSON lines go to $OUT (default bench-compare.jsonl).
# CASES (default "2:big 2:llm 2:small 3:llm", RANKS:PRESET) and PHASES
# (default "write read"; "read" alone: each build writes its own file once
# per case, untimed, and the rounds only read it) narrow a rerun.
set -eu
old=$1 new=$2 rounds=${3:-5} dir=${4:-${TMPDIR:-/tmp}}
out=${OUT:-bench-compare.jsonl}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
f="$dir/h5ckpt-bench-compare-$$"
trap 'rm -f "$f".*' EXIT
cases=${CASES:-2:big 2:llm 2:small 3:llm}
phases=${PHASES:-write read}
: >"$out"
case " $phases " in
*" write "*) ;;
*)  for c in $cases; do # reads only: each build's file, written once
        np=${c%%:*} preset=${c#*:}
        for b in old new; do
            tool=$old; [ "$b" = new ] && tool=$new
            flock /tmp/h5ckpt-bench.lock timeout 600 mpirun --oversubscribe -np "$np" \
                "$tool" bench --write "$f.$b.$np.$preset.h5" --preset "$preset" --json >/dev/null
        done
    done ;;
esac
r=0
while [ "$r" -lt "$rounds" ]; do
    for c in $cases; do
        np=${c%%:*} preset=${c#*:}
        if [ $((r % 2)) = 0 ]; then order="old new"; else order="new old"; fi
        for b in $order; do
            tool=$old; [ "$b" = new ] && tool=$new
            for phase in $phases; do
                [ "$phase" = read ] || rm -f "$f.$b.$np.$preset.h5"
                line=$(flock /tmp/h5ckpt-bench.lock timeout 600 mpirun --oversubscribe -np "$np" \
                    "$tool" bench --"$phase" "$f.$b.$np.$preset.h5" --preset "$preset" --json)
                echo "{\"build\": \"$b\", \"np\": $np, \"preset\": \"$preset\", \"phase\": \"$phase\", \"round\": $r, \"result\": $line}" >>"$out"
            done
        done
    done
    echo "round $r done" >&2
    r=$((r + 1))
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def pick(res, *names):
    for n in names:
        if n in res:
            return res[n]
    return None
print("| case | phase | old s | new s | new/old | old ratio | new ratio |")
print("|---|---|---|---|---|---|---|")
keys = sorted({(r["np"], r["preset"], r["phase"]) for r in rows}, key=lambda k: (k[1], k[0], k[2] != "write"))
for np, preset, phase in keys:
    cell = {}
    for b in ("old", "new"):
        rs = [r["result"] for r in rows if (r["np"], r["preset"], r["phase"], r["build"]) == (np, preset, phase, b)]
        secs = statistics.median(pick(x, "seconds", "checkpoint_seconds") for x in rs)
        ratio = statistics.median(pick(x, "ratio", "ratio_shared", "ratio_to_ceiling") for x in rs)
        cell[b] = (secs, ratio, len(rs))
    print(f"| {preset} at {np} ranks ({cell['old'][2]} runs) | {phase} | {cell['old'][0]:.3f} | {cell['new'][0]:.3f} | "
          f"{cell['new'][0] / cell['old'][0]:.2f} | {cell['old'][1]:.2f} | {cell['new'][1]:.2f} |")
PY
