#!/bin/sh
# Independent tools read h5ckpt files: exported symbols, h5dump, h5ls, h5diff
# across meshes, and plain h5py.  Must-fail idiom: `cmd && fail "..."`.
set -u
fail() { echo "FAIL: $*"; exit 1; }
b=${top_builddir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
py=${PYTHON_H5PY:-/usr/bin/python3}
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-tools-XXXXXX")
trap 'rm -rf "$d"' EXIT

# 1. Only h5ckpt_* functions are exported, and the main ones are.
syms=$(nm -D --defined-only "$b/lib/.libs/libh5ckpt.so" | awk '$2 == "T" {print $3}')
[ -n "$syms" ] || fail "no exported symbols found"
echo "$syms" | grep -v '^h5ckpt_[a-z]' && fail "symbols outside the h5ckpt_ namespace are exported"
echo "$syms" | grep -q '^h5ckpt__' && fail "internal h5ckpt__ symbols are exported"
for s in h5ckpt_create h5ckpt_open h5ckpt_commit h5ckpt_flush h5ckpt_strerror h5ckpt_layout_sharded \
    h5ckpt_commit_start h5ckpt_commit_test h5ckpt_commit_wait h5ckpt_snapshot_create \
    h5ckpt_snapshot_free h5ckpt_snapshot_bytes h5ckpt_ckdir_commit_start h5ckpt_ckdir_commit_wait; do
    echo "$syms" | grep -qx "$s" || fail "$s is not exported"
done

# 2. The same state from two meshes; each file read back on other rank counts.
$mpi -np 4 "$b/tests/scripts/sample" write "$d/a.h5" --mesh 2x2 || fail "write on 2x2"
$mpi -np 3 "$b/tests/scripts/sample" write "$d/b.h5" || fail "write on (3)"
$mpi -np 3 "$b/tests/scripts/sample" read "$d/a.h5" || fail "read 2x2 file on 3 ranks"
$mpi -np 2 "$b/tests/scripts/sample" read "$d/b.h5" || fail "read (3) file on 2 ranks"

# 3. h5dump -H: names, types, shapes, attributes.
h=$(h5dump -H "$d/a.h5") || fail "h5dump -H failed"
for want in 'DATASET "embed.weight"' 'H5T_IEEE_F32LE' '( 10, 6 ) / ( 10, 6 )' \
            'ATTRIBUTE "h5ckpt_dtype"' 'ATTRIBUTE "h5ckpt_committed"' 'H5T_STD_I64LE' \
            'DATASET "step"' 'SCALAR' 'H5T_ENUM'; do
    echo "$h" | grep -qF "$want" || fail "h5dump -H lacks '$want'"
done
v=$(h5dump -d /model/layer.0.weight "$d/a.h5") || fail "h5dump -d"
echo "$v" | grep -qF '(6,0): 30, 31, 32, 33, 34' || fail "float16 values wrong in h5dump: $v"
v=$(h5dump -d /model/layer.0.bias "$d/a.h5")
echo "$v" | grep -qF '(0): 0, 1, 2, 3, 4' || fail "bfloat16 values wrong in h5dump"
echo "$v" | grep -qF '"bfloat16"' || fail "dtype attribute missing"
echo "$v" | grep -qF '"[Replicate(), Replicate()] on mesh (2, 2)"' || fail "placements text"

# 4. h5ls -r lists every tensor.
l=$(h5ls -r "$d/a.h5") || fail "h5ls -r failed"
for t in /model/embed.weight /model/layer.0.weight /model/layer.0.bias /model/mask /model/ids /step; do
    echo "$l" | grep -q "^$t " || fail "h5ls -r does not list $t"
done

# 5. h5diff: the tensor data from the two meshes are identical (attributes
#    legitimately differ: creation time, writer mesh, placements).
ex="--exclude-attribute /"
for o in $(echo "$l" | awk 'NR > 1 {print $1}'); do ex="$ex --exclude-attribute $o"; done
h5diff $ex "$d/a.h5" "$d/b.h5" || fail "h5diff finds data differences between meshes"

# 6. h5py reads every tensor as a global array (float16 included).
"$py" -c 'import h5py, numpy' 2>/dev/null || fail "$py cannot import h5py and numpy"
"$py" "${top_srcdir:-.}/tests/scripts/read_h5py.py" "$d/a.h5" || fail "h5py read of a.h5"
"$py" "${top_srcdir:-.}/tests/scripts/read_h5py.py" "$d/b.h5" || fail "h5py read of b.h5"

# 7. h5diff does see a changed element (the comparison above can fail).
cp "$d/b.h5" "$d/c.h5"
"$py" -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r+"); f["model/ids"][3] = 99' "$d/c.h5"
h5diff $ex "$d/a.h5" "$d/c.h5" >/dev/null && fail "h5diff missed a changed element"
echo "tools: ok"
