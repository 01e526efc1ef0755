"""The DCP backend's logic (h5ckpt/torch/_dcp_core.py) with stand-in plan
items shaped like DCP's, at 1-4 ranks: the coordinator's manifest, a rank
writing several chunks of one tensor (multi-box layout), chunks only some
ranks hold (replicas deduplicated to one rank), 0-d and empty tensors,
objects as typed attributes, and reads of several boxes per rank with a
dtype cast.  torch.distributed.checkpoint itself needs torch >= 2
(test_torch2.py); this runs everywhere."""
import os
from types import SimpleNamespace as NS

import pytest

torch = pytest.importorskip("torch")
import h5ckpt  # noqa: E402
from h5ckpt.torch import _dcp_core  # noqa: E402
from conftest import COMM, RANK, SIZE, all_ok  # noqa: E402


def witem(fqn, dtype, size, offsets, sizes, kind="SHARD"):
    return NS(type=NS(name=kind), index=NS(fqn=fqn),
              tensor_data=NS(properties=NS(dtype=dtype), size=torch.Size(size),
                             chunk=NS(offsets=torch.Size(offsets), sizes=torch.Size(sizes))))


def bitem(fqn):
    return NS(type=NS(name="BYTE_IO"), index=NS(fqn=fqn), tensor_data=None)


def ritem(fqn, offsets, lengths, kind="TENSOR"):
    return NS(type=NS(name=kind), storage_index=NS(fqn=fqn),
              storage_offsets=torch.Size(offsets), lengths=torch.Size(lengths))


W = torch.arange(12 * 10, dtype=torch.float32).reshape(12, 10)
B = torch.tensor([1.5, -2.0, 0.25, 8.0], dtype=torch.bfloat16)
OBJECTS = {"extra.step": 5, "extra.betas": (0.9, 0.99), "extra.none": None,
           "extra.mixed": [1, "a", None]}


def test_dcp_items_round_trip_through_one_file(shared_dir):
    path = os.path.join(shared_dir, "dcp.h5")
    data, objs, items = {}, {}, []
    # column blocks c with c % SIZE == RANK, listed last first: several
    # chunks of one tensor on a rank, non-contiguous views
    for c in [c for c in range(10) if c % SIZE == RANK][::-1]:
        it = witem("model.w", torch.float32, (12, 10), (0, c), (12, 1))
        items.append(it)
        data[id(it)] = W[:, c:c + 1]
    if RANK == 0:  # replicas deduplicated to rank 0, and edge shapes
        for fqn, t, kind in (("model.b", B, "TENSOR"),
                             ("model.e", torch.empty(0, 3), "TENSOR"),
                             ("s", torch.tensor(2.5, dtype=torch.float64), "TENSOR")):
            it = witem(fqn, t.dtype, t.shape, (0,) * t.dim(), t.shape, kind)
            items.append(it)
            data[id(it)] = t
    for i, (fqn, v) in enumerate(OBJECTS.items()):
        if i % SIZE == RANK:  # objects held by various ranks
            it = bitem(fqn)
            items.append(it)
            objs[id(it)] = v
    plans = COMM.allgather(NS(items=items))  # what the coordinator sees
    man = _dcp_core.manifest(plans)
    all_ok([t[0] for t in man["tensors"]] == ["model.b", "model.e", "model.w", "s"],
           man["tensors"])
    mine = [it for it in items]  # this rank's plan (its own items)
    done = _dcp_core.write(path, COMM, man, mine, lambda it: data[id(it)],
                           lambda it: objs[id(it)], fsync=False)
    all_ok(sum(n for _, n in done) == sum(d.numel() * d.element_size()
                                          for d in data.values()), "bytes reported")
    with h5ckpt.open(path, COMM) as ck:
        all_ok(torch.equal(torch.from_numpy(ck.read("model.w")), W), "model.w")
        all_ok(torch.equal(ck["model.b"].torch(), B), "model.b")
        all_ok(ck["s"][()] == 2.5 and ck["model.e"].shape == (0, 3), "edge shapes")
        all_ok(sorted(ck.attr("", "dcp_objects")) == sorted(OBJECTS), "objects list")
        md = _dcp_core.metadata(ck)
        all_ok(md["model.w"] == ("tensor", torch.float32, (12, 10))
               and md["extra.step"] == ("bytes",), md)
        # read: row blocks r % SIZE == RANK (several boxes), b cast to float32
        dest = torch.zeros(12, 10)
        b32 = torch.zeros(4)
        reads, targets = [], {}
        for r in [r for r in range(12) if r % SIZE == RANK]:
            it = ritem("model.w", (r, 0), (1, 10))
            reads.append(it)
            targets[id(it)] = dest[r:r + 1]
        it = ritem("model.b", (1,), (3,))
        reads.append(it)
        targets[id(it)] = b32[1:]
        reads += [ritem(fqn, (), (), "BYTE_IO") for fqn in OBJECTS]
        committed, loaded = [], {}
        _dcp_core.read(ck, reads, lambda it: targets[id(it)],
                       lambda it, t: committed.append(it.storage_index.fqn),
                       lambda it, v: loaded.__setitem__(it.storage_index.fqn, v))
        mine_rows = [r for r in range(12) if r % SIZE == RANK]
        all_ok(torch.equal(dest[mine_rows], W[mine_rows]) and
               float(dest.sum()) == float(W[mine_rows].sum()), "row boxes")
        all_ok(torch.equal(b32[1:], B[1:].float()) and b32[0] == 0, "cast read")
        all_ok(len(committed) == len(mine_rows) + 1, committed)
        all_ok(loaded == OBJECTS and type(loaded["extra.betas"]) is tuple, loaded)
