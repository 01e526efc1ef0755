"""Read a checkpoint written by tests/scripts/sample with plain h5py (no
h5ckpt code) and compare every tensor, as one global array, with values
recomputed in numpy from global indices."""
import sys

import h5py
import numpy as np

f = h5py.File(sys.argv[1], "r")
assert f.attrs["h5ckpt_format"] == "h5ckpt", f.attrs["h5ckpt_format"]
assert int(f.attrs["h5ckpt_committed"]) == 1
g = lambda n, shape: np.arange(n).reshape(shape)
checks = {
    "model/embed.weight": (np.float32, "float32", g(60, (10, 6)).astype(np.float32) * 0.5),
    "model/layer.0.weight": (np.float16, "float16", g(35, (7, 5)).astype(np.float16)),
    # bfloat16 arrives as float32 (every bf16 value is a float32 value)
    "model/layer.0.bias": (np.float32, "bfloat16", g(5, (5,)).astype(np.float32)),
    "model/mask": (np.bool_, "bool", g(12, (4, 3)) % 3 == 0),
    "model/ids": (np.int64, "int64", g(9, (9,)).astype(np.int64) ** 2 - 5),
}
for name, (npdtype, logical, want) in checks.items():
    d = f[name]
    got = d[...]
    assert d.attrs["h5ckpt_dtype"] == logical, (name, d.attrs["h5ckpt_dtype"])
    assert got.dtype == npdtype, (name, got.dtype)
    assert got.shape == want.shape, (name, got.shape)
    assert np.array_equal(got, want), (name, got, want)
# a hyperslab only
assert np.array_equal(f["model/embed.weight"][2:4, 1:3], checks["model/embed.weight"][2][2:4, 1:3])
assert f["step"][()] == 1234 and f["step"].shape == ()
assert abs(f["optimizer/param_groups/0"].attrs["lr"] - 0.001) < 1e-15
print("h5py read", sys.argv[1], "ok:", len(checks) + 1, "tensors")
