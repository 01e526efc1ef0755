#!/bin/sh
# Time and peak memory (max RSS) of the h5ckpt tool on one large tensor:
# import of a safetensors file, export back, diff of two checkpoints, verify.
# Shows that diff and export run in bounded memory (4 MiB blocks) whatever the
# tensor size.  Usage: sh scripts/bench-cli.sh [MiB]   (default 512)
# Rerunnable; numbers depend on the machine and its page cache.
set -eu
cd "$(dirname "$0")/.."
mib=${1:-512}
h=tools/h5ckpt
d=$(mktemp -d "${TMPDIR:-/tmp}/h5ckpt-bench-XXXXXX")
trap 'rm -rf "$d"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
/usr/bin/python3 - "$d/in.safetensors" "$mib" <<'PY'
import json, struct, sys
import numpy as np
n = int(sys.argv[2]) * 2**20 // 4
a = np.arange(n, dtype=np.float32).reshape(-1, 1024)
h = json.dumps({"w": {"dtype": "F32", "shape": list(a.shape), "data_offsets": [0, a.nbytes]}}).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    a.tofile(f)
PY
run() {
    label=$1; shift
    /usr/bin/time -f "%e %M" -o "$d/t" "$@" >/dev/null
    set -- $(cat "$d/t")
    awk -v l="$label" -v s="$1" -v k="$2" -v m="$mib" \
        'BEGIN { printf "%-34s %7.2f s  %8.1f MiB/s  max RSS %7.1f MiB\n", l, s, m / (s > 0 ? s : 1e-9), k / 1024 }'
}
echo "h5ckpt tool, one float32 tensor of $mib MiB ($(nproc) cores)"
run "import (1 rank)" $h import --quiet "$d/in.safetensors" "$d/a.h5"
run "import (2 ranks, RSS of one)" mpirun -np 2 $h import --quiet "$d/in.safetensors" "$d/b.h5"
run "export safetensors" $h export --quiet --format safetensors "$d/a.h5" "$d/out.safetensors"
run "export npy" $h export --quiet --format npy "$d/a.h5" "$d/npy"
run "diff identical (reads 2x)" $h diff --quiet "$d/a.h5" "$d/b.h5"
run "diff identical, 2 ranks (RSS of one)" mpirun -np 2 $h diff --quiet "$d/a.h5" "$d/b.h5"
run "verify (metadata only)" $h verify "$d/a.h5"
run "ls (metadata only)" $h ls "$d/a.h5"
# the data sections are identical (headers differ: export adds __metadata__)
n1=$(od -An -t u8 -N8 "$d/in.safetensors" | tr -d ' ')
n2=$(od -An -t u8 -N8 "$d/out.safetensors" | tr -d ' ')
cmp -i "$((8 + n1)):$((8 + n2))" "$d/in.safetensors" "$d/out.safetensors" &&
    echo "export reproduced the imported data byte for byte"
