#!/bin/sh
# The Python benchmark of docs/PERFORMANCE.md, section "Python": for the
# `big` and `llm` states of `h5ckpt bench`, at 1, 2 and 4 ranks, RUNS times
# (default 3), interleaved in each run: `h5ckpt bench --write`/`--read` (the
# C library alone), then python/bench/bench_torch.py (h5ckpt.torch.save/load
# of the same state as torch tensors, and the seed's method: gather to rank
# 0 + torch.save, torch.load on rank 0 + broadcast + slicing).  No fsync
# anywhere (the bench tool's default).  Each run holds the shared benchmark
# lock (/tmp/h5ckpt-bench.lock).  Raw JSON lines go to $OUT (default
# bench-python.jsonl); the medians are printed as a markdown table.
#   sh scripts/bench_python.sh [DIR]      RUNS=3 PRESETS="big llm" NPS="1 2 4"
#                                         VARIANTS=h5ckpt,seed (bench_torch.py --variants)
set -eu
cd "$(dirname "$0")/.."
dir=${1:-${TMPDIR:-/tmp}}
runs=${RUNS:-3}
out=${OUT:-bench-python.jsonl}
py=${PYTHON_H5PY:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1
export PYTHONPATH="$(pwd)/python" H5CKPT_LIBRARY="$(pwd)/lib/.libs/libh5ckpt.so"
mpi="${MPIEXEC:-mpirun} --oversubscribe -x PYTHONPATH -x H5CKPT_LIBRARY -x OMP_NUM_THREADS"
f="$dir/h5ckpt-pybench-$$.h5"
trap 'rm -f "$f" "$f".* "$f.ceiling-scratch"' EXIT
: >"$out"
echo "machine: $(getconf _NPROCESSORS_ONLN) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); dir $dir; $runs runs" >&2
for preset in ${PRESETS:-big llm}; do
    for np in ${NPS:-1 2 4}; do
        i=0
        while [ "$i" -lt "$runs" ]; do
            flock /tmp/h5ckpt-bench.lock sh -c "
                for phase in write read; do
                    line=\$(timeout 600 $mpi -np $np tools/h5ckpt bench --\$phase '$f' \
                        --preset $preset --no-fsync --json) || exit 1
                    [ \$phase = write ] && ph=save || ph=load
                    echo \"{\\\"preset\\\": \\\"$preset\\\", \\\"ranks\\\": $np, \\\"variant\\\": \\\"cbench\\\", \\\"phase\\\": \\\"\$ph\\\", \\\"bench\\\": \$line, \\\"seconds\\\": \$(echo \"\$line\" | $py -c 'import json,sys; print(json.load(sys.stdin)[\"seconds\"])')}\"
                done
                rm -f '$f' '$f.ceiling-scratch'
                timeout 900 $mpi -np $np $py python/bench/bench_torch.py --preset $preset \
                    --file '$f' --reps 1 --variants ${VARIANTS:-h5ckpt,seed}
            " >>"$out" || { echo "bench failed: $preset at $np rank(s)" >&2; exit 1; }
            i=$((i + 1))
        done
    done
done
$py python/bench/summarize.py "$out"
