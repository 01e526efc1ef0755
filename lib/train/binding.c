/*
 * Entry points for language bindings: the collective constructors with the
 * communicator passed as an MPI_Fint (MPI_Comm_c2f / mpi4py's
 * Comm.py2f()), converted here with MPI_Comm_f2c.  MPI_Comm is an opaque
 * type whose size and meaning differ between MPI libraries (a pointer in
 * Open MPI, an int in MPICH); MPI_Fint is an integer everywhere, so a
 * binding without a compile step can pass any communicator portably.  They
 * sit in the top layer because h5ckpt_ckdir_open is a train function; each
 * calls the public constructor it wraps.
 */
#include "base/base.h"

/* The communicator of a Fortran handle, or MPI_COMM_NULL (with the error
 * filled) when MPI is not initialised or the handle names none. */
static MPI_Comm from_fint(MPI_Fint f, h5ckpt_error *err)
{
    MPI_Comm c = MPI_COMM_NULL;
    int flag = 0, fin = 0;

    if (MPI_Initialized(&flag) != MPI_SUCCESS || !flag ||
        MPI_Finalized(&fin) != MPI_SUCCESS || fin) {
        h5ckpt__seterror(err, H5CKPT_EINVAL, "MPI is not initialised");
        return MPI_COMM_NULL;
    }
    c = MPI_Comm_f2c(f);
    if (c == MPI_COMM_NULL)
        h5ckpt__seterror(err, H5CKPT_EINVAL,
                         "the communicator handle is MPI_COMM_NULL or invalid");
    return c;
}

int h5ckpt_mesh_create_f(h5ckpt_mesh **out, MPI_Fint comm, int ndim,
                         const int *shape, const char *const *dim_names,
                         h5ckpt_error *err)
{
    MPI_Comm c = from_fint(comm, err);

    if (c == MPI_COMM_NULL)
        return out ? (*out = NULL, H5CKPT_EINVAL) : H5CKPT_EINVAL;
    return h5ckpt_mesh_create(out, c, ndim, shape, dim_names, err);
}

int h5ckpt_create_f(h5ckpt **out, const char *path, MPI_Fint comm,
                    const h5ckpt_options *opts, h5ckpt_error *err)
{
    MPI_Comm c = from_fint(comm, err);

    if (c == MPI_COMM_NULL)
        return out ? (*out = NULL, H5CKPT_EINVAL) : H5CKPT_EINVAL;
    return h5ckpt_create(out, path, c, opts, err);
}

int h5ckpt_open_f(h5ckpt **out, const char *path, MPI_Fint comm,
                  const h5ckpt_options *opts, h5ckpt_error *err)
{
    MPI_Comm c = from_fint(comm, err);

    if (c == MPI_COMM_NULL)
        return out ? (*out = NULL, H5CKPT_EINVAL) : H5CKPT_EINVAL;
    return h5ckpt_open(out, path, c, opts, err);
}

int h5ckpt_ckdir_open_f(h5ckpt_ckdir **out, const char *path, MPI_Fint comm,
                        const h5ckpt_ckdir_options *opts, h5ckpt_error *err)
{
    MPI_Comm c = from_fint(comm, err);

    if (c == MPI_COMM_NULL)
        return out ? (*out = NULL, H5CKPT_EINVAL) : H5CKPT_EINVAL;
    return h5ckpt_ckdir_open(out, path, c, opts, err);
}

int h5ckpt_verify_f(const char *path, MPI_Fint comm, h5ckpt_problem_fn fn,
                    void *ctx, size_t *nproblems, h5ckpt_error *err)
{
    MPI_Comm c = from_fint(comm, err);

    if (nproblems)
        *nproblems = 0;
    if (c == MPI_COMM_NULL)
        return H5CKPT_EINVAL;
    return h5ckpt_verify(path, c, fn, ctx, nproblems, err);
}
