/*
 * lib/io — moving tensor bytes: the planner (who writes or reads which box),
 * the two executors (plain: one collective H5Dwrite/H5Dread per tensor;
 * fast: pwrite/pread at the datasets' offsets), the writer's object
 * creation and who makes its HDF5 calls, checksums of the pieces moved, and
 * device buffers (host mirrors, pinned staging, replica broadcasts, the
 * node-local exchange of fragmented reads).
 *
 * May include: lib/base, lib/layout, lib/format, lib/device (the last only
 * in io's own .c files and in io/exec.h, the layer's internal header: this
 * header, which the handle layer sees, names no device type).
 */
#ifndef H5CKPT_IO_H
#define H5CKPT_IO_H

#include "format/format.h"

/* One queued put (writer) or get (reader). */
typedef struct {
    char *path;
    h5ckpt_dtype dtype;
    h5ckpt_layout layout;
    void *data;
    int strided;
    int64_t strides[H5CKPT_MAX_NDIM];
    h5ckpt_memkind memkind;
    uint64_t seq;   /* position among all tensors declared on the handle */
    int64_t offset; /* writer: byte offset of the dataset's contiguous data,
                       set when it is created; -1 none */
} h5ckpt__op;

/* What a flush executes: the queue as the io layer sees it. */
typedef struct {
    h5ckpt__op *ops;
    size_t nops;
    const h5ckpt__attr *attrs;
    size_t nattrs;
    const h5ckpt__strmap *names; /* writer: declared names (2: a tensor) */
} h5ckpt__batch;

/* What this rank writes or reads of one tensor. */
typedef struct {
    const h5ckpt__op *op;
    size_t nsel;      /* boxes selected in the file */
    uint64_t *sel;    /* nsel * 2 * ndim, in flat order */
    uint64_t *memoff; /* element offset of each selected box in the local,
                         packed buffer */
    uint64_t nelems;  /* elements selected in total */
} h5ckpt__task;

typedef struct {
    h5ckpt__batch *batch;
    h5ckpt__task *tasks; /* one per queued op, in queue order */
    size_t ntasks;
} h5ckpt__plan;

/* A writer's asynchronous commit (async.c): the save its background
 * writer is working through, NULL when none is in flight. */
typedef struct {
    struct h5ckpt__job *job;
} h5ckpt__async;

/* The io layer's view of a handle: the context and file it works on, the
 * resolved options, and its own state. */
typedef struct h5ckpt__io {
    h5ckpt__ctx *ctx;
    h5ckpt__file *file;
    const h5ckpt_options *opts;
    struct h5ckpt__replica *replica;   /* reader: device groups (replica.c) */
    struct h5ckpt__exchange *exchange; /* reader: node exchange (exchange.c) */
    uint64_t bytes_written, bytes_read;
    uint64_t exchange_units; /* units this rank delivered (tests) */
    h5ckpt__async async;     /* writer: the commit in flight */
    uint64_t direct_bytes;   /* bytes this rank wrote with O_DIRECT (tests) */
    uint64_t direct_nocopy_bytes; /* of them, straight from snapshot memory */
} h5ckpt__io;

/* ---- planning (plan.c) ---------------------------------------------------- */

/* Collective: check that every rank queued the same batch and build the
 * plan (plan->batch = batch).  Agreed. */
int h5ckpt__plan_build(h5ckpt__io *io, h5ckpt__batch *batch, h5ckpt__plan *plan);
void h5ckpt__plan_free(h5ckpt__plan *plan);

/* ---- executing a plan (executor.c) ----------------------------------------- */

/*
 * Collective: one flush's work.  Writers record the checksums of the pieces
 * they own, create the batch's objects and write; readers read, and check
 * checksums when the options say so.  Device buffers are handled whatever
 * the executor.  Agreed.
 */
int h5ckpt__io_write(h5ckpt__io *io, const h5ckpt__plan *plan);
int h5ckpt__io_read(h5ckpt__io *io, const h5ckpt__plan *plan);
/* Collective (close): free the state the executors keep on the handle. */
void h5ckpt__io_free(h5ckpt__io *io);

/* ---- asynchronous commits (async.c) --------------------------------------- */

/*
 * Collective (writer): the first half of an asynchronous commit of `plan`.
 * Where rank 0 alone holds the file (the fast executor), the batch's
 * objects are created and their offsets shared, then each rank copies the
 * pieces it writes into snapshot memory (h5ckpt_options.snapshot_bytes,
 * .snapshot) and a background thread of its own writes and hashes them:
 * `plan` (and the queue it points into) must then stay unchanged until
 * h5ckpt__async_join or h5ckpt__async_abort.  Otherwise (the plain
 * executor) everything is written now, as h5ckpt__io_write does, and
 * nothing is left in flight.  Agreed; after an error nothing is in flight.
 */
int h5ckpt__io_write_async(h5ckpt__io *io, const h5ckpt__plan *plan);
/* Local: 1 when snapshot memory `s` (may be NULL) serves a save in flight. */
int h5ckpt__snapshot_busy(const h5ckpt_snapshot *s);
/* Local: 1 while a background writer's save is in flight (until join or
 * abort). */
int h5ckpt__async_inflight(const h5ckpt__io *io);
/* Local, never blocks: *done = 1 when the background writer has finished
 * (or there is none), else 0. */
void h5ckpt__async_test(h5ckpt__io *io, int *done);
/* Local: wait for the background writer, then keep its checksum rows and
 * count its bytes.  Returns 0, or H5CKPT_EIO with the writer's message
 * ("rank R: writing 'FILE' in the background failed: ...") on the
 * context, or H5CKPT_ENOMEM.  Nothing is in flight afterwards. */
int h5ckpt__async_join(h5ckpt__io *io);
/* Local: stop the background writer (the pieces not yet written are
 * dropped), wait for it and free the save.  No-op when none. */
void h5ckpt__async_abort(h5ckpt__io *io);

/* ---- who makes a writer's HDF5 calls (meta.c) ---------------------------- */

/* Local, at create once the executor is resolved: rank 0 alone holds the
 * writer's HDF5 file (serial sec2 driver) with the fast executor on a
 * little-endian host; otherwise every rank does, collectively (MPI-IO).
 * Sets io->file->serial, identical on every rank (lib/format's
 * h5ckpt__file_mine/comm/wait then say who makes the calls). */
void h5ckpt__meta_choose(h5ckpt__io *io);


#endif /* H5CKPT_IO_H */
