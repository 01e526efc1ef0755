#!/bin/sh
# Interoperability of the fixture (every dtype) with tools nobody here wrote:
# h5dump, h5ls -r and h5diff; h5py reads every dtype (and the output records
# how bfloat16 and FP8 arrive); an independent safetensors reader and numpy
# read the exports, values compared; export -> import -> h5diff/h5ckpt diff
# round trip with zero difference.
set -u
fail() { echo "FAIL: $*"; exit 1; }
b=${top_builddir:-.}
s=${top_srcdir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
py=${PYTHON_H5PY:-/usr/bin/python3}
h="$b/tools/h5ckpt"
# The tool parses in its own process here (no child: tools/sandbox.c), so
# that a crash of h5ckpt's own code on these inputs shows as a crash, never
# as a "malformed file" line; hostile.sh tests the child, and that its
# output equals this in-process output byte for byte.
H5CKPT_TOOL_SANDBOX=0
export H5CKPT_TOOL_SANDBOX
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-interop-XXXXXX")
trap 'rm -rf "$d"' EXIT

$mpi -np 3 "$b/tests/cli/fixture" "$d/f.h5" || fail "fixture"
# h5dump: the HDF5 types of the type mapping, shapes, attribute values
v=$(h5dump -H "$d/f.h5") || fail "h5dump -H"
for want in 'DATASET "bfloat16"' 'DATASET "float8_e4m3fn"' 'H5T_STD_U64LE' 'H5T_STD_I8LE' \
            'H5T_IEEE_F64LE' 'H5T_ENUM' '( 16, 16 ) / ( 16, 16 )' '( 0, 3 ) / ( 0, 3 )' \
            'ATTRIBUTE "floats"' 'ATTRIBUTE "h5ckpt_writer_mesh_shape"'; do
    echo "$v" | grep -qF "$want" || fail "h5dump -H lacks '$want'"
done
v=$(h5dump -A -g /meta "$d/f.h5") || fail "h5dump -A"
echo "$v" | grep -qF '"h5ckpt fixture"' || fail "h5dump: string attribute value"
echo "$v" | grep -qF '0.5, -1.25, 1e+300' || fail "h5dump: float attribute values"
v=$(h5dump -d /dt/float32 -s 0,0 -c 1,4 "$d/f.h5") || fail "h5dump -d"
echo "$v" | grep -qF '(0,0): -10, -9.75, -9.5, -9.25' || fail "h5dump float32 values: $v"
v=$(h5dump -d /dt/bfloat16 -s 0,0 -c 1,2 "$d/f.h5") || fail "h5dump -d bf16"
echo "$v" | grep -qF '(0,0): 1, 1.02344' || fail "h5dump bfloat16 values: $v"
v=$(h5dump -d /dt/float8_e5m2 -s 7,12 -c 1,4 "$d/f.h5") || fail "h5dump -d e5m2"
echo "$v" | grep -qF '(7,12): inf, nan, nan, nan' || fail "h5dump e5m2 specials: $v"
l=$(h5ls -r "$d/f.h5") || fail "h5ls -r"
for t in bool int8 uint64 float16 bfloat16 float8_e5m2; do
    echo "$l" | grep -q "^/dt/$t  *Dataset {16, 16}$" || fail "h5ls -r: /dt/$t"
done
echo "$l" | grep -q '^/scalar  *Dataset {SCALAR}$' || fail "h5ls -r: scalar"

# h5py: every dtype; the printed line is the record the spec quotes
"$py" "$s/tests/cli/read_exports.py" h5py "$d/f.h5" || fail "h5py"

# independent safetensors and npy readers, values compared
"$h" export --format safetensors "$d/f.h5" "$d/f.safetensors" || fail "export safetensors"
"$py" "$s/tests/cli/read_exports.py" st "$d/f.safetensors" || fail "safetensors reader"
# under mpirun (rank 0 writes, all ranks read) the file is byte for byte the same
$mpi -np 3 "$h" export --format safetensors "$d/f.h5" "$d/f3.safetensors" || fail "export on 3 ranks"
cmp "$d/f.safetensors" "$d/f3.safetensors" || fail "export on 3 ranks differs"
# subsets too: their headers need 0..7 spaces of padding
for p in 'dt/int*' 'dt/float*' 'dt/b*' 'scalar' 'dt/u*'; do
    "$h" export --format safetensors "$d/f.h5" "$d/sub.safetensors" "$p" || fail "export $p"
    "$py" "$s/tests/cli/read_exports.py" st "$d/sub.safetensors" >>"$d/pads" || fail "reader, $p"
done
grep -q 'pad [1-7]$' "$d/pads" || { cat "$d/pads"; fail "no export needed header padding"; }
"$h" export --format npy "$d/f.h5" "$d/npy" || fail "export npy"
"$py" "$s/tests/cli/read_exports.py" npy "$d/npy" || fail "npy reader"
# the readers can fail: one flipped data byte is caught
cp "$d/f.safetensors" "$d/flip.safetensors"
printf '\377' | dd of="$d/flip.safetensors" bs=1 seek=$(($(stat -c %s "$d/f.safetensors") - 20)) conv=notrunc 2>/dev/null
"$py" "$s/tests/cli/read_exports.py" st "$d/flip.safetensors" 2>/dev/null && fail "reader missed a flipped byte"

# round trip: zero difference for h5ckpt diff and for h5diff (data)
"$h" import "$d/f.safetensors" "$d/g.h5" || fail "import"
"$h" diff "$d/f.h5" "$d/g.h5" >"$d/out" || { cat "$d/out"; fail "round trip differs"; }
ex="--exclude-attribute /"
for o in $(echo "$l" | awk 'NR > 1 {print $1}'); do ex="$ex --exclude-attribute $o"; done
h5diff $ex "$d/f.h5" "$d/g.h5" || fail "h5diff finds data differences after the round trip"
"$py" - "$d/g.h5" <<'PY' || fail "a changed element"
import h5py, sys
h5py.File(sys.argv[1], "r+")["dt/int32"][0, 1] = 5
PY
h5diff $ex "$d/f.h5" "$d/g.h5" >/dev/null && fail "h5diff missed a changed element"
"$h" diff "$d/f.h5" "$d/g.h5" >/dev/null && fail "h5ckpt diff missed a changed element"
echo "interop: ok"
