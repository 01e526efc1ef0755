/* Queued puts and gets, and the collective flush that executes them. */
#include "device/device.h"
#include "handle/handle.h"

#include <stdlib.h>
#include <string.h>

int h5ckpt__declare(h5ckpt *ck, const char *path, int kind)
{
    char *p = h5ckpt__strdup(path), *s;
    int have = h5ckpt__strmap_get(&ck->queue.names, path), rc = 0;

    if (!p)
        return h5ckpt__set(&ck->ctx, H5CKPT_ENOMEM, "out of memory");
    if (!strncmp(path, H5CKPT_CHECKSUM_TABLE, strlen(H5CKPT_CHECKSUM_TABLE)) &&
        (path[strlen(H5CKPT_CHECKSUM_TABLE)] == '\0' ||
         path[strlen(H5CKPT_CHECKSUM_TABLE)] == '/')) {
        rc = h5ckpt__set(&ck->ctx, H5CKPT_ENAME,
                         "'%s' is reserved for the checksum table", path);
        goto done;
    }
    if (kind == 2 && have >= 0) {
        rc = h5ckpt__set(&ck->ctx, H5CKPT_EEXIST, "'%s' is already declared as a %s",
                         path, have == 2 ? "tensor" : "group");
        goto done;
    }
    if (kind == 1 && have == 2)
        goto done; /* attributes on a tensor */
    /* No proper prefix may be a tensor. */
    for (s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (h5ckpt__strmap_get(&ck->queue.names, p) == 2) {
            rc = h5ckpt__set(&ck->ctx, H5CKPT_EEXIST,
                             "'%s' is inside '%s', which is a tensor", path, p);
            goto done;
        }
        *s = '/';
    }
    for (s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (h5ckpt__strmap_put(&ck->queue.names, p, 1) != 0)
            rc = H5CKPT_ENOMEM;
        *s = '/';
    }
    if (*p && h5ckpt__strmap_put(&ck->queue.names, p, kind) != 0)
        rc = H5CKPT_ENOMEM;
    if (rc)
        h5ckpt__set(&ck->ctx, rc, "out of memory");
done:
    free(p);
    return rc;
}

void h5ckpt__queue_clear(h5ckpt__queue *q)
{
    size_t i;

    for (i = 0; i < q->nops; i++) {
        free(q->ops[i].path);
        h5ckpt__layout_clear(&q->ops[i].layout);
    }
    for (i = 0; i < q->nattrs; i++)
        h5ckpt__attr_clear(&q->attrs[i]);
    q->nops = q->nattrs = 0;
    q->pending = 0;
    q->pending_msg[0] = '\0';
}

void h5ckpt__queue_free(h5ckpt__queue *q)
{
    h5ckpt__queue_clear(q);
    free(q->ops);
    free(q->attrs);
    h5ckpt__strmap_free(&q->names);
    memset(q, 0, sizeof *q);
}

int h5ckpt__queue_remember(h5ckpt *ck, int rc)
{
    if (rc && !ck->queue.pending) {
        ck->queue.pending = rc;
        memcpy(ck->queue.pending_msg, ck->ctx.errmsg, H5CKPT_MSG_MAX);
    }
    return rc;
}

/* Checks shared by put and get; fills `op` (not its path or layout). */
static int check_buffer(h5ckpt *ck, const char *path, h5ckpt_dtype dtype,
                        const h5ckpt_layout *layout, const void *data,
                        const h5ckpt_buffer *buf, h5ckpt__op *op)
{
    uint64_t span;
    int d, rc;

    if (!h5ckpt_dtype_name(dtype))
        return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL, "tensor '%s': invalid dtype %d",
                           path, (int)dtype);
    if (!layout)
        return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL, "tensor '%s': layout is NULL",
                           path);
    if (layout->kind == H5CKPT__LAYOUT_SHARDED) {
        int64_t n = 1;
        for (d = 0; d < layout->mesh_ndim; d++)
            n *= layout->mesh_shape[d];
        if (n != ck->ctx.size)
            return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL,
                               "tensor '%s': its mesh has %lld ranks, the "
                               "checkpoint's communicator %d",
                               path, (long long)n, ck->ctx.size);
    }
    if (!data && layout->local_count > 0)
        return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL,
                           "tensor '%s': data is NULL but this rank holds "
                           "%llu elements",
                           path, (unsigned long long)layout->local_count);
    op->dtype = dtype;
    op->data = (void *)(uintptr_t)data;
    op->strided = 0;
    /* a host-declared or undeclared buffer may still be device memory */
    if ((!buf || buf->kind == H5CKPT_MEM_HOST) &&
        (rc = h5ckpt__device_kind(path, 0, data, &op->memkind, ck->ctx.errmsg)) != 0)
        return rc;
    if (!buf)
        return 0;
    if (buf->version != 0 && buf->version != H5CKPT_BUFFER_VERSION)
        return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL,
                           "tensor '%s': buffer version %u is neither 0 nor %d",
                           path, buf->version, H5CKPT_BUFFER_VERSION);
    if (buf->kind != H5CKPT_MEM_HOST && buf->kind != H5CKPT_MEM_CUDA)
        return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL, "tensor '%s': bad memory kind",
                           path);
    if (buf->kind == H5CKPT_MEM_CUDA &&
        (rc = h5ckpt__device_kind(path, 1, data, &op->memkind, ck->ctx.errmsg)) != 0)
        return rc;
    if (buf->strides) {
        if (layout->kind == H5CKPT__LAYOUT_RANGE ||
            layout->kind == H5CKPT__LAYOUT_BOXES)
            return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL,
                               "tensor '%s': a %s layout cannot be strided",
                               path, layout->kind == H5CKPT__LAYOUT_RANGE
                                         ? "range" : "multi-box");
        if (h5ckpt__strided_span(layout->local_ndim, layout->local_shape,
                                 buf->strides, &span) != 0)
            return h5ckpt__set(&ck->ctx, H5CKPT_EINVAL,
                               "tensor '%s': strides must be positive", path);
        op->strided = 1;
        memcpy(op->strides, buf->strides,
               (size_t)layout->local_ndim * sizeof *op->strides);
    }
    return 0;
}

static int enqueue(h5ckpt *ck, const char *path, const h5ckpt_layout *layout,
                   h5ckpt__op *op)
{
    h5ckpt__queue *q = &ck->queue;

    if (q->nops == q->capops) {
        size_t cap = q->capops ? q->capops * 2 : 64;
        h5ckpt__op *p = realloc(q->ops, cap * sizeof *p);
        if (!p)
            return h5ckpt__set(&ck->ctx, H5CKPT_ENOMEM, "out of memory");
        q->ops = p;
        q->capops = cap;
    }
    if (!(op->path = h5ckpt__strdup(path)))
        return h5ckpt__set(&ck->ctx, H5CKPT_ENOMEM, "out of memory");
    if (h5ckpt__layout_copy(&op->layout, layout) != 0) {
        free(op->path);
        return h5ckpt__set(&ck->ctx, H5CKPT_ENOMEM, "out of memory");
    }
    op->seq = q->nseq++;
    op->offset = -1;
    q->ops[q->nops++] = *op;
    return 0;
}

int h5ckpt_tensor_put(h5ckpt *ck, const char *path, h5ckpt_dtype dtype,
                      const h5ckpt_layout *layout, const void *data,
                      const h5ckpt_buffer *buf)
{
    h5ckpt__op op;
    int rc;

    if (!ck)
        return H5CKPT_EINVAL;
    memset(&op, 0, sizeof op);
    if (ck->mode != H5CKPT__WRITER || ck->state != H5CKPT__OPEN)
        return h5ckpt__set(&ck->ctx, H5CKPT_EMODE, "%s",
                           ck->mode != H5CKPT__WRITER
                               ? "tensors cannot be written through a reader"
                               : h5ckpt__closed_why(ck));
    if ((rc = h5ckpt__check_path(path, 0, ck->ctx.errmsg)) != 0 ||
        (rc = check_buffer(ck, path, dtype, layout, data, buf, &op)) != 0 ||
        (rc = h5ckpt__declare(ck, path, 2)) != 0)
        return h5ckpt__queue_remember(ck, rc);
    return h5ckpt__queue_remember(ck, enqueue(ck, path, layout, &op));
}

int h5ckpt_tensor_get(h5ckpt *ck, const char *path, h5ckpt_dtype dtype,
                      const h5ckpt_layout *layout, void *data,
                      const h5ckpt_buffer *buf)
{
    const h5ckpt__tensor *t;
    h5ckpt__op op;
    int rc, d;

    if (!ck)
        return H5CKPT_EINVAL;
    memset(&op, 0, sizeof op);
    if (ck->mode != H5CKPT__READER)
        return h5ckpt__set(&ck->ctx, H5CKPT_EMODE,
                           "tensors cannot be read through a writer");
    if ((rc = h5ckpt__check_path(path, 0, ck->ctx.errmsg)) != 0 ||
        (rc = check_buffer(ck, path, dtype, layout, data, buf, &op)) != 0)
        return h5ckpt__queue_remember(ck, rc);
    if (!(t = h5ckpt__index_tensor(&ck->file.index, path)))
        return h5ckpt__queue_remember(ck, h5ckpt__set(&ck->ctx, H5CKPT_ENOTFOUND,
                                        "no tensor '%s' in the checkpoint",
                                        path));
    if (t->dtype != dtype)
        return h5ckpt__queue_remember(ck, h5ckpt__set(&ck->ctx, H5CKPT_EDTYPE,
                                        "tensor '%s' is %s, not %s", path,
                                        h5ckpt_dtype_name(t->dtype),
                                        h5ckpt_dtype_name(dtype)));
    rc = t->ndim != layout->ndim;
    for (d = 0; !rc && d < t->ndim; d++)
        rc = t->shape[d] != layout->shape[d];
    if (rc)
        return h5ckpt__queue_remember(ck, h5ckpt__set(&ck->ctx, H5CKPT_ESHAPE,
                                        "tensor '%s': the layout's global "
                                        "shape differs from the stored one",
                                        path));
    return h5ckpt__queue_remember(ck, enqueue(ck, path, layout, &op));
}

const char *h5ckpt__closed_why(const h5ckpt *ck)
{
    return ck->state == H5CKPT__COMMITTING
               ? "a commit is in flight: only h5ckpt_commit_test, "
                 "h5ckpt_commit_wait and h5ckpt_close are allowed"
               : "this writer has failed or was committed";
}

void h5ckpt__queue_settle(h5ckpt *ck)
{
    h5ckpt__plan_free(&ck->queue.plan);
    h5ckpt__queue_clear(&ck->queue);
}

/* The flush: agree, plan, and write (now, or into the background when
 * `async`) or read.  Collective. */
static int run(h5ckpt *ck, int async)
{
    h5ckpt__queue *q = &ck->queue;
    h5ckpt__h5quiet q5;
    int rc = 0;

    if (ck->state != H5CKPT__OPEN)
        rc = h5ckpt__set(&ck->ctx, H5CKPT_EMODE, "%s", h5ckpt__closed_why(ck));
    else if (q->pending) {
        rc = q->pending;
        memcpy(ck->ctx.errmsg, q->pending_msg, H5CKPT_MSG_MAX);
    }
    h5ckpt__h5quiet_begin(&q5);
    if ((rc = h5ckpt__agree(ck->ctx.comm, rc, ck->ctx.errmsg)) != 0)
        goto done;
    q->batch.ops = q->ops;
    q->batch.nops = q->nops;
    q->batch.attrs = q->attrs;
    q->batch.nattrs = q->nattrs;
    q->batch.names = &q->names;
    if ((rc = h5ckpt__plan_build(&ck->io, &q->batch, &q->plan)) != 0)
        goto done;
    if (ck->mode == H5CKPT__READER)
        rc = h5ckpt__io_read(&ck->io, &q->plan);
    else if (async)
        rc = h5ckpt__io_write_async(&ck->io, &q->plan);
    else
        rc = h5ckpt__io_write(&ck->io, &q->plan);
done:
    /* a background writer works through the plan until the commit's wait */
    if (!h5ckpt__async_inflight(&ck->io))
        h5ckpt__queue_settle(ck);
    if (rc && ck->mode == H5CKPT__WRITER && ck->state == H5CKPT__OPEN)
        ck->state = H5CKPT__FAILED;
    h5ckpt__h5quiet_end(&q5);
    return rc;
}

int h5ckpt_flush(h5ckpt *ck)
{
    return ck ? run(ck, 0) : H5CKPT_EINVAL;
}

int h5ckpt__flush_async(h5ckpt *ck) { return run(ck, 1); }
