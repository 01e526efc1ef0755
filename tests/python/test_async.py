"""Asynchronous saves (h5ckpt.torch.async_save, save_checkpoint(...,
async_=True), Writer.commit_start/test/wait): the tensors are overwritten
right after the call returns and the file holds the values they had when
it was called, at 1-4 ranks."""
import os
import time

import pytest

torch = pytest.importorskip("torch")
import h5ckpt  # noqa: E402
import h5ckpt.torch as ht  # noqa: E402
from conftest import COMM, RANK, SIZE, all_ok, raises_everywhere  # noqa: E402
from trainer import init_dist, make, train_step  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module", autouse=True)
def gloo():
    init_dist()
    yield


def sharded_rows(full):
    """This rank's rows of `full` (uneven split), as Sharded."""
    n = full.shape[0]
    lo, hi = n * RANK // SIZE, n * (RANK + 1) // SIZE
    return ht.Sharded(full[lo:hi].clone(), (lo, 0), tuple(full.shape))


def test_async_save_writes_the_values_of_the_call_not_later_ones(shared_dir):
    path = os.path.join(shared_dir, "a.h5")
    big = torch.arange(1 << 20, dtype=torch.float32).reshape(1024, 1024)
    want_big = big.clone()
    part = sharded_rows(torch.arange(70 * 3, dtype=torch.int64).reshape(70, 3) + 5)
    want_part = part.tensor.clone()
    bf = torch.linspace(-3, 3, 1000).to(torch.bfloat16)
    want_bf = bf.clone()
    h = ht.async_save({"model": {"w": big, "bf": bf, "p": part}, "step": 7}, path, COMM)
    big.fill_(-1.0)  # overwritten at once: the file must not see it
    part.tensor.zero_()
    bf.fill_(9)
    while not h.done():
        time.sleep(0.001)
    all_ok(h.done(), "done")
    all_ok(h.wait() == path, "wait returns the path")
    all_ok(h.done() and h.wait() == path, "wait again is a no-op")
    got = {"model": {"w": torch.empty_like(big), "bf": torch.empty_like(bf),
                     "p": ht.Sharded(torch.empty_like(want_part), part.offsets,
                                     part.global_shape)},
           "step": 0}
    report = ht.load(got, path, comm=COMM)
    all_ok(not report.missing and not report.unexpected, report)
    all_ok(torch.equal(got["model"]["w"], want_big), "big tensor")
    all_ok(torch.equal(got["model"]["bf"], want_bf), "bfloat16")
    all_ok(torch.equal(got["model"]["p"].tensor, want_part), "sharded part")
    all_ok(got["step"] == 7, got["step"])
    all_ok(h5ckpt.verify(path, COMM) == [], "verify")


def test_save_checkpoint_async_resumes_from_the_state_at_the_call(shared_dir):
    d = os.path.join(shared_dir, "run")
    net, opt, sched, scaler = make(1)
    train_step(0, net, opt, sched, scaler, RANK, SIZE)
    want = {k: v.clone() for k, v in net.state_dict().items()}
    want_lr = sched.get_last_lr()
    h = ht.save_checkpoint(d, net, opt, sched, scaler, async_=True,
                           metadata={"note": "async"})
    train_step(1, net, opt, sched, scaler, RANK, SIZE)  # changes every weight
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(123.0)
    all_ok(h.wait() == 0, "epoch")
    back, opt2, sched2, scaler2 = make(1)
    meta = {}
    all_ok(ht.load_checkpoint(d, back, opt2, sched2, scaler2, metadata_dict=meta) == 0,
           "loaded epoch")
    sd = back.state_dict()
    all_ok(all(torch.equal(sd[k], want[k]) for k in want), "weights of the call")
    all_ok(sched2.get_last_lr() == want_lr, (sched2.get_last_lr(), want_lr))
    all_ok(meta.get("note") == "async", meta)


def test_a_second_async_save_of_a_directory_waits_for_the_first(shared_dir):
    d = os.path.join(shared_dir, "run")
    net, opt, sched, scaler = make(1)
    h0 = ht.save_checkpoint(d, net, async_=True)
    h1 = ht.save_checkpoint(d, net, epoch=5, async_=True)
    all_ok(h1.wait() == 5 and h0.wait() == 0, "both epochs")
    all_ok(sorted(os.listdir(d)) == ["ckpt-000000000.h5", "ckpt-000000005.h5"],
           os.listdir(d))


def test_an_aborted_async_save_leaves_the_previous_file(shared_dir):
    path = os.path.join(shared_dir, "a.h5")
    ht.save({"x": torch.ones(3)}, path, COMM)
    h = ht.async_save({"x": torch.zeros(3)}, path, COMM)
    h.abort()
    got = {"x": torch.empty(3)}
    ht.load(got, path, comm=COMM)
    all_ok(torch.equal(got["x"], torch.ones(3)), got["x"])
    all_ok(sorted(os.listdir(shared_dir)) == ["a.h5"], os.listdir(shared_dir))


def test_writer_commit_start_then_wait_and_errors_after_it(shared_dir):
    path = os.path.join(shared_dir, "w.h5")
    snap = h5ckpt.Snapshot()
    a = torch.arange(10, dtype=torch.int32)
    with h5ckpt.create(path, COMM, snapshot=snap) as ck:
        ck.put("a", a)
        ck.commit_start()
        a.fill_(0)
        raises_everywhere(h5ckpt.ModeError, ck.commit_start)
        ck.commit_wait()
        all_ok(ck.committed and ck.commit_test(), "committed")
    all_ok(COMM.allreduce(snap.nbytes) > 0, "the snapshot memory is kept (by the owner)")
    snap.free()
    with h5ckpt.open(path, COMM) as r:
        all_ok((r["a"][:] == list(range(10))).all(), r["a"][:])
