/*
 * How a handle's file is opened and held: the one recipe for file access
 * properties, the raw descriptor a reader holds from open to close (so that
 * everything it reads comes from the file it opened), identity checks, the
 * collective HDF5 handle a reader opens when it needs one, and releasing it
 * all.
 */
#include "format/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

hid_t h5ckpt__fapl(MPI_Comm comm, const h5ckpt_options *o, int serial)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);

    if (fapl < 0)
        return fapl;
    if ((serial ? H5Pset_fapl_sec2(fapl) < 0
                : H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0 ||
                      H5Pset_coll_metadata_write(fapl, 1) < 0) ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST) < 0 ||
        H5Pset_file_locking(fapl, o->no_file_locking ? 0 : 1, 1) < 0 ||
        (o->alignment && H5Pset_alignment(fapl, o->alignment, o->alignment) < 0)) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

int h5ckpt__file_same(const h5ckpt__file *f, char *msg)
{
    struct stat a, b;

    if (fstat(f->rawfd, &a) != 0 || stat(f->path, &b) != 0 ||
        a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return h5ckpt__fail(msg, H5CKPT_EIO,
                            "'%s' was replaced while it was being opened; "
                            "open it again", f->path);
    return 0;
}

const char *h5ckpt__file_held_name(const h5ckpt__file *f, char *buf, size_t size)
{
    struct stat a, b;

    if (f->rawfd >= 0 && snprintf(buf, size, "/proc/self/fd/%d", f->rawfd) < (int)size &&
        fstat(f->rawfd, &a) == 0 && stat(buf, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return buf;
    return f->path;
}

hid_t h5ckpt__file_open_serial(const h5ckpt__file *f, hid_t fapl)
{
    char held[64];
    const char *name = h5ckpt__file_held_name(f, held, sizeof held);
    hid_t fid = H5Fopen(name, H5F_ACC_RDONLY, fapl);

    if (fid >= 0 || name == f->path)
        return fid;
    /* HDF5 1.10 resolves a symbolic link given to a POSIX driver (sec2)
     * with realpath(), which fails once the path was replaced or deleted
     * ("/proc/self/fd/N -> x.h5 (deleted)"); MPI-IO takes the name as it
     * is, and on MPI_COMM_SELF makes no call another rank must match. */
    if (H5Pset_fapl_mpio(fapl, MPI_COMM_SELF, MPI_INFO_NULL) < 0)
        return H5I_INVALID_HID;
    return H5Fopen(name, H5F_ACC_RDONLY, fapl);
}

int h5ckpt__file_hold(h5ckpt__ctx *ctx, h5ckpt__file *f)
{
    struct stat st;
    uint64_t id[2] = {0, 0}, root[2];
    char held[64];
    int rc = 0, e;

    /* rank 0 found the file a moment ago: gone now means deleted (by a
     * concurrent save's retention, say), not unreadable (issue 13) */
    if ((f->rawfd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT)
        rc = h5ckpt__set(ctx, H5CKPT_ENOENT, "'%s' was deleted while it was being opened",
                         f->path);
    else if (f->rawfd < 0 || fstat(f->rawfd, &st) != 0)
        rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot open '%s' for raw reads: %s",
                         f->path, strerror(errno));
    else
        id[0] = (uint64_t)st.st_dev, id[1] = (uint64_t)st.st_ino;
    memcpy(root, id, sizeof root);
    if ((e = h5ckpt__mpi(MPI_Bcast(root, 2, MPI_UINT64_T, 0, ctx->comm),
                         "MPI_Bcast", ctx->errmsg)) != 0)
        rc = e;
    if (rc == 0 && (root[0] != id[0] || root[1] != id[1]))
        rc = h5ckpt__set(ctx, H5CKPT_EIO,
                         "'%s' was replaced while it was being opened; "
                         "open it again", f->path);
    /* Is it HDF5?  Asked of the held file, not of the path, whose file may
     * have been deleted or replaced since (a deleted checkpoint was
     * reported as not HDF5). */
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) == 0 && ctx->rank == 0 &&
        H5Fis_hdf5(h5ckpt__file_held_name(f, held, sizeof held)) <= 0)
        rc = h5ckpt__set(ctx, H5CKPT_ENOTCKPT, "'%s' is not an HDF5 file", f->path);
    return h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
}

int h5ckpt__file_open_collective(h5ckpt__ctx *ctx, h5ckpt__file *f,
                                 const h5ckpt_options *opts)
{
    char held[64];
    const char *name = h5ckpt__file_held_name(f, held, sizeof held);
    hid_t fapl;
    int rc = 0;

    if (f->fid >= 0) /* identical on every rank */
        return 0;
    /* Through the held descriptor: a fast reader opens this lazily, long
     * after h5ckpt_open, when the path may name another file (issue 13).
     * Each rank's name differs (its own descriptor); MPI-IO (OMPIO and
     * ROMIO alike) accepts that for a read-only open. */
    if ((fapl = h5ckpt__fapl(ctx->comm, opts, 0)) < 0 ||
        (f->fid = H5Fopen(name, H5F_ACC_RDONLY, fapl)) < 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ENOTCKPT, "cannot open '%s' as HDF5", f->path);
        h5ckpt__append_h5err(ctx->errmsg);
    } else if (name == f->path) {
        /* opened by name (no /proc): still the file every rank holds? */
        rc = h5ckpt__file_same(f, ctx->errmsg);
    }
    if (fapl >= 0)
        H5Pclose(fapl);
    return h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
}

int h5ckpt__file_mine(const h5ckpt__ctx *ctx, const h5ckpt__file *f)
{
    return !f->serial || ctx->rank == 0;
}

MPI_Comm h5ckpt__file_comm(const h5ckpt__ctx *ctx, const h5ckpt__file *f)
{
    return f->serial ? MPI_COMM_SELF : ctx->comm;
}

int h5ckpt__file_wait(h5ckpt__ctx *ctx, const h5ckpt__file *f, int rc)
{
    return f->serial ? h5ckpt__wait_asleep(ctx->comm, rc, ctx->errmsg) : rc;
}

int h5ckpt__file_release(h5ckpt__file *f, char *msg)
{
    int rc = 0;

    if (f->fid >= 0 && H5Fclose(f->fid) < 0)
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "closing '%s' failed", f->path);
    f->fid = H5I_INVALID_HID;
    if (f->rawfd >= 0)
        close(f->rawfd);
    f->rawfd = -1;
    h5ckpt__index_free(&f->index);
    h5ckpt__sums_free(&f->sums);
    h5ckpt__strmap_free(&f->created);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return rc;
}

int h5ckpt__file_committed(const char *file)
{
    h5ckpt__h5quiet q;
    int64_t v = 0;
    hid_t fapl = H5I_INVALID_HID, f = H5I_INVALID_HID, a = H5I_INVALID_HID;
    int ok = 0;

    h5ckpt__h5quiet_begin(&q);
    /* Read-only, and without a file lock: file systems without locks (NFS,
     * some Lustre mounts) would otherwise hide every checkpoint. */
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_file_locking(fapl, 0, 1) < 0 ||
        (f = H5Fopen(file, H5F_ACC_RDONLY, fapl)) < 0)
        goto done;
    if ((a = H5Aopen(f, H5CKPT_A_COMMITTED, H5P_DEFAULT)) >= 0 &&
        H5Aread(a, H5T_NATIVE_INT64, &v) >= 0)
        ok = v == 1;
done:
    if (a >= 0)
        H5Aclose(a);
    if (f >= 0)
        H5Fclose(f);
    if (fapl >= 0)
        H5Pclose(fapl);
    h5ckpt__h5quiet_end(&q);
    return ok;
}
