#!/bin/sh
# README command 2: install what is missing, build, run the whole test suite
# (unit tests, MPI tests at 1-4 ranks, tool and interoperability scripts).
set -e
cd "$(dirname "$0")/.."
. scripts/deps.sh
sh scripts/build.sh
status=0
# No layer of lib/ may include a layer above it (lib/README.md).
sh scripts/check-layers.sh || status=1
make -j1 check || status=$?
# The serial unit tests under valgrind memcheck (about 30 s on 2 cores).
# H5CKPT_VALGRIND=0 skips it.
vg=skipped
if [ "${H5CKPT_VALGRIND:-1}" != 0 ]; then
    if sh scripts/valgrind.sh; then vg=clean; else vg=FAILED; status=1; fi
fi
echo "valgrind run (unit tests): $vg"
# The same suite again under AddressSanitizer + UndefinedBehaviorSanitizer,
# built from the release tarball in build-san/ (the tree's own build stays
# as it is).  H5CKPT_SANITIZE=0 skips it.  Leak checking is off: Open MPI
# keeps allocations alive until exit by design.
san=skipped
if [ "${H5CKPT_SANITIZE:-1}" != 0 ]; then
    rm -rf build-san h5ckpt-*.tar.gz && mkdir build-san
    make dist >/dev/null
    tar xzf h5ckpt-*.tar.gz -C build-san --strip-components=1
    # Without CUDA and NCCL: CI also builds and tests that variant (the main
    # build above auto-detects them).  The cross-node tests at 2 nodes x 2
    # ranks only: the node layouts are the plain run's business.  The MPI
    # tests at 1 and 3 ranks (H5CKPT_NPROCS): a memory error rarely depends
    # on the rank count, 3 keeps an odd split, and the whole command stays
    # well inside CI's 45 minutes on 2 cores; the plain run covers 1-4.
    if (cd build-san && ./configure -q --enable-sanitizers --without-cuda --without-nccl &&
        make -j"$(nproc)" >/dev/null &&
        ASAN_OPTIONS=detect_leaks=0 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        H5CKPT_CLUSTER_LAYOUTS=${H5CKPT_CLUSTER_LAYOUTS:-2x2} H5CKPT_NPROCS=${H5CKPT_SAN_NPROCS:-1 3} \
        make -j1 check >san.log 2>&1); then
        san=clean
    else
        san=FAILED
        status=1
        tail -n 80 build-san/san.log
        for f in $(grep -l -E '^:test-result: (FAIL|ERROR)' $(find build-san/tests -name '*.trs')); do
            echo "==== sanitized ${f%.trs}.log"; tail -n 60 "${f%.trs}.log"
        done
    fi
fi
echo "sanitizer run (ASan+UBSan): $san"
# GPU tests skip without a CUDA device (CI has none): say so visibly.
for f in tests/gpu/*.log build-san/tests/gpu/*.log; do
    if [ -f "$f" ]; then grep -h '^skipped: ' "$f" | sed "s|^|${f%.log}: |" || true; fi
done
# Cross-node tests skip where the simulated cluster cannot be made (not
# root, no unshare): one line, whatever the number of tests.
cat tests/cluster/*.log build-san/tests/cluster/*.log 2>/dev/null |
    grep '^skipped: ' | sort -u | sed 's|^|tests/cluster: |' || true
# So do the Python tests that need torch >= 2 or a CUDA device.
for f in tests/python/*.log build-san/tests/python/*.log; do
    if [ -f "$f" ]; then grep -h '^skipped: \|^SKIPPED ' "$f" | sort -u | sed "s|^|${f%.log}: |" || true; fi
done
# One closing line that any CI reader understands.
# (counts both the plain and the sanitized run)
trs=$(find tests build-san/tests -name '*.trs' 2>/dev/null || true) # build-san/ may not exist
pass=$(cat $trs /dev/null | grep -c '^:test-result: PASS' || true)
fail=$(cat $trs /dev/null | grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' || true)
skip=$(cat $trs /dev/null | grep -c '^:test-result: SKIP' || true)
if [ "$status" != 0 ]; then
    for f in $(grep -l -E '^:test-result: (FAIL|ERROR)' $(find tests -name '*.trs')); do
        echo "==== ${f%.trs}.log"; tail -n 60 "${f%.trs}.log"
    done
fi
echo "h5ckpt: $pass passed, $fail failed, $skip skipped"
exit "$status"
