"""DTensor, FSDP2 and the DCP backend: need torch >= 2 (DTensor,
torch.distributed.checkpoint, fully_shard).  Debian's torch 1.13 has none of
them, so here every test skips with one visible line; they run where torch 2
is installed (the GPU machine of issue 18), on CUDA when a device exists,
else on CPU with gloo."""
import os

import pytest

torch = pytest.importorskip("torch")
import h5ckpt  # noqa: E402
import h5ckpt.torch as ht  # noqa: E402
from conftest import COMM, RANK, SIZE, all_ok, raises_everywhere  # noqa: E402

HAVE = ht.has_dtensor() and ht.HAVE_DCP
if not HAVE:  # one visible line for the whole file
    pytest.skip("torch %s has no DTensor, FSDP2 or torch.distributed.checkpoint: the "
                "DTensor, FSDP2 and DCP tests (5) need torch >= 2 and are not run here"
                % torch.__version__, allow_module_level=True)


def dt():
    try:
        import torch.distributed.tensor as m
    except ImportError:  # torch 2.0-2.3
        import torch.distributed._tensor as m
    return m


def device():
    return "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(scope="module", autouse=True)
def dist():
    from trainer import init_dist
    if HAVE:
        if device() == "cuda":
            torch.cuda.set_device(RANK % torch.cuda.device_count())
        init_dist() if device() == "cpu" else _init_nccl()
    yield


def _init_nccl():
    if not torch.distributed.is_initialized():
        port = COMM.bcast(29700 + os.getpid() % 20000 if RANK == 0 else None)
        torch.distributed.init_process_group(
            "cpu:gloo,cuda:nccl", init_method="tcp://127.0.0.1:%d" % port, rank=RANK,
            world_size=SIZE)


def mesh(shape=None, names=None):
    from torch.distributed.device_mesh import init_device_mesh
    shape = shape or ((2, SIZE // 2) if SIZE % 2 == 0 and SIZE > 1 else (SIZE,))
    names = names or (("dp", "tp") if len(shape) == 2 else ("dp",))
    return init_device_mesh(device(), shape, mesh_dim_names=names)


def test_dtensor_shards_are_a_mesh_layout_and_load_on_another_placement(shared_dir):
    m = dt()
    path = os.path.join(shared_dir, "dtensor.h5")
    dm = mesh()
    torch.manual_seed(0)
    full = torch.randn(10, 7, device=device())
    places = [m.Shard(0), m.Shard(1)] if dm.ndim == 2 else [m.Shard(0)]
    sd = {"w": m.distribute_tensor(full, dm, places),
          "b": m.distribute_tensor(full[0].clone(), dm, [m.Replicate()] * dm.ndim)}
    ht.save(sd, path, COMM)
    with h5ckpt.open(path, COMM) as ck:
        all_ok(torch.equal(torch.from_numpy(ck.read("w")), full.cpu()), "global array")
        all_ok(ck["w"].placements.startswith("[Shard(0)"), ck["w"].placements)
    other = {"w": m.distribute_tensor(torch.zeros(10, 7, device=device()), dm,
                                      [m.Shard(1)] + [m.Replicate()] * (dm.ndim - 1)),
             "b": m.distribute_tensor(torch.zeros(7, device=device()), dm,
                                      [m.Shard(0)] * dm.ndim)}
    ht.load(other, path, comm=COMM)
    all_ok(torch.equal(other["w"].full_tensor(), full) and
           torch.equal(other["b"].full_tensor(), full[0]), "resharded load")


def test_a_partial_placement_is_refused_naming_the_tensor(shared_dir):
    m = dt()
    dm = mesh((SIZE,), ("dp",))
    p = m.DTensor.from_local(torch.ones(3, device=device()), dm, [m.Partial()])
    raises_everywhere(h5ckpt.NotSupported, ht.save, {"grad": p},
                      os.path.join(shared_dir, "p.h5"), COMM,
                      match="tensor 'grad': placement")


@pytest.mark.skipif(SIZE < 2, reason="needs 2 ranks")
def test_a_device_mesh_of_other_ranks_is_refused(shared_dir):
    from torch.distributed.device_mesh import DeviceMesh
    m = dt()
    dm = DeviceMesh(device(), torch.arange(SIZE).flip(0))
    t = m.distribute_tensor(torch.ones(SIZE * 2, device=device()), dm, [m.Shard(0)])
    raises_everywhere(h5ckpt.InvalidArgument, ht.save, {"t": t},
                      os.path.join(shared_dir, "m.h5"), COMM, match="same ranks, in order")


def _fsdp2_model():
    try:
        from torch.distributed.fsdp import fully_shard
    except ImportError:
        from torch.distributed._composable.fsdp import fully_shard
    from trainer import Net
    torch.manual_seed(0)
    net = Net().to(device())
    dm = mesh((SIZE,), ("dp",))
    for mod in (net.fc1, net.fc2):
        fully_shard(mod, mesh=dm)
    fully_shard(net, mesh=dm)
    return net


def _one_step(net, opt):
    from trainer import micro_batch
    tokens, image, labels = micro_batch(0, RANK)
    loss = torch.nn.functional.cross_entropy(net(tokens.to(device()), image.to(device())),
                                             labels.to(device()))
    loss.backward()
    opt.step()
    opt.zero_grad()


def test_fsdp2_model_and_optimizer_round_trip(shared_dir):
    from torch.distributed.checkpoint.state_dict import (get_model_state_dict,
                                                         get_optimizer_state_dict,
                                                         set_model_state_dict,
                                                         set_optimizer_state_dict)
    path = os.path.join(shared_dir, "fsdp2.h5")
    net = _fsdp2_model()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    _one_step(net, opt)
    ht.save({"model": get_model_state_dict(net),
             "optimizer": get_optimizer_state_dict(net, opt)}, path, COMM)
    net2 = _fsdp2_model()
    opt2 = torch.optim.AdamW(net2.parameters(), lr=1e-2)
    sd = {"model": get_model_state_dict(net2), "optimizer": get_optimizer_state_dict(net2, opt2)}
    rep = ht.load(sd, path, comm=COMM)
    all_ok(rep.missing == [] and rep.unexpected == [], rep)
    set_model_state_dict(net2, sd["model"])
    set_optimizer_state_dict(net2, opt2, sd["optimizer"])
    a, b = get_model_state_dict(net), get_model_state_dict(net2)
    all_ok(all(torch.equal(a[k].full_tensor() if hasattr(a[k], "full_tensor") else a[k],
                           b[k].full_tensor() if hasattr(b[k], "full_tensor") else b[k])
               for k in a), "FSDP2 model")


def test_dcp_writer_and_reader_make_one_h5ckpt_file(shared_dir):
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import (get_model_state_dict,
                                                         get_optimizer_state_dict)
    path = os.path.join(shared_dir, "dcp.h5")
    net = _fsdp2_model()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    _one_step(net, opt)
    sd = {"model": get_model_state_dict(net), "optim": get_optimizer_state_dict(net, opt),
          "extra": {"step": 5, "note": "dcp", "betas": (0.9, 0.99)}}
    dcp.save(sd, storage_writer=ht.DCPWriter(path))
    all_ok(h5ckpt.verify(path, COMM) == [], "verify")
    with h5ckpt.open(path, COMM) as ck:
        full = get_model_state_dict(net)["fc1.weight"].full_tensor().cpu()
        all_ok(torch.equal(torch.from_numpy(ck.read("model.fc1.weight")), full), "global")
        objs = ck.attr("", "dcp_objects")
        all_ok("extra.step" in objs, objs)
    net2 = _fsdp2_model()
    opt2 = torch.optim.AdamW(net2.parameters(), lr=1e-2)
    sd2 = {"model": get_model_state_dict(net2), "optim": get_optimizer_state_dict(net2, opt2),
           "extra": {"step": 0, "note": "", "betas": None}}
    dcp.load(sd2, storage_reader=ht.DCPReader(path))
    all_ok(sd2["extra"] == {"step": 5, "note": "dcp", "betas": (0.9, 0.99)}, sd2["extra"])
    a, b = sd["model"], sd2["model"]
    all_ok(all(torch.equal(a[k].full_tensor(), b[k].full_tensor()) for k in a), "DCP model")
