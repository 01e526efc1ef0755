#!/bin/sh
# The h5ckpt tool: every subcommand, every exit code (0 ok, 1 failure or
# difference, 2 usage or I/O error), --json parsed by json.tool, malformed
# inputs (not HDF5, HDF5 but not h5ckpt, an uncommitted temporary file, a
# truncated file, a dd-damaged file, files with mistyped attributes), hostile
# tensor names.  Must-fail idiom: `cmd && fail "..."`.
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
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-cli-XXXXXX")
trap 'rm -rf "$d"' EXIT
# code EXPECTED CMD...: run CMD, require exit status EXPECTED
code() { want=$1; shift; "$@" >"$d/out" 2>"$d/err"; got=$?
    [ "$got" = "$want" ] || { cat "$d/out" "$d/err"; fail "exit $got, not $want: $*"; }; }

$mpi -np 2 "$b/tests/cli/fixture" "$d/f.h5" || fail "fixture"
$mpi -np 3 "$b/tests/scripts/sample" write "$d/a.h5" || fail "sample"

# --- usage errors: 2 everywhere
for c in ls verify diff export import; do
    code 2 "$h" $c
    code 2 "$h" $c --no-such-option x
    code 0 "$h" $c --help
    grep -q "^usage: h5ckpt $c" "$d/out" || fail "$c --help has no usage line"
done
code 2 "$h" no-such-command
code 2 "$h" export "$d/f.h5" "$d/x" --format zip
code 2 "$h" diff --rtol -1 "$d/f.h5" "$d/f.h5"

# --- ls
code 0 "$h" ls "$d/a.h5"
for want in 'format:     h5ckpt write version 2, read version 1' 'committed:  yes' \
            'writer:     3 ranks, mesh shape [3]' 'epoch:      7' \
            'model/embed.weight' 'float32' '(10, 6)' '240 B' '@lr = 0.001  (float64)'; do
    grep -qF "$want" "$d/out" || fail "ls lacks '$want'"
done
grep -q placements "$d/out" && fail "ls without -l shows placements"
code 0 "$h" ls -l "$d/a.h5" 'model/*.weight'
grep -qF 'placements: [Shard(0)] on mesh (3)' "$d/out" || fail "ls -l lacks placements"
grep -c 'float' "$d/out" | grep -qx 2 || fail "pattern did not select the two weights"
grep -q 'model/ids' "$d/out" && fail "pattern selected model/ids"
code 0 "$h" ls --json "$d/f.h5"
"$py" -m json.tool "$d/out" >/dev/null || fail "ls --json is not JSON"
"$py" - "$d/out" <<'PY' || fail "ls --json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "h5ckpt-ls/1" and j["committed"] is True and j["step"] == 100 and j["epoch"] == 3
assert j["writer"] == {"nranks": 2, "mesh_shape": [2], "mesh_dim_names": None}, j["writer"]
t = {x["path"]: x for x in j["tensors"]}
assert len(t) == 17 and t["dt/bfloat16"]["shape"] == [16, 16] and t["dt/bfloat16"]["bytes"] == 512
assert t["dt/float32"]["attributes"] == {"scale": {"type": "float64", "value": 0.25}}
g = {x["path"]: x["attributes"] for x in j["groups"]}
assert g["meta"]["flags"] == {"type": "bool", "value": [True, False]}, g["meta"]
assert g["meta"]["names"]["value"] == ["alpha", "b\u00e9ta"] and g["meta"]["floats"]["value"][2] == 1e300
PY
code 2 "$h" ls "$d/missing.h5"
code 2 "$h" ls "$d"

# --- verify: good files pass
code 0 "$h" verify "$d/f.h5"
code 0 "$h" verify "$d/a.h5"
$mpi -np 3 "$h" verify "$d/f.h5" >"$d/out" || fail "verify under mpirun"
[ "$(grep -c ok "$d/out")" = 1 ] || fail "verify printed on more than rank 0"
code 2 "$h" verify "$d/missing.h5"
code 2 "$h" verify "$d"

# --- malformed inputs: verify reports (1), ls/diff/export refuse
echo "just text" >"$d/text.h5"
code 1 "$h" verify "$d/text.h5"; grep -q "not an HDF5 file" "$d/out" || fail "text file"
code 1 "$h" ls "$d/text.h5"
"$py" -c 'import h5py, sys; h5py.File(sys.argv[1], "w")["x"] = [1, 2]' "$d/plain.h5"
code 1 "$h" verify "$d/plain.h5"; grep -q "not an h5ckpt checkpoint" "$d/out" || fail "plain HDF5"
code 1 "$h" ls "$d/plain.h5"; grep -q "not an h5ckpt checkpoint" "$d/err" || fail "ls plain HDF5"
code 2 "$h" diff "$d/plain.h5" "$d/f.h5"
# uncommitted temporary file (what an interrupted save leaves)
tmp="$d/.f.h5.h5ckpt-tmp-0123456789abcdef"
cp "$d/f.h5" "$tmp"
"$py" -c 'import h5py, sys; del h5py.File(sys.argv[1], "r+").attrs["h5ckpt_committed"]' "$tmp"
code 1 "$h" verify "$tmp"
grep -q "never committed" "$d/out" || fail "uncommitted not reported"
grep -q "temporary name" "$d/out" || fail "temporary name not reported"
grep -q "(2 problems)" "$d/out" || fail "uncommitted temporary: not exactly 2 problems"
code 1 "$h" ls "$tmp"; grep -q "temporary file of an unfinished save" "$d/err" || fail "ls of uncommitted"
# truncated and dd-damaged files
head -c 4000 "$d/f.h5" >"$d/trunc.h5"
code 1 "$h" verify "$d/trunc.h5"; grep -q "truncated" "$d/out" || fail "truncated"
code 1 "$h" ls "$d/trunc.h5"
cp "$d/f.h5" "$d/dd.h5"
dd if=/dev/urandom of="$d/dd.h5" bs=1 seek=0 count=64 conv=notrunc 2>/dev/null
code 1 "$h" verify "$d/dd.h5"
# a file with seven distinct defects: verify prints each of them
cp "$d/f.h5" "$d/bad.h5"
"$py" - "$d/bad.h5" <<'PY' || fail "making bad.h5"
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], "r+")
f["dt/int8"].attrs["h5ckpt_dtype"] = "float99"            # unknown dtype name
del f["dt/int16"].attrs["h5ckpt_placements"]               # required attribute missing
f["dt/int32"].attrs["h5ckpt_dtype"] = "int64"              # HDF5 type mismatch
del f.attrs["h5ckpt_writer_nranks"]; f.attrs["h5ckpt_writer_nranks"] = "two"  # mistyped
f["meta"].attrs["h5ckpt_dtype"] = "float32"                # reserved name misplaced
f.attrs["h5ckpt_bogus"] = 1                                # unknown reserved name
f["dt/link"] = h5py.SoftLink("/dt/int8")                   # soft link
PY
code 1 "$h" verify "$d/bad.h5"
for want in "dt/int8: 'h5ckpt_dtype' is 'float99'" "dt/int16: required attribute 'h5ckpt_placements' is missing" \
            "dt/int32: its HDF5 type is not the one the format mandates for int64" \
            "/: attribute 'h5ckpt_writer_nranks' is not H5T_STD_I64LE" \
            "meta: reserved dataset attribute 'h5ckpt_dtype' on a group" \
            "/: unknown reserved attribute 'h5ckpt_bogus'" "dt/link: is a soft or external link"; do
    grep -qF "$want" "$d/out" || { cat "$d/out"; fail "verify missed: $want"; }
done
grep -q "(7 problems)" "$d/out" || { cat "$d/out"; fail "verify did not count 7 problems"; }
code 1 "$h" verify --quiet "$d/bad.h5"
[ -s "$d/out" ] && fail "verify --quiet printed"

# --- diff: 0 equal (the same data from another mesh), 1 different, 2 error
$mpi -np 4 "$b/tests/scripts/sample" write "$d/a4.h5" --mesh 2x2 || fail "sample 2x2"
code 0 "$h" diff "$d/a.h5" "$d/a4.h5"
code 1 "$h" diff "$d/a.h5" "$d/f.h5"
grep -qF "only in A: model/embed.weight" "$d/out" || fail "diff only-in-A"
grep -qF "only in B: dt/bfloat16" "$d/out" || fail "diff only-in-B"
grep -qF "attribute only_in_b: /@step" "$d/out" || fail "diff attribute only in B"
cp "$d/a.h5" "$d/c.h5"
"$py" - "$d/c.h5" <<'PY' || fail "editing c.h5"
import h5py, sys
f = h5py.File(sys.argv[1], "r+")
w = f["model/embed.weight"]; w[0, 0] = w[0, 0] + 0.01; w[9, 5] = w[9, 5] + 1.5
f["optimizer/param_groups/0"].attrs["lr"] = 0.002
PY
code 1 "$h" diff "$d/a.h5" "$d/c.h5"
grep -qF "differs: model/embed.weight: 2 of 60 elements, max abs 1.5, max rel" "$d/out" || { cat "$d/out"; fail "diff stats"; }
grep -qF 'attribute different: optimizer/param_groups/0@lr' "$d/out" || fail "diff attribute value"
code 1 "$h" diff --atol 0.02 "$d/a.h5" "$d/c.h5"
grep -qF "1 of 60 elements" "$d/out" || fail "atol did not absorb the small change"
code 0 "$h" diff --json "$d/a.h5" "$d/a4.h5"
"$py" -m json.tool "$d/out" >/dev/null || fail "diff --json is not JSON"
$mpi -np 3 "$h" diff --json --atol 0.02 "$d/a.h5" "$d/c.h5" >"$d/out" 2>"$d/err"; [ $? = 1 ] || fail "diff under mpirun"
"$py" - "$d/out" <<'PY' || fail "diff --json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "h5ckpt-diff/1" and j["equal"] is False and j["atol"] == 0.02
t = {x["path"]: x for x in j["tensors"]}
w = t["model/embed.weight"]
assert (w["status"], w["elements"], w["differing"], w["max_abs"]) == ("different", 60, 1, 1.5), w
assert t["model/ids"]["status"] == "equal" and t["model/ids"]["differing"] == 0
a = j["attributes"]
assert len(a) == 1 and a[0]["name"] == "lr" and a[0]["a"]["value"] == 0.001 and a[0]["b"]["value"] == 0.002, a
PY
code 2 "$h" diff "$d/a.h5" "$d/missing.h5"

# --- export / import: 0 ok, 1 refused, 2 I/O
code 0 "$h" export --quiet --format safetensors "$d/f.h5" "$d/f.safetensors"
[ -s "$d/err" ] && fail "export --quiet wrote to stderr"
code 1 "$h" export --format npy "$d/f.h5" "$d/none" 'nothing/*'
code 2 "$h" export --format safetensors "$d/f.h5" "$d/no/such/dir/x.safetensors"
code 2 "$h" import "$d/missing.safetensors" "$d/x.h5"
code 0 "$h" import "$d/f.safetensors" "$d/g.h5"
code 0 "$h" diff "$d/f.h5" "$d/g.h5"
code 0 "$h" verify "$d/g.h5"
# under mpirun, every rank takes part in the import
$mpi -np 3 "$h" import "$d/f.safetensors" "$d/g3.h5" || fail "import on 3 ranks"
code 0 "$h" diff "$d/f.h5" "$d/g3.h5"
# every malformed safetensors header is refused with one clear line, and
# never leaves an output file
mkdir "$d/badst"
"$py" "$s/tests/cli/bad_safetensors.py" "$d/f.safetensors" "$d/badst" || fail "bad_safetensors.py"
n=0
for f in "$d"/badst/*.safetensors; do
    code 1 "$h" import "$f" "$d/bad-import.h5"
    [ "$(wc -l <"$d/err")" = 1 ] || { cat "$d/err"; fail "import error is not one line: $f"; }
    [ -e "$d/bad-import.h5" ] && fail "import of $f left a file"
    n=$((n + 1))
done
[ "$n" = 13 ] || fail "expected 13 malformed safetensors files, got $n"

# --- progress: on a terminal only (script(1) provides one), never with --quiet
code 0 "$h" export --format npy "$d/f.h5" "$d/np0"
[ -s "$d/err" ] && fail "progress printed although stderr is not a terminal"
for c in "export --format safetensors $d/f.h5 $d/p.safetensors" "import $d/f.safetensors $d/p.h5" \
         "diff $d/f.h5 $d/g.h5"; do
    w=$(echo "$c" | cut -d' ' -f1)
    script -qec "$h $c" /dev/null | grep -q "$w: .* MiB" || fail "no progress for $w on a terminal"
    [ -z "$(script -qec "$h $c --quiet" /dev/null | grep "MiB")" ] || fail "$w --quiet showed progress"
done

# --- hostile tensor names
$mpi -np 2 "$b/tests/cli/fixture" "$d/hostile.h5" --hostile || fail "fixture --hostile"
code 1 "$h" export --format safetensors "$d/hostile.h5" "$d/h.safetensors"
grep -q "'__metadata__' is reserved" "$d/err" || fail "__metadata__ tensor not refused"
[ -e "$d/h.safetensors" ] && fail "refused export left a file"
code 0 "$h" export --format safetensors "$d/hostile.h5" "$d/h.safetensors" 'dt/*' 'we*' '.../*'
code 0 "$h" import "$d/h.safetensors" "$d/h2.h5"
code 0 "$h" ls "$d/h2.h5" 'we ird/*' '.../x'
grep -qF '.../x' "$d/out" && grep -qF 'we ird/n' "$d/out" || fail "odd names lost in the round trip"
mkdir "$d/out-npy" "$d/outside"
ln -s "$d/outside" "$d/out-npy/we ird"
code 2 "$h" export --format npy "$d/hostile.h5" "$d/out-npy" 'we ird/*'
[ -z "$(ls "$d/outside")" ] || fail "export followed a symbolic link out of OUT"
rm "$d/out-npy/we ird"
code 0 "$h" export --format npy "$d/hostile.h5" "$d/out-npy"
[ -f "$d/out-npy/.../x.npy" ] && [ -f "$d/out-npy/__metadata__.npy" ] || fail "npy names"
[ -z "$(ls "$d/outside")" ] && [ ! -e "$d/x.npy" ] || fail "npy wrote outside OUT"
echo "cli: ok"
