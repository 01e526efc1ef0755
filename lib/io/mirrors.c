/*
 * Host mirrors of device buffers, the reference path (the plain executor,
 * and tensors the fast executor reads the plain way): before planning-
 * dependent work each device op gets a host copy of its local buffer
 * (packed on the device first when strided, then one device-to-host copy)
 * and the op points at it as a contiguous host buffer; after a read the
 * mirror goes back to the device (unpacked there when strided) and the op
 * points at its device buffer again.  They hold host memory equal to the
 * rank's local shard bytes of the device tensors of the flush; the fast
 * executor's staging (stage.c) is the bounded path.
 */
#include "io/exec.h"

#include <stdlib.h>
#include <string.h>

uint64_t h5ckpt__staging_bytes(const h5ckpt_options *opts)
{
    uint64_t n = opts->staging_bytes ? opts->staging_bytes
                                     : H5CKPT__STAGING_DEFAULT;

    return n < H5CKPT__STAGING_MIN ? H5CKPT__STAGING_MIN : n;
}

int h5ckpt__task_on_device(const h5ckpt__task *t)
{
    return t->op->memkind == H5CKPT_MEM_CUDA && t->nelems > 0;
}

/* ---- host mirrors ------------------------------------------------------- */

struct h5ckpt__mirror {
    h5ckpt__op *op;
    void *dev;  /* the op's device buffer */
    int strided;
    void *host; /* pinned, local_count * es bytes */
};

static uint64_t local_bytes(const h5ckpt__op *op)
{
    return op->layout.local_count * h5ckpt_dtype_size(op->dtype);
}

/* Queue the move of one mirror: device -> host (`to_host`) or back,
 * through `tmp` (device, big enough) when the buffer is strided. */
static int move(const h5ckpt__devops *d, h5ckpt__stream *s,
                const struct h5ckpt__mirror *m, void *tmp, int to_host,
                char *msg)
{
    const h5ckpt_layout *l = &m->op->layout;
    size_t es = h5ckpt_dtype_size(m->op->dtype), n = (size_t)local_bytes(m->op);
    int rc;

    if (!m->strided)
        return to_host ? d->copy(s, H5CKPT__D2H, m->host, m->dev, n, msg)
                       : d->copy(s, H5CKPT__H2D, m->dev, m->host, n, msg);
    if (to_host)
        return (rc = d->pack(s, tmp, m->dev, l->local_ndim, l->local_shape,
                             m->op->strides, es, msg)) != 0
                   ? rc : d->copy(s, H5CKPT__D2H, m->host, tmp, n, msg);
    if ((rc = d->copy(s, H5CKPT__H2D, tmp, m->host, n, msg)) != 0)
        return rc;
    return d->unpack(s, m->dev, tmp, l->local_ndim, l->local_shape,
                     m->op->strides, es, msg);
}

/* Move every mirror (one at a time through one device temporary). */
static int move_all(h5ckpt__io *io, h5ckpt__mirrors *ms, int to_host)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    h5ckpt__stream *s = NULL;
    uint64_t need = 0;
    void *tmp = NULL;
    size_t i;
    int rc;

    for (i = 0; i < ms->n; i++)
        if (ms->m[i].strided && local_bytes(ms->m[i].op) > need)
            need = local_bytes(ms->m[i].op);
    if ((rc = d->stream_create(&s, io->ctx->errmsg)) != 0 ||
        (need && (rc = d->dev_alloc(&tmp, (size_t)need, io->ctx->errmsg)) != 0))
        goto done;
    for (i = 0; rc == 0 && i < ms->n; i++) {
        rc = move(d, s, &ms->m[i], tmp, to_host, io->ctx->errmsg);
        /* the temporary is reused by the next strided mirror */
        if (rc == 0 && ms->m[i].strided)
            rc = d->sync(s, io->ctx->errmsg);
    }
    if (rc == 0)
        rc = d->sync(s, io->ctx->errmsg);
done:
    d->stream_destroy(s);
    d->dev_free(tmp);
    return rc;
}

int h5ckpt__mirrors_make(h5ckpt__io *io, const h5ckpt__plan *plan, int fill,
                         h5ckpt__mirrors *ms)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    size_t i, n = 0;
    int rc = 0;

    memset(ms, 0, sizeof *ms);
    for (i = 0; i < plan->ntasks; i++)
        n += h5ckpt__task_on_device(&plan->tasks[i]);
    if (n == 0)
        return 0;
    if (!(ms->m = calloc(n, sizeof *ms->m)))
        return h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < plan->ntasks; i++) {
        struct h5ckpt__mirror *m = &ms->m[ms->n];
        if (!h5ckpt__task_on_device(&plan->tasks[i]))
            continue;
        m->op = (h5ckpt__op *)(uintptr_t)plan->tasks[i].op; /* owned by ck */
        m->dev = m->op->data;
        m->strided = m->op->strided;
        if ((rc = d->host_alloc(&m->host, (size_t)local_bytes(m->op),
                                io->ctx->errmsg)) != 0)
            break;
        ms->n++;
    }
    if (rc == 0 && fill)
        rc = move_all(io, ms, 1);
    for (i = 0; rc == 0 && i < ms->n; i++) {
        ms->m[i].op->data = ms->m[i].host;
        ms->m[i].op->strided = 0;
        ms->m[i].op->memkind = H5CKPT_MEM_HOST;
    }
    if (rc)
        h5ckpt__mirrors_finish(io, ms, 0);
    return rc;
}

int h5ckpt__mirrors_finish(h5ckpt__io *io, h5ckpt__mirrors *ms, int copy_back)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    size_t i;
    int rc = 0;

    for (i = 0; i < ms->n; i++) { /* the ops point at their device buffers */
        ms->m[i].op->data = ms->m[i].dev;
        ms->m[i].op->strided = ms->m[i].strided;
        ms->m[i].op->memkind = H5CKPT_MEM_CUDA;
    }
    if (copy_back && ms->n)
        rc = move_all(io, ms, 0);
    for (i = 0; i < ms->n; i++)
        d->host_free(ms->m[i].host);
    free(ms->m);
    memset(ms, 0, sizeof *ms);
    return rc;
}
