/*
 * The one MPI error policy: the communicators the library makes are
 * duplicates that return errors instead of aborting, every MPI return goes
 * through h5ckpt__mpi() and becomes H5CKPT_EMPI with the call's name and
 * MPI's message, and counts are checked against INT_MAX before MPI sees
 * them.  Callers then agree on the outcome like on any other failure.
 */
#include "base/base.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int h5ckpt__mpi(int mpi_rc, const char *call, char *msg)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;

    if (mpi_rc == MPI_SUCCESS)
        return 0;
    if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", mpi_rc);
    return h5ckpt__fail(msg, H5CKPT_EMPI, "%s failed: %s", call, text);
}

int h5ckpt__comm_dup(MPI_Comm comm, MPI_Comm *out, char *msg)
{
    int rc;

    *out = MPI_COMM_NULL;
    if ((rc = h5ckpt__mpi(MPI_Comm_dup(comm, out), "MPI_Comm_dup", msg)) != 0)
        return rc;
    if ((rc = h5ckpt__mpi(MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN),
                          "MPI_Comm_set_errhandler", msg)) != 0)
        h5ckpt__comm_free(out);
    return rc;
}

int h5ckpt__comm_split(MPI_Comm comm, int type, int color, int key,
                       MPI_Comm *out, char *msg)
{
    int rc;

    *out = MPI_COMM_NULL;
    rc = type == MPI_UNDEFINED
             ? h5ckpt__mpi(MPI_Comm_split(comm, color, key, out),
                           "MPI_Comm_split", msg)
             : h5ckpt__mpi(MPI_Comm_split_type(comm, type, key, MPI_INFO_NULL, out),
                           "MPI_Comm_split_type", msg);
    if (rc == 0 && *out != MPI_COMM_NULL &&
        (rc = h5ckpt__mpi(MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN),
                          "MPI_Comm_set_errhandler", msg)) != 0)
        h5ckpt__comm_free(out);
    return rc;
}

void h5ckpt__comm_free(MPI_Comm *comm)
{
    if (*comm != MPI_COMM_NULL)
        MPI_Comm_free(comm); /* nothing to do about a failure here */
    *comm = MPI_COMM_NULL;
}

int h5ckpt__mpi_count(size_t n, int *out, const char *what, char *msg)
{
    if (n > (size_t)INT_MAX)
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "%s: %zu exceeds what one MPI call can send (%d)",
                            what, n, INT_MAX);
    *out = (int)n;
    return 0;
}

int h5ckpt__wait_asleep(MPI_Comm comm, int rc, char *msg)
{
    const struct timespec nap = {0, 100000}; /* 0.1 ms */
    MPI_Request req;
    int done = 0, size = 1, e;

    if ((e = h5ckpt__mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size", msg)) != 0)
        return rc ? rc : e;
    if (size == 1)
        return rc;
    if ((e = h5ckpt__mpi(MPI_Ibarrier(comm, &req), "MPI_Ibarrier", msg)) != 0)
        return rc ? rc : e;
    while ((e = h5ckpt__mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test",
                            rc ? NULL : msg)) == 0 && !done)
        nanosleep(&nap, NULL);
    return rc ? rc : e;
}

/* Displacements of `counts` (P of them) into `displs`; 0 or -1 if the sum
 * does not fit an int (MPI counts). */
static int displs_of(const int *counts, int *displs, int P, size_t *total)
{
    size_t t = 0;
    int r;

    for (r = 0; r < P; r++) {
        displs[r] = (int)t;
        t += (size_t)counts[r];
        if (t > (size_t)INT_MAX)
            return -1;
    }
    *total = t;
    return 0;
}

int h5ckpt__alltoallv_u64(h5ckpt__ctx *ctx, int rc, const uint64_t *send, int *sc,
                          int *sd, int *rcnt, int *rd, uint64_t **out)
{
    size_t tot = 0, stot = 0;
    int e;

    *out = NULL;
    if (rc == 0 && displs_of(sc, sd, ctx->size, &stot) != 0)
        rc = h5ckpt__set(ctx, H5CKPT_EINVAL, "too much planning data in one flush");
    if (rc) /* still takes part in the counts' exchange, sending nothing */
        memset(sc, 0, (size_t)ctx->size * sizeof *sc);
    e = h5ckpt__mpi(MPI_Alltoall(sc, 1, MPI_INT, rcnt, 1, MPI_INT, ctx->comm),
                    "MPI_Alltoall", rc ? NULL : ctx->errmsg);
    rc = rc ? rc : e;
    if (rc == 0 && displs_of(rcnt, rd, ctx->size, &tot) != 0)
        rc = h5ckpt__set(ctx, H5CKPT_EINVAL, "too much planning data in one flush");
    if (rc == 0 && !(*out = malloc((tot + 1) * sizeof **out)))
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0) {
        free(*out);
        *out = NULL;
        return rc;
    }
    rc = h5ckpt__mpi(MPI_Alltoallv(send, sc, sd, MPI_UINT64_T, *out, rcnt, rd,
                                   MPI_UINT64_T, ctx->comm),
                     "MPI_Alltoallv", ctx->errmsg);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}
