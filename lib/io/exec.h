/*
 * lib/io's internal header: what the io layer's own files share (the
 * executors, object creation, checksums of moved pieces, device mirrors,
 * pinned staging, replica groups and the node exchange).  Only the .c
 * files of lib/io include it; it is the one place above lib/device that sees device.h.
 */
#ifndef H5CKPT_IO_EXEC_H
#define H5CKPT_IO_EXEC_H

#include "device/device.h"
#include "io/io.h"

/* ---- executors (exec_plain.c, exec_fast.c) ------------------------------- */

/* Collective: perform a plan.  Writers' objects exist already. */
int h5ckpt__exec_plain_write(h5ckpt__io *io, const h5ckpt__plan *plan);
int h5ckpt__exec_plain_read(h5ckpt__io *io, const h5ckpt__plan *plan);
int h5ckpt__exec_fast_write(h5ckpt__io *io, const h5ckpt__plan *plan);
int h5ckpt__exec_fast_read(h5ckpt__io *io, const h5ckpt__plan *plan);

/* File offset of a task's dataset, or -1 when it has no contiguous extent
 * (exec_fast.c). */
int64_t h5ckpt__task_offset(const h5ckpt__io *io, const h5ckpt__task *t);

/* Smallest snapshot ring of an asynchronous commit (a smaller
 * snapshot_bytes is raised to it; async.c). */
#define H5CKPT__SNAPSHOT_MIN ((uint64_t)64 << 10)

/* ---- raw runs (rawio.c) -------------------------------------------------- */

/*
 * The one routine that moves runs of tensor bytes between memory and the
 * file: the fast executor and the background writer of an asynchronous
 * commit (async.c) both go through it.  Local, no MPI, no HDF5, no message;
 * one thread at a time per rawio (any thread).
 */
typedef struct {
    int fd, writing;
    uint64_t foff;      /* the pending run (merged neighbours) */
    unsigned char *mem;
    uint64_t len;
    uint64_t moved;     /* bytes moved so far */
    int err;            /* errno of the first failure */
    int fail_errno;     /* tests: writes fail with this errno once */
    uint64_t fail_after; /* ... this many bytes were moved (knobs) */
    struct h5ckpt__direct *dio; /* writes: O_DIRECT for the aligned middle
                                   of large runs (direct.c), or NULL */
} h5ckpt__rawio;
/* A rawio on `fd`, nothing pending, no direct writer, the test knobs
 * copied in (on the caller's thread). */
void h5ckpt__rawio_init(h5ckpt__rawio *r, int fd, int writing);
/* Move [foff, foff + len) of the file from (writing) or to `mem` now (a
 * write through r->dio may still be in flight; `mem` may be reused either
 * way).  Returns 0, or -1 with r->err set. */
int h5ckpt__rawio_move(h5ckpt__rawio *r, uint64_t foff, unsigned char *mem,
                       uint64_t len);
/* Add a run; the pending one is moved first unless the new one continues it
 * both in the file and in memory.  Returns 0 or -1 (r->err). */
int h5ckpt__rawio_add(h5ckpt__rawio *r, uint64_t foff, unsigned char *mem,
                      uint64_t len);
/* Move the pending run.  Returns 0 or -1 (r->err). */
int h5ckpt__rawio_flush(h5ckpt__rawio *r);

/* ---- direct writes of the fast writer (direct.c) ------------------------- */

/* The aligned middle of each run of at least H5CKPT__DIRECT_MIN bytes goes
 * to the file with O_DIRECT through two aligned bounce buffers, written by
 * a helper thread; heads, tails and shorter runs go through the buffered
 * descriptor `bfd`. */
#define H5CKPT__DIRECT_MIN ((uint64_t)1 << 20)
typedef struct h5ckpt__direct h5ckpt__direct;
/* Local: *out is NULL (and 0 returned) with the option no_direct or where
 * the file system refuses O_DIRECT; H5CKPT_ENOMEM otherwise. */
int h5ckpt__direct_open(h5ckpt__io *io, const char *path, int bfd,
                        h5ckpt__direct **out);
/* Local: write [foff, foff + len) of the file from `mem` (d may be NULL:
 * all of it through bfd).  The direct part may still be in flight when it
 * returns; `mem` may be reused.  Returns 0 or an errno value. */
int h5ckpt__direct_write(h5ckpt__direct *d, int bfd, uint64_t foff,
                         const unsigned char *mem, uint64_t len);
/* Local: from now on, a middle whose memory address is aligned as its file
 * offset is written from the caller's memory, not copied: the caller keeps
 * that memory unchanged until h5ckpt__direct_release (accepts NULL). */
void h5ckpt__direct_nocopy(h5ckpt__direct *d);
/* Local: wait until no direct write reads the caller's memory any more;
 * 0 or the errno of the first failure (accepts NULL). */
int h5ckpt__direct_release(h5ckpt__direct *d);
/* The alignment of offsets, lengths and addresses of direct writes; 0 for
 * NULL. */
size_t h5ckpt__direct_align(const h5ckpt__direct *d);
/* Local: wait for every direct write; 0 or the errno of the first failure. */
int h5ckpt__direct_finish(h5ckpt__direct *d);
/* Local: stop the helper thread, add the bytes written direct to
 * io->direct_bytes, free everything (accepts NULL). */
void h5ckpt__direct_close(h5ckpt__direct *d);
/* Local, rank 0 of a fast writer once every dataset of the batch exists and
 * before any rank writes: fallocate the file from the first dataset's
 * offset to the last one's end, so that direct writes overwrite allocated
 * blocks (side by side, under a shared inode lock) and a full disk fails
 * here.  Returns 0 (also where fallocate is not supported, and with the
 * option no_direct) or H5CKPT_EIO. */
int h5ckpt__direct_reserve(h5ckpt__io *io, const h5ckpt__batch *batch);

/* ---- a writer's objects (objects.c, meta.c) ------------------------------ */

/* Collective: create the groups and datasets of the batch and write its
 * attributes, by the ranks that hold the file (meta.c); with rank 0 alone,
 * the datasets' offsets are then broadcast.  Agreed. */
int h5ckpt__objects_create(h5ckpt__io *io, h5ckpt__batch *batch);
/* Rank 0 of a writer that alone holds the file: close and reopen it so
 * HDF5 writes out and frees the metadata it caches for the objects made so
 * far (see meta.c); a no-op elsewhere, or while any object is open.  Local.
 * Returns 0 or H5CKPT_EIO (file->fid is then invalid). */
#define H5CKPT__TRIM_EVERY 512
int h5ckpt__meta_trim(h5ckpt__io *io);
/* Collective, after the objects of the batch exist: give every rank the
 * datasets' offsets (op->offset) that rank 0 learnt.  Agreed. */
int h5ckpt__meta_share_offsets(h5ckpt__io *io, h5ckpt__batch *batch);

/* ---- checksums of moved pieces (sums.c) ---------------------------------- */

/* Writer, local: hash the pieces this rank writes in `plan` and keep their
 * rows on the file.  Returns 0 or H5CKPT_ENOMEM (message set). */
int h5ckpt__sums_record(h5ckpt__io *io, const h5ckpt__plan *plan);
/* Checksum row of box k of task t with hash h. */
void h5ckpt__sums_task_row(h5ckpt__io *io, const h5ckpt__task *t, size_t k,
                           uint64_t h);
/* Reader, collective: check every piece the reads of `plan` touch.
 * Errors: H5CKPT_ECHECKSUM, H5CKPT_ECORRUPT, H5CKPT_EIO, H5CKPT_ENOMEM. */
int h5ckpt__sums_check_reads(h5ckpt__io *io, const h5ckpt__plan *plan);

/* ---- device buffers (mirrors.c, stage.c, replica.c) ---------------------- */

/* Pinned staging of a handle: options' staging_bytes, 0 giving
 * H5CKPT__STAGING_DEFAULT, raised to H5CKPT__STAGING_MIN. */
uint64_t h5ckpt__staging_bytes(const h5ckpt_options *opts);
/* 1 if the task moves elements of a device buffer. */
int h5ckpt__task_on_device(const h5ckpt__task *t);

/* Host mirrors of device ops (the reference path, see mirrors.c). */
typedef struct {
    struct h5ckpt__mirror *m;
    size_t n;
} h5ckpt__mirrors;
/* Local: a host mirror for every device task of `plan` (filled from the
 * device when `fill`); the ops then point at their mirrors as contiguous
 * host buffers.  Returns 0 or an error (message on the context; nothing is
 * left allocated). */
int h5ckpt__mirrors_make(h5ckpt__io *io, const h5ckpt__plan *plan, int fill,
                         h5ckpt__mirrors *ms);
/* Local: point the ops at their device buffers again, after copying the
 * mirrors back to them when `copy_back`; free the mirrors.  Accepts an
 * empty set.  Returns 0 or the device error (message on the context). */
int h5ckpt__mirrors_finish(h5ckpt__io *io, h5ckpt__mirrors *ms, int copy_back);

/* The fast executor's device path (stage.c): bounded pinned staging in two
 * halves on one stream.  Opened once per flush. */
typedef struct h5ckpt__stage h5ckpt__stage;
/* Local: staging for the device tasks of `plan` (pinned halves of at most
 * half the handle's staging bytes each, and a device temporary as large as
 * the largest strided device buffer).  Returns 0 or an error (message on
 * the context; nothing is left allocated). */
int h5ckpt__stage_open(h5ckpt__io *io, const h5ckpt__plan *plan,
                       h5ckpt__stage **out);
/* Local: move task `t` between its device buffer and the file `fd` at
 * dataset offset `base` through the staging (writers also hash each box
 * and keep its checksum row).  Returns 0 or an error (message on the
 * context; H5CKPT_EIO for a failed pwrite/pread). */
int h5ckpt__stage_task(h5ckpt__stage *st, int fd, const h5ckpt__task *t,
                       int64_t base, int writing);
/* Local: finish the queued work (writers: the last segment's pwrite;
 * readers: every copy to the device done).  Accepts NULL.  Returns `rc`
 * when it is not 0 (nothing more is done then), else 0 or an error. */
int h5ckpt__stage_finish(h5ckpt__stage *st, int rc);
/* Writes: segments go through direct.c (may be NULL; accepts st NULL), so
 * the caller waits for h5ckpt__direct_finish after h5ckpt__stage_finish. */
void h5ckpt__stage_direct(h5ckpt__stage *st, h5ckpt__direct *dio);
/* Local: free the staging (accepts NULL); returns `rc`. */
int h5ckpt__stage_free(h5ckpt__stage *st, int rc);
/* The staging's stream and device temporary (replica.c). */
h5ckpt__stream *h5ckpt__stage_stream(const h5ckpt__stage *st);
void *h5ckpt__stage_tmp(const h5ckpt__stage *st);

/* Replicated device reads through group broadcasts (replica.c). */
/* Collective (fast reader, before the transfers): mark in `role` (one
 * entry per task) what this rank does with each task: 0 the ordinary path,
 * 1 read it from the file and broadcast it, 2 receive it from a
 * broadcast.  Agreed.  Returns 0 or an error. */
int h5ckpt__replica_plan(h5ckpt__io *io, const h5ckpt__plan *plan, int *role);
/* Collective (fast reader, after the file reads): queue the broadcasts of
 * the tasks marked 1 or 2, agree that every rank queued its own (else all
 * abandon their groups: group_abort), then wait for them.  Returns 0 or an
 * error; a failure to queue is agreed, one while waiting is not. */
int h5ckpt__replica_bcast(h5ckpt__io *io, h5ckpt__stage *st,
                          const h5ckpt__plan *plan, const int *role);
/* Free the handle's cached groups (close).  Local. */
void h5ckpt__replica_free(h5ckpt__io *io);

/* ---- the node-local exchange of fragmented host runs (exchange.c) -------- */

typedef struct h5ckpt__xplan h5ckpt__xplan;
/* Per task: 1 when the exchange reads (writes) it for this rank. */
const unsigned char *h5ckpt__exchange_mine(const h5ckpt__xplan *p);
/* Collective (fast executor; readers after the replica plan): decide which
 * tasks go through the exchange.  `bases`: each task's file offset (-1
 * none); `role`: replica roles (may be NULL); `rc`: this rank's error so
 * far (it takes part all the same); `writing`: a writer's flush.  *out is
 * NULL when nothing is exchanged.  Returns 0 or an agreed error. */
int h5ckpt__exchange_plan(h5ckpt__io *io, const h5ckpt__plan *plan,
                          const int64_t *bases, const int *role, int rc, int writing,
                          h5ckpt__xplan **out);
/* Local (after this rank's own runs, before the transfer's agreement):
 * claim and deliver (gather and write) units until none is left, through
 * `raw` (its fd; writes through h5ckpt__rawio_move); returns `rc` when it
 * is not 0 (then claims nothing), else 0 or an error (message on the
 * context). */
int h5ckpt__exchange_run(h5ckpt__io *io, const h5ckpt__plan *plan,
                         h5ckpt__xplan *p, const int64_t *bases, h5ckpt__rawio *raw,
                         int rc);
void h5ckpt__exchange_done(h5ckpt__xplan *p);
/* Collective (close): the node communicator and window. */
void h5ckpt__exchange_free(h5ckpt__io *io);

#endif /* H5CKPT_IO_EXEC_H */
