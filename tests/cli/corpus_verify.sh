#!/bin/sh
# h5ckpt verify over the malformed-file corpus (tests/corpus/MANIFEST): it
# must reject (exit 1) every file the reader refuses, accept (exit 0) every
# file the reader accepts, and never crash or exit otherwise.  A file with
# checksums whose data was changed must be rejected even though the reader
# (without verification) accepts it.
#
# One documented difference: the reader accepts any integer type for an
# int64 root attribute (format-spec, "Attributes"), while verify checks that
# the writer used H5T_STD_I64LE as the root-attribute table requires.
set -u
fail() { echo "FAIL: $*"; exit 1; }
b=${top_builddir:-.}
s=${top_srcdir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
h="$b/tools/h5ckpt"
# The tool parses in its own process here (no child: tools/sandbox.c), so
# that a crash of h5ckpt's own code on these inputs shows as a crash, never
# as a "malformed file" line; hostile.sh tests the child, and that its
# output equals this in-process output byte for byte.
H5CKPT_TOOL_SANDBOX=0
export H5CKPT_TOOL_SANDBOX
c="$s/tests/corpus"
strict_only="read_version_u8.h5"
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-corpus-XXXXXX")
trap 'rm -rf "$d"' EXIT

n=0
while read -r f code stage rest; do
    case "$f" in ''|'#'*) continue ;; esac
    [ -f "$c/$f" ] || fail "MANIFEST names a missing file: $f"
    timeout 60 "$h" verify "$c/$f" >"$d/out" 2>&1
    got=$?
    want=1
    if [ "$code" = OK ]; then
        want=0
        case " $strict_only " in *" $f "*) want=1 ;; esac
    fi
    [ "$got" = "$want" ] || { cat "$d/out"; fail "verify $f: exit $got, want $want (reader: $code)"; }
    n=$((n + 1))
done <"$c/MANIFEST"
[ "$n" -ge 40 ] || fail "only $n corpus files checked"

# A checksummed file (this library's writer) with one flipped bit of tensor
# data: the reader takes it, verify must not.
$mpi -np 2 "$b/tests/scripts/sample" write "$d/ok.h5" >/dev/null || fail "sample write"
"$h" verify "$d/ok.h5" >"$d/out" 2>&1 || { cat "$d/out"; fail "verify rejects a good file"; }
off=$(/usr/bin/python3 -c 'import h5py,sys; print(h5py.File(sys.argv[1],"r")["model/embed.weight"].id.get_offset())' "$d/ok.h5") ||
    fail "cannot find the data offset"
cp "$d/ok.h5" "$d/flip.h5"
/usr/bin/python3 - "$d/flip.h5" "$((off + 17))" <<'PY' || fail "cannot flip a bit"
import sys
p, o = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 0x10]))
PY
"$h" verify "$d/flip.h5" >"$d/out" 2>&1 && fail "verify accepted a flipped bit"
grep -q "model/embed.weight" "$d/out" || { cat "$d/out"; fail "the mismatch does not name the tensor"; }
echo "corpus_verify: $n corpus files and a flipped bit: ok"
