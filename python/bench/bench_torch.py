"""Time h5ckpt.torch against the seed's method on the states of `h5ckpt
bench` (tools/bench_state.c) built as torch tensors, at any rank count.

    mpirun -np N python3 bench_torch.py --preset big|llm --file F [--reps R]
                                        [--variants h5ckpt,seed] [--json]

Each rank builds its own shard of every tensor, with the bench tool's
shapes, dtypes and placements on a 1-D mesh over all ranks (h5ckpt.torch:
Sharded.on_mesh, the layouts DTensor would give; replicated tensors as plain
tensors, written once).  Timed phases, each after sync() and a barrier and
ending with a barrier (as `h5ckpt bench`):
  h5ckpt save  h5ckpt.torch.save(state, F)             (no fsync, as the bench default)
  h5ckpt load  h5ckpt.torch.load(template, F)          (into preallocated shards)
  seed save    gather every shard to rank 0 (MPI Gatherv), torch.save of one file
  seed load    torch.load on rank 0, MPI Bcast of each tensor, each rank copies its slice
The seed's collectives use MPI (shared memory here), not gloo over TCP: if
anything this favours the seed.  Peak memory: before each phase the rank's
peak-RSS mark is reset (/proc/self/clear_refs) and the phase's extra memory
is VmHWM after it minus VmRSS before it (the state itself excluded).
Prints one JSON line per (variant, phase, rep) with the max over ranks.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from mpi4py import MPI

import h5ckpt
import h5ckpt.torch as ht

COMM = MPI.COMM_WORLD
RANK, SIZE = COMM.Get_rank(), COMM.Get_size()
SHARD0, SHARD1, REPLICATE = 0, 1, -1


def square_shape(n):
    c = 1
    while (c * 2) * (c * 2) <= n and n % (c * 2) == 0:
        c *= 2
    return (n // c, c)


def preset(name, hidden=1024, layers=8):
    """[(path, dtype, shape, placement)] as tools/bench_state.c builds it."""
    if name == "big":
        shape = square_shape((256 << 20) // 4)
        return [("state/t%06d" % i, torch.float32, shape, SHARD0) for i in range(8)]
    if name != "llm":
        raise SystemExit("unknown preset " + name)
    h = hidden
    out = []
    for g, dt in (("model", torch.bfloat16), ("optim/exp_avg", torch.float32),
                  ("optim/exp_avg_sq", torch.float32)):
        def add(nm, shape, p):
            out.append(("%s/%s" % (g, nm), dt, shape, p if len(shape) == 2 else REPLICATE))
        add("embed.weight", (8 * h, h), SHARD0)
        for L in range(layers):
            pre = "layers.%d." % L
            add(pre + "attn.qkv.weight", (3 * h, h), SHARD0)
            add(pre + "attn.qkv.bias", (3 * h,), REPLICATE)
            add(pre + "attn.out.weight", (h, h), SHARD1)
            add(pre + "attn.out.bias", (h,), REPLICATE)
            add(pre + "mlp.up.weight", (4 * h, h), SHARD0)
            add(pre + "mlp.up.bias", (4 * h,), REPLICATE)
            add(pre + "mlp.down.weight", (h, 4 * h), SHARD1)
            add(pre + "mlp.down.bias", (h,), REPLICATE)
            for nm in ("ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias"):
                add(pre + nm, (h,), REPLICATE)
        add("final_norm.weight", (h,), REPLICATE)
        add("final_norm.bias", (h,), REPLICATE)
    return out


def chunk(n, k, i):
    c = -(-n // k)
    o = min(i * c, n)
    return o, min(n - o, c)


def my_box(shape, p):
    """(slices) of this rank's part: torch.chunk along the sharded dim."""
    if p == REPLICATE:
        return tuple(slice(0, s) for s in shape)
    o, c = chunk(shape[p], SIZE, RANK)
    sl = [slice(0, s) for s in shape]
    sl[p] = slice(o, o + c)
    return tuple(sl)


def box_shape(shape, p):
    return tuple(s.stop - s.start for s in my_box(shape, p))


def build(spec, fill):
    """This rank's shards: {path: tensor} and the state for h5ckpt.torch."""
    mesh = h5ckpt.Mesh(COMM)
    local, state = {}, {}
    for i, (path, dt, shape, p) in enumerate(spec):
        t = torch.empty(box_shape(shape, p), dtype=dt)
        if fill:
            t.view(torch.int16 if t.element_size() == 2 else torch.int32).fill_(i + 1)
        local[path] = t
        g, name = path.rsplit("/", 1)
        d = state
        for part in g.split("/"):
            d = d.setdefault(part, {})
        d[name] = t if p == REPLICATE else ht.Sharded.on_mesh(
            t, mesh, [h5ckpt.Shard(p)], shape)
    return local, state, mesh


# ---- memory ---------------------------------------------------------------

def _status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def peak():
    return _status("VmHWM")


# ---- the seed's method ------------------------------------------------------

def seed_save(spec, local, path):
    full = {}
    for path_, dt, shape, p in spec:
        t = local[path_]
        if p == REPLICATE:
            if RANK == 0:
                full[path_] = t
            continue
        raw = t.contiguous().view(torch.uint8).numpy().reshape(-1)
        counts = COMM.gather(raw.size, root=0)
        buf = None
        if RANK == 0:
            buf = np.empty(sum(counts), np.uint8)
            displs = np.cumsum([0] + counts[:-1]).tolist()
            COMM.Gatherv(raw, (buf, counts, displs, MPI.BYTE), root=0)
            blocks, at = [], 0
            for r in range(SIZE):
                o, c = chunk(shape[p], SIZE, r)
                bs = list(shape)
                bs[p] = c
                n = counts[r]
                blocks.append(torch.from_numpy(buf[at:at + n]).view(dt).view(bs))
                at += n
            full[path_] = torch.cat(blocks, dim=p) if p == SHARD1 else \
                torch.from_numpy(buf).view(dt).view(shape)
        else:
            COMM.Gatherv(raw, None, root=0)
    if RANK == 0:
        torch.save(full, path)
    del full


def seed_load(spec, local, path):
    full = torch.load(path) if RANK == 0 else None
    for path_, dt, shape, p in spec:
        t = full[path_] if RANK == 0 else torch.empty(shape, dtype=dt)
        raw = t.view(torch.uint8).numpy().reshape(-1) if t.numel() else np.empty(0, np.uint8)
        COMM.Bcast(raw, root=0)
        local[path_].copy_(t[my_box(shape, p)])
        del t, raw
    del full


# ---- runs ----------------------------------------------------------------------

def warm(path):
    """Not timed: read the file once, so that every load starts from the
    same page state (cached) as `h5ckpt bench --read`, whose ceiling read
    caches the file before its timed read.  Without it the two variants
    differ by how they wrote: h5ckpt writes large pieces with O_DIRECT (not
    cached), torch.save through the page cache (cached)."""
    if RANK == 0:
        with open(path, "rb", buffering=0) as fh:
            while fh.read(64 << 20):
                pass
    COMM.Barrier()


def timed(fn):
    os.sync()
    COMM.Barrier()
    base = reset_peak()
    t0 = time.perf_counter()
    fn()
    COMM.Barrier()
    secs = time.perf_counter() - t0
    extra = peak() - base
    return secs, COMM.allreduce(extra, op=MPI.MAX), COMM.allgather(extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="big")
    ap.add_argument("--file", required=True)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--variants", default="h5ckpt,seed")
    ap.add_argument("--hidden", type=int, default=1024, help="llm: hidden size")
    ap.add_argument("--layers", type=int, default=8, help="llm: layers")
    ap.add_argument("--poison", choices=("kernel", "user"), default="kernel",
                    help="how shards are zeroed before a load (see poison())")
    args = ap.parse_args()
    torch.set_num_threads(1)
    spec = preset(args.preset, args.hidden, args.layers)
    local, state, mesh = build(spec, fill=True)
    total = sum(int(np.prod(s)) * torch.empty(0, dtype=d).element_size()
                for _, d, s, _ in spec)
    shard = sum(t.numel() * t.element_size() for t in local.values())
    shard_max = COMM.allreduce(shard, op=MPI.MAX)
    variants = args.variants.split(",")

    def emit(variant, phase, rep, res):
        secs, extra_max, extras = res
        if RANK == 0:
            print(json.dumps({"preset": args.preset, "ranks": SIZE, "variant": variant,
                              "phase": phase, "rep": rep, "seconds": round(secs, 4),
                              "gbps": round(total / secs / 1e9, 3), "bytes": total,
                              "shard_max_bytes": shard_max,
                              "extra_rss_max_bytes": extra_max,
                              "extra_rss_per_rank": extras}), flush=True)

    def words(t):
        return t.view(torch.int16 if t.element_size() == 2 else torch.int32).reshape(-1)

    def poison():
        """Not timed: zero every shard, so that a load must bring the values
        back.  By default the zeros come from read(2) of /dev/zero, a copy
        by the kernel into the tensors, as `h5ckpt bench --read` has its
        buffers written by the kernel in its ceiling read before the timed
        read.  This matters on this VM: the first copy by the kernel into a
        page of a process costs about 6.6 us (1.7 s per GiB;
        scripts/vm-first-touch.py measures it), whoever makes it, and an
        O_DIRECT save leaves the tensors it wrote from untouched by the
        kernel.  --poison user zeroes them in user space (torch zero_())
        and so times a load into such pages, as a freshly built model in a
        new process has them."""
        if args.poison == "user":
            for t in local.values():
                t.zero_()
            return
        with open("/dev/zero", "rb", buffering=0) as z:
            for t in local.values():
                if t.numel():
                    view = memoryview(t.view(torch.uint8).numpy().reshape(-1))
                    done = 0
                    while done < len(view):
                        done += z.readinto(view[done:done + (64 << 20)])

    def check(variant):
        # each tensor was filled with its own index + 1: first and last word
        bad = 0
        for i, (path, dt, shape, p) in enumerate(spec):
            w = words(local[path])
            if w.numel():
                bad += int(w[0]) != i + 1 or int(w[-1]) != i + 1
        assert COMM.allreduce(bad) == 0, "%s load: values differ" % variant

    for rep in range(args.reps):
        for v in variants:  # interleaved: save and load of each variant in turn
            f = args.file + "." + v
            if v == "h5ckpt":
                emit(v, "save", rep, timed(lambda: ht.save(state, f, COMM, fsync=False)))
                poison()
                warm(f)
                if args.poison == "kernel":
                    # not timed: `h5ckpt bench --read` times its read after
                    # its ceiling read of the same bytes into the same
                    # buffers; this is that first pass (the first load in a
                    # process is 1.5-1.8x slower on this VM, big at 2 ranks)
                    ht.load(state, f, comm=COMM)
                    poison()
                emit(v, "load", rep, timed(lambda: ht.load(state, f, comm=COMM)))
            else:
                emit(v, "save", rep, timed(lambda: seed_save(spec, local, f)))
                poison()
                warm(f)
                emit(v, "load", rep, timed(lambda: seed_load(spec, local, f)))
            check(v)
            COMM.Barrier()
            if RANK == 0:
                os.remove(f)
    del mesh


if __name__ == "__main__":
    main()
