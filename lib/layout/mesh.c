/* Device meshes over MPI communicators (row-major, as DeviceMesh). */
#include "h5ckpt_private.h"

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
    uint64_t mine = 0, root = 0;
    int rc, rank, size, i, r;

    if (out)
        *out = NULL;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(comm, &size) != MPI_SUCCESS) {
        h5ckpt__seterror(err, H5CKPT_EMPI, "invalid communicator");
        return H5CKPT_EMPI;
    }
    /* a NULL `out` on one rank fails every rank (agreed below) */
    rc = out ? validate(ndim, shape, dim_names, size, msg)
             : h5ckpt__fail(msg, H5CKPT_EINVAL, "out is NULL");
    if (rc == 0) {
        describe(&desc, ndim, shape, dim_names);
        rc = desc.err;
        mine = h5ckpt__hash(desc.data, desc.len);
    }
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    root = mine;
    MPI_Bcast(&root, 1, MPI_UINT64_T, 0, comm);
    if (root != mine)
        rc = h5ckpt__fail(msg, H5CKPT_EDISAGREE,
                          "rank %d passes mesh %s, which differs from rank 0's",
                          rank, (const char *)desc.data);
    if (rc == 0) {
        if (!(m = calloc(1, sizeof *m)))
            rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
        else
            m->comm = MPI_COMM_NULL; /* freeing it before the dup is safe */
    }
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
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
    if (rc == 0 && MPI_Comm_dup(comm, &m->comm) != MPI_SUCCESS)
        rc = h5ckpt__fail(msg, H5CKPT_EMPI, "MPI_Comm_dup failed");
    rc = h5ckpt__agree(comm, rc, msg);
done:
    h5ckpt__buf_free(&desc);
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
    if (m->comm != MPI_COMM_NULL)
        MPI_Comm_free(&m->comm);
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
