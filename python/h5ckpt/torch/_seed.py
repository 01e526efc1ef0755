"""Drop-in replacements for the PyTorch checkpoint module h5ckpt replaces:
save_checkpoint / load_checkpoint / load_model_weights, same arguments and
behaviour, files in the training-state profile, one ``.h5`` per epoch in
an h5ckpt checkpoint directory (``ckpt-<epoch>.h5``).

Differences from the module they replace: every rank writes its own shard
(DTensor, Sharded) into the one file instead of gathering to rank 0, nothing
is pickled, and a checkpoint loads on any number of ranks.  All functions
are collective over MPI.COMM_WORLD (launch with mpirun; torch.distributed,
when initialised, must have the same ranks).
"""
import os
import warnings

import torch

from .. import _errors, _mpi
from .._ckdir import CheckpointDir
from .._handle import open as _open
from . import _async, _state

__all__ = ["save_checkpoint", "load_checkpoint", "load_model_weights"]


def _world():
    comm = _mpi.MPI().COMM_WORLD
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        if dist.get_world_size() != comm.Get_size() or dist.get_rank() != comm.Get_rank():
            raise _errors.make("H5CKPT_EINVAL", "torch.distributed has rank %d of %d, "
                               "MPI rank %d of %d: launch with mpirun so both "
                               "agree" % (dist.get_rank(), dist.get_world_size(),
                                          comm.Get_rank(), comm.Get_size()))
    return comm


def _as_list(models):
    if models is None:
        return []
    if isinstance(models, (list, tuple)):
        return list(models)
    return [models]


def model_names(models):
    """Names of models in a checkpoint: the class name of each (unwrapped)
    model; several of one class become Name0, Name1, ... in order, skipping
    names another model uses (format spec, training-state profile, rule 1)."""
    base = [type(_state.unwrap(m)).__name__ for m in models]
    counts = {}
    for b in base:
        counts[b] = counts.get(b, 0) + 1
    used = {b for b in base if counts[b] == 1}
    out, nxt = [], {}
    for b in base:
        if counts[b] == 1:
            out.append(b)
            continue
        i = nxt.get(b, 0)
        while "%s%d" % (b, i) in used:
            i += 1
        out.append("%s%d" % (b, i))
        used.add("%s%d" % (b, i))
        nxt[b] = i + 1
    return out


class _ScalerState:
    """A GradScaler seen through the profile's names (growth_tracker, not
    _growth_tracker)."""

    def __init__(self, scaler):
        self.scaler = scaler

    def state_dict(self):
        sd = dict(self.scaler.state_dict())
        if "_growth_tracker" in sd:
            sd["growth_tracker"] = sd.pop("_growth_tracker")
        return sd

    def load_state_dict(self, sd):
        sd = dict(sd)
        if "growth_tracker" in sd and "_growth_tracker" not in sd:
            sd["_growth_tracker"] = sd.pop("growth_tracker")
        self.scaler.load_state_dict(sd)


def _training_state(models, optimizer, scheduler, scaler):
    st = {}
    models = _as_list(models)
    if models:
        st["model"] = dict(zip(model_names(models), models))
    if optimizer is not None:
        st["optimizer"] = optimizer
    if scheduler is not None:
        st["scheduler"] = scheduler
    if scaler is not None:
        st["scaler"] = _ScalerState(scaler)
    return st


# directory (realpath) -> its AsyncSave in flight (save_checkpoint(async_=True))
_in_flight = {}


def save_checkpoint(path, models=None, optimizer=None, scheduler=None,
                    scaler=None, epoch=None, metadata=None, async_=False):
    """Save a checkpoint of epoch `epoch` (None: the next free index) into
    directory `path` as ``ckpt-<epoch>.h5``: models (one or a list, named by
    class: model/<Name>/<param>), the optimizer's state keyed by parameter
    name, scheduler, scaler and `metadata` (a dict of plain values and
    tensors) as typed attributes and tensors.  Collective over
    MPI.COMM_WORLD.  Returns the epoch saved; with ``async_=True`` (an
    extension), an h5ckpt.torch.AsyncSave once the state is copied: training
    may go on at once, its ``wait()`` publishes the file, applies retention
    and returns the epoch (the next save_checkpoint of the same directory
    waits for it first: a new save removes the temporary files it finds)."""
    comm = _world()
    key = os.path.realpath(path)
    prev = _in_flight.pop(key, None)
    if prev is not None:
        prev.wait()
    st = _training_state(models, optimizer, scheduler, scaler)
    if metadata is not None:
        st["metadata"] = metadata
    if async_:
        d = CheckpointDir(path, comm)
        try:
            index = d.next if epoch is None else int(epoch)
            st["epoch"] = index
            ops, ctx = _state.prepare(st, comm)
            w = d.save(index)
        except BaseException:
            d.close()
            raise
        h = _async.start(w, ops, ctx, index, owner=d)
        _in_flight[key] = h
        return h
    with CheckpointDir(path, comm) as d:
        index = d.next if epoch is None else int(epoch)
        st["epoch"] = index
        ops, ctx = _state.prepare(st, comm)
        with d.save(index) as ck:
            _state.queue(ck, ops, ctx)
    return index


def load_checkpoint(path, models=None, optimizer=None, scheduler=None,
                    scaler=None, epoch=None, metadata_dict=None, device="cpu"):
    """Load checkpoint `epoch` (None: the latest) of directory `path` into
    the given objects, in place; `metadata_dict` (a dict) is updated with the
    stored metadata.  Returns the epoch loaded.  A directory that does not
    exist (or holds no checkpoint) warns and returns 0; a path that is a
    file raises FileNotFound.  Loads are strict for what is passed (the
    same error on every rank).  Collective over MPI.COMM_WORLD."""
    comm = _world()
    exists = comm.bcast(os.path.isdir(path) if comm.Get_rank() == 0 else None, root=0)
    isfile = comm.bcast(os.path.exists(path) if comm.Get_rank() == 0 else None, root=0)
    if not exists and not isfile:
        warnings.warn("h5ckpt: no checkpoint directory %r; starting at epoch 0" % path)
        return 0
    with CheckpointDir(path, comm) as d:
        if epoch is None and d.latest is None:
            warnings.warn("h5ckpt: no committed checkpoint in %r; starting at "
                          "epoch 0" % path)
            return 0
        with d.load(epoch) as ck:
            st = _training_state(models, optimizer, scheduler, scaler)
            scopes = ["model/%s" % n for n in st.get("model", {})] + \
                [k for k in st if k != "model"]
            _state.load_from(ck, st, strict=True, device=device, scopes=scopes)
            if metadata_dict is not None and ck.has_group("metadata"):
                metadata_dict.update(_state.read(ck, "metadata", device))
            names = ck.attr_names("")
            loaded = ck.attr("", "epoch") if "epoch" in names else \
                (d.latest if epoch is None else int(epoch))
    return int(loaded)


def load_model_weights(model, path):
    """Load only the weights of `model` (its class's entry, or the file's
    only model) from checkpoint file `path`, or from the latest checkpoint
    when `path` is a directory.  Strict.  Collective over MPI.COMM_WORLD.
    Returns `model`."""
    comm = _world()
    isdir = comm.bcast(os.path.isdir(path) if comm.Get_rank() == 0 else None, root=0)
    if isdir:
        with CheckpointDir(path, comm) as d:
            if d.latest is None:
                raise _errors.make("H5CKPT_ENOCKPT", "no committed checkpoint in %r"
                                   % path)
            with d.load() as ck:
                return _load_weights(ck, model)
    with _open(path, comm) as ck:
        return _load_weights(ck, model)


def _load_weights(ck, model):
    m = _state.unwrap(model)
    want = type(m).__name__
    stored = sorted({g.split("/")[1] for g in ck.groups()
                     if g.startswith("model/") and g.count("/") >= 1})
    name = want if want in stored else (stored[0] if len(stored) == 1 else None)
    if name is None:
        raise _errors.make("H5CKPT_ENOTFOUND", "%s holds no model %s (models: %s)"
                           % (ck.path, want, ", ".join(stored) or "none"))
    _state.load_from(ck, {"model": {name: m}}, strict=True,
                     scopes=["model/" + name])
    return model
