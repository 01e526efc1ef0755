/*
 * One flush's work on a plan, whatever the executor (resolved from the
 * options and the environment at create/open: lib/handle/file.c): checksums
 * of the pieces written, the writer's objects, device buffers through host
 * mirrors for the plain executor (the fast one stages them itself), the
 * transfer, and the checks of a verifying read.
 */
#include "io/exec.h"

static int plain(const h5ckpt__io *io)
{
    return io->opts->executor == H5CKPT_EXECUTOR_PLAIN;
}

/* The end of the datasets a plan writes (their offsets are known once the
 * objects exist). */
static uint64_t data_end(const h5ckpt__plan *plan)
{
    uint64_t end = 0;
    size_t i;

    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__op *op = plan->tasks[i].op;
        uint64_t e = op->offset < 0 ? 0
                                    : (uint64_t)op->offset +
                                          h5ckpt__volume(op->layout.ndim, op->layout.shape, NULL) *
                                              h5ckpt_dtype_size(op->dtype);
        if (e > end)
            end = e;
    }
    return end;
}

int h5ckpt__io_write(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    h5ckpt__ctx *ctx = io->ctx;
    h5ckpt__mirrors ms = {0};
    int rc;

    /* mirrors are made before anything reads the device buffers */
    if (plain(io) &&
        (rc = h5ckpt__agree(ctx->comm, h5ckpt__mirrors_make(io, plan, 1, &ms),
                            ctx->errmsg)) != 0)
        goto done;
    /* checksums of the pieces this rank owns, whatever the executor (the
     * fast executor's device pieces: as they are staged) */
    if ((rc = h5ckpt__agree(ctx->comm, h5ckpt__sums_record(io, plan),
                            ctx->errmsg)) != 0 ||
        (rc = h5ckpt__objects_create(io, plan->batch)) != 0)
        goto done;
    /* OMPIO hangs, or loses data, when a collective write fails on one
     * rank: the plain executor reserves the file's space first
     * (format/space.c) */
    if (plain(io) &&
        (rc = h5ckpt__agree(ctx->comm, h5ckpt__file_reserve(ctx, io->file, data_end(plan)),
                            ctx->errmsg)) != 0)
        goto done;
    rc = plain(io) ? h5ckpt__exec_plain_write(io, plan)
                   : h5ckpt__exec_fast_write(io, plan);
done:
    h5ckpt__mirrors_finish(io, &ms, 0);
    return rc;
}

int h5ckpt__io_read(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    h5ckpt__ctx *ctx = io->ctx;
    h5ckpt__mirrors ms = {0};
    int rc, r2;

    if (plain(io) &&
        (rc = h5ckpt__agree(ctx->comm, h5ckpt__mirrors_make(io, plan, 0, &ms),
                            ctx->errmsg)) != 0)
        goto done;
    rc = plain(io) ? h5ckpt__exec_plain_read(io, plan)
                   : h5ckpt__exec_fast_read(io, plan);
    /* device buffers get their data; checks then read device pieces from
     * the file, never from device memory */
    if (plain(io)) {
        r2 = h5ckpt__mirrors_finish(io, &ms, rc == 0);
        if (rc == 0) /* rc is agreed */
            rc = h5ckpt__agree(ctx->comm, r2, ctx->errmsg);
    }
    if (rc == 0 && io->opts->verify_checksums)
        rc = h5ckpt__sums_check_reads(io, plan);
done:
    h5ckpt__mirrors_finish(io, &ms, 0);
    return rc;
}

void h5ckpt__io_free(h5ckpt__io *io)
{
    h5ckpt__async_abort(io);
    h5ckpt__replica_free(io);
    h5ckpt__exchange_free(io);
}
