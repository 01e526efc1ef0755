"""The ctypes binding of libh5ckpt: where the library is, its structs and its
function table.

Why ctypes: it is in the standard library (no dependency, no compile step)
and a ``ctypes.CDLL`` releases the GIL around every foreign call, so other
Python threads run while a checkpoint is written.  cffi's ABI mode would
give the same without those two properties for free.

``FUNCTIONS`` below is the single place where C signatures are written down;
``tests/python/test_binding.py`` parses ``lib/h5ckpt.h`` and checks every
entry (return and argument types) and every struct, so a changed C
signature cannot silently mis-bind.
"""
import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double,
                    c_int, c_int64, c_size_t, c_uint, c_uint64, c_void_p)

from . import _errors

# MPI_Fint is a C int in Open MPI and MPICH (Fortran INTEGER).
MPI_Fint = c_int
c_int_p = POINTER(c_int)
c_uint64_p = POINTER(c_uint64)
c_int64_p = POINTER(c_int64)
c_size_t_p = POINTER(c_size_t)
c_void_pp = POINTER(c_void_p)
c_char_pp = POINTER(c_char_p)

MSG_MAX = 512


class ErrorStruct(Structure):
    """h5ckpt_error"""
    _fields_ = [("code", c_int), ("message", c_char * MSG_MAX)]


class Options(Structure):
    """h5ckpt_options (zeroed: the defaults)"""
    _fields_ = [("version", c_uint), ("mesh", c_void_p), ("executor", c_int),
                ("no_fsync", c_int), ("no_file_locking", c_int),
                ("alignment", c_uint64), ("verify_checksums", c_int),
                ("staging_bytes", c_uint64), ("no_exchange", c_int),
                ("no_direct", c_int), ("snapshot_bytes", c_uint64),
                ("snapshot", c_void_p)]


class BufferStruct(Structure):
    """h5ckpt_buffer"""
    _fields_ = [("version", c_uint), ("kind", c_int), ("strides", c_int64_p)]


class CkdirOptions(Structure):
    """h5ckpt_ckdir_options"""
    _fields_ = [("version", c_uint), ("keep_last", c_int),
                ("keep_every", c_int)]


PROBLEM_FN = CFUNCTYPE(None, c_void_p, c_char_p, c_char_p)

# Constants of lib/h5ckpt.h (checked against it by the tests).
OPTIONS_VERSION = 1
BUFFER_VERSION = 1
CKDIR_OPTIONS_VERSION = 1
EXECUTOR_DEFAULT, EXECUTOR_PLAIN, EXECUTOR_FAST = 0, 1, 2
MEM_HOST, MEM_CUDA = 0, 1
ATTR_INT64, ATTR_FLOAT64, ATTR_STRING, ATTR_BOOL = 0, 1, 2, 3
# H5CKPT_OPTIONS_INIT, field by field
OPTIONS_INIT = (OPTIONS_VERSION, None, EXECUTOR_DEFAULT, 0, 0, 0, 0, 0, 0, 0, 0, None)
CKDIR_OPTIONS_INIT = (CKDIR_OPTIONS_VERSION, 0, 0)
REPLICATE = -1
CKDIR_NEXT = -1
CKDIR_LATEST = -2
MAX_NDIM = 32

H = c_void_p  # every opaque handle: h5ckpt *, h5ckpt_mesh *, ...

# name: (return type, [argument types])
FUNCTIONS = {
    # errors, versions, dtypes
    "h5ckpt_strerror": (c_char_p, [c_int]),
    "h5ckpt_errname": (c_char_p, [c_int]),
    "h5ckpt_version": (c_char_p, []),
    "h5ckpt_version_number": (c_uint, []),
    "h5ckpt_dtype_name": (c_char_p, [c_int]),
    "h5ckpt_dtype_size": (c_size_t, [c_int]),
    "h5ckpt_dtype_from_name": (c_int, [c_int_p, c_char_p, POINTER(ErrorStruct)]),
    # meshes
    "h5ckpt_mesh_create_f": (c_int, [c_void_pp, MPI_Fint, c_int, c_int_p,
                                     c_char_pp, POINTER(ErrorStruct)]),
    "h5ckpt_mesh_free": (None, [H]),
    "h5ckpt_mesh_ndim": (c_int, [H]),
    "h5ckpt_mesh_size": (c_int, [H, c_int]),
    "h5ckpt_mesh_coord": (c_int, [H, c_int]),
    # layouts
    "h5ckpt_layout_sharded": (c_int, [c_void_pp, H, c_int, c_uint64_p,
                                      c_int_p, POINTER(ErrorStruct)]),
    "h5ckpt_layout_box": (c_int, [c_void_pp, c_int, c_uint64_p, c_uint64_p,
                                  c_uint64_p, POINTER(ErrorStruct)]),
    "h5ckpt_layout_whole": (c_int, [c_void_pp, c_int, c_uint64_p,
                                    POINTER(ErrorStruct)]),
    "h5ckpt_layout_none": (c_int, [c_void_pp, c_int, c_uint64_p,
                                   POINTER(ErrorStruct)]),
    "h5ckpt_layout_range": (c_int, [c_void_pp, c_int, c_uint64_p, c_uint64,
                                    c_uint64, POINTER(ErrorStruct)]),
    "h5ckpt_layout_boxes": (c_int, [c_void_pp, c_int, c_uint64_p, c_size_t,
                                    c_uint64_p, c_uint64_p,
                                    POINTER(ErrorStruct)]),
    "h5ckpt_layout_free": (None, [H]),
    "h5ckpt_layout_local_shape": (c_int, [H, c_int_p, c_uint64_p]),
    "h5ckpt_layout_local_count": (c_uint64, [H]),
    "h5ckpt_layout_box_count": (c_size_t, [H]),
    "h5ckpt_layout_box_at": (c_int, [H, c_size_t, c_uint64_p, c_uint64_p]),
    # handles
    "h5ckpt_create_f": (c_int, [c_void_pp, c_char_p, MPI_Fint,
                                POINTER(Options), POINTER(ErrorStruct)]),
    "h5ckpt_open_f": (c_int, [c_void_pp, c_char_p, MPI_Fint,
                              POINTER(Options), POINTER(ErrorStruct)]),
    "h5ckpt_commit": (c_int, [H]),
    "h5ckpt_commit_start": (c_int, [H]),
    "h5ckpt_commit_test": (c_int, [H, c_int_p]),
    "h5ckpt_commit_wait": (c_int, [H]),
    "h5ckpt_snapshot_create": (c_int, [c_void_pp]),
    "h5ckpt_snapshot_free": (None, [H]),
    "h5ckpt_snapshot_bytes": (c_uint64, [H]),
    "h5ckpt_close": (c_int, [H]),
    "h5ckpt_errmsg": (c_char_p, [H]),
    "h5ckpt_memkind_usable": (c_int, [c_int, POINTER(ErrorStruct)]),
    "h5ckpt_tensor_put": (c_int, [H, c_char_p, c_int, H, c_void_p,
                                  POINTER(BufferStruct)]),
    "h5ckpt_tensor_get": (c_int, [H, c_char_p, c_int, H, c_void_p,
                                  POINTER(BufferStruct)]),
    "h5ckpt_flush": (c_int, [H]),
    "h5ckpt_bytes_written": (c_uint64, [H]),
    "h5ckpt_bytes_read": (c_uint64, [H]),
    # listing
    "h5ckpt_tensor_count": (c_size_t, [H]),
    "h5ckpt_tensor_at": (c_char_p, [H, c_size_t]),
    "h5ckpt_tensor_info": (c_int, [H, c_char_p, c_int_p, c_int_p,
                                   c_uint64_p]),
    "h5ckpt_tensor_placements": (c_char_p, [H, c_char_p]),
    "h5ckpt_group_exists": (c_int, [H, c_char_p]),
    "h5ckpt_group_count": (c_size_t, [H]),
    "h5ckpt_group_at": (c_char_p, [H, c_size_t]),
    # attributes
    "h5ckpt_attr_put": (c_int, [H, c_char_p, c_char_p, c_int, c_size_t,
                                c_void_p]),
    "h5ckpt_attr_count": (c_size_t, [H, c_char_p]),
    "h5ckpt_attr_at": (c_char_p, [H, c_char_p, c_size_t]),
    "h5ckpt_attr_info": (c_int, [H, c_char_p, c_char_p, c_int_p, c_size_t_p]),
    "h5ckpt_attr_get": (c_int, [H, c_char_p, c_char_p, c_int, c_size_t,
                                c_void_p]),
    # file-level information
    "h5ckpt_format_versions": (c_int, [H, c_int64_p, c_int64_p]),
    "h5ckpt_writer_mesh": (c_int, [H, c_int_p, c_int64_p]),
    "h5ckpt_root_info": (c_int, [H, c_char_p, c_char_p, c_size_t]),
    # checkpoint directories
    "h5ckpt_ckdir_open_f": (c_int, [c_void_pp, c_char_p, MPI_Fint,
                                    POINTER(CkdirOptions),
                                    POINTER(ErrorStruct)]),
    "h5ckpt_ckdir_free": (None, [H]),
    "h5ckpt_ckdir_errmsg": (c_char_p, [H]),
    "h5ckpt_ckdir_refresh": (c_int, [H]),
    "h5ckpt_ckdir_count": (c_size_t, [H]),
    "h5ckpt_ckdir_at": (c_int64, [H, c_size_t]),
    "h5ckpt_ckdir_latest": (c_int, [H, c_int64_p]),
    "h5ckpt_ckdir_next": (c_int64, [H]),
    "h5ckpt_ckdir_path": (c_int, [H, c_int64, c_char_p, c_size_t]),
    "h5ckpt_ckdir_save": (c_int, [H, c_int64, c_void_pp, POINTER(Options)]),
    "h5ckpt_ckdir_commit": (c_int, [H, H]),
    "h5ckpt_ckdir_commit_start": (c_int, [H, H]),
    "h5ckpt_ckdir_commit_wait": (c_int, [H, H]),
    "h5ckpt_ckdir_load": (c_int, [H, c_int64, c_void_pp, POINTER(Options)]),
    # verification
    "h5ckpt_verify_f": (c_int, [c_char_p, MPI_Fint, PROBLEM_FN, c_void_p,
                                c_size_t_p, POINTER(ErrorStruct)]),
}

# Public functions deliberately not bound, and why (the binding test fails
# on any other function of lib/h5ckpt.h that is missing above).
NOT_BOUND = {
    "h5ckpt_mesh_create": "takes MPI_Comm: bound as h5ckpt_mesh_create_f",
    "h5ckpt_create": "takes MPI_Comm: bound as h5ckpt_create_f",
    "h5ckpt_open": "takes MPI_Comm: bound as h5ckpt_open_f",
    "h5ckpt_ckdir_open": "takes MPI_Comm: bound as h5ckpt_ckdir_open_f",
    "h5ckpt_verify": "takes MPI_Comm: bound as h5ckpt_verify_f",
    "h5ckpt_comm": "returns MPI_Comm: Python keeps the mpi4py communicator",
    "h5ckpt_options_init": "a zeroed Options (ctypes' default) is the same",
    "h5ckpt_attr_put_int64": "h5ckpt_attr_put covers it",
    "h5ckpt_attr_put_float64": "h5ckpt_attr_put covers it",
    "h5ckpt_attr_put_string": "h5ckpt_attr_put covers it",
    "h5ckpt_attr_put_bool": "h5ckpt_attr_put covers it",
    "h5ckpt_attr_get_int64": "h5ckpt_attr_get covers it",
    "h5ckpt_attr_get_float64": "h5ckpt_attr_get covers it",
    "h5ckpt_attr_get_string": "h5ckpt_attr_get covers it",
    "h5ckpt_attr_get_bool": "h5ckpt_attr_get covers it",
    # The state layer borrows C buffers per entry; h5ckpt.torch walks state
    # dicts itself over the core API (same file conventions).
    "h5ckpt_state_create": "state layer: h5ckpt.torch uses the core API",
    "h5ckpt_state_free": "state layer",
    "h5ckpt_state_errmsg": "state layer",
    "h5ckpt_state_add_model": "state layer",
    "h5ckpt_state_model_name": "state layer",
    "h5ckpt_state_add_param": "state layer",
    "h5ckpt_state_add_optim": "state layer",
    "h5ckpt_state_add_tensor": "state layer",
    "h5ckpt_state_add_attr": "state layer",
    "h5ckpt_state_save": "state layer",
    "h5ckpt_state_load": "state layer",
    "h5ckpt_state_load_file": "state layer (and takes MPI_Comm)",
    "h5ckpt_state_has_training_state": "state layer",
    "h5ckpt_state_missing_count": "state layer",
    "h5ckpt_state_missing_at": "state layer",
    "h5ckpt_state_unexpected_count": "state layer",
    "h5ckpt_state_unexpected_at": "state layer",
}


def _candidates():
    """Where to look for libh5ckpt, in order."""
    env = os.environ.get("H5CKPT_LIBRARY")
    if env:
        yield env
        return
    try:  # written by `make install` next to the installed package
        from . import _paths
        yield os.path.join(_paths.LIBDIR, "libh5ckpt.so.0")
    except ImportError:
        pass
    # the source tree, built in place: python/h5ckpt -> lib/.libs
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "..", "..", "lib", ".libs", "libh5ckpt.so")
    found = ctypes.util.find_library("h5ckpt")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            # mpi4py loads libmpi with RTLD_GLOBAL; libh5ckpt links the same.
            return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("h5ckpt: cannot load libh5ckpt; set H5CKPT_LIBRARY to "
                      "its path (tried: %s)" % "; ".join(tried or ["nothing"]))


lib, LIBRARY_PATH = _load()
for _name, (_res, _args) in FUNCTIONS.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args

# Error codes and dtypes as the loaded library knows them.
for _code in range(0, -64, -1):
    _n = lib.h5ckpt_errname(_code).decode()
    if _code < 0 and _n in _errors.CLASSES:
        _errors.CODES[_n] = _code

DTYPES = []  # index = h5ckpt_dtype
while True:
    _n = lib.h5ckpt_dtype_name(len(DTYPES))
    if _n is None:
        break
    DTYPES.append(_n.decode())
DTYPE_INDEX = {n: i for i, n in enumerate(DTYPES)}
DTYPE_SIZE = [lib.h5ckpt_dtype_size(i) for i in range(len(DTYPES))]


def error(code, message=None):
    """The exception for return code `code`."""
    name = lib.h5ckpt_errname(code).decode()
    if not message:
        message = lib.h5ckpt_strerror(code).decode()
    return _errors.make(name, message, code)


def check(code, message=None):
    """Raise the exception of `code` unless it is 0."""
    if code != 0:
        raise error(code, message() if callable(message) else message)


def u64_array(values):
    values = [int(v) for v in values]
    return (c_uint64 * max(len(values), 1))(*values)


def int_array(values):
    values = [int(v) for v in values]
    return (c_int * max(len(values), 1))(*values)


def text(s):
    """str -> UTF-8 bytes for the C API (None stays None)."""
    if s is None or isinstance(s, bytes):
        return s
    return s.encode("utf-8")


def path_bytes(p):
    return os.fsencode(p)
