/*
 * A writer's file on a full file system (issue 13, item 2).
 *
 * HDF5 1.10.8 and Open MPI 4.1's OMPIO do not survive a write that fails
 * for lack of space well:
 *  - a collective write (H5Dwrite, or the metadata flush of a collective
 *    H5Fclose) that fails on one rank leaves the others waiting in OMPIO's
 *    collective algorithm or in HDF5's metadata-cache sync point: a hang;
 *  - an H5Fclose whose flush fails frees the file's structures but keeps
 *    its identifier, and MPI_Finalize (HDF5's library termination) then
 *    closes it again: SIGSEGV.
 * So no HDF5 write of a writer may fail for lack of space:
 *  - h5ckpt__file_reserve() allocates the blocks of the file's whole extent (a
 *    bound of its end of allocation, which covers every dataset created
 *    with early allocation and all metadata HDF5 placed so far) before the
 *    collective writes that must not fail: the plain executor's data, the
 *    checksum table, the final close.  A full file system then shows as
 *    one failed fallocate on rank 0, agreed by the caller like any other
 *    error, before anything collective starts;
 *  - before rank 0 of a fast writer closes its file to trim the metadata
 *    cache (io/meta.c), h5ckpt__file_room_for_metadata() checks that the file
 *    system has room for what the cache holds: a failed flush leaves
 *    HDF5's cache in a state no close survives ("slist already enabled"),
 *    and reserving blocks there would allocate the data extents before
 *    their pwrites (a cost on tmpfs);
 *  - h5ckpt__file_abort_close() closes the file of a writer that failed (or was
 *    never committed) with every descriptor the process has on it pointed
 *    at an anonymous memory file first: the metadata HDF5 still flushes
 *    goes there and cannot fail; the file on disk is removed anyway.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate, memfd_create */
#endif
#include "config.h"
#include "format/format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Room for the metadata aggregators' blocks and what a close adds. */
#define RESERVE_SLACK ((uint64_t)64 << 10)
/* Reaches past whatever a reservation added beyond the end of a file. */
#define RESERVE_SLACK_MAX ((uint64_t)1 << 60)

int h5ckpt__file_reserve(h5ckpt__ctx *ctx, const h5ckpt__file *f, uint64_t end)
{
#ifdef HAVE_FALLOCATE
    size_t max_size = 0, min_clean = 0, cur_size = 0;
    hsize_t size = 0;
    struct stat st;
    int fd, n = 0, rc = 0;

    if (ctx->rank != 0 || f->fid < 0 || !f->tmp_path)
        return 0;
    if ((fd = open(f->tmp_path, O_WRONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot open '%s' to reserve its space: %s",
                         f->tmp_path, strerror(errno));
        goto done;
    }
    /*
     * An upper bound of HDF5's end of allocation (H5Fget_eoa refuses the
     * MPI-IO driver, and H5Fget_filesize fails there once anything was
     * written): what is on disk, the datasets' extents, and every byte of
     * the metadata cache (entries not yet written lie beyond what is on
     * disk), plus the aggregators' blocks; `end` is the caller's (the end of
     * the datasets it is about to write).
     */
    if ((uint64_t)st.st_size > end)
        end = (uint64_t)st.st_size;
    if (H5Fget_filesize(f->fid, &size) >= 0 && size > end)
        end = size;
    if (H5Fget_mdc_size(f->fid, &max_size, &min_clean, &cur_size, &n) >= 0)
        end += cur_size;
    end += RESERVE_SLACK;
    /* The blocks only: the file keeps its size, which HDF5 sets at close;
     * h5ckpt__reserve_release() frees what lies beyond it then.  A file
     * system without fallocate is left to the writes themselves. */
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)end) != 0 && errno != EOPNOTSUPP &&
        errno != ENOSYS)
        rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot reserve the %llu bytes of '%s': %s",
                         (unsigned long long)end, f->tmp_path, strerror(errno));
done:
    if (fd >= 0)
        close(fd);
    return rc;
#else
    (void)ctx, (void)f, (void)end;
    return 0;
#endif
}

int h5ckpt__file_room_for_metadata(h5ckpt__ctx *ctx, const h5ckpt__file *f)
{
    size_t max_size = 0, min_clean = 0, cur_size = 0;
    uint64_t room;
    struct statvfs vs;
    int n = 0;

    if (f->fid < 0 || !f->tmp_path || statvfs(f->tmp_path, &vs) != 0 ||
        H5Fget_mdc_size(f->fid, &max_size, &min_clean, &cur_size, &n) < 0)
        return 0; /* nothing to go by: the flush decides */
    room = (uint64_t)vs.f_bavail * vs.f_frsize;
    if (room >= (uint64_t)cur_size + RESERVE_SLACK)
        return 0;
    return h5ckpt__set(ctx, H5CKPT_EIO,
                       "'%s' has %llu bytes free, HDF5's metadata needs up to %llu: %s",
                       f->tmp_path, (unsigned long long)room,
                       (unsigned long long)cur_size + RESERVE_SLACK, strerror(ENOSPC));
}

void h5ckpt__file_reserve_release(const char *path)
{
#ifdef HAVE_FALLOCATE
    struct stat st;
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    if (fd < 0)
        return;
    /* ext4 frees preallocated blocks past the end on a truncate to the
     * same size; tmpfs and others on a punched hole */
    if (fstat(fd, &st) == 0 && ftruncate(fd, st.st_size) == 0)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size,
                  (off_t)RESERVE_SLACK_MAX);
    close(fd);
#else
    (void)path;
#endif
}

/* Close every object of file `fid` this process still holds (an error path
 * may leave one): a file with open objects may refuse to close (its close
 * degree), or be closed by HDF5 only later, at MPI_Finalize.  Attributes
 * first, then datasets, groups and named datatypes. */
static void close_objects(hid_t fid)
{
    static const unsigned types[] = {H5F_OBJ_ATTR, H5F_OBJ_DATASET, H5F_OBJ_GROUP,
                                     H5F_OBJ_DATATYPE};
    size_t t;

    for (t = 0; t < sizeof types / sizeof types[0]; t++) {
        ssize_t n = H5Fget_obj_count(fid, types[t] | H5F_OBJ_LOCAL), i;
        hid_t *ids;
        if (n <= 0 || !(ids = malloc((size_t)n * sizeof *ids)))
            continue;
        n = H5Fget_obj_ids(fid, types[t] | H5F_OBJ_LOCAL, (size_t)n, ids);
        for (i = 0; i < n; i++)
            if (types[t] == H5F_OBJ_ATTR)
                H5Aclose(ids[i]);
            else
                H5Oclose(ids[i]);
        free(ids);
    }
}

/* Point every descriptor of this process on the file at `path` at one
 * anonymous memory file.  Best effort: where it fails, the close writes to
 * the file itself, as before. */
static void divert(const char *path)
{
#ifdef HAVE_MEMFD_CREATE
    struct stat want, st;
    struct dirent *e;
    DIR *dir;
    int mfd;

    if (stat(path, &want) != 0 || !(dir = opendir("/proc/self/fd")))
        return;
    if ((mfd = memfd_create("h5ckpt-aborted-save", MFD_CLOEXEC)) >= 0) {
        while ((e = readdir(dir))) {
            char *end;
            long fd = strtol(e->d_name, &end, 10);
            if (*end || end == e->d_name || fd == mfd || fd == dirfd(dir))
                continue;
            if (fstat((int)fd, &st) == 0 && S_ISREG(st.st_mode) &&
                st.st_dev == want.st_dev && st.st_ino == want.st_ino)
                dup2(mfd, (int)fd);
        }
        close(mfd);
    }
    closedir(dir);
#else
    (void)path;
#endif
}

int h5ckpt__file_abort_close(h5ckpt__file *f, char *msg)
{
    int rc = 0;

    if (f->fid < 0)
        return 0;
    close_objects(f->fid);
    divert(f->tmp_path);
    if (H5Fclose(f->fid) < 0)
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "closing '%s' failed", f->tmp_path);
    f->fid = H5I_INVALID_HID;
    return rc;
}
