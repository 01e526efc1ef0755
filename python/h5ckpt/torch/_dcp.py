"""PyTorch Distributed Checkpoint (DCP) storage backend: one h5ckpt file.

    import torch.distributed.checkpoint as dcp
    dcp.save(state_dict, storage_writer=h5ckpt.torch.DCPWriter("ckpt.h5"))
    dcp.load(state_dict, storage_reader=h5ckpt.torch.DCPReader("ckpt.h5"))

Every DCP key (FQN) is a path of the file: tensors are datasets holding the
*global* tensor (FSDP2, DTensor and tensor-parallel states keep h5ckpt's
format, readable on any mesh and by h5py); DCP's non-tensor items are typed
attributes under the Python-values convention (h5ckpt._values), never
pickles, listed in the root attribute ``dcp_objects``.

Saving: the coordinator's global plan gives every rank the same ordered
manifest of tensors (FQN, dtype, global shape) and objects (FQN, owner
rank), so every rank queues the same collective puts: its chunks of a
tensor as one box (zero-copy), several boxes (h5ckpt_layout_boxes), or none.
The file is committed inside write_data, collectively; finish() has
nothing left to do.  Loading: the file's own index is the metadata (one
chunk per tensor: the whole global tensor), and each rank reads exactly the
boxes its ReadItems ask for.

Needs torch >= 2 (torch.distributed.checkpoint); MPI ranks must be the
torch.distributed ranks (launch with mpirun).
"""
import dataclasses
import io
import os
from collections import defaultdict

import torch
from torch.distributed.checkpoint.metadata import (BytesStorageMetadata,
                                                   ChunkStorageMetadata,
                                                   Metadata,
                                                   TensorStorageMetadata)
from torch.distributed.checkpoint.planner import (LoadItemType, LoadPlan,
                                                  SavePlan, WriteItemType)
from torch.distributed.checkpoint.storage import (StorageReader, StorageWriter,
                                                  WriteResult)

try:  # torch >= 2.1
    from torch.distributed.checkpoint.metadata import TensorProperties
except ImportError:  # pragma: no cover
    from torch.distributed._shard.sharded_tensor.metadata import TensorProperties

from .. import _buffers, _errors, _handle, _layout, _mpi
from . import _state

__all__ = ["DCPWriter", "DCPReader"]

OBJECTS_ATTR = "dcp_objects"


def _future(value):
    fut = torch.futures.Future()
    fut.set_result(value)
    return fut


class DCPWriter(StorageWriter):
    """A DCP StorageWriter producing one h5ckpt file at `path` (or at the
    checkpoint_id given to dcp.save).  `comm`: the mpi4py communicator of
    the same ranks as the process group (default MPI.COMM_WORLD); keyword
    options go to h5ckpt.create."""

    def __init__(self, path=None, comm=None, **options):
        super().__init__()
        self.path = os.fspath(path) if path is not None else None
        self.comm = comm
        self.options = options

    def reset(self, checkpoint_id=None):
        if checkpoint_id is not None:
            self.path = os.fspath(checkpoint_id)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id):
        return str(checkpoint_id).endswith(".h5")

    def storage_meta(self):
        return None

    def set_up_storage_writer(self, is_coordinator, *args, **kwargs):
        self.is_coordinator = is_coordinator

    def prepare_local_plan(self, plan):
        return plan

    def prepare_global_plan(self, plans):
        tensors, objects = {}, {}
        for rank, plan in enumerate(plans):
            for item in plan.items:
                fqn = item.index.fqn
                if item.type == WriteItemType.BYTE_IO:
                    objects.setdefault(fqn, rank)
                else:
                    td = item.tensor_data
                    tensors.setdefault(fqn, (str(td.properties.dtype).replace(
                        "torch.", ""), tuple(int(s) for s in td.size)))
        manifest = {"tensors": sorted((k,) + v for k, v in tensors.items()),
                    "objects": sorted(objects.items())}
        return [dataclasses.replace(p, storage_data=manifest) for p in plans]

    def write_data(self, plan, planner):
        if self.path is None:
            raise _errors.make("H5CKPT_EINVAL", "DCPWriter: no path (give one, "
                               "or a checkpoint_id to dcp.save)")
        comm = _mpi.resolve(self.comm, "world")
        manifest = plan.storage_data
        chunks, mine_objects = defaultdict(list), {}
        for item in plan.items:
            if item.type == WriteItemType.BYTE_IO:
                mine_objects[item.index.fqn] = item
            else:
                chunks[item.index.fqn].append(item)
        tdt = _buffers.torch_dtypes()
        results = []
        ops = []
        for fqn, owner in manifest["objects"]:
            value = None
            if comm.Get_rank() == owner:
                value = _object_of(planner, mine_objects[fqn])
            value = comm.bcast(value, root=owner)  # in memory only
            _state._encode(value, fqn, None, ops)
        names = [fqn for fqn, _ in manifest["objects"]]
        with _handle.create(self.path, comm, **self.options) as ck:
            for fqn, dtname, shape in manifest["tensors"]:
                items = chunks.get(fqn, [])
                if not items:
                    empty = torch.empty((0,) * len(shape), dtype=tdt[dtname])
                    ck.put(fqn, empty, _layout.none(shape))
                    continue
                datas = [planner.resolve_data(it).detach() for it in items]
                if len(items) == 1:
                    c = items[0].tensor_data.chunk
                    ck.put(fqn, datas[0], _layout.box(shape, c.offsets, c.sizes))
                else:
                    parts = [(tuple(it.tensor_data.chunk.offsets),
                              tuple(it.tensor_data.chunk.sizes)) for it in items]
                    flat = torch.cat([d.reshape(-1).cpu() for d in datas])
                    ck.put(fqn, flat, _layout.boxes(shape, parts))
                for it, d in zip(items, datas):
                    results.append(WriteResult(index=it.index,
                                               size_in_bytes=d.numel() * d.element_size(),
                                               storage_data=None))
            _state.queue(ck, ops, None)
            if names:
                ck.put_attr("", OBJECTS_ATTR, names)
        for fqn, item in mine_objects.items():
            results.append(WriteResult(index=item.index, size_in_bytes=0,
                                       storage_data=None))
        return _future(results)

    def finish(self, metadata, results):
        return None  # committed by every rank in write_data


def _object_of(planner, item):
    """The Python object of a BYTE_IO item (never written as a pickle)."""
    lookup = getattr(planner, "lookup_object", None)
    if lookup is not None:
        return lookup(item.index)
    data = planner.resolve_data(item)  # the planner's own in-memory bytes
    data.seek(0)
    return torch.load(data, weights_only=False)


class DCPReader(StorageReader):
    """A DCP StorageReader of one h5ckpt file (written by DCPWriter, or by
    anything else: every tensor of the file is a DCP key)."""

    def __init__(self, path=None, comm=None, **options):
        super().__init__()
        self.path = os.fspath(path) if path is not None else None
        self.comm = comm
        self.options = options
        self._ck = None

    def reset(self, checkpoint_id=None):
        if checkpoint_id is not None:
            self.path = os.fspath(checkpoint_id)
        if self._ck is not None:
            self._ck.close()
            self._ck = None

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id):
        return str(checkpoint_id).endswith(".h5")

    def read_metadata(self, *args, **kwargs):
        comm = _mpi.resolve(self.comm, "world")
        if self._ck is None:
            self._ck = _handle.open(self.path, comm, **self.options)
        ck = self._ck
        tdt = _buffers.torch_dtypes()
        md = {}
        for fqn in ck.tensors():
            info = ck.info(fqn)
            if info.dtype not in tdt:
                continue
            size = torch.Size(info.shape)
            md[fqn] = TensorStorageMetadata(
                properties=TensorProperties(dtype=tdt[info.dtype]), size=size,
                chunks=[ChunkStorageMetadata(offsets=torch.Size([0] * len(size)),
                                             sizes=size)])
        if OBJECTS_ATTR in ck.attr_names(""):
            for fqn in ck.attr("", OBJECTS_ATTR):
                md[fqn] = BytesStorageMetadata()
        return Metadata(state_dict_metadata=md)

    def set_up_storage_reader(self, metadata, is_coordinator, *args, **kwargs):
        self.is_coordinator = is_coordinator

    def prepare_local_plan(self, plan):
        return plan

    def prepare_global_plan(self, plans):
        return plans

    def read_data(self, plan, planner):
        ck = self._ck
        tdt = _buffers.torch_dtypes()
        by_fqn, objects = defaultdict(list), []
        for item in plan.items:
            if item.type == LoadItemType.BYTE_IO:
                objects.append(item)
            else:
                by_fqn[item.storage_index.fqn].append(item)
        done, scatter = [], []
        # every rank queues one get per tensor of the file, in file order
        for fqn in ck.tensors():
            info = ck.info(fqn)
            if info.dtype not in tdt:
                continue
            items = by_fqn.get(fqn, [])
            stored = tdt[info.dtype]
            if not items:
                ck.get(fqn, torch.empty((0,) * info.ndim, dtype=stored),
                       _layout.none(info.shape))
                continue
            if len(items) == 1:
                it = items[0]
                target = planner.resolve_tensor(it).detach()
                lay = _layout.box(info.shape, it.storage_offsets, it.lengths)
                if target.dtype == stored:
                    ck.get(fqn, target, lay)
                    done.append((it, target, None))
                else:
                    tmp = torch.empty(tuple(it.lengths), dtype=stored)
                    ck.get(fqn, tmp, lay)
                    done.append((it, target, tmp))
                continue
            lay = _layout.boxes(info.shape, [(tuple(it.storage_offsets),
                                              tuple(it.lengths)) for it in items])
            flat = torch.empty(lay.local_count, dtype=stored)
            ck.get(fqn, flat, lay)
            scatter.append((items, flat))
        ck.flush()
        for it, target, tmp in done:
            if tmp is not None:
                target.copy_(tmp)
            planner.commit_tensor(it, target)
        for items, flat in scatter:
            at = 0
            for it in items:
                target = planner.resolve_tensor(it).detach()
                n = target.numel()
                target.copy_(flat[at:at + n].view(tuple(it.lengths)))
                at += n
                planner.commit_tensor(it, target)
        def no_tensor(tp):
            raise _errors.make("H5CKPT_ENOTSUP", "DCP object '%s' holds tensor "
                               "'%s'" % (it.storage_index.fqn, tp))
        for it in objects:  # local: attributes only, no collective read
            value = _state._value_at(ck, it.storage_index.fqn, no_tensor)
            buf = io.BytesIO()
            torch.save(value, buf)  # DCP's planner takes bytes; not stored
            buf.seek(0)
            planner.load_bytes(it, buf)
        return _future(None)
