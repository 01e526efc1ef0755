"""Exceptions: one class per error-code family of libh5ckpt, under Error.

Every exception carries the library's code (``e.code``, a negative int), its
symbolic name (``e.errname``, e.g. ``"H5CKPT_ENOTFOUND"``) and the one-line
message (``e.message``).  Collective calls raise the same exception, with
the same message, on every rank.
"""


class Error(Exception):
    """Base class of every h5ckpt error."""

    errname = "H5CKPT_E?"
    code = None

    def __init__(self, message, code=None, errname=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if errname is not None:
            self.errname = errname

    def __str__(self):
        return "%s (%s)" % (self.message, self.errname)

    def __reduce__(self):
        return (_rebuild, (self.errname, self.message))


class InvalidArgument(Error, ValueError):
    """H5CKPT_EINVAL: an argument is invalid."""


class OutOfMemory(Error, MemoryError):
    """H5CKPT_ENOMEM."""


class IOFailure(Error):
    """H5CKPT_EIO: the file system or HDF5 failed."""


class MPIError(Error):
    """H5CKPT_EMPI: an MPI call failed."""


class Disagree(Error):
    """H5CKPT_EDISAGREE: ranks passed different arguments to a collective call."""


class NotFound(Error, LookupError):
    """H5CKPT_ENOTFOUND: no such tensor, group or attribute (and strict loads)."""


class Exists(Error):
    """H5CKPT_EEXIST: already declared or already exists."""


class DtypeMismatch(Error, TypeError):
    """H5CKPT_EDTYPE: the dtype differs from the stored one."""


class ShapeMismatch(Error, ValueError):
    """H5CKPT_ESHAPE: the shape differs from the stored one."""


class LayoutError(Error):
    """H5CKPT_ELAYOUT: boxes overlap or do not cover a tensor."""


class InvalidName(Error, ValueError):
    """H5CKPT_ENAME: a path or attribute name breaks the naming rules."""


class NotCheckpoint(Error):
    """H5CKPT_ENOTCKPT: the file is not an h5ckpt checkpoint."""


class VersionError(Error):
    """H5CKPT_EVERSION: the file needs a newer reader."""


class NotCommitted(Error):
    """H5CKPT_ENOTCOMMITTED: an interrupted save, never committed."""


class IsADirectory(Error, IsADirectoryError):
    """H5CKPT_EISDIR: the path is a directory."""


class FileNotFound(Error, FileNotFoundError):
    """H5CKPT_ENOENT: no such file or directory."""


class ModeError(Error):
    """H5CKPT_EMODE: the operation is not allowed on this handle."""


class Corrupt(Error):
    """H5CKPT_ECORRUPT: a malformed checkpoint file."""


class NotSupported(Error, NotImplementedError):
    """H5CKPT_ENOTSUP: not supported by this build (or this torch)."""


class NoCheckpoint(Error):
    """H5CKPT_ENOCKPT: nothing to load, no committed checkpoint."""


class ChecksumMismatch(Corrupt):
    """H5CKPT_ECHECKSUM: the data read is not the data written."""


class DeviceError(Error):
    """H5CKPT_EDEVICE: a CUDA or NCCL error."""


# Symbolic name of each code (lib/h5ckpt.h, H5CKPT_ERRNO_MAP) -> class.
CLASSES = {
    "H5CKPT_EINVAL": InvalidArgument,
    "H5CKPT_ENOMEM": OutOfMemory,
    "H5CKPT_EIO": IOFailure,
    "H5CKPT_EMPI": MPIError,
    "H5CKPT_EDISAGREE": Disagree,
    "H5CKPT_ENOTFOUND": NotFound,
    "H5CKPT_EEXIST": Exists,
    "H5CKPT_EDTYPE": DtypeMismatch,
    "H5CKPT_ESHAPE": ShapeMismatch,
    "H5CKPT_ELAYOUT": LayoutError,
    "H5CKPT_ENAME": InvalidName,
    "H5CKPT_ENOTCKPT": NotCheckpoint,
    "H5CKPT_EVERSION": VersionError,
    "H5CKPT_ENOTCOMMITTED": NotCommitted,
    "H5CKPT_EISDIR": IsADirectory,
    "H5CKPT_ENOENT": FileNotFound,
    "H5CKPT_EMODE": ModeError,
    "H5CKPT_ECORRUPT": Corrupt,
    "H5CKPT_ENOTSUP": NotSupported,
    "H5CKPT_ENOCKPT": NoCheckpoint,
    "H5CKPT_ECHECKSUM": ChecksumMismatch,
    "H5CKPT_EDEVICE": DeviceError,
}

# Filled by _lib at load time from the library itself (h5ckpt_errname).
CODES = {}  # errname -> code


def make(errname, message, code=None):
    """The exception for library error `errname` with `message`."""
    cls = CLASSES.get(errname, Error)
    if code is None:
        code = CODES.get(errname)
    return cls(message, code=code, errname=errname)


def _rebuild(errname, message):
    return make(errname, message)
