"""The analysis reader: lazy tensor views with numpy basic indexing that read
only the hyperslab asked for, and the file as nested dicts."""
import operator

import numpy as np

from . import _buffers, _errors, _layout, _values


def _box_of(key, shape):
    """Basic indexing -> (offset, count) of the box to read, and the index
    that turns the box into the result.  Ints, slices (any step), Ellipsis
    and None (np.newaxis)."""
    if not isinstance(key, tuple):
        key = (key,)
    nreal = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis")
    if nreal > len(shape):
        raise IndexError("too many indices: %d-d tensor, %d indexed"
                         % (len(shape), nreal))
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (len(shape) - nreal))
        else:
            expanded.append(k)
    if Ellipsis not in key:
        expanded.extend([slice(None)] * (len(shape) - nreal))
    offset, count, local = [], [], []
    d = 0
    for k in expanded:
        if k is None:
            local.append(None)
            continue
        n = shape[d]
        if isinstance(k, slice):
            r = range(*k.indices(n))
            if len(r) == 0:
                offset.append(0)
                count.append(0)
                local.append(slice(0, 0))
            else:
                lo, hi = min(r[0], r[-1]), max(r[0], r[-1])
                offset.append(lo)
                count.append(hi - lo + 1)
                step = r.step
                local.append(slice(0, None, step) if step > 0
                             else slice(hi - lo, None, step))
        else:
            if isinstance(k, (bool, np.bool_)):
                raise IndexError("boolean indices are not basic indexing")
            try:
                i = operator.index(k)
            except TypeError:
                raise IndexError("only integers, slices, Ellipsis and None are "
                                 "valid indices (basic indexing)") from None
            if not -n <= i < n:
                raise IndexError("index %d is out of bounds for dimension %d "
                                 "with size %d" % (i, d, n))
            i %= n
            offset.append(i)
            count.append(1)
            local.append(0)
        d += 1
    return offset, count, tuple(local)


class TensorView:
    """A stored tensor, read lazily.  view[...] reads only the hyperslab the
    (basic) index selects; bfloat16 and FP8 come back as float32 in numpy
    (exactly: every such value is a float32), float16 as float16.
    view.torch(index) returns a torch tensor of the stored dtype itself.
    On a reader opened on several ranks, every read is collective."""

    def __init__(self, ck, info):
        self._ck, self._info = ck, info

    path = property(lambda self: self._info.path)
    dtype = property(lambda self: self._info.dtype)
    shape = property(lambda self: self._info.shape)
    ndim = property(lambda self: self._info.ndim)
    size = property(lambda self: self._info.size)
    nbytes = property(lambda self: self._info.nbytes)
    placements = property(lambda self: self._info.placements)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        return "<h5ckpt tensor %s %s %s>" % (self.path, self.dtype,
                                              list(self.shape))

    def _read_box(self, key, out_factory):
        offset, count, local = _box_of(key, self.shape)
        lay = _layout.box(self.shape, offset, count)
        out = out_factory(tuple(count))
        self._ck.get(self.path, out, lay)
        self._ck.flush()
        return out, local

    def raw(self, key=Ellipsis):
        """The stored bits as numpy: bfloat16 as uint16, FP8 as uint8, every
        other dtype as itself."""
        dt = _buffers.NUMPY[self.dtype] or _buffers.RAW[self.dtype]
        out, local = self._read_box(key, lambda s: np.empty(s, dt))
        return out[local]

    def __getitem__(self, key):
        raw = self.raw(key)
        if _buffers.NUMPY[self.dtype] is None:
            return _buffers.decode_float32(raw, self.dtype)
        return raw

    def numpy(self):
        return self[...]

    def __array__(self, dtype=None):
        a = self[...]
        return a.astype(dtype) if dtype is not None else a

    def torch(self, key=Ellipsis, device=None):
        """A torch tensor of the stored dtype (bfloat16, FP8 where this torch
        has them) holding view[key]; on `device` if given."""
        import torch
        tdt = _buffers.torch_dtypes().get(self.dtype)
        if tdt is None:
            raise _errors.make("H5CKPT_ENOTSUP", "torch %s has no %s: read it "
                               "with numpy (float32) or raw()"
                               % (torch.__version__, self.dtype))
        out, local = self._read_box(key, lambda s: torch.empty(s, dtype=tdt))
        if any(isinstance(x, slice) and (x.step or 1) < 0 for x in local):
            # torch has no negative steps: flip those dimensions
            dims, fixed = [], []
            d = 0
            for x in local:
                if x is None:
                    fixed.append(None)
                    continue
                if isinstance(x, slice) and (x.step or 1) < 0:
                    dims.append(d)
                    fixed.append(slice(None, None, -x.step))
                else:
                    fixed.append(x)
                d += 1
            out = out.flip(dims)
            local = tuple(fixed)
        res = out[local]
        return res.to(device) if device is not None else res


# ---- the file as nested dicts ---------------------------------------------

class _Index:
    """Children of every group, built once from the sorted listings."""

    def __init__(self, ck):
        self.tensors = {}   # group -> {name: path}
        self.groups = {}    # group -> {name: path}
        for p in ck.tensors():
            g, n = _values.split(p)
            self.tensors.setdefault(g, {})[n] = p
        for p in ck.groups():
            g, n = _values.split(p)
            self.groups.setdefault(g, {})[n] = p


def _index(ck):
    if ck._tree is None:
        ck._tree = _Index(ck)
    return ck._tree


def tree(ck, group="", leaf=None):
    """Group `group` of reader `ck` as a Python value (see Reader.tree).
    `leaf(path)` makes each tensor's value (default: a TensorView)."""
    idx = _index(ck)
    if leaf is None:
        leaf = ck.__getitem__

    def build(g):
        attrs = ck.attrs(g)
        children = {}
        for n, p in idx.tensors.get(g, {}).items():
            children[n] = ("t", p)
        for n, p in idx.groups.get(g, {}).items():
            children[n] = ("g", p)

        def make(name, obj, tag):
            kind, p = obj
            if kind == "t":
                v = leaf(p)
                if tag == _values.NUMPY and not isinstance(v, TensorView):
                    v = np.asarray(v)
                return v
            v = build(p)
            if tag in (_values.LIST, _values.TUPLE):
                return _values.as_sequence(v, tag)
            if tag == _values.INTDICT:
                return _values.as_intdict(v)
            return v
        return _values.decode_group(attrs, children, make)

    if group and not ck.has_group(group):
        raise _errors.make("H5CKPT_ENOTFOUND", "no group '%s' in %s"
                           % (group, ck.path))
    return build(group)


def _flatten(d, prefix=""):
    """Nested dicts of tensors -> {"a/b": tensor}."""
    out = {}
    for k, v in d.items():
        p = "%s/%s" % (prefix, k) if prefix else str(k)
        if isinstance(v, dict):
            out.update(_flatten(v, p))
        else:
            out[p] = v
    return out


def state(ck):
    """The training-state profile of reader `ck` as nested dicts:

    ``{"model": {model: {param: TensorView}},
       "optimizer": {"state": {"<model>/<param>": {key: TensorView or value}},
                     "param_groups": [{attr: value}, ...]},
       "scheduler": {...}, "scaler": {...}, "metadata": {...},
       "step": int, "epoch": int, ...}``

    Parameters whose names contain '/' keep it (``model[m]["enc/w"]``)."""
    t = tree(ck)
    out = dict(t)
    if isinstance(t.get("model"), dict):
        out["model"] = {m: _flatten(v) if isinstance(v, dict) else v
                        for m, v in t["model"].items()}
    opt = t.get("optimizer")
    if isinstance(opt, dict):
        opt = dict(opt)
        st = opt.get("state")
        if isinstance(st, dict):
            flat = {}
            for m, params in st.items():
                if not isinstance(params, dict):
                    flat[m] = params
                    continue
                # leaves of a parameter: tensors and values under its group
                for p, v in _param_groups(params):
                    flat["%s/%s" % (m, p)] = v
            opt["state"] = flat
        pg = opt.get("param_groups")
        if isinstance(pg, dict):
            opt["param_groups"] = [pg[k] for k in sorted(pg, key=int)]
        out["optimizer"] = opt
    return out


def _param_groups(d, prefix=""):
    """Split nested optimizer state into (param path, {key: leaf}): a group
    whose members include a non-dict is one parameter's state."""
    leaves = {k: v for k, v in d.items() if not isinstance(v, dict)}
    subs = {k: v for k, v in d.items() if isinstance(v, dict)}
    if leaves:
        yield prefix, dict(d)
        return
    for k, v in subs.items():
        yield from _param_groups(v, "%s/%s" % (prefix, k) if prefix else k)
