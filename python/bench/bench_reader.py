"""The analysis reader on a file of N small tensors (default 10,000), in a
plain python3 process without mpirun (singleton MPI):

    python3 python/bench/bench_reader.py [--count N] [--runs R] [--dir DIR]

Writes the file once (one rank), then runs R fresh processes, each timing
(wall clock; open and listing also in CPU time): import h5ckpt, MPI init
(mpi4py, singleton), h5ckpt.open(), tensors() (the listing), tree() (nested
dicts, lazy tensors), and one hyperslab read.
Prints one JSON line per run and the medians.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import h5ckpt
t1 = time.perf_counter()
from mpi4py import MPI
MPI.COMM_WORLD.Get_size()
t2 = time.perf_counter()
c2 = time.process_time()
ck = h5ckpt.open(sys.argv[1])
t3 = time.perf_counter()
c3 = time.process_time()
names = ck.tensors()
t4 = time.perf_counter()
c4 = time.process_time()
tree = ck.tree()
t5 = time.perf_counter()
x = ck[names[len(names) // 2]][1:3]
t6 = time.perf_counter()
ck.close()
print(json.dumps({"tensors": len(names), "import_s": round(t1 - t0, 4),
                  "mpi_init_s": round(t2 - t1, 4), "open_s": round(t3 - t2, 4),
                  "open_cpu_s": round(c3 - c2, 4), "list_s": round(t4 - t3, 4),
                  "list_cpu_s": round(c4 - c3, 4), "tree_s": round(t5 - t4, 4),
                  "slab_read_s": round(t6 - t5, 4)}))
"""


def plain_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OMPI_", "PMIX_", "OPAL_", "HYDRA_", "PMI_"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    path = os.path.join(a.dir, "h5ckpt-reader-%d.h5" % os.getpid())
    make = ("import numpy as np, h5ckpt\n"
            "with h5ckpt.create(%r) as ck:\n"
            "    for i in range(%d):\n"
            "        ck.put('model/layers.%%d/w' %% i, np.full(1024, i, np.float32))\n"
            % (path, a.count))
    subprocess.run([sys.executable, "-c", make], env=plain_env(), check=True)
    rows = []
    try:
        for _ in range(a.runs):
            out = subprocess.run([sys.executable, "-c", CHILD, path], env=plain_env(),
                                 check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out))
            print(out.strip(), flush=True)
    finally:
        os.remove(path)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "tensors"}
    print(json.dumps({"median_of": len(rows), "tensors": a.count, **med}))


if __name__ == "__main__":
    main()
