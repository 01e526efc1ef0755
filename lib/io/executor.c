/*
 * Handing a plan to the handle's executor (resolved from the options and
 * the environment at create/open: lib/handle/file.c).
 */
#include "h5ckpt_private.h"

int h5ckpt__exec_write(h5ckpt *ck, const h5ckpt__plan *plan)
{
    int rc;

    if (ck->opts.executor == H5CKPT_EXECUTOR_FAST)
        return h5ckpt__exec_fast_write(ck, plan);
    if ((rc = h5ckpt__create_objects(ck)) != 0)
        return rc;
    return h5ckpt__exec_plain_write(ck, plan);
}

int h5ckpt__exec_read(h5ckpt *ck, const h5ckpt__plan *plan)
{
    if (ck->opts.executor == H5CKPT_EXECUTOR_FAST)
        return h5ckpt__exec_fast_read(ck, plan);
    return h5ckpt__exec_plain_read(ck, plan);
}
