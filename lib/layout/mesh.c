/* Device meshes over MPI communicators (row-major, as DeviceMesh). */
#include "layout/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_dim_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s == 0x7f || *s == ',' || *s == '(' || *s == ')' ||
            *s == '=')
            return 0;
    return 1;
}

static int validate(int ndim, const int *shape, const char *const *names,
                    int size, char *msg)
{
    long long prod = 1;
    int i;

    if (ndim < 1 || ndim > H5CKPT_MAX_NDIM || !shape)
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "mesh must have 1 to %d dimensions", H5CKPT_MAX_NDIM);
    for (i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return h5ckpt__fail(msg, H5CKPT_EINVAL,
                                "mesh dimension %d has size %d", i, shape[i]);
        prod *= shape[i];
        if (prod > size)
            break;
        if (names && (!names[i] || !check_dim_name(names[i])))
            return h5ckpt__fail(msg, H5CKPT_EINVAL,
                                "mesh dimension %d has an invalid name", i);
    }
    if (prod != size)
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "mesh shape does not multiply to the %d ranks of "
                            "the communicator",
                            size);
    return 0;
}

static void describe(h5ckpt__buf *b, int ndim, const int *shape,
                     const char *const *names)
{
    char tmp[96];
    int i;

    h5ckpt__buf_bytes(b, "(", 1);
    for (i = 0; i < ndim; i++) {
        int n = names ? snprintf(tmp, sizeof tmp, "%s%s=%d", i ? ", " : "",
                                 names[i], shape[i])
                      : snprintf(tmp, sizeof tmp, "%s%d", i ? ", " : "",
                                 shape[i]);
        h5ckpt__buf_bytes(b, tmp, (size_t)n);
    }
    h5ckpt__buf_bytes(b, ")", 2);
}

int h5ckpt_mesh_create(h5ckpt_mesh **out, MPI_Comm comm, int ndim,
                       const int *shape, const char *const *dim_names,
                       h5ckpt_error *err)
{
    char msg[H5CKPT_MSG_MAX] = "";
    h5ckpt__buf desc = {0};
    h5ckpt_mesh *m = NULL;
    MPI_Comm dup = MPI_COMM_NULL;
    uint64_t mine = 0, root = 0;
    int rc, rank = 0, size = 0, i, r;

    if (out)
        *out = NULL;
    /* Everything below runs on the mesh's own duplicate, which returns MPI
     * errors instead of aborting (lib/base/base.h, "MPI error policy"). */
    if ((rc = h5ckpt__comm_dup(comm, &dup, msg)) != 0 ||
        (rc = h5ckpt__mpi(MPI_Comm_rank(dup, &rank), "MPI_Comm_rank", msg)) != 0 ||
        (rc = h5ckpt__mpi(MPI_Comm_size(dup, &size), "MPI_Comm_size", msg)) != 0) {
        h5ckpt__comm_free(&dup);
        h5ckpt__seterror(err, rc, msg);
        return rc;
    }
    /* a NULL `out` on one rank fails every rank (agreed below) */
    rc = out ? validate(ndim, shape, dim_names, size, msg)
             : h5ckpt__fail(msg, H5CKPT_EINVAL, "out is NULL");
    if (rc == 0) {
        describe(&desc, ndim, shape, dim_names);
        rc = desc.err;
        mine = h5ckpt__hash(desc.data, desc.len);
    }
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0)
        goto done;
    root = mine;
    rc = h5ckpt__mpi(MPI_Bcast(&root, 1, MPI_UINT64_T, 0, dup), "MPI_Bcast", msg);
    if (rc == 0 && root != mine)
        rc = h5ckpt__fail(msg, H5CKPT_EDISAGREE,
                          "rank %d passes mesh %s, which differs from rank 0's",
                          rank, (const char *)desc.data);
    if (rc == 0 && !(m = calloc(1, sizeof *m)))
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    else if (m)
        m->comm = MPI_COMM_NULL; /* freeing it before it is set is safe */
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0)
        goto done;
    m->comm = dup;
    dup = MPI_COMM_NULL;
    m->rank = rank;
    m->size = size;
    m->ndim = ndim;
    m->desc = (char *)desc.data;
    desc.data = NULL;
    for (i = ndim - 1, r = rank; i >= 0; i--) {
        m->shape[i] = shape[i];
        m->coords[i] = r % shape[i];
        r /= shape[i];
        if (dim_names && !(m->names[i] = h5ckpt__strdup(dim_names[i])))
            rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    }
    rc = h5ckpt__agree(m->comm, rc, msg);
done:
    h5ckpt__buf_free(&desc);
    h5ckpt__comm_free(&dup);
    if (rc != 0) {
        h5ckpt_mesh_free(m);
        h5ckpt__seterror(err, rc, msg);
        return rc;
    }
    *out = m;
    return 0;
}

void h5ckpt_mesh_free(h5ckpt_mesh *m)
{
    int i;

    if (!m)
        return;
    h5ckpt__comm_free(&m->comm);
    for (i = 0; i < m->ndim; i++)
        free(m->names[i]);
    free(m->desc);
    free(m);
}

int h5ckpt_mesh_ndim(const h5ckpt_mesh *m) { return m ? m->ndim : 0; }

int h5ckpt_mesh_size(const h5ckpt_mesh *m, int dim)
{
    return m && dim >= 0 && dim < m->ndim ? m->shape[dim] : 0;
}

int h5ckpt_mesh_coord(const h5ckpt_mesh *m, int dim)
{
    return m && dim >= 0 && dim < m->ndim ? m->coords[dim] : -1;
}
