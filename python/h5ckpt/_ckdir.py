"""Checkpoint directories (numbered checkpoints, latest, retention) and
verification."""
import ctypes
import os

from . import _errors, _handle, _lib, _live, _mpi

L = _lib.lib
NEXT = None     # save at the next free index
LATEST = None   # load the latest committed checkpoint


class CheckpointDir:
    """A directory of numbered checkpoints ``ckpt-<index>.h5``.  Collective
    over `comm` (default MPI.COMM_WORLD); only rank 0 touches the file
    system.  A missing directory lists nothing (a save creates it)."""

    def __init__(self, path, comm=None, keep_last=0, keep_every=0):
        self.path = os.fspath(path)
        self.comm = _mpi.resolve(comm, "world")
        opts = _lib.CkdirOptions(*_lib.CKDIR_OPTIONS_INIT)
        opts.keep_last, opts.keep_every = int(keep_last), int(keep_every)
        h = ctypes.c_void_p()
        err = _lib.ErrorStruct()
        rc = L.h5ckpt_ckdir_open_f(ctypes.byref(h), _lib.path_bytes(path),
                                   _mpi.fint(self.comm), ctypes.byref(opts),
                                   ctypes.byref(err))
        _lib.check(rc, err.message.decode())
        self._h = h
        _live.add(self)

    def _handle(self):
        if not self._h:
            raise _errors.make("H5CKPT_EMODE", "the directory handle is closed")
        return self._h

    def _check(self, rc):
        if rc != 0:
            raise _lib.error(rc, L.h5ckpt_ckdir_errmsg(self._h).decode())

    def _free(self):
        h, self._h = self._h, None
        if h:
            L.h5ckpt_ckdir_free(h)

    close = _free

    def __del__(self):
        if _live.alive() and getattr(self, "_h", None):
            self._free()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._free()
        return False

    def refresh(self):
        """Rescan the directory.  Collective."""
        self._check(L.h5ckpt_ckdir_refresh(self._handle()))

    @property
    def indices(self):
        """Committed checkpoint indices, ascending."""
        h = self._handle()
        return [L.h5ckpt_ckdir_at(h, i) for i in range(L.h5ckpt_ckdir_count(h))]

    @property
    def latest(self):
        """The latest committed index, or None."""
        out = ctypes.c_int64()
        rc = L.h5ckpt_ckdir_latest(self._handle(), ctypes.byref(out))
        return None if rc != 0 else out.value

    @property
    def next(self):
        """The next free index."""
        return L.h5ckpt_ckdir_next(self._handle())

    def path_of(self, index):
        """File path of checkpoint `index`."""
        buf = ctypes.create_string_buffer(4096 + 64)
        self._check(L.h5ckpt_ckdir_path(self._handle(), int(index), buf, len(buf)))
        return os.fsdecode(buf.value)

    def save(self, index=NEXT, **kw):
        """A writer for checkpoint `index` (default: the next free one).  As
        a context manager, a normal exit commits it (then applies retention)
        and an exception aborts it.  Collective."""
        opts = _handle.options(**kw)
        h = ctypes.c_void_p()
        idx = _lib.CKDIR_NEXT if index is None else int(index)
        self._check(L.h5ckpt_ckdir_save(self._handle(), idx, ctypes.byref(h),
                                        ctypes.byref(opts) if opts else None))
        w = DirWriter(h, self.path_of(self.next if index is None else idx),
                      self.comm, self)
        return w

    def load(self, index=LATEST, **kw):
        """A reader of checkpoint `index` (default: the latest; NoCheckpoint
        when there is none).  Collective."""
        opts = _handle.options(**kw)
        h = ctypes.c_void_p()
        idx = _lib.CKDIR_LATEST if index is None else int(index)
        self._check(L.h5ckpt_ckdir_load(self._handle(), idx, ctypes.byref(h),
                                        ctypes.byref(opts) if opts else None))
        path = self.path_of(self.latest if index is None else idx)
        return _handle.Reader(h, path, self.comm)


class DirWriter(_handle.Writer):
    """A writer made by CheckpointDir.save: commit() commits through the
    directory (retention after the rename)."""

    def __init__(self, handle, path, comm, d):
        super().__init__(handle, path, comm)
        self._dir = d

    def commit(self):
        h = self._handle()
        self._agree_pending()
        if self._failed:
            raise _errors.make("H5CKPT_EMODE", "this writer has failed: close it")
        rc = L.h5ckpt_ckdir_commit(self._dir._handle(), h)
        self._keep, self._after = [], []
        if rc != 0:
            self._failed = True
            raise _lib.error(rc, L.h5ckpt_ckdir_errmsg(self._dir._h).decode()
                             or L.h5ckpt_errmsg(h).decode())
        self.committed = True

    # commit_start/commit_wait through the directory: retention after the
    # wait, at most one save in flight per directory.
    def _start(self, h):
        rc = L.h5ckpt_ckdir_commit_start(self._dir._handle(), h)
        return rc, (L.h5ckpt_ckdir_errmsg(self._dir._h).decode() if rc else None)

    def _wait(self, h):
        rc = L.h5ckpt_ckdir_commit_wait(self._dir._handle(), h)
        return rc, (L.h5ckpt_ckdir_errmsg(self._dir._h).decode() if rc else None)


def verify(path, comm=None):
    """Check the file at `path` against the format specification (h5ckpt
    verify).  Returns the problems found as [(object, message)], empty for
    a good file; raises when the check could not run (FileNotFound, ...).
    Collective over `comm` (default MPI.COMM_WORLD); rank 0 reads the file
    and every rank gets the same list."""
    comm = _mpi.resolve(comm, "world")
    problems = []

    def report(ctx, obj, msg):
        problems.append((obj.decode("utf-8", "replace"),
                         msg.decode("utf-8", "replace")))

    fn = _lib.PROBLEM_FN(report)
    n = ctypes.c_size_t()
    err = _lib.ErrorStruct()
    rc = L.h5ckpt_verify_f(_lib.path_bytes(path), _mpi.fint(comm), fn, None,
                           ctypes.byref(n), ctypes.byref(err))
    _lib.check(rc, err.message.decode())
    return problems
