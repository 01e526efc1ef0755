/*
 * Asynchronous commits: the snapshot and the background writer.
 *
 * h5ckpt_commit_start (lib/handle) plans the last flush and lets rank 0
 * create its objects and broadcast their offsets, all on the caller's
 * thread (h5ckpt__io_write_async).  Then each rank copies the pieces it
 * owns into snapshot memory (the *ring*) and a background thread of its own
 * writes them to the file and hashes them.  The caller may change or free
 * its buffers once start returns: everything the thread reads is in the
 * ring or in the plan (shapes, boxes, offsets), never in a caller's buffer.
 *
 * The thread makes no MPI and no HDF5 call and sets no message on the
 * handle: it writes through the same raw-run routine as the fast executor
 * (rawio.c, with the same direct writer, direct.c: rank 0 fallocates the
 * data region at start, the aligned middles of large runs go O_DIRECT,
 * the thread waits for them before its fsync, and the caller's thread
 * closes the direct writer at join), keeps one hash per box, and leaves its outcome (an
 * errno and a one-line message naming the rank and the file) in the job.  The caller's
 * thread collects all of it at h5ckpt__async_join.
 *
 * The ring.  `cap` bytes of snapshot memory used as a circular buffer:
 * the caller's thread (producer) copies each box's bytes, in the order of
 * the box's packed buffer, into the ring in pieces of at most
 * H5CKPT__PIECE_MAX bytes, each contiguous in the ring; the thread
 * (consumer) takes the pieces in order, writes each piece's runs (the box's
 * runs cut to the piece, h5ckpt__boxruns) and only then frees its bytes.
 * cap = min(budget, the rank's bytes), so with the default budget the whole
 * snapshot fits and start never waits; with a smaller one, start copies
 * what fits and waits for the writer to free room for the rest (the rule
 * stated in h5ckpt.h).  A piece never wraps: when a strided host buffer (copied
 * element by element) finds fewer bytes than one element before the ring's
 * end, that tail is skipped by a padding piece.
 *
 * No copy on the way out.  A box that is one run of at least
 * H5CKPT__DIRECT_MIN bytes in the file is placed in the ring after a
 * padding piece of less than the direct writes' alignment (4 KiB on most
 * file systems), so that its bytes lie at the same offset modulo that
 * alignment in the ring as in the file; the ring holds room for that
 * padding (cap = own bytes + (alignment - 1) per such box).  The direct
 * writer's helper then writes each piece's aligned middle straight from
 * the ring (direct.c, nocopy), while this thread hashes the same piece,
 * and the thread frees the piece's bytes only once that write is done.
 * The rest (heads, tails, short runs, boxes of many runs) goes through the
 * bounce buffers as in the fast writer.
 *
 * When the writer starts.  The thread takes no piece until every rank has
 * copied everything (closed, set by job_go after start's last agreement)
 * or the ring is full (eager, set by the producer when it must wait for
 * room), and the producer does not wake it for each piece before then:
 * until then start's copy has the CPU and the memory bandwidth to itself,
 * and the stall is what the caller pays for.  Per rank is not enough: the
 * ranks of a node share its cores, so the writer of a rank that finished
 * its copy first slowed the copies of the others, and start waits for the
 * slowest rank (llm at 4 ranks, 5 interleaved runs each: stall/memcpy
 * median 2.07 against 3.02 when each rank's writer started on its own;
 * docs/PERFORMANCE.md, "Async save, measured like for like").  Measured
 * against a writer that takes each piece as soon as it is queued
 * (`h5ckpt bench --write F --async --preset big --no-fsync`, 2 cores, load 8-12 from other builds and tests, rounds
 * interleaved, 2026-12-04; docs/PERFORMANCE.md, "Async save"): stall
 * 0.73 / 0.79 s deferred against 1.77 / 0.86 s at once at 1 rank, 0.23 /
 * 0.37 s against 1.75 s at 2 ranks (memcpy of the same bytes 0.3-1.0 s).
 * Writing at once ended the background phase sooner at 1 rank (5.0 / 1.4 s
 * against 8.0 / 2.3 s) and later at 2 (11.8 s against 1.7 / 1.4 s); all of
 * them far below the synchronous commit (9-24 s).  Writing early can only
 * save about the copy's time at the end of the background phase (the
 * larger differences, both ways, are the load's); it costs the caller CPU
 * during the one phase the caller waits for.
 *
 * Device buffers are copied device-to-host by the backend's copy on a stream
 * of the job's own, into pinned snapshot memory, and each piece is handed
 * to the thread only after the stream has been synchronised; strided device
 * buffers are packed on the device first (one device temporary as large as
 * the largest of them, freed before start returns).  The host never
 * dereferences device memory.
 *
 * Snapshot memory comes from an h5ckpt_snapshot (the caller's, through
 * h5ckpt_options.snapshot, kept between saves; else one made for the save
 * and freed when it ends): host memory mapped and populated at once, or
 * pinned memory of the device backend when the save has device buffers.
 */
#include "io/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

/* The largest piece: bounds how long the writer waits for its first bytes
 * and, for device buffers, the work queued between synchronisations. */
#define H5CKPT__PIECE_MAX ((uint64_t)16 << 20)

struct h5ckpt_snapshot {
    unsigned char *mem;
    size_t bytes;
    const h5ckpt__devops *pinned; /* the backend that allocated it, NULL:
                                     host memory (mmap) */
    int busy;   /* a save in flight uses it */
    int orphan; /* freed by its owner while busy: free when the save ends */
};

/* One piece of the ring: bytes [a, a + len) of box `box` of task `t`'s
 * packed box (boxbytes long), at ring offset `at`; padding when t is
 * NULL. */
typedef struct {
    const h5ckpt__task *t;
    size_t box;
    uint64_t seq; /* the box's number among this rank's boxes (its hash) */
    uint64_t a, len, boxbytes;
    int64_t base; /* the dataset's offset in the file */
    size_t at;
} piece;

struct h5ckpt__job {
    /* set at start; the thread only reads them */
    const h5ckpt__plan *plan;
    h5ckpt_snapshot *snap;
    int own_snap; /* snap was made for this save */
    unsigned char *ring;
    uint64_t cap;
    int rank, fsync;
    char *path;
    uint64_t nbox, bytes;
    uint64_t align; /* of direct writes from the ring; 0: none */
    unsigned pace_us;
    /* the thread's own */
    h5ckpt__rawio raw;
    XXH3_state_t *xs;
    uint64_t *hash; /* one per box, in seq order */
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    piece *q;
    size_t qcap, qhead, qtail;
    uint64_t produced, consumed; /* ring bytes, in total */
    int closed;   /* every rank's producer is done (job_go), or join / abort */
    int eager;    /* write before start returns: the ring filled up */
    int cancel;   /* close: stop writing */
    int finished; /* the thread is done (fd closed) */
    int err;      /* errno of the first failure */
    char msg[H5CKPT_MSG_MAX];
    pthread_t th;
    int started;
};

/* ---- snapshot memory ------------------------------------------------------ */

int h5ckpt_snapshot_create(h5ckpt_snapshot **out)
{
    if (!out)
        return H5CKPT_EINVAL;
    return (*out = calloc(1, sizeof **out)) ? 0 : H5CKPT_ENOMEM;
}

static void snap_release(h5ckpt_snapshot *s)
{
    if (s->pinned)
        s->pinned->host_free(s->mem);
    else if (s->mem)
        munmap(s->mem, s->bytes);
    s->mem = NULL;
    s->bytes = 0;
    s->pinned = NULL;
}

void h5ckpt_snapshot_free(h5ckpt_snapshot *s)
{
    if (!s)
        return;
    if (s->busy) { /* the save in flight frees it when it ends */
        s->orphan = 1;
        return;
    }
    snap_release(s);
    free(s);
}

uint64_t h5ckpt_snapshot_bytes(const h5ckpt_snapshot *s) { return s ? s->bytes : 0; }

int h5ckpt__snapshot_busy(const h5ckpt_snapshot *s) { return s && s->busy; }

/* At least `n` bytes in `s`, pinned through `d` when d is not NULL (pinned
 * memory serves host copies too).  Returns 0 or an error (message set). */
static int snap_reserve(h5ckpt_snapshot *s, size_t n, const h5ckpt__devops *d,
                        char *msg)
{
    void *p = NULL;
    int rc;

    if (s->bytes >= n && (s->pinned || !d))
        return 0;
    snap_release(s);
    if (d) {
        if ((rc = d->host_alloc(&p, n, msg)) != 0)
            return rc;
        s->pinned = d;
    } else {
        /* populated now: the snapshot's copy does not fault page by page */
        p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
            return h5ckpt__fail(msg, H5CKPT_ENOMEM,
                                "cannot allocate %zu bytes of snapshot memory: %s",
                                n, strerror(errno));
    }
    s->mem = p;
    s->bytes = n;
    return 0;
}

/* ---- the background writer ------------------------------------------------ */

/* Write one piece: its runs (the box's runs cut to the piece) and its part
 * of the box's hash.  Returns 0 or an errno. */
static int write_piece(struct h5ckpt__job *j, const piece *p)
{
    const h5ckpt__op *op = p->t->op;
    const h5ckpt_layout *l = &op->layout;
    unsigned char *mem = j->ring + p->at;
    uint64_t end = p->a + p->len, i, lo, hi, rb;
    h5ckpt__boxruns b;

    if (j->pace_us)
        usleep(j->pace_us);
    h5ckpt__boxruns_init(&b, l->ndim, l->shape,
                         p->t->sel + p->box * 2 * (size_t)l->ndim,
                         (uint64_t)p->base, h5ckpt_dtype_size(op->dtype), 0);
    rb = b.runbytes;
    for (i = p->a / rb; i < b.nruns && i * rb < end; i++) {
        lo = i * rb > p->a ? i * rb : p->a;
        hi = (i + 1) * rb < end ? (i + 1) * rb : end;
        if (h5ckpt__rawio_add(&j->raw, h5ckpt__boxruns_foff(&b, i) + (lo - i * rb),
                              mem + (lo - p->a), hi - lo) != 0)
            break;
    }
    if (i < b.nruns && i * rb < end) { /* failed */
        h5ckpt__direct_release(j->raw.dio);
        return j->raw.err;
    }
    if (h5ckpt__rawio_flush(&j->raw) != 0) {
        h5ckpt__direct_release(j->raw.dio);
        return j->raw.err;
    }
    /* hashed while the piece's aligned middle is written from the ring */
    if (j->xs) { /* XXH3-64 of the packed box, streamed (= one-shot) */
        if (p->a == 0)
            XXH3_64bits_reset(j->xs);
        XXH3_64bits_update(j->xs, mem, (size_t)p->len);
        if (end == p->boxbytes)
            j->hash[p->seq] = XXH3_64bits_digest(j->xs);
    }
    /* the ring's bytes are freed after this: nothing may read them later */
    return h5ckpt__direct_release(j->raw.dio);
}

static void *writer_main(void *arg)
{
    struct h5ckpt__job *j = arg;
    int e, failed, cancelled;
    piece p;

    pthread_mutex_lock(&j->mu);
    for (;;) {
        /* pieces are written once start has copied everything, or once
         * the ring is full (the file header says why) */
        while (!j->cancel && !j->closed && (j->qhead == j->qtail || !j->eager))
            pthread_cond_wait(&j->cv, &j->mu);
        if (j->cancel || j->qhead == j->qtail)
            break;
        p = j->q[j->qhead++];
        failed = j->err != 0;
        pthread_mutex_unlock(&j->mu);
        /* after a failure the pieces are only drained: the producer may be
         * waiting for room */
        e = failed || !p.t ? 0 : write_piece(j, &p);
        pthread_mutex_lock(&j->mu);
        if (e && !j->err) {
            j->err = e;
            snprintf(j->msg, sizeof j->msg, "rank %d: writing '%s' in the "
                     "background failed: %s", j->rank, j->path, strerror(e));
        }
        j->consumed += p.len;
        pthread_cond_broadcast(&j->cv);
    }
    cancelled = j->cancel;
    failed = j->err != 0;
    pthread_mutex_unlock(&j->mu);
    /* the direct writes still in flight land before the fsync and the
     * close (their fallback writes go through raw.fd) */
    if ((e = h5ckpt__direct_finish(j->raw.dio)) != 0 && !cancelled && !failed) {
        pthread_mutex_lock(&j->mu);
        if (!j->err) {
            j->err = e;
            snprintf(j->msg, sizeof j->msg, "rank %d: writing '%s' in the "
                     "background failed: %s", j->rank, j->path, strerror(e));
        }
        failed = 1;
        pthread_mutex_unlock(&j->mu);
    }
    /* the data is durable before the commit marker is written (wait) */
    e = 0;
    if (!cancelled && !failed && j->fsync && fsync(j->raw.fd) != 0)
        e = errno;
    if (close(j->raw.fd) != 0 && !e && !cancelled && !failed)
        e = errno;
    j->raw.fd = -1;
    pthread_mutex_lock(&j->mu);
    if (e && !j->err) {
        j->err = e;
        snprintf(j->msg, sizeof j->msg, "rank %d: %s of '%s' failed: %s", j->rank,
                 j->fsync ? "fsync" : "close", j->path, strerror(e));
    }
    j->finished = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ---- the snapshot (the caller's thread) ----------------------------------- */

/* The device side of one start: a stream and a device temporary for
 * strided device buffers. */
typedef struct {
    const h5ckpt__devops *d;
    h5ckpt__stream *s;
    void *tmp;
} devside;

/* Wait until at least `need` bytes of the ring are free (or the writer
 * failed: then return 1 and produce no more). */
static int room_wait(struct h5ckpt__job *j, uint64_t need, uint64_t *room,
                     uint64_t *contig)
{
    int stop;

    pthread_mutex_lock(&j->mu);
    while (!j->err && j->cap - (j->produced - j->consumed) < need) {
        if (!j->eager) { /* full: the writer must free room now */
            j->eager = 1;
            pthread_cond_broadcast(&j->cv);
        }
        pthread_cond_wait(&j->cv, &j->mu);
    }
    stop = j->err != 0;
    *room = j->cap - (j->produced - j->consumed);
    *contig = j->cap - j->produced % j->cap;
    pthread_mutex_unlock(&j->mu);
    return stop;
}

/* Hand a piece to the writer.  Returns 0 or H5CKPT_ENOMEM (message set). */
static int push(struct h5ckpt__job *j, const piece *p, char *msg)
{
    int rc = 0;

    pthread_mutex_lock(&j->mu);
    if (j->qhead == j->qtail)
        j->qhead = j->qtail = 0;
    if (j->qtail == j->qcap) {
        size_t cap = j->qcap ? 2 * j->qcap : 256;
        piece *q = realloc(j->q, cap * sizeof *q);
        if (!q)
            rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
        else
            j->q = q, j->qcap = cap;
    }
    if (rc == 0) {
        j->q[j->qtail++] = *p;
        j->produced += p->len;
        /* the writer takes nothing before job_go unless the ring filled
         * up (eager): waking it for each piece only costs the copy CPU */
        if (j->eager)
            pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

/* Copy bytes [a, a + n) of box k of task t's packed box into `dst`. */
static int copy_in(devside *ds, const h5ckpt__task *t, size_t k, uint64_t a,
                   uint64_t n, unsigned char *dst, char *msg)
{
    const h5ckpt__op *op = t->op;
    const h5ckpt_layout *l = &op->layout;
    size_t es = h5ckpt_dtype_size(op->dtype);
    uint64_t from = t->memoff[k] * es + a;
    int rc;

    if (op->memkind == H5CKPT_MEM_CUDA) {
        const unsigned char *src = op->strided ? ds->tmp : op->data;
        if ((rc = ds->d->copy(ds->s, H5CKPT__D2H, dst, src + from, (size_t)n,
                              msg)) != 0)
            return rc;
        return ds->d->sync(ds->s, msg); /* the piece is in host memory */
    }
    if (op->strided)
        h5ckpt__pack_range(dst, op->data, l->local_ndim, l->local_shape,
                           op->strides, es, from / es, n / es);
    else
        memcpy(dst, (const unsigned char *)op->data + from, (size_t)n);
    return 0;
}

/* The file offset of box k of task t in *foff when the box is one run long
 * enough to be written O_DIRECT (direct.c); 0 otherwise. */
static int box_direct(const h5ckpt__task *t, size_t k, uint64_t *foff)
{
    const h5ckpt_layout *l = &t->op->layout;
    h5ckpt__boxruns b;

    h5ckpt__boxruns_init(&b, l->ndim, l->shape, t->sel + k * 2 * (size_t)l->ndim,
                         (uint64_t)t->op->offset, h5ckpt_dtype_size(t->op->dtype), 0);
    if (b.nruns != 1 || b.runbytes < H5CKPT__DIRECT_MIN)
        return 0;
    *foff = h5ckpt__boxruns_foff(&b, 0);
    return 1;
}

/* Before box k of task t: when the box goes O_DIRECT, skip ring bytes (a
 * padding piece) so that its first byte lies at the same place modulo the
 * direct writes' alignment in the ring as in the file; the writer then
 * writes it from the ring without a copy (direct.c, nocopy).  Not where the
 * padding would wrap.  Returns 0, 1 (the writer failed: produce no more)
 * or an error (message set). */
static int pad_box(struct h5ckpt__job *j, const h5ckpt__task *t, size_t k, char *msg)
{
    piece p = {NULL, 0, 0, 0, 0, 0, 0, 0};
    uint64_t foff, room, contig, pad, at;

    if (!j->align || !box_direct(t, k, &foff))
        return 0;
    at = j->produced % j->cap;
    pad = (foff - (uint64_t)(uintptr_t)(j->ring + at)) & (j->align - 1);
    if (pad == 0 || pad > j->cap / 4) /* a small budget: not worth it */
        return 0;
    if (room_wait(j, pad, &room, &contig))
        return 1;
    if (contig < pad)
        return 0;
    p.at = (size_t)(j->produced % j->cap);
    p.len = pad;
    return push(j, &p, msg);
}

/* Snapshot every box this rank writes into the ring.  Returns 0 (also when
 * the writer failed meanwhile: wait reports that) or an error (message
 * set). */
static int produce(h5ckpt__io *io, struct h5ckpt__job *j, devside *ds)
{
    const h5ckpt__plan *plan = j->plan;
    char *msg = io->ctx->errmsg;
    uint64_t seq = 0, room, contig;
    size_t i, k;
    int rc = 0;

    for (i = 0; rc == 0 && i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        const h5ckpt__op *op = t->op;
        const h5ckpt_layout *l = &op->layout;
        size_t es = h5ckpt_dtype_size(op->dtype);
        /* a strided host buffer is copied element by element */
        uint64_t unit = op->strided && op->memkind != H5CKPT_MEM_CUDA ? es : 1;
        if (t->nelems == 0)
            continue;
        if (op->memkind == H5CKPT_MEM_CUDA && op->strided &&
            (rc = ds->d->pack(ds->s, ds->tmp, op->data, l->local_ndim,
                              l->local_shape, op->strides, es, msg)) != 0)
            break;
        for (k = 0; rc == 0 && k < t->nsel; k++) {
            uint64_t boxbytes = h5ckpt__volume(l->ndim, t->sel + (k * 2 + 1) *
                                                            (size_t)l->ndim,
                                               NULL) * es, a = 0;
            if ((rc = pad_box(j, t, k, msg)) == 1)
                return 0; /* the writer failed: wait says why */
            while (rc == 0 && a < boxbytes) {
                piece p = {NULL, k, seq, a, 0, boxbytes, op->offset, 0};
                uint64_t n;
                if (room_wait(j, unit, &room, &contig))
                    return 0; /* the writer failed: wait says why */
                p.at = (size_t)(j->produced % j->cap); /* only this thread moves it */
                if (contig < unit) { /* too little before the end: skip it */
                    p.len = contig;
                    rc = push(j, &p, msg);
                    continue;
                }
                n = boxbytes - a;
                n = n < room ? n : room;
                n = n < contig ? n : contig;
                n = n < H5CKPT__PIECE_MAX ? n : H5CKPT__PIECE_MAX;
                n -= n % unit;
                if ((rc = copy_in(ds, t, k, a, n, j->ring + p.at, msg)) != 0)
                    break;
                p.t = t;
                p.len = n;
                rc = push(j, &p, msg);
                a += n;
            }
            seq++;
        }
    }
    return rc;
}

/* ---- a job's life --------------------------------------------------------- */

/* Local: end the thread (stopping it first when `cancel`): every piece
 * handed on is written (or dropped) and the descriptor is closed. */
static void job_stop(struct h5ckpt__job *j, int cancel)
{
    if (j->started) {
        pthread_mutex_lock(&j->mu);
        j->closed = 1;
        j->cancel |= cancel;
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->th, NULL);
        j->started = 0;
    }
    /* the direct writer's helper (idle once the thread has finished) stops
     * before raw.fd closes: its fallback writes use it */
    h5ckpt__direct_close(j->raw.dio);
    j->raw.dio = NULL;
    if (j->raw.fd >= 0) {
        close(j->raw.fd);
        j->raw.fd = -1;
    }
}

/* Local, after job_stop: free the job; the snapshot memory goes back to
 * its owner (or is freed: the save's own, or orphaned meanwhile). */
static void job_free(struct h5ckpt__job *j)
{
    if (j->snap) {
        j->snap->busy = 0;
        if (j->own_snap || j->snap->orphan) {
            j->snap->orphan = 0;
            h5ckpt_snapshot_free(j->snap);
        }
    }
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    if (j->xs)
        XXH3_freeState(j->xs);
    free(j->hash);
    free(j->q);
    free(j->path);
    free(j);
}

static void devside_end(devside *ds)
{
    if (!ds->d)
        return;
    ds->d->stream_destroy(ds->s); /* waits for what is still queued */
    ds->d->dev_free(ds->tmp);
}

/* Local: set up the job for `plan`, start the thread and take the
 * snapshot.  Returns 0 or an error (message on the context). */
static int job_start(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    h5ckpt__ctx *ctx = io->ctx;
    uint64_t need = 0, tmp = 0, cap, b;
    struct h5ckpt__job *j;
    devside ds = {NULL, NULL, NULL};
    sigset_t all, old;
    size_t i, k;
    int rc = 0, dev = 0;

    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        b = t->nelems * h5ckpt_dtype_size(t->op->dtype);
        if (t->nelems == 0)
            continue;
        if (h5ckpt__task_offset(io, t) < 0) /* not on this path (meta.c) */
            return h5ckpt__set(ctx, H5CKPT_EIO, "tensor '%s' has no contiguous "
                               "extent to write in the background", t->op->path);
        need += b;
        if (h5ckpt__task_on_device(t)) {
            dev = 1;
            b = t->op->layout.local_count * h5ckpt_dtype_size(t->op->dtype);
            if (t->op->strided && b > tmp)
                tmp = b;
        }
    }
    if (!(j = calloc(1, sizeof *j)))
        return h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory");
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->plan = plan;
    j->rank = ctx->rank;
    j->fsync = !io->opts->no_fsync;
    j->bytes = need;
    j->pace_us = h5ckpt__knobs_get()->write_pace_us;
    h5ckpt__rawio_init(&j->raw, -1, 1);
    io->async.job = j;
    for (i = 0; i < plan->ntasks; i++)
        if (plan->tasks[i].nelems)
            j->nbox += plan->tasks[i].nsel;
    if (!(j->path = h5ckpt__strdup(io->file->tmp_path)) ||
        !(j->hash = calloc(j->nbox + 1, sizeof *j->hash)) ||
        (!h5ckpt__knobs_get()->checksums_off && !(j->xs = XXH3_createState())))
        return h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory");
    if (need == 0) /* nothing of this rank's: no memory, no thread */
        return 0;
    if ((j->raw.fd = open(j->path, O_WRONLY | O_CLOEXEC)) < 0)
        return h5ckpt__set(ctx, H5CKPT_EIO, "cannot open '%s' for raw writes: %s",
                           j->path, strerror(errno));
    if ((rc = h5ckpt__direct_open(io, j->path, j->raw.fd, &j->raw.dio)) != 0)
        return rc;
    /* the writer writes O_DIRECT from the ring: each box that goes direct
     * may be preceded by up to align - 1 bytes of padding (pad_box) */
    h5ckpt__direct_nocopy(j->raw.dio);
    j->align = h5ckpt__direct_align(j->raw.dio);
    for (i = 0; j->align && i < plan->ntasks; i++)
        for (k = 0; plan->tasks[i].nelems && k < plan->tasks[i].nsel; k++)
            if (box_direct(&plan->tasks[i], k, &b))
                need += j->align - 1;
    /* the ring: min(budget, need) of the snapshot memory */
    cap = io->opts->snapshot_bytes ? io->opts->snapshot_bytes : need;
    cap = cap < H5CKPT__SNAPSHOT_MIN ? H5CKPT__SNAPSHOT_MIN : cap;
    j->cap = cap < need ? cap : need;
    if (dev && !(ds.d = h5ckpt__devops_get()))
        return h5ckpt__set(ctx, H5CKPT_ENOTSUP, "CUDA buffers need a CUDA build");
    j->snap = io->opts->snapshot;
    if (!j->snap) {
        if ((rc = h5ckpt_snapshot_create(&j->snap)) != 0)
            return h5ckpt__set(ctx, rc, "out of memory");
        j->own_snap = 1;
    }
    if (j->snap->busy) {
        j->snap = NULL; /* not ours to release */
        return h5ckpt__set(ctx, H5CKPT_EMODE, "the snapshot memory of the "
                           "options is in use by a save in flight");
    }
    j->snap->busy = 1;
    if ((rc = snap_reserve(j->snap, (size_t)j->cap, ds.d, ctx->errmsg)) != 0)
        return rc;
    j->ring = j->snap->mem;
    if (ds.d && ((rc = ds.d->stream_create(&ds.s, ctx->errmsg)) != 0 ||
                 (tmp && (rc = ds.d->dev_alloc(&ds.tmp, (size_t)tmp,
                                                ctx->errmsg)) != 0))) {
        devside_end(&ds);
        return rc;
    }
    /* the writer gets no signal: they stay the application's */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    j->started = pthread_create(&j->th, NULL, writer_main, j) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!j->started)
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "cannot start the background "
                         "writer thread");
    if (rc == 0)
        rc = produce(io, j, &ds);
    devside_end(&ds);
    return rc;
}

/* Every piece is handed on, on every rank: the writer may start. */
static void job_go(struct h5ckpt__job *j)
{
    if (!j || !j->started)
        return;
    pthread_mutex_lock(&j->mu);
    j->closed = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* ---- the io layer's entry points -------------------------------------------- */

int h5ckpt__io_write_async(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    h5ckpt__ctx *ctx = io->ctx;
    h5ckpt__sums *sums = &io->file->sums;
    size_t i;
    int rc = 0;

    /* Without rank 0 holding the file alone (the plain executor, a
     * big-endian host), the write is collective HDF5: done now, on this
     * thread, and the commit has nothing left in flight. */
    if (!io->file->serial)
        return h5ckpt__io_write(io, plan);
    if ((rc = h5ckpt__objects_create(io, plan->batch)) != 0)
        return rc;
    /* the checksum table's width, identical on every rank (sums.c) */
    for (i = 0; i < plan->ntasks; i++)
        if (plan->tasks[i].op->layout.ndim > sums->maxnd)
            sums->maxnd = plan->tasks[i].op->layout.ndim;
    /* rank 0 allocates the data region for the direct writes (direct.c)
     * while the others take their snapshots: nothing is written before the
     * agreement that follows (job_go), except where a ring smaller than
     * the rank's bytes fills up (eager); such writes may then allocate
     * their blocks themselves, which is slower, never unsafe (fallocate
     * mode 0 keeps every byte already written) */
    rc = h5ckpt__direct_reserve(io, plan->batch);
    if (rc == 0)
        rc = job_start(io, plan);
    rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
    if (rc != 0)
        h5ckpt__async_abort(io);
    else
        job_go(io->async.job);
    return rc;
}

int h5ckpt__async_inflight(const h5ckpt__io *io) { return io->async.job != NULL; }

void h5ckpt__async_test(h5ckpt__io *io, int *done)
{
    struct h5ckpt__job *j = io->async.job;

    *done = 1;
    if (!j || !j->started)
        return;
    pthread_mutex_lock(&j->mu);
    *done = j->finished;
    pthread_mutex_unlock(&j->mu);
}

int h5ckpt__async_join(h5ckpt__io *io)
{
    struct h5ckpt__job *j = io->async.job;
    const h5ckpt__plan *plan;
    uint64_t seq = 0;
    size_t i, k;
    int rc = 0;

    if (!j)
        return 0;
    io->async.job = NULL;
    job_stop(j, 0);
    plan = j->plan;
    if (j->err) {
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "%s", j->msg);
    } else {
        /* the rows of the pieces written, as h5ckpt__sums_record makes them */
        for (i = 0; j->xs && i < plan->ntasks; i++)
            for (k = 0; plan->tasks[i].nelems && k < plan->tasks[i].nsel; k++)
                h5ckpt__sums_task_row(io, &plan->tasks[i], k, j->hash[seq++]);
        if (io->file->sums.rows.err)
            rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory for checksums");
        io->bytes_written += j->bytes;
    }
    job_free(j);
    return rc;
}

void h5ckpt__async_abort(h5ckpt__io *io)
{
    struct h5ckpt__job *j = io->async.job;

    if (!j)
        return;
    io->async.job = NULL;
    job_stop(j, 1);
    job_free(j);
}
