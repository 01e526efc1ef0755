#!/usr/bin/python3
"""A DCP-like writer for the benchmark table: every rank torch.save()s its
Shard(0) part of the `big` preset of `h5ckpt bench` (8 float32 tensors of
256 MiB, [8192, 8192] each) into a file of its own, as PyTorch DCP's
FileSystemWriter does (torch.distributed.checkpoint itself does not import
with torch 1.13 on Python 3.11 here).  The timed phase starts from the same
page state as `h5ckpt bench --pages warm|cold` (tools/bench_io.c): warm,
each rank writes a scratch file of its bytes and all delete theirs right
before the phase; cold, each rank waits until free page reporting has
settled (at most --settle seconds).  Prints one JSON line (rank 0).

  mpirun -np N /usr/bin/python3 scripts/bench_dcp.py DIR [--pages warm|cold]
         [--runs R] [--fsync] [--settle S] [--size BYTES] [--count N]
"""
import argparse
import json
import os
import statistics
import time

import torch
from mpi4py import MPI

REPORTED = "/sys/module/page_reporting/parameters/reported_kib"


def reported():
    try:
        with open(REPORTED) as f:
            return int(f.read())
    except OSError:
        return None


def settle(most):
    """Wait until reported_kib has not changed for 3 s, at most `most` s."""
    t0 = time.monotonic()
    last = reported()
    if last is None or most <= 0:
        return 0.0
    same = t0
    while time.monotonic() - t0 < most and time.monotonic() - same < 3.0:
        time.sleep(0.25)
        v = reported()
        if v != last:
            last, same = v, time.monotonic()
    return time.monotonic() - t0


def size_arg(text):
    """BYTES with an optional K/M/G (binary) suffix, as `h5ckpt bench --size`."""
    mul = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if mul > 1 else text) * mul


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--pages", choices=("warm", "cold"), default="warm")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--fsync", action="store_true")
    p.add_argument("--settle", type=float, default=20)
    p.add_argument("--size", type=size_arg, default=256 << 20)
    p.add_argument("--count", type=int, default=8)
    a = p.parse_args()
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    # the bench's near-square shape: columns the largest power of two
    # <= sqrt(n) that divides n
    n = a.size // 4
    cols = 1
    while (cols * 2) ** 2 <= n and n % (cols * 2) == 0:
        cols *= 2
    rows = n // cols
    lo, hi = rows * rank // size, rows * (rank + 1) // size
    state = {}
    for i in range(a.count):
        t = torch.empty((hi - lo, cols), dtype=torch.float32)
        t.fill_(float(i * size + rank))  # touched before timing
        state["state/t%06d" % i] = t
    mine = sum(t.numel() * 4 for t in state.values())
    path = os.path.join(a.dir, "h5ckpt-dcp-%d-%d.pt" % (os.getppid(), rank))
    warm = os.path.join(a.dir, "h5ckpt-dcp-warm-%d-%d" % (os.getppid(), rank))
    chunk = bytearray(b"\x5a" * (1 << 20))
    secs, waited = [], 0.0
    for _ in range(a.runs):
        if rank == 0:
            os.sync()
        comm.Barrier()
        if a.pages == "cold":
            waited = max(waited, settle(a.settle))
        else:
            with open(warm, "wb") as f:
                left = mine
                while left > 0:
                    left -= f.write(chunk[: min(left, len(chunk))])
                comm.Barrier()
                os.unlink(warm)  # deleted dirty: dropped, never written back
        comm.Barrier()
        t0 = MPI.Wtime()
        with open(path, "wb") as f:
            torch.save(state, f)
            if a.fsync:
                f.flush()
                os.fsync(f.fileno())
        comm.Barrier()
        secs.append(MPI.Wtime() - t0)
        os.unlink(path)
    total = comm.allreduce(mine)
    waited = comm.allreduce(waited, op=MPI.MAX)
    if rank == 0:
        med = statistics.median(secs)
        print(json.dumps({
            "op": "write", "preset": "big", "writer": "torch.save per rank",
            "ranks": size, "fsync": a.fsync, "pages": a.pages, "runs": a.runs,
            "tensors": a.count, "bytes": total, "seconds": med,
            "gbps": total / med / 1e9, "seconds_each": secs,
            "settle_seconds_max": waited}))


if __name__ == "__main__":
    main()
