/*
 * One save into a file system that fills up (issue 13, item 2), run by
 * tests/scripts/diskfull.sh on a small tmpfs at 1-3 ranks under each
 * executor:
 *   diskfull DIR data|meta|commit
 * Rank 0 first saves a small checkpoint DIR/ck.h5, then fills DIR with a
 * filler file until a little room is left, and every rank saves a new
 * DIR/ck.h5 whose tensor data (data: one 16 MiB tensor, 2 MiB free) or
 * HDF5 metadata does not fit: meta, 3,000 tensors of 16 bytes (a few KiB of
 * data, over a MiB of object headers; a fast writer's rank 0 trims its
 * metadata every 512 tensors) with 128 KiB free; commit, 400 such tensors
 * (no trim: the space runs out at the commit) with 64 KiB free.  Checked,
 * with exit status 1 on any
 * failure (a hang is the caller's timeout, a crash its signal):
 *  - the commit fails with H5CKPT_EIO on every rank, the message naming
 *    the lack of space;
 *  - h5ckpt_close returns 0 on every rank and no HDF5 identifier is left;
 *  - no temporary file is left in DIR;
 *  - once the filler is removed, the previous DIR/ck.h5 loads with its
 *    values;
 *  - MPI_Finalize returns and the process exits 0.
 */
#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "h5ckpt.h"

static int rank, size, failures;

/* Collective: report a failure of `ok` on any rank (rank-tagged). */
static void check(int ok, const char *what, const char *detail)
{
    int all = 0;

    if (!ok)
        fprintf(stderr, "[rank %d] FAILED: %s: %s\n", rank, what, detail ? detail : "");
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    failures += !all;
}

/* Collective: save `n` int32 tensors of `len` elements (flat split over the
 * ranks) at `path`; element k of tensor t is t * 7 + k + base.  Returns
 * the commit's code; the handle is closed, its code in *close_rc. */
static int save(const char *path, int n, uint64_t len, int32_t base, int *close_rc,
                char *msg, size_t msgsize)
{
    uint64_t a = len * (uint64_t)rank / (uint64_t)size;
    uint64_t b = len * (uint64_t)(rank + 1) / (uint64_t)size;
    int32_t *buf = malloc((size_t)(len + 1) * sizeof *buf);
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    h5ckpt_error err = {0, ""};
    char name[64];
    int rc, t;
    uint64_t k;

    if ((rc = h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, &err)) != 0) {
        snprintf(msg, msgsize, "%s", err.message);
        *close_rc = 0;
        free(buf);
        return rc;
    }
    h5ckpt_layout_range(&l, 1, &len, a, b, NULL);
    for (t = 0; t < n; t++) {
        for (k = a; k < b; k++)
            buf[k] = t * 7 + (int32_t)k + base;
        snprintf(name, sizeof name, "g%d/t%d", t / 500, t);
        /* every buffer stays valid until the commit: one per tensor */
        h5ckpt_tensor_put(ck, name, H5CKPT_INT32, l,
                          n == 1 ? buf + a : memcpy(malloc((b - a + 1) * 4), buf + a, (b - a) * 4),
                          NULL);
    }
    rc = h5ckpt_commit(ck);
    snprintf(msg, msgsize, "%s", h5ckpt_errmsg(ck));
    *close_rc = h5ckpt_close(ck);
    h5ckpt_layout_free(l);
    free(buf); /* the per-tensor copies of the meta case are left to exit */
    return rc;
}

/* Rank 0: fill `dir` with `dir/filler` until about `leave` bytes are free. */
static int fill(const char *dir, uint64_t leave)
{
    char path[600];
    static char block[1 << 16];
    struct statvfs vs;
    uint64_t freeb, done = 0;
    int fd, ok = 1;

    snprintf(path, sizeof path, "%s/filler", dir);
    if (statvfs(dir, &vs) != 0 || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        return 0;
    freeb = (uint64_t)vs.f_bavail * vs.f_frsize;
    while (ok && done + sizeof block + leave <= freeb)
        if (write(fd, block, sizeof block) == (ssize_t)sizeof block)
            done += sizeof block;
        else
            ok = 0;
    close(fd);
    return ok;
}

/* Rank 0: names in `dir` other than ck.h5 and filler, as text. */
static void leftovers(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    out[0] = '\0';
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, "ck.h5") && strcmp(e->d_name, "filler") && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s ", e->d_name);
    if (d)
        closedir(d);
}

/* Collective: the previous checkpoint's tensor 0 has its values. */
static int previous_loads(const char *path)
{
    uint64_t len = 1000;
    int32_t buf[1000];
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    int rc, bad = 0, k;

    if ((rc = h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL)) != 0)
        return 0;
    h5ckpt_layout_whole(&l, 1, &len, NULL);
    if ((rc = h5ckpt_tensor_get(ck, "g0/t0", H5CKPT_INT32, l, buf, NULL)) == 0)
        rc = h5ckpt_flush(ck);
    for (k = 0; rc == 0 && k < 1000; k++)
        bad += buf[k] != k + 5;
    h5ckpt_close(ck);
    h5ckpt_layout_free(l);
    return rc == 0 && bad == 0;
}

int main(int argc, char **argv)
{
    char path[600], msg[512], detail[700], left[600] = "";
    int meta, rc, close_rc, ok;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 3 ||
        (strcmp(argv[2], "data") && strcmp(argv[2], "meta") && strcmp(argv[2], "commit"))) {
        if (rank == 0)
            fprintf(stderr, "usage: diskfull DIR data|meta|commit\n");
        MPI_Finalize();
        return 2;
    }
    meta = !strcmp(argv[2], "meta") ? 3000 : !strcmp(argv[2], "commit") ? 400 : 0;
    snprintf(path, sizeof path, "%s/ck.h5", argv[1]);

    rc = save(path, 1, 1000, 5, &close_rc, msg, sizeof msg);
    check(rc == 0 && close_rc == 0, "the first, small save", msg);
    ok = rank != 0 || fill(argv[1], meta == 3000 ? 128 << 10 : meta ? 64 << 10 : 2 << 20);
    check(ok, "filling the file system", argv[1]);

    rc = meta ? save(path, meta, 4, 100, &close_rc, msg, sizeof msg)
              : save(path, 1, 4 << 20, 100, &close_rc, msg, sizeof msg);
    snprintf(detail, sizeof detail, "commit: %s: %s", h5ckpt_errname(rc), msg);
    check(rc == H5CKPT_EIO && strstr(msg, "No space left on device"), "the commit", detail);
    snprintf(detail, sizeof detail, "close: %s", h5ckpt_errname(close_rc));
    check(close_rc == 0, "the close", detail);
    snprintf(detail, sizeof detail, "%zd open", H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
    check(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0, "HDF5 identifiers left", detail);
    if (rank == 0)
        leftovers(argv[1], left, sizeof left);
    check(!left[0], "files left behind", left);

    if (rank == 0) {
        snprintf(detail, sizeof detail, "%s/filler", argv[1]);
        unlink(detail);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    check(previous_loads(path), "the previous checkpoint", path);
    if (rank == 0 && failures == 0)
        printf("ok: %s, %d rank(s): commit %s (%.160s), close 0, nothing left\n", argv[2],
               size, h5ckpt_errname(H5CKPT_EIO), msg);
    MPI_Finalize();
    return failures ? 1 : 0;
}
