"""Live C objects, released before MPI is finalised.

mpi4py finalises MPI after Python's atexit handlers have run; handles,
meshes and directories hold duplicated communicators that must be freed
before that.  The handler below closes what is still open, newest first
(the same order on every rank of a program that leaks the same objects),
and from then on finalisers no longer call into the library.
"""
import atexit
import itertools
import weakref

_objects = weakref.WeakValueDictionary()
_counter = itertools.count()
_closed = False


def add(obj):
    _objects[next(_counter)] = obj


def alive():
    """False once the atexit handler has run (or the interpreter is going)."""
    return not _closed


@atexit.register
def _release():
    global _closed
    for key in sorted(_objects.keys(), reverse=True):
        obj = _objects.get(key)
        if obj is not None:
            try:
                obj._free()
            except Exception:
                pass
    _closed = True
