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
 * spreads readers over the members.  The groups of task i are found by its
 * home rank, i mod P (see group_tasks), so no rank holds every rank's
 * selections of every task.  Each distinct partition of the ranks
 * into groups gets its sub-communicators (MPI_Comm_split) and one device
 * group per sub-communicator of two or more ranks, cached on the handle
 * and freed at close.  Groups of one rank never broadcast.  bytes_read
 * counts file bytes only, so the receivers add nothing.
 */
#include "io/exec.h"

#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <xxhash.h>

#define ID_MAX 128

typedef struct {
    uint64_t key[2];    /* XXH3-128 of the partition (see home_groups) */
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

static int cmp_id(const void *a, const void *b) { return strncmp(a, b, ID_MAX); }

/* Collective, once per handle: 1 if every rank has a distinct device. */
static int decide(h5ckpt__io *io, const h5ckpt__devops *d)
{
    char *ids = NULL, mine[ID_MAX] = "";
    int rc = 0, i, distinct = 1;

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
    /* sorted, equal ids are neighbours: O(P log P), not O(P^2) */
    if (rc == 0)
        qsort(ids, (size_t)io->ctx->size, ID_MAX, cmp_id);
    for (i = 1; rc == 0 && distinct && i < io->ctx->size; i++)
        distinct = strncmp(ids + (size_t)(i - 1) * ID_MAX, ids + (size_t)i * ID_MAX,
                           ID_MAX) != 0;
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

/* Collective: the cached partition with key `key`, made if new, in which
 * this rank has color `color` (every rank asks for the same partitions in
 * the same order). */
static int find_part(h5ckpt__io *io, const uint64_t *key, int color, size_t *out)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    struct h5ckpt__replica *r = io->replica;
    size_t i;
    part *p, *np;
    int rc = 0, gsize = 0;

    for (i = 0; i < r->nparts; i++)
        if (r->parts[i].key[0] == key[0] && r->parts[i].key[1] == key[1]) {
            *out = i;
            return 0;
        }
    if ((np = realloc(r->parts, (r->nparts + 1) * sizeof *np)) != NULL)
        r->parts = np;
    else
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        return rc;
    p = &r->parts[r->nparts++];
    p->key[0] = key[0];
    p->key[1] = key[1];
    p->comm = MPI_COMM_NULL;
    p->g = NULL;
    if ((rc = h5ckpt__comm_split(io->ctx->comm, MPI_UNDEFINED, color, io->ctx->rank,
                                 &p->comm, io->ctx->errmsg)) == 0 &&
        (rc = h5ckpt__mpi(MPI_Comm_size(p->comm, &gsize), "MPI_Comm_size",
                          io->ctx->errmsg)) == 0 &&
        gsize > 1) /* collective over the sub-communicator */
        rc = d->group_create(&p->g, p->comm, io->ctx->errmsg);
    *out = r->nparts - 1;
    return h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
}

/*
 * Replica groups without gathering every rank's keys on every rank (which
 * was O(ranks x tasks) per rank): task i's home, rank i mod P, receives the
 * nonzero key of every rank for task i, groups equal keys (ranks in order;
 * the group's color is its lowest rank) and answers each member of a group
 * of two or more with a record of REC words:
 *   [task, color, index in the group, group size, partition key (2 words)]
 * where the partition key is XXH3-128 of the (rank, color) pairs of every
 * member of such a group, in rank order: it names the partition of the
 * ranks into groups, identical for every task with the same groups.
 */
enum { REC = 6 };

typedef struct {
    int rank;
    uint64_t key;
} member;

static int cmp_member(const void *a, const void *b)
{
    const member *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rank - y->rank;
}

static int cmp_key2(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;

    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Home: group the members of one task and append the records (REC words
 * each) for every member of a group of two or more to `out`; also its
 * partition key to `keys` (2 words) when there is one.  `pairs` is
 * scratch of 2 * n words. */
static void home_groups(uint64_t task, member *m, size_t n, uint64_t *pairs,
                        h5ckpt__buf *out, h5ckpt__buf *keys)
{
    size_t i, j, k, np = 0;
    XXH128_hash_t h;

    qsort(m, n, sizeof *m, cmp_member);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && m[j].key == m[i].key; j++)
            ;
        for (k = i; j - i > 1 && k < j; k++) {
            pairs[2 * np] = (uint64_t)m[k].rank;
            pairs[2 * np + 1] = (uint64_t)m[i].rank; /* color: lowest rank */
            np++;
        }
    }
    if (np == 0)
        return; /* no group of two or more */
    /* pairs in rank order: the partition's canonical form */
    qsort(pairs, np, 2 * sizeof *pairs, cmp_key2);
    h = XXH3_128bits(pairs, np * 2 * sizeof *pairs);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && m[j].key == m[i].key; j++)
            ;
        for (k = i; j - i > 1 && k < j; k++) {
            h5ckpt__buf_u64(out, (uint64_t)m[k].rank); /* destination */
            h5ckpt__buf_u64(out, task);
            h5ckpt__buf_u64(out, (uint64_t)m[i].rank);
            h5ckpt__buf_u64(out, k - i);
            h5ckpt__buf_u64(out, j - i);
            h5ckpt__buf_u64(out, h.low64);
            h5ckpt__buf_u64(out, h.high64);
        }
    }
    h5ckpt__buf_u64(keys, h.low64);
    h5ckpt__buf_u64(keys, h.high64);
}

/* Collective: each rank's nonzero keys to the tasks' homes; every home's
 * records back to the members (*recs, *nrec records of REC words) and the
 * distinct partition keys of the flush, sorted, on every rank (*pk, *npk
 * pairs).  Agreed. */
static int group_tasks(h5ckpt__io *io, const uint64_t *keys, size_t n, uint64_t **recs,
                       size_t *nrec, uint64_t **pk, size_t *npk)
{
    int P = io->ctx->size, *sc = NULL, *sd = NULL, *rcnt = NULL, *rd = NULL, *kc = NULL,
        *kd = NULL, r, rc = 0, nk;
    uint64_t *send = NULL, *in = NULL, *pairs = NULL, *all = NULL;
    size_t i, j, ktot = 0, *pos = NULL, nmax = 0;
    h5ckpt__buf out = {0}, hk = {0};
    member *m = NULL;

    *recs = *pk = NULL;
    *nrec = *npk = 0;
    if (!(sc = calloc((size_t)P, sizeof *sc)) || !(sd = malloc((size_t)P * sizeof *sd)) ||
        !(rcnt = malloc((size_t)P * sizeof *rcnt)) || !(rd = malloc((size_t)P * sizeof *rd)) ||
        !(kc = malloc((size_t)P * sizeof *kc)) || !(kd = malloc((size_t)P * sizeof *kd)) ||
        !(pos = malloc((size_t)P * sizeof *pos)) || !(send = malloc((2 * n + 1) * sizeof *send)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < n; i++)
        sc[i % (size_t)P] += keys[i] ? 2 : 0;
    for (r = 0, j = 0; rc == 0 && r < P; r++)
        pos[r] = j, j += (size_t)sc[r];
    for (i = 0; rc == 0 && i < n; i++)
        if (keys[i]) {
            send[pos[i % (size_t)P]++] = i;
            send[pos[i % (size_t)P]++] = keys[i];
        }
    if ((rc = h5ckpt__alltoallv_u64(io->ctx, rc, send, sc, sd, rcnt, rd, &in)) != 0)
        goto done;
    /* home: each of its tasks in turn, sources in rank order */
    for (r = 0; r < P; r++) {
        pos[r] = (size_t)rd[r];
        nmax += (size_t)rcnt[r] / 2;
    }
    if (!(m = malloc((nmax + 1) * sizeof *m)) ||
        !(pairs = malloc((2 * nmax + 1) * sizeof *pairs)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (i = (size_t)io->ctx->rank; rc == 0 && i < n; i += (size_t)P) {
        size_t nm = 0;
        for (r = 0; r < P; r++)
            if (pos[r] + 1 < (size_t)rd[r] + (size_t)rcnt[r] && in[pos[r]] == i) {
                m[nm].rank = r;
                m[nm++].key = in[pos[r] + 1];
                pos[r] += 2;
            }
        home_groups(i, m, nm, pairs, &out, &hk);
    }
    if (rc == 0 && (out.err || hk.err))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    /* records to their members: [dest, REC words] -> REC words to dest */
    free(send);
    send = NULL;
    memset(sc, 0, (size_t)P * sizeof *sc);
    if (rc == 0 && !(send = malloc((out.len / 8 + 1) * sizeof *send)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if (rc == 0) {
        const uint64_t *o = (const uint64_t *)(void *)out.data;
        size_t nr = out.len / 8 / (REC + 1);
        for (i = 0; i < nr; i++)
            sc[o[i * (REC + 1)]] += REC;
        for (r = 0, j = 0; r < P; r++)
            pos[r] = j, j += (size_t)sc[r];
        for (i = 0; i < nr; i++) {
            memcpy(send + pos[o[i * (REC + 1)]], o + i * (REC + 1) + 1, REC * sizeof *send);
            pos[o[i * (REC + 1)]] += REC;
        }
    }
    free(in);
    in = NULL;
    if ((rc = h5ckpt__alltoallv_u64(io->ctx, rc, send, sc, sd, rcnt, rd, &in)) != 0)
        goto done;
    for (r = 0; r < P; r++)
        *nrec += (size_t)rcnt[r] / REC;
    *recs = in; /* contiguous: sources in rank order */
    in = NULL;
    /* the distinct partition keys of every home, on every rank */
    nk = hk.len > (size_t)INT_MAX ? -1 : (int)(hk.len / 8);
    if (nk < 0)
        rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "too many replica groups in one flush");
    if (rc) /* still takes part */
        nk = 0;
    {
        int e = h5ckpt__mpi(MPI_Allgather(&nk, 1, MPI_INT, kc, 1, MPI_INT, io->ctx->comm),
                            "MPI_Allgather", rc ? NULL : io->ctx->errmsg);
        rc = rc ? rc : e;
    }
    for (r = 0; rc == 0 && r < P; r++) {
        if (kc[r] < 0 || ktot + (size_t)kc[r] > (size_t)INT_MAX) {
            rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "too many replica groups in one flush");
            break;
        }
        kd[r] = (int)ktot;
        ktot += (size_t)kc[r];
    }
    if (rc == 0 && !(all = malloc((ktot + 2) * sizeof *all)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    rc = h5ckpt__mpi(MPI_Allgatherv(hk.data ? (void *)hk.data : (void *)&ktot, nk,
                                    MPI_UINT64_T, all, kc, kd, MPI_UINT64_T,
                                    io->ctx->comm),
                     "MPI_Allgatherv", io->ctx->errmsg);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    if (ktot)
        qsort(all, ktot / 2, 2 * sizeof *all, cmp_key2);
    for (i = 0, j = 0; i < ktot / 2; i++)
        if (j == 0 || cmp_key2(all + 2 * i, all + 2 * (j - 1)) != 0) {
            all[2 * j] = all[2 * i];
            all[2 * j + 1] = all[2 * i + 1];
            j++;
        }
    *pk = all;
    *npk = j;
    all = NULL;
done:
    if (rc) {
        free(*recs);
        *recs = NULL;
        *nrec = 0;
    }
    h5ckpt__buf_free(&out);
    h5ckpt__buf_free(&hk);
    free(all);
    free(m);
    free(pairs);
    free(in);
    free(send);
    free(pos);
    free(sc);
    free(sd);
    free(rcnt);
    free(rd);
    free(kc);
    free(kd);
    return rc;
}

int h5ckpt__replica_plan(h5ckpt__io *io, const h5ckpt__plan *plan, int *role)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    uint64_t *keys = NULL, *recs = NULL, *pk = NULL;
    int use = has_groups(d) && !h5ckpt__knobs_get()->replica_off, any = 0;
    size_t i, k, n = plan->ntasks, nrec = 0, npk = 0, *pidx = NULL;
    int rc = 0;

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
    if (!(keys = malloc(n * sizeof *keys)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < n; i++)
        keys[i] = task_key(io, &plan->tasks[i]);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0 ||
        (rc = group_tasks(io, keys, n, &recs, &nrec, &pk, &npk)) != 0)
        goto done;
    /* one sub-communicator per distinct partition, in the same order on
     * every rank; this rank's color: from its records, else its own rank */
    if (!(pidx = malloc((npk + 1) * sizeof *pidx)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    for (k = 0; rc == 0 && k < npk; k++) {
        int color = io->ctx->rank;
        for (i = 0; i < nrec; i++)
            if (recs[i * REC + 4] == pk[2 * k] && recs[i * REC + 5] == pk[2 * k + 1]) {
                color = (int)recs[i * REC + 1];
                break;
            }
        rc = find_part(io, pk + 2 * k, color, &pidx[k]);
    }
    for (i = 0; rc == 0 && i < nrec; i++) {
        const uint64_t *x = recs + i * REC;
        uint64_t t = x[0], me = x[2], size = x[3];
        const uint64_t *key = bsearch(x + 4, pk, npk, 2 * sizeof *pk, cmp_key2);
        if (t >= n || !key || size < 2) {
            rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "inconsistent replica groups");
            break;
        }
        role[t] = (int)(pidx[(size_t)(key - pk) / 2] << 2) |
                  (me == plan->tasks[t].op->seq % size ? 1 : 2);
    }
    rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
done:
    free(keys);
    free(recs);
    free(pk);
    free(pidx);
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
