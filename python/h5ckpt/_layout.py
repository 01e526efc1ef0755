"""Device meshes and layouts: which part of a tensor the calling rank holds."""
import ctypes

from . import _errors, _lib, _live, _mpi

L = _lib.lib


class Shard:
    """Placement: the tensor dimension `dim` is split over a mesh dimension
    (torch.chunk sizes, as DTensor's Shard)."""
    __slots__ = ("dim",)

    def __init__(self, dim):
        if int(dim) < 0:
            raise ValueError("Shard(dim) needs dim >= 0")
        self.dim = int(dim)

    def __repr__(self):
        return "Shard(%d)" % self.dim

    def __eq__(self, other):
        return isinstance(other, Shard) and other.dim == self.dim

    def __hash__(self):
        return hash(("Shard", self.dim))


class Replicate:
    """Placement: every rank along a mesh dimension holds the same part."""
    __slots__ = ()

    def __repr__(self):
        return "Replicate()"

    def __eq__(self, other):
        return isinstance(other, Replicate)

    def __hash__(self):
        return hash("Replicate")


def placement_code(p, where="placement"):
    """The C code of a placement: Shard(d) -> d, Replicate() -> -1.  Accepts
    this module's classes, ints, and torch DTensor placements."""
    if isinstance(p, Shard):
        return p.dim
    if isinstance(p, Replicate):
        return _lib.REPLICATE
    if isinstance(p, int) and not isinstance(p, bool):
        if p < -1:
            raise ValueError("%s: %d is neither a dimension nor -1" % (where, p))
        return p
    name = type(p).__name__
    if name == "Replicate":
        return _lib.REPLICATE
    if name == "Shard" and hasattr(p, "dim"):
        return int(p.dim)
    raise _errors.make("H5CKPT_ENOTSUP", "%s: %r is not Shard or Replicate"
                       % (where, p))


class Mesh:
    """An N-d device mesh over an mpi4py communicator (rank r has the
    row-major coordinates of r in `shape`, as torch's DeviceMesh).

    Collective over `comm` (default MPI.COMM_WORLD; shape default: 1-D over
    all ranks).  The communicator is duplicated by the library."""

    def __init__(self, comm=None, shape=None, dim_names=None):
        self.comm = _mpi.resolve(comm, "world")
        if shape is None:
            shape = (self.comm.Get_size(),)
        self.shape = tuple(int(s) for s in shape)
        self.dim_names = tuple(dim_names) if dim_names is not None else None
        names = None
        if dim_names is not None:
            names = (ctypes.c_char_p * max(len(dim_names), 1))(
                *[_lib.text(n) for n in dim_names])
        err = _lib.ErrorStruct()
        h = ctypes.c_void_p()
        rc = L.h5ckpt_mesh_create_f(ctypes.byref(h), _mpi.fint(self.comm),
                                    len(self.shape), _lib.int_array(self.shape),
                                    names, ctypes.byref(err))
        _lib.check(rc, err.message.decode())
        self._h = h
        _live.add(self)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def coords(self):
        """The calling rank's coordinates."""
        return tuple(L.h5ckpt_mesh_coord(self._h, d) for d in range(self.ndim))

    def _free(self):
        if self._h:
            L.h5ckpt_mesh_free(self._h)
            self._h = None

    def __del__(self):
        if _live.alive() and getattr(self, "_h", None):
            self._free()

    def __repr__(self):
        if self.dim_names:
            inner = ", ".join("%s=%d" % x for x in zip(self.dim_names, self.shape))
        else:
            inner = ", ".join(str(s) for s in self.shape)
        return "Mesh(%s)" % inner


class Layout:
    """Which part of a tensor of global `shape` the calling rank holds.  Made
    by sharded(), box(), whole(), none(), flat_range() or boxes(); local."""

    def __init__(self, handle, kind, shape, mesh=None):
        self._h = handle
        self.kind = kind
        self.shape = tuple(int(s) for s in shape)
        self._mesh = mesh  # the C layout refers to it: keep it alive
        nd = ctypes.c_int()
        ls = (ctypes.c_uint64 * _lib.MAX_NDIM)()
        L.h5ckpt_layout_local_shape(handle, ctypes.byref(nd), ls)
        self.local_shape = tuple(ls[i] for i in range(nd.value))
        self.local_count = L.h5ckpt_layout_local_count(handle)
        _live.add(self)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def stridable(self):
        """Whether the local buffer may be strided (not for range and
        multi-box layouts)."""
        return self.kind in ("sharded", "box")

    def boxes(self):
        """[(offset, count), ...] in the global index space."""
        n = L.h5ckpt_layout_box_count(self._h)
        out = []
        for i in range(n):
            o = (ctypes.c_uint64 * max(self.ndim, 1))()
            c = (ctypes.c_uint64 * max(self.ndim, 1))()
            L.h5ckpt_layout_box_at(self._h, i, o, c)
            out.append((tuple(o[:self.ndim]), tuple(c[:self.ndim])))
        return out

    def _free(self):
        if self._h:
            L.h5ckpt_layout_free(self._h)
            self._h = None

    def __del__(self):
        if _live.alive() and getattr(self, "_h", None):
            self._free()

    def __repr__(self):
        return "Layout(%s, shape=%s, local_shape=%s)" % (
            self.kind, self.shape, self.local_shape)


def _made(rc, h, err):
    if rc != 0:
        raise _lib.error(rc, err.message.decode() or None)
    return h


def sharded(mesh, shape, placements):
    """The calling rank's part of a tensor of `shape` placed on `mesh` with
    one placement per mesh dimension (Shard(d) or Replicate())."""
    if len(placements) != mesh.ndim:
        raise _errors.make("H5CKPT_EINVAL", "%d placements for a %d-d mesh"
                           % (len(placements), mesh.ndim))
    codes = [placement_code(p) for p in placements]
    h, err = ctypes.c_void_p(), _lib.ErrorStruct()
    _made(L.h5ckpt_layout_sharded(ctypes.byref(h), mesh._h, len(shape),
                                  _lib.u64_array(shape), _lib.int_array(codes),
                                  ctypes.byref(err)), h, err)
    return Layout(h, "sharded", shape, mesh)


def box(shape, offset, count):
    """An explicit box (offset and count per dimension)."""
    h, err = ctypes.c_void_p(), _lib.ErrorStruct()
    _made(L.h5ckpt_layout_box(ctypes.byref(h), len(shape), _lib.u64_array(shape),
                              _lib.u64_array(offset), _lib.u64_array(count),
                              ctypes.byref(err)), h, err)
    return Layout(h, "box", shape)


def whole(shape):
    """The whole tensor."""
    h, err = ctypes.c_void_p(), _lib.ErrorStruct()
    _made(L.h5ckpt_layout_whole(ctypes.byref(h), len(shape), _lib.u64_array(shape),
                                ctypes.byref(err)), h, err)
    return Layout(h, "box", shape)


def none(shape):
    """Nothing of the tensor (a rank that takes part but holds nothing)."""
    h, err = ctypes.c_void_p(), _lib.ErrorStruct()
    _made(L.h5ckpt_layout_none(ctypes.byref(h), len(shape), _lib.u64_array(shape),
                               ctypes.byref(err)), h, err)
    return Layout(h, "box", shape)


def flat_range(shape, start, end):
    """Elements [start, end) of the row-major flattening (FSDP1 flat
    parameters, ZeRO partitions); the local buffer is 1-D."""
    h, err = ctypes.c_void_p(), _lib.ErrorStruct()
    _made(L.h5ckpt_layout_range(ctypes.byref(h), len(shape), _lib.u64_array(shape),
                                int(start), int(end), ctypes.byref(err)), h, err)
    return Layout(h, "range", shape)


def boxes(shape, parts):
    """Several boxes [(offset, count), ...]: the local buffer is 1-D, the
    boxes' elements one after the other, each in row-major order."""
    parts = list(parts)
    nd = len(shape)
    offs = [int(v) for o, _ in parts for v in o]
    cnts = [int(v) for _, c in parts for v in c]
    if any(len(o) != nd or len(c) != nd for o, c in parts):
        raise _errors.make("H5CKPT_EINVAL", "every box needs %d offsets and counts"
                           % nd)
    h, err = ctypes.c_void_p(), _lib.ErrorStruct()
    _made(L.h5ckpt_layout_boxes(ctypes.byref(h), nd, _lib.u64_array(shape),
                                len(parts), _lib.u64_array(offs),
                                _lib.u64_array(cnts), ctypes.byref(err)), h, err)
    return Layout(h, "boxes", shape)
