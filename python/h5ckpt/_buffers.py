"""numpy arrays and torch tensors as C buffers: data pointer, strides in
elements, dtype.  Zero-copy wherever the C API can take the layout; a copy
only for negative or zero strides, byte strides that are not a multiple of
the element size, and layouts whose local buffer cannot be strided (range
and multi-box layouts), or CUDA memory the library cannot take."""
import ctypes
import sys

import numpy as np

from . import _errors, _lib

# h5ckpt dtype name -> numpy dtype (None: no numpy dtype; raw bits instead)
NUMPY = {
    "bool": np.dtype(np.bool_), "int8": np.dtype(np.int8),
    "int16": np.dtype(np.int16), "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64), "uint8": np.dtype(np.uint8),
    "uint16": np.dtype(np.uint16), "uint32": np.dtype(np.uint32),
    "uint64": np.dtype(np.uint64), "float16": np.dtype(np.float16),
    "float32": np.dtype(np.float32), "float64": np.dtype(np.float64),
    "bfloat16": None, "float8_e4m3fn": None, "float8_e5m2": None,
}
# raw bit containers of the dtypes numpy lacks
RAW = {"bfloat16": np.dtype(np.uint16), "float8_e4m3fn": np.dtype(np.uint8),
       "float8_e5m2": np.dtype(np.uint8)}
FROM_NUMPY = {v: k for k, v in NUMPY.items() if v is not None}

if sys.byteorder != "little":  # the C library stores little-endian bytes
    raise ImportError("h5ckpt: big-endian hosts are not supported")


_TORCH_DTYPES = None


def torch_dtypes():
    """h5ckpt dtype name -> torch dtype, for the dtypes this torch has
    (computed once: it is asked twice per tensor of a save or load)."""
    global _TORCH_DTYPES
    if _TORCH_DTYPES is None:
        import torch
        out = {}
        for name in _lib.DTYPES:
            t = getattr(torch, name, None)
            if isinstance(t, torch.dtype):
                out[name] = t
        _TORCH_DTYPES = out
    return _TORCH_DTYPES


def is_torch(x):
    t = sys.modules.get("torch")
    return t is not None and isinstance(x, t.Tensor)


def dtype_of(x):
    """h5ckpt dtype name of a numpy array or torch tensor."""
    if is_torch(x):
        for name, t in torch_dtypes().items():
            if t == x.dtype:
                return name
        raise _errors.make("H5CKPT_EINVAL", "torch dtype %s has no h5ckpt dtype"
                           % x.dtype)
    dt = x.dtype.newbyteorder("=") if x.dtype.byteorder == ">" else x.dtype
    name = FROM_NUMPY.get(dt)
    if name is None:
        raise _errors.make("H5CKPT_EINVAL", "numpy dtype %s has no h5ckpt dtype"
                           % x.dtype)
    return name


def decode_float32(raw, name):
    """Exact float32 values of bfloat16 / FP8 bits (uint16 / uint8 array)."""
    if name == "bfloat16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    return FP8_TABLES[name][raw]


def _fp8_table(ebits, mbits, bias, fn):
    """All 256 values of an FP8 format as float32 (fn: e4m3fn, no infinities,
    one NaN pattern per sign)."""
    v = np.arange(256, dtype=np.uint32)
    s = np.where(v & 0x80, -1.0, 1.0)
    e = (v >> mbits) & ((1 << ebits) - 1)
    m = v & ((1 << mbits) - 1)
    sub = np.ldexp(m / float(1 << mbits), 1 - bias)
    nrm = np.ldexp(1.0 + m / float(1 << mbits), e.astype(np.int64) - bias)
    out = s * np.where(e == 0, sub, nrm)
    top = (1 << ebits) - 1
    if fn:
        out = np.where((e == top) & (m == (1 << mbits) - 1), np.nan, out)
    else:
        out = np.where((e == top) & (m == 0), s * np.inf, out)
        out = np.where((e == top) & (m != 0), np.nan, out)
    return out.astype(np.float32)


FP8_TABLES = {"float8_e4m3fn": _fp8_table(4, 3, 7, True),
              "float8_e5m2": _fp8_table(5, 2, 15, False)}


class Buf:
    """A buffer ready for put/get.  `keep` holds whatever must stay alive
    until the flush; `after` (get) runs after a successful flush."""
    __slots__ = ("ptr", "shape", "strides", "dtype", "kind", "keep", "after",
                 "cstruct", "itemsize")

    def __init__(self, ptr, shape, strides, dtype, kind, keep, after=None,
                 itemsize=0):
        self.ptr, self.shape, self.strides = ptr, tuple(shape), strides
        self.dtype, self.kind, self.keep, self.after = dtype, kind, keep, after
        self.cstruct = None
        self.itemsize = itemsize

    def struct(self):
        """The h5ckpt_buffer (or None for a contiguous host buffer)."""
        if self.strides is None and self.kind == _lib.MEM_HOST:
            return None
        if self.cstruct is None:
            b = _lib.BufferStruct(_lib.BUFFER_VERSION, self.kind, None)
            if self.strides is not None:
                arr = (ctypes.c_int64 * max(len(self.strides), 1))(*self.strides)
                b.strides = ctypes.cast(arr, _lib.c_int64_p)
                self.keep = (self.keep, arr)
            self.cstruct = b
        return ctypes.byref(self.cstruct)


def _elem_strides(shape, byte_strides, itemsize):
    """Strides in elements, or None when the C API cannot take them."""
    out = []
    for n, s in zip(shape, byte_strides):
        if n <= 1:
            out.append(1)  # never stepped over: any positive stride
        elif s <= 0 or s % itemsize:
            return None
        else:
            out.append(s // itemsize)
    return out


_CUDA_USABLE = None


def cuda_usable():
    """True when the library can take CUDA device pointers (built with CUDA,
    a device present)."""
    global _CUDA_USABLE
    if _CUDA_USABLE is None:
        err = _lib.ErrorStruct()
        _CUDA_USABLE = _lib.lib.h5ckpt_memkind_usable(_lib.MEM_CUDA,
                                                      ctypes.byref(err)) == 0
    return _CUDA_USABLE


def _torch_device_ok(t):
    import torch
    return (t.is_cuda and cuda_usable()
            and t.device.index == torch.cuda.current_device())


def for_put(x, stridable=True, dtype=None):
    """A Buf reading `x` (numpy array, torch tensor, or anything numpy takes)."""
    if is_torch(x):
        return _torch_put(x, stridable, dtype)
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    name = dtype or dtype_of(x)
    if x.dtype.byteorder == ">":
        x = x.astype(x.dtype.newbyteorder("<"))
    st = None
    if not x.flags.c_contiguous:
        st = _elem_strides(x.shape, x.strides, x.itemsize) if stridable else None
        if st is None:
            x = np.ascontiguousarray(x)
    return Buf(x.ctypes.data, x.shape, st, name, _lib.MEM_HOST, x,
               itemsize=x.itemsize)


def _torch_put(t, stridable, dtype):
    import torch
    name = dtype or dtype_of(t)
    t = t.detach()
    kind = _lib.MEM_HOST
    if t.is_cuda:
        if _torch_device_ok(t):
            kind = _lib.MEM_CUDA
            torch.cuda.current_stream(t.device).synchronize()
        else:
            t = t.to("cpu")  # staged through host memory
    elif t.device.type != "cpu":
        t = t.to("cpu")
    st = None
    if not t.is_contiguous():
        st = _elem_strides(t.shape, [s * t.element_size() for s in t.stride()],
                           t.element_size()) if stridable else None
        if st is None:
            t = t.contiguous()
    return Buf(t.data_ptr(), tuple(t.shape), st, name, kind, t,
               itemsize=t.element_size())


def for_get(out, stridable=True, dtype=None):
    """A Buf writing into `out` (numpy array or torch tensor) at the flush."""
    if is_torch(out):
        return _torch_get(out, stridable, dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError("out must be a numpy array or a torch tensor, not %s"
                        % type(out).__name__)
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    name = dtype or dtype_of(out)
    st, tmp = None, None
    if out.dtype.byteorder == ">":
        tmp = np.empty(out.shape, out.dtype.newbyteorder("<"))
    elif not out.flags.c_contiguous:
        st = _elem_strides(out.shape, out.strides, out.itemsize) if stridable else None
        if st is None:
            tmp = np.empty(out.shape, out.dtype)
    if tmp is None:
        return Buf(out.ctypes.data, out.shape, st, name, _lib.MEM_HOST, out)

    def after(tmp=tmp, out=out):
        out[...] = tmp
    return Buf(tmp.ctypes.data, tmp.shape, None, name, _lib.MEM_HOST,
               (tmp, out), after)


def _torch_get(t, stridable, dtype):
    import torch
    name = dtype or dtype_of(t)
    if t.requires_grad and t.is_leaf:
        t = t.detach()  # in-place fill of a parameter's data
    kind, target = _lib.MEM_HOST, t
    if t.is_cuda and _torch_device_ok(t):
        kind = _lib.MEM_CUDA
        torch.cuda.current_stream(t.device).synchronize()
    elif t.device.type != "cpu":
        target = torch.empty(tuple(t.shape), dtype=t.dtype)  # staged on host
    st = None
    if not target.is_contiguous():
        es = target.element_size()
        st = _elem_strides(target.shape, [s * es for s in target.stride()],
                           es) if stridable else None
        if st is None:
            target = torch.empty(tuple(t.shape), dtype=t.dtype,
                                 device=target.device)
    if target is t:
        return Buf(t.data_ptr(), tuple(t.shape), st, name, kind, t)

    def after(src=target, dst=t):
        with torch.no_grad():
            dst.copy_(src)
    return Buf(target.data_ptr(), tuple(target.shape), st, name, kind,
               (target, t), after)
