/*
 * Raw runs: the one routine that moves a run of tensor bytes between memory
 * and the file at a byte offset (pwrite/pread), with merging of neighbours.
 * The fast executor moves its runs through it on the caller's thread; the
 * background writer of an asynchronous commit (async.c) writes its snapshot
 * through it on its own thread.  So every write path has one place where a
 * different way of writing a run plugs in, h5ckpt__rawio_move: with r->dio
 * set, the aligned middle of large runs goes O_DIRECT (direct.c).
 *
 * Thread rules: a rawio is used by one thread at a time; it makes no MPI and
 * no HDF5 call, sets no message (the caller turns r->err into one) and
 * reads no global (h5ckpt__rawio_init copies the test knobs into it).
 */
#include "io/exec.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int h5ckpt__rawio_move(h5ckpt__rawio *r, uint64_t foff, unsigned char *mem,
                       uint64_t len)
{
    uint64_t done = 0;

    /* tests: a write error (ENOSPC, EIO) once this many bytes are written */
    if (r->writing && r->fail_errno && r->moved + len > r->fail_after) {
        r->err = r->fail_errno;
        return -1;
    }
    if (r->writing && r->dio) { /* direct.c: the aligned middle O_DIRECT */
        if ((r->err = h5ckpt__direct_write(r->dio, r->fd, foff, mem, len)) != 0)
            return -1;
        r->moved += len;
        return 0;
    }
    while (done < len) {
        size_t n = len - done > (1u << 30) ? (1u << 30) : (size_t)(len - done);
        ssize_t got = r->writing ? pwrite(r->fd, mem + done, n, (off_t)(foff + done))
                                 : pread(r->fd, mem + done, n, (off_t)(foff + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            r->err = got < 0 ? errno : EIO; /* 0 on read: short file */
            return -1;
        }
        done += (uint64_t)got;
    }
    r->moved += len;
    return 0;
}

int h5ckpt__rawio_add(h5ckpt__rawio *r, uint64_t foff, unsigned char *mem,
                      uint64_t len)
{
    if (r->len && foff == r->foff + r->len && mem == r->mem + r->len) {
        r->len += len;
        return 0;
    }
    if (r->len && h5ckpt__rawio_move(r, r->foff, r->mem, r->len) != 0) {
        r->len = 0;
        return -1;
    }
    r->foff = foff;
    r->mem = mem;
    r->len = len;
    return 0;
}

int h5ckpt__rawio_flush(h5ckpt__rawio *r)
{
    int rc = r->len ? h5ckpt__rawio_move(r, r->foff, r->mem, r->len) : 0;

    r->len = 0;
    return rc;
}

void h5ckpt__rawio_init(h5ckpt__rawio *r, int fd, int writing)
{
    const h5ckpt__knobs *k = h5ckpt__knobs_get();

    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->writing = writing;
    r->fail_errno = k->write_fail_errno;
    r->fail_after = k->write_fail_after;
}
