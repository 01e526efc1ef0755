#!/bin/sh
# Build the libFuzzer target tests/fuzz/fuzz_open.c in build-fuzz/ (clang,
# ASan + UBSan + libFuzzer) and run it for SECONDS (default 60), seeded with
# the checked-in corpus tests/corpus/.  New interesting inputs go to
# build-fuzz/corpus/ (not the source tree); crashes to build-fuzz/crashes/.
#   sh scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
# Needs clang (installed here if missing: CI never runs this script).  Run it
# niced on a shared machine:  nice -n 19 sh scripts/fuzz.sh 600
set -e
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
if ! command -v clang >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "install clang first" >&2; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
fi
[ -f lib/h5ckpt_version.h ] || sh scripts/build.sh
mkdir -p build-fuzz/corpus build-fuzz/crashes
cflags="$(pkg-config --cflags hdf5-openmpi) $(pkg-config --cflags libxxhash)"
libs="$(pkg-config --libs hdf5-openmpi) $(pkg-config --libs libxxhash)"
# The source list comes from the build (lib/local.mk: print-lib-sources).
src="$(make -s --no-print-directory print-lib-sources)"
bin=build-fuzz/fuzz_open
need=0
for f in $src tests/fuzz/fuzz_open.c lib/*.h lib/*/*.h; do [ "$f" -nt "$bin" ] && need=1; done
[ -x "$bin" ] || need=1
if [ "$need" = 1 ]; then
    echo "building $bin"
    # shellcheck disable=SC2086
    clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -DH5CKPT_BUILDING -Ilib -Ilib/device $cflags $src tests/fuzz/fuzz_open.c -o "$bin" $libs -lm
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
seeds=""
[ -d tests/corpus ] && seeds=tests/corpus
echo "fuzzing for ${secs}s (seeds: ${seeds:-none})"
# allocator_may_return_null: HDF5 asks for absurd sizes read from a corrupt
# file and handles the NULL (an error, as in a normal build), which ASan
# would otherwise report as a crash.
# Fork mode keeps going after a finding, so one run collects them all: HDF5
# 1.10.8 itself loops forever on some corrupt global heaps (a known finding,
# see tests/corpus/hdf5-hangs/README), which must not end the run.  Every
# finding is saved under build-fuzz/crashes/ (crash-*, timeout-*, oom-*).
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -fork=1 -ignore_timeouts=1 -ignore_crashes=1 -ignore_ooms=1 \
    -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1 "$@" \
    build-fuzz/corpus $seeds
