#!/bin/sh
# `h5ckpt bench --device cuda`: refused with exit 1 and a clear message in a
# build without CUDA ("this build has no CUDA support") or on a machine
# without a device ("no CUDA device: ..."), then this test prints
# "skipped: ..." and exits 77 (SKIP).  With a device: a tiny write and read
# at 2 ranks, checked through the JSON (every element verified, the pinned
# copy ceiling measured).
set -u
fail() { echo "FAIL: $*"; exit 1; }
b=${top_builddir:-.}
py=${PYTHON_H5PY:-/usr/bin/python3}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
h="$b/tools/h5ckpt"
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-benchcuda-XXXXXX")
trap 'rm -rf "$d"' EXIT

"$h" bench --device cuda --write "$d/p.h5" --count 1 --size 4K >"$d/out" 2>"$d/err"
rc=$?
if grep -q "this build has no CUDA support" "$d/err"; then
    [ "$rc" = 1 ] || fail "no-CUDA refusal exited $rc, not 1"
    echo "skipped: this build has no CUDA support"
    exit 77
fi
if grep -q "no CUDA device: " "$d/err"; then
    [ "$rc" = 1 ] || fail "no-device refusal exited $rc, not 1"
    echo "skipped: no CUDA device ($(sed -n 's/.*no CUDA device: //p' "$d/err" | head -n 1))"
    exit 77
fi
[ "$rc" = 0 ] || { cat "$d/out" "$d/err"; fail "bench --device cuda exited $rc"; }

for op in write read; do
    $mpi -np 2 "$h" bench --device cuda --$op "$d/b.h5" --preset small --count 16 \
        --size 64K --json >"$d/$op.json" 2>"$d/err" || { cat "$d/err"; fail "$op"; }
    "$py" - "$d/$op.json" "$op" <<'PY' || fail "$op JSON"
import json, sys
j = json.loads(open(sys.argv[1]).read())
assert j["op"] == sys.argv[2] and j["device"] == "cuda", j
assert j["ranks"] == 2 and j["tensors"] == 16 and j["bytes"] == 16 * 65536, j
assert j["mismatches"] == 0, j
assert j["copy_direction"] == ("d2h" if sys.argv[2] == "write" else "h2d"), j
for k in ("seconds", "ceiling_seconds", "copy_seconds", "copy_gbps", "ratio_device"):
    assert j[k] > 0, (k, j)
lim = max(j["ceiling_seconds"], j["copy_seconds"])
assert abs(j["ratio_device"] - lim / j["seconds"]) < 1e-6 * j["ratio_device"] + 1e-9, j
PY
done
echo "bench --device cuda: write and read verified"
