"""The logic of the DCP backend (_dcp.py), apart from torch's DCP classes so
that it runs (and is tested, with stand-in plan items) where
torch.distributed.checkpoint does not import.

Items are duck-typed as DCP's: a write item has .type (.name "TENSOR",
"SHARD" or "BYTE_IO"), .index (.fqn), and .tensor_data (.properties.dtype,
.size, .chunk.offsets, .chunk.sizes); a read item has .type (.name
"TENSOR" or "BYTE_IO"), .storage_index (.fqn), .storage_offsets, .lengths.
"""
from collections import defaultdict

import torch

from .. import _buffers, _errors, _handle, _layout
from . import _state

OBJECTS_ATTR = "dcp_objects"


def is_bytes(item):
    return item.type.name == "BYTE_IO"


def manifest(plans):
    """Coordinator: the ordered list of every tensor (FQN, dtype name, global
    shape) and object (FQN, owner rank) of all ranks' plans, the same for
    every rank."""
    tensors, objects = {}, {}
    for rank, plan in enumerate(plans):
        for item in plan.items:
            fqn = item.index.fqn
            if is_bytes(item):
                objects.setdefault(fqn, rank)
            else:
                td = item.tensor_data
                tensors.setdefault(fqn, (str(td.properties.dtype).replace("torch.", ""),
                                         tuple(int(s) for s in td.size)))
    return {"tensors": sorted((k,) + v for k, v in tensors.items()),
            "objects": sorted(objects.items())}


def write(path, comm, man, items, resolve_data, lookup_object, **options):
    """Every rank: write the manifest's tensors (this rank's chunks of each:
    one box zero-copy, several through one multi-box layout, or none) and
    objects (typed attributes; the owner's value is broadcast in memory)
    into one file, committed collectively.  Returns [(item, bytes)]."""
    chunks, mine_objects = defaultdict(list), {}
    for item in items:
        if is_bytes(item):
            mine_objects[item.index.fqn] = item
        else:
            chunks[item.index.fqn].append(item)
    tdt = _buffers.torch_dtypes()
    ops, done = [], []
    for fqn, owner in man["objects"]:
        value = lookup_object(mine_objects[fqn]) if comm.Get_rank() == owner else None
        value = comm.bcast(value, root=owner)
        _state._encode(value, fqn, None, ops)
    with _handle.create(path, comm, **options) as ck:
        for fqn, dtname, shape in man["tensors"]:
            mine = chunks.get(fqn, [])
            if dtname not in tdt:
                ck._remember(_errors.make("H5CKPT_ENOTSUP", "tensor '%s': dtype %s"
                                          % (fqn, dtname)))
                continue
            if not mine:
                ck.put(fqn, torch.empty((0,) * len(shape), dtype=tdt[dtname]),
                       _layout.none(shape))
                continue
            datas = [resolve_data(it).detach() for it in mine]
            if len(mine) == 1:
                c = mine[0].tensor_data.chunk
                ck.put(fqn, datas[0], _layout.box(shape, c.offsets, c.sizes))
            else:
                parts = [(tuple(it.tensor_data.chunk.offsets),
                          tuple(it.tensor_data.chunk.sizes)) for it in mine]
                flat = torch.cat([d.reshape(-1).cpu() for d in datas])
                ck.put(fqn, flat, _layout.boxes(shape, parts))
            done.extend((it, d.numel() * d.element_size()) for it, d in zip(mine, datas))
        _state.queue(ck, ops, None)
        names = [fqn for fqn, _ in man["objects"]]
        if names:
            ck.put_attr("", OBJECTS_ATTR, names)
    done.extend((it, 0) for it in mine_objects.values())
    return done


def metadata(ck):
    """{FQN: ("tensor", torch dtype, shape) or ("bytes",)} of an open
    reader: every tensor is one chunk, the whole global tensor."""
    tdt = _buffers.torch_dtypes()
    md = {}
    for fqn in ck.tensors():
        info = ck.info(fqn)
        if info.dtype in tdt:
            md[fqn] = ("tensor", tdt[info.dtype], info.shape)
    if OBJECTS_ATTR in ck.attr_names(""):
        for fqn in ck.attr("", OBJECTS_ATTR):
            md[fqn] = ("bytes",)
    return md


def read(ck, items, resolve_tensor, commit_tensor, load_value):
    """Every rank: one get per tensor of the file, in file order (this rank's
    boxes, or none), one flush, then the copies and commits; objects are
    decoded from attributes (local, no collective)."""
    tdt = _buffers.torch_dtypes()
    by_fqn, objects = defaultdict(list), []
    for item in items:
        if is_bytes(item):
            objects.append(item)
        else:
            by_fqn[item.storage_index.fqn].append(item)
    done, scatter = [], []
    for fqn in ck.tensors():
        info = ck.info(fqn)
        if info.dtype not in tdt:
            continue
        mine = by_fqn.get(fqn, [])
        stored = tdt[info.dtype]
        if not mine:
            ck.get(fqn, torch.empty((0,) * info.ndim, dtype=stored),
                   _layout.none(info.shape))
            continue
        if len(mine) == 1:
            it = mine[0]
            target = resolve_tensor(it).detach()
            lay = _layout.box(info.shape, it.storage_offsets, it.lengths)
            if target.dtype == stored:
                ck.get(fqn, target, lay)
                done.append((it, target, None))
            else:  # DCP casts to the destination's dtype
                tmp = torch.empty(tuple(it.lengths), dtype=stored)
                ck.get(fqn, tmp, lay)
                done.append((it, target, tmp))
            continue
        lay = _layout.boxes(info.shape, [(tuple(it.storage_offsets), tuple(it.lengths))
                                         for it in mine])
        flat = torch.empty(lay.local_count, dtype=stored)
        ck.get(fqn, flat, lay)
        scatter.append((mine, flat))
    ck.flush()
    with torch.no_grad():
        for it, target, tmp in done:
            if tmp is not None:
                target.copy_(tmp)
            commit_tensor(it, target)
        for mine, flat in scatter:
            at = 0
            for it in mine:
                target = resolve_tensor(it).detach()
                n = target.numel()
                target.copy_(flat[at:at + n].view(tuple(it.lengths)))
                at += n
                commit_tensor(it, target)

    for it in objects:
        def no_tensor(tp, fqn=it.storage_index.fqn):
            raise _errors.make("H5CKPT_ENOTSUP", "DCP object '%s' holds tensor '%s'"
                               % (fqn, tp))
        load_value(it, _state._finish(_state._value_at(ck, it.storage_index.fqn,
                                                       no_tensor)))
