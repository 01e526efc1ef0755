"""Shared fixtures of the Python tests (run under mpirun at 1-4 ranks by
tests/python/run.sh; every rank runs every test, in the same order).

Assertions that could differ between ranks go through `all_ok` (reduced over
ranks first) so that all ranks fail together and none is left waiting in a
collective call; only rank 0 prints pytest's report."""
import os
import shutil
import tempfile

import pytest
from mpi4py import MPI

COMM = MPI.COMM_WORLD
RANK, SIZE = COMM.Get_rank(), COMM.Get_size()
os.environ.setdefault("OMP_NUM_THREADS", "1")


def all_ok(cond, msg=""):
    """Collective assertion: fails on every rank when `cond` is false on any
    (with the message of the lowest failing rank)."""
    bad = COMM.allgather(None if cond else "rank %d: %s" % (RANK, msg))
    bad = [b for b in bad if b]
    assert not bad, "; ".join(bad)


def raises_everywhere(exc_type, fn, *args, match=None, **kwargs):
    """Collective: `fn` raises `exc_type` on every rank, with the same message
    (containing `match`).  Returns the exception."""
    got = None
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        got = e
    desc = None if got is None else (type(got).__name__, str(got))
    every = COMM.allgather(desc)
    all_ok(isinstance(got, exc_type), "expected %s, got %r" % (exc_type.__name__, got))
    all_ok(len({e for e in every}) == 1, "ranks raised differently: %s" % every)
    if match is not None:
        all_ok(match in str(got), "%r not in %r" % (match, str(got)))
    return got


@pytest.fixture
def shared_dir():
    """A scratch directory, the same on every rank, removed afterwards."""
    d = tempfile.mkdtemp(prefix="h5ckpt-py-") if RANK == 0 else None
    d = COMM.bcast(d, root=0)
    yield d
    COMM.Barrier()
    if RANK == 0:
        shutil.rmtree(d, ignore_errors=True)


def repo_path(*parts):
    top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
    return os.path.join(top, *parts)


def build_path(*parts):
    top = os.environ.get("top_builddir") or os.path.join(os.path.dirname(__file__), "..", "..")
    return os.path.join(top, *parts)
