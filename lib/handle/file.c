/*
 * Checkpoint handles: create (to a temporary file), open, commit (close,
 * fsync, rename, fsync directory), abort and close.
 */
#include "h5ckpt_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int h5ckpt__set(h5ckpt *ck, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ck->errmsg, sizeof ck->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

const char *h5ckpt_errmsg(const h5ckpt *ck) { return ck ? ck->errmsg : ""; }

MPI_Comm h5ckpt_comm(const h5ckpt *ck) { return ck ? ck->comm : MPI_COMM_NULL; }

uint64_t h5ckpt_bytes_written(const h5ckpt *ck) { return ck ? ck->bytes_written : 0; }

uint64_t h5ckpt_bytes_read(const h5ckpt *ck) { return ck ? ck->bytes_read : 0; }

/*
 * Longest file path, and longest file name, MPI-IO can open.  Open MPI
 * 4.1's OMPIO aborts the process (a fixed 256-byte buffer in its sharedfp
 * components overflows) when MPI_File_open is given a path of 245 bytes or
 * more, and fails to open a file whose name is longer than about 234 bytes
 * (it makes "<name>_cid-<n>-<pid>.sm" next to it).  When the ranks span
 * several nodes it makes "<name>-<jobid>-<pid>.lock" instead (sharedfp
 * lockedfile), up to 24 bytes more (a 10-digit job id, a 7-digit pid):
 * when that name is too long rank 0 fails alone and the other ranks wait
 * in MPI_File_open forever.  So a name may have at most 255 - 24 = 231
 * bytes.  With Open MPI such paths are refused with EINVAL instead
 * (measured with 4.1.4).
 */
#if defined(OMPI_MAJOR_VERSION) && OMPI_MAJOR_VERSION < 5
#define MPIIO_PATH_MAX 244
#define MPIIO_NAME_MAX 231
#else
#define MPIIO_PATH_MAX (PATH_MAX - 1)
#define MPIIO_NAME_MAX NAME_MAX
#endif

static int mpiio_path_ok(const char *path, char *msg)
{
    if (strlen(path) <= MPIIO_PATH_MAX)
        return 0;
    return h5ckpt__fail(msg, H5CKPT_EINVAL,
                        "path '%.40s...' is %zu bytes long; MPI-IO here opens "
                        "at most %d (use a shorter or relative path)",
                        path, strlen(path), MPIIO_PATH_MAX);
}

/* The base name of a file to open through MPI-IO. */
static int mpiio_name_ok(const char *path, char *msg)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    if (strlen(base) <= MPIIO_NAME_MAX)
        return 0;
    return h5ckpt__fail(msg, H5CKPT_EINVAL,
                        "file name '%.40s...' is %zu bytes long; MPI-IO here "
                        "opens at most %d (rename it)",
                        base, strlen(base), MPIIO_NAME_MAX);
}

/* Split `path` into its directory ("." if none) and base name. */
static int split_path(const char *path, char *dir, char *base, char *msg)
{
    const char *slash = strrchr(path, '/');
    size_t dlen;

    if (strlen(path) >= PATH_MAX - 64)
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "path is too long");
    if (!slash) {
        strcpy(dir, ".");
        strcpy(base, path);
        return 0;
    }
    dlen = slash == path ? 1 : (size_t)(slash - path);
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    strcpy(base, slash + 1);
    return 0;
}

/* Rank 0's checks of the target of a create. */
static int check_target(const char *path, char *tmp, char *msg)
{
    char dir[PATH_MAX], base[PATH_MAX];
    unsigned long long r = 0;
    struct stat st;
    int rc;

    if ((rc = split_path(path, dir, base, msg)) != 0)
        return rc;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return h5ckpt__fail(msg, H5CKPT_EISDIR, "'%s' names a directory", path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return h5ckpt__fail(msg, H5CKPT_EISDIR, "'%s' is a directory", path);
    if (strlen(base) > MPIIO_NAME_MAX - H5CKPT_TMP_EXTRA)
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "file name '%.40s...' is %zu bytes long; at most "
                            "%d leave room for the temporary name",
                            base, strlen(base),
                            (int)(MPIIO_NAME_MAX - H5CKPT_TMP_EXTRA));
    if (stat(dir, &st) != 0)
        return h5ckpt__fail(msg, H5CKPT_ENOENT, "directory '%s' does not exist",
                            dir);
    if (!S_ISDIR(st.st_mode))
        return h5ckpt__fail(msg, H5CKPT_ENOENT, "'%s' is not a directory", dir);
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned long long)time(NULL) * 2654435761u ^ (unsigned long long)getpid();
    if (snprintf(tmp, PATH_MAX, "%s/.%s" H5CKPT_TMP_INFIX "%016llx", dir, base,
                 r) >= PATH_MAX)
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "path is too long");
    return mpiio_path_ok(tmp, msg);
}

/* File access through MPI-IO on `comm`, or through the serial sec2 driver
 * when `serial` (a writer whose rank 0 alone holds the file: meta.c). */
static hid_t make_fapl(MPI_Comm comm, const h5ckpt_options *o, int serial)
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

static int new_handle(h5ckpt **out, int mode, const char *path, MPI_Comm comm,
                      const h5ckpt_options *opts, char *msg)
{
    h5ckpt *ck;

    if (!(ck = calloc(1, sizeof *ck)) || !(ck->path = h5ckpt__strdup(path))) {
        free(ck);
        return h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    }
    ck->mode = mode;
    ck->fid = H5I_INVALID_HID;
    ck->rawfd = -1;
    ck->comm = MPI_COMM_NULL;
    ck->opts = *opts;
    ck->write_version = ck->read_version = -1;
    *out = ck;
    return 0;
}

void h5ckpt_options_init(h5ckpt_options *opts)
{
    if (opts) {
        memset(opts, 0, sizeof *opts);
        opts->version = H5CKPT_OPTIONS_VERSION;
    }
}

/* 1 if the environment variable `name` says off ("0", "off" or "no"). */
static int env_off(const char *name)
{
    const char *e = getenv(name);

    return e && (!strcmp(e, "0") || !strcmp(e, "off") || !strcmp(e, "no"));
}

/*
 * The caller's options (NULL: the defaults) with the defaults and the
 * environment overrides applied: the one place that reads H5CKPT_EXECUTOR
 * and H5CKPT_EXCHANGE (lib/h5ckpt.h, "Options").  Local.  Returns 0 or
 * H5CKPT_EINVAL.
 */
static int resolve_options(h5ckpt_options *dst, const h5ckpt_options *src,
                           char *msg)
{
    const char *env;

    h5ckpt_options_init(dst);
    if (src)
        *dst = *src;
    dst->version = H5CKPT_OPTIONS_VERSION;
    switch (dst->executor) {
    case H5CKPT_EXECUTOR_PLAIN:
    case H5CKPT_EXECUTOR_FAST:
        break;
    case H5CKPT_EXECUTOR_DEFAULT:
        env = getenv("H5CKPT_EXECUTOR");
        if (!env || !*env || !strcmp(env, "fast"))
            dst->executor = H5CKPT_EXECUTOR_FAST;
        else if (!strcmp(env, "plain"))
            dst->executor = H5CKPT_EXECUTOR_PLAIN;
        else
            return h5ckpt__fail(msg, H5CKPT_EINVAL,
                                "H5CKPT_EXECUTOR='%.64s' is neither 'plain' "
                                "nor 'fast'", env);
        break;
    default:
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "unknown executor %d",
                            (int)dst->executor);
    }
    if (env_off("H5CKPT_EXCHANGE"))
        dst->no_exchange = 1;
    return 0;
}

/* Argument checks shared by create and open.  Collective once the
 * communicator is known to be usable: one rank's bad argument (a NULL `out`
 * or path) fails every rank alike instead of leaving the others waiting. */
static int check_args(h5ckpt **out, const char *path, MPI_Comm comm,
                      const h5ckpt_options *opts, char *msg)
{
    int flag = 0, rc = 0;

    if (out)
        *out = NULL;
    if (comm == MPI_COMM_NULL || MPI_Initialized(&flag) != MPI_SUCCESS || !flag)
        return h5ckpt__fail(msg, H5CKPT_EMPI,
                            "MPI is not initialised or the communicator is null");
    if (!out)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "out is NULL");
    else if (!path || !*path)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "path is NULL or empty");
    else if (opts && opts->version != 0 &&
             opts->version != H5CKPT_OPTIONS_VERSION)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL,
                          "options version %u is neither 0 nor %d (use "
                          "h5ckpt_options_init)",
                          opts->version, H5CKPT_OPTIONS_VERSION);
    return h5ckpt__agree(comm, rc, msg);
}

/* Collective: all ranks pass the same path and options. */
static int check_same(MPI_Comm comm, const char *path, const h5ckpt_options *o,
                      char *msg)
{
    h5ckpt__buf b = {0};
    uint64_t mine, root;
    int rank, rc = 0;

    /* resolved options: NULL, zeroed and explicit defaults agree;
     * no_exchange is agreed later, not compared (lib/h5ckpt.h) */
    h5ckpt__buf_str(&b, path);
    h5ckpt__buf_u64(&b, (uint64_t)(o->no_fsync != 0));
    h5ckpt__buf_u64(&b, (uint64_t)o->executor);
    h5ckpt__buf_u64(&b, (uint64_t)(o->no_file_locking != 0));
    h5ckpt__buf_u64(&b, o->alignment);
    h5ckpt__buf_u64(&b, (uint64_t)o->verify_checksums);
    h5ckpt__buf_u64(&b, o->staging_bytes);
    h5ckpt__buf_str(&b, o->mesh ? o->mesh->desc : "");
    mine = root = h5ckpt__hash(b.data, b.len);
    h5ckpt__buf_free(&b);
    MPI_Comm_rank(comm, &rank);
    if (MPI_Bcast(&root, 1, MPI_UINT64_T, 0, comm) != MPI_SUCCESS)
        rc = h5ckpt__fail(msg, H5CKPT_EMPI, "MPI_Bcast failed");
    else if (root != mine)
        rc = h5ckpt__fail(msg, H5CKPT_EDISAGREE,
                          "rank %d passes path '%s' or options that differ "
                          "from rank 0's",
                          rank, path);
    return h5ckpt__agree(comm, rc, msg);
}

static int write_root_attrs(h5ckpt *ck, char *msg)
{
    const h5ckpt_mesh *m = ck->opts.mesh;
    int64_t one = H5CKPT_FORMAT_WRITE_VERSION, rv = H5CKPT_FORMAT_READ_VERSION;
    int64_t nranks = ck->size, shape[H5CKPT_MAX_NDIM];
    char created[32] = "";
    time_t now;
    int i, rc, ndim = m ? m->ndim : 1;

    if (ck->rank == 0) {
        now = time(NULL);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    }
    MPI_Bcast(created, sizeof created, MPI_CHAR, 0, h5ckpt__meta_comm(ck));
    for (i = 0; i < ndim; i++)
        shape[i] = m ? m->shape[i] : ck->size;
    if ((rc = h5ckpt__attr_write_string(ck->fid, H5CKPT_A_FORMAT,
                                        H5CKPT_FORMAT_NAME, msg)) ||
        (rc = h5ckpt__attr_write_int64s(ck->fid, H5CKPT_A_WRITE_VERSION, 0,
                                        &one, msg)) ||
        (rc = h5ckpt__attr_write_int64s(ck->fid, H5CKPT_A_READ_VERSION, 0, &rv,
                                        msg)) ||
        (rc = h5ckpt__attr_write_string(ck->fid, H5CKPT_A_LIBVERSION,
                                        H5CKPT_VERSION_STRING, msg)) ||
        (rc = h5ckpt__attr_write_string(ck->fid, H5CKPT_A_CREATED, created,
                                        msg)) ||
        (rc = h5ckpt__attr_write_int64s(ck->fid, H5CKPT_A_NRANKS, 0, &nranks,
                                        msg)) ||
        (rc = h5ckpt__attr_write_int64s(ck->fid, H5CKPT_A_MESH_SHAPE,
                                        (size_t)ndim, shape, msg)))
        return rc;
    if (m && m->names[0]) {
        h5ckpt__attr a = {0};
        a.name = H5CKPT_A_MESH_DIMS;
        a.type = H5CKPT_ATTR_STRING;
        a.count = (size_t)m->ndim;
        a.values = (void *)m->names;
        return h5ckpt__attr_write(ck->fid, &a, msg);
    }
    return 0;
}

int h5ckpt_create(h5ckpt **out, const char *path, MPI_Comm comm,
                  const h5ckpt_options *opts, h5ckpt_error *err)
{
    char msg[H5CKPT_MSG_MAX] = "", tmp[PATH_MAX] = "";
    h5ckpt_options o;
    h5ckpt__h5quiet q;
    h5ckpt *ck = NULL;
    hid_t fapl = H5I_INVALID_HID;
    int64_t started = 0;
    int rc, rank = 0, size = 1;

    h5ckpt__h5quiet_begin(&q);
    if ((rc = check_args(out, path, comm, opts, msg)) != 0)
        goto done;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    rc = resolve_options(&o, opts, msg);
    if (rc == 0 && opts && opts->mesh && opts->mesh->size != size)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL,
                          "the writer mesh has %d ranks, the communicator %d",
                          opts->mesh->size, size);
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0 ||
        (rc = check_same(comm, path, &o, msg)) != 0)
        goto done;
    if (rank == 0) {
        started = h5ckpt__now_ns();
        rc = check_target(path, tmp, msg);
    }
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    MPI_Bcast(tmp, sizeof tmp, MPI_CHAR, 0, comm);
    rc = new_handle(&ck, H5CKPT__WRITER, path, comm, &o, msg);
    if (rc == 0 && !(ck->tmp_path = h5ckpt__strdup(tmp)))
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    MPI_Comm_dup(comm, &ck->comm);
    ck->rank = rank;
    ck->size = size;
    ck->started_ns = started;
    h5ckpt__meta_choose(ck);
    if (h5ckpt__meta_mine(ck) &&
        ((fapl = make_fapl(ck->comm, &ck->opts, ck->meta_root)) < 0 ||
         (ck->fid = H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl)) < 0)) {
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot create '%s'", tmp);
        h5ckpt__append_h5err(msg);
    }
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    rc = h5ckpt__agree(comm, h5ckpt__meta_mine(ck) ? write_root_attrs(ck, msg) : 0,
                       msg);
done:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (rc != 0) {
        if (ck) {
            snprintf(ck->errmsg, sizeof ck->errmsg, "%s", msg);
            h5ckpt_close(ck); /* removes the temporary file */
        }
        h5ckpt__seterror(err, rc, msg);
    } else {
        *out = ck;
    }
    h5ckpt__h5quiet_end(&q);
    return rc;
}

/* Rank 0's checks of the path of an open. */
static int check_source(const char *path, char *msg)
{
    struct stat st;
    htri_t is;

    if (stat(path, &st) != 0)
        return h5ckpt__fail(msg, errno == ENOENT || errno == ENOTDIR
                                     ? H5CKPT_ENOENT : H5CKPT_EIO,
                            "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return h5ckpt__fail(msg, H5CKPT_EISDIR, "'%s' is a directory", path);
    /* A save killed between its close and its rename leaves a complete file
     * under the temporary name: still not a checkpoint (never published). */
    if (h5ckpt__is_temp_name(path))
        return h5ckpt__fail(msg, H5CKPT_ENOTCOMMITTED,
                            "'%s' is the temporary file of an unfinished save",
                            path);
    if (mpiio_path_ok(path, msg) != 0 || mpiio_name_ok(path, msg) != 0)
        return H5CKPT_EINVAL;
    if ((is = H5Fis_hdf5(path)) <= 0)
        return h5ckpt__fail(msg, H5CKPT_ENOTCKPT, "'%s' is not an HDF5 file",
                            path);
    return 0;
}

/* 0 when `path` still names the file ck->rawfd holds, else H5CKPT_EIO. */
static int same_file(const h5ckpt *ck, char *msg)
{
    struct stat a, b;

    if (fstat(ck->rawfd, &a) != 0 || stat(ck->path, &b) != 0 ||
        a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return h5ckpt__fail(msg, H5CKPT_EIO,
                            "'%s' was replaced while it was being opened; "
                            "open it again", ck->path);
    return 0;
}

/* Collective: every rank opens the file for raw reads, and all must hold
 * the file rank 0 holds.  Agreed. */
static int hold_file(h5ckpt *ck, char *msg)
{
    struct stat st;
    uint64_t id[2] = {0, 0}, root[2];
    int rc = 0;

    if ((ck->rawfd = open(ck->path, O_RDONLY | O_CLOEXEC)) < 0 ||
        fstat(ck->rawfd, &st) != 0)
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot open '%s' for raw reads: %s",
                          ck->path, strerror(errno));
    else
        id[0] = (uint64_t)st.st_dev, id[1] = (uint64_t)st.st_ino;
    memcpy(root, id, sizeof root);
    if (MPI_Bcast(root, 2, MPI_UINT64_T, 0, ck->comm) != MPI_SUCCESS)
        rc = h5ckpt__fail(msg, H5CKPT_EMPI, "MPI_Bcast failed");
    if (rc == 0 && (root[0] != id[0] || root[1] != id[1]))
        rc = h5ckpt__fail(msg, H5CKPT_EIO,
                          "'%s' was replaced while it was being opened; "
                          "open it again", ck->path);
    return h5ckpt__agree(ck->comm, rc, msg);
}

int h5ckpt__reader_fid(h5ckpt *ck)
{
    hid_t fapl;
    int rc = 0;

    if (ck->fid >= 0) /* identical on every rank */
        return 0;
    if ((fapl = make_fapl(ck->comm, &ck->opts, 0)) < 0 ||
        (ck->fid = H5Fopen(ck->path, H5F_ACC_RDONLY, fapl)) < 0) {
        rc = h5ckpt__set(ck, H5CKPT_ENOTCKPT, "cannot open '%s' as HDF5", ck->path);
        h5ckpt__append_h5err(ck->errmsg);
    } else {
        /* opened by name: still the file every rank holds? */
        rc = same_file(ck, ck->errmsg);
    }
    if (fapl >= 0)
        H5Pclose(fapl);
    return h5ckpt__agree(ck->comm, rc, ck->errmsg);
}

int h5ckpt_open(h5ckpt **out, const char *path, MPI_Comm comm,
                const h5ckpt_options *opts, h5ckpt_error *err)
{
    h5ckpt_options o;
    char msg[H5CKPT_MSG_MAX] = "";
    h5ckpt__h5quiet q;
    h5ckpt *ck = NULL;
    hid_t fapl = H5I_INVALID_HID;
    int rc, rank = 0;

    h5ckpt__h5quiet_begin(&q);
    if ((rc = check_args(out, path, comm, opts, msg)) != 0)
        goto done;
    MPI_Comm_rank(comm, &rank);
    rc = resolve_options(&o, opts, msg);
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0 ||
        (rc = check_same(comm, path, &o, msg)) != 0)
        goto done;
    if (rank == 0)
        rc = check_source(path, msg);
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    rc = new_handle(&ck, H5CKPT__READER, path, comm, &o, msg);
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    MPI_Comm_dup(comm, &ck->comm);
    ck->rank = rank;
    MPI_Comm_size(comm, &ck->size);
    /* The descriptor the fast reader reads through, held until close: a
     * checkpoint renamed over `path` later does not change what this
     * handle reads.  Every rank must hold the same file. */
    if ((rc = hold_file(ck, msg)) != 0)
        goto done;
    /* The collective HDF5 handle serves the plain executor and checksum
     * checks; the fast reader opens it only when a flush needs it
     * (h5ckpt__reader_fid), sparing every open the MPI-IO file open. */
    if ((o.executor == H5CKPT_EXECUTOR_PLAIN || o.verify_checksums) &&
        (rc = h5ckpt__reader_fid(ck)) != 0) {
        snprintf(msg, sizeof msg, "%s", ck->errmsg);
        goto done;
    }
    rc = h5ckpt__index_load(ck);
    /* rank 0 scanned the file by name: still the one every rank holds? */
    if (rc == 0)
        rc = h5ckpt__agree(ck->comm, rank == 0 ? same_file(ck, ck->errmsg) : 0,
                           ck->errmsg);
    if (rc == 0 && ck->opts.verify_checksums)
        rc = h5ckpt__checksum_load(ck);
    if (rc)
        snprintf(msg, sizeof msg, "%s", ck->errmsg);
done:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (rc != 0) {
        h5ckpt_close(ck);
        h5ckpt__seterror(err, rc, msg);
    } else {
        *out = ck;
    }
    h5ckpt__h5quiet_end(&q);
    return rc;
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY), rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Rank 0: make the closed temporary file durable and move it into place. */
static int publish(h5ckpt *ck, char *msg)
{
    char dir[PATH_MAX], base[PATH_MAX];

    if (!ck->opts.no_fsync && fsync_path(ck->tmp_path, 0) != 0)
        return h5ckpt__fail(msg, H5CKPT_EIO, "fsync of '%s' failed: %s",
                            ck->tmp_path, strerror(errno));
    if (rename(ck->tmp_path, ck->path) != 0)
        return h5ckpt__fail(msg, errno == EISDIR ? H5CKPT_EISDIR : H5CKPT_EIO,
                            "cannot rename '%s' to '%s': %s", ck->tmp_path,
                            ck->path, strerror(errno));
    split_path(ck->path, dir, base, msg);
    if (!ck->opts.no_fsync && fsync_path(dir, 1) != 0)
        return h5ckpt__fail(msg, H5CKPT_EIO, "fsync of directory '%s' failed: %s",
                            dir, strerror(errno));
    h5ckpt__remove_leftovers(ck->path, ck->started_ns);
    return 0;
}

int h5ckpt_commit(h5ckpt *ck)
{
    h5ckpt__h5quiet q;
    int64_t one = 1;
    int rc;

    if (!ck)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__WRITER || ck->state != H5CKPT__OPEN)
        return h5ckpt__set(ck, H5CKPT_EMODE,
                           ck->mode != H5CKPT__WRITER
                               ? "a reader cannot be committed"
                               : "this writer has failed or was committed; "
                                 "it can only be closed");
    if ((rc = h5ckpt_flush(ck)) != 0)
        goto fail;
    h5ckpt__h5quiet_begin(&q);
    rc = h5ckpt__checksum_write(ck); /* collective, agreed */
    if (rc == 0 && h5ckpt__meta_mine(ck))
        rc = h5ckpt__attr_write_int64s(ck->fid, H5CKPT_A_COMMITTED, 0, &one,
                                       ck->errmsg);
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) == 0) {
        if (ck->fid >= 0 && H5Fclose(ck->fid) < 0) {
            rc = h5ckpt__set(ck, H5CKPT_EIO, "closing '%s' failed",
                             ck->tmp_path);
            h5ckpt__append_h5err(ck->errmsg);
        }
        ck->fid = H5I_INVALID_HID;
        h5ckpt__meta_wait(ck);
        rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
    }
    h5ckpt__h5quiet_end(&q);
    if (rc == 0) {
        if (ck->rank == 0)
            rc = publish(ck, ck->errmsg);
        rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
    }
    if (rc == 0) {
        ck->state = H5CKPT__DONE;
        return 0;
    }
fail:
    ck->state = H5CKPT__FAILED;
    return rc;
}

int h5ckpt_close(h5ckpt *ck)
{
    h5ckpt__h5quiet q;
    int rc = 0;

    if (!ck)
        return 0;
    h5ckpt__h5quiet_begin(&q);
    if (ck->fid >= 0 && H5Fclose(ck->fid) < 0)
        rc = h5ckpt__set(ck, H5CKPT_EIO, "closing '%s' failed", ck->path);
    h5ckpt__h5quiet_end(&q);
    if (ck->rawfd >= 0)
        close(ck->rawfd);
    if (ck->mode == H5CKPT__WRITER && ck->state != H5CKPT__DONE &&
        ck->tmp_path && ck->rank == 0)
        unlink(ck->tmp_path); /* abort: the target path is untouched */
    h5ckpt__queue_clear(ck);
    h5ckpt__index_free(ck);
    h5ckpt__checksum_free(ck);
    h5ckpt__replica_free(ck);
    h5ckpt__exchange_free(ck);
    free(ck->ops);
    free(ck->attrs);
    h5ckpt__strmap_free(&ck->names);
    h5ckpt__strmap_free(&ck->created);
    if (ck->comm != MPI_COMM_NULL) {
        rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
        MPI_Comm_free(&ck->comm);
    }
    free(ck->path);
    free(ck->tmp_path);
    free(ck);
    return rc;
}
