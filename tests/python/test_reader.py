"""The analysis reader: listings, attributes, hyperslab reads with numpy
basic indexing, bfloat16/FP8 decoding, files written by the C library (every
dtype; a 2x2 mesh), a 10,000-tensor file, and a plain python3 process
without mpirun (singleton MPI)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from mpi4py import MPI

import h5ckpt
from conftest import COMM, RANK, SIZE, all_ok, raises_everywhere

_i = np.arange(256, dtype=np.int64)
RAW = {  # dtype: the bits tests/cli/fixture.c writes (as tests/cli/read_exports.py)
    "bool": _i % 3 == 0,
    "int8": (_i * 7 % 256 - 128).astype(np.int8),
    "int16": (_i * 37 - 5000).astype(np.int16),
    "int32": (_i * 100003 - 7).astype(np.int32),
    "int64": np.where(_i % 2 == 1, 2**62 + _i, -(_i * _i)).astype(np.int64),
    "uint8": _i.astype(np.uint8),
    "uint16": (_i * 250).astype(np.uint16),
    "uint32": (_i * 16777259).astype(np.uint32),
    "uint64": (np.uint64(2**63) + (_i * 3).astype(np.uint64)).astype(np.uint64),
    "float16": (_i * 37 % 0x7C00).astype(np.uint16).view(np.float16),
    "bfloat16": (0x3F80 + _i * 3).astype(np.uint16),
    "float32": _i.astype(np.float32) * np.float32(0.25) - np.float32(10),
    "float64": _i / 3.0,
    "float8_e4m3fn": _i.astype(np.uint8),
    "float8_e5m2": _i.astype(np.uint8),
}

FIXTURE = os.environ.get("H5CKPT_PY_FIXTURE")
SAMPLE = os.environ.get("H5CKPT_PY_SAMPLE2X2")


def fp8_reference(bits, name):
    """FP8 values by the definition (sign, exponent, mantissa; e4m3fn has no
    infinities and NaN only at S.1111.111), independent of h5ckpt."""
    out = []
    eb, mb, bias = (4, 3, 7) if name == "float8_e4m3fn" else (5, 2, 15)
    for b in bits.tolist():
        s = -1.0 if b & 0x80 else 1.0
        e = (b >> mb) & ((1 << eb) - 1)
        m = b & ((1 << mb) - 1)
        if name == "float8_e4m3fn" and e == 15 and m == 7:
            out.append(float("nan"))
        elif name == "float8_e5m2" and e == 31:
            out.append(s * float("inf") if m == 0 else float("nan"))
        elif e == 0:
            out.append(s * m / (1 << mb) * 2.0 ** (1 - bias))
        else:
            out.append(s * (1 + m / (1 << mb)) * 2.0 ** (e - bias))
    return np.array(out, np.float32)


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        a.view("u%d" % a.itemsize), b.view("u%d" % b.itemsize))


@pytest.mark.skipif(not FIXTURE, reason="no C fixture file (run through tests/python/run.sh)")
def test_the_c_fixture_reads_back_every_dtype_exactly():
    with h5ckpt.open(FIXTURE, MPI.COMM_SELF) as ck:
        for name, bits in RAW.items():
            v = ck["dt/" + name]
            all_ok(v.dtype == name and v.shape == (16, 16), (v.dtype, v.shape))
            raw = v.raw()
            want = bits.reshape(16, 16)
            all_ok(np.array_equal(raw.view("u%d" % raw.itemsize),
                                  want.view("u%d" % want.itemsize)), "raw bits of " + name)
            got = v[...]
            if name == "bfloat16":
                ref = (want.astype(np.uint32) << 16).view(np.float32)
                all_ok(got.dtype == np.float32 and same_bits(got, ref), name)
            elif name.startswith("float8"):
                ref = fp8_reference(want.reshape(-1), name).reshape(16, 16)
                all_ok(got.dtype == np.float32 and same_bits(got, ref), name)
            else:
                all_ok(same_bits(got, want), name)
        all_ok(ck["scalar"][()] == 2.5 and ck["scalar"].shape == (), "0-d")
        e = ck["empty"][...]
        all_ok(e.shape == (0, 3) and e.dtype == np.float32, e.shape)
        all_ok(ck.attrs("") == {"epoch": 3, "step": 100}, ck.attrs(""))
        all_ok(ck.attrs("meta") == {"floats": [0.5, -1.25, 1e300],
                                    "names": ["alpha", "b\u00e9ta"],
                                    "flags": [True, False], "note": "h5ckpt fixture"},
               ck.attrs("meta"))
        all_ok(ck.root_info()["writer_nranks"] == 2, ck.root_info())


@pytest.mark.skipif(not FIXTURE, reason="no C fixture file (run through tests/python/run.sh)")
def test_torch_views_keep_bfloat16_exactly():
    torch = pytest.importorskip("torch")
    with h5ckpt.open(FIXTURE, MPI.COMM_SELF) as ck:
        t = ck["dt/bfloat16"].torch()
        all_ok(t.dtype == torch.bfloat16 and t.shape == (16, 16), t.dtype)
        bits = t.view(torch.int16).numpy().view(np.uint16)
        all_ok(np.array_equal(bits, RAW["bfloat16"].reshape(16, 16)), "bf16 bits")
        part = ck["dt/bfloat16"].torch((slice(2, 5), slice(None, None, -3)))
        ref = RAW["bfloat16"].reshape(16, 16)[2:5, ::-3]
        all_ok(np.array_equal(part.view(torch.int16).numpy().view(np.uint16), ref),
               "bf16 slab with a negative step")
        f16 = ck["dt/float16"].torch()
        all_ok(f16.dtype == torch.float16, f16.dtype)
        for name in ("float8_e4m3fn", "float8_e5m2"):
            if hasattr(torch, name):
                t8 = ck["dt/" + name].torch()
                all_ok(np.array_equal(t8.view(torch.uint8).numpy(),
                                      RAW[name].reshape(16, 16)), name)
            else:
                raises_everywhere(h5ckpt.NotSupported, ck["dt/" + name].torch,
                                  match="has no " + name)


@pytest.mark.skipif(not SAMPLE, reason="no 2x2-mesh C file (run through tests/python/run.sh)")
def test_a_file_written_on_a_2x2_mesh_reads_in_any_process():
    def half(v):
        return np.float16(v)

    with h5ckpt.open(SAMPLE, MPI.COMM_SELF) as ck:
        info = ck.root_info()
        all_ok(info["writer_mesh"] == (2, 2) and info["writer_nranks"] == 4, info)
        g = np.arange(60)
        all_ok(np.array_equal(ck["model/embed.weight"][...],
                              (g * 0.5).astype(np.float32).reshape(10, 6)), "embed")
        all_ok(np.array_equal(ck["model/embed.weight"][3:7, 2:5],
                              (g * 0.5).astype(np.float32).reshape(10, 6)[3:7, 2:5]), "slab")
        all_ok(np.array_equal(ck["model/layer.0.weight"][...],
                              half(np.arange(35)).reshape(7, 5)), "float16")
        b = ck["model/layer.0.bias"]
        all_ok(b.dtype == "bfloat16" and np.array_equal(b[...], np.arange(5, dtype=np.float32)),
               "bfloat16 as float32")
        all_ok(np.array_equal(ck["model/mask"][...], (np.arange(12) % 3 == 0).reshape(4, 3)),
               "bool")
        all_ok(np.array_equal(ck["model/ids"][...], np.arange(9) ** 2 - 5), "int64")
        all_ok(ck["step"][()] == 1234, "0-d")
        all_ok(ck["model/embed.weight"].placements ==
               "[Shard(0), Shard(1)] on mesh (2, 2)", ck["model/embed.weight"].placements)
        tree = ck.tree()
        all_ok(sorted(tree["model"]) == ["embed.weight", "ids", "layer.0.bias",
                                         "layer.0.weight", "mask"], sorted(tree["model"]))


def test_basic_indexing_matches_numpy_and_reads_only_the_slab(shared_dir):
    path = os.path.join(shared_dir, "slab.h5")
    full = np.arange(1000 * 64, dtype=np.float32).reshape(1000, 64)
    cube = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    with h5ckpt.create(path, COMM) as ck:
        ck.put("model/fc1.weight", full)
        ck.put("cube", cube)
    with h5ckpt.open(path, COMM) as ck:
        v = ck["model/fc1.weight"]
        before = ck.bytes_read
        got = v[100:200, :]
        all_ok(np.array_equal(got, full[100:200, :]), "slab values")
        all_ok(ck.bytes_read - before == 100 * 64 * 4, "read %d bytes for a 25600-byte "
               "slab" % (ck.bytes_read - before))
        before = ck.bytes_read
        all_ok(np.array_equal(v[..., 3], full[..., 3]), "column")
        all_ok(ck.bytes_read - before == 1000 * 4, "column bytes")
        c = ck["cube"]
        keys = [(1,), (-1, 2), (slice(None), 3), (Ellipsis, 1), (slice(1, 3), Ellipsis, 2),
                (slice(None, None, 2),), (slice(3, 0, -1), slice(None, None, -2)),
                (None, 2, slice(1, 4)), (2, None, Ellipsis, None), (slice(5, 9),),
                (slice(2, 2),), (0, 0, 0), (np.int64(1), slice(-2, None))]
        for k in keys:
            all_ok(np.array_equal(c[k], cube[k]) and c[k].shape == cube[k].shape,
                   "index %r: %s vs %s" % (k, c[k], cube[k]))
        for k in [(4,), (0, 0, 0, 0), (slice(None), [0, 1]), (True,), ("a",)]:
            try:
                c[k]
                ok = False
            except IndexError:
                ok = True
            all_ok(ok, "index %r did not raise IndexError" % (k,))


@pytest.mark.skipif(SIZE != 1, reason="the 10,000-tensor file is tested at 1 rank")
def test_a_file_of_10000_tensors_lists_and_reads(shared_dir):
    path = os.path.join(shared_dir, "many.h5")
    n = 10000
    with h5ckpt.create(path, COMM) as ck:
        for i in range(n):
            ck.put("model/layers.%d/w" % i, np.full(4, i, np.float32))
        ck.put_attr("", "step", 5)
    with h5ckpt.open(path) as ck:
        names = ck.tensors()
        all_ok(len(names) == n and len(ck) == n, len(names))
        all_ok(names == sorted("model/layers.%d/w" % i for i in range(n)), "names")
        all_ok(len(ck.groups()) == n + 1, len(ck.groups()))
        all_ok(np.array_equal(ck["model/layers.9876/w"][...], np.full(4, 9876, np.float32)),
               "values")
        tree = ck.tree()
        all_ok(len(tree["model"]) == n and tree["step"] == 5, "tree")


def _plain_env():
    """The environment of a process started outside mpirun."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OMPI_", "PMIX_", "OPAL_", "HYDRA_", "PMI_"))}


@pytest.mark.skipif(RANK != 0, reason="starts one plain python3 process")
def test_a_plain_python3_process_reads_without_mpirun(tmp_path):
    path = str(tmp_path / "plain.h5")
    with h5ckpt.create(path, MPI.COMM_SELF) as ck:
        ck.put("a/b", np.arange(6, dtype=np.int32).reshape(2, 3))
        ck.put_attr("a", "note", "hi")
    code = ("import h5ckpt; ck = h5ckpt.open(%r); "
            "print(ck.tensors(), ck['a/b'][1, 1:], ck.attrs('a'), "
            "h5ckpt._mpi.MPI().COMM_WORLD.Get_size())" % path)
    out = subprocess.run([sys.executable, "-c", code], env=_plain_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['a/b'] [4 5] {'note': 'hi'} 1", out.stdout
