/*
 * A writer's objects for one flush: the ranks that hold the file (all of
 * them, or rank 0 alone: meta.c) create every group and dataset of the batch
 * and write its attributes, in queue order; with rank 0 alone the datasets'
 * offsets are then broadcast.  Both executors write through these objects.
 */
#include "io/exec.h"

int h5ckpt__objects_create(h5ckpt__io *io, h5ckpt__batch *batch)
{
    h5ckpt__ctx *ctx = io->ctx;
    h5ckpt__file *f = io->file;
    int mine = h5ckpt__file_mine(ctx, f), rc = 0;
    hid_t dcpl = H5I_INVALID_HID;
    size_t i;

    /* Structural calls are collective: every rank that holds the file
     * makes them in the same order with the same arguments (agreement was
     * checked by the planner). */
    if (mine && batch->nops && (dcpl = h5ckpt__tensor_dcpl()) < 0)
        rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot make dataset creation properties");
    for (i = 0; mine && rc == 0 && i < batch->nops; i++) {
        h5ckpt__op *op = &batch->ops[i];
        if ((rc = h5ckpt__dataset_create(f, op->path, op->dtype, &op->layout,
                                         dcpl, &op->offset, ctx->errmsg)) == 0 &&
            (i + 1) % H5CKPT__TRIM_EVERY == 0)
            rc = h5ckpt__meta_trim(io); /* bounds rank 0's memory */
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    for (i = 0; mine && rc == 0 && i < batch->nattrs; i++) {
        const h5ckpt__attr *a = &batch->attrs[i];
        rc = h5ckpt__attr_put_file(f, a,
                                   h5ckpt__strmap_get(batch->names, a->obj) == 2,
                                   ctx->errmsg);
    }
    rc = h5ckpt__file_wait(ctx, f, rc);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        return rc;
    return h5ckpt__meta_share_offsets(io, batch);
}
