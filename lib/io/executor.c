/*
 * Choosing an executor: the options' value, where "default" resolves to the
 * H5CKPT_EXECUTOR environment variable ("plain" or "fast") when set, else to
 * the fast executor; and handing a plan to the chosen one.
 */
#include "h5ckpt_private.h"

#include <stdlib.h>
#include <string.h>

int h5ckpt__executor_resolve(h5ckpt_executor *ex, char *msg)
{
    const char *env;

    if (*ex == H5CKPT_EXECUTOR_PLAIN || *ex == H5CKPT_EXECUTOR_FAST)
        return 0;
    if (*ex != H5CKPT_EXECUTOR_DEFAULT)
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "unknown executor %d", (int)*ex);
    env = getenv("H5CKPT_EXECUTOR");
    if (!env || !*env || !strcmp(env, "fast"))
        *ex = H5CKPT_EXECUTOR_FAST;
    else if (!strcmp(env, "plain"))
        *ex = H5CKPT_EXECUTOR_PLAIN;
    else
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "H5CKPT_EXECUTOR='%.64s' is neither 'plain' nor 'fast'",
                            env);
    return 0;
}

int h5ckpt__exec_write(h5ckpt *ck, const h5ckpt__plan *plan)
{
    int rc;

    if (ck->opts.executor == H5CKPT_EXECUTOR_FAST)
        return h5ckpt__exec_fast_write(ck, plan);
    if ((rc = h5ckpt__create_objects(ck)) != 0)
        return rc;
    /* OMPIO hangs when a collective write fails on one rank: the space of
     * every dataset first (space.c) */
    if ((rc = h5ckpt__agree(ck->comm, h5ckpt__reserve(ck, 0), ck->errmsg)) != 0)
        return rc;
    return h5ckpt__exec_plain_write(ck, plan);
}

int h5ckpt__exec_read(h5ckpt *ck, const h5ckpt__plan *plan)
{
    if (ck->opts.executor == H5CKPT_EXECUTOR_FAST)
        return h5ckpt__exec_fast_read(ck, plan);
    return h5ckpt__exec_plain_read(ck, plan);
}
