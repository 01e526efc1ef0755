"""h5ckpt.torch.save / load at 1-4 ranks: every dtype bit for bit, strided,
0-d and empty tensors, non-tensor state with its types, strict and
non-strict loads, hand-sharded tensors, optimizer state by parameter name,
and interoperability (h5py, the C tool)."""
import os
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import h5ckpt  # noqa: E402
import h5ckpt.torch as ht  # noqa: E402
from conftest import COMM, RANK, SIZE, all_ok, build_path, raises_everywhere  # noqa: E402

torch.set_num_threads(1)
DTYPES = [d for d in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                      "uint32", "uint64", "float16", "bfloat16", "float32", "float64",
                      "float8_e4m3fn", "float8_e5m2") if hasattr(torch, d)]
MISSING = sorted(set(h5ckpt.DTYPES) - set(DTYPES))


def bits_of(t):
    """The raw bits of a tensor, as an integer tensor of the same size."""
    if t.dtype == torch.bool:
        return t.to(torch.uint8)
    size = t.element_size()
    return t.contiguous().view({1: torch.uint8, 2: torch.int16, 4: torch.int32,
                                8: torch.int64}[size])


def random_bits(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    size = torch.empty(0, dtype=dtype).element_size()
    itype = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[size]
    lo, hi = (0, 256) if size == 1 else (-2 ** (8 * size - 1), 2 ** (8 * size - 1) - 1)
    return torch.randint(lo, hi, shape, generator=g, dtype=torch.int64).to(itype).view(dtype)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(bits_of(a), bits_of(b))


def same_value(a, b):
    """Equal, types included, recursively (tensors bit for bit)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return same(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


def test_every_dtype_round_trips_bit_for_bit(shared_dir):
    path = os.path.join(shared_dir, "dtypes.h5")
    sd = {name: random_bits(getattr(torch, name), (13, 7), i)
          for i, name in enumerate(DTYPES)}
    sd["nan_payloads"] = torch.tensor([0x7FC00001, 0x7F800001, -1], dtype=torch.int32
                                      ).view(torch.float32)
    ht.save({"t": sd}, path, COMM)
    back = {"t": {k: torch.zeros_like(v) for k, v in sd.items()}}
    rep = ht.load(back, path, comm=COMM)
    all_ok(rep.missing == [] and rep.unexpected == [], rep)
    for k in sd:
        all_ok(same(sd[k], back["t"][k]), "dtype %s differs" % k)
    with h5ckpt.open(path, COMM) as ck:
        for k in DTYPES:
            all_ok(ck.info("t/" + k).dtype == k, ck.info("t/" + k).dtype)


def test_dtypes_this_torch_lacks_are_named():
    """A visible line for what this torch cannot test (FP8 needs torch >= 2.1,
    uint16/32/64 torch >= 2.3); their bits are tested through numpy in
    test_reader.py and test_core.py."""
    if MISSING:
        pytest.skip("torch %s has no %s: those dtypes are not tested with torch here"
                    % (torch.__version__, ", ".join(MISSING)))


def test_strided_zero_d_and_empty_tensors(shared_dir):
    path = os.path.join(shared_dir, "shapes.h5")
    torch.manual_seed(5)  # plain tensors are replicas: the same on every rank
    conv = torch.randn(8, 3, 5, 5).to(memory_format=torch.channels_last)
    base = torch.randn(6, 10)
    sd = {"conv": conv, "t": base.t(), "sliced": base[:, ::3], "expanded": torch.randn(1, 4).expand(5, 4),
          "zero_d": torch.tensor(3.25, dtype=torch.float64), "empty": torch.empty(0, 3),
          "empty_int": torch.empty(4, 0, dtype=torch.int64)}
    all_ok(not conv.is_contiguous() and not sd["t"].is_contiguous(), "not strided")
    ht.save(sd, path, COMM)
    back = {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in sd.items()}
    back["conv"] = torch.zeros(8, 3, 5, 5).to(memory_format=torch.channels_last)
    back["t"] = torch.zeros(6, 10).t()  # load into a strided view too
    targets = {k: v for k, v in back.items()}
    ht.load(back, path, comm=COMM)
    for k in sd:
        all_ok(same(sd[k], back[k]), "%s differs" % k)
        all_ok(back[k] is targets[k], "%s was replaced, not filled in place" % k)
    all_ok(not back["conv"].is_contiguous(), "channels_last target changed layout")


def test_non_tensor_state_round_trips_with_its_types(shared_dir):
    path = os.path.join(shared_dir, "values.h5")
    state = {"epoch": 3, "lr": 0.1, "name": "run-7", "flag": False, "none": None,
             "betas": (0.9, 0.999), "ints": [1, 2, 3], "strs": ["a", "b"],
             "bools": [True, False], "empty_list": [], "empty_tuple": (),
             "empty_dict": {}, "mixed": [1, "two", 3.0, None, [4, (5, 6)]],
             "nested": {"a": {"b": {"c": 1}}, "tuple_of_tuples": ((1, 2), (3,))},
             "by_int": {0: "zero", 7: {"x": 1.5}}, "big": 2 ** 62, "neg": -(2 ** 63),
             "tensors": [torch.arange(3), (torch.ones(2, dtype=torch.float16), None)],
             "np_array": np.arange(4, dtype=np.int16)}
    ht.save(state, path, COMM)
    back = {k: None for k in state}
    ht.load(back, path, comm=COMM)
    for k in state:
        if k == "np_array":
            ok = isinstance(back[k], np.ndarray) and np.array_equal(back[k], state[k]) \
                and back[k].dtype == np.int16
        else:
            ok = same_value(state[k], back[k])
        all_ok(ok, "%s: saved %r, loaded %r" % (k, state[k], back[k]))
    with h5ckpt.open(path, COMM) as ck:
        tree = ck.tree()
        all_ok(tree["betas"] == (0.9, 0.999) and tree["none"] is None
               and tree["by_int"][7] == {"x": 1.5} and tree["empty_tuple"] == (),
               "the analysis reader decodes the same values")
    raises_everywhere(h5ckpt.InvalidArgument, ht.save,
                      {"x": 1, "y": [object()] if RANK == SIZE - 1 else [1]}, path, COMM,
                      match="y/0: cannot store a object without pickling")


def test_nothing_is_pickled(shared_dir):
    """Every object in the file is a tensor dataset, a group or a typed
    attribute of the four types; no opaque or byte dataset."""
    h5py = pytest.importorskip("h5py")
    path = os.path.join(shared_dir, "nopickle.h5")
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m(torch.ones(1, 3)).sum().backward()
    opt.step()
    ht.save({"model": m, "optimizer": opt, "meta": {"x": (1, None)}}, path, COMM)
    bad = []
    if RANK == 0:
        def visit(name, obj):
            for a, v in obj.attrs.items():
                if obj.attrs.get_id(a).dtype.kind not in "iufbSOT" or \
                        isinstance(v, bytes) and not v.isascii():
                    bad.append((name, a))
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "OV" and \
                    name != "h5ckpt_checksums":
                bad.append(name)
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    all_ok(not COMM.bcast(bad), bad)


def test_strict_loads_raise_the_same_error_on_every_rank(shared_dir):
    path = os.path.join(shared_dir, "strict.h5")
    ht.save({"model": {"a": torch.ones(3), "b": torch.zeros(2, 2)}, "step": 4}, path, COMM)
    missing = {"model": {"a": torch.empty(3), "b": torch.empty(2, 2), "c": torch.empty(1)}}
    e = raises_everywhere(h5ckpt.NotFound, ht.load, missing, path, comm=COMM,
                          match="missing ['model/c']")
    all_ok(e.code == -6, e.code)
    extra = {"model": {"a": torch.empty(3)}}
    raises_everywhere(h5ckpt.NotFound, ht.load, extra, path, comm=COMM,
                      match="unexpected ['model/b']")
    shape = {"model": {"a": torch.empty(4), "b": torch.empty(2, 2)}}
    raises_everywhere(h5ckpt.ShapeMismatch, ht.load, shape, path, comm=COMM,
                      match="tensor 'model/a'")
    dtype = {"model": {"a": torch.empty(3, dtype=torch.float64), "b": torch.empty(2, 2)}}
    raises_everywhere(h5ckpt.DtypeMismatch, ht.load, dtype, path, comm=COMM,
                      match="tensor 'model/a': the state has dtype float64, the file float32")
    raises_everywhere(h5ckpt.ShapeMismatch, ht.load, shape, path, strict=False, comm=COMM)
    # non-strict: loads what matches and reports the rest
    part = {"model": {"a": torch.empty(3), "c": torch.empty(1)}, "step": None, "zz": 1}
    rep = ht.load(part, path, strict=False, comm=COMM)
    all_ok(rep.missing == ["@zz", "model/c"] and rep.unexpected == ["model/b"], rep)
    all_ok(torch.equal(part["model"]["a"], torch.ones(3)) and part["step"] == 4, part)


def test_hand_sharded_tensors_load_on_any_decomposition(shared_dir):
    path = os.path.join(shared_dir, "sharded.h5")
    full = torch.arange(7 * 10, dtype=torch.float32).reshape(7, 10)
    flat = torch.arange(23, dtype=torch.int64)
    r0, r1 = RANK * 7 // SIZE, (RANK + 1) * 7 // SIZE
    s0, s1 = RANK * 23 // SIZE, (RANK + 1) * 23 // SIZE
    cols = [c for c in range(10) if c % SIZE == RANK]
    sd = {"rows": ht.Sharded(full[r0:r1].clone(), (r0, 0), full.shape),
          "flat": ht.Sharded.flat(flat[s0:s1].clone(), s0, flat.shape),
          "cols": ht.Sharded.parts([(full[:, c:c + 1].clone(), (0, c)) for c in cols[::-1]],
                                   full.shape)}
    ht.save(sd, path, COMM)
    whole = {"rows": torch.empty(7, 10), "flat": torch.empty(23, dtype=torch.int64),
             "cols": torch.empty(7, 10)}
    ht.load(whole, path, comm=COMM)
    all_ok(torch.equal(whole["rows"], full) and torch.equal(whole["flat"], flat)
           and torch.equal(whole["cols"], full), "whole reads")
    # another decomposition: columns by rank for "rows", rows for "cols"
    mine_c = [c for c in range(10) if (c + 1) % SIZE == RANK]
    mine_r = [r for r in range(7) if r % SIZE == RANK]
    other = {"rows": ht.Sharded.parts([(torch.empty(7, 1), (0, c)) for c in mine_c],
                                      full.shape),
             "cols": ht.Sharded.parts([(torch.empty(1, 10), (r, 0)) for r in mine_r],
                                      full.shape),
             "flat": ht.Sharded(torch.empty(2, dtype=torch.int64), (min(RANK, 21),),
                                flat.shape)}
    ht.load(other, path, comm=COMM)
    # rank 0 alone holds every part; the others hold none and name the dtype
    half = full.to(torch.float16)
    solo = ht.Sharded.parts([(half[r:r + 1], (r, 0)) for r in range(7)] if RANK == 0 else [],
                            full.shape, dtype=torch.float16)
    ht.save({"solo": solo}, path + ".solo", COMM)
    back = {"solo": torch.empty(7, 10, dtype=torch.float16)}
    ht.load(back, path + ".solo", comm=COMM)
    all_ok(torch.equal(back["solo"], half), "parts on one rank")
    ok = all(torch.equal(t, full[:, c:c + 1]) for (t, (_, c)) in other["rows"].parts)
    ok &= all(torch.equal(t, full[r:r + 1]) for (t, (r, _)) in other["cols"].parts)
    ok &= torch.equal(other["flat"].tensor, flat[min(RANK, 21):min(RANK, 21) + 2])
    all_ok(ok, "re-decomposed reads")


class Two(torch.nn.Module):
    def __init__(self, order):
        super().__init__()
        layers = {"fc1": torch.nn.Linear(4, 3), "fc2": torch.nn.Linear(3, 2)}
        for name in order:  # registration order decides parameter order
            setattr(self, name, layers[name])

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def test_optimizer_state_loads_by_parameter_name_in_another_order(shared_dir):
    path = os.path.join(shared_dir, "opt.h5")
    torch.manual_seed(1)
    a = Two(["fc1", "fc2"])
    opt = torch.optim.AdamW(a.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        a(torch.randn(5, 4)).pow(2).sum().backward()
        opt.step()
    ht.save({"model": {"net": a}, "optimizer": opt}, path, COMM)
    b = Two(["fc2", "fc1"])  # the same parameters, registered in another order
    opt_b = torch.optim.AdamW(b.parameters(), lr=0.5)
    all_ok([n for n, _ in b.named_parameters()][0] == "fc2.weight", "order")
    ht.load({"model": {"net": b}, "optimizer": opt_b}, path, comm=COMM)
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    ok = all(torch.equal(pa[n], pb[n]) for n in pa)
    for n in pa:
        sa, sb = opt.state[pa[n]], opt_b.state[pb[n]]
        ok &= sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    ok &= opt_b.param_groups[0]["lr"] == 0.01
    all_ok(ok, "optimizer state did not follow the parameter names")
    with h5ckpt.open(path, COMM) as ck:
        st = ck.state()
        all_ok(sorted(st["optimizer"]["state"]) == ["net/fc1.bias", "net/fc1.weight",
                                                    "net/fc2.bias", "net/fc2.weight"],
               sorted(st["optimizer"]["state"]))
        all_ok(st["optimizer"]["param_groups"][0]["params"] ==
               ["net/fc1.weight", "net/fc1.bias", "net/fc2.weight", "net/fc2.bias"],
               st["optimizer"]["param_groups"])


def _plain_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OMPI_", "PMIX_", "OPAL_", "HYDRA_", "PMI_"))}


def test_python_written_files_verify_with_the_c_tool_and_read_with_h5py(shared_dir):
    h5py = pytest.importorskip("h5py")
    path = os.path.join(shared_dir, "interop.h5")
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    bf = torch.tensor([1.5, -2.0, 3.0], dtype=torch.bfloat16)
    ht.save({"model": {"w": w, "bf": bf, "mask": torch.tensor([True, False])},
             "epoch": 2}, path, COMM)
    result = None
    if RANK == 0:
        tool = os.environ.get("H5CKPT_TOOL") or build_path("tools", "h5ckpt")
        out = subprocess.run([tool, "verify", path], env=_plain_env(),
                             capture_output=True, text=True, timeout=120)
        with h5py.File(path, "r") as f:
            ok = (np.array_equal(f["model/w"][...], w.numpy())
                  and np.array_equal(f["model/bf"][...], bf.float().numpy())
                  and f["model/mask"].dtype == np.bool_
                  and f["model/bf"].attrs["h5ckpt_dtype"] in (b"bfloat16", "bfloat16")
                  and int(f.attrs["epoch"]) == 2)
        result = (out.returncode, out.stdout + out.stderr, ok)
    rc, text, ok = COMM.bcast(result)
    all_ok(rc == 0 and "ok (0 problems)" in text, text)
    all_ok(ok, "h5py read other values")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: CUDA "
                    "tensors (device pointers or host staging, loads back to the "
                    "device) are not tested here")
def test_cuda_tensors_round_trip_on_their_device(shared_dir):
    path = os.path.join(shared_dir, "cuda.h5")
    dev = torch.device("cuda", torch.cuda.current_device())
    sd = {"a": torch.randn(64, 33, device=dev), "b": torch.randn(8, 8, device=dev).t(),
          "c": torch.arange(10, device=dev).to(torch.bfloat16)}
    ht.save(sd, path, COMM)
    back = {k: torch.zeros(v.shape, dtype=v.dtype, device=dev) for k, v in sd.items()}
    back["b"] = torch.zeros(8, 8, device=dev).t()
    ht.load(back, path, comm=COMM)
    all_ok(all(back[k].device == dev and torch.equal(back[k], sd[k]) for k in sd), "cuda")
