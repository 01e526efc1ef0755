/*
 * Work spread over home ranks (plan.c, replica.c): an item with index j is
 * handled by rank j mod P, and every rank sends each home only the data of
 * the home's items.  The exchange itself is one MPI_Alltoallv of uint64
 * words.
 */
#include "h5ckpt_private.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

int h5ckpt__alltoallv_u64(h5ckpt *ck, int rc_in, const uint64_t *send, int *sc,
                          int *sd, int *rc_, int *rd, uint64_t **out)
{
    size_t tot = 0, stot = 0;
    int rc = rc_in;

    *out = NULL;
    if (rc == 0 && displs_of(sc, sd, ck->size, &stot) != 0)
        rc = h5ckpt__set(ck, H5CKPT_EINVAL, "too much planning data in one flush");
    if (MPI_Alltoall(sc, 1, MPI_INT, rc_, 1, MPI_INT, ck->comm) != MPI_SUCCESS)
        rc = h5ckpt__set(ck, H5CKPT_EMPI, "MPI_Alltoall failed");
    if (rc == 0 && displs_of(rc_, rd, ck->size, &tot) != 0)
        rc = h5ckpt__set(ck, H5CKPT_EINVAL, "too much planning data in one flush");
    if (rc == 0 && !(*out = malloc((tot + 1) * sizeof **out)))
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        return rc;
    if (MPI_Alltoallv(send, sc, sd, MPI_UINT64_T, *out, rc_, rd, MPI_UINT64_T,
                      ck->comm) != MPI_SUCCESS)
        rc = h5ckpt__set(ck, H5CKPT_EMPI, "MPI_Alltoallv failed");
    return h5ckpt__agree(ck->comm, rc, ck->errmsg);
}
