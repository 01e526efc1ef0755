"""The binding's function table, structs and constants against lib/h5ckpt.h.

The header is parsed (prototypes, struct fields, #defines, enums and the
error and dtype X-macro tables) and every entry of h5ckpt._lib.FUNCTIONS is
compared with its prototype, so a changed C signature cannot silently
mis-bind.  test_checker_catches_a_changed_signature proves the comparison
can fail."""
import ctypes
import re

import pytest

from conftest import RANK, repo_path
from h5ckpt import _errors, _lib

pytestmark = pytest.mark.skipif(RANK != 0, reason="local test, rank 0 only")

ENUMS = {"h5ckpt_dtype", "h5ckpt_attr_type", "h5ckpt_memkind", "h5ckpt_executor",
         "h5ckpt_errcode"}
HANDLES = {"h5ckpt", "h5ckpt_mesh", "h5ckpt_layout", "h5ckpt_ckdir", "h5ckpt_state",
           "h5ckpt_snapshot"}
STRUCTS = {"h5ckpt_error": _lib.ErrorStruct, "h5ckpt_options": _lib.Options,
           "h5ckpt_buffer": _lib.BufferStruct,
           "h5ckpt_ckdir_options": _lib.CkdirOptions}
# C scalar types by their ctypes equivalent: compared by ABI (signedness and
# size), since ctypes cannot tell size_t from uint64_t on LP64 either.
SCALARS = {"int": ctypes.c_int, "unsigned": ctypes.c_uint, "size_t": ctypes.c_size_t,
           "uint64_t": ctypes.c_uint64, "int64_t": ctypes.c_int64,
           "double": ctypes.c_double,
           "MPI_Fint": ctypes.c_int}  # an int in Open MPI and MPICH (Fortran INTEGER)
BASE = {"char": "char", "void": "void", "MPI_Comm": "comm",
        "h5ckpt_problem_fn": "fn:problem"}


def abi(t):
    """'i4', 'u8', 'f8' ... of a ctypes scalar type."""
    code = t._type_
    kind = "f" if code in "fd" else ("u" if code in "BHILQ" else "i")
    return "%s%d" % (kind, ctypes.sizeof(t))


def header():
    with open(repo_path("lib", "h5ckpt.h")) as f:
        return f.read()


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def strip_preprocessor(text):
    return re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)


def c_type(decl):
    """Canonical name of a C type written in a declaration (name removed)."""
    decl = re.sub(r"\bconst\b", " ", decl)
    decl = decl.replace("*", " * ")
    toks = decl.split()
    stars = toks.count("*")
    words = [t for t in toks if t != "*"]
    base = words[0]
    if base in ENUMS:
        name = abi(ctypes.c_int)
    elif base in SCALARS:
        name = abi(SCALARS[base])
    elif base in HANDLES:
        name = "ptr"
        stars -= 1
    elif base in STRUCTS:
        name = "struct:" + base
    elif base in BASE:
        name = BASE[base]
    else:
        raise AssertionError("unknown C type %r" % decl)
    if name == "char" and stars >= 1:
        name, stars = "str", stars - 1
    elif name == "void" and stars >= 1:
        name, stars = "ptr", stars - 1
    return name + "*" * stars


def param_type(param):
    param = param.strip()
    if param == "void":
        return None
    m = re.match(r"(.*?)(\w+)\s*(\[\s*\d*\s*\])?$", param, re.S)
    return c_type(m.group(1))


def prototypes(text):
    """{name: (return type, [argument types])} of every H5CKPT_API function."""
    out = {}
    body = strip_preprocessor(strip_comments(text))
    for m in re.finditer(r"H5CKPT_API\s+([^;(]*?)\b(h5ckpt_\w+)\s*\(([^)]*)\)\s*;",
                         body, re.S):
        ret = " ".join(m.group(1).split())
        args = [a for a in (param_type(p) for p in m.group(3).split(",")) if a]
        out[m.group(2)] = (c_type(ret), args)
    return out


def ct(t):
    """Canonical name of a ctypes type."""
    if t is None:
        return "void"
    simple = {ctypes.c_char_p: "str", ctypes.c_void_p: "ptr",
              _lib.PROBLEM_FN: "fn:problem", ctypes.c_char: "char"}
    if t in simple:
        return simple[t]
    if t in SCALARS.values():
        return abi(t)
    for name, s in STRUCTS.items():
        if t is s:
            return "struct:" + name
    if hasattr(t, "_type_") and issubclass(t, ctypes._Pointer):
        return ct(t._type_) + "*"
    if hasattr(t, "_length_"):
        return "%s[%d]" % (ct(t._type_), t._length_)
    raise AssertionError("unknown ctypes type %r" % t)


def mismatches(protos):
    """Differences between the binding's table and parsed prototypes."""
    bad = []
    for name, (res, args) in _lib.FUNCTIONS.items():
        if name not in protos:
            bad.append("%s: bound but not in lib/h5ckpt.h" % name)
            continue
        want = protos[name]
        got = (ct(res), [ct(a) for a in args])
        if got != want:
            bad.append("%s: binding %s, header %s" % (name, got, want))
    for name in protos:
        if name not in _lib.FUNCTIONS and name not in _lib.NOT_BOUND:
            bad.append("%s: in lib/h5ckpt.h, neither bound nor listed in NOT_BOUND"
                       % name)
    for name in _lib.NOT_BOUND:
        if name not in protos:
            bad.append("%s: listed in NOT_BOUND but not in lib/h5ckpt.h" % name)
    return bad


def test_every_bound_function_matches_its_prototype():
    protos = prototypes(header())
    assert len(protos) > 80
    assert mismatches(protos) == []


def test_checker_catches_a_changed_signature():
    text = header().replace(
        "H5CKPT_API int h5ckpt_tensor_put(h5ckpt *ck, const char *path,\n"
        "                                 h5ckpt_dtype dtype,",
        "H5CKPT_API int h5ckpt_tensor_put(h5ckpt *ck, const char *path,\n"
        "                                 uint64_t dtype,")
    assert text != header()
    bad = mismatches(prototypes(text))
    assert len(bad) == 1 and bad[0].startswith("h5ckpt_tensor_put:")
    text = header().replace("H5CKPT_API size_t h5ckpt_tensor_count(",
                            "H5CKPT_API int h5ckpt_tensor_count(")
    assert text != header()
    assert mismatches(prototypes(text))[0].startswith("h5ckpt_tensor_count:")
    text = header().replace("H5CKPT_API int h5ckpt_flush(h5ckpt *ck);", "")
    assert mismatches(prototypes(text)) == ["h5ckpt_flush: bound but not in lib/h5ckpt.h"]


def struct_fields(text, name):
    m = re.search(r"typedef struct \{([^{}]*)\}\s*%s;" % name, strip_comments(text))
    assert m, name
    out = []
    for decl in m.group(1).split(";"):
        decl = " ".join(decl.split())
        if not decl:
            continue
        fm = re.match(r"(.*?)(\w+)\s*(?:\[(\w+)\])?$", decl)
        typ = c_type(fm.group(1))
        if fm.group(3):
            n = fm.group(3)
            n = int(n) if n.isdigit() else _lib.MSG_MAX
            typ = "%s[%d]" % (typ, n)
        out.append((fm.group(2), typ))
    return out


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_structs_match_the_header(name):
    want = struct_fields(header(), name)
    got = [(f, ct(t)) for f, t in STRUCTS[name]._fields_]
    assert got == want


def defines(text):
    return dict(re.findall(r"#define\s+(H5CKPT_\w+)\s+\(?(-?\d+)\)?\s*$", text, re.M))


def enum_values(text, first):
    m = re.search(r"typedef enum \{([^}]*%s[^}]*)\}" % first, strip_comments(text), re.S)
    return {k: int(v) for k, v in re.findall(r"(H5CKPT_\w+)\s*=\s*(-?\d+)", m.group(1))}


def test_constants_match_the_header():
    text = header()
    d = defines(text)
    assert int(d["H5CKPT_OPTIONS_VERSION"]) == _lib.OPTIONS_VERSION
    assert int(d["H5CKPT_BUFFER_VERSION"]) == _lib.BUFFER_VERSION
    assert int(d["H5CKPT_CKDIR_OPTIONS_VERSION"]) == _lib.CKDIR_OPTIONS_VERSION
    assert int(d["H5CKPT_MAX_NDIM"]) == _lib.MAX_NDIM
    assert int(d["H5CKPT_REPLICATE"]) == _lib.REPLICATE
    assert int(d["H5CKPT_CKDIR_NEXT"]) == _lib.CKDIR_NEXT
    assert int(d["H5CKPT_CKDIR_LATEST"]) == _lib.CKDIR_LATEST
    ex = enum_values(text, "H5CKPT_EXECUTOR_PLAIN")
    assert (ex["H5CKPT_EXECUTOR_PLAIN"], ex["H5CKPT_EXECUTOR_FAST"],
            ex["H5CKPT_EXECUTOR_DEFAULT"]) == (_lib.EXECUTOR_PLAIN, _lib.EXECUTOR_FAST,
                                               _lib.EXECUTOR_DEFAULT)
    mk = enum_values(text, "H5CKPT_MEM_HOST")
    assert (mk["H5CKPT_MEM_HOST"], mk["H5CKPT_MEM_CUDA"]) == (_lib.MEM_HOST, _lib.MEM_CUDA)
    at = enum_values(text, "H5CKPT_ATTR_INT64")
    assert [at["H5CKPT_ATTR_" + k] for k in ("INT64", "FLOAT64", "STRING", "BOOL")] == \
        [_lib.ATTR_INT64, _lib.ATTR_FLOAT64, _lib.ATTR_STRING, _lib.ATTR_BOOL]


def test_options_init_matches_the_header():
    text = header()
    m = re.search(r"#define H5CKPT_OPTIONS_INIT\s*\\?\s*\{([^}]*)\}", text)
    vals = {"H5CKPT_OPTIONS_VERSION": _lib.OPTIONS_VERSION, "NULL": None}
    vals.update({k: v for k, v in enum_values(text, "H5CKPT_EXECUTOR_PLAIN").items()})
    toks = [t.strip() for t in m.group(1).replace("\\", " ").split(",")]
    assert tuple(vals[t] if t in vals else int(t) for t in toks) == _lib.OPTIONS_INIT
    m = re.search(r"#define H5CKPT_CKDIR_OPTIONS_INIT\s*\{([^}]*)\}", text)
    toks = [t.strip() for t in m.group(1).split(",")]
    vals = {"H5CKPT_CKDIR_OPTIONS_VERSION": _lib.CKDIR_OPTIONS_VERSION}
    assert tuple(vals[t] if t in vals else int(t) for t in toks) == _lib.CKDIR_OPTIONS_INIT


def test_every_error_code_has_its_exception_class():
    table = re.findall(r"X\((\w+), (-?\d+), \"", header())
    assert len(table) > 20
    for name, value in table:
        if name == "OK":
            continue
        errname = "H5CKPT_" + name
        assert errname in _errors.CLASSES, errname
        assert _errors.CODES[errname] == int(value)
        e = _lib.error(int(value))
        assert isinstance(e, _errors.CLASSES[errname]) and isinstance(e, _errors.Error)
        assert e.code == int(value) and e.errname == errname
    assert set(_errors.CLASSES) == {"H5CKPT_" + n for n, _ in table if n != "OK"}


def test_dtype_table_matches_the_header():
    names = re.findall(r"X\(\w+, \"(\w+)\", \d+\)", header())
    assert names == _lib.DTYPES
    sizes = [int(s) for s in re.findall(r"X\(\w+, \"\w+\", (\d+)\)", header())]
    assert sizes == _lib.DTYPE_SIZE
