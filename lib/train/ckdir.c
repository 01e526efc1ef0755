/*
 * Checkpoint directories: numbered checkpoints `ckpt-<index>.h5`, the latest
 * committed one, the next free index, retention and the cleanup of temporary
 * files left by interrupted saves.  Rank 0 alone touches the file system;
 * every answer is broadcast (format-spec/FORMAT.md, "Checkpoint
 * directories").
 */
#include "train/train.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKDIR_PREFIX "ckpt-"
#define CKDIR_SUFFIX ".h5"
#define CKDIR_DIGITS 9

struct h5ckpt_ckdir {
    MPI_Comm comm;
    int rank;
    char *path;
    h5ckpt_ckdir_options opts;
    int64_t *indices; /* committed, ascending */
    size_t count;
    char errmsg[H5CKPT_MSG_MAX];
    /* asynchronous saves: at most one in flight; the outcome of one that a
     * later save had to wait for is kept for its h5ckpt_ckdir_commit_wait */
    h5ckpt *inflight, *settled;
    int settled_rc;
    char settled_msg[H5CKPT_MSG_MAX];
    h5ckpt_snapshot *snap; /* snapshot memory of the directory's saves */
};

const char *h5ckpt_ckdir_errmsg(const h5ckpt_ckdir *d) { return d ? d->errmsg : ""; }

size_t h5ckpt_ckdir_count(const h5ckpt_ckdir *d) { return d ? d->count : 0; }

int64_t h5ckpt_ckdir_at(const h5ckpt_ckdir *d, size_t i)
{
    return d && i < d->count ? d->indices[i] : -1;
}

int h5ckpt_ckdir_latest(const h5ckpt_ckdir *d, int64_t *out)
{
    if (!d || !out)
        return H5CKPT_EINVAL;
    *out = d->count ? d->indices[d->count - 1] : -1;
    return d->count ? 0 : H5CKPT_ENOCKPT;
}

int64_t h5ckpt_ckdir_next(const h5ckpt_ckdir *d)
{
    return d && d->count ? d->indices[d->count - 1] + 1 : 0;
}

/* "ckpt-000000123.h5" -> 123; -1 for any other name (including the
 * non-canonical "ckpt-0123.h5" and temporary files). */
static int64_t parse_name(const char *name)
{
    char canon[64];
    const char *p = name + strlen(CKDIR_PREFIX);
    int64_t v = 0;

    if (strncmp(name, CKDIR_PREFIX, strlen(CKDIR_PREFIX)) != 0)
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (H5CKPT_CKDIR_MAX_INDEX - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (strcmp(p, CKDIR_SUFFIX) != 0)
        return -1;
    snprintf(canon, sizeof canon, CKDIR_PREFIX "%0*" PRId64 CKDIR_SUFFIX,
             CKDIR_DIGITS, v);
    return strcmp(canon, name) == 0 ? v : -1;
}

int h5ckpt_ckdir_path(const h5ckpt_ckdir *d, int64_t index, char *buf,
                      size_t size)
{
    if (!d || !buf || index < 0 || index > H5CKPT_CKDIR_MAX_INDEX)
        return H5CKPT_EINVAL;
    if ((size_t)snprintf(buf, size, "%s/" CKDIR_PREFIX "%0*" PRId64 CKDIR_SUFFIX,
                         d->path, CKDIR_DIGITS, index) >= size)
        return H5CKPT_EINVAL;
    return 0;
}

/* Rank 0: 1 if `file` is a committed h5ckpt checkpoint (serial HDF5). */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Rank 0: the committed indices in `path` into a buffer (count, values).
 * A missing directory lists nothing. */
static int scan(const char *path, h5ckpt__buf *out, char *msg)
{
    char file[PATH_MAX];
    int64_t *v = NULL, *nv;
    size_t n = 0, cap = 0, i;
    struct dirent *e;
    struct stat st;
    DIR *dir = NULL;
    int rc = 0;

    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return h5ckpt__fail(msg, errno == ENOTDIR ? H5CKPT_ENOENT : H5CKPT_EIO,
                                "cannot use '%s' as a checkpoint directory: %s",
                                path, strerror(errno));
        h5ckpt__buf_u64(out, 0);
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return h5ckpt__fail(msg, H5CKPT_ENOENT,
                            "'%s' is a file, not a checkpoint directory", path);
    if (!(dir = opendir(path)))
        return h5ckpt__fail(msg, H5CKPT_EIO, "cannot read directory '%s': %s",
                            path, strerror(errno));
    while ((e = readdir(dir))) {
        int64_t idx = parse_name(e->d_name);
        if (idx < 0)
            continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (!h5ckpt__file_committed(file))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            if (!(nv = realloc(v, cap * sizeof *v))) {
                rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
                goto done;
            }
            v = nv;
        }
        v[n++] = idx;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_i64);
    h5ckpt__buf_u64(out, n);
    for (i = 0; i < n; i++)
        h5ckpt__buf_u64(out, (uint64_t)v[i]);
    if (out->err)
        rc = h5ckpt__fail(msg, out->err, "out of memory");
done:
    closedir(dir);
    free(v);
    return rc;
}

/* Collective: rank 0 scans, every rank receives the listing. */
int h5ckpt_ckdir_refresh(h5ckpt_ckdir *d)
{
    h5ckpt__buf b = {0};
    uint64_t n, i;
    int rc = 0;

    if (!d)
        return H5CKPT_EINVAL;
    if (d->rank == 0)
        rc = scan(d->path, &b, d->errmsg);
    if ((rc = h5ckpt__agree(d->comm, rc, d->errmsg)) != 0)
        goto done;
    if ((rc = h5ckpt__buf_bcast(&b, 0, d->comm)) != 0)
        rc = h5ckpt__fail(d->errmsg, rc, "broadcast of the listing failed");
    if ((rc = h5ckpt__agree(d->comm, rc, d->errmsg)) != 0)
        goto done;
    b.pos = 0;
    n = h5ckpt__buf_get_u64(&b);
    free(d->indices);
    d->indices = NULL;
    d->count = 0;
    if (n && !(d->indices = malloc(n * sizeof *d->indices)))
        rc = h5ckpt__fail(d->errmsg, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < n; i++)
        d->indices[i] = (int64_t)h5ckpt__buf_get_u64(&b);
    if (rc == 0)
        d->count = n;
    rc = h5ckpt__agree(d->comm, rc, d->errmsg);
done:
    h5ckpt__buf_free(&b);
    return rc;
}

/* Hash of path and options, compared with rank 0's. */
static int check_same(MPI_Comm comm, const char *path,
                      const h5ckpt_ckdir_options *o, char *msg)
{
    h5ckpt__buf b = {0};
    uint64_t mine, root;
    int rc = 0;

    h5ckpt__buf_str(&b, path);
    h5ckpt__buf_u64(&b, (uint64_t)o->keep_last);
    h5ckpt__buf_u64(&b, (uint64_t)o->keep_every);
    mine = root = h5ckpt__hash(b.data, b.len);
    h5ckpt__buf_free(&b);
    if ((rc = h5ckpt__mpi(MPI_Bcast(&root, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast",
                          msg)) == 0 && root != mine)
        rc = h5ckpt__fail(msg, H5CKPT_EDISAGREE,
                          "ranks pass different checkpoint directories or "
                          "options ('%s')", path);
    return h5ckpt__agree(comm, rc, msg);
}

int h5ckpt_ckdir_open(h5ckpt_ckdir **out, const char *path, MPI_Comm comm,
                      const h5ckpt_ckdir_options *opts, h5ckpt_error *err)
{
    h5ckpt_ckdir_options defaults = H5CKPT_CKDIR_OPTIONS_INIT;
    char msg[H5CKPT_MSG_MAX] = "";
    h5ckpt_ckdir *d = NULL;
    MPI_Comm dup = MPI_COMM_NULL;
    int flag = 0, rc = 0, rank = 0;

    if (out)
        *out = NULL;
    if (comm == MPI_COMM_NULL || MPI_Initialized(&flag) != MPI_SUCCESS || !flag) {
        h5ckpt__seterror(err, H5CKPT_EINVAL, "the communicator is null or MPI "
                                             "is not initialised");
        return H5CKPT_EINVAL;
    }
    /* the directory's own duplicate, which returns MPI errors; every check
     * after this is agreed, so one rank's bad argument fails all alike */
    if ((rc = h5ckpt__comm_dup(comm, &dup, msg)) != 0 ||
        (rc = h5ckpt__mpi(MPI_Comm_rank(dup, &rank), "MPI_Comm_rank", msg)) != 0)
        goto done;
    if (!opts)
        opts = &defaults;
    if (!out || !path || !*path)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "out or path is NULL or empty");
    else if ((opts->version != 0 && opts->version != H5CKPT_CKDIR_OPTIONS_VERSION) ||
             opts->keep_last < 0 || opts->keep_every < 0)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL,
                          "bad checkpoint directory options (version 0 or "
                          "%d; counts >= 0)", H5CKPT_CKDIR_OPTIONS_VERSION);
    else if (strlen(path) >= PATH_MAX - 64)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "path is too long");
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0 ||
        (rc = check_same(dup, path, opts, msg)) != 0)
        goto done;
    if ((d = calloc(1, sizeof *d)))
        d->comm = MPI_COMM_NULL;
    if (!d || !(d->path = h5ckpt__strdup(path)))
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(dup, rc, msg)) != 0)
        goto done;
    d->opts = *opts;
    d->comm = dup;
    dup = MPI_COMM_NULL;
    d->rank = rank;
    if ((rc = h5ckpt_ckdir_refresh(d)) != 0)
        snprintf(msg, sizeof msg, "%s", d->errmsg);
done:
    h5ckpt__comm_free(&dup);
    if (rc != 0) {
        h5ckpt_ckdir_free(d);
        h5ckpt__seterror(err, rc, msg);
    } else {
        *out = d;
    }
    return rc;
}

void h5ckpt_ckdir_free(h5ckpt_ckdir *d)
{
    if (!d)
        return;
    if (d->inflight)
        h5ckpt__handle_watch(d->inflight, NULL);
    if (d->settled)
        h5ckpt__handle_watch(d->settled, NULL);
    h5ckpt_snapshot_free(d->snap); /* a save in flight frees it as it ends */
    h5ckpt__comm_free(&d->comm);
    free(d->indices);
    free(d->path);
    free(d);
}

/* Rank 0: create the directory if missing and remove the temporary files of
 * interrupted saves of checkpoints (".ckpt-*.h5.h5ckpt-tmp-*"). */
static int prepare(const char *path, char *msg)
{
    char file[PATH_MAX], base[256];
    struct dirent *e;
    struct stat st;
    DIR *dir;
    int rc = 0;

    if (stat(path, &st) != 0) {
        if (errno != ENOENT || mkdir(path, 0777) != 0)
            return h5ckpt__fail(msg, errno == ENOENT ? H5CKPT_ENOENT : H5CKPT_EIO,
                                "cannot create checkpoint directory '%s': %s",
                                path, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return h5ckpt__fail(msg, H5CKPT_ENOENT,
                            "'%s' is a file, not a checkpoint directory", path);
    }
    if (!(dir = opendir(path)))
        return h5ckpt__fail(msg, H5CKPT_EIO, "cannot read directory '%s': %s",
                            path, strerror(errno));
    while ((e = readdir(dir))) {
        const char *infix = strstr(e->d_name, H5CKPT_TMP_INFIX);
        size_t blen;
        if (e->d_name[0] != '.' || !infix)
            continue;
        blen = (size_t)(infix - e->d_name) - 1;
        if (blen >= sizeof base)
            continue;
        memcpy(base, e->d_name + 1, blen);
        base[blen] = '\0';
        if (parse_name(base) < 0)
            continue; /* not one of ours */
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (unlink(file) != 0 && errno != ENOENT) {
            rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot remove '%s': %s", file,
                              strerror(errno));
            break;
        }
    }
    closedir(dir);
    return rc;
}

static int settle(h5ckpt_ckdir *d);

int h5ckpt_ckdir_save(h5ckpt_ckdir *d, int64_t index, h5ckpt **out,
                      const h5ckpt_options *opts)
{
    char file[PATH_MAX];
    h5ckpt_options o;
    h5ckpt_error err;
    int rc = 0;

    if (!d)
        return H5CKPT_EINVAL;
    if (out)
        *out = NULL;
    /* at most one save in flight: the previous one ends first (its outcome
     * waits for its h5ckpt_ckdir_commit_wait) */
    settle(d);
    /* the directory's snapshot memory serves its saves, unless the caller
     * gives some */
    h5ckpt_options_init(&o);
    if (opts)
        o = *opts;
    if (!o.snapshot && !d->snap && h5ckpt_snapshot_create(&d->snap) != 0)
        rc = h5ckpt__fail(d->errmsg, H5CKPT_ENOMEM, "out of memory");
    if (!o.snapshot)
        o.snapshot = d->snap;
    opts = &o;
    if (rc == 0 && (!out || (index < 0 && index != H5CKPT_CKDIR_NEXT) ||
                    index > H5CKPT_CKDIR_MAX_INDEX))
        rc = h5ckpt__fail(d->errmsg, H5CKPT_EINVAL,
                          "bad checkpoint index %" PRId64 " or NULL out", index);
    if ((rc = h5ckpt__agree(d->comm, rc, d->errmsg)) != 0)
        return rc;
    if (d->rank == 0)
        rc = prepare(d->path, d->errmsg);
    if ((rc = h5ckpt__agree(d->comm, rc, d->errmsg)) != 0)
        return rc;
    /* The listing may be stale if another program wrote here meanwhile. */
    if ((rc = h5ckpt_ckdir_refresh(d)) != 0)
        return rc;
    if (index == H5CKPT_CKDIR_NEXT)
        index = h5ckpt_ckdir_next(d);
    if ((rc = h5ckpt_ckdir_path(d, index, file, sizeof file)) != 0)
        return h5ckpt__fail(d->errmsg, rc, "index %" PRId64 " too large", index);
    if ((rc = h5ckpt_create(out, file, d->comm, opts, &err)) != 0)
        snprintf(d->errmsg, sizeof d->errmsg, "%s", err.message);
    return rc;
}

/* Rank 0: remove committed checkpoints that retention does not keep. */
static int retain(const h5ckpt_ckdir *d, char *msg)
{
    char file[PATH_MAX];
    size_t i;
    int rc = 0;

    if (d->opts.keep_last <= 0)
        return 0;
    for (i = 0; i + (size_t)d->opts.keep_last < d->count; i++) {
        int64_t idx = d->indices[i];
        if (d->opts.keep_every > 0 && idx % d->opts.keep_every == 0)
            continue;
        h5ckpt_ckdir_path(d, idx, file, sizeof file);
        if (unlink(file) != 0 && errno != ENOENT && rc == 0)
            rc = h5ckpt__fail(msg, H5CKPT_EIO, "retention cannot remove '%s': %s",
                              file, strerror(errno));
    }
    return rc;
}

/* Collective, once a checkpoint of the directory was committed: refresh
 * the listing, apply retention (the checkpoint being written is a
 * temporary file, never listed, so never removed), refresh again. */
static int retention(h5ckpt_ckdir *d)
{
    int rc;

    if ((rc = h5ckpt_ckdir_refresh(d)) != 0)
        return rc;
    if (d->rank == 0)
        rc = retain(d, d->errmsg);
    if ((rc = h5ckpt__agree(d->comm, rc, d->errmsg)) != 0)
        return rc;
    return h5ckpt_ckdir_refresh(d);
}

int h5ckpt_ckdir_commit(h5ckpt_ckdir *d, h5ckpt *ck)
{
    int rc;

    if (!d || !ck)
        return H5CKPT_EINVAL;
    if (ck != d->inflight)
        settle(d);
    if ((rc = h5ckpt_commit(ck)) != 0) {
        snprintf(d->errmsg, sizeof d->errmsg, "%s", h5ckpt_errmsg(ck));
        return rc;
    }
    /* Retention only after the new checkpoint is in place. */
    return retention(d);
}

int h5ckpt_ckdir_commit_start(h5ckpt_ckdir *d, h5ckpt *ck)
{
    int rc;

    if (!d || !ck)
        return H5CKPT_EINVAL;
    if (ck != d->inflight)
        settle(d);
    if ((rc = h5ckpt_commit_start(ck)) != 0) {
        snprintf(d->errmsg, sizeof d->errmsg, "%s", h5ckpt_errmsg(ck));
        return rc;
    }
    d->inflight = ck;
    h5ckpt__handle_watch(ck, &d->inflight);
    return 0;
}

int h5ckpt_ckdir_commit_wait(h5ckpt_ckdir *d, h5ckpt *ck)
{
    int rc = 0;

    if (!d || !ck)
        return H5CKPT_EINVAL;
    if (ck == d->settled) { /* a later save waited for it already */
        h5ckpt__handle_watch(ck, NULL);
        d->settled = NULL;
        snprintf(d->errmsg, sizeof d->errmsg, "%s", d->settled_msg);
        return d->settled_rc;
    }
    if (ck != d->inflight)
        rc = h5ckpt__fail(d->errmsg, H5CKPT_EINVAL, "this writer has no save in "
                          "flight in '%s' (h5ckpt_ckdir_commit_start)", d->path);
    if ((rc = h5ckpt__agree(d->comm, rc, d->errmsg)) != 0)
        return rc;
    h5ckpt__handle_watch(ck, NULL);
    d->inflight = NULL;
    if ((rc = h5ckpt_commit_wait(ck)) != 0) {
        snprintf(d->errmsg, sizeof d->errmsg, "%s", h5ckpt_errmsg(ck));
        return rc;
    }
    return retention(d);
}

/* Collective: wait for the save in flight, if any, and keep its outcome for
 * its own h5ckpt_ckdir_commit_wait (a result nobody asked for is dropped
 * when the next one is kept). */
static int settle(h5ckpt_ckdir *d)
{
    h5ckpt *ck = d->inflight;

    if (!ck)
        return 0;
    if (d->settled)
        h5ckpt__handle_watch(d->settled, NULL);
    d->settled_rc = h5ckpt_ckdir_commit_wait(d, ck);
    snprintf(d->settled_msg, sizeof d->settled_msg, "%s", d->errmsg);
    d->settled = ck;
    h5ckpt__handle_watch(ck, &d->settled);
    return d->settled_rc;
}

int h5ckpt_ckdir_load(h5ckpt_ckdir *d, int64_t index, h5ckpt **out,
                      const h5ckpt_options *opts)
{
    char file[PATH_MAX];
    h5ckpt_error err;
    int64_t vanished = -1;
    int rc = 0, latest = index == H5CKPT_CKDIR_LATEST;

    if (!d)
        return H5CKPT_EINVAL;
    if (out)
        *out = NULL;
    if (!out || (index < 0 && index != H5CKPT_CKDIR_LATEST) ||
        index > H5CKPT_CKDIR_MAX_INDEX)
        rc = h5ckpt__fail(d->errmsg, H5CKPT_EINVAL,
                          "bad checkpoint index %" PRId64 " or NULL out", index);
    /* one rank's bad argument fails every rank alike */
    if ((rc = h5ckpt__agree(d->comm, rc, d->errmsg)) != 0)
        return rc;
    for (;;) {
        if (latest && (rc = h5ckpt_ckdir_refresh(d)) != 0)
            return rc;
        if (latest && h5ckpt_ckdir_latest(d, &index) != 0)
            return vanished < 0
                       ? h5ckpt__fail(d->errmsg, H5CKPT_ENOCKPT,
                                      "nothing to load: no committed checkpoint in '%s'",
                                      d->path)
                       : h5ckpt__fail(d->errmsg, H5CKPT_ENOENT,
                                      "checkpoint %" PRId64 " of '%s' was deleted while "
                                      "it was being opened, and no other is left",
                                      vanished, d->path);
        h5ckpt_ckdir_path(d, index, file, sizeof file);
        rc = h5ckpt_open(out, file, d->comm, opts, &err);
        /* The latest checkpoint vanished under us (the retention of a save
         * running beside this load): once, load the next latest instead.
         * h5ckpt_open's code is the same on every rank, so is the retry. */
        if (rc != H5CKPT_ENOENT || !latest || vanished >= 0)
            break;
        vanished = index;
    }
    if (rc && vanished >= 0)
        snprintf(d->errmsg, sizeof d->errmsg,
                 "checkpoint %" PRId64 " was deleted while it was being opened; "
                 "loading the next latest, %" PRId64 ", failed too: %.300s",
                 vanished, index, err.message);
    else if (rc)
        snprintf(d->errmsg, sizeof d->errmsg, "%s", err.message);
    return rc;
}
