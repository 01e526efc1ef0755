"""The core Python API at 1-4 ranks: meshes and layouts, create/open as
context managers, zero-copy numpy buffers, attributes, checkpoint
directories, verify, and errors raised on every rank alike."""
import ctypes
import os
import threading

import numpy as np
import pytest
from mpi4py import MPI

import h5ckpt
from conftest import COMM, RANK, SIZE, all_ok, raises_everywhere


def values(shape, seed=0, dtype=np.float32):
    n = int(np.prod(shape)) if shape else 1
    return (np.arange(n, dtype=np.float64) * 0.5 + seed).astype(dtype).reshape(shape)


def mesh_2d():
    return h5ckpt.Mesh(COMM, (2, SIZE // 2), ("dp", "tp")) if SIZE % 2 == 0 and SIZE > 1 \
        else h5ckpt.Mesh(COMM)


def test_sharded_tensors_round_trip_on_another_layout(shared_dir):
    path = os.path.join(shared_dir, "sharded.h5")
    mesh = mesh_2d()
    full = values((9, 7))
    places = [h5ckpt.Shard(0), h5ckpt.Shard(1)] if mesh.ndim == 2 else [h5ckpt.Shard(1)]
    lay = h5ckpt.sharded(mesh, full.shape, places)
    (off, cnt), = lay.boxes() or [((0, 0), (0, 0))]
    local = np.ascontiguousarray(full[off[0]:off[0] + cnt[0], off[1]:off[1] + cnt[1]])
    bias = values((5,), 3.0, np.float64)
    with h5ckpt.create(path, COMM, mesh=mesh) as ck:
        ck.put("model/w", local, lay)
        ck.put("model/b", bias)  # replicated: written once
        ck.put_attr("", "step", 7)
    with h5ckpt.open(path, COMM) as ck:
        all_ok(ck.tensors() == ["model/b", "model/w"], ck.tensors())
        w = ck.read("model/w")
        b = ck.read("model/b")
        all_ok(np.array_equal(w, full) and np.array_equal(b, bias), "values differ")
        all_ok(ck.attrs("") == {"step": 7}, ck.attrs(""))
        all_ok(ck["model/w"].placements.startswith(
            "[Shard(0), Shard(1)] on mesh (dp=2" if mesh.ndim == 2 else "[Shard(1)]"),
            ck["model/w"].placements)
        # a 1-D mesh reader gets its own rows
        lay = h5ckpt.sharded(h5ckpt.Mesh(COMM), (9, 7), [h5ckpt.Shard(0)])
        part = ck.read("model/w", lay)
        (o, c), = lay.boxes() or [((0, 0), (0, 7))]
        all_ok(np.array_equal(part, full[o[0]:o[0] + c[0]]), "rows differ")


def test_replicated_tensors_are_written_once(shared_dir):
    path = os.path.join(shared_dir, "once.h5")
    data = [values((64, 16), i) for i in range(6)]
    ck = h5ckpt.create(path, COMM)
    for i, d in enumerate(data):
        ck.put("t%d" % i, d)
    ck.commit()
    total = COMM.allreduce(ck.bytes_written)
    ck.close()
    all_ok(total == sum(d.nbytes for d in data), "%d bytes written in all" % total)


def test_puts_read_the_callers_buffer_at_the_flush_zero_copy(shared_dir):
    """No copy at put: a change made after put() and before the commit is
    what the file holds, for contiguous and strided (transposed, sliced)
    arrays.  Negative strides are copied at put() (the C API takes positive
    strides only), so a later change is not seen."""
    path = os.path.join(shared_dir, "zerocopy.h5")
    base = values((6, 8))
    t = values((8, 6), 1.0)
    st = values((6, 16), 2.0)
    neg = values((4, 5), 3.0)
    with h5ckpt.create(path, COMM) as ck:
        ck.put("contig", base)
        ck.put("transposed", t.T)
        ck.put("sliced", st[:, ::2])
        ck.put("negative", neg[::-1])
        base[0, 0] = t[0, 0] = st[0, 0] = neg[-1, 0] = -42.0
    with h5ckpt.open(path, COMM) as ck:
        all_ok(ck.read("contig")[0, 0] == -42.0, "contiguous buffer was copied")
        all_ok(ck.read("transposed")[0, 0] == -42.0, "transposed buffer was copied")
        all_ok(ck.read("sliced")[0, 0] == -42.0, "strided buffer was copied")
        all_ok(np.array_equal(ck.read("transposed"), t.T), "transposed values")
        all_ok(np.array_equal(ck.read("sliced"), st[:, ::2]), "strided values")
        got = ck.read("negative")
        want = values((4, 5), 3.0)[::-1]
        all_ok(np.array_equal(got, want), "negative strides: %s" % got[:, 0])


def test_gets_fill_strided_and_negative_views_in_place(shared_dir):
    path = os.path.join(shared_dir, "views.h5")
    src = values((5, 6))
    with h5ckpt.create(path, COMM) as ck:
        ck.put("x", src)
    with h5ckpt.open(path, COMM) as ck:
        big = np.zeros((7, 12), np.float32)
        view = big[1:6, ::2]  # strided (5, 6) view
        rev = np.zeros((5, 6), np.float32)[::-1, ::-1]
        ck.get("x", view)
        ck.get("x", rev)
        ck.flush()
        all_ok(np.array_equal(view, src) and np.array_equal(rev, src), "views")
        all_ok(np.count_nonzero(big) == np.count_nonzero(src), "wrote outside the view")


def test_range_and_multi_box_layouts(shared_dir):
    path = os.path.join(shared_dir, "ranges.h5")
    full = values((7, 9), 0.0, np.float64)
    n = full.size
    lo, hi = RANK * n // SIZE, (RANK + 1) * n // SIZE
    flat = full.reshape(-1)[lo:hi].copy()
    # each rank holds the column blocks c where c % SIZE == RANK, last first
    parts = [((0, c), (7, 1)) for c in range(9) if c % SIZE == RANK][::-1]
    local = np.concatenate([full[:, o[1]] for o, _ in parts]) if parts else np.empty(0)
    with h5ckpt.create(path, COMM) as ck:
        ck.put("flat", flat, h5ckpt.flat_range(full.shape, lo, hi))
        ck.put("cols", local, h5ckpt.boxes(full.shape, parts))
    with h5ckpt.open(path, COMM) as ck:
        all_ok(np.array_equal(ck.read("flat"), full), "range layout")
        all_ok(np.array_equal(ck.read("cols"), full), "multi-box layout")
        mine = [((r, 0), (1, 9)) for r in range(7) if r % SIZE == RANK]
        got = ck.read("cols", h5ckpt.boxes(full.shape, mine))
        want = np.concatenate([full[o[0]] for o, _ in mine]) if mine else np.empty(0)
        all_ok(np.array_equal(got, want), "multi-box read")


def test_attributes_of_every_type(shared_dir):
    path = os.path.join(shared_dir, "attrs.h5")
    attrs = {"i": -5, "f": 2.5, "s": "h\u00e9llo", "b": True, "ia": [1, 2, 3],
             "fa": (0.5, 1e300), "sa": ["a", "bc"], "ba": [False, True],
             "np": np.int32(4), "npa": np.arange(3, dtype=np.int64)}
    with h5ckpt.create(path, COMM) as ck:
        for k, v in attrs.items():
            ck.put_attr("meta/run", k, v)
        ck.put("meta/x", values((2,)))
        ck.put_attr("meta/x", "unit", "m")
    with h5ckpt.open(path, COMM) as ck:
        got = ck.attrs("meta/run")
        want = {"i": -5, "f": 2.5, "s": "h\u00e9llo", "b": True, "ia": [1, 2, 3],
                "fa": [0.5, 1e300], "sa": ["a", "bc"], "ba": [False, True], "np": 4,
                "npa": [0, 1, 2]}
        all_ok(got == want and type(got["b"]) is bool and type(got["i"]) is int,
               got)
        all_ok(ck.attr("meta/x", "unit") == "m", "tensor attribute")


def test_an_empty_attribute_array_fails_the_commit_on_every_rank(shared_dir):
    ck = h5ckpt.create(os.path.join(shared_dir, "bad.h5"), COMM)
    ck.put_attr("", "empty", [])
    raises_everywhere(h5ckpt.InvalidArgument, ck.commit, match="cannot be empty")
    ck.close()
    all_ok(not os.path.exists(os.path.join(shared_dir, "bad.h5")), "file appeared")


def test_an_error_on_one_rank_is_raised_on_every_rank(shared_dir):
    """A put that fails in Python on one rank only (an object numpy cannot
    store) fails the commit on every rank with that rank's message."""
    ck = h5ckpt.create(os.path.join(shared_dir, "one.h5"), COMM)
    ck.put("x", values((3,)) if RANK != SIZE - 1 else object())
    e = raises_everywhere(h5ckpt.InvalidArgument, ck.commit, match="tensor 'x'")
    all_ok(e.code == -1 and e.errname == "H5CKPT_EINVAL", (e.code, e.errname))
    ck.close()


@pytest.mark.skipif(SIZE < 2, reason="needs 2 ranks")
def test_ranks_that_disagree_get_disagree_on_every_rank(shared_dir):
    ck = h5ckpt.create(os.path.join(shared_dir, "dis.h5"), COMM)
    ck.put("x", values((3 + (RANK == 1),)))
    raises_everywhere(h5ckpt.Disagree, ck.commit, match="ranks disagree")
    ck.close()


def test_reading_errors_carry_their_codes(shared_dir):
    path = os.path.join(shared_dir, "r.h5")
    with h5ckpt.create(path, COMM) as ck:
        ck.put("x", values((4,)))
    raises_everywhere(h5ckpt.FileNotFound, h5ckpt.open, path + ".missing", COMM)
    raises_everywhere(h5ckpt.IsADirectory, h5ckpt.open, shared_dir, COMM)
    with h5ckpt.open(path, COMM) as ck:
        ck.get("x", np.zeros(4, np.float64))
        e = raises_everywhere(h5ckpt.DtypeMismatch, ck.flush, match="float32, not float64")
        all_ok(isinstance(e, TypeError), "DtypeMismatch is a TypeError")
        ck.get("x", np.zeros(5, np.float32), h5ckpt.whole((5,)))
        raises_everywhere(h5ckpt.ShapeMismatch, ck.flush)
        raises_everywhere(h5ckpt.NotFound, ck.info, "y")
        ck.get("x", np.zeros(4, np.float32))
        ck.flush()  # the handle still works after failed flushes


def test_bad_names_and_modes(shared_dir):
    path = os.path.join(shared_dir, "n.h5")
    ck = h5ckpt.create(path, COMM)
    ck.put("a//b", values((2,)))
    raises_everywhere(h5ckpt.InvalidName, ck.commit)
    ck.close()
    with h5ckpt.create(path, COMM) as ck:
        ck.put("a", values((2,)))
    ck = h5ckpt.open(path, COMM)
    ck.close()
    raises_everywhere(h5ckpt.ModeError, ck.tensors)


def test_a_split_communicator_writes_its_own_checkpoint(shared_dir):
    half = COMM.Split(RANK % 2, RANK)
    path = os.path.join(shared_dir, "half%d.h5" % (RANK % 2))
    n = half.Get_size()
    mesh = h5ckpt.Mesh(half, (n,))
    full = values((4 * n,), 100.0 * (RANK % 2))
    lay = h5ckpt.sharded(mesh, full.shape, [h5ckpt.Shard(0)])
    (o, c), = lay.boxes()
    with h5ckpt.create(path, half, mesh=mesh) as ck:
        ck.put("v", full[o[0]:o[0] + c[0]], lay)
    with h5ckpt.open(path, half) as ck:
        all_ok(np.array_equal(ck.read("v"), full), "split communicator")
        all_ok(ck.root_info()["writer_nranks"] == n, ck.root_info())
    del mesh, lay
    half.Free()


def test_checkpoint_directories_keep_the_newest(shared_dir):
    d = h5ckpt.CheckpointDir(os.path.join(shared_dir, "run"), COMM, keep_last=2)
    all_ok(d.indices == [] and d.latest is None and d.next == 0, "empty")
    raises_everywhere(h5ckpt.NoCheckpoint, d.load)
    for step in range(3):
        with d.save() as ck:
            ck.put("w", values((3,), step))
            ck.put_attr("", "step", step)
    all_ok(d.indices == [1, 2] and d.latest == 2 and d.next == 3, d.indices)
    with d.load() as ck:
        all_ok(ck.attr("", "step") == 2 and np.array_equal(ck.read("w"), values((3,), 2)),
               "latest")
    with d.save(10) as ck:
        ck.put("w", values((3,), 10))
    all_ok(d.indices == [2, 10], d.indices)
    raises_everywhere(h5ckpt.FileNotFound, d.load, 5)
    all_ok(os.path.basename(d.path_of(10)) == "ckpt-000000010.h5", d.path_of(10))
    d.close()


def test_an_exception_in_the_with_block_aborts_the_save(shared_dir):
    path = os.path.join(shared_dir, "abort.h5")
    with h5ckpt.create(path, COMM) as ck:
        ck.put("x", values((2,)))
    with pytest.raises(KeyError):
        with h5ckpt.create(path, COMM) as ck:
            ck.put("x", values((2,), 9.0))
            raise KeyError("stop")
    with h5ckpt.open(path, COMM) as ck:
        all_ok(np.array_equal(ck.read("x"), values((2,))), "the old file changed")
    all_ok(sorted(os.listdir(shared_dir)) == ["abort.h5"], os.listdir(shared_dir))


def test_verify_reports_problems_of_a_corrupt_file(shared_dir):
    good = os.path.join(shared_dir, "good.h5")
    with h5ckpt.create(good, COMM) as ck:
        ck.put("x", values((64,)))
    all_ok(h5ckpt.verify(good, COMM) == [], "a good file has problems")
    bad = os.path.join(shared_dir, "bad.h5")
    with h5ckpt.create(bad, COMM) as ck:
        ck.put("x", np.full(64, 1.5, np.float32))
    if RANK == 0:  # flip one bit of the tensor's data
        with open(bad, "r+b") as f:
            raw = f.read()
            at = raw.index(np.full(64, 1.5, np.float32).tobytes()) + 100
            f.seek(at)
            f.write(bytes([raw[at] ^ 1]))
    COMM.Barrier()
    problems = h5ckpt.verify(bad, COMM)
    all_ok(len(problems) >= 1 and any("checksum" in m for _, m in problems), problems)
    all_ok(COMM.allgather(problems) == [problems] * SIZE, "ranks got different lists")
    raises_everywhere(h5ckpt.FileNotFound, h5ckpt.verify, good + ".nope", COMM)


def test_calls_release_the_gil(shared_dir):
    """ctypes.CDLL (not PyDLL) releases the GIL around each C call: another
    thread runs while a flush writes."""
    assert isinstance(h5ckpt._lib.lib, ctypes.CDLL)
    assert not isinstance(h5ckpt._lib.lib, ctypes.PyDLL)
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    big = np.ones((8 << 20) // 4, np.float32)
    th = threading.Thread(target=spin)
    th.start()
    try:
        path = os.path.join(shared_dir, "gil%d.h5" % RANK)
        ck = h5ckpt.create(path, MPI.COMM_SELF, fsync=True)
        for i in range(4):
            ck.put("t%d" % i, big)
        before = count[0]
        ck.commit()
        during = count[0] - before
        ck.close()
    finally:
        stop.set()
        th.join()
    all_ok(during > 0, "the other thread never ran during the commit")
