#!/usr/bin/python3
"""Measure what this machine charges for the kernel's first copy into a
page of a process (docs/PERFORMANCE.md, "Python", loads).

    /usr/bin/python3 scripts/vm-first-touch.py [DIR] [MiB]

Writes a MiB-sized file in DIR (default /tmp) and reads it, cached, with
pread(2) into an anonymous buffer four ways:
  user-touched   the buffer was written in user space only (memset);
  again          the same buffer a second time;
  kernel-touched a second buffer, written in user space, then written
                 out by pwrite(2) (so the kernel has read it) before the pread.
On bare metal the three take the same time.  On a VM whose hypervisor
shadows the guest's page tables, the first column pays a trap per 4 KiB
page.  O_DIRECT writes move data by DMA, without such a kernel copy, so a
buffer written out with O_DIRECT is still "user-touched" afterwards.
"""
import ctypes
import mmap
import os
import sys
import time

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
n = (int(sys.argv[2]) if len(sys.argv) > 2 else 512) << 20
libc = ctypes.CDLL(None)
src = os.path.join(d, "vm-first-touch.%d" % os.getpid())
out = src + ".out"


def buf():
    m = mmap.mmap(-1, n)
    libc.memset(ctypes.c_void_p(ctypes.addressof(ctypes.c_char.from_buffer(m))), 7,
                ctypes.c_size_t(n))
    return m


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


try:
    with open(src, "wb") as f:
        f.write(os.urandom(1 << 20) * (n >> 20))
    fd = os.open(src, os.O_RDONLY)
    os.preadv(fd, [buf()], 0)  # the file is cached from here on
    a = buf()
    first = timed(lambda: os.preadv(fd, [a], 0))
    again = timed(lambda: os.preadv(fd, [a], 0))
    b = buf()
    w = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwritev(w, [b], 0)
    os.close(w)
    warm = timed(lambda: os.preadv(fd, [b], 0))
    os.close(fd)
    pages = n // 4096
    print("pread of %d MiB (cached): user-touched %.3f s, again %.3f s, kernel-touched %.3f s; "
          "first kernel copy costs %.1f us per 4 KiB page" %
          (n >> 20, first, again, warm, (first - again) / pages * 1e6))
finally:
    for p in (src, out):
        if os.path.exists(p):
            os.remove(p)
