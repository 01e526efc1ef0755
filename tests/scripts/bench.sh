#!/bin/sh
# `h5ckpt bench` verifies what it reads (tiny sizes, no timing checks):
# small and llm-like states written on one mesh and read on others, exit 1
# when one element differs, exit 2 on usage errors.  Must-fail idiom:
# `cmd && fail "..."`.
set -u
fail() { echo "FAIL: $*"; exit 1; }
b=${top_builddir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
py=${PYTHON_H5PY:-/usr/bin/python3}
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-bench-XXXXXX")
trap 'rm -rf "$d"' EXIT
bench="$b/tools/h5ckpt bench"

for ex in plain fast; do
    $mpi -np 2 $bench --write "$d/s-$ex.h5" --preset small --count 40 --size 1K \
        --placement alternate --executor $ex || fail "small write ($ex)"
    for np in 1 3; do
        $mpi -np $np $bench --read "$d/s-$ex.h5" --preset small --count 40 --size 1K \
            --placement alternate --executor $ex || fail "small read on $np ($ex)"
    done
    $mpi -np 4 $bench --write "$d/l-$ex.h5" --preset llm --count 1 --hidden 16 \
        --mesh 2x2 --executor $ex --fsync || fail "llm write on 2x2 ($ex)"
    $mpi -np 3 $bench --read "$d/l-$ex.h5" --preset llm --count 1 --hidden 16 \
        --executor $ex || fail "llm read on 3 ($ex)"
    $mpi -np 1 $bench --read "$d/l-$ex.h5" --preset llm --count 1 --hidden 16 \
        --executor $ex --json >"$d/out.json" || fail "llm read on 1 ($ex)"
    grep -q '"mismatches":0' "$d/out.json" || fail "json lacks mismatches 0: $(cat "$d/out.json")"
    grep -q '"tensors":45' "$d/out.json" || fail "llm with 1 layer is not 45 tensors"
done

# One changed element is found (exit 1), by either executor.
"$py" -c '
import h5py, numpy, sys
ds = h5py.File(sys.argv[1], "r+")["optim/exp_avg/layers.0.attn.out.weight"]
v = ds[5:6, 9:10]
v.view(numpy.uint32)[0, 0] ^= 1
ds[5:6, 9:10] = v' "$d/l-fast.h5" || fail "cannot change an element with h5py"
for ex in plain fast; do
    $mpi -np 2 $bench --read "$d/l-fast.h5" --preset llm --count 1 --hidden 16 \
        --executor $ex >"$d/out" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "a changed element gives exit $rc, not 1 ($ex): $(cat "$d/out")"
    grep -q "1 elements differ" "$d/out" || fail "no mismatch message: $(cat "$d/out")"
done

# Rounds and page states: both ceilings in the JSON, one time per round, no
# scratch file left behind.
$mpi -np 2 $bench --write "$d/r.h5" --preset small --count 20 --size 1K --runs 2 \
    --pages cold --settle 1 --json >"$d/w.json" || fail "write with --runs 2 --pages cold"
$mpi -np 3 $bench --read "$d/r.h5" --preset small --count 20 --size 1K --runs 3 \
    --pages warm --json >"$d/r.json" || fail "read with --runs 3 --pages warm"
$mpi -np 2 $bench --read "$d/r.h5" --preset small --count 20 --size 1K --runs 2 \
    --pages cold --settle 1 --json >"$d/c.json" || fail "read with --runs 2 --pages cold"
"$py" - "$d/w.json" "$d/r.json" "$d/c.json" <<'PY' || fail "rounds or ceilings missing from the JSON"
import json, sys
for f, runs, pages in zip(sys.argv[1:], (2, 3, 2), ("cold", "warm", "cold")):
    r = json.load(open(f))
    assert r["runs"] == runs and r["pages"] == pages, (f, r)
    for k in ("seconds_each", "ceiling_seconds_each", "ceiling_per_rank_seconds_each"):
        assert len(r[k]) == runs and all(x > 0 for x in r[k]), (f, k, r[k])
    for k in ("ratio", "ratio_per_rank", "ceiling_gbps", "ceiling_per_rank_gbps"):
        assert r[k] > 0, (f, k)
    assert r.get("mismatches", 0) == 0
PY
ls "$d" | grep -E 'ceiling|warm' && fail "scratch files left behind: $(ls "$d")"

# Every round of a read starts from poisoned buffers: a changed element is
# found once per round.
$mpi -np 2 $bench --read "$d/l-fast.h5" --preset llm --count 1 --hidden 16 --runs 3 \
    >"$d/out" 2>&1
rc=$?
[ $rc = 1 ] || fail "a changed element over 3 rounds gives exit $rc, not 1: $(cat "$d/out")"
grep -q "3 elements differ" "$d/out" || fail "not found in every round: $(cat "$d/out")"

# An asynchronous save against its floors: one JSON line with the medians
# of 3 rounds, and the state it saved reads back.
$mpi -np 3 $bench --write "$d/a.h5" --async --preset llm --count 1 --hidden 16 \
    --json >"$d/async.json" || fail "async bench: $(cat "$d/async.json")"
for k in '"op":"write-async"' '"rounds":3' '"ranks":3' '"stall_over_memcpy":' '"memcpy_settled_seconds":'; do
    grep -q "$k" "$d/async.json" || fail "async json lacks $k: $(cat "$d/async.json")"
done
$mpi -np 2 $bench --read "$d/a.h5" --preset llm --count 1 --hidden 16 \
    || fail "the async bench's file does not read back"

# Usage errors exit 2.
$mpi -np 2 $bench --write "$d/x.h5" --mesh 3x1 >/dev/null 2>&1
[ $? = 2 ] || fail "a mesh of the wrong size is not a usage error"
$mpi -np 1 $bench --write "$d/x.h5" --preset huge >/dev/null 2>&1
[ $? = 2 ] || fail "an unknown preset is not a usage error"
$mpi -np 1 $bench --read "$d/missing.h5" >/dev/null 2>&1
[ $? = 2 ] || fail "a missing file is not exit 2"
$mpi -np 1 $bench --write "$d/x.h5" --pages hot >/dev/null 2>&1
[ $? = 2 ] || fail "an unknown page state is not a usage error"
$mpi -np 1 $bench --write "$d/x.h5" --runs 0 >/dev/null 2>&1
[ $? = 2 ] || fail "--runs 0 is not a usage error"
echo "bench checks passed"
