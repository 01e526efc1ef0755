/*
 * Replicated device reads: when several ranks read identical selections of
 * a tensor into device buffers on distinct devices, one of them reads it
 * from the file (through the staging, stage.c) and a device broadcast over
 * the group (NCCL in a CUDA build) gives it to the others.
 *
 * Used by the fast reader when the backend has group operations and every
 * rank of the handle uses a distinct device (an allgather of device ids,
 * once per handle): decided identically on every rank.  Per task, ranks
 * whose selections are identical and non-empty (same boxes, same packed
 * offsets) form a replica group; member seq mod (group size) reads, which
 * spreads readers over the members.  Each distinct partition of the ranks
 * into groups gets its sub-communicators (MPI_Comm_split) and one device
 * group per sub-communicator of two or more ranks, cached on the handle
 * and freed at close.  Groups of one rank never broadcast.  bytes_read
 * counts file bytes only, so the receivers add nothing.
 */
#include "io/exec.h"

#include <stdlib.h>
#include <string.h>

#define ID_MAX 128

typedef struct {
    int *colors;        /* per rank of the handle: its group's lowest rank */
    MPI_Comm comm;      /* this rank's sub-communicator */
    h5ckpt__dgroup *g;  /* NULL for a group of one */
} part;

struct h5ckpt__replica {
    int usable; /* -1 not decided yet */
    int aborting; /* free the groups with group_abort */
    part *parts;
    size_t nparts;
};

void h5ckpt__replica_free(h5ckpt__io *io)
{
    struct h5ckpt__replica *r = io->replica;
    const h5ckpt__devops *d = h5ckpt__devops_get();
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->nparts; i++) {
        if (r->parts[i].g && d)
            (r->aborting ? d->group_abort : d->group_free)(r->parts[i].g);
        h5ckpt__comm_free(&r->parts[i].comm);
        free(r->parts[i].colors);
    }
    free(r->parts);
    free(r);
    io->replica = NULL;
}

static int has_groups(const h5ckpt__devops *d)
{
    char why[H5CKPT_MSG_MAX];

    return d && d->group_create && d->group_free && d->group_bcast &&
           d->group_begin && d->group_end && d->group_abort &&
           d->probe(why) == 0;
}

/* Collective, once per handle: 1 if every rank has a distinct device. */
static int decide(h5ckpt__io *io, const h5ckpt__devops *d)
{
    char *ids = NULL, mine[ID_MAX] = "";
    int rc = 0, i, j, distinct = 1;

    if (!(ids = calloc((size_t)io->ctx->size, ID_MAX)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    else
        rc = d->device_id(mine, sizeof mine, io->ctx->errmsg);
    mine[ID_MAX - 1] = '\0';
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    rc = h5ckpt__mpi(MPI_Allgather(mine, ID_MAX, MPI_CHAR, ids, ID_MAX, MPI_CHAR,
                                   io->ctx->comm),
                     "MPI_Allgather", io->ctx->errmsg);
    for (i = 0; rc == 0 && distinct && i < io->ctx->size; i++)
        for (j = i + 1; distinct && j < io->ctx->size; j++)
            distinct = strcmp(ids + (size_t)i * ID_MAX, ids + (size_t)j * ID_MAX) != 0;
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) == 0)
        io->replica->usable = distinct;
done:
    free(ids);
    return rc;
}

/* Key of this rank's selection of task t: 0 when it takes no part. */
static uint64_t task_key(const h5ckpt__io *io, const h5ckpt__task *t)
{
    const h5ckpt__tensor *x = h5ckpt__index_tensor(&io->file->index, t->op->path);
    size_t w = 2 * (size_t)t->op->layout.ndim;
    h5ckpt__buf b = {0};
    uint64_t k;

    if (!h5ckpt__task_on_device(t) || !x || x->offset < 0)
        return 0;
    h5ckpt__buf_u64(&b, t->nsel);
    h5ckpt__buf_bytes(&b, t->sel, t->nsel * w * sizeof *t->sel);
    h5ckpt__buf_bytes(&b, t->memoff, t->nsel * sizeof *t->memoff);
    k = b.err ? 0 : h5ckpt__hash(b.data, b.len) | 1;
    h5ckpt__buf_free(&b);
    return k;
}

/* Collective: the cached partition with these colors, made if new (every
 * rank asks for the same partitions in the same order). */
static int find_part(h5ckpt__io *io, const int *colors, size_t *out)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    struct h5ckpt__replica *r = io->replica;
    size_t i, n = (size_t)io->ctx->size * sizeof *colors;
    part *p, *np;
    int *copy = NULL, rc = 0, gsize = 0;

    for (i = 0; i < r->nparts; i++)
        if (!memcmp(r->parts[i].colors, colors, n)) {
            *out = i;
            return 0;
        }
    if ((np = realloc(r->parts, (r->nparts + 1) * sizeof *np)) != NULL)
        r->parts = np;
    if (!np || !(copy = malloc(n)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0) {
        free(copy);
        return rc;
    }
    p = &r->parts[r->nparts++];
    p->colors = memcpy(copy, colors, n);
    p->comm = MPI_COMM_NULL;
    p->g = NULL;
    if ((rc = h5ckpt__comm_split(io->ctx->comm, MPI_UNDEFINED, colors[io->ctx->rank],
                                 io->ctx->rank, &p->comm, io->ctx->errmsg)) == 0 &&
        (rc = h5ckpt__mpi(MPI_Comm_size(p->comm, &gsize), "MPI_Comm_size",
                          io->ctx->errmsg)) == 0 &&
        gsize > 1) /* collective over the sub-communicator */
        rc = d->group_create(&p->g, p->comm, io->ctx->errmsg);
    *out = r->nparts - 1;
    return h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
}

int h5ckpt__replica_plan(h5ckpt__io *io, const h5ckpt__plan *plan, int *role)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    uint64_t *keys = NULL, *all = NULL;
    int *colors = NULL, use = has_groups(d) && !h5ckpt__knobs_get()->replica_off, any = 0;
    size_t i, n = plan->ntasks, P = (size_t)io->ctx->size, pi;
    int rc = 0, r, s, nn = 0;

    if ((rc = h5ckpt__mpi(MPI_Allreduce(&use, &any, 1, MPI_INT, MPI_LAND, io->ctx->comm),
                          "MPI_Allreduce", io->ctx->errmsg)) != 0)
        return rc;
    if (!any || n == 0)
        return 0;
    if (!io->replica) {
        if (!(io->replica = calloc(1, sizeof *io->replica)))
            rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
        else
            io->replica->usable = -1;
    }
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        return rc;
    if (io->replica->usable < 0 && (rc = decide(io, d)) != 0)
        return rc;
    if (io->replica->usable == 0)
        return 0;
    if ((rc = h5ckpt__mpi_count(n, &nn, "tensors in one flush", io->ctx->errmsg)) == 0) {
        keys = malloc(n * sizeof *keys);
        all = malloc(n * P * sizeof *all);
        colors = malloc(P * sizeof *colors);
        if (!keys || !all || !colors)
            rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    }
    for (i = 0; rc == 0 && i < n; i++)
        keys[i] = task_key(io, &plan->tasks[i]);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    rc = h5ckpt__mpi(MPI_Allgather(keys, nn, MPI_UINT64_T, all, nn, MPI_UINT64_T,
                                   io->ctx->comm),
                     "MPI_Allgather", io->ctx->errmsg);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    for (i = 0; rc == 0 && i < n; i++) {
        int size = 0, groups = 0, me = -1;
        /* color of each rank: the lowest rank holding its key */
        for (r = 0; r < (int)P; r++) {
            uint64_t k = all[(size_t)r * n + i];
            colors[r] = r;
            for (s = 0; k && s < r; s++)
                if (all[(size_t)s * n + i] == k) {
                    colors[r] = s;
                    break;
                }
            groups += colors[r] != r;
        }
        if (groups == 0)
            continue; /* no group of two or more: identical on every rank */
        if ((rc = find_part(io, colors, &pi)) != 0)
            break;
        for (r = 0; r < (int)P; r++)
            if (colors[r] == colors[io->ctx->rank]) {
                if (r == io->ctx->rank)
                    me = size;
                size++;
            }
        if (keys[i] && size > 1)
            role[i] = (int)(pi << 2) |
                      ((uint64_t)me == plan->tasks[i].op->seq % (uint64_t)size ? 1 : 2);
    }
done:
    free(keys);
    free(all);
    free(colors);
    return rc;
}

int h5ckpt__replica_bcast(h5ckpt__io *io, h5ckpt__stage *st,
                          const h5ckpt__plan *plan, const int *role)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    h5ckpt__stream *s = h5ckpt__stage_stream(st);
    void *tmp = h5ckpt__stage_tmp(st);
    char *msg = io->ctx->errmsg;
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < plan->ntasks; i++) {
        const h5ckpt__op *op;
        const h5ckpt_layout *l;
        const part *p;
        size_t es, n;
        int root = 0, gsize = 0, r;
        void *buf;

        if (!role[i])
            continue;
        op = plan->tasks[i].op;
        l = &op->layout;
        p = &io->replica->parts[role[i] >> 2];
        es = h5ckpt_dtype_size(op->dtype);
        n = (size_t)(l->local_count * es);
        buf = op->strided ? tmp : op->data;
        if ((rc = h5ckpt__mpi(MPI_Comm_size(p->comm, &gsize), "MPI_Comm_size", msg)) != 0 ||
            (rc = h5ckpt__mpi(MPI_Comm_rank(p->comm, &r), "MPI_Comm_rank", msg)) != 0)
            break;
        root = (int)(op->seq % (uint64_t)gsize);
        if ((role[i] & 3) == 1 && op->strided)
            rc = d->pack(s, tmp, op->data, l->local_ndim, l->local_shape,
                         op->strides, es, msg);
        if (rc == 0 && (rc = d->group_begin(msg)) == 0) {
            rc = d->group_bcast(p->g, s, buf, n, root, msg);
            /* always close the bracket that was opened */
            if ((r = d->group_end(msg)) != 0 && rc == 0)
                rc = r;
        }
        if (rc == 0 && (role[i] & 3) == 2 && op->strided)
            rc = d->unpack(s, op->data, tmp, l->local_ndim, l->local_shape,
                           op->strides, es, msg);
    }
    /* A rank that could not queue its broadcasts leaves its partners'
     * queued ones without a peer: waiting on the stream would never return.
     * So the queueing is agreed first, and on failure every rank abandons
     * its groups (rebuilt by the next flush that needs them). */
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, msg)) != 0) {
        if (io->replica)
            io->replica->aborting = 1;
        h5ckpt__replica_free(io); /* the next flush decides and builds anew */
        return rc;
    }
    if (st)
        rc = d->sync(s, msg);
    return rc;
}
