/*
 * lib/handle — checkpoint handles, the layer the public API of h5ckpt.h
 * mostly lives in: create, open, commit and close; the queue of puts, gets
 * and attributes and the flush that hands it to the io layer; listings and
 * attribute reads from the reader's index; root information.
 *
 * May include: lib/base, lib/layout, lib/format, lib/io, and lib/device for
 * the memory kind of a put or get (device.h, in queue.c only).
 */
#ifndef H5CKPT_HANDLE_H
#define H5CKPT_HANDLE_H

#include "io/io.h"

enum { H5CKPT__WRITER = 1, H5CKPT__READER = 2 };
/* A writer is OPEN until its commit; COMMITTING between
 * h5ckpt_commit_start and h5ckpt_commit_wait; then DONE or FAILED. */
enum { H5CKPT__OPEN = 0, H5CKPT__FAILED, H5CKPT__DONE, H5CKPT__COMMITTING };

/* Work queued since the last flush, and the names a writer declared. */
typedef struct {
    h5ckpt__op *ops;
    size_t nops, capops;
    h5ckpt__attr *attrs;
    size_t nattrs, capattrs;
    int pending; /* first local error since the last flush */
    char pending_msg[H5CKPT_MSG_MAX];
    uint64_t nseq;
    /* writer: names declared so far (1 group, 2 tensor, 3 attribute key) */
    h5ckpt__strmap names;
    /* a commit in flight: the batch and plan its background writer works
     * through (the queue is frozen until h5ckpt__queue_settle) */
    h5ckpt__batch batch;
    h5ckpt__plan plan;
} h5ckpt__queue;

/* A handle: one sub-struct per layer. */
struct h5ckpt {
    h5ckpt__ctx ctx;      /* base: communicator, rank, last message */
    h5ckpt_options opts;  /* resolved at create/open */
    int mode, state;
    h5ckpt__file file;    /* format: paths, HDF5 handle, index, checksums */
    h5ckpt__io io;        /* io: executors' state (points at the above) */
    h5ckpt__queue queue;  /* handle: what the next flush does */
    struct h5ckpt **watch; /* cleared when the handle is freed (a checkpoint
                              directory's save in flight; NULL none) */
};

/* Remember the first error of a put/get/attribute until the next flush
 * (which returns it on every rank); returns `rc`. */
int h5ckpt__queue_remember(h5ckpt *ck, int rc);
/* Free what the queue holds (not the arrays) and reset it. */
void h5ckpt__queue_clear(h5ckpt__queue *q);
void h5ckpt__queue_free(h5ckpt__queue *q);
/* Collective (writer): the flush of h5ckpt_commit_start, which leaves the
 * batch and plan in the queue while a background writer works through them
 * (h5ckpt__io_write_async).  Agreed. */
int h5ckpt__flush_async(h5ckpt *ck);
/* Local: free the plan of a commit that is no longer in flight and empty
 * the queue. */
void h5ckpt__queue_settle(h5ckpt *ck);
/* Why a writer refuses more work, for EMODE messages. */
const char *h5ckpt__closed_why(const h5ckpt *ck);
/* Local: `*slot` is set to NULL when `ck` is closed (while it still points
 * to ck); NULL stops watching.  For owners of a handle's save in flight
 * (checkpoint directories). */
void h5ckpt__handle_watch(h5ckpt *ck, h5ckpt **slot);
/* Register `path` as a group (kind 1) or tensor (kind 2) of a writer:
 * H5CKPT_EEXIST if it clashes with what was declared before.  A group
 * declaration of an existing tensor path is accepted (attributes on it). */
int h5ckpt__declare(h5ckpt *ck, const char *path, int kind);

#endif /* H5CKPT_HANDLE_H */
