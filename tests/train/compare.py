"""Exact comparison of two h5ckpt checkpoints with h5py: the same tensors
(paths, dtypes, shapes, bytes) and the same user attributes everywhere.
Reserved attributes that describe the writer (time, mesh, rank count) are
not compared.  Exit 0 when equal, 1 when they differ, 2 on usage errors."""
import sys

import h5py
import numpy as np

WRITER = {"h5ckpt_created", "h5ckpt_writer_mesh_shape",
          "h5ckpt_writer_mesh_dim_names", "h5ckpt_writer_nranks",
          "h5ckpt_placements", "h5ckpt_library_version"}
# The checksum table lists the pieces each writer rank wrote, so it depends
# on the mesh by design; the data it covers is compared.
WRITER_OBJECTS = {"h5ckpt_checksums"}


def walk(f):
    out = {}
    def visit(name, obj):
        out[name] = obj
    f.visititems(visit)
    for name in WRITER_OBJECTS:
        out.pop(name, None)
    out[""] = f
    return out


def attrs(obj):
    return {k: obj.attrs[k] for k in obj.attrs if k not in WRITER}


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "OSU" or b.dtype.kind in "OSU":
        return a.shape == b.shape and a.tolist() == b.tolist()
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def main():
    if len(sys.argv) != 3:
        print("usage: compare.py A.h5 B.h5", file=sys.stderr)
        return 2
    fa, fb = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
    wa, wb = walk(fa), walk(fb)
    diffs = []
    for name in sorted(set(wa) | set(wb)):
        if name not in wa or name not in wb:
            diffs.append("%s: only in %s" % (name, "A" if name in wa else "B"))
            continue
        a, b = wa[name], wb[name]
        if isinstance(a, h5py.Dataset) != isinstance(b, h5py.Dataset):
            diffs.append("%s: dataset in one file, group in the other" % name)
            continue
        if isinstance(a, h5py.Dataset) and not same(a[()], b[()]):
            diffs.append("%s: data differs" % name)
        aa, ab = attrs(a), attrs(b)
        for k in sorted(set(aa) | set(ab)):
            if k not in aa or k not in ab or not same(aa[k], ab[k]):
                diffs.append("%s@%s: differs" % (name, k))
    ndata = sum(isinstance(o, h5py.Dataset) for o in wa.values())
    for d in diffs:
        print(d)
    print("%s: %d datasets compared, %d differences" % ("EQUAL" if not diffs else "DIFFERENT", ndata, len(diffs)))
    return 1 if diffs else 0


sys.exit(main())
