/*
 * Direct writes for the fast writer: the block-aligned middle of every
 * large run goes to the file with O_DIRECT, through aligned bounce buffers;
 * the unaligned head and tail of the run go through the ordinary
 * (buffered) descriptor.
 *
 * Why.  A buffered write lands in page-cache pages that the kernel must
 * allocate and fill, and ext4 (like most local file systems) holds the
 * file's inode lock for the whole of each buffered write(), so the ranks of
 * one shared file allocate and copy one at a time, where a file per rank
 * would let them work side by side.  Where fresh pages are expensive (a VM
 * whose freed memory goes back to the hypervisor: ~10 s per GiB under load
 * on the development machine) that is the whole cost of a checkpoint.
 * O_DIRECT writes skip the page cache (no page allocated, nothing left to
 * write back, which an fsync'd checkpoint pays anyway), and overwrites of
 * allocated blocks run under a shared inode lock, so the ranks of one file
 * write side by side.  Rank 0 therefore allocates the data region first
 * (h5ckpt__direct_reserve).
 *
 * Safety next to buffered I/O on the same file.  The kernel keeps O_DIRECT
 * coherent with the page cache for the range it writes (flush and
 * invalidate), but two writers of one page, one buffered and one direct,
 * may lose each other's bytes.  So the direct part of a run is only whole
 * pages (and file system blocks) inside that run; every other byte of the
 * file (heads and tails of runs, other ranks' runs in the same page, HDF5
 * metadata of rank 0) goes through the page cache, and the runs of
 * different ranks are disjoint (the planner gives each byte one owner).
 *
 * Alignment is max(page size, file system block size, 4096) for the file
 * offset and the length, and for the memory address.  A run whose aligned
 * middle is shorter than H5CKPT__DIRECT_MIN is written buffered.  A file
 * system that refuses O_DIRECT at open (EINVAL) gets buffered writes only;
 * one that refuses a direct write with EINVAL gets that write (from the
 * bounce buffer), and every later one, buffered.  The option no_direct (or
 * H5CKPT_DIRECT=0, resolved and agreed across ranks in lib/handle/file.c)
 * makes every write buffered and skips the fallocate.
 *
 * The copy into a bounce buffer and the direct write of the previous one
 * overlap: a helper thread (no MPI calls, no signals) writes buffer h while
 * the caller fills buffer 1-h.  The caller is the fast writer's thread
 * (exec_fast.c, stage.c) or the background writer of an asynchronous
 * commit (async.c), through h5ckpt__rawio_move (rawio.c).
 *
 * No copy where the memory allows it.  The background writer sets nocopy:
 * its snapshot places each large box at the file's alignment and keeps a
 * piece's bytes until h5ckpt__direct_release.  A middle whose memory
 * address is aligned as its file offset is then handed to the helper as
 * it is, one write for the whole middle, without the bounce copy.
 */
#define _GNU_SOURCE
#include "io/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Bytes of each of the two bounce buffers. */
#define BOUNCE ((size_t)8 << 20)

typedef struct {
    unsigned char *buf;
    const unsigned char *src; /* what the helper writes: buf, or the
                                 caller's memory (nocopy) */
    uint64_t foff;
    size_t len; /* 0: free */
} bounce;

struct h5ckpt__direct {
    h5ckpt__io *io; /* gets the bytes written direct at close (tests) */
    uint64_t bytes; /* written with O_DIRECT (under mu) */
    uint64_t nocopy_bytes; /* of them, from the caller's memory (under mu) */
    int fd;       /* O_DIRECT descriptor */
    int bfd;      /* the caller's buffered descriptor of the same file */
    size_t align; /* offsets, lengths and addresses */
    bounce b[2];
    int next;     /* the buffer the caller fills next */
    int nocopy;   /* write aligned memory from where it is (direct_nocopy) */
    int refused;  /* a direct write failed with EINVAL: buffered from now on
                     (read and written under mu) */
    int err;      /* errno of the first failed write */
    pthread_t th;
    int started, quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* pwrite all of it; returns 0 or an errno. */
static int write_all(int fd, const unsigned char *p, uint64_t len, uint64_t foff)
{
    uint64_t done = 0;

    while (done < len) {
        size_t n = len - done > (1u << 30) ? (1u << 30) : (size_t)(len - done);
        ssize_t k = pwrite(fd, p + done, n, (off_t)(foff + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        done += (uint64_t)k;
    }
    return 0;
}

/* The helper thread: write every filled buffer, in order. */
static void *writer(void *arg)
{
    h5ckpt__direct *d = arg;
    int h = 0, e, refused;

    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->b[h].len && !d->quit)
            pthread_cond_wait(&d->cv, &d->mu);
        if (!d->b[h].len)
            break; /* quit, nothing left */
        refused = d->refused;
        pthread_mutex_unlock(&d->mu);
        e = refused ? EINVAL : write_all(d->fd, d->b[h].src, d->b[h].len, d->b[h].foff);
        if (e == EINVAL) { /* refused: these bytes, and all later ones, buffered */
            refused = 1;
            e = write_all(d->bfd, d->b[h].src, d->b[h].len, d->b[h].foff);
        }
        pthread_mutex_lock(&d->mu);
        d->refused |= refused;
        if (e && !d->err)
            d->err = e;
        if (!e && !refused) {
            d->bytes += d->b[h].len;
            if (d->b[h].src != d->b[h].buf)
                d->nocopy_bytes += d->b[h].len;
        }
        d->b[h].len = 0;
        pthread_cond_broadcast(&d->cv);
        h = 1 - h;
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* Wait until buffer h is free; returns the first error so far. */
static int wait_free(h5ckpt__direct *d, int h)
{
    int e;

    pthread_mutex_lock(&d->mu);
    while (d->b[h].len)
        pthread_cond_wait(&d->cv, &d->mu);
    e = d->err;
    pthread_mutex_unlock(&d->mu);
    return e;
}

static size_t alignment(int fd)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t a = 4096;
    struct statvfs v;
    struct stat st;

    if (page > 0 && (size_t)page > a)
        a = (size_t)page;
    if (fstatvfs(fd, &v) == 0 && v.f_bsize > a && v.f_bsize <= (1u << 20))
        a = v.f_bsize;
    if (fstat(fd, &st) == 0 && (size_t)st.st_blksize > a && st.st_blksize <= (1 << 20))
        a = (size_t)st.st_blksize;
    /* a power of two, or nothing goes direct */
    return (a & (a - 1)) ? 0 : a;
}

int h5ckpt__direct_open(h5ckpt__io *io, const char *path, int bfd,
                        h5ckpt__direct **out)
{
    h5ckpt__direct *d;
    sigset_t all, old;
    int i;

    *out = NULL;
    if (io->opts->no_direct)
        return 0;
    if (!(d = calloc(1, sizeof *d)))
        return h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    d->io = io;
    d->bfd = bfd;
    d->fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (d->fd < 0 || !(d->align = alignment(d->fd))) {
        /* no O_DIRECT here (EINVAL): buffered writes only */
        if (d->fd >= 0)
            close(d->fd);
        free(d);
        return 0;
    }
    for (i = 0; i < 2; i++)
        if (posix_memalign((void **)&d->b[i].buf, d->align, BOUNCE) != 0) {
            d->b[i].buf = NULL;
            h5ckpt__direct_close(d);
            return h5ckpt__set(io->ctx, H5CKPT_ENOMEM,
                               "cannot allocate buffers for direct writes");
        }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    /* the helper gets no signal: they stay the application's */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    d->started = pthread_create(&d->th, NULL, writer, d) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!d->started) {
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        h5ckpt__direct_close(d);
        return 0; /* buffered writes only */
    }
    *out = d;
    return 0;
}

/* The aligned middle [*lo, *hi) of [foff, foff + len); 0 if too short. */
static int middle(const h5ckpt__direct *d, uint64_t foff, uint64_t len,
                  uint64_t *lo, uint64_t *hi)
{
    uint64_t a = d->align;

    *lo = (foff + a - 1) / a * a;
    *hi = (foff + len) / a * a;
    return *hi > *lo && *hi - *lo >= H5CKPT__DIRECT_MIN;
}

int h5ckpt__direct_write(h5ckpt__direct *d, int bfd, uint64_t foff,
                         const unsigned char *mem, uint64_t len)
{
    uint64_t lo, hi, at;
    int e;

    if (!d || !middle(d, foff, len, &lo, &hi))
        return write_all(bfd, mem, len, foff);
    if ((e = write_all(bfd, mem, lo - foff, foff)) != 0)
        return e;
    /* memory aligned as the file is, where the caller keeps it until
     * direct_finish: the helper writes the whole middle from there */
    if (d->nocopy && (uintptr_t)(mem + (lo - foff)) % d->align == 0) {
        int h = d->next;
        if ((e = wait_free(d, h)) != 0)
            return e;
        pthread_mutex_lock(&d->mu);
        d->b[h].src = mem + (lo - foff);
        d->b[h].foff = lo;
        d->b[h].len = (size_t)(hi - lo);
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        d->next = 1 - h;
        return write_all(bfd, mem + (hi - foff), foff + len - hi, hi);
    }
    for (at = lo; at < hi; at += BOUNCE) {
        size_t n = hi - at > BOUNCE ? BOUNCE : (size_t)(hi - at);
        int h = d->next;
        if ((e = wait_free(d, h)) != 0)
            return e;
        memcpy(d->b[h].buf, mem + (at - foff), n);
        pthread_mutex_lock(&d->mu);
        d->b[h].src = d->b[h].buf;
        d->b[h].foff = at;
        d->b[h].len = n;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        d->next = 1 - h;
    }
    return write_all(bfd, mem + (hi - foff), foff + len - hi, hi);
}

void h5ckpt__direct_nocopy(h5ckpt__direct *d)
{
    if (d)
        d->nocopy = 1;
}

int h5ckpt__direct_release(h5ckpt__direct *d)
{
    int h, e;

    if (!d)
        return 0;
    pthread_mutex_lock(&d->mu);
    for (h = 0; h < 2; h++)
        while (d->b[h].len && d->b[h].src != d->b[h].buf)
            pthread_cond_wait(&d->cv, &d->mu);
    e = d->err;
    pthread_mutex_unlock(&d->mu);
    return e;
}

size_t h5ckpt__direct_align(const h5ckpt__direct *d) { return d ? d->align : 0; }

int h5ckpt__direct_finish(h5ckpt__direct *d)
{
    if (!d)
        return 0;
    wait_free(d, 0);
    return wait_free(d, 1);
}

void h5ckpt__direct_close(h5ckpt__direct *d)
{
    int i;

    if (!d)
        return;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        d->quit = 1;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->th, NULL);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        d->io->direct_bytes += d->bytes;
        d->io->direct_nocopy_bytes += d->nocopy_bytes;
    }
    for (i = 0; i < 2; i++)
        free(d->b[i].buf);
    if (d->fd >= 0)
        close(d->fd);
    free(d);
}

int h5ckpt__direct_reserve(h5ckpt__io *io, const h5ckpt__batch *batch)
{
    const char *path = io->file->tmp_path;
    uint64_t lo = UINT64_MAX, hi = 0;
    size_t i;
    int fd, rc = 0;

    if (io->ctx->rank != 0 || io->opts->no_direct)
        return 0;
    for (i = 0; i < batch->nops; i++) {
        const h5ckpt__op *op = &batch->ops[i];
        uint64_t n = h5ckpt__volume(op->layout.ndim, op->layout.shape, NULL) *
                     h5ckpt_dtype_size(op->dtype);
        if (op->offset < 0 || n == 0)
            continue;
        if ((uint64_t)op->offset < lo)
            lo = (uint64_t)op->offset;
        if ((uint64_t)op->offset + n > hi)
            hi = (uint64_t)op->offset + n;
    }
    if (hi <= lo)
        return 0;
    if ((fd = open(path, O_WRONLY)) < 0)
        return h5ckpt__set(io->ctx, H5CKPT_EIO, "cannot open '%s' for raw writes: %s",
                           path, strerror(errno));
    /* Not supported (EOPNOTSUPP: NFSv3, ...): nothing reserved, and direct
     * writes that extend the file take the inode lock one at a time. */
    if (fallocate(fd, 0, (off_t)lo, (off_t)(hi - lo)) != 0 &&
        (errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EIO))
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "cannot allocate %llu bytes of '%s': %s",
                         (unsigned long long)(hi - lo), path, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "closing '%s' failed: %s", path,
                         strerror(errno));
    return rc;
}
