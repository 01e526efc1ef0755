#!/bin/sh
# A writer killed with SIGKILL in the middle of a save leaves the previous
# checkpoint at that path intact and loadable; the half-written temporary
# file is never taken for a checkpoint; the next save succeeds.
set -u
fail() { echo "FAIL: $*"; exit 1; }
b=${top_builddir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
trials=${H5CKPT_KILL_TRIALS:-3}
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-kill-XXXXXX")
trap 'rm -rf "$d"' EXIT
p="$d/ckpt.h5"

$mpi -np 2 "$b/tests/scripts/sample" write "$p" || fail "first save"
before=$(h5dump -d /model/embed.weight "$p" | md5sum)
i=0
while [ "$i" -lt "$trials" ]; do
    i=$((i + 1))
    # a slow save (40 x 4 MiB, paced) over the same path, in its own session
    setsid $mpi -np 2 "$b/tests/scripts/sample" write "$p" --slow >"$d/log" 2>&1 &
    pid=$!
    delay=$(awk -v s="$(( $$ * 7919 + i * 104729 ))" 'BEGIN { srand(s); printf "%.2f", 0.4 + rand() * 1.2 }')
    sleep "$delay"
    ls "$d"/.ckpt.h5.h5ckpt-tmp-* >/dev/null 2>&1 || echo "trial $i: no temporary file yet at ${delay}s"
    kill -9 -- "-$pid" 2>/dev/null
    pkill -9 -f "sample write $p" 2>/dev/null
    wait "$pid" 2>/dev/null
    $mpi -np 3 "$b/tests/scripts/sample" read "$p" >"$d/read" 2>&1 ||
        fail "trial $i: the previous checkpoint no longer loads: $(cat "$d/read")"
    [ "$(h5dump -d /model/embed.weight "$p" | md5sum)" = "$before" ] ||
        fail "trial $i: the previous checkpoint changed"
    "$b/tools/h5ckpt" verify "$p" >"$d/verify" 2>&1 ||
        fail "trial $i: h5ckpt verify rejects the previous checkpoint: $(cat "$d/verify")"
    for t in "$d"/.ckpt.h5.h5ckpt-tmp-*; do
        [ -e "$t" ] || continue
        $mpi -np 1 "$b/tests/scripts/sample" read "$t" >/dev/null 2>&1 &&
            fail "trial $i: a half-written file was accepted as a checkpoint"
        "$b/tools/h5ckpt" verify "$t" >/dev/null 2>&1 &&
            fail "trial $i: h5ckpt verify passed a half-written file"
        rm -f "$t"
    done
    echo "trial $i: killed after ${delay}s, previous checkpoint intact"
done
$mpi -np 2 "$b/tests/scripts/sample" write "$p" || fail "save after the kills"
$mpi -np 1 "$b/tests/scripts/sample" read "$p" || fail "read after the kills"
echo "kill during save: $trials trials ok"
