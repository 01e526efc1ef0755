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
tensor as one box (zero-copy), several boxes (h5ckpt_layout_boxes), or
none.  The file is committed inside write_data, collectively; finish() has
nothing left to do.  Loading: the file's own index is the metadata (one
chunk per tensor: the whole global tensor), and each rank reads exactly the
boxes its ReadItems ask for.

The logic lives in _dcp_core.py (tested with stand-in plan items in
tests/python/test_dcp_logic.py); this module binds it to torch's classes.
Needs torch >= 2 (torch.distributed.checkpoint); MPI ranks must be the
torch.distributed ranks (launch with mpirun).
"""
import dataclasses
import io
import os

import torch
from torch.distributed.checkpoint.metadata import (BytesStorageMetadata,
                                                   ChunkStorageMetadata,
                                                   Metadata,
                                                   TensorStorageMetadata)
from torch.distributed.checkpoint.storage import (StorageReader, StorageWriter,
                                                  WriteResult)

try:  # torch >= 2.1
    from torch.distributed.checkpoint.metadata import TensorProperties
except ImportError:  # pragma: no cover
    from torch.distributed._shard.sharded_tensor.metadata import TensorProperties

from .. import _errors, _handle, _mpi
from . import _dcp_core

__all__ = ["DCPWriter", "DCPReader"]


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
        man = _dcp_core.manifest(plans)
        return [dataclasses.replace(p, storage_data=man) for p in plans]

    def write_data(self, plan, planner):
        if self.path is None:
            raise _errors.make("H5CKPT_EINVAL", "DCPWriter: no path (give one, "
                               "or a checkpoint_id to dcp.save)")
        comm = _mpi.resolve(self.comm, "world")
        done = _dcp_core.write(self.path, comm, plan.storage_data, plan.items,
                               planner.resolve_data,
                               lambda item: _object_of(planner, item), **self.options)
        return _future([WriteResult(index=it.index, size_in_bytes=n, storage_data=None)
                        for it, n in done])

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
        if self._ck is None:  # collective: DCP calls this on every rank
            self._ck = _handle.open(self.path, _mpi.resolve(self.comm, "world"),
                                    **self.options)
        md = {}
        for fqn, m in _dcp_core.metadata(self._ck).items():
            if m[0] == "bytes":
                md[fqn] = BytesStorageMetadata()
                continue
            size = torch.Size(m[2])
            md[fqn] = TensorStorageMetadata(
                properties=TensorProperties(dtype=m[1]), size=size,
                chunks=[ChunkStorageMetadata(offsets=torch.Size([0] * len(size)),
                                             sizes=size)])
        return Metadata(state_dict_metadata=md)

    def set_up_storage_reader(self, metadata, is_coordinator, *args, **kwargs):
        self.is_coordinator = is_coordinator

    def prepare_local_plan(self, plan):
        return plan

    def prepare_global_plan(self, plans):
        return plans

    def read_data(self, plan, planner):
        def load_value(item, value):
            buf = io.BytesIO()
            torch.save(value, buf)  # DCP's planner takes bytes; nothing stored
            buf.seek(0)
            planner.load_bytes(item, buf)
        _dcp_core.read(self._ck, plan.items, planner.resolve_tensor,
                       planner.commit_tensor, load_value)
        return _future(None)
