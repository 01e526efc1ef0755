"""Communicators (mpi4py) and agreement of Python-side errors across ranks.

mpi4py is imported on first use: importing ``mpi4py.MPI`` initialises MPI,
as a singleton when the process was not started by mpirun (an analysis
session on a laptop).
"""
from . import _errors


def MPI():
    from mpi4py import MPI as m
    return m


def resolve(comm, default="self"):
    """An mpi4py communicator: `comm`, or COMM_SELF / COMM_WORLD for None."""
    m = MPI()
    if comm is None:
        return m.COMM_SELF if default == "self" else m.COMM_WORLD
    if isinstance(comm, m.Comm):
        if comm == m.COMM_NULL:
            raise _errors.make("H5CKPT_EINVAL", "the communicator is MPI.COMM_NULL")
        return comm
    raise TypeError("expected an mpi4py communicator (mpi4py.MPI.Comm), got %s"
                    % type(comm).__name__)


def fint(comm):
    """The communicator's Fortran handle (MPI_Fint), for the *_f entry points."""
    return comm.py2f()


def agree(comm, exc):
    """Collective: raise on every rank the error of the lowest rank that has
    one (`exc`: an exception or None); return when no rank has one.

    Used where Python code decides something from per-rank input (a state
    dict, a tensor's dtype) so that every rank raises the same exception.
    """
    if comm.Get_size() == 1:
        if exc is not None:
            raise exc
        return
    mine = None
    if exc is not None:
        mine = (type(exc).__module__, type(exc).__qualname__,
                getattr(exc, "errname", None), str(getattr(exc, "message", exc)),
                comm.Get_rank())
    every = comm.allgather(mine)
    first = next((e for e in every if e is not None), None)
    if first is None:
        return
    if exc is not None and first[4] == comm.Get_rank():
        raise exc
    module, qualname, errname, message, rank = first
    if errname:
        raise _errors.make(errname, message)
    raise _rebuild(module, qualname, "rank %d: %s" % (rank, message))


def _rebuild(module, qualname, message):
    import builtins
    cls = getattr(builtins, qualname, None) if module == "builtins" else None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return RuntimeError(message)


def any_true(comm, flag):
    """Collective: True on every rank if `flag` is true on any."""
    if comm.Get_size() == 1:
        return bool(flag)
    return bool(comm.allreduce(1 if flag else 0))
