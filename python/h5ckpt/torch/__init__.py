"""h5ckpt.torch: save and load torch state on any mesh, in one file.

    import h5ckpt.torch as ht
    ht.save({"model": model, "optimizer": opt, "step": 1000}, "ckpt.h5")
    report = ht.load({"model": model, "optimizer": opt}, "ckpt.h5")

- ``save(state_dict, path, comm=None)`` / ``load(state_dict, path,
  strict=True) -> LoadReport``: nested dicts are groups, tensors datasets,
  plain values typed attributes (None, tuples, lists and integer keys have
  defined encodings; nothing is pickled, and loaded values compare equal,
  types included).  Plain tensors are replicated (written once, by one
  owner); DTensor (Shard/Replicate) is a mesh layout; ``Sharded`` wraps a
  hand-cut part.  Optimizer state is stored by parameter name.
- ``async_save(state_dict, path) -> AsyncSave`` (done(), wait()): save()
  with the writes in the background once the state is copied.
- ``save_checkpoint`` / ``load_checkpoint`` / ``load_model_weights``: a
  drop-in for the PyTorch checkpoint module of the same API
  (``save_checkpoint(..., async_=True)`` returns an AsyncSave).
- ``DCPWriter`` / ``DCPReader``: a torch.distributed.checkpoint backend
  (torch >= 2; ``HAVE_DCP`` says whether this torch has it).
CUDA tensors are passed as device pointers when the library can take them
(h5ckpt.cuda_supported()), else staged through host memory; loads go back
to each tensor's own device.
"""
import torch  # noqa: F401  (this subpackage needs torch)

from ._state import LoadReport, Sharded, load, load_from, read, save, unwrap
from ._seed import load_checkpoint, load_model_weights, save_checkpoint
from ._async import AsyncSave, async_save

try:
    from ._dcp import DCPReader, DCPWriter
    HAVE_DCP = True
    DCP_MISSING = None
except ImportError as _e:  # torch < 2: no torch.distributed.checkpoint
    HAVE_DCP = False
    DCP_MISSING = "torch %s has no usable torch.distributed.checkpoint (%s)" % (
        torch.__version__, _e)

    def _no_dcp(*args, **kwargs):
        from .._errors import make
        raise make("H5CKPT_ENOTSUP", DCP_MISSING)

    DCPWriter = DCPReader = _no_dcp


def has_dtensor():
    """True when this torch has DTensor (torch >= 2)."""
    try:
        from torch.distributed.tensor import DTensor  # noqa: F401
        return True
    except ImportError:
        try:
            from torch.distributed._tensor import DTensor  # noqa: F401
            return True
        except ImportError:
            return False


__all__ = ["save", "load", "async_save", "AsyncSave", "load_from", "read", "Sharded", "LoadReport",
           "unwrap", "save_checkpoint", "load_checkpoint", "load_model_weights",
           "DCPWriter", "DCPReader", "HAVE_DCP", "has_dtensor"]
