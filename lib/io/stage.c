/*
 * The fast executor's device path: device buffers move between the GPU and
 * the file through bounded pinned host staging, on one stream of the
 * backend (device.h), so that device<->host copies overlap file I/O.
 *
 * Segments.  A task's bytes are those of its packed local buffer (the
 * device buffer itself, or a device temporary it is packed into / unpacked
 * from on the device when strided).  Each selected box occupies one
 * contiguous range of it, and h5ckpt__box_runs gives the box's runs (file
 * offset, offset in the buffer, length) in increasing memory order.  Runs
 * are grouped into segments: contiguous in memory, within one box, at most
 * one half of the staging long (a longer run is split).
 *
 * Halves and markers.  The staging is two halves used alternately; marker
 * h records the end of the copy that last used half h.
 *  - Writes: segment i+1's device-to-host copy is queued into the other
 *    half before segment i is written: wait for marker(half of i), pwrite
 *    its runs from the half, hash it.  The copy of i+1 runs while i is
 *    written.  A half is refilled only after its segment was written.
 *  - Reads: before segment i is pread into half h, wait for marker h (the
 *    previous host-to-device copy out of h is done); then queue its copy
 *    to the device and mark h.  The copy of i runs while i+1 is read.  The
 *    end waits for everything (stage_finish).
 * Strided buffers: packs and unpacks are queued on the same stream, so
 * stream order keeps them between the copies that need them, and one
 * device temporary serves every task.
 *
 * Checksums.  Writers hash each box as its segments are written, from the
 * staged host bytes in order (streaming XXH3-64, equal to hashing the
 * packed box), and append the same row h5ckpt__sums_record would.
 * Nothing here ever dereferences device memory on the host.
 */
#include "io/exec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct {
    uint64_t foff; /* file offset */
    size_t soff;   /* offset in the segment */
    size_t len;
} srun;

/* The segment held (or being built) in one half. */
typedef struct {
    int busy; /* written to the half, not yet to the file (writes) */
    const h5ckpt__task *t;
    size_t box;
    int box_start, box_end;
    uint64_t moff; /* offset of its first byte in the packed buffer */
    size_t len;
    srun *runs;
    size_t nruns, cap;
} segment;

struct h5ckpt__stage {
    h5ckpt__io *io;
    const h5ckpt__devops *d;
    h5ckpt__stream *s;
    unsigned char *host; /* two halves of `half` bytes, pinned */
    size_t half;
    void *tmp; /* device temporary for strided buffers */
    segment seg[2];
    int next; /* the half the segment being built will use */
    int fd, writing;
    unsigned char *dev; /* packed device buffer of the current task */
    XXH3_state_t *xs;
    h5ckpt__direct *dio; /* writes: direct writes of large runs (direct.c) */
};

static uint64_t local_bytes(const h5ckpt__op *op)
{
    return op->layout.local_count * h5ckpt_dtype_size(op->dtype);
}

h5ckpt__stream *h5ckpt__stage_stream(const h5ckpt__stage *st)
{
    return st ? st->s : NULL;
}

void *h5ckpt__stage_tmp(const h5ckpt__stage *st) { return st ? st->tmp : NULL; }

int h5ckpt__stage_open(h5ckpt__io *io, const h5ckpt__plan *plan,
                       h5ckpt__stage **out)
{
    uint64_t tmp = 0, big = 0, half = h5ckpt__staging_bytes(io->opts) / 2;
    h5ckpt__stage *st;
    size_t i;
    int rc = 0;

    *out = NULL;
    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        if (!h5ckpt__task_on_device(t))
            continue;
        if (local_bytes(t->op) > big)
            big = local_bytes(t->op);
        if (t->op->strided && local_bytes(t->op) > tmp)
            tmp = local_bytes(t->op);
    }
    /* no half larger than the largest buffer it will ever hold */
    if (big < half)
        half = big ? big : 1;
    if (!(st = calloc(1, sizeof *st)) || !(st->xs = XXH3_createState())) {
        free(st);
        return h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    }
    st->io = io;
    st->d = h5ckpt__devops_get();
    st->half = (size_t)half;
    st->fd = -1;
    if ((rc = st->d->stream_create(&st->s, io->ctx->errmsg)) != 0 ||
        (rc = st->d->host_alloc((void **)&st->host, 2 * st->half,
                                io->ctx->errmsg)) != 0 ||
        (tmp && (rc = st->d->dev_alloc(&st->tmp, (size_t)tmp, io->ctx->errmsg)) != 0))
        return h5ckpt__stage_free(st, rc);
    *out = st;
    return 0;
}

int h5ckpt__stage_free(h5ckpt__stage *st, int rc)
{
    int h;

    if (!st)
        return rc;
    st->d->stream_destroy(st->s); /* waits for what is still queued */
    st->d->host_free(st->host);
    st->d->dev_free(st->tmp);
    for (h = 0; h < 2; h++)
        free(st->seg[h].runs);
    XXH3_freeState(st->xs);
    free(st);
    return rc;
}

static int io_error(h5ckpt__stage *st, int err)
{
    h5ckpt__io *io = st->io;

    return h5ckpt__set(io->ctx, H5CKPT_EIO, "raw %s of '%s' failed: %s",
                       st->writing ? "write" : "read",
                       st->writing ? io->file->tmp_path : io->file->path, strerror(err));
}

void h5ckpt__stage_direct(h5ckpt__stage *st, h5ckpt__direct *dio)
{
    if (st)
        st->dio = dio;
}

/* pwrite or pread `n` bytes at file offset `foff` to or from `mem`. */
static int file_io(h5ckpt__stage *st, unsigned char *mem, uint64_t foff,
                   size_t n)
{
    size_t done = 0;
    int e;

    /* large runs: the half is free again once this returns (direct.c
     * copies what it writes later) */
    if (st->writing && st->dio)
        return (e = h5ckpt__direct_write(st->dio, st->fd, foff, mem, n)) != 0
                   ? io_error(st, e) : 0;
    while (done < n) {
        size_t k = n - done > (1u << 30) ? (1u << 30) : n - done;
        ssize_t got = st->writing
                          ? pwrite(st->fd, mem + done, k, (off_t)(foff + done))
                          : pread(st->fd, mem + done, k, (off_t)(foff + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return io_error(st, got < 0 ? errno : EIO);
        done += (size_t)got;
    }
    return 0;
}

/* The runs of segment `g` between the file and half `h` (neighbours that
 * are contiguous in the file too become one call). */
static int segment_io(h5ckpt__stage *st, const segment *g, int h)
{
    unsigned char *mem = st->host + (size_t)h * st->half;
    size_t i = 0, j;
    int rc = 0;

    while (rc == 0 && i < g->nruns) {
        size_t len = g->runs[i].len;
        for (j = i + 1; j < g->nruns && g->runs[j].foff == g->runs[i].foff + len;
             j++)
            len += g->runs[j].len;
        rc = file_io(st, mem + g->runs[i].soff, g->runs[i].foff, len);
        i = j;
    }
    return rc;
}

/* Writes: the segment in half `h` has reached the half; write it out. */
static int write_out(h5ckpt__stage *st, int h)
{
    segment *g = &st->seg[h];
    int rc;

    if ((rc = st->d->wait(st->s, h, st->io->ctx->errmsg)) != 0 ||
        (rc = segment_io(st, g, h)) != 0)
        return rc;
    if (!h5ckpt__knobs_get()->checksums_off) {
        if (g->box_start)
            XXH3_64bits_reset(st->xs);
        XXH3_64bits_update(st->xs, st->host + (size_t)h * st->half, g->len);
        if (g->box_end)
            h5ckpt__sums_task_row(st->io, g->t, g->box,
                                 XXH3_64bits_digest(st->xs));
    }
    g->busy = 0;
    return 0;
}

/* Hand the segment being built (in half st->next) to the pipeline. */
static int submit(h5ckpt__stage *st, int box_end)
{
    const h5ckpt__devops *d = st->d;
    int h = st->next, o = 1 - h, rc;
    segment *g = &st->seg[h];
    unsigned char *half = st->host + (size_t)h * st->half;
    char *msg = st->io->ctx->errmsg;

    g->box_end = box_end;
    if (st->writing) {
        /* queue this copy, then write the previous segment meanwhile */
        if ((rc = d->copy(st->s, H5CKPT__D2H, half, st->dev + g->moff, g->len,
                          msg)) != 0 ||
            (rc = d->mark(st->s, h, msg)) != 0)
            return rc;
        g->busy = 1;
        if (st->seg[o].busy && (rc = write_out(st, o)) != 0)
            return rc;
    } else {
        /* the half's previous copy to the device must be done */
        if ((rc = d->wait(st->s, h, msg)) != 0 ||
            (rc = segment_io(st, g, h)) != 0 ||
            (rc = d->copy(st->s, H5CKPT__H2D, st->dev + g->moff, half, g->len,
                          msg)) != 0 ||
            (rc = d->mark(st->s, h, msg)) != 0)
            return rc;
    }
    st->next = o;
    /* the other half is free (written out, or waited for before use) */
    st->seg[o].len = 0;
    st->seg[o].nruns = 0;
    return 0;
}

typedef struct {
    h5ckpt__stage *st;
    const h5ckpt__task *t;
    size_t box;
    int started; /* the box's first segment was submitted */
    int rc;
} box_ctx;

/* One run of the current box (runs arrive in increasing memory order and
 * tile the box's range). */
static int add_run(void *ctx, uint64_t foff, uint64_t moff, uint64_t len)
{
    box_ctx *c = ctx;
    h5ckpt__stage *st = c->st;

    while (len > 0) {
        segment *g = &st->seg[st->next];
        size_t take;
        if (g->len == st->half) { /* full, and more follows: hand it on */
            if ((c->rc = submit(st, 0)) != 0)
                return -1;
            c->started = 1;
            continue;
        }
        if (g->len == 0) {
            g->t = c->t;
            g->box = c->box;
            g->box_start = !c->started;
            g->moff = moff;
        }
        if (g->nruns == g->cap) {
            size_t cap = g->cap ? 2 * g->cap : 64;
            srun *p = realloc(g->runs, cap * sizeof *p);
            if (!p) {
                c->rc = h5ckpt__set(st->io->ctx, H5CKPT_ENOMEM, "out of memory");
                return -1;
            }
            g->runs = p;
            g->cap = cap;
        }
        take = len < st->half - g->len ? (size_t)len : st->half - g->len;
        g->runs[g->nruns].foff = foff;
        g->runs[g->nruns].soff = g->len;
        g->runs[g->nruns++].len = take;
        g->len += take;
        foff += take;
        moff += take;
        len -= take;
    }
    return 0;
}

int h5ckpt__stage_task(h5ckpt__stage *st, int fd, const h5ckpt__task *t,
                       int64_t base, int writing)
{
    const h5ckpt__op *op = t->op;
    const h5ckpt_layout *l = &op->layout;
    size_t es = h5ckpt_dtype_size(op->dtype), k;
    char *msg = st->io->ctx->errmsg;
    int rc = 0;

    st->fd = fd;
    st->writing = writing;
    st->dev = op->strided ? st->tmp : op->data;
    /* stream order puts the pack after the copies out of the temporary
     * that earlier tasks queued */
    if (op->strided && writing &&
        (rc = st->d->pack(st->s, st->tmp, op->data, l->local_ndim,
                          l->local_shape, op->strides, es, msg)) != 0)
        return rc;
    for (k = 0; rc == 0 && k < t->nsel; k++) {
        box_ctx c = {st, t, k, 0, 0};
        if (h5ckpt__box_runs(l->ndim, l->shape, t->sel + k * 2 * (size_t)l->ndim,
                             (uint64_t)base, es, t->memoff[k] * es, add_run,
                             &c) != 0)
            rc = c.rc;
        else
            rc = submit(st, 1); /* the box's last segment (boxes are not empty) */
    }
    if (rc == 0 && op->strided && !writing)
        rc = st->d->unpack(st->s, op->data, st->tmp, l->local_ndim,
                           l->local_shape, op->strides, es, msg);
    if (rc == 0 && writing)
        st->io->bytes_written += t->nelems * es;
    else if (rc == 0)
        st->io->bytes_read += t->nelems * es;
    return rc;
}

int h5ckpt__stage_finish(h5ckpt__stage *st, int rc)
{
    int h;

    if (!st || rc)
        return rc;
    for (h = 0; rc == 0 && h < 2; h++)
        if (st->seg[h].busy)
            rc = write_out(st, h);
    if (rc == 0)
        rc = st->d->sync(st->s, st->io->ctx->errmsg);
    return rc;
}
