#!/bin/sh
# The GPU checks of issue 7, for the next person with a GPU machine (see
# ../shared/GPU-MACHINE.md).  NOT RUNNABLE on the development machines or
# on CI: they have no GPU (the GPU tests skip there).  Never run by the
# session that wrote it: no GPU machine was lent to it.
#
#   1. Here (a machine with apt-get and autotools), from the project root:
#        sh scripts/gpu-check.sh prepare
#      downloads the Debian packages the GPU machine lacks (parallel HDF5,
#      Check, xxhash, jansson) and a release tarball into .devdeps/
#      (git-ignored through .git/info/exclude).
#   2. On the GPU machine (the device tool: carry [".devdeps"]):
#        sh scripts/gpu-check.sh            # FULL=1: the whole make check too
#      (never timed; the device tool allows 10 minutes per command, so run
#      FULL=1 as a second command if the first one is close to that)
#      unpacks the packages into /opt/dep (never into /), builds the tarball
#      with --with-cuda --with-nccl in /tmp/h5ckpt-gpu, runs the GPU tests
#      (test_cuda_backend; test_cuda_roundtrip at 1-4 ranks, both
#      executors; bench_cuda.sh), then `h5ckpt bench --device cuda` on the
#      big preset at 1 and 2 ranks, writing, reading and writing
#      asynchronously (--async) (JSON lines in $OUT/gpu-bench.jsonl when
#      $OUT is set, else in the build directory).  Exit status 0 only if
#      every GPU test passed (a SKIP counts as a failure here).
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = prepare ]; then
    grep -qx '/.devdeps/' .git/info/exclude 2>/dev/null ||
        echo /.devdeps/ >>"$(git rev-parse --git-path info/exclude)"
    rm -rf .devdeps && mkdir -p .devdeps
    (cd .devdeps && apt-get download libhdf5-openmpi-103-1 libhdf5-openmpi-dev \
        libhdf5-openmpi-hl-100 libaec0 libsz2 hdf5-tools check libsubunit0 \
        libsubunit-dev libxxhash0 libxxhash-dev libjansson4 libjansson-dev)
    sh scripts/build.sh
    rm -f h5ckpt-*.tar.gz && make dist >/dev/null && cp h5ckpt-*.tar.gz .devdeps/
    ls .devdeps
    exit 0
fi

[ -d .devdeps ] || { echo "no .devdeps/: run 'sh scripts/gpu-check.sh prepare' first" >&2; exit 2; }
nvidia-smi -L || echo "nvidia-smi failed or is missing; the tests will say whether CUDA sees a device"
dep=/opt/dep
mkdir -p "$dep" && for f in .devdeps/*.deb; do dpkg -x "$f" "$dep"; done
lib=$dep/usr/lib/x86_64-linux-gnu
export PATH=$dep/usr/bin:$PATH
export LD_LIBRARY_PATH=$lib/hdf5/openmpi:$lib:${LD_LIBRARY_PATH:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# The packages' .pc files name /usr: give configure the flags directly.
export HDF5_CFLAGS="-I$dep/usr/include/hdf5/openmpi"
export HDF5_LIBS="-L$lib/hdf5/openmpi -lhdf5"
export XXHASH_CFLAGS="-I$dep/usr/include" XXHASH_LIBS="-L$lib -lxxhash"
export JANSSON_CFLAGS="-I$dep/usr/include" JANSSON_LIBS="-L$lib -ljansson"
export CHECK_CFLAGS="-I$dep/usr/include" CHECK_LIBS="-L$lib -lcheck_pic -lsubunit -lrt -lm -lpthread"

b=/tmp/h5ckpt-gpu
rm -rf "$b" && mkdir -p "$b"
tar xzf .devdeps/h5ckpt-*.tar.gz -C "$b" --strip-components=1
cd "$b"
./configure -q --with-cuda --with-nccl
make -j"$(nproc)" >/dev/null
status=0
make -j1 check TESTS='tests/gpu/test_cuda_backend tests/gpu/test_cuda_roundtrip tests/gpu/bench_cuda.sh' ||
    status=1
for t in test_cuda_backend test_cuda_roundtrip bench_cuda; do
    echo "==== tests/gpu/$t.log"; tail -n 40 "tests/gpu/$t.log"
    grep -q '^:test-result: PASS' "tests/gpu/$t.trs" || status=1
done
if [ "${FULL:-0}" = 1 ]; then make -j1 check || status=1; fi

out=${OUT:-$b}/gpu-bench.jsonl
: >"$out"
for np in 1 2; do
    for op in write read; do
        if mpirun --oversubscribe -np "$np" tools/h5ckpt bench --device cuda --$op \
            /tmp/h5ckpt-gpu-bench.h5 --preset big --json >"$b/one.json"; then
            cat "$b/one.json" && cat "$b/one.json" >>"$out"
        else
            status=1
        fi
    done
done
# asynchronous saves of device buffers (issue 15): stall against the pinned
# device-to-host copy, background against the synchronous commit
for np in 1 2; do
    if mpirun --oversubscribe -np "$np" tools/h5ckpt bench --device cuda --write \
        /tmp/h5ckpt-gpu-bench.h5 --async --preset big --json >"$b/one.json"; then
        cat "$b/one.json" && cat "$b/one.json" >>"$out"
    else
        status=1
    fi
done
rm -f /tmp/h5ckpt-gpu-bench.h5
echo "gpu-check: $( [ "$status" = 0 ] && echo passed || echo FAILED ); bench JSON in $out"
exit "$status"
