#!/bin/sh
# A save into a file system that fills up (issue 13, item 2): on a small
# tmpfs mounted here, tests/scripts/diskfull runs at 1, 2 and 3 ranks under
# each executor, with the space running out in the tensor data, in HDF5's
# metadata while the objects are made, and at the commit.  Each run must end by itself (timeout), exit 0 (no
# SIGSEGV in MPI_Finalize) and leave nothing but the previous checkpoint
# (see diskfull.c for what it checks).  Needs root for the mount: prints
# "skipped: ..." and exits 77 (automake's SKIP) otherwise.
set -u
b=${top_builddir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
t=${DISKFULL_TIMEOUT:-60}

[ "$(id -u)" = 0 ] || { echo "skipped: not root (mount -t tmpfs needs it)"; exit 77; }
mnt=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-diskfull-XXXXXX") || exit 1
mounted=
cleanup() {
    [ -n "$mounted" ] && umount "$mnt"
    rmdir "$mnt"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
if ! mount -t tmpfs -o size=8m h5ckpt-diskfull "$mnt" 2>/dev/null; then
    echo "skipped: mount -t tmpfs failed here"
    exit 77
fi
mounted=1

fails=0
for what in data meta commit; do
    for ex in plain fast; do
        for np in 1 2 3; do
            rm -rf "${mnt:?}"/* "$mnt"/.[!.]* 2>/dev/null
            echo "== $what, $ex executor, $np rank(s)"
            H5CKPT_EXECUTOR=$ex timeout -k 5 "$t" $mpi -x H5CKPT_EXECUTOR -np "$np" \
                "$b/tests/scripts/diskfull" "$mnt" "$what"
            rc=$?
            if [ "$rc" != 0 ]; then
                [ "$rc" = 124 ] && echo "FAILED: hung (killed after $t s)"
                echo "FAILED: $what, $ex executor, $np rank(s): exit $rc"
                fails=$((fails + 1))
            fi
        done
    done
done
[ "$fails" = 0 ] || { echo "$fails run(s) failed"; exit 1; }
