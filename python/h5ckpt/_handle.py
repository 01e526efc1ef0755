"""Checkpoint handles: writers (create) and readers (open)."""
import ctypes
import os

import numpy as np

from . import _buffers, _errors, _layout, _lib, _live, _mpi, _values

L = _lib.lib

_EXECUTORS = {None: _lib.EXECUTOR_DEFAULT, "default": _lib.EXECUTOR_DEFAULT,
              "plain": _lib.EXECUTOR_PLAIN, "fast": _lib.EXECUTOR_FAST}


def options(mesh=None, fsync=None, executor=None, file_locking=None,
            alignment=None, verify_checksums=None, staging_bytes=None,
            exchange=None, direct=None, snapshot_bytes=None, snapshot=None):
    """An h5ckpt_options for create/open, or None when every argument is
    left at its default (the library's defaults then apply)."""
    args = (mesh, fsync, executor, file_locking, alignment, verify_checksums,
            staging_bytes, exchange, direct, snapshot_bytes, snapshot)
    if all(a is None for a in args):
        return None
    if executor not in _EXECUTORS:
        raise _errors.make("H5CKPT_EINVAL", "executor must be 'plain', 'fast' "
                           "or 'default', not %r" % (executor,))
    o = _lib.Options(*_lib.OPTIONS_INIT)
    if mesh is not None:
        o.mesh = mesh._h
    if fsync is not None:
        o.no_fsync = 0 if fsync else 1
    o.executor = _EXECUTORS[executor]
    if file_locking is not None:
        o.no_file_locking = 0 if file_locking else 1
    if alignment is not None:
        o.alignment = int(alignment)
    if verify_checksums is not None:
        o.verify_checksums = 1 if verify_checksums else 0
    if staging_bytes is not None:
        o.staging_bytes = int(staging_bytes)
    if exchange is not None:
        o.no_exchange = 0 if exchange else 1
    if direct is not None:
        o.no_direct = 0 if direct else 1
    if snapshot_bytes is not None:
        o.snapshot_bytes = int(snapshot_bytes)
    if snapshot is not None:
        o.snapshot = snapshot._handle()
    return o


class Snapshot:
    """Snapshot memory kept between asynchronous saves (h5ckpt_snapshot):
    pass it as ``snapshot=`` to create() so that later saves allocate
    nothing.  One save in flight at a time may use it.  Local."""

    def __init__(self):
        h = ctypes.c_void_p()
        _lib.check(L.h5ckpt_snapshot_create(ctypes.byref(h)))
        self._h = h

    def _handle(self):
        if not self._h:
            raise _errors.make("H5CKPT_EMODE", "the snapshot memory is freed")
        return self._h

    @property
    def nbytes(self):
        """Bytes of snapshot memory held now."""
        return L.h5ckpt_snapshot_bytes(self._handle())

    def free(self):
        """Release the memory (as the save using it ends, if one is in
        flight)."""
        h, self._h = self._h, None
        if h:
            L.h5ckpt_snapshot_free(h)

    def __del__(self):
        if _live.alive() and getattr(self, "_h", None):
            self.free()


class TensorInfo:
    """dtype (h5ckpt name), global shape and recorded placements of a
    stored tensor."""
    __slots__ = ("path", "dtype", "shape", "_ck")

    def __init__(self, path, dtype, shape, ck):
        self.path, self.dtype, self.shape, self._ck = path, dtype, shape, ck

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self):
        return self.size * _lib.DTYPE_SIZE[_lib.DTYPE_INDEX[self.dtype]]

    @property
    def placements(self):
        p = L.h5ckpt_tensor_placements(self._ck._handle(), _lib.text(self.path))
        return p.decode() if p is not None else None

    def __repr__(self):
        return "<tensor %s %s %s>" % (self.path, self.dtype, list(self.shape))


class Checkpoint:
    """A checkpoint handle (writer or reader).  Use as a context manager, or
    call close().  Collective calls (flush, commit, close, reads) must be
    made by every rank of the communicator in the same order."""

    def __init__(self, handle, path, comm, mode):
        self._h = handle
        self.path = path
        self.comm = comm
        self.mode = mode
        self._keep = []      # buffers the queued puts/gets point into
        self._after = []     # copies to run after a successful flush
        self._pending = None  # first Python-side error since the last flush
        self._failed = False
        _live.add(self)

    # ---- lifecycle ------------------------------------------------------
    def _handle(self):
        if not self._h:
            raise _errors.make("H5CKPT_EMODE", "the checkpoint %r is closed"
                               % self.path)
        return self._h

    def _free(self):
        h, self._h = self._h, None
        self._keep, self._after = [], []
        if h:
            return L.h5ckpt_close(h)
        return 0

    def close(self):
        """Close the handle (a writer that was not committed is aborted: its
        temporary file is removed).  Collective."""
        rc = self._free()
        _lib.check(rc, "closing %r failed" % self.path)

    @property
    def closed(self):
        return not self._h

    def __del__(self):
        if _live.alive() and getattr(self, "_h", None):
            self._free()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self.close()
        return False

    def errmsg(self):
        """The last message the library recorded on this handle."""
        return L.h5ckpt_errmsg(self._handle()).decode()

    def _check(self, rc):
        if rc != 0:
            raise _lib.error(rc, L.h5ckpt_errmsg(self._h).decode() if self._h
                             else None)

    def _remember(self, exc):
        """A Python-side error of a queued call: raised by the next flush or
        commit on every rank."""
        if self._pending is None:
            self._pending = exc

    def _agree_pending(self):
        exc, self._pending = self._pending, None
        try:
            _mpi.agree(self.comm, exc)
        except BaseException:
            if self.mode == "w":
                self._failed = True
            raise

    def flush(self):
        """Execute every queued put or get (and attribute).  Collective; the
        same exception on every rank.  Data of gets is in place afterwards."""
        h = self._handle()
        if self._failed and self.mode == "w":
            self._pending = None
            raise _errors.make("H5CKPT_EMODE", "this writer has failed")
        rc = L.h5ckpt_flush(h)
        after, self._after, self._keep = self._after, [], []
        self._agree_pending()
        if rc != 0 and self.mode == "w":
            self._failed = True
        self._check(rc)
        for f in after:
            f()

    @property
    def bytes_written(self):
        return L.h5ckpt_bytes_written(self._handle())

    @property
    def bytes_read(self):
        return L.h5ckpt_bytes_read(self._handle())

    # ---- queueing ---------------------------------------------------------
    def _layout_for(self, layout, shape):
        if layout is None:
            return _layout.whole(shape)
        if not isinstance(layout, _layout.Layout):
            raise TypeError("layout must be an h5ckpt layout, not %s"
                            % type(layout).__name__)
        return layout

    def _check_local(self, path, layout, buf_shape):
        want = layout.local_shape
        if layout.stridable:
            ok = tuple(buf_shape) == tuple(want)
        else:  # 1-D local buffer: any contiguous buffer of that many elements
            n = 1
            for s in buf_shape:
                n *= s
            ok = n == layout.local_count
        if not ok:
            raise _errors.make("H5CKPT_EINVAL", "tensor '%s': the local buffer "
                               "has shape %s, the layout wants %s"
                               % (path, tuple(buf_shape), tuple(want)))


class Writer(Checkpoint):
    """A checkpoint being written; it appears at its path when committed."""

    def __init__(self, handle, path, comm):
        super().__init__(handle, path, comm, "w")
        self.committed = False
        self.committing = False  # commit_start returned, wait not yet

    def __exit__(self, et, ev, tb):
        try:
            if et is None and self.committing and self._h:
                self.commit_wait()
            elif et is None and not self.committed and self._h:
                self.commit()
        finally:
            self.close()
        return False

    def put(self, path, data, layout=None, dtype=None):
        """Queue the calling rank's part `data` (numpy array, torch tensor, or
        anything numpy.asarray takes) of tensor `path`.  `layout` says which
        part it is (default: the whole tensor, every rank holding it: written
        once, by one owner).  `dtype` (an h5ckpt dtype name) overrides the
        buffer's own, for raw bits of types numpy lacks (a uint16 array as
        "bfloat16").  The buffer must stay unchanged until the flush or
        commit.  Errors are raised by the next flush or commit, on every
        rank."""
        try:
            h = self._handle()
            if layout is None:
                buf = _buffers.for_put(data, True, dtype)
                lay = _layout.whole(buf.shape)
            else:
                lay = self._layout_for(layout, None)
                buf = _buffers.for_put(data, lay.stridable, dtype)
            self._check_local(path, lay, buf.shape)
            size = _lib.DTYPE_SIZE[_lib.DTYPE_INDEX[buf.dtype]]
            if buf.itemsize != size:
                raise _errors.make("H5CKPT_EINVAL", "tensor '%s': dtype %s has "
                                   "%d-byte elements, the buffer %d"
                                   % (path, buf.dtype, size, buf.itemsize))
        except (_errors.Error, TypeError, ValueError) as e:
            self._remember(_named(path, e))
            return
        self._keep.append((buf, lay))
        L.h5ckpt_tensor_put(h, _lib.text(path), _lib.DTYPE_INDEX[buf.dtype],
                            lay._h, buf.ptr, buf.struct())

    def put_attr(self, obj, name, value):
        """Queue a typed attribute on group or tensor `obj` ("" = root):
        bool, int (int64), float (float64), str, or a non-empty list/tuple/1-D
        array of one of those.  Written at the next flush or commit."""
        try:
            kind, count, arr = attr_values(value)
        except (TypeError, ValueError) as e:
            self._remember(_errors.make("H5CKPT_EINVAL", "attribute '%s' on '%s': "
                                        "%s" % (name, obj, e)))
            return
        L.h5ckpt_attr_put(self._handle(), _lib.text(obj), _lib.text(name), kind,
                          count, arr)

    def commit(self):
        """Write everything queued, mark the file committed and rename it into
        place (atomically).  Collective."""
        h = self._handle()
        self._agree_pending()
        if self._failed:
            raise _errors.make("H5CKPT_EMODE", "this writer has failed: close it")
        rc = L.h5ckpt_commit(h)
        self._keep, self._after = [], []
        self._check(rc)
        self.committed = True

    # Asynchronous commits (lib/h5ckpt.h, section "Asynchronous commits").
    def _start(self, h):
        return L.h5ckpt_commit_start(h), None

    def _wait(self, h):
        return L.h5ckpt_commit_wait(h), None

    def commit_start(self):
        """Start the commit: everything queued is copied into snapshot
        memory, then written by a background thread of the library while
        Python goes on (the GIL is free).  When it returns, the buffers of
        every put may be changed or freed.  Then only commit_test(),
        commit_wait() and close() (which aborts) are allowed.  Collective;
        needs MPI_THREAD_FUNNELED or more (mpi4py's default is MULTIPLE),
        else NotSupported and nothing is done."""
        h = self._handle()
        self._agree_pending()
        if self._failed:
            raise _errors.make("H5CKPT_EMODE", "this writer has failed: close it")
        rc, msg = self._start(h)
        self._keep, self._after = [], []
        if rc != 0:
            self._failed = True
            raise _lib.error(rc, msg or L.h5ckpt_errmsg(h).decode())
        self.committing = True

    def commit_test(self):
        """True once the background write is finished (commit_wait then
        does not wait for it).  Local, never blocks."""
        if self.committed:
            return True
        done = ctypes.c_int()
        self._check(L.h5ckpt_commit_test(self._handle(), ctypes.byref(done)))
        return bool(done.value)

    def commit_wait(self):
        """Finish a started commit: wait for the background write, then
        publish the file as commit() does.  Collective; the same exception
        on every rank (a failed background write: IOError naming the rank
        and the file)."""
        h = self._handle()
        if not self.committing:
            raise _errors.make("H5CKPT_EMODE", "no commit in flight on %r"
                               % self.path)
        rc, msg = self._wait(h)
        self.committing = False
        if rc != 0:
            self._failed = True
            raise _lib.error(rc, msg or L.h5ckpt_errmsg(h).decode())
        self.committed = True


def _named(path, e):
    """An h5ckpt error naming tensor `path`, from any exception of a put/get."""
    if isinstance(e, _errors.Error):
        if e.message.startswith("tensor '"):
            return e
        return _errors.make(e.errname, "tensor '%s': %s" % (path, e.message), e.code)
    return _errors.make("H5CKPT_EINVAL", "tensor '%s': %s" % (path, e))


def attr_values(value):
    """(C attribute type, count, values array) for a Python value."""
    kind = _values.scalar_kind(value)
    if kind is not None:
        seq, count = [value], 0
    else:
        if isinstance(value, np.ndarray):
            if value.ndim != 1:
                raise ValueError("attribute arrays are 1-D")
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise TypeError("cannot store a %s as an attribute"
                            % type(value).__name__)
        if not value:
            raise ValueError("attribute arrays cannot be empty")
        kind = _values.array_kind(value)
        if kind is None:
            raise TypeError("attribute arrays hold one type of bool, int, float "
                            "or str")
        seq, count = list(value), len(value)
    if kind == "bool":
        return _lib.ATTR_BOOL, count, (ctypes.c_int * len(seq))(*[1 if v else 0 for v in seq])
    if kind == "int":
        for v in seq:
            if not -2 ** 63 <= int(v) < 2 ** 63:
                raise ValueError("%d does not fit int64" % int(v))
        return _lib.ATTR_INT64, count, (ctypes.c_int64 * len(seq))(*[int(v) for v in seq])
    if kind == "float":
        return _lib.ATTR_FLOAT64, count, (ctypes.c_double * len(seq))(*[float(v) for v in seq])
    return _lib.ATTR_STRING, count, (ctypes.c_char_p * len(seq))(
        *[v.encode("utf-8") for v in seq])


class Reader(Checkpoint):
    """A committed checkpoint opened for reading.  Listing and attributes are
    local (every rank holds the same index); reads are collective."""

    def __init__(self, handle, path, comm):
        super().__init__(handle, path, comm, "r")
        self._tensors = None
        self._groups = None
        self._info = {}
        self._tree = None

    # ---- listing --------------------------------------------------------
    def tensors(self):
        """Paths of every tensor, sorted."""
        if self._tensors is None:
            h = self._handle()
            n = L.h5ckpt_tensor_count(h)
            f = L.h5ckpt_tensor_at
            self._tensors = [f(h, i).decode() for i in range(n)]
        return list(self._tensors)

    def groups(self):
        """Paths of every group (the root excluded), sorted."""
        if self._groups is None:
            h = self._handle()
            n = L.h5ckpt_group_count(h)
            f = L.h5ckpt_group_at
            self._groups = [f(h, i).decode() for i in range(n)]
        return list(self._groups)

    def keys(self):
        return self.tensors()

    def __iter__(self):
        return iter(self.tensors())

    def __len__(self):
        return L.h5ckpt_tensor_count(self._handle())

    def __contains__(self, path):
        return self.info(path, missing_ok=True) is not None

    def info(self, path, missing_ok=False):
        """TensorInfo of tensor `path` (None if absent and missing_ok)."""
        got = self._info.get(path)
        if got is not None:
            return got
        dt = ctypes.c_int()
        nd = ctypes.c_int()
        shape = (ctypes.c_uint64 * _lib.MAX_NDIM)()
        rc = L.h5ckpt_tensor_info(self._handle(), _lib.text(path), ctypes.byref(dt),
                                  ctypes.byref(nd), shape)
        if rc != 0:
            if missing_ok and rc == _errors.CODES["H5CKPT_ENOTFOUND"]:
                return None
            raise _lib.error(rc, "no tensor '%s' in %s" % (path, self.path))
        got = TensorInfo(path, _lib.DTYPES[dt.value], tuple(shape[:nd.value]), self)
        self._info[path] = got
        return got

    def has_group(self, path):
        return bool(L.h5ckpt_group_exists(self._handle(), _lib.text(path)))

    def __getitem__(self, path):
        from ._reader import TensorView
        return TensorView(self, self.info(path))

    # ---- attributes -----------------------------------------------------
    def attr_names(self, obj=""):
        h, o = self._handle(), _lib.text(obj)
        return [L.h5ckpt_attr_at(h, o, i).decode()
                for i in range(L.h5ckpt_attr_count(h, o))]

    def attr(self, obj, name):
        """The value of attribute `name` of `obj` ("" = root) as a Python
        value: bool, int, float, str, or a list of one of those."""
        h, o, n = self._handle(), _lib.text(obj), _lib.text(name)
        kind, count = ctypes.c_int(), ctypes.c_size_t()
        rc = L.h5ckpt_attr_info(h, o, n, ctypes.byref(kind), ctypes.byref(count))
        if rc != 0:
            raise _lib.error(rc, "no attribute '%s' on '%s'" % (name, obj))
        cap = max(count.value, 1)
        k = kind.value
        ctype = {_lib.ATTR_INT64: ctypes.c_int64, _lib.ATTR_FLOAT64: ctypes.c_double,
                 _lib.ATTR_BOOL: ctypes.c_int, _lib.ATTR_STRING: ctypes.c_char_p}[k]
        arr = (ctype * cap)()
        self._check(L.h5ckpt_attr_get(h, o, n, k, cap, arr))
        conv = {_lib.ATTR_INT64: int, _lib.ATTR_FLOAT64: float, _lib.ATTR_BOOL: bool,
                _lib.ATTR_STRING: lambda b: b.decode("utf-8")}[k]
        vals = [conv(v) for v in arr]
        return vals if count.value else vals[0]

    def attrs(self, obj=""):
        """Every user attribute of `obj` as {name: value}."""
        return {n: self.attr(obj, n) for n in self.attr_names(obj)}

    # ---- file information -----------------------------------------------
    def format_versions(self):
        w, r = ctypes.c_int64(), ctypes.c_int64()
        self._check(L.h5ckpt_format_versions(self._handle(), ctypes.byref(w),
                                             ctypes.byref(r)))
        return w.value, r.value

    def writer_mesh(self):
        nd = ctypes.c_int()
        shape = (ctypes.c_int64 * _lib.MAX_NDIM)()
        self._check(L.h5ckpt_writer_mesh(self._handle(), ctypes.byref(nd), shape))
        return tuple(shape[:nd.value])

    def root_info(self):
        """Reserved root information: created, library_version,
        writer_nranks, writer_mesh_dim_names (when present), format
        versions and writer mesh."""
        out = {}
        buf = ctypes.create_string_buffer(4096)
        for key in ("created", "library_version", "writer_nranks",
                    "writer_mesh_dim_names"):
            rc = L.h5ckpt_root_info(self._handle(), key.encode(), buf, len(buf))
            if rc == 0:
                v = buf.value.decode()
                out[key] = int(v) if key == "writer_nranks" else v
        out["format_versions"] = self.format_versions()
        out["writer_mesh"] = self.writer_mesh()
        return out

    # ---- reads ----------------------------------------------------------
    def get(self, path, out=None, layout=None):
        """Queue a read of the calling rank's part (`layout`, default the
        whole tensor) of tensor `path` into `out` (a numpy array or torch
        tensor of the stored dtype and the layout's local shape; allocated
        as numpy when None: bfloat16 and FP8 then arrive as float32).
        Returns `out`; the data is there after the next flush().  Errors
        are raised by that flush, on every rank."""
        try:
            h = self._handle()
            info = self.info(path)
            lay = self._layout_for(layout, info.shape)
            result, decode = out, None
            if out is None:
                np_dt = _buffers.NUMPY[info.dtype]
                raw_dt = np_dt if np_dt is not None else _buffers.RAW[info.dtype]
                shape = lay.local_shape
                target = np.empty(shape, raw_dt)
                if np_dt is None:
                    result = np.empty(shape, np.float32)

                    def decode(t=target, r=result, n=info.dtype):
                        r[...] = _buffers.decode_float32(t, n)
                else:
                    result = target
                buf = _buffers.for_get(target, True, info.dtype)
            else:
                dt = None
                if isinstance(out, np.ndarray) and info.dtype in _buffers.RAW \
                        and out.dtype == _buffers.RAW[info.dtype]:
                    dt = info.dtype  # raw bits of bfloat16 / FP8
                buf = _buffers.for_get(out, lay.stridable, dt)
            self._check_local(path, lay, buf.shape)
        except (_errors.Error, TypeError, ValueError) as e:
            self._remember(_named(path, e))
            return out
        self._keep.append((buf, lay))
        self._after.extend(f for f in (buf.after, decode) if f is not None)
        L.h5ckpt_tensor_get(h, _lib.text(path), _lib.DTYPE_INDEX[buf.dtype],
                            lay._h, buf.ptr, buf.struct())
        return result

    def read(self, path, layout=None, out=None):
        """get() then flush(): the calling rank's part, at once.  Collective."""
        result = self.get(path, out, layout)
        self.flush()
        return result

    # ---- trees ------------------------------------------------------------
    def tree(self, group=""):
        """The checkpoint (or `group`) as nested dicts: groups are dicts,
        tensors are lazy TensorViews, attributes are Python values (with the
        Python-values conventions of h5ckpt.torch decoded: None, tuples,
        lists stored as groups, integer keys)."""
        from ._reader import tree
        return tree(self, group)

    def state(self):
        """The training-state profile as nested dicts (see h5ckpt._reader.state)."""
        from ._reader import state
        return state(self)


def create(path, comm=None, mesh=None, **kw):
    """Start a checkpoint that appears at `path` when committed.  Collective
    over `comm` (an mpi4py communicator; default MPI.COMM_WORLD).  Keyword
    options: fsync, executor ('plain'/'fast'), file_locking, alignment,
    staging_bytes, direct (False: no O_DIRECT writes).  Use as a context manager: a normal exit commits, an
    exception aborts."""
    comm = _mpi.resolve(comm, "world")
    opts = options(mesh=mesh, **kw)
    h = ctypes.c_void_p()
    err = _lib.ErrorStruct()
    rc = L.h5ckpt_create_f(ctypes.byref(h), _lib.path_bytes(path), _mpi.fint(comm),
                           ctypes.byref(opts) if opts is not None else None,
                           ctypes.byref(err))
    _lib.check(rc, err.message.decode())
    return Writer(h, os.fspath(path), comm)


def open(path, comm=None, **kw):  # noqa: A001 (mirrors h5ckpt_open)
    """Open a committed checkpoint for reading.  Collective over `comm`
    (default MPI.COMM_WORLD: a plain python process is one rank; pass
    MPI.COMM_SELF for a reader of this process alone under mpirun).
    Keyword options: executor, verify_checksums, file_locking, exchange."""
    comm = _mpi.resolve(comm, "world")
    opts = options(**kw)
    h = ctypes.c_void_p()
    err = _lib.ErrorStruct()
    rc = L.h5ckpt_open_f(ctypes.byref(h), _lib.path_bytes(path), _mpi.fint(comm),
                         ctypes.byref(opts) if opts is not None else None,
                         ctypes.byref(err))
    _lib.check(rc, err.message.decode())
    return Reader(h, os.fspath(path), comm)
