"""h5ckpt: parallel checkpoints in one collective HDF5 file, from Python.

A thin ctypes binding of libh5ckpt (no compile step; the GIL is released
during every C call) with communicators from mpi4py and zero-copy numpy
arrays and torch tensors.

Writing, on every rank of a communicator::

    import h5ckpt
    from mpi4py import MPI
    mesh = h5ckpt.Mesh(MPI.COMM_WORLD, (2, 2), ("dp", "tp"))
    lay = h5ckpt.sharded(mesh, (4096, 1024), [h5ckpt.Shard(0), h5ckpt.Shard(1)])
    with h5ckpt.create("ckpt.h5", MPI.COMM_WORLD, mesh=mesh) as ck:
        ck.put("model/w", local_block, lay)       # numpy or torch, zero-copy
        ck.put("model/b", bias)                    # replicated: written once
        ck.put_attr("", "step", 1000)
    # a normal exit commits; an exception aborts (the old file stays)

Reading, in a plain ``python3`` (no mpirun)::

    with h5ckpt.open("ckpt.h5") as ck:
        ck.tensors()                               # every path
        ck["model/w"][100:200, :]                  # reads only that hyperslab
        ck["model/w"].torch()                      # bfloat16 stays bfloat16
        ck.state()                                 # the training state as dicts

Errors are exceptions under h5ckpt.Error, one class per error-code family,
raised on every rank alike by collective calls.  h5ckpt.torch (imported
only when torch is) saves and loads torch state dicts on any mesh.
"""
from ._errors import (Error, InvalidArgument, OutOfMemory, IOFailure, MPIError,
                      Disagree, NotFound, Exists, DtypeMismatch, ShapeMismatch,
                      LayoutError, InvalidName, NotCheckpoint, VersionError,
                      NotCommitted, IsADirectory, FileNotFound, ModeError,
                      Corrupt, NotSupported, NoCheckpoint, ChecksumMismatch,
                      DeviceError)
from . import _lib
from ._layout import (Mesh, Layout, Shard, Replicate, sharded, box, whole,
                      none, flat_range, boxes)
from ._handle import Checkpoint, Writer, Reader, TensorInfo, Snapshot, create, open
from ._reader import TensorView
from ._ckdir import CheckpointDir, verify

__version__ = _lib.lib.h5ckpt_version().decode()
DTYPES = tuple(_lib.DTYPES)
LIBRARY = _lib.LIBRARY_PATH


def cuda_supported():
    """True when the library takes CUDA device pointers in this process
    (built with CUDA and a device is usable); otherwise h5ckpt.torch stages
    CUDA tensors through host memory."""
    from ._buffers import cuda_usable
    return cuda_usable()


__all__ = [
    "Error", "InvalidArgument", "OutOfMemory", "IOFailure", "MPIError",
    "Disagree", "NotFound", "Exists", "DtypeMismatch", "ShapeMismatch",
    "LayoutError", "InvalidName", "NotCheckpoint", "VersionError",
    "NotCommitted", "IsADirectory", "FileNotFound", "ModeError", "Corrupt",
    "NotSupported", "NoCheckpoint", "ChecksumMismatch", "DeviceError",
    "Mesh", "Layout", "Shard", "Replicate", "sharded", "box", "whole", "none",
    "flat_range", "boxes", "Checkpoint", "Writer", "Reader", "TensorInfo", "Snapshot",
    "TensorView", "create", "open", "CheckpointDir", "verify", "DTYPES",
    "LIBRARY", "cuda_supported",
]
