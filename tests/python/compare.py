"""Compare two checkpoint files tensor by tensor (raw bits) and attribute by
attribute: exit 0 when they hold the same state, 1 (naming the first
difference) otherwise.  Reserved root information (creation time, writer
ranks) is not state and is not compared.
    python3 compare.py A.h5 B.h5"""
import sys

import numpy as np
from mpi4py import MPI

import h5ckpt


def state(path):
    with h5ckpt.open(path, MPI.COMM_SELF) as ck:
        tensors = {t: (ck.info(t).dtype, ck[t].raw()) for t in ck.tensors()}
        attrs = {g: ck.attrs(g) for g in [""] + ck.groups()}
    return tensors, attrs


def main(a, b):
    ta, aa = state(a)
    tb, ab = state(b)
    if sorted(ta) != sorted(tb):
        print("different tensors: %s" % sorted(set(ta) ^ set(tb)))
        return 1
    for k in sorted(ta):
        (da, xa), (db, xb) = ta[k], tb[k]
        same = da == db and xa.shape == xb.shape and np.array_equal(
            xa.view("u%d" % xa.itemsize), xb.view("u%d" % xb.itemsize))
        if not same:
            print("tensor %s differs" % k)
            return 1
    if aa != ab:
        for g in sorted(set(aa) | set(ab)):
            if aa.get(g) != ab.get(g):
                print("attributes of '%s' differ: %r vs %r" % (g, aa.get(g), ab.get(g)))
                break
        return 1
    print("same state: %d tensors, %d attribute groups" % (len(ta), len(aa)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
