#!/usr/bin/python3
"""Write the malformed-file corpus and its MANIFEST (see make_corpus.sh).

usage: make_corpus.py BASE.h5 OUTDIR

BASE.h5 is a valid checkpoint written by tests/scripts/sample (1 rank).  Every
case below derives one file from it (or from `mini`, a small copy written with
HDF5's earliest file format, whose object headers carry no checksums, so that
bytes can be patched in place) and states the outcome the library must give.

MANIFEST lines:  FILE CODE STAGE  # what is wrong
  CODE   OK or the h5ckpt error name without its H5CKPT_ prefix (ECORRUPT ...)
  STAGE  open: h5ckpt_open fails with CODE;
         read: open succeeds, reading a tensor whole fails with CODE;
         none: open, listing and reading every tensor all succeed (CODE OK).
Outcomes of bit flips that HDF5 cannot notice are stated exactly too.
"""
import os
import re
import shutil
import struct
import sys

import h5py
import numpy as np

BASE, OUT = sys.argv[1], sys.argv[2]
RAW = open(BASE, "rb").read()
# Pin h5ckpt_created (a string in the global heap, same length): fewer bytes
# change when the corpus is regenerated (HDF5's object times still do).
_stamp = re.search(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", RAW)
RAW = RAW.replace(_stamp.group(0), b"2026-01-01T00:00:00Z")
BASE = os.path.join(OUT, "valid.h5")
with open(BASE, "wb") as _f:
    _f.write(RAW)
cases = []  # (name, code, stage, why)


def case(name, code, stage, why):
    assert (code == "OK") == (stage == "none"), name
    cases.append((name + ".h5", code, stage, why))
    return os.path.join(OUT, name + ".h5")


def copy(name, code, stage, why, src=None):
    p = case(name, code, stage, why)
    shutil.copyfile(src or BASE, p)
    return p


def write_bytes(name, code, stage, why, data):
    with open(case(name, code, stage, why), "wb") as f:
        f.write(data)


def flip(name, code, stage, why, offset, bit=0, src=None):
    data = bytearray(open(src, "rb").read() if src else RAW)
    data[offset] ^= 1 << bit
    write_bytes(name, code, stage, why, bytes(data))


def edit(name, code, stage, why, fn, src=None):
    p = copy(name, code, stage, why, src)
    with h5py.File(p, "r+") as f:
        fn(f)


def fixed_str(f, obj, name, value, pad):
    """A fixed-length string attribute of exactly len(value) bytes."""
    t = h5py.h5t.C_S1.copy()
    t.set_size(len(value))
    t.set_strpad(pad)
    if name in obj.attrs:
        del obj.attrs[name]
    sp = h5py.h5s.create(h5py.h5s.SCALAR)
    a = h5py.h5a.create(obj.id, name.encode(), t, sp)
    a.write(np.array(value, dtype="S%d" % len(value)), mtype=t)


def tensor(f, path, data, dtype_name, **kw):
    d = f.create_dataset(path, data=data, **kw)
    d.attrs.create("h5ckpt_dtype", dtype_name.encode(), dtype="S%d" % len(dtype_name))
    d.attrs.create("h5ckpt_placements", b"explicit", dtype="S8")
    return d


def compact_tensor(f):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    sp = h5py.h5s.create_simple((6,))
    d = h5py.h5d.create(f.id, b"small", h5py.h5t.STD_I16LE, sp, dcpl=dcpl)
    d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(6, dtype="<i2"))
    ds = f["small"]
    ds.attrs.create("h5ckpt_dtype", b"int16", dtype="S5")
    ds.attrs.create("h5ckpt_placements", b"explicit", dtype="S8")


# ---- a small valid checkpoint in HDF5's earliest format (no checksums) ----
MINI = os.path.join(OUT, "valid_mini.h5")
with h5py.File(BASE, "r") as src, h5py.File(MINI, "w", libver="earliest") as f:
    for k, v in src.attrs.items():
        f.attrs.create(k, v, dtype=src.attrs.get_id(k).dtype)
    src.copy("step", f, name="step")
    d = f.create_dataset("w", data=np.arange(37, dtype=np.int8))
    for k in ("h5ckpt_dtype", "h5ckpt_placements"):
        d.attrs[k] = src["model/ids"].attrs[k]
    d.attrs["h5ckpt_dtype"] = "int8"
cases.append(("valid_mini.h5", "OK", "none", "valid: a small checkpoint rewritten by h5py (earliest format)"))
MINIRAW = open(MINI, "rb").read()


def patch_mini(name, code, stage, why, old, new, count):
    assert MINIRAW.count(old) == count, (name, MINIRAW.count(old))
    write_bytes(name, code, stage, why, MINIRAW.replace(old, new))


# ---- valid files ----
cases.append(("valid.h5", "OK", "none", "valid: written by tests/scripts/sample"))

# ---- not HDF5 at all ----
write_bytes("empty", "ENOTCKPT", "open", "empty file", b"")
write_bytes("text", "ENOTCKPT", "open", "plain text file", b"this is not a checkpoint\n" * 8)
write_bytes("random", "ENOTCKPT", "open", "1 KiB of pseudo-random bytes",
            bytes(np.random.RandomState(6).randint(0, 256, 1024, dtype=np.uint8)))
write_bytes("signature_only", "ENOTCKPT", "open", "the HDF5 signature and nothing else",
            RAW[:8])

# ---- truncations ----
for n, why in ((48, "after the superblock"), (512, "in the root object header"),
               (len(RAW) // 2, "at half"), (len(RAW) - 1, "by one byte")):
    write_bytes("truncated_%d" % n, "ENOTCKPT", "open", "truncated " + why, RAW[:n])

# ---- bit flips in the superblock (version 3, checksummed) ----
for off, what in ((0, "signature"), (8, "version"), (9, "size of offsets"),
                  (13, "base address"), (29, "end-of-file address"),
                  (37, "root object header address"), (45, "checksum")):
    flip("flip_superblock_%d" % off, "ENOTCKPT", "open", "bit flip in the superblock " + what, off)

# ---- bit flips in object headers (checksummed) ----
ohdr = [i for i in range(len(RAW)) if RAW.startswith(b"OHDR", i)]
flip("flip_root_header", "ENOTCKPT", "open", "bit flip inside the root group's object header",
     ohdr[0] + 12, 3)
flip("flip_dataset_header", "ECORRUPT", "open", "bit flip inside a dataset's object header",
     ohdr[-1] + 12, 3)
flip("flip_header_signature", "ECORRUPT", "open", "bit flip in a dataset's OHDR signature",
     ohdr[-1], 1)

# ---- bit flips in attribute values (strings live in the unchecksummed global heap) ----
flip("flip_dtype_value", "ECORRUPT", "open", "bit flip turns h5ckpt_dtype 'float32' into 'float33'",
     RAW.index(b"float32") + 6, 0)
flip("flip_format_value", "ENOTCKPT", "open", "bit flip turns h5ckpt_format 'h5ckpt' into 'h5ckpu'",
     RAW.index(b"h5ckpt\0") + 5, 0)
# ---- a bit flip in tensor data: HDF5 cannot notice it (verify's job) ----
flip("flip_tensor_data", "OK", "none", "bit flip in the data of model/embed.weight (undetectable here)",
     RAW.index(struct.pack("<4f", 0.5, 1.0, 1.5, 2.0)) + 2, 5)

# ---- required root attributes missing or mistyped ----
def drop(attr):
    return lambda f: f.attrs.__delitem__(attr)


def put(attr, value, dtype=None):
    def fn(f):
        del f.attrs[attr]
        f.attrs.create(attr, value, dtype=dtype)
    return fn


edit("no_format", "ENOTCKPT", "open", "no h5ckpt_format", drop("h5ckpt_format"))
edit("format_other", "ENOTCKPT", "open", "h5ckpt_format is 'h5ckpx'", put("h5ckpt_format", b"h5ckpx", "S6"))
edit("format_int", "ENOTCKPT", "open", "h5ckpt_format is an int64", put("h5ckpt_format", 1, "i8"))
edit("no_read_version", "ECORRUPT", "open", "no h5ckpt_read_version", drop("h5ckpt_read_version"))
edit("no_write_version", "ECORRUPT", "open", "no h5ckpt_write_version", drop("h5ckpt_write_version"))
edit("read_version_2", "EVERSION", "open", "h5ckpt_read_version 2 (newer than this reader)",
     put("h5ckpt_read_version", 2, "i8"))
edit("read_version_0", "EVERSION", "open", "h5ckpt_read_version 0", put("h5ckpt_read_version", 0, "i8"))
edit("read_version_negative", "EVERSION", "open", "h5ckpt_read_version -3",
     put("h5ckpt_read_version", -3, "i8"))
edit("read_version_string", "ECORRUPT", "open", "h5ckpt_read_version is a string",
     put("h5ckpt_read_version", b"1", "S1"))
edit("read_version_array", "ECORRUPT", "open", "h5ckpt_read_version is a 1-D array",
     put("h5ckpt_read_version", [1], "i8"))
edit("read_version_u64_huge", "ECORRUPT", "open", "h5ckpt_read_version is uint64 2^63+1 (would clamp)",
     put("h5ckpt_read_version", 2**63 + 1, "u8"))
edit("read_version_u8", "OK", "none", "h5ckpt_read_version stored as uint8 1 (any integer type is int64)",
     put("h5ckpt_read_version", 1, "u1"))
edit("write_version_99", "OK", "none", "unknown write version 99 with read version 1 must be read",
     put("h5ckpt_write_version", 99, "i8"))
edit("no_committed", "ENOTCOMMITTED", "open", "no h5ckpt_committed (interrupted save)",
     drop("h5ckpt_committed"))
edit("committed_0", "ENOTCOMMITTED", "open", "h5ckpt_committed = 0", put("h5ckpt_committed", 0, "i8"))
edit("committed_float", "ECORRUPT", "open", "h5ckpt_committed is a float64",
     put("h5ckpt_committed", 1.0, "f8"))
edit("no_nranks", "ECORRUPT", "open", "no h5ckpt_writer_nranks", drop("h5ckpt_writer_nranks"))
edit("nranks_zero", "ECORRUPT", "open", "h5ckpt_writer_nranks = 0 (mesh [1] does not multiply to it)",
     put("h5ckpt_writer_nranks", 0, "i8"))
edit("no_created", "ECORRUPT", "open", "no h5ckpt_created", drop("h5ckpt_created"))
edit("no_library_version", "ECORRUPT", "open", "no h5ckpt_library_version", drop("h5ckpt_library_version"))
edit("library_version_int", "ECORRUPT", "open", "h5ckpt_library_version is an int64",
     put("h5ckpt_library_version", 1, "i8"))
edit("no_mesh_shape", "ECORRUPT", "open", "no h5ckpt_writer_mesh_shape", drop("h5ckpt_writer_mesh_shape"))
edit("mesh_shape_negative", "ECORRUPT", "open", "h5ckpt_writer_mesh_shape [-1]",
     put("h5ckpt_writer_mesh_shape", [-1], "i8"))
edit("mesh_shape_mismatch", "ECORRUPT", "open", "mesh shape [2, 2] but 1 writer rank",
     put("h5ckpt_writer_mesh_shape", [2, 2], "i8"))
edit("mesh_shape_overflow", "ECORRUPT", "open", "mesh shape [2^62, 4]: product overflows",
     put("h5ckpt_writer_mesh_shape", [2**62, 4], "i8"))
edit("mesh_shape_2d", "ECORRUPT", "open", "h5ckpt_writer_mesh_shape is a 2-D array",
     put("h5ckpt_writer_mesh_shape", [[1]], "i8"))
edit("mesh_shape_33_dims", "ECORRUPT", "open", "h5ckpt_writer_mesh_shape has 33 entries",
     put("h5ckpt_writer_mesh_shape", [1] * 33, "i8"))

# ---- strings ----
edit("format_fixed_nullpad", "OK", "none", "h5ckpt_format as a 6-byte NULLPAD string without terminator",
     lambda f: fixed_str(f, f, "h5ckpt_format", b"h5ckpt", h5py.h5t.STR_NULLPAD))
edit("format_fixed_nullterm", "OK", "none",
     "h5ckpt_format as a 6-byte NULLTERM string whose terminator is missing",
     lambda f: fixed_str(f, f, "h5ckpt_format", b"h5ckpt", h5py.h5t.STR_NULLTERM))
edit("dtype_fixed_spacepad", "OK", "none", "h5ckpt_dtype 'float32' space-padded to 10 bytes (padding is no part of the value)",
     lambda f: fixed_str(f, f["model/embed.weight"], "h5ckpt_dtype", b"float32   ", h5py.h5t.STR_SPACEPAD))

# ---- tensors ----
edit("dataset_no_dtype", "ECORRUPT", "open", "a dataset without h5ckpt_dtype",
     lambda f: f["model/ids"].attrs.__delitem__("h5ckpt_dtype"))
edit("dataset_dtype_unknown", "ECORRUPT", "open", "h5ckpt_dtype 'float128'",
     lambda f: fixed_str(f, f["model/ids"], "h5ckpt_dtype", b"float128", h5py.h5t.STR_NULLTERM))
edit("dataset_dtype_mismatch", "ECORRUPT", "open", "h5ckpt_dtype 'int32' on an int64 dataset",
     lambda f: fixed_str(f, f["model/ids"], "h5ckpt_dtype", b"int32", h5py.h5t.STR_NULLTERM))
edit("dataset_dtype_int", "ECORRUPT", "open", "h5ckpt_dtype is an int64",
     lambda f: f["model/ids"].attrs.__setitem__("h5ckpt_dtype", 5))
edit("dataset_no_placements", "ECORRUPT", "open", "a dataset without h5ckpt_placements",
     lambda f: f["model/ids"].attrs.__delitem__("h5ckpt_placements"))
edit("dataset_compound", "ECORRUPT", "open", "a compound dataset that claims to be float32",
     lambda f: tensor(f, "c", np.zeros(2, dtype=[("a", "<f4"), ("b", "<f4")]), "float32"))
edit("dataset_chunked_gzip", "OK", "none", "a chunked, gzip-compressed tensor (readers accept any layout)",
     lambda f: tensor(f, "z", np.arange(64, dtype="<f4").reshape(8, 8), "float32",
                      chunks=(4, 4), compression="gzip"))
edit("dataset_null_space", "ECORRUPT", "open", "a dataset with a null dataspace (neither scalar nor simple)",
     lambda f: tensor(f, "nothing", h5py.Empty("<f4"), "float32"))
edit("dataset_compact", "OK", "none", "a tensor with compact layout (readers accept any layout)",
     compact_tensor)
edit("dataset_unallocated", "OK", "none", "a contiguous tensor never written (reads as fill values)",
     lambda f: tensor(f, "unwritten", None, "int32", shape=(5,), dtype="<i4"))
edit("shape_overflow", "ECORRUPT", "open", "a chunked uint8 dataset of 2^40 x 2^40 x 2^40 elements",
     lambda f: tensor(f, "huge", None, "uint8", shape=(2**40, 2**40, 2**40), dtype="u1",
                      chunks=(1, 1, 1)))


def vds(f):
    lay = h5py.VirtualLayout(shape=(9,), dtype="<i8")
    lay[:] = h5py.VirtualSource(".", "model/ids", shape=(9,))
    d = f.create_virtual_dataset("virt", lay)
    d.attrs.create("h5ckpt_dtype", b"int64", dtype="S5")
    d.attrs.create("h5ckpt_placements", b"explicit", dtype="S8")


edit("dataset_virtual", "ECORRUPT", "open", "a virtual dataset (would read other files)", vds)
edit("dataset_external", "ECORRUPT", "open", "a dataset with external storage (would read other files)",
     lambda f: tensor(f, "ext", None, "int64", shape=(4,), dtype="<i8",
                      external=[("/etc/hostname", 0, 32)]))
patch_mini("dataset_bigger_than_storage", "ECORRUPT", "open",
           "dataspace of 'w' patched from 37 to 2^20 elements; storage still 37 bytes",
           struct.pack("<QQ", 37, 37), struct.pack("<QQ", 2**20, 2**20), 1)
patch_mini("dataset_dims_overflow", "ECORRUPT", "open",
           "dataspace of 'w' patched to 2^63 elements",
           struct.pack("<QQ", 37, 37), struct.pack("<QQ", 2**63, 2**63), 1)

# ---- names, links, structure ----
edit("name_dotdot", "ECORRUPT", "open", "a group named '..'", lambda f: f.create_group("model/.."))
edit("name_control", "ECORRUPT", "open", "a tensor name with a 0x01 byte",
     lambda f: f.move("model/ids", "model/i\x01ds"))
edit("name_newline", "ECORRUPT", "open", "a group name with a newline",
     lambda f: f.create_group("bad\nname"))
edit("hardlink_twice", "ECORRUPT", "open", "one dataset hard-linked under two names",
     lambda f: f.__setitem__("model/alias", f["model/ids"]))
edit("group_cycle", "ECORRUPT", "open", "a group hard-linked into itself",
     lambda f: f.__setitem__("model/loop", f["model"]))
edit("soft_link", "ECORRUPT", "open", "a soft link", lambda f: f.__setitem__("s", h5py.SoftLink("/step")))
edit("external_link", "ECORRUPT", "open", "an external link",
     lambda f: f.__setitem__("x", h5py.ExternalLink("other.h5", "/step")))
edit("named_datatype", "ECORRUPT", "open", "a committed datatype",
     lambda f: f.__setitem__("t", np.dtype("<f4")))


def deep(depth, width):
    def fn(f):
        f.create_group("/".join(["d" * width] * depth))
    return fn


edit("deep_groups_64", "OK", "none", "64 nested groups (path of 127 bytes)", deep(64, 1))
edit("deep_path_too_long", "ECORRUPT", "open", "nested groups whose path exceeds 4096 bytes",
     deep(21, 200))

# ---- user attributes ----
edit("attr_null_space", "OK", "none", "a root attribute with a null dataspace (ignored, not listed)",
     lambda f: f.attrs.create("nothing", h5py.Empty("<f8")))
edit("attr_u64_huge", "OK", "none", "a uint64 attribute 2^64-1 (ignored, not clamped)",
     lambda f: f.attrs.create("big", 2**64 - 1, dtype="u8"))
edit("attr_name_control", "ECORRUPT", "open", "a user attribute name with a 0x02 byte",
     lambda f: f.attrs.create("a\x02b", 1, dtype="i8"))
edit("attr_name_long", "ECORRUPT", "open", "a user attribute name of 300 bytes",
     lambda f: f.attrs.create("n" * 300, 1, dtype="i8"))
edit("attr_2d", "OK", "none", "a 2-D user attribute (ignored)",
     lambda f: f.attrs.create("grid", [[1, 2], [3, 4]], dtype="i8"))

with open(os.path.join(OUT, "MANIFEST"), "w") as m:
    m.write("# FILE CODE STAGE  # what is wrong -- generated by make_corpus.py; see its docstring\n")
    for name, code, stage, why in sorted(cases):
        m.write("%s %s %s  # %s\n" % (name, code, stage, why))
