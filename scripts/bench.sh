#!/bin/sh
# Rerun the table of docs/PERFORMANCE.md end to end: write and read rows of
# the big, llm and small presets at 1, 2 and 4 ranks, from warm and cold
# pages, writes with and without fsync, each against the two POSIX ceilings
# (one file, a file per rank) measured in the same `h5ckpt bench` call.
# Every call runs RUNS rounds of its three timed phases in rotating order
# and reports medians; the table shows those medians, the medians of the
# rounds' ratios, and every round's h5ckpt seconds.  Big writes also get a
# DCP-like row (scripts/bench_dcp.py: torch.save per rank, same state, same
# page state) when torch and mpi4py import.  Raw JSON lines go to $OUT.
#
#   sh scripts/bench.sh [DIR]     DIR: where the files go (default $TMPDIR or /tmp)
#
# Knobs (environment, defaults in brackets):
#   RUNS [3]           rounds per bench call
#   PAGES ["warm cold"]  page states (`h5ckpt bench --pages`)
#   FSYNC ["no yes"]   writes without and with fsync
#   NPS ["1 2 4"]      rank counts; llm at 4 ranks is written as a 2x2 mesh
#                      and its file is also read by 3 ranks
#   PRESETS ["big llm small"], EXECUTORS [fast] (plain too: "plain fast")
#   READS [1]          0: write rows only
#   DIRECT [on]        "on off" adds fast-writer rows with --no-direct
#                      (buffered writes only), interleaved with the others
#   SETTLE [20]        --pages cold: the longest wait for the page state
#   DCP [1]            the torch.save-per-rank row for big writes
#   OUT [bench-results.jsonl], LOCK [/tmp/h5ckpt-bench.lock]: every call
#                      runs under `flock $LOCK` (shared machines)
# Needs a built tree (sh scripts/build.sh).  Files are deleted at the end.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-${TMPDIR:-/tmp}}
runs=${RUNS:-3}
pages_list=${PAGES:-warm cold}
fsyncs=${FSYNC:-no yes}
nps=${NPS:-1 2 4}
presets=${PRESETS:-big llm small}
execs=${EXECUTORS:-fast}
reads=${READS:-1}
directs=${DIRECT:-on}
settle=${SETTLE:-20}
dcp=${DCP:-1}
out=${OUT:-bench-results.jsonl}
lock=${LOCK:-/tmp/h5ckpt-bench.lock}
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpi="${MPIEXEC:-mpirun} --oversubscribe"
bench="$(pwd)/tools/h5ckpt bench"
f="$dir/h5ckpt-bench-$$.h5"
trap 'rm -f "$f" "$f".ceiling-* "$f".warm-*' EXIT
: >"$out"
[ "$dcp" = 1 ] && ! "$py" -c 'import torch, mpi4py' 2>/dev/null && {
    echo "torch or mpi4py does not import: no DCP-like rows" >&2
    dcp=0
}

# one LABEL NP ARGS...: one bench call, one JSON line tagged with LABEL
one() {
    label=$1 np=$2
    shift 2
    line=$(flock "$lock" timeout 3600 $mpi -np "$np" $bench "$@" --runs "$runs" \
        --settle "$settle" --json) || {
        echo "bench failed: $label: $*" >&2
        exit 1
    }
    echo "{\"label\": \"$label\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"result\": $line}" >>"$out"
}

# dcp NP PAGES FSYNCFLAG: the torch.save-per-rank row
dcp_row() {
    line=$(flock "$lock" timeout 3600 $mpi -np "$1" "$py" scripts/bench_dcp.py "$dir" \
        --pages "$2" --runs "$runs" --settle "$settle" $3) || {
        echo "bench_dcp.py failed: $*" >&2
        exit 1
    }
    echo "{\"label\": \"big write\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"result\": $line}" >>"$out"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); dir $dir;" \
    "$runs rounds per call; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for preset in $presets; do
    for np in $nps; do
        mesh=
        [ "$preset" = llm ] && [ "$np" = 4 ] && mesh="--mesh 2x2"
        for ex in $execs; do
            for pages in $pages_list; do
                for fs in $fsyncs; do
                    flag=--no-fsync
                    [ "$fs" = yes ] && flag=--fsync
                    for dr in $directs; do
                        [ "$dr" = off ] && [ "$ex" != fast ] && continue
                        dflag=
                        [ "$dr" = off ] && dflag=--no-direct
                        one "$preset write" "$np" --write "$f" --preset "$preset" $mesh \
                            --executor "$ex" --pages "$pages" $flag $dflag
                    done
                    if [ "$dcp" = 1 ] && [ "$preset" = big ] && [ "$ex" = fast ]; then
                        dflag=
                        [ "$fs" = yes ] && dflag=--fsync
                        dcp_row "$np" "$pages" "$dflag"
                    fi
                done
                [ "$reads" = 1 ] || continue
                one "$preset read" "$np" --read "$f" --preset "$preset" --executor "$ex" \
                    --pages "$pages"
                if [ -n "$mesh" ]; then
                    one "llm read of the 2x2 file by 3 ranks" 3 --read "$f" --preset llm \
                        --executor "$ex" --pages "$pages"
                fi
            done
        done
        rm -f "$f"
    done
done

"$py" - "$out" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| workload | ranks | pages | fsync | writer | h5ckpt s (each round) | GB/s "
      "| one file s | file per rank s | ratio to one file | ratio to file per rank "
      "| RSS over own shard MiB | mismatches |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for d in rows:
    r = d["result"]
    mesh = " as %s" % r["mesh"] if "x" in r.get("mesh", "") else ""
    fs = "yes" if r["fsync"] else "no"
    fs = fs if r["op"] == "write" else "-"
    each = " ".join("%.3f" % x for x in r["seconds_each"])
    if "writer" in r:  # bench_dcp.py
        print("| %s | %d | %s | %s | %s | **%.3f** (%s) | %.2f | | | | | | |" % (
            d["label"], r["ranks"], r["pages"], fs, r["writer"], r["seconds"], each,
            r["gbps"]))
        continue
    ex = r["executor"] + ("" if r.get("direct", True) or r["op"] != "write"
                          else ", buffered")
    print("| %s | %d%s | %s | %s | h5ckpt %s | **%.3f** (%s) | %.2f | %.3f | %.3f "
          "| %.2f | **%.2f** | %.1f | %d |" % (
              d["label"], r["ranks"], mesh, r["pages"], fs, ex, r["seconds"],
              each, r["gbps"], r["ceiling_seconds"], r["ceiling_per_rank_seconds"],
              r["ratio"], r["ratio_per_rank"], r["rss_over_shard_max_bytes"] / 1048576.0,
              r["mismatches"]))
PY
