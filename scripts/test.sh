#!/bin/sh
# README command 2: install what is missing, build, run the whole test suite
# (unit tests, MPI tests at 1-4 ranks, tool and interoperability scripts).
set -e
cd "$(dirname "$0")/.."
. scripts/deps.sh
sh scripts/build.sh
status=0
make -j1 check || status=$?
# One closing line that any CI reader understands.
pass=$(grep -h '^:test-result: PASS' $(find tests -name '*.trs') 2>/dev/null | wc -l)
fail=$(grep -h -E '^:test-result: (FAIL|ERROR|XPASS)' $(find tests -name '*.trs') 2>/dev/null | wc -l)
skip=$(grep -h '^:test-result: SKIP' $(find tests -name '*.trs') 2>/dev/null | wc -l)
if [ "$status" != 0 ]; then
    for f in $(grep -l -E '^:test-result: (FAIL|ERROR)' $(find tests -name '*.trs')); do
        echo "==== ${f%.trs}.log"; tail -n 60 "${f%.trs}.log"
    done
fi
echo "h5ckpt: $pass passed, $fail failed, $skip skipped"
exit "$status"
