"""save() and load() of torch state: nested dicts become groups, tensors
datasets, other leaves typed attributes (h5ckpt._values), nothing pickled.

What is sharded how:
- a plain tensor is replicated: every rank passes the same values, one
  owner writes them (owners spread over the ranks);
- a DTensor with Shard/Replicate placements is a mesh layout on its
  DeviceMesh (the communicator must hold the same ranks, in order);
- Sharded(...) is a part the caller cut by hand: a box, a flat element
  range (FSDP1 flat parameters, ZeRO partitions) or several boxes.
Modules, optimizers and other objects with state_dict()/load_state_dict()
are saved through their state dicts; an optimizer's per-parameter state is
keyed by parameter *name* (found in the modules saved beside it), so it
loads into a model whose parameters are in another order.
"""
import io
import numbers
import sys

import numpy as np
import torch

from .. import _buffers, _errors, _handle, _layout, _mpi, _values
from .._values import TAG, join, split

__all__ = ["Sharded", "LoadReport", "save", "load", "read", "unwrap"]


class Sharded:
    """The calling rank's hand-cut part of a global tensor.

    - ``Sharded(tensor, offsets, global_shape)``: `tensor` is the box at
      `offsets` (its shape is the box's count);
    - ``Sharded.flat(tensor, start, global_shape)``: `tensor` holds elements
      [start, start + numel) of the row-major flattening (FSDP1 flat
      parameters, ZeRO partitions);
    - ``Sharded.parts([(tensor, offsets), ...], global_shape, dtype=None)``:
      several boxes held by this rank (written through one multi-box
      layout; a rank holding none gives the dtype);
    - ``Sharded.on_mesh(tensor, mesh, placements, global_shape)``: `tensor`
      is this rank's part of a mesh layout (an h5ckpt.Mesh, Shard/Replicate
      placements): DTensor's layouts for code without DTensor (torch < 2).
    Every rank passes the same global shape and dtype; boxes of different
    ranks must not overlap (identical boxes are replicas, written once) and
    must cover the tensor.
    """

    def __init__(self, tensor, offsets=None, global_shape=None, _kind="box",
                 _parts=None, _start=None, _dtype=None):
        self.kind = _kind
        self.global_shape = tuple(int(s) for s in global_shape)
        if _kind == "parts":
            self.parts = [(t, tuple(int(o) for o in off)) for t, off in _parts]
            self.tensor = None
            self._dtype = _dtype if _dtype is not None else (
                self.parts[0][0].dtype if self.parts else None)
            if self._dtype is None:
                raise ValueError("Sharded.parts: a rank without parts must give "
                                 "dtype= (every rank writes the same dtype)")
        else:
            self.tensor = tensor
            self.offsets = tuple(int(o) for o in offsets) if offsets is not None else None
            self.start = _start
        if _kind == "box" and len(self.offsets) != len(self.global_shape):
            raise ValueError("Sharded: %d offsets for a %d-d tensor"
                             % (len(self.offsets), len(self.global_shape)))

    @classmethod
    def flat(cls, tensor, start, global_shape):
        return cls(tensor, None, global_shape, "flat", None, int(start))

    @classmethod
    def parts(cls, parts, global_shape, dtype=None):
        return cls(None, None, global_shape, "parts", list(parts), _dtype=dtype)

    @classmethod
    def on_mesh(cls, tensor, mesh, placements, global_shape):
        s = cls(tensor, None, global_shape, "mesh")
        s.mesh, s.placements = mesh, list(placements)
        return s

    @property
    def dtype(self):
        return self.tensor.dtype if self.tensor is not None else self._dtype

    def layout(self):
        if self.kind == "box":
            return _layout.box(self.global_shape, self.offsets, tuple(self.tensor.shape))
        if self.kind == "mesh":
            return _layout.sharded(self.mesh, self.global_shape, self.placements)
        if self.kind == "flat":
            return _layout.flat_range(self.global_shape, self.start,
                                      self.start + self.tensor.numel())
        return _layout.boxes(self.global_shape,
                             [(off, tuple(t.shape)) for t, off in self.parts])

    def __repr__(self):
        return "Sharded(%s of %s)" % (self.kind, list(self.global_shape))


class LoadReport:
    """What a load expected and found: `missing` (in the state, not in the
    file) and `unexpected` (in the file, not in the state) keys.  Tensors
    are named by path, attributes ``<group>@<name>`` (``@epoch`` at the
    root), as in the C state layer."""

    def __init__(self, missing, unexpected):
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)

    def __repr__(self):
        return "LoadReport(missing=%r, unexpected=%r)" % (self.missing, self.unexpected)

    def __iter__(self):  # missing, unexpected = h5ckpt.torch.load(...)
        return iter((self.missing, self.unexpected))


# ---- objects --------------------------------------------------------------

def unwrap(module):
    """The module inside DistributedDataParallel / DataParallel / FSDP1 /
    torch.compile wrappers."""
    while True:
        if hasattr(module, "_orig_mod") and isinstance(module._orig_mod, torch.nn.Module):
            module = module._orig_mod
        elif type(module).__name__ in ("DistributedDataParallel", "DataParallel") \
                and hasattr(module, "module"):
            module = module.module
        else:
            return module


def _is_dtensor(t):
    return type(t).__name__ == "DTensor" and hasattr(t, "to_local")


def _is_stateful(v):
    return (not isinstance(v, (dict, torch.Tensor)) and callable(getattr(v, "state_dict", None))
            and callable(getattr(v, "load_state_dict", None)))


class _Ctx:
    def __init__(self, comm):
        self.comm = comm
        self.meshes = {}   # id(DeviceMesh) -> (DeviceMesh, h5ckpt.Mesh)
        self.names = {}    # id(parameter) -> name (path relative to model/)
        self.modules = []  # (path, module)


def _param_names(root, ctx):
    """Name every parameter of the modules in `root` (a dict tree): its
    tensor's path, relative to "model/" when under it."""
    def walk(v, path):
        if isinstance(v, torch.nn.Module):
            m = unwrap(v)
            ctx.modules.append((path, m))
            base = path[len("model/"):] if path.startswith("model/") else path
            for n, p in m.named_parameters():
                ctx.names.setdefault(id(p), join(base, n))
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, join(path, str(k)))
    walk(root, "")


def _optimizer_ids(opt, ctx, path):
    """Optimizer state-dict ids -> parameter names."""
    out, i = {}, 0
    for g in opt.param_groups:
        for p in g["params"]:
            name = ctx.names.get(id(p))
            if name is None:
                raise _errors.make("H5CKPT_EINVAL", "%s: parameter %d of the "
                                   "optimizer is in none of the modules saved "
                                   "with it (name them: pass the models too)"
                                   % (path, i))
            out[i] = name
            i += 1
    return out


def named_optimizer_state(opt, ctx, path):
    """The optimizer's state dict keyed by parameter names."""
    ids = _optimizer_ids(opt, ctx, path)
    sd = opt.state_dict()
    state = {ids[k]: v for k, v in sd["state"].items()}
    groups = []
    for g in sd["param_groups"]:
        g = dict(g)
        g["params"] = [ids[i] for i in g["params"]]
        groups.append(g)
    return {"state": state, "param_groups": groups}


# ---- save -------------------------------------------------------------------

def _encode(v, p, ctx, ops):
    """Append the operations that store value `v` at path `p`."""
    if isinstance(v, torch.Tensor):
        ops.append(("tensor", p, v))
        return
    if isinstance(v, Sharded):
        ops.append(("tensor", p, v))
        return
    if isinstance(v, np.ndarray):
        ops.append(("tensor", p, v))
        ops.append(("attr",) + _tag_at(p, _values.NUMPY))
        return
    if isinstance(v, torch.optim.Optimizer):
        _encode(named_optimizer_state(v, ctx, p), p, ctx, ops)
        return
    if isinstance(v, torch.nn.Module):
        _encode(unwrap(v).state_dict(), p, ctx, ops)
        return
    if _is_stateful(v):
        _encode(v.state_dict(), p, ctx, ops)
        return
    if isinstance(v, dict):
        kind = _values.dict_keys_kind(v, p)
        if not v:
            ops.append(("attr",) + _tag_at(p, _values.DICT))
            return
        if kind == "int" and p:
            ops.append(("attr",) + _tag_at(p, _values.INTDICT))
        elif kind == "int":
            raise TypeError("the root dict cannot have int keys")
        for k, x in v.items():
            _encode(x, join(p, str(k)), ctx, ops)
        return
    if not p:
        raise TypeError("save() takes a dict (or a module, optimizer, ...), "
                        "not %s" % type(v).__name__)
    if v is None:
        ops.append(("attr",) + _tag_at(p, _values.NONE))
        return
    kind = _values.scalar_kind(v)
    if kind is not None:
        obj, name = split(p)
        ops.append(("attr", obj, name, _values.plain(v, kind)))
        return
    if isinstance(v, (list, tuple)):
        tag = _values.TUPLE if isinstance(v, tuple) else _values.LIST
        if not v:
            ops.append(("attr",) + _tag_at(p, tag))
            return
        kind = _values.array_kind(v)
        if kind is not None:
            obj, name = split(p)
            ops.append(("attr", obj, name, [_values.plain(x, kind) for x in v]))
            if tag == _values.TUPLE:
                ops.append(("attr",) + _tag_at(p, tag))
            return
        ops.append(("attr",) + _tag_at(p, tag))
        for i, x in enumerate(v):
            _encode(x, join(p, str(i)), ctx, ops)
        return
    raise TypeError("%s: cannot store a %s without pickling (h5ckpt stores "
                    "tensors, dicts, lists, tuples, None, bool, int, float, str)"
                    % (p, type(v).__name__))


def _tag_at(p, tag):
    obj, name = split(p)
    return (obj, TAG + name, tag)


def _mesh_for(dm, ctx, path):
    """The h5ckpt Mesh of a DeviceMesh (made once per DeviceMesh)."""
    got = ctx.meshes.get(id(dm))
    if got is not None:
        return got[1]
    ranks = [int(r) for r in dm.mesh.flatten().tolist()]
    world = _mpi.MPI().COMM_WORLD
    mine = ctx.comm.Get_group().Translate_ranks(list(range(ctx.comm.Get_size())),
                                                world.Get_group())
    if ranks != list(mine):
        raise _errors.make("H5CKPT_EINVAL", "%s: the DTensor's DeviceMesh holds "
                           "ranks %s, the communicator ranks %s (same ranks, in "
                           "order, needed)" % (path, ranks, list(mine)))
    names = getattr(dm, "mesh_dim_names", None)
    mesh = _layout.Mesh(ctx.comm, tuple(dm.mesh.shape), names)
    ctx.meshes[id(dm)] = (dm, mesh)
    return mesh


def _tensor_layout(v, p, ctx):
    """(local tensor, layout) of a tensor-like leaf."""
    if isinstance(v, Sharded):
        if v.kind == "parts":
            flat = [t.detach().reshape(-1).to(v.dtype) for t, _ in v.parts]
            local = torch.cat(flat) if flat else torch.empty(0, dtype=v.dtype)
            return local, v.layout()
        return v.tensor, v.layout()
    if _is_dtensor(v):
        places = []
        for pl in v.placements:
            name = type(pl).__name__
            if name not in ("Shard", "Replicate"):
                raise _errors.make("H5CKPT_ENOTSUP", "tensor '%s': placement %r "
                                   "cannot be stored (only Shard and Replicate)"
                                   % (p, pl))
            places.append(pl)
        mesh = _mesh_for(v.device_mesh, ctx, p)
        return v.to_local(), _layout.sharded(mesh, tuple(v.shape), places)
    return v, None  # replicated: whole on every rank


def save(state_dict, path, comm=None, **options):
    """Save `state_dict` (a dict of tensors, nested dicts, modules,
    optimizers, schedulers, scalers and plain values) as one checkpoint file
    at `path`.  Collective over `comm` (mpi4py; default MPI.COMM_WORLD):
    every rank passes the same structure, with its own parts of sharded
    tensors.  Keyword options go to h5ckpt.create (fsync, executor...).
    Errors are raised on every rank alike; the previous file at `path`
    survives a failed save."""
    comm = _mpi.resolve(comm, "world")
    ops, ctx = prepare(state_dict, comm)
    with _handle.create(path, comm, **options) as ck:
        queue(ck, ops, ctx)


def prepare(state_dict, comm):
    """Collective: the operations that store `state_dict` (agreed: the same
    exception on every rank when one rank's state cannot be stored)."""
    ctx = _Ctx(comm)
    ops, exc = [], None
    try:
        _param_names(state_dict, ctx)
        _encode(state_dict, "", ctx, ops)
    except (_errors.Error, TypeError, ValueError) as e:
        exc = e if isinstance(e, _errors.Error) else _errors.make("H5CKPT_EINVAL", str(e))
    _mpi.agree(comm, exc)
    return ops, ctx


def queue(ck, ops, ctx):
    """Queue prepared operations on writer `ck`."""
    for op in ops:
        if op[0] == "attr":
            ck.put_attr(op[1], op[2], op[3])
            continue
        p, v = op[1], op[2]
        try:
            local, lay = _tensor_layout(v, p, ctx)
        except _errors.Error as e:
            ck._remember(e)
            continue
        ck.put(p, local, lay)


# ---- load -------------------------------------------------------------------

def _file_keys(ck, tops):
    """Tensor paths and attribute keys of the file under top-level names
    `tops` (tags excluded)."""
    keys = set()
    for t in ck.tensors():
        if t.split("/", 1)[0] in tops:
            keys.add(t)
    for g in [""] + ck.groups():
        top = g.split("/", 1)[0]
        for a in ck.attr_names(g):
            if a.startswith(TAG):
                continue
            if (a if not g else top) in tops:
                keys.add("%s@%s" % (g, a))
    return keys


def _under(key, prefixes):
    path = key.split("@", 1)[0] if "@" in key else key
    attr_path = None
    if "@" in key:
        g, a = key.split("@", 1)
        attr_path = join(g, a)
    for p in prefixes:
        if not p:
            return True
        if path == p or path.startswith(p + "/"):
            return True
        if attr_path is not None and (attr_path == p or attr_path.startswith(p + "/")):
            return True
    return False


class _Load:
    """One load: what to read where, and what to do afterwards."""

    def __init__(self, ck, device):
        self.ck = ck
        self.device = device
        self.tensors = []     # (path, target, layout or None, sharded)
        self.values = []      # (container, key, path)
        self.objects = []     # (callable(value) applied after reads, path)
        self.expect = set()   # keys the state has
        self.covered = []     # paths read as whole subtrees
        self.missing = []
        self.errors = []

    def has_value(self, p):
        ck = self.ck
        if p in ck:
            return True
        obj, name = split(p)
        if (not obj or ck.has_group(obj)) and (
                name in ck.attr_names(obj) or TAG + name in ck.attr_names(obj)):
            return True
        return bool(p) and ck.has_group(p)


def _walk_load(v, container, key, p, ld, ctx):
    ck = ld.ck
    if isinstance(v, torch.nn.Module):
        m = unwrap(v)
        sd = m.state_dict()
        _walk_load(sd, None, None, p, ld, ctx)
        return
    if isinstance(v, torch.optim.Optimizer):
        ld.objects.append((lambda value, o=v, pp=p: _load_optimizer(o, value, ctx, pp), p))
        ld.covered.append(p)
        if not ld.has_value(p):
            ld.missing.append(p)
        return
    if _is_stateful(v):
        ld.objects.append((lambda value, o=v: o.load_state_dict(value), p))
        ld.covered.append(p)
        if not ld.has_value(p):
            ld.missing.append(p)
        return
    if isinstance(v, dict):
        for k, x in list(v.items()):
            _walk_load(x, v, k, join(p, str(k)), ld, ctx)
        return
    if isinstance(v, (torch.Tensor, Sharded)) or isinstance(v, np.ndarray):
        ld.expect.add(p)
        info = ck.info(p, missing_ok=True)
        if info is None:
            ld.missing.append(p)
            return
        try:
            target, lay, gshape, dt = _load_target(v, p, ctx)
        except _errors.Error as e:
            ld.errors.append(e)
            return
        if tuple(gshape) != tuple(info.shape):
            ld.errors.append(_errors.make("H5CKPT_ESHAPE", "tensor '%s': the state "
                                          "has shape %s, the file %s"
                                          % (p, list(gshape), list(info.shape))))
            return
        if dt != info.dtype:
            ld.errors.append(_errors.make("H5CKPT_EDTYPE", "tensor '%s': the state "
                                          "has dtype %s, the file %s"
                                          % (p, dt, info.dtype)))
            return
        ld.tensors.append((p, target, lay, v))
        return
    # any other leaf: replaced by the file's value at p
    obj, name = split(p)
    ld.expect.add("%s@%s" % (obj, name))
    ld.covered.append(p)
    if not ld.has_value(p):
        ld.missing.append("%s@%s" % (obj, name))
        return
    if container is not None:
        ld.values.append((container, key, p))


def _load_target(v, p, ctx):
    """(buffer to read into, layout, global shape, dtype name)."""
    if isinstance(v, np.ndarray):
        return v, None, v.shape, _buffers.dtype_of(v)
    if isinstance(v, Sharded):
        dt = _buffers.dtype_of(torch.empty(0, dtype=v.dtype))
        if v.kind == "parts":
            n = sum(t.numel() for t, _ in v.parts)
            tmp = torch.empty(n, dtype=v.dtype)
            return tmp, v.layout(), v.global_shape, dt
        return v.tensor, v.layout(), v.global_shape, dt
    if _is_dtensor(v):
        local, lay = _tensor_layout(v, p, ctx)
        return local, lay, tuple(v.shape), _buffers.dtype_of(local)
    return v, None, tuple(v.shape), _buffers.dtype_of(v)


def read(ck, path="", device="cpu"):
    """The value stored at `path` of reader `ck` ("" = everything), decoded
    without a template: dicts, lists, tuples, None, scalars, and torch
    tensors (whole, on `device`).  Collective (tensors are read)."""
    tdt = _buffers.torch_dtypes()
    pending = []

    def leaf(tp):
        info = ck.info(tp)
        if info.dtype not in tdt:
            raise _errors.make("H5CKPT_ENOTSUP", "torch %s has no %s (tensor '%s')"
                               % (torch.__version__, info.dtype, tp))
        t = torch.empty(info.shape, dtype=tdt[info.dtype])
        ck.get(tp, t)
        pending.append(t)
        return t

    v = _tree(ck, "", _tagged_leaf(ck, leaf)) if not path else _value_at(ck, path, leaf)
    ck.flush()
    v = _finish(v)
    if device is not None and str(device) != "cpu":
        v = _to_device(v, device)
    return v


def _tree(ck, group, leaf):
    from .._reader import tree
    return tree(ck, group, leaf)


def _to_device(v, device):
    if isinstance(v, torch.Tensor):
        return v.to(device)
    if isinstance(v, dict):
        return {k: _to_device(x, device) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_device(x, device) for x in v]
    if isinstance(v, tuple):
        return tuple(_to_device(x, device) for x in v)
    return v


class _AsNumpy:
    """A tensor stored from a numpy array: becomes one after the flush."""
    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t


def _finish(v):
    """Replace _AsNumpy markers (after the flush filled their tensors)."""
    if isinstance(v, _AsNumpy):
        return v.t.numpy()
    if isinstance(v, dict):
        return {k: _finish(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finish(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_finish(x) for x in v)
    return v


def _tagged_leaf(ck, leaf):
    """A leaf function that marks tensors tagged numpy."""
    def f(tp):
        t = leaf(tp)
        obj, name = split(tp)
        if TAG + name in ck.attr_names(obj) and ck.attr(obj, TAG + name) == _values.NUMPY:
            return _AsNumpy(t)
        return t
    return f


def _value_at(ck, p, leaf):
    """Decode the value stored at path `p` (attribute, tag, tensor, group);
    call _finish() on the result after the flush."""
    leaf = _tagged_leaf(ck, leaf)
    if p in ck:
        return leaf(p)
    obj, name = split(p)
    if p and ck.has_group(p) and name not in ck.attr_names(obj):
        d = _tree(ck, p, leaf)
        tag = None
        if TAG + name in ck.attr_names(obj):
            tag = ck.attr(obj, TAG + name)
        if tag in (_values.LIST, _values.TUPLE):
            return _values.as_sequence(d, tag)
        if tag == _values.INTDICT:
            return _values.as_intdict(d)
        return d
    attrs = {a: ck.attr(obj, a) for a in ck.attr_names(obj)
             if a == name or a == TAG + name}
    return _values.decode_group(attrs, {}, None).get(name)


def _load_optimizer(opt, value, ctx, p):
    """Load a named optimizer state (as saved) into `opt`, whatever the order
    of its parameters."""
    if not isinstance(value, dict) or "param_groups" not in value:
        raise _errors.make("H5CKPT_ECORRUPT", "%s: not an optimizer state" % p)
    ids = _optimizer_ids(opt, ctx, p)
    by_name = {n: i for i, n in ids.items()}
    from .._reader import _param_groups
    state = {}
    for name, st in _param_groups(value.get("state") or {}):
        if name in by_name:
            state[by_name[name]] = st
    saved_groups = value["param_groups"]
    if len(saved_groups) != len(opt.param_groups):
        raise _errors.make("H5CKPT_EINVAL", "%s: the file has %d parameter "
                           "groups, the optimizer %d"
                           % (p, len(saved_groups), len(opt.param_groups)))
    groups, i = [], 0
    for gi, (saved, cur) in enumerate(zip(saved_groups, opt.param_groups)):
        mine = list(range(i, i + len(cur["params"])))
        i += len(cur["params"])
        names = [ids[j] for j in mine]
        if sorted(names) != sorted(saved.get("params", [])):
            raise _errors.make("H5CKPT_EINVAL", "%s: parameter group %d holds "
                               "other parameters in the file" % (p, gi))
        g = dict(saved)
        g["params"] = mine
        groups.append(g)
    opt.load_state_dict({"state": state, "param_groups": groups})


def load(state_dict, path, strict=True, comm=None, device="cpu", **options):
    """Load the checkpoint file at `path` into `state_dict` in place: tensors
    (plain, DTensor, Sharded) are filled where they are, other values are
    replaced by the stored ones, and modules, optimizers and objects with
    load_state_dict() get theirs.  Returns a LoadReport.

    Strict (default): a key of the state missing from the file, or a file key
    the state lacks (under the state's top-level names), raises NotFound
    before anything is read; a tensor whose shape or dtype differs from the
    file's raises ShapeMismatch / DtypeMismatch, strict or not.  Collective
    over `comm` (default MPI.COMM_WORLD); the same exception on every rank."""
    comm = _mpi.resolve(comm, "world")
    with _handle.open(path, comm, **options) as ck:
        return load_from(ck, state_dict, strict, device)


def load_from(ck, state_dict, strict=True, device="cpu", scopes=None):
    """load() from an open reader.  `scopes` (paths) limits where unexpected
    keys are looked for (default: the state's top-level names)."""
    ctx = _Ctx(ck.comm)
    ld = _Load(ck, device)
    exc = None
    try:
        _param_names(state_dict, ctx)
        _walk_load(state_dict, None, None, "", ld, ctx)
    except (_errors.Error, TypeError, ValueError) as e:
        exc = e if isinstance(e, _errors.Error) else _errors.make("H5CKPT_EINVAL", str(e))
    if exc is None and ld.errors:
        exc = ld.errors[0]
    tops = set()
    if isinstance(state_dict, dict):
        tops = {str(k) for k in state_dict}
    elif exc is None:
        tops = None  # a single object at the root: every key counts
    unexpected = set()
    if exc is None:
        keys = _file_keys(ck, tops) if tops is not None else _file_keys(
            ck, {t.split("/", 1)[0] for t in ck.tensors()} | set(ck.groups()) |
            set(ck.attr_names("")))
        if scopes is not None:
            keys = {k for k in keys if _under(k, list(scopes))}
        tensor_paths = {t[0] for t in ld.tensors} | {m for m in ld.missing}
        for k in keys:
            if k in ld.expect or k in tensor_paths:
                continue
            if _under(k, ld.covered):
                continue
            unexpected.add(k)
        if strict and (ld.missing or unexpected):
            exc = _errors.make("H5CKPT_ENOTFOUND", "strict load of %s: missing "
                               "%s; unexpected %s" % (ck.path, sorted(ld.missing)
                                                      or "none", sorted(unexpected)
                                                      or "none"))
    _mpi.agree(ck.comm, exc)
    # tensors in place
    for p, target, lay, orig in ld.tensors:
        ck.get(p, target, lay)
    tdt = _buffers.torch_dtypes()
    later = []

    def leaf(tp):
        info = ck.info(tp)
        t = torch.empty(info.shape, dtype=tdt[info.dtype])
        ck.get(tp, t)
        later.append(t)
        return t
    vals = [(c, k, _value_at(ck, p, leaf)) for c, k, p in ld.values]
    objs = [(fn, _value_at(ck, p, leaf) if ld.has_value(p) else None, p)
            for fn, p in ld.objects]
    ck.flush()
    for p, target, lay, orig in ld.tensors:
        if isinstance(orig, Sharded) and orig.kind == "parts":
            at = 0
            with torch.no_grad():
                for t, _ in orig.parts:
                    n = t.numel()
                    t.copy_(target[at:at + n].view(t.shape))
                    at += n
    vals = [(c, k, _finish(v)) for c, k, v in vals]
    objs = [(fn, _finish(v), p) for fn, v, p in objs]
    for c, k, v in vals:
        c[k] = _to_device(v, device) if str(device) != "cpu" else v
    err = None
    for fn, v, p in objs:
        if v is None:
            continue
        try:
            fn(_to_device(v, device) if str(device) != "cpu" else v)
        except _errors.Error as e:
            err = err or e
        except (TypeError, ValueError, KeyError, RuntimeError) as e:
            err = err or _errors.make("H5CKPT_EINVAL", "%s: %s" % (p, e))
    _mpi.agree(ck.comm, err)
    return LoadReport(ld.missing, unexpected)
