/*
 * Checkpoint handles: create (to a temporary file), open, commit (close,
 * fsync, rename, fsync directory) at once or in two halves around a
 * background write (commit_start, commit_test, commit_wait), abort and
 * close.
 */
#include "handle/handle.h"

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

const char *h5ckpt_errmsg(const h5ckpt *ck) { return ck ? ck->ctx.errmsg : ""; }

MPI_Comm h5ckpt_comm(const h5ckpt *ck) { return ck ? ck->ctx.comm : MPI_COMM_NULL; }

uint64_t h5ckpt_bytes_written(const h5ckpt *ck) { return ck ? ck->io.bytes_written : 0; }

uint64_t h5ckpt_bytes_read(const h5ckpt *ck) { return ck ? ck->io.bytes_read : 0; }

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

static int new_handle(h5ckpt **out, int mode, const char *path,
                      const h5ckpt_options *opts, char *msg)
{
    h5ckpt *ck;

    if (!(ck = calloc(1, sizeof *ck)) || !(ck->file.path = h5ckpt__strdup(path))) {
        free(ck);
        return h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    }
    ck->mode = mode;
    ck->ctx.comm = MPI_COMM_NULL;
    ck->opts = *opts;
    ck->file.writer = mode == H5CKPT__WRITER;
    ck->file.fid = H5I_INVALID_HID;
    ck->file.rawfd = -1;
    ck->file.index.root.write_version = ck->file.index.root.read_version = -1;
    ck->io.ctx = &ck->ctx;
    ck->io.file = &ck->file;
    ck->io.opts = &ck->opts;
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
 * environment overrides applied: the one place that reads H5CKPT_EXECUTOR,
 * H5CKPT_EXCHANGE and H5CKPT_DIRECT (lib/h5ckpt.h, "Options").  Local.  Returns 0 or
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
    if (env_off("H5CKPT_DIRECT"))
        dst->no_direct = 1;
    return 0;
}

/*
 * The start shared by create and open: checks that need no communication,
 * then the library's own duplicate of `comm` (MPI_ERRORS_RETURN: lib/base,
 * "MPI error policy") on which everything after runs, then the argument
 * checks, agreed: one rank's bad argument (a NULL `out` or path) fails every
 * rank alike instead of leaving the others waiting.  On success *dup is the
 * duplicate; on failure it is freed.
 */
static int begin(h5ckpt **out, const char *path, MPI_Comm comm,
                 const h5ckpt_options *opts, MPI_Comm *dup, int *rank,
                 int *size, char *msg)
{
    int flag = 0, rc;

    *dup = MPI_COMM_NULL;
    if (out)
        *out = NULL;
    if (comm == MPI_COMM_NULL || MPI_Initialized(&flag) != MPI_SUCCESS || !flag)
        return h5ckpt__fail(msg, H5CKPT_EMPI,
                            "MPI is not initialised or the communicator is null");
    if ((rc = h5ckpt__comm_dup(comm, dup, msg)) != 0)
        return rc;
    if ((rc = h5ckpt__mpi(MPI_Comm_rank(*dup, rank), "MPI_Comm_rank", msg)) == 0)
        rc = h5ckpt__mpi(MPI_Comm_size(*dup, size), "MPI_Comm_size", msg);
    if (rc == 0 && !out)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "out is NULL");
    else if (rc == 0 && (!path || !*path))
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "path is NULL or empty");
    else if (rc == 0 && opts && opts->version != 0 &&
             opts->version != H5CKPT_OPTIONS_VERSION)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL,
                          "options version %u is neither 0 nor %d (use "
                          "h5ckpt_options_init)",
                          opts->version, H5CKPT_OPTIONS_VERSION);
    if ((rc = h5ckpt__agree(*dup, rc, msg)) != 0)
        h5ckpt__comm_free(dup);
    return rc;
}

/*
 * Collective: all ranks pass the same path and options, and agree on
 * no_direct (any rank's 1 sets it on every rank).
 */
static int check_same(MPI_Comm comm, const char *path, h5ckpt_options *o,
                      char *msg)
{
    h5ckpt__buf b = {0};
    uint64_t mine, root;
    int rank, rc = 0, e, off = o->no_direct != 0;

    /* resolved options: NULL, zeroed and explicit defaults agree;
     * no_exchange is agreed later (exchange.c) and no_direct below: neither
     * is compared (lib/h5ckpt.h) */
    h5ckpt__buf_str(&b, path);
    h5ckpt__buf_u64(&b, (uint64_t)(o->no_fsync != 0));
    h5ckpt__buf_u64(&b, (uint64_t)o->executor);
    h5ckpt__buf_u64(&b, (uint64_t)(o->no_file_locking != 0));
    h5ckpt__buf_u64(&b, o->alignment);
    h5ckpt__buf_u64(&b, (uint64_t)o->verify_checksums);
    h5ckpt__buf_u64(&b, o->staging_bytes);
    h5ckpt__buf_u64(&b, o->snapshot_bytes); /* the snapshot pointer is each
                                               rank's own: not compared */
    h5ckpt__buf_str(&b, o->mesh ? o->mesh->desc : "");
    mine = root = h5ckpt__hash(b.data, b.len);
    h5ckpt__buf_free(&b);
    if ((rc = h5ckpt__mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", msg)) == 0)
        rc = h5ckpt__mpi(MPI_Bcast(&root, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast",
                         msg);
    /* every rank takes part, whatever it found so far */
    e = h5ckpt__mpi(MPI_Allreduce(MPI_IN_PLACE, &off, 1, MPI_INT, MPI_MAX, comm),
                    "MPI_Allreduce", msg);
    if (rc == 0)
        rc = e;
    o->no_direct = off;
    if (rc == 0 && root != mine)
        rc = h5ckpt__fail(msg, H5CKPT_EDISAGREE,
                          "rank %d passes path '%s' or options that differ "
                          "from rank 0's",
                          rank, path);
    return h5ckpt__agree(comm, rc, msg);
}

int h5ckpt_create(h5ckpt **out, const char *path, MPI_Comm comm,
                  const h5ckpt_options *opts, h5ckpt_error *err)
{
    char msg[H5CKPT_MSG_MAX] = "", tmp[PATH_MAX] = "", created[32] = "";
    h5ckpt_options o;
    h5ckpt__h5quiet q;
    h5ckpt *ck = NULL;
    MPI_Comm dup = MPI_COMM_NULL;
    hid_t fapl = H5I_INVALID_HID;
    int64_t started = 0;
    int rc, rank = 0, size = 1;

    h5ckpt__h5quiet_begin(&q);
    if ((rc = begin(out, path, comm, opts, &dup, &rank, &size, msg)) != 0)
        goto done;
    rc = resolve_options(&o, opts, msg);
    if (rc == 0 && opts && opts->mesh && opts->mesh->size != size)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL,
                          "the writer mesh has %d ranks, the communicator %d",
                          opts->mesh->size, size);
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0 ||
        (rc = check_same(dup, path, &o, msg)) != 0)
        goto done;
    if (rank == 0) {
        time_t now = time(NULL);
        started = h5ckpt__now_ns();
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        rc = check_target(path, tmp, msg);
    }
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0)
        goto done;
    /* the temporary name, and the creation time the root records */
    if ((rc = h5ckpt__mpi(MPI_Bcast(tmp, sizeof tmp, MPI_CHAR, 0, dup),
                          "MPI_Bcast", msg)) == 0)
        rc = h5ckpt__mpi(MPI_Bcast(created, sizeof created, MPI_CHAR, 0, dup),
                         "MPI_Bcast", msg);
    if (rc == 0)
        rc = new_handle(&ck, H5CKPT__WRITER, path, &o, msg);
    if (rc == 0 && !(ck->file.tmp_path = h5ckpt__strdup(tmp)))
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0)
        goto done;
    ck->ctx.comm = dup;
    dup = MPI_COMM_NULL;
    ck->ctx.rank = rank;
    ck->ctx.size = size;
    ck->file.started_ns = started;
    h5ckpt__meta_choose(&ck->io);
    if (h5ckpt__file_mine(&ck->ctx, &ck->file) &&
        ((fapl = h5ckpt__fapl(ck->ctx.comm, &ck->opts, ck->file.serial)) < 0 ||
         (ck->file.fid = H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl)) < 0)) {
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot create '%s'", tmp);
        h5ckpt__append_h5err(msg);
    }
    if ((rc = h5ckpt__agree(ck->ctx.comm, rc, msg)) != 0)
        goto done;
    rc = h5ckpt__agree(ck->ctx.comm,
                       h5ckpt__file_mine(&ck->ctx, &ck->file)
                           ? h5ckpt__root_write(&ck->file, o.mesh, size, created, msg)
                           : 0,
                       msg);
done:
    if (fapl >= 0)
        H5Pclose(fapl);
    h5ckpt__comm_free(&dup);
    if (rc != 0) {
        if (ck) {
            snprintf(ck->ctx.errmsg, sizeof ck->ctx.errmsg, "%s", msg);
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
    return 0; /* whether it is HDF5: asked of the held file (access.c) */
}

int h5ckpt_open(h5ckpt **out, const char *path, MPI_Comm comm,
                const h5ckpt_options *opts, h5ckpt_error *err)
{
    h5ckpt_options o;
    char msg[H5CKPT_MSG_MAX] = "";
    h5ckpt__h5quiet q;
    h5ckpt *ck = NULL;
    MPI_Comm dup = MPI_COMM_NULL;
    int rc, rank = 0, size = 1;

    h5ckpt__h5quiet_begin(&q);
    if ((rc = begin(out, path, comm, opts, &dup, &rank, &size, msg)) != 0)
        goto done;
    rc = resolve_options(&o, opts, msg);
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0 ||
        (rc = check_same(dup, path, &o, msg)) != 0)
        goto done;
    if (rank == 0)
        rc = check_source(path, msg);
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0)
        goto done;
    rc = new_handle(&ck, H5CKPT__READER, path, &o, msg);
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0)
        goto done;
    ck->ctx.comm = dup;
    dup = MPI_COMM_NULL;
    ck->ctx.rank = rank;
    ck->ctx.size = size;
    /* The descriptor the fast reader reads through, held until close: a
     * checkpoint renamed over `path` later does not change what this
     * handle reads.  Every rank must hold the same file. */
    if ((rc = h5ckpt__file_hold(&ck->ctx, &ck->file)) != 0)
        goto failed;
    /* The collective HDF5 handle serves the plain executor and checksum
     * checks; the fast reader opens it only when a flush needs it
     * (h5ckpt__file_open_collective), sparing every open the MPI-IO file
     * open. */
    if ((o.executor == H5CKPT_EXECUTOR_PLAIN || o.verify_checksums) &&
        (rc = h5ckpt__file_open_collective(&ck->ctx, &ck->file, &ck->opts)) != 0)
        goto failed;
    rc = h5ckpt__index_load(&ck->ctx, &ck->file, &ck->opts);
    /* rank 0 scanned the held file, or (no /proc) the file at the path:
     * still the one every rank holds? */
    if (rc == 0) {
        char held[64];
        rc = h5ckpt__agree(ck->ctx.comm,
                           rank == 0 && h5ckpt__file_held_name(&ck->file, held, sizeof held) ==
                                            ck->file.path
                               ? h5ckpt__file_same(&ck->file, ck->ctx.errmsg) : 0,
                           ck->ctx.errmsg);
    }
    if (rc == 0 && ck->opts.verify_checksums)
        rc = h5ckpt__sums_load(&ck->ctx, &ck->file);
failed:
    if (rc)
        snprintf(msg, sizeof msg, "%s", ck->ctx.errmsg);
done:
    h5ckpt__comm_free(&dup);
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
    const h5ckpt__file *f = &ck->file;
    char dir[PATH_MAX], base[PATH_MAX];

    if (!ck->opts.no_fsync && fsync_path(f->tmp_path, 0) != 0)
        return h5ckpt__fail(msg, H5CKPT_EIO, "fsync of '%s' failed: %s",
                            f->tmp_path, strerror(errno));
    if (rename(f->tmp_path, f->path) != 0)
        return h5ckpt__fail(msg, errno == EISDIR ? H5CKPT_EISDIR : H5CKPT_EIO,
                            "cannot rename '%s' to '%s': %s", f->tmp_path,
                            f->path, strerror(errno));
    split_path(f->path, dir, base, msg);
    if (!ck->opts.no_fsync && fsync_path(dir, 1) != 0)
        return h5ckpt__fail(msg, H5CKPT_EIO, "fsync of directory '%s' failed: %s",
                            dir, strerror(errno));
    h5ckpt__remove_leftovers(f->path, f->started_ns);
    return 0;
}

/* Collective after a failed commit (every rank fails alike): close the
 * file without writing to disk (format/space.c: a full file system must
 * not fail an HDF5 write) and remove the temporary file at once.  The
 * previous file at the path was never touched. */
static void discard(h5ckpt *ck)
{
    h5ckpt__file *f = &ck->file;
    h5ckpt__h5quiet q;

    h5ckpt__h5quiet_begin(&q);
    h5ckpt__file_abort_close(f, NULL);
    h5ckpt__h5quiet_end(&q);
    if (ck->ctx.rank == 0 && f->tmp_path)
        unlink(f->tmp_path);
}

/* Collective, once every byte of tensor data is in the file: the checksum
 * table, the commit marker, close, fsync, rename, directory fsync.  Sets
 * the state (DONE, or FAILED with the temporary file removed). */
static int finish(h5ckpt *ck)
{
    h5ckpt__ctx *ctx = &ck->ctx;
    h5ckpt__file *f = &ck->file;
    h5ckpt__h5quiet q;
    int rc;

    h5ckpt__h5quiet_begin(&q);
    rc = h5ckpt__sums_write(ctx, f, !ck->opts.no_fsync); /* collective, agreed */
    if (rc == 0 && h5ckpt__file_mine(ctx, f))
        rc = h5ckpt__committed_write(f, ctx->errmsg);
    /* the close writes HDF5's metadata, which must not fail
     * (format/space.c) */
    if (rc == 0)
        rc = h5ckpt__file_reserve(ctx, f, 0);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) == 0) {
        if (f->fid >= 0 && H5Fclose(f->fid) < 0) {
            rc = h5ckpt__set(ctx, H5CKPT_EIO, "closing '%s' failed", f->tmp_path);
            h5ckpt__append_h5err(ctx->errmsg);
        }
        f->fid = H5I_INVALID_HID;
        rc = h5ckpt__file_wait(ctx, f, rc);
        rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
        if (rc == 0 && ctx->rank == 0)
            h5ckpt__file_reserve_release(f->tmp_path);
    }
    h5ckpt__h5quiet_end(&q);
    if (rc == 0) {
        if (ctx->rank == 0)
            rc = publish(ck, ctx->errmsg);
        rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
    }
    ck->state = rc == 0 ? H5CKPT__DONE : H5CKPT__FAILED;
    if (rc)
        discard(ck);
    return rc;
}

/* The EMODE of commit, commit_start and commit_wait (identical on every
 * rank: the handle's mode and state are). */
static int not_committable(h5ckpt *ck, int waiting)
{
    if (ck->mode != H5CKPT__WRITER)
        return h5ckpt__set(&ck->ctx, H5CKPT_EMODE, "a reader cannot be committed");
    if (waiting && ck->state != H5CKPT__COMMITTING)
        return h5ckpt__set(&ck->ctx, H5CKPT_EMODE,
                           "no commit is in flight (h5ckpt_commit_start was not "
                           "called, failed, or was waited for)");
    if (!waiting && ck->state != H5CKPT__OPEN)
        return h5ckpt__set(&ck->ctx, H5CKPT_EMODE, "%s; it can only be closed",
                           h5ckpt__closed_why(ck));
    return 0;
}

int h5ckpt_commit(h5ckpt *ck)
{
    int rc;

    if (!ck)
        return H5CKPT_EINVAL;
    if ((rc = not_committable(ck, 0)) != 0)
        return rc;
    if ((rc = h5ckpt_flush(ck)) != 0) {
        ck->state = H5CKPT__FAILED;
        discard(ck);
        return rc;
    }
    return finish(ck);
}

/* Collective: MPI_THREAD_FUNNELED or more, else H5CKPT_ENOTSUP.  Agreed. */
static int thread_level(h5ckpt *ck)
{
    static const char *names[] = {"MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED",
                                  "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"};
    int provided = MPI_THREAD_SINGLE, rc, i;

    rc = h5ckpt__mpi(MPI_Query_thread(&provided), "MPI_Query_thread",
                     ck->ctx.errmsg);
    if (rc == 0 && provided < MPI_THREAD_FUNNELED) {
        const int levels[] = {MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED,
                              MPI_THREAD_SERIALIZED, MPI_THREAD_MULTIPLE};
        const char *name = "an unknown level";
        for (i = 0; i < 4; i++)
            if (provided == levels[i])
                name = names[i];
        rc = h5ckpt__set(&ck->ctx, H5CKPT_ENOTSUP,
                         "h5ckpt_commit_start needs MPI_THREAD_FUNNELED or more "
                         "(MPI_Init_thread); MPI provides %s", name);
    }
    return h5ckpt__agree(ck->ctx.comm, rc, ck->ctx.errmsg);
}

int h5ckpt_commit_start(h5ckpt *ck)
{
    int rc;

    if (!ck)
        return H5CKPT_EINVAL;
    if ((rc = not_committable(ck, 0)) != 0 || (rc = thread_level(ck)) != 0)
        return rc; /* ENOTSUP: nothing done, the writer stays open */
    /* one save in flight per snapshot memory (whatever the executor) */
    if (h5ckpt__snapshot_busy(ck->opts.snapshot))
        rc = h5ckpt__set(&ck->ctx, H5CKPT_EMODE, "the snapshot memory of the "
                         "options is in use by a save in flight");
    if ((rc = h5ckpt__agree(ck->ctx.comm, rc, ck->ctx.errmsg)) != 0)
        return rc; /* nothing done, the writer stays open */
    if ((rc = h5ckpt__flush_async(ck)) != 0) {
        ck->state = H5CKPT__FAILED;
        discard(ck);
        return rc;
    }
    ck->state = H5CKPT__COMMITTING;
    return 0;
}

int h5ckpt_commit_test(h5ckpt *ck, int *done)
{
    if (!ck || !done)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__WRITER || ck->state != H5CKPT__COMMITTING)
        return h5ckpt__set(&ck->ctx, H5CKPT_EMODE,
                           "no commit is in flight (h5ckpt_commit_start was not "
                           "called, failed, or was waited for)");
    h5ckpt__async_test(&ck->io, done);
    return 0;
}

int h5ckpt_commit_wait(h5ckpt *ck)
{
    int rc;

    if (!ck)
        return H5CKPT_EINVAL;
    if ((rc = not_committable(ck, 1)) != 0)
        return rc;
    /* every rank's background outcome, agreed: the lowest failing rank's
     * message names it and the file */
    rc = h5ckpt__async_join(&ck->io);
    h5ckpt__queue_settle(ck);
    if ((rc = h5ckpt__agree(ck->ctx.comm, rc, ck->ctx.errmsg)) != 0) {
        ck->state = H5CKPT__FAILED;
        discard(ck);
        return rc;
    }
    return finish(ck);
}

void h5ckpt__handle_watch(h5ckpt *ck, h5ckpt **slot) { ck->watch = slot; }

int h5ckpt_close(h5ckpt *ck)
{
    h5ckpt__h5quiet q;
    int rc = 0;

    if (!ck)
        return 0;
    if (ck->watch && *ck->watch == ck)
        *ck->watch = NULL;
    /* a commit in flight is aborted: its writer stops before the file goes */
    h5ckpt__async_abort(&ck->io);
    h5ckpt__queue_settle(ck);
    h5ckpt__h5quiet_begin(&q);
    /* a writer that failed or was never committed: its file is discarded,
     * and closing it must not write to disk (format/space.c) */
    if (ck->mode == H5CKPT__WRITER && ck->state != H5CKPT__DONE)
        rc = h5ckpt__file_abort_close(&ck->file, ck->ctx.errmsg);
    else if (ck->file.fid >= 0 && H5Fclose(ck->file.fid) < 0)
        rc = h5ckpt__set(&ck->ctx, H5CKPT_EIO, "closing '%s' failed", ck->file.path);
    ck->file.fid = H5I_INVALID_HID;
    h5ckpt__h5quiet_end(&q);
    if (ck->mode == H5CKPT__WRITER && ck->state != H5CKPT__DONE &&
        ck->file.tmp_path && ck->ctx.rank == 0)
        unlink(ck->file.tmp_path); /* abort: the target path is untouched */
    h5ckpt__queue_free(&ck->queue);
    h5ckpt__io_free(&ck->io);
    h5ckpt__file_release(&ck->file, NULL);
    if (ck->ctx.comm != MPI_COMM_NULL) {
        rc = h5ckpt__agree(ck->ctx.comm, rc, ck->ctx.errmsg);
        h5ckpt__comm_free(&ck->ctx.comm);
    }
    free(ck);
    return rc;
}
