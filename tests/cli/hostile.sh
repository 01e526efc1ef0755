#!/bin/sh
# Hostile files never crash the tool: the six inputs of tests/corpus/hdf5-bugs
# crash HDF5 1.10.8 itself (SIGSEGV), make it spin forever, or make it
# allocate ~2^46 bytes.  `h5ckpt ls`, `verify`, `diff` and `export` let a
# child process parse them (tools/sandbox.c): each gives exactly one clean
# line, "h5ckpt: FILE: malformed file (HDF5 crashed: SIGSEGV)" or "... (HDF5
# hung: no progress for N s)", and the command's exit status for a malformed
# file (1; diff: 2, its status for every error), alone and under mpirun.
# Inputs that HDF5 survives keep their ordinary errors.  Under
# AddressSanitizer a report ends the child with SIGABRT instead, and the
# heap overflow that a normal build survives is caught (the expectations
# below say which).  The same files crash or hang the tool without the
# sandbox (H5CKPT_TOOL_SANDBOX=0; normal builds): that is checked too.
set -u
fail() { echo "FAIL: $*"; exit 1; }
b=${top_builddir:-.}
s=${top_srcdir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
py=${PYTHON_H5PY:-/usr/bin/python3}
h="$b/tools/h5ckpt"
c="$s/tests/corpus/hdf5-bugs"
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-hostile-XXXXXX")
trap 'rm -rf "$d"' EXIT
# The spinning input is run with a limit of 2 s without I/O (`tmo`); the
# others with the default (60 s), which a loaded machine never reaches.
unset H5CKPT_TOOL_TIMEOUT
# code EXPECTED CMD...: run CMD, require exit status EXPECTED
code() { want=$1; shift; "$@" >"$d/out" 2>"$d/err"; got=$?
    [ "$got" = "$want" ] || { cat "$d/out" "$d/err"; fail "exit $got, not $want: $*"; }; }
# only LINE: stderr is exactly LINE and stdout is empty (under ASan the
# child's report comes first: LINE is then stderr's last line)
only() { if [ "$asan" = 1 ]; then tail -n 1 "$d/err"; else cat "$d/err"; fi >"$d/last"
    printf '%s\n' "$1" | cmp -s - "$d/last" ||
    { echo "stderr:"; cat "$d/err"; fail "stderr is not exactly: $1"; }
    [ -s "$d/out" ] && { cat "$d/out"; fail "stdout not empty"; }; return 0; }

asan=0
for x in "$b/tools/.libs/h5ckpt" "$b/tools/h5ckpt"; do
    [ -f "$x" ] && ldd "$x" 2>/dev/null | grep -q libasan && asan=1
done
crash=SIGSEGV
[ "$asan" = 1 ] && crash=SIGABRT

$mpi -np 2 "$b/tests/cli/fixture" "$d/f.h5" || fail "fixture"

# What each input gives: "crash", "hang", or "notckpt" / "nomem" (ordinary
# errors of the open: HDF5 survives), per command ("open": ls, diff,
# export, which open the file as a reader; "verify": its own walk).
outcome() { # CMD NAME
    case "$1:$2" in
    *:gheap_segv.bin) echo crash ;;
    *:gheap_infinite_loop.bin) echo hang ;;
    # verify reads the root's string attributes through the one validator
    # (format/validate.c), as the open does: HDF5 crashes the same way
    *:gheap_bad_reference.bin|*:gheap_memcpy_overlap.bin) echo crash ;;
    open:ohdr_attr_overflow.bin) [ "$asan" = 1 ] && echo crash || echo notckpt ;;
    verify:ohdr_attr_overflow.bin) [ "$asan" = 1 ] && echo crash || echo invalid ;;
    open:gheap_huge_malloc.bin) echo nomem ;;
    verify:gheap_huge_malloc.bin) echo invalid ;;
    esac
}
tmo() { [ "$1" = gheap_infinite_loop.bin ] && echo 2 || echo 60; }
# check CMD NAME STATUS_FOR_ERRORS ARGS...: run, then compare with outcome
check() {
    k=$1; name=$2; st=$3; shift 3; sub=$2
    f="$c/$name"
    set -- env H5CKPT_TOOL_TIMEOUT="$(tmo "$name")" "$@"
    case "$(outcome "$k" "$name")" in
    crash) code "$st" "$@"; only "h5ckpt: $f: malformed file (HDF5 crashed: $crash)" ;;
    hang) code "$st" "$@"; only "h5ckpt: $f: malformed file (HDF5 hung: no progress for 2 s)" ;;
    notckpt) code "$st" "$@"
        only "h5ckpt $sub: '$f': not an h5ckpt checkpoint (no 'h5ckpt_format' = 'h5ckpt' attribute)" ;;
    nomem) code "$st" "$@"
        only "h5ckpt $sub: cannot open '$f' as HDF5 (HDF5: memory allocation failed for on disk image buffer)" ;;
    invalid) code 1 "$@" # (ASan may warn on stderr of a failed huge allocation)
        [ "$asan" = 0 ] && [ -s "$d/err" ] && { cat "$d/err"; fail "$*: stderr"; }
        tail -n 1 "$d/out" | grep -q "^$f: INVALID ([1-9][0-9]* problems\{0,1\})\$" ||
            { cat "$d/out"; fail "$*: no INVALID line"; } ;;
    *) fail "no expectation for $k $name" ;;
    esac
}
n=0
for f in "$c"/*.bin; do
    name=$(basename "$f")
    n=$((n + 1))
    check open "$name" 1 "$h" ls "$f"
    check open "$name" 1 "$h" ls --json "$f"
    check verify "$name" 1 "$h" verify "$f"
    check open "$name" 2 "$h" diff "$f" "$d/f.h5"
    check open "$name" 2 "$h" diff "$d/f.h5" "$f"
    check open "$name" 1 "$h" export --format npy "$f" "$d/npy"
    [ -e "$d/npy" ] && fail "export of $name left output behind"
    case "$(outcome open "$name"):$name" in
    crash:gheap_segv.bin|hang:*)
        line=$(tail -n 1 "$d/err")
        # under mpirun: rank 0's child parses (the whole command for ls,
        # a parse before the ranks' own work for diff and export)
        t=$(tmo "$name")
        code 1 env H5CKPT_TOOL_TIMEOUT="$t" $mpi -np 2 "$h" ls "$f"
        [ "$(grep -c 'malformed file' "$d/err")" = 1 ] || { cat "$d/err"; fail "ls at 2 ranks: $name"; }
        grep -qxF "$line" "$d/err" || { cat "$d/err"; fail "ls at 2 ranks: $name"; }
        code 2 env H5CKPT_TOOL_TIMEOUT="$t" $mpi -np 2 "$h" diff "$d/f.h5" "$f"
        grep -qxF "$line" "$d/err" || { cat "$d/err"; fail "diff at 2 ranks: $name"; }
        code 1 env H5CKPT_TOOL_TIMEOUT="$t" $mpi -np 3 "$h" export --format safetensors "$f" "$d/x.st"
        grep -qxF "$line" "$d/err" || { cat "$d/err"; fail "export at 3 ranks: $name"; }
        [ -e "$d/x.st" ] && fail "export at 3 ranks of $name left output behind"
        ;;
    esac
    # without the child, the same file takes the tool down (or hangs it)
    case "$(outcome open "$name")" in
    crash|hang)
        if [ "$asan" = 0 ]; then
            H5CKPT_TOOL_SANDBOX=0 timeout -k 2 10 "$h" ls "$f" >/dev/null 2>&1
            got=$?
            case "$name" in
            gheap_infinite_loop.bin) [ "$got" = 124 ] || fail "$name did not hang in-process ($got)" ;;
            *) [ "$got" = 139 ] || fail "$name did not crash in-process ($got)" ;;
            esac
        fi ;;
    esac
done
[ "$n" = 6 ] || fail "expected the six reproducers, found $n"

# The time limit is the one configured, and 0 turns it off (checked under
# an outer timeout).
code 1 env H5CKPT_TOOL_TIMEOUT=1 "$h" ls "$c/gheap_infinite_loop.bin"
only "h5ckpt: $c/gheap_infinite_loop.bin: malformed file (HDF5 hung: no progress for 1 s)"
H5CKPT_TOOL_TIMEOUT=0 timeout -k 2 6 "$h" ls "$c/gheap_infinite_loop.bin" >/dev/null 2>&1
[ $? = 124 ] || fail "H5CKPT_TOOL_TIMEOUT=0 still killed the child"
# A memory limit keeps the huge allocation an ordinary error.
code 1 env H5CKPT_TOOL_MEMORY=2G "$h" ls "$c/gheap_huge_malloc.bin"
only "h5ckpt ls: cannot open '$c/gheap_huge_malloc.bin' as HDF5 (HDF5: memory allocation failed for on disk image buffer)"

# Valid files: the child's output is the command's output, byte for byte.
for args in "ls $d/f.h5" "ls --json $d/f.h5" "ls -l $d/f.h5 dt/*" "verify $d/f.h5" \
            "diff --json $d/f.h5 $d/f.h5"; do
    # shellcheck disable=SC2086
    "$h" $args >"$d/a" 2>&1; ra=$?
    # shellcheck disable=SC2086
    H5CKPT_TOOL_SANDBOX=0 "$h" $args >"$d/b" 2>&1; rb=$?
    [ "$ra" = "$rb" ] || fail "$args: exit $ra with the child, $rb without"
    cmp -s "$d/a" "$d/b" || { diff "$d/a" "$d/b"; fail "$args: output differs with the child"; }
done
code 0 "$h" export --format npy "$d/f.h5" "$d/npy1"
code 0 env H5CKPT_TOOL_SANDBOX=0 "$h" export --format npy "$d/f.h5" "$d/npy2"
diff -r "$d/npy1" "$d/npy2" >/dev/null || fail "export differs with the child"
code 0 $mpi -np 2 "$h" export --format npy "$d/f.h5" "$d/npy3"
diff -r "$d/npy1" "$d/npy3" >/dev/null || fail "export at 2 ranks differs"
"$py" -c 'import json,sys; json.load(open(sys.argv[1]))' "$d/a" || fail "diff --json through the child is not JSON"
echo "hostile.sh: all passed ($n reproducers)"
