"""save_checkpoint / load_checkpoint / load_model_weights: the behaviour of
the PyTorch checkpoint module they replace (models named by class,
duplicates Name0/Name1, wrappers unwrapped, epoch=None, missing directory,
a file path, metadata_dict in place, the loaded epoch), at 1-4 ranks."""
import os
import warnings

import pytest

torch = pytest.importorskip("torch")
import h5ckpt  # noqa: E402
import h5ckpt.torch as ht  # noqa: E402
from conftest import COMM, RANK, SIZE, all_ok, raises_everywhere  # noqa: E402
from trainer import CpuScaler, Net, init_dist, make, train_step  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module", autouse=True)
def gloo():
    init_dist()  # for DistributedDataParallel wrappers
    yield


class Net0(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((2,), 7.0))


def same_params(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_models_are_named_by_class_and_duplicates_numbered(shared_dir):
    d = os.path.join(shared_dir, "run")
    torch.manual_seed(0)
    models = [Net(), Net(), Net0()]
    all_ok(ht._seed.model_names(models) == ["Net1", "Net2", "Net0"],
           ht._seed.model_names(models))
    all_ok(ht._seed.model_names([Net(), Net0()]) == ["Net", "Net0"], "unique names")
    all_ok(ht.save_checkpoint(d, models) == 0, "first index")
    with h5ckpt.open(os.path.join(d, "ckpt-000000000.h5"), COMM) as ck:
        groups = [g for g in ck.groups() if g.count("/") == 1 and g.startswith("model/")]
        all_ok(groups == ["model/Net0", "model/Net1", "model/Net2"], groups)
        all_ok(ck.attr("", "epoch") == 0, ck.attrs(""))
    back = [Net(), Net(), Net0()]
    all_ok(ht.load_checkpoint(d, back) == 0, "epoch")
    all_ok(all(same_params(a, b) for a, b in zip(models, back)), "models")


def test_epoch_none_saves_at_the_next_index_and_loads_the_latest(shared_dir):
    d = os.path.join(shared_dir, "run")
    net, opt, sched, scaler = make(1)
    for step in range(2):
        train_step(step, net, opt, sched, scaler, RANK, SIZE)
        all_ok(ht.save_checkpoint(d, net, opt, sched, scaler) == step, "index")
    all_ok(sorted(os.listdir(d)) == ["ckpt-000000000.h5", "ckpt-000000001.h5"],
           os.listdir(d))
    n2, o2, s2, c2 = make(2)
    all_ok(ht.load_checkpoint(d, n2, o2, s2, c2) == 1, "latest")
    all_ok(same_params(net, n2) and s2.state_dict() == sched.state_dict()
           and c2.state_dict() == scaler.state_dict(), "latest state")
    all_ok(ht.load_checkpoint(d, n2, epoch=0) == 0, "epoch 0")
    all_ok(ht.save_checkpoint(d, net, epoch=7) == 7 and
           os.path.exists(os.path.join(d, "ckpt-000000007.h5")), "explicit epoch")
    raises_everywhere(h5ckpt.FileNotFound, ht.load_checkpoint, d, n2, epoch=5)


def test_a_missing_directory_warns_and_returns_0(shared_dir):
    net = Net()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = ht.load_checkpoint(os.path.join(shared_dir, "nothing"), net)
    all_ok(got == 0 and any("no checkpoint directory" in str(x.message) for x in w),
           [str(x.message) for x in w])
    os.makedirs(os.path.join(shared_dir, "empty"), exist_ok=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = ht.load_checkpoint(os.path.join(shared_dir, "empty"), net)
    all_ok(got == 0 and len(w) == 1, [str(x.message) for x in w])


def test_a_path_that_is_a_file_raises(shared_dir):
    f = os.path.join(shared_dir, "afile")
    if RANK == 0:
        open(f, "w").close()
    COMM.Barrier()
    raises_everywhere(h5ckpt.FileNotFound, ht.load_checkpoint, f, Net())
    raises_everywhere(h5ckpt.FileNotFound, ht.save_checkpoint, f, Net())


def test_metadata_dict_is_updated_in_place(shared_dir):
    d = os.path.join(shared_dir, "run")
    meta = {"best": 0.25, "tags": ("a", "b"), "none": None, "hist": [1.0, 2.5],
            "table": torch.arange(4), "nested": {"k": [1, None]}}
    ht.save_checkpoint(d, Net(), metadata=meta, epoch=3)
    md = {"keep": True}
    ref = md
    all_ok(ht.load_checkpoint(d, Net(), metadata_dict=md) == 3, "epoch")
    all_ok(md is ref and md["keep"] is True, "not in place")
    ok = all(type(md[k]) is type(v) and (torch.equal(md[k], v) if k == "table" else md[k] == v)
             for k, v in meta.items())
    all_ok(ok, md)


def test_wrappers_are_unwrapped(shared_dir):
    d = os.path.join(shared_dir, "run")
    torch.manual_seed(3)
    net = Net()
    ddp = torch.nn.parallel.DistributedDataParallel(net)
    dp = torch.nn.DataParallel(Net0())

    class Compiled(torch.nn.Module):  # what torch.compile returns (OptimizedModule)
        def __init__(self, m):
            super().__init__()
            self._orig_mod = m

    comp = Compiled(Net0())
    all_ok(ht._seed.model_names([ddp, dp, comp]) == ["Net", "Net00", "Net01"],
           ht._seed.model_names([ddp, dp, comp]))
    ht.save_checkpoint(d, [ddp, dp])
    with h5ckpt.open(os.path.join(d, "ckpt-000000000.h5"), COMM) as ck:
        all_ok("model/Net/fc1.weight" in ck and "model/Net0/w" in ck, ck.tensors())
    plain, p0 = Net(), Net0()
    ht.load_checkpoint(d, [torch.nn.parallel.DistributedDataParallel(plain), p0])
    all_ok(same_params(plain, net), "DDP")
    if hasattr(torch, "compile") and torch.__version__ >= "2":
        c = torch.compile(Net())
        ht.load_checkpoint(d, [c, Net0()])
        all_ok(same_params(c._orig_mod, net), "torch.compile")


def test_load_model_weights_from_a_file_or_a_directory(shared_dir):
    d = os.path.join(shared_dir, "run")
    net, opt, sched, scaler = make(4)
    train_step(0, net, opt, sched, scaler, RANK, SIZE)
    ht.save_checkpoint(d, net, opt, sched, scaler)
    a, b = Net(), Net()
    ht.load_model_weights(a, os.path.join(d, "ckpt-000000000.h5"))
    ht.load_model_weights(b, d)
    all_ok(same_params(a, net) and same_params(b, net), "weights")

    class Other(Net):
        pass
    c = Other()
    ht.load_model_weights(c, d)  # the file's only model, whatever its class
    all_ok(same_params(c, net), "the only model")
    if RANK == 0:
        os.makedirs(os.path.join(shared_dir, "empty_run"))
    COMM.Barrier()
    raises_everywhere(h5ckpt.NoCheckpoint, ht.load_model_weights, Net(),
                      os.path.join(shared_dir, "empty_run"))
    raises_everywhere(h5ckpt.NotFound, ht.load_model_weights, Net0(), d,
                      match="unexpected")


def test_scaler_state_uses_the_profile_names(shared_dir):
    d = os.path.join(shared_dir, "run")
    s = CpuScaler(growth_interval=3)
    s.update(False)
    s.update(True)
    s.update(False)
    ht.save_checkpoint(d, Net(), scaler=s)
    with h5ckpt.open(os.path.join(d, "ckpt-000000000.h5"), COMM) as ck:
        all_ok(ck.attrs("scaler") == {"scale": 512.0, "growth_factor": 2.0,
                                      "backoff_factor": 0.5, "growth_interval": 3,
                                      "growth_tracker": 1}, ck.attrs("scaler"))
    s2 = CpuScaler()
    ht.load_checkpoint(d, Net(), scaler=s2)
    all_ok(s2.state_dict() == s.state_dict(), s2.state_dict())


def named_net(**layers):
    """A module of class name "Net" with other layers."""
    def init(self):
        torch.nn.Module.__init__(self)
        for k, v in layers.items():
            setattr(self, k, v)
    return type("Net", (torch.nn.Module,), {"__init__": init})()


def test_a_different_model_fails_strictly_on_every_rank(shared_dir):
    d = os.path.join(shared_dir, "run")
    ht.save_checkpoint(d, Net())
    raises_everywhere(h5ckpt.NotFound, ht.load_checkpoint, d,
                      named_net(head=torch.nn.Linear(3, 3)),
                      match="missing ['model/Net/head.bias', 'model/Net/head.weight']; "
                      "unexpected ['model/Net/conv.bias'")
    raises_everywhere(h5ckpt.ShapeMismatch, ht.load_checkpoint, d,
                      named_net(fc1=torch.nn.Linear(3, 3)),
                      match="tensor 'model/Net/fc1.weight': the state has shape [3, 3], "
                      "the file [16, 56]")
