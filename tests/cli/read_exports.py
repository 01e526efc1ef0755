"""Independent readers for the tests of tests/cli (no h5ckpt code): a
safetensors parser that follows the published format with struct/json/numpy,
the .npy tree of `h5ckpt export --format npy`, and h5py on the fixture.
Expected values are recomputed from the flat index, as tests/cli/fixture.c
writes them.
    read_exports.py st FILE | npy DIR | h5py FILE"""
import json
import struct
import sys

import numpy as np

i = np.arange(256, dtype=np.int64)
RAW = {  # name: expected array (bit patterns for bfloat16 and FP8)
    "bool": i % 3 == 0,
    "int8": (i * 7 % 256 - 128).astype(np.int8),
    "int16": (i * 37 - 5000).astype(np.int16),
    "int32": (i * 100003 - 7).astype(np.int32),
    "int64": np.where(i % 2 == 1, 2**62 + i, -(i * i)).astype(np.int64),
    "uint8": i.astype(np.uint8),
    "uint16": (i * 250).astype(np.uint16),
    "uint32": (i * 16777259).astype(np.uint32),
    "uint64": (np.uint64(2**63) + (i * 3).astype(np.uint64)).astype(np.uint64),
    "float16": (i * 37 % 0x7C00).astype(np.uint16).view(np.float16),
    "bfloat16": (0x3F80 + i * 3).astype(np.uint16),
    "float32": i.astype(np.float32) * np.float32(0.25) - np.float32(10),
    "float64": i / 3.0,
    "float8_e4m3fn": i.astype(np.uint8),
    "float8_e5m2": i.astype(np.uint8),
}
ST = {"BOOL": ("bool", "?"), "I8": ("int8", "<i1"), "I16": ("int16", "<i2"),
      "I32": ("int32", "<i4"), "I64": ("int64", "<i8"), "U8": ("uint8", "<u1"),
      "U16": ("uint16", "<u2"), "U32": ("uint32", "<u4"), "U64": ("uint64", "<u8"),
      "F16": ("float16", "<f2"), "BF16": ("bfloat16", "<u2"), "F32": ("float32", "<f4"),
      "F64": ("float64", "<f8"), "F8_E4M3": ("float8_e4m3fn", "<u1"),
      "F8_E5M2": ("float8_e5m2", "<u1")}


def same(got, want, what):
    assert got.shape == want.shape, (what, got.shape, want.shape)
    if got.dtype.kind == "f":
        assert np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}")), what
    else:
        assert np.array_equal(got, want), (what, got, want)


def check_tensor(name, arr):
    if name.startswith("dt/"):
        same(arr, RAW[name[3:]].reshape(16, 16), name)
    elif name == "scalar" or name in ("__metadata__", ".../x") or name.startswith("we ird"):
        assert arr.shape == () and arr.dtype == np.float64 and arr[()] == 2.5, (name, arr)
    elif name == "empty":
        assert arr.shape == (0, 3) and arr.dtype == np.float32, arr
    else:
        raise AssertionError("unexpected tensor " + name)


def read_st(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert (8 + n) % 8 == 0, "header not padded to 8 bytes"
    raw = data[8:8 + n]
    assert raw[:1] == b"{" and raw.rstrip(b" ").endswith(b"}"), "padding is not spaces"
    head = json.loads(raw)
    meta = head.pop("__metadata__")
    assert meta["format"] == "pt" and all(isinstance(v, str) for v in meta.values())
    step = json.loads(meta["h5ckpt.attr:@step"])
    assert step == {"object": "", "name": "step", "type": "int64", "value": 100}, step
    body = data[8 + n:]
    items = sorted(head.items(), key=lambda kv: kv[1]["data_offsets"][0])
    pos = 0
    sizes = []
    for name, e in items:
        b, end = e["data_offsets"]
        assert b == pos, ("offsets not contiguous at", name)
        field, dt = ST[e["dtype"]]
        arr = np.frombuffer(body[b:end], dtype=dt).reshape(e["shape"])
        assert b % arr.itemsize == 0, ("misaligned", name)
        sizes.append((-arr.itemsize, name))
        check_tensor(name, arr)
        if name.startswith("dt/"):
            assert field == name[3:], (name, e["dtype"])
        pos = end
    assert pos == len(body), "trailing bytes after the last tensor"
    assert sizes == sorted(sizes), "tensors not sorted by element size, then name"
    print("safetensors", path, "ok:", len(items), "tensors, pad", n - len(raw.rstrip(b" ")))


def read_npy(d):
    man = json.load(open(d + "/h5ckpt-npy.json"))
    assert man["schema"] == "h5ckpt-npy/1"
    for t in man["tensors"]:
        arr = np.load(d + "/" + t["file"], allow_pickle=False)
        assert list(arr.shape) == t["shape"]
        if t["dtype"] == "bfloat16":
            assert arr.dtype == np.uint16 and t["npy_descr"] == "<u2"
        if t["dtype"].startswith("float8"):
            assert arr.dtype == np.uint8 and t["npy_descr"] == "|u1"
        check_tensor(t["path"], arr)
    print("npy", d, "ok:", len(man["tensors"]), "tensors")


def e5m2(bits):  # exact: e5m2 is the top byte of a float16
    return (bits.astype(np.uint16) << 8).view(np.float16)


def read_h5py(path):
    import h5py
    f = h5py.File(path, "r")
    seen = {}
    for name, want in RAW.items():
        d = f["dt/" + name]
        got = d[...]
        seen[name] = str(got.dtype)
        assert d.attrs["h5ckpt_dtype"] == name
        if name == "bfloat16":  # float32, exactly the bf16 value
            assert got.dtype == np.float32
            same(got.reshape(-1), (want.astype(np.uint32) << 16).view(np.float32), name)
        elif name == "float8_e5m2":  # float16, exact, inf and nan included
            assert got.dtype == np.float16
            w = e5m2(want)
            assert np.array_equal(np.isnan(got.reshape(-1)), np.isnan(w))
            ok = ~np.isnan(w)
            same(got.reshape(-1)[ok], w[ok], name)
        elif name == "float8_e4m3fn":  # float16; exponent 1111 shows as inf/nan
            assert got.dtype == np.float16
            g = got.reshape(-1).astype(np.float64)
            for b in range(256):
                e, m, s = (b >> 3) & 15, b & 7, -1.0 if b >> 7 else 1.0
                if e == 15:
                    assert (np.isinf(g[b]) and m == 0) or (np.isnan(g[b]) and m != 0), (b, g[b])
                else:
                    v = s * (m / 8.0 * 2.0**-6 if e == 0 else (1 + m / 8.0) * 2.0**(e - 7))
                    assert g[b] == v, (b, g[b], v)
        else:
            same(got.reshape(-1), want, name)
    print("h5py dtypes:", ", ".join(f"{k}->{v}" for k, v in seen.items()))


{"st": read_st, "npy": read_npy, "h5py": read_h5py}[sys.argv[1]](sys.argv[2])
