/*
 * The fast executor: the same plan and the same HDF5 objects as the plain
 * executor (created by h5ckpt__objects_create, objects.c: contiguous, fill never, early
 * allocation), but the raw tensor bytes move with POSIX pwrite/pread on a
 * second descriptor opened on the same file, at the byte offset HDF5
 * allocated for each dataset (H5Dget_offset).  A rank's pieces become as few
 * system calls as its boxes allow: one per box for Shard(0)-like pieces, one
 * per row segment for strided (Shard(1)-like) pieces, and neighbouring runs
 * that are contiguous both in the file and in memory are merged.
 *
 * Why bytes written this way are safe next to the HDF5 handle (rank 0's
 * serial one for a fast writer, see meta.c; the collective MPI-IO one
 * otherwise):
 *  - Early allocation reserves each dataset's extent when it is created; HDF5
 *    never places metadata inside an allocated raw-data extent, and with
 *    fill time "never" and no H5Dwrite it never writes raw data itself, so
 *    no metadata flush (during the run or at H5Fclose) touches our bytes.
 *    H5Fclose may only extend the file to its end of allocation, never cut
 *    it below an allocated extent.
 *  - Every rank finishes its pwrites (and fsyncs its own descriptor when the
 *    handle's fsync option is on, which covers file systems that keep
 *    per-client caches) and closes the descriptor before the collective
 *    agreement that ends the flush; commit writes the "committed" attribute
 *    and renames only after that agreement.
 *  - The memory type is the file type (the format stores little-endian
 *    types and h5ckpt__h5type gives them), so raw bytes need no conversion;
 *    on a big-endian host every tensor falls back to the plain executor.
 *
 * The write path, in order (h5ckpt__io_write, executor.c, then
 * h5ckpt__exec_fast_write):
 *  1. rank 0 creates every object and broadcasts the offsets (objects.c,
 *     meta.c);
 *  2. rank 0 allocates the data region (h5ckpt__direct_reserve: fallocate,
 *     so a full disk fails here, before any byte moves), agreed on;
 *  3. each rank moves its runs (transfer, move_tasks): host runs of at least
 *     H5CKPT__DIRECT_MIN bytes, and staged device segments as long, have
 *     their page-aligned middle written with O_DIRECT through two bounce
 *     buffers by a helper thread (direct.c: no page-cache allocation, no
 *     inode lock held by a copy, so the ranks of one file write side by
 *     side as if each had its own); heads, tails and shorter runs go
 *     through the page cache;
 *     Tensors whose span the node's ranks write entirely in short runs (a
 *     Shard(1) tensor on one node) are written instead by the node-local
 *     exchange (exchange.c): 4 MiB units gathered from their owners'
 *     buffers, each written with one call, its middle O_DIRECT;
 *  4. each rank waits for its direct writes, fsyncs (option) and closes
 *     before the agreement that ends the flush.
 * The checksums of host pieces were taken before (sums.c), from the
 * caller's buffers.  An asynchronous commit (async.c) copies the state
 * aside after 2 and a background thread writes the copy through the same
 * run routine (rawio.c) and the same direct writer as 3, then 4.
 * Tensors without a contiguous extent (offset -1: written by another tool
 * with chunked or compact storage) go through the plain executor, decided
 * identically on every rank from the shared index.
 *
 * Device buffers take the same runs (h5ckpt__box_runs emits them through a
 * callback) through the bounded pinned staging of stage.c; replicated
 * device reads may arrive by group broadcast instead (replica.c), after
 * every rank's file work; device buffers of the fallback tensors go through
 * host mirrors (mirrors.c).
 */
#include "io/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Host buffers: runs at `mem` + their offset, merged where possible. */
typedef struct {
    h5ckpt__rawio *r;
    unsigned char *mem;
} host_runs;

static int host_run(void *ctx, uint64_t foff, uint64_t moff, uint64_t len)
{
    host_runs *h = ctx;

    return h5ckpt__rawio_add(h->r, foff, h->mem + moff, len);
}

static int is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;

    memcpy(&b, &one, 1);
    return b == 1;
}

int64_t h5ckpt__task_offset(const h5ckpt__io *io, const h5ckpt__task *t)
{
    const h5ckpt__tensor *x;

    if (!is_little_endian())
        return -1;
    if (io->file->writer)
        return t->op->offset;
    x = h5ckpt__index_tensor(&io->file->index, t->op->path);
    return x ? x->offset : -1;
}

/* Move one task's bytes.  `pack` holds at least the local buffer's bytes
 * when the buffer is strided. */
static int task_io(h5ckpt__io *io, h5ckpt__rawio *r, const h5ckpt__task *t, int64_t base,
                   void *pack)
{
    const h5ckpt__op *op = t->op;
    const h5ckpt_layout *l = &op->layout;
    size_t es = h5ckpt_dtype_size(op->dtype), k;
    unsigned char *buf = op->strided ? pack : op->data;
    host_runs h = {r, buf};

    if (op->strided && r->writing)
        h5ckpt__pack(pack, op->data, l->local_ndim, l->local_shape, op->strides, es);

    for (k = 0; k < t->nsel; k++)
        if (h5ckpt__box_runs(l->ndim, l->shape, t->sel + k * 2 * (size_t)l->ndim,
                             (uint64_t)base, es, t->memoff[k] * es, host_run,
                             &h) != 0)
            return -1;
    /* The packing buffer is reused by the next strided task: finish with it. */
    if (op->strided && h5ckpt__rawio_flush(r) != 0)
        return -1;
    if (op->strided && !r->writing)
        h5ckpt__unpack(op->data, pack, l->local_ndim, l->local_shape, op->strides, es);
    if (r->writing)
        io->bytes_written += t->nelems * es;
    else
        io->bytes_read += t->nelems * es;
    return 0;
}

/* Collective: the tasks without a contiguous extent, through the plain
 * executor (the same subset on every rank); device buffers among them go
 * through host mirrors (mirrors.c). */
static int fallback(h5ckpt__io *io, const h5ckpt__plan *plan, int writing)
{
    h5ckpt__plan sub = {0}, dev = {0};
    h5ckpt__mirrors ms = {0};
    size_t i;
    int rc = 0, r2;

    if (!(sub.tasks = malloc((plan->ntasks + 1) * sizeof *sub.tasks)) ||
        !(dev.tasks = malloc((plan->ntasks + 1) * sizeof *dev.tasks)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt_layout *l = &plan->tasks[i].op->layout;
        if (h5ckpt__volume(l->ndim, l->shape, NULL) > 0 &&
            h5ckpt__task_offset(io, &plan->tasks[i]) < 0) {
            sub.tasks[sub.ntasks++] = plan->tasks[i];
            if (h5ckpt__task_on_device(&plan->tasks[i]))
                dev.tasks[dev.ntasks++] = plan->tasks[i];
        }
    }
    if (sub.ntasks == 0) /* identical on every rank */
        goto done;
    rc = h5ckpt__mirrors_make(io, &dev, writing, &ms);
    /* the staging did not hash these device pieces: hash their mirrors */
    if (rc == 0 && writing)
        rc = h5ckpt__sums_record(io, &dev);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    if (!writing && (rc = h5ckpt__file_open_collective(io->ctx, io->file, io->opts)) != 0)
        goto done;
    rc = writing ? h5ckpt__exec_plain_write(io, &sub)
                 : h5ckpt__exec_plain_read(io, &sub);
    r2 = h5ckpt__mirrors_finish(io, &ms, !writing && rc == 0);
    if (rc == 0) /* agreed */
        rc = h5ckpt__agree(io->ctx->comm, r2, io->ctx->errmsg);
done:
    h5ckpt__mirrors_finish(io, &ms, 0);
    free(sub.tasks);
    free(dev.tasks);
    return rc;
}

/* Local: this rank's file work: host tasks through merged runs, device
 * tasks through the staging (`st`); tasks with role 2 arrive by broadcast
 * later. */
static int move_tasks(h5ckpt__io *io, const h5ckpt__plan *plan, h5ckpt__rawio *r,
                      h5ckpt__stage *st, const int *role, void *pack,
                      const unsigned char *skip)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        int64_t base = h5ckpt__task_offset(io, t);
        if (t->nelems == 0 || base < 0 || (role && (role[i] & 3) == 2) ||
            (skip && skip[i]))
            continue;
        if (h5ckpt__task_on_device(t))
            rc = h5ckpt__stage_task(st, r->fd, t, base, r->writing);
        else if (task_io(io, r, t, base, pack) != 0)
            rc = H5CKPT_EIO;
    }
    if (rc == 0 && h5ckpt__rawio_flush(r) != 0)
        rc = H5CKPT_EIO;
    return rc;
}

static int transfer(h5ckpt__io *io, const h5ckpt__plan *plan, int writing)
{
    const char *path = writing ? io->file->tmp_path : io->file->path;
    h5ckpt__rawio r;
    uint64_t need = 0;
    h5ckpt__stage *st = NULL;
    h5ckpt__xplan *xp = NULL;
    int64_t *bases = NULL;
    int *role = NULL;
    void *pack = NULL;
    size_t i, ndev = 0;
    int rc = 0, e;

    h5ckpt__rawio_init(&r, -1, writing);
    /* readers: which device tasks arrive by group broadcast (replica.c) */
    if ((!writing && !(role = calloc(plan->ntasks + 1, sizeof *role))) ||
        !(bases = calloc(plan->ntasks + 1, sizeof *bases)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0 ||
        (!writing && (rc = h5ckpt__replica_plan(io, plan, role)) != 0))
        goto done;
    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        uint64_t b = t->op->layout.local_count * h5ckpt_dtype_size(t->op->dtype);
        if (h5ckpt__task_on_device(t) && h5ckpt__task_offset(io, t) >= 0)
            ndev++;
        else if (t->op->strided && t->nelems && b > need)
            need = b;
    }
    if (need && !(pack = malloc(need)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM,
                         "cannot allocate %llu bytes to pack strided buffers",
                         (unsigned long long)need);
    else if (ndev)
        rc = h5ckpt__stage_open(io, plan, &st);
    /* readers read the file their handle holds (format/access.c, h5ckpt__file_hold) */
    if (rc == 0 && !writing)
        r.fd = io->file->rawfd;
    else if (rc == 0 && (r.fd = open(path, O_WRONLY)) < 0)
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "cannot open '%s' for raw writes: %s",
                         path, strerror(errno));
    else if (rc == 0 && (rc = h5ckpt__direct_open(io, path, r.fd, &r.dio)) == 0)
        h5ckpt__stage_direct(st, r.dio);
    /* fragmented host runs shared among the node's ranks (exchange.c);
     * collective, so every rank takes part whatever its rc */
    for (i = 0; bases && i < plan->ntasks; i++)
        bases[i] = h5ckpt__task_offset(io, &plan->tasks[i]);
    rc = h5ckpt__exchange_plan(io, plan, bases, role, rc, writing, &xp);
    if (rc == 0)
        rc = move_tasks(io, plan, &r, st, role, pack, xp ? h5ckpt__exchange_mine(xp) : NULL);
    if (xp)
        rc = h5ckpt__exchange_run(io, plan, xp, bases, &r, rc);
    if (rc == H5CKPT_EIO && r.err)
        h5ckpt__set(io->ctx, rc, "raw %s of '%s' failed: %s",
                    writing ? "write" : "read", path, strerror(r.err));
    /* the last staged segment is written (or read and queued) */
    rc = h5ckpt__stage_finish(st, rc);
    /* the direct writes still in flight (host runs, staged segments) are
     * done, or failed */
    if ((e = h5ckpt__direct_finish(r.dio)) != 0 && rc == 0)
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "raw write of '%s' failed: %s", path,
                         strerror(e));
    if (rc == 0 && writing && !io->opts->no_fsync && fsync(r.fd) != 0)
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "fsync of '%s' failed: %s", path,
                         strerror(errno));
    h5ckpt__direct_close(r.dio);
    if (writing && r.fd >= 0 && close(r.fd) != 0 && rc == 0)
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "closing '%s' failed: %s", path,
                         strerror(errno));
    /* every rank's file work is done before any group broadcast */
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) == 0 && !writing)
        rc = h5ckpt__agree(io->ctx->comm, h5ckpt__replica_bcast(io, st, plan, role),
                           io->ctx->errmsg);
done:
    rc = h5ckpt__agree(io->ctx->comm, h5ckpt__stage_free(st, rc), io->ctx->errmsg);
    h5ckpt__exchange_done(xp);
    free(pack);
    free(role);
    free(bases);
    if (rc)
        return rc;
    return fallback(io, plan, writing);
}

int h5ckpt__exec_fast_write(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    int rc = h5ckpt__agree(io->ctx->comm, h5ckpt__direct_reserve(io, plan->batch),
                           io->ctx->errmsg);

    return rc ? rc : transfer(io, plan, 1);
}

int h5ckpt__exec_fast_read(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    return transfer(io, plan, 0);
}
