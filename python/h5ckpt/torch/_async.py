"""Asynchronous saves: the state is copied into the library's snapshot
memory before the call returns, then written by a background thread of the
library while training goes on (lib/h5ckpt.h, "Asynchronous commits").

    h = ht.async_save({"model": model, "optimizer": opt}, "ckpt.h5")
    ...training steps (the tensors may change at once)...
    h.wait()          # collective: the file is committed, or the error raised

``save_checkpoint(..., async_=True)`` returns the same kind of handle; its
``wait()`` returns the epoch saved.
"""
from .. import _handle, _mpi
from . import _state

__all__ = ["AsyncSave", "async_save"]


class AsyncSave:
    """A save in flight.  ``done()`` (local, never blocks) says whether the
    background write has finished; ``wait()`` (collective) publishes the file
    and returns ``result`` (the path, or the epoch for save_checkpoint), or
    raises the save's error on every rank.  As a context manager, a normal
    exit waits and an exception aborts the save (the file is not
    published).  Dropping the handle without wait() aborts it too."""

    def __init__(self, writer, result, owner=None):
        self._w = writer
        self._owner = owner  # a CheckpointDir to close after the wait
        self.result = result
        self._finished = False

    def done(self):
        if self._finished:
            return True
        return self._w.commit_test()

    def wait(self):
        if self._finished:
            return self.result
        try:
            self._w.commit_wait()
        finally:
            self._finished = True
            self._close()
        return self.result

    def abort(self):
        """Stop the save without publishing it (collective)."""
        if not self._finished:
            self._finished = True
            self._close()

    def _close(self):
        try:
            self._w.close()
        finally:
            if self._owner is not None:
                self._owner.close()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.wait()
        else:
            self.abort()
        return False

    def __repr__(self):
        return "<h5ckpt.torch.AsyncSave %r%s>" % (
            self._w.path, " finished" if self._finished else "")


def start(writer, ops, ctx, result, owner=None):
    """Queue prepared operations on `writer` and start its commit; the
    handle of the save in flight.  Collective."""
    try:
        _state.queue(writer, ops, ctx)
        writer.commit_start()
    except BaseException:
        try:
            writer.close()
        finally:
            if owner is not None:
                owner.close()
        raise
    return AsyncSave(writer, result, owner)


def async_save(state_dict, path, comm=None, **options):
    """save() in the background: returns an AsyncSave once every tensor of
    `state_dict` has been copied (they may then change at once).  Collective
    over `comm` (default MPI.COMM_WORLD); needs MPI_THREAD_FUNNELED or more
    (mpi4py's default), else NotSupported.  Keyword options go to
    h5ckpt.create (snapshot_bytes, snapshot, executor...)."""
    comm = _mpi.resolve(comm, "world")
    ops, ctx = _state.prepare(state_dict, comm)
    w = _handle.create(path, comm, **options)
    return start(w, ops, ctx, str(path))

