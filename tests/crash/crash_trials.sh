#!/bin/sh
# Crash trials.  usage: crash_trials.sh [N]   (N: $1, else $H5CKPT_CRASH_TRIALS,
# else 10).  Each trial starts a slow save under mpirun over an existing
# checkpoint, kills the whole job or one random rank with SIGKILL after a
# random delay, then checks that
#   - the file at the path is the previous checkpoint, byte for byte, or (if
#     the save finished before the kill) a complete new one; either way it
#     loads on another number of ranks with checksum verification and passes
#     the whole-file verify;
#   - every half-written temporary file refuses to open with
#     H5CKPT_ENOTCOMMITTED or H5CKPT_ENOTCKPT (never taken as complete);
#   - the next save succeeds, verifies, and removes those leftovers.
# Each way of saving is a function: trial_same_path (a save over the same
# file) and trial_dir_index (a save at the next index of a checkpoint
# directory, h5ckpt_ckdir_save/commit, keeping the last 3): there the latest
# committed checkpoint must stay the previous one (or be the new, complete
# one), its file unchanged, and the next save must get the next index.
# Both also run asynchronously ("async": h5ckpt_commit_start or
# h5ckpt_ckdir_commit_start, a background write paced to ~2 s, then wait),
# killed 0-1.5 s after "background write started", i.e. during the
# background phase (or, rarely, just after it).  Six kinds take turns from
# a random first one (same path or directory; synchronous with a job kill,
# synchronous with a rank kill, asynchronous with either), so every run of
# 6 trials or more has each.  Environment: H5CKPT_CRASH_NP (writer
# ranks, default 3), MPIEXEC, top_builddir.
set -u
fail() { echo "FAIL: trial ${i:-0}: $*"; exit 1; }
b=${top_builddir:-.}
mpi="${MPIEXEC:-mpirun} --oversubscribe"
trials=${1:-${H5CKPT_CRASH_TRIALS:-10}}
np=${H5CKPT_CRASH_NP:-3}
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-crash-XXXXXX")
job=
cleanup() {
    [ -n "$job" ] && pkill -9 -s "$job" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
p="$d/ckpt.h5"
sample="$b/tests/scripts/sample"
h5ckpt="$b/tools/h5ckpt"
# The tool parses in its own process here (no child: tools/sandbox.c), so
# that a crash of h5ckpt's own code on these inputs shows as a crash, never
# as a "malformed file" line; hostile.sh tests the child, and that its
# output equals this in-process output byte for byte.
H5CKPT_TOOL_SANDBOX=0
export H5CKPT_TOOL_SANDBOX
intact=0 completed=0 partials=0 rankkills=0 jobkills=0 cleaned=0 background=0

# rnd K: a random number in [0, K) (each trial prints what it drew).
rnd() {
    echo $(( $(od -An -N4 -tu4 /dev/urandom) % $1 ))
}

# The checkpoint at $1 loads on 2 ranks with verification and verifies.
check_good() {
    $mpi -np 2 "$sample" read "$1" --verify >"$d/read" 2>&1 ||
        fail "$2: it does not load with verification: $(cat "$d/read")"
    "$h5ckpt" verify "$1" >"$d/verify" 2>&1 || fail "$2: verify: $(cat "$d/verify")"
}

# Kill: `job` (mpirun and every rank at once) or `rank` (one random rank;
# Open MPI then ends the job).  The job runs in its own session, whose id is
# $job (Open MPI gives each rank its own process group, not its session).
kill_save() {
    if [ "$1" = rank ]; then
        ranks=$(pgrep -P "$job" | tr '\n' ' ')
        set -- $ranks
        if [ $# -gt 0 ]; then
            shift "$(rnd $#)"
            kill -9 "$1" 2>/dev/null
            rankkills=$((rankkills + 1))
            # give mpirun up to 10 s to notice and end the job itself
            t=0
            while kill -0 "$job" 2>/dev/null && [ $t -lt 100 ]; do
                sleep 0.1
                t=$((t + 1))
            done
            [ $t -lt 100 ] || echo "trial $i: mpirun had not ended the job 10 s after a rank died"
        else
            # no rank started yet: the whole job goes, and is counted so
            jobkills=$((jobkills + 1))
        fi
    else
        jobkills=$((jobkills + 1))
    fi
    pkill -9 -s "$job" 2>/dev/null
    wait "$job" 2>/dev/null
    while pgrep -s "$job" >/dev/null 2>&1; do sleep 0.05; done
    job=
}

# Every temporary file given (what a killed save left) refuses to open with
# ENOTCOMMITTED/ENOTCKPT and fails h5ckpt verify; sets n to their number.
refuse_temporaries() {
    n=0
    for t in "$@"; do
        [ -e "$t" ] || continue
        n=$((n + 1))
        $mpi -np 1 "$sample" read "$t" >"$d/tmpread" 2>&1 &&
            fail "a half-written file was accepted as a checkpoint ($t)"
        grep -q -E 'H5CKPT_ENOTCOMMITTED|H5CKPT_ENOTCKPT' "$d/tmpread" ||
            fail "a half-written file failed without ENOTCOMMITTED/ENOTCKPT: $(cat "$d/tmpread")"
        "$h5ckpt" verify "$t" >/dev/null 2>&1 &&
            fail "h5ckpt verify passed a half-written file ($t)"
    done
    partials=$((partials + n))
}

# Start a slow save (`sample write TARGET --slow [ARGS]`) and kill it with
# $1 (job|rank): synchronous, after a random delay of 0.15-3.15 s;
# asynchronous ($2 = async), a random 0-1.5 s after the background write
# started (up to 30 s for it to start).
launch_and_kill() {
    how=$1 mode=$2 target=$3
    shift 3
    if [ "$mode" = async ]; then
        setsid $mpi -np "$np" "$sample" write "$target" --slow --async "$@" >"$d/save" 2>&1 &
        job=$!
        t=0
        while ! grep -q "background write started" "$d/save" && kill -0 "$job" 2>/dev/null &&
            [ $t -lt 300 ]; do
            sleep 0.1
            t=$((t + 1))
        done
        grep -q "background write started" "$d/save" ||
            fail "the async save never started its background write: $(cat "$d/save")"
        delay=$(awk -v ms="$(rnd 1500)" 'BEGIN { printf "%.3f", ms / 1000 }')
        sleep "$delay"
        delay="$delay s after its background write started"
    else
        delay=$(awk -v ms="$(rnd 3000)" 'BEGIN { printf "%.3f", 0.15 + ms / 1000 }')
        setsid $mpi -np "$np" "$sample" write "$target" --slow "$@" >"$d/save" 2>&1 &
        job=$!
        sleep "$delay"
        delay="after ${delay}s"
    fi
    kill_save "$how"
    # killed while the background writer ran: started, never committed
    if [ "$mode" = async ] && ! grep -q ": ok" "$d/save"; then
        background=$((background + 1))
    fi
}

# One trial of a save over the same path (sync or async).
trial_same_path() {
    how=$1 mode=$2
    launch_and_kill "$how" "$mode" "$p"
    if cmp -s "$p" "$d/prev.h5"; then
        intact=$((intact + 1)); outcome="previous checkpoint intact"
        check_good "$p" "the previous checkpoint"
    else
        # Only a whole, committed save may have replaced it.
        check_good "$p" "the file at the path changed"
        grep -q "write $p: ok" "$d/save" ||
            echo "trial $i: the save had committed; killed before it printed"
        completed=$((completed + 1)); outcome="save had completed"
        cp "$p" "$d/prev.h5"
    fi
    refuse_temporaries "$d"/.ckpt.h5.h5ckpt-tmp-*
    # The next save succeeds and removes the leftovers.
    $mpi -np "$np" "$sample" write "$p" >"$d/next" 2>&1 || fail "the next save: $(cat "$d/next")"
    for t in "$d"/.ckpt.h5.h5ckpt-tmp-*; do
        [ -e "$t" ] && fail "the next save left $t in place"
    done
    cleaned=$((cleaned + n))
    "$h5ckpt" verify "$p" >"$d/verify" 2>&1 || fail "the next save: verify: $(cat "$d/verify")"
    cp "$p" "$d/prev.h5"
    echo "trial $i: $mode, $how killed $delay: $outcome; $n half-written file(s) refused and removed"
}

dir="$d/dir"
ckname() { printf '%s/ckpt-%09d.h5' "$dir" "$1"; }
# Index of the latest committed checkpoint of $dir, loaded with verification.
latest() {
    $mpi -np 2 "$sample" read "$dir" --dir --verify >"$d/read" 2>&1 ||
        fail "the latest checkpoint does not load with verification: $(cat "$d/read")"
    sed -n 's/.*: ok (ckpt \([0-9]*\))$/\1/p' "$d/read"
}

# One trial of a save at the next index of a checkpoint directory.
trial_dir_index() {
    how=$1 mode=$2
    before=$(latest)
    [ -n "$before" ] || fail "no latest index before the save"
    cp "$(ckname "$before")" "$d/prevdir.h5"
    launch_and_kill "$how" "$mode" "$dir" --dir
    after=$(latest)
    if [ "$after" = "$before" ]; then
        cmp -s "$(ckname "$before")" "$d/prevdir.h5" ||
            fail "the latest checkpoint $before changed under a killed save"
        intact=$((intact + 1)); outcome="latest is still $before, unchanged"
    elif [ "$after" = $((before + 1)) ]; then
        cmp -s "$(ckname "$before")" "$d/prevdir.h5" ||
            fail "checkpoint $before changed when $after was saved"
        completed=$((completed + 1)); outcome="save of $after had completed"
    else
        fail "latest went from $before to '$after'"
    fi
    "$h5ckpt" verify "$(ckname "$after")" >"$d/verify" 2>&1 ||
        fail "verify of the latest: $(cat "$d/verify")"
    refuse_temporaries "$dir"/.ckpt-*.h5.h5ckpt-tmp-*
    # The next save takes the next index and removes the leftovers.
    $mpi -np "$np" "$sample" write "$dir" --dir >"$d/next" 2>&1 ||
        fail "the next save: $(cat "$d/next")"
    grep -q ": ok (ckpt $((after + 1)))" "$d/next" ||
        fail "the next save did not take index $((after + 1)): $(cat "$d/next")"
    for t in "$dir"/.ckpt-*.h5.h5ckpt-tmp-*; do
        [ -e "$t" ] && fail "the next save left $t in place"
    done
    cleaned=$((cleaned + n))
    echo "trial $i: dir, $mode, $how killed $delay: $outcome; $n half-written file(s) refused and removed"
}

first=$(rnd 6)
pick_mode() {
    case $(( (first + i) % 6 )) in
    0) trial_same_path job sync ;;
    1) trial_same_path rank sync ;;
    2) trial_same_path "$(if [ "$(rnd 2)" = 0 ]; then echo job; else echo rank; fi)" async ;;
    3) trial_dir_index job sync ;;
    4) trial_dir_index rank sync ;;
    5) trial_dir_index "$(if [ "$(rnd 2)" = 0 ]; then echo job; else echo rank; fi)" async ;;
    esac
}

i=0
$mpi -np "$np" "$sample" write "$p" >"$d/first" 2>&1 || fail "first save: $(cat "$d/first")"
cp "$p" "$d/prev.h5"
$mpi -np "$np" "$sample" write "$dir" --dir >"$d/first" 2>&1 || fail "first save in a directory: $(cat "$d/first")"
while [ "$i" -lt "$trials" ]; do
    i=$((i + 1))
    pick_mode
done
echo "crash trials: $trials run ($np ranks; $jobkills whole-job kills, $rankkills one-rank kills;" \
    "$background async saves killed after their background write started, before they reported):" \
    "previous checkpoint intact in $intact, save completed before the kill in $completed," \
    "$partials half-written files refused (none taken as complete), $cleaned removed by the next save"
