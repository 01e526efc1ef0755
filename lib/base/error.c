/* Error codes, messages and cross-rank agreement on outcomes. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

const char *h5ckpt_strerror(int code)
{
    switch (code) {
#define H5CKPT__ERR_STR(name, value, desc)                                    \
    case value:                                                               \
        return desc;
        H5CKPT_ERRNO_MAP(H5CKPT__ERR_STR)
#undef H5CKPT__ERR_STR
    }
    return "unknown error";
}

const char *h5ckpt_errname(int code)
{
    switch (code) {
#define H5CKPT__ERR_NAME(name, value, desc)                                   \
    case value:                                                               \
        return "H5CKPT_" #name;
        H5CKPT_ERRNO_MAP(H5CKPT__ERR_NAME)
#undef H5CKPT__ERR_NAME
    }
    return "H5CKPT_UNKNOWN";
}

const char *h5ckpt_version(void) { return H5CKPT_VERSION_STRING; }

unsigned h5ckpt_version_number(void) { return H5CKPT_VERSION_NUMBER; }

int h5ckpt__fail(char *buf, int code, const char *fmt, ...)
{
    va_list ap;

    if (buf) {
        va_start(ap, fmt);
        vsnprintf(buf, H5CKPT_MSG_MAX, fmt, ap);
        va_end(ap);
    }
    return code;
}

int h5ckpt__set(h5ckpt__ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

int h5ckpt__error(h5ckpt_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    char *desc = data;

    /* Walk order is H5E_WALK_UPWARD: the first entry is the innermost. */
    if (n == 0 && e->desc && *e->desc)
        snprintf(desc, 200, "%s", e->desc);
    return 0;
}

void h5ckpt__append_h5err(char *buf)
{
    char desc[200] = "";
    size_t len = strlen(buf);

    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, desc);
    if (*desc && len + 3 < H5CKPT_MSG_MAX)
        snprintf(buf + len, H5CKPT_MSG_MAX - len, " (HDF5: %s)", desc);
}

int h5ckpt__agree(MPI_Comm comm, int rc, char *msg)
{
    int rank, size, mine, root, e;

    if ((e = h5ckpt__mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", msg)) ||
        (e = h5ckpt__mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size", msg)))
        return e;
    mine = rc != 0 ? rank : size;
    if ((e = h5ckpt__mpi(MPI_Allreduce(&mine, &root, 1, MPI_INT, MPI_MIN, comm),
                         "MPI_Allreduce", msg)) != 0)
        return e;
    if (root == size)
        return 0;
    if ((e = h5ckpt__mpi(MPI_Bcast(&rc, 1, MPI_INT, root, comm), "MPI_Bcast",
                         msg)) != 0 ||
        (e = h5ckpt__mpi(MPI_Bcast(msg, H5CKPT_MSG_MAX, MPI_CHAR, root, comm),
                         "MPI_Bcast", msg)) != 0)
        return e;
    msg[H5CKPT_MSG_MAX - 1] = '\0';
    return rc;
}

void h5ckpt__seterror(h5ckpt_error *err, int code, const char *msg)
{
    if (!err)
        return;
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s",
             msg && *msg ? msg : h5ckpt_strerror(code));
}

void h5ckpt__h5quiet_begin(h5ckpt__h5quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5ckpt__h5quiet_end(const h5ckpt__h5quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}
