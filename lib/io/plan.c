/*
 * Planning: every rank checks that all ranks queued the same tensors and
 * attributes, then decides which boxes it writes (each element by exactly one
 * owner; replicated boxes by one replica, owners spread) or reads.
 */
#include "io/exec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Canonical description of what must be identical on every rank. */
static void describe_op(const h5ckpt__io *io, const h5ckpt__op *op, h5ckpt__buf *b)
{
    char text[1024];
    int n, d;

    n = snprintf(text, sizeof text, "tensor '%s' %s (", op->path,
                 h5ckpt_dtype_name(op->dtype));
    for (d = 0; d < op->layout.ndim && n < (int)sizeof text; d++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s%llu", d ? "," : "",
                      (unsigned long long)op->layout.shape[d]);
    if (n < (int)sizeof text)
        n += snprintf(text + n, sizeof text - (size_t)n, ")");
    if (io->file->writer && n < (int)sizeof text - 1) {
        text[n++] = ' ';
        h5ckpt__placements_text(&op->layout, text + n, sizeof text - (size_t)n);
    }
    h5ckpt__buf_bytes(b, text, strlen(text) + 1);
    /* the text is cut at 1 KiB; paths are up to 4 KiB and must agree whole */
    h5ckpt__buf_str(b, op->path);
}

static void describe_attr(const h5ckpt__attr *a, h5ckpt__buf *b)
{
    char text[600];

    /* Human part first (for messages), then the exact bytes (for hashing). */
    snprintf(text, sizeof text, "attribute '%s' on '%s'", a->name, a->obj);
    h5ckpt__buf_bytes(b, text, strlen(text) + 1);
    h5ckpt__attr_serialize(a, b);
}

/* Description of item i (ops first, then attributes) into `b`. */
static void describe_item(const h5ckpt__io *io, const h5ckpt__batch *bt,
                          size_t i, h5ckpt__buf *b)
{
    if (i < bt->nops)
        describe_op(io, &bt->ops[i], b);
    else
        describe_attr(&bt->attrs[i - bt->nops], b);
}

/*
 * Collective: 0 when every rank's item hashes are identical (one hash of
 * them all compared by a single 16-byte allreduce), 1 when they differ
 * (the caller then compares them item by item to name the first), or
 * H5CKPT_EMPI.  Sending only what differs: at 100,000 tensors this spares
 * every rank 800 KB of broadcast per flush (docs/SCALING.md).
 */
static int same_everywhere(h5ckpt__io *io, const uint64_t *hashes, size_t n)
{
    uint64_t h = h5ckpt__hash(hashes, n * sizeof *hashes), v[2] = {h, ~h}, r[2];
    int rc;

    if ((rc = h5ckpt__mpi(MPI_Allreduce(v, r, 2, MPI_UINT64_T, MPI_MIN, io->ctx->comm),
                          "MPI_Allreduce", io->ctx->errmsg)) != 0)
        return rc;
    return r[0] == ~r[1] ? 0 : 1;
}

static int check_agreement(h5ckpt__io *io, const h5ckpt__batch *bt)
{
    size_t n = bt->nops + bt->nattrs, i;
    uint64_t *mine = NULL, *root = NULL, first = UINT64_MAX, min;
    long long cnt[4] = {(long long)bt->nops, (long long)bt->nattrs,
                        -(long long)bt->nops, -(long long)bt->nattrs}, red[4];
    h5ckpt__buf b = {0}, r = {0};
    int rc = 0;

    int nn = 0, e;

    if ((rc = h5ckpt__mpi(MPI_Allreduce(cnt, red, 4, MPI_LONG_LONG, MPI_MIN,
                                        io->ctx->comm),
                          "MPI_Allreduce", io->ctx->errmsg)) != 0)
        return rc;
    if (red[0] != -red[2])
        return h5ckpt__set(io->ctx, H5CKPT_EDISAGREE,
                           "ranks queued different numbers of tensors "
                           "(from %lld to %lld)", red[0], -red[2]);
    if (red[1] != -red[3])
        return h5ckpt__set(io->ctx, H5CKPT_EDISAGREE,
                           "ranks queued different numbers of attributes "
                           "(from %lld to %lld)", red[1], -red[3]);
    if (n == 0 || io->ctx->size == 1)
        return 0;
    /* one hash per item goes through one MPI call: a count (n is
     * identical on every rank, checked above) */
    if ((rc = h5ckpt__mpi_count(n, &nn, "tensors and attributes in one flush",
                                io->ctx->errmsg)) == 0) {
        mine = malloc(n * sizeof *mine);
        root = malloc(n * sizeof *root);
        if (!mine || !root)
            rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    }
    for (i = 0; !rc && i < n; i++) {
        b.len = 0;
        describe_item(io, bt, i, &b);
        mine[i] = root[i] = h5ckpt__hash(b.data, b.len);
    }
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    if ((rc = h5ckpt__agree(io->ctx->comm, same_everywhere(io, mine, n),
                            io->ctx->errmsg)) <= 0) /* agreed, or EMPI */
        goto done;
    rc = 0; /* they differ: name the first differing item */
    rc = h5ckpt__mpi(MPI_Bcast(root, nn, MPI_UINT64_T, 0, io->ctx->comm),
                     "MPI_Bcast", io->ctx->errmsg);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    for (i = 0; i < n; i++)
        if (mine[i] != root[i]) {
            first = i;
            break;
        }
    rc = h5ckpt__mpi(MPI_Allreduce(&first, &min, 1, MPI_UINT64_T, MPI_MIN,
                                   io->ctx->comm),
                     "MPI_Allreduce", io->ctx->errmsg);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0 ||
        min == UINT64_MAX)
        goto done;
    /* Name the first differing item: rank 0 shares its description. */
    if (io->ctx->rank == 0)
        describe_item(io, bt, (size_t)min, &r);
    if ((e = h5ckpt__buf_bcast(&r, 0, io->ctx->comm)) != 0)
        rc = h5ckpt__set(io->ctx, e, "cannot share the differing item");
    else if (mine[min] != root[min]) {
        b.len = 0;
        describe_item(io, bt, (size_t)min, &b);
        rc = h5ckpt__set(io->ctx, H5CKPT_EDISAGREE,
                         "ranks disagree on item %llu: rank %d has %s, "
                         "rank 0 has %s",
                         (unsigned long long)min, io->ctx->rank,
                         b.data ? (char *)b.data : "?",
                         r.data ? (char *)r.data : "?");
    }
    rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
done:
    free(mine);
    free(root);
    h5ckpt__buf_free(&b);
    h5ckpt__buf_free(&r);
    return rc;
}

/* Select box i of op's layout into the task. */
static void select_box(h5ckpt__task *t, const h5ckpt__op *op, size_t i,
                       uint64_t memoff)
{
    size_t w = 2 * (size_t)op->layout.ndim;
    const uint64_t *box = op->layout.boxes + i * w;

    if (w)
        memcpy(t->sel + t->nsel * w, box, w * sizeof *box);
    t->memoff[t->nsel++] = memoff;
    t->nelems += h5ckpt__volume(op->layout.ndim, box + op->layout.ndim, NULL);
}

static int alloc_task(h5ckpt__task *t, const h5ckpt__op *op)
{
    size_t n = op->layout.nboxes + 1;

    t->op = op;
    t->sel = malloc(n * (2 * (size_t)op->layout.ndim + 1) * sizeof *t->sel);
    t->memoff = malloc(n * sizeof *t->memoff);
    return t->sel && t->memoff ? 0 : H5CKPT_ENOMEM;
}

static uint64_t box_volume(const h5ckpt__op *op, size_t i)
{
    const h5ckpt_layout *l = &op->layout;

    return h5ckpt__volume(l->ndim, l->boxes + i * 2 * (size_t)l->ndim + l->ndim, NULL);
}

/* Writer, mesh layout: this rank owns its box iff its index among the
 * replicas equals (seq + index of its shard) mod the number of replicas. */
static void plan_sharded(h5ckpt__task *t, const h5ckpt__op *op)
{
    const h5ckpt_layout *l = &op->layout;
    uint64_t nrep = 1, rep = 0, shard = 0;
    int i;

    for (i = 0; i < l->mesh_ndim; i++) {
        if (l->placements[i] == H5CKPT_REPLICATE) {
            rep = rep * (uint64_t)l->mesh_shape[i] + (uint64_t)l->mesh_coords[i];
            nrep *= (uint64_t)l->mesh_shape[i];
        } else {
            shard = shard * (uint64_t)l->mesh_shape[i] + (uint64_t)l->mesh_coords[i];
        }
    }
    if (box_volume(op, 0) > 0 && rep == (op->seq + shard) % nrep)
        select_box(t, op, 0, 0);
}

/* ---- explicit layouts: every tensor checked by one home rank ------------
 *
 * Owners of explicit boxes need every rank's boxes of the tensor: to find
 * replicas (identical boxes), overlaps and gaps.  Explicit tensor j (in
 * queue order among the explicit ones) is checked by its home rank, j mod
 * P: every rank sends each home the boxes it holds of the home's tensors
 * (one MPI_Alltoallv), each home decides the owners of its tensors exactly
 * as a single rank would, and sends every owner the list of its boxes
 * (a second MPI_Alltoallv).  So a rank holds its own boxes plus, as a home,
 * every rank's boxes of about T/P tensors: O(T) per rank, where gathering
 * every rank's boxes on every rank was O(ranks x tensors) (docs/SCALING.md).
 * Errors name the first failing tensor in queue order, as before: the home
 * of the smallest failing j reports, agreed over all ranks.
 */

typedef struct {
    const uint64_t *box;
    int rank, ndim; /* ndim: the sort's context (qsort has no argument) */
    uint32_t idx;   /* box index within that rank's layout */
} entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int d;

    for (d = 0; d < 2 * x->ndim; d++)
        if (x->box[d] != y->box[d])
            return x->box[d] < y->box[d] ? -1 : 1;
    return x->rank - y->rank;
}

static int same_box(const uint64_t *a, const uint64_t *b, int ndim)
{
    return memcmp(a, b, 2 * (size_t)ndim * sizeof *a) == 0;
}

/* One box a home assigns: (owner rank, explicit tensor j, box index). */
typedef struct {
    uint64_t rank, j, idx;
} owner;

/* Home: decide the owners of explicit tensor j (op) from all ranks' boxes
 * `e` and append them to `own` (room for ne more), in the order the boxes
 * sort.  Returns 0 or H5CKPT_ELAYOUT with the message on the handle. */
static int decide_owners(h5ckpt__io *io, const h5ckpt__op *op, uint64_t j, entry *e,
                         size_t ne, owner *own, size_t *nown)
{
    int ndim = op->layout.ndim;
    uint64_t total = h5ckpt__volume(ndim, op->layout.shape, NULL), covered = 0;
    size_t i, k, m, uniq = 0;

    if (ne)
        qsort(e, ne, sizeof *e, cmp_entry);
    for (i = 0; i < ne; i = m) {
        const entry *o;
        for (m = i + 1; m < ne && same_box(e[i].box, e[m].box, ndim); m++)
            ;
        /* Overlap with later distinct boxes: sorted by offset along dim 0,
         * so stop once a box starts past this one's end. */
        for (k = m; k < ne; k++) {
            if (ndim > 0 && e[k].box[0] >= e[i].box[0] + e[i].box[ndim])
                break;
            if (!same_box(e[i].box, e[k].box, ndim) &&
                (ndim == 0 || h5ckpt__boxes_overlap(ndim, e[i].box, e[k].box)))
                return h5ckpt__set(io->ctx, H5CKPT_ELAYOUT,
                                   "tensor '%s': boxes of ranks %d and %d overlap",
                                   op->path, e[i].rank, e[k].rank);
        }
        covered += h5ckpt__volume(ndim, e[i].box + ndim, NULL);
        o = &e[i + (op->seq + uniq) % (m - i)];
        own[*nown].rank = (uint64_t)o->rank;
        own[*nown].j = j;
        own[*nown].idx = o->idx;
        (*nown)++;
        uniq++;
    }
    if (covered != total)
        return h5ckpt__set(io->ctx, H5CKPT_ELAYOUT,
                           "tensor '%s': the ranks' boxes cover %llu of its "
                           "%llu elements",
                           op->path, (unsigned long long)covered,
                           (unsigned long long)total);
    return 0;
}

/* Every rank: its boxes of each explicit tensor to the tensor's home, as
 * records [j, nboxes, boxes...] (every tensor, even without boxes), in
 * increasing j per destination.  `xop[j]` is the index of explicit tensor
 * j among the ops. */
static int pack_boxes(h5ckpt__io *io, const h5ckpt__batch *bt, const size_t *xop, size_t nexp, int *sc,
                      uint64_t **send)
{
    size_t j, *pos = NULL, tot = 0;
    int r, P = io->ctx->size;

    memset(sc, 0, (size_t)P * sizeof *sc);
    for (j = 0; j < nexp; j++) {
        const h5ckpt_layout *l = &bt->ops[xop[j]].layout;
        size_t w = 2 + l->nboxes * 2 * (size_t)l->ndim;
        if (w > (size_t)INT_MAX - (size_t)sc[j % (size_t)P])
            return h5ckpt__set(io->ctx, H5CKPT_EINVAL, "too many boxes in one flush");
        sc[j % (size_t)P] += (int)w;
        tot += w;
    }
    if (!(*send = malloc((tot + 1) * sizeof **send)) ||
        !(pos = malloc((size_t)P * sizeof *pos)))
        return h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (r = 0, tot = 0; r < P; r++)
        pos[r] = tot, tot += (size_t)sc[r];
    for (j = 0; j < nexp; j++) {
        const h5ckpt_layout *l = &bt->ops[xop[j]].layout;
        uint64_t *p = *send + pos[j % (size_t)P];
        size_t w = l->nboxes * 2 * (size_t)l->ndim;
        p[0] = j;
        p[1] = l->nboxes;
        if (w)
            memcpy(p + 2, l->boxes, w * sizeof *p);
        pos[j % (size_t)P] += 2 + w;
    }
    free(pos);
    return 0;
}

/* Home: decide the owners of each of its tensors from the records `in`
 * (counts/displs per source rank).  *own gets the owners, sorted by owner
 * rank (stable: within a rank, by j then by box order).  *fail_j is the
 * first tensor that failed (UINT64_MAX if none; message on the handle). */
static int decide_all(h5ckpt__io *io, const h5ckpt__batch *bt, const size_t *xop, size_t nexp, const uint64_t *in,
                      const int *cnt, const int *dsp, owner **own, size_t *nown,
                      uint64_t *fail_j)
{
    int P = io->ctx->size, r, rc = 0;
    size_t *pos = NULL, j, cap = 0, ne;
    entry *e = NULL;
    owner *o = NULL;

    *own = NULL;
    *nown = 0;
    *fail_j = UINT64_MAX;
    /* boxes of one tensor, or of all: at most one per 2 words (a box of a
     * 0-d tensor has 0 words, but at most one per 2-word record) */
    for (r = 0; r < P; r++)
        cap += (size_t)cnt[r] / 2;
    if (!(pos = malloc((size_t)P * sizeof *pos)) ||
        !(e = malloc((cap + 1) * sizeof *e)) || !(o = malloc((cap + 1) * sizeof *o))) {
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
        goto done;
    }
    for (r = 0; r < P; r++)
        pos[r] = (size_t)dsp[r];
    for (j = (size_t)io->ctx->rank; j < nexp; j += (size_t)P) {
        const h5ckpt__op *op = &bt->ops[xop[j]];
        size_t w = 2 * (size_t)op->layout.ndim;
        for (r = 0, ne = 0; r < P; r++) {
            const uint64_t *p = in + pos[r];
            uint64_t b, nb;
            if (pos[r] + 2 > (size_t)dsp[r] + (size_t)cnt[r] || p[0] != j ||
                (nb = p[1]) > (w ? ((size_t)dsp[r] + (size_t)cnt[r] - pos[r] - 2) / w
                                 : 1)) {
                rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "inconsistent box records");
                goto done;
            }
            for (b = 0; b < nb; b++) {
                const uint64_t *box = p + 2 + b * w;
                if (h5ckpt__volume(op->layout.ndim, box + op->layout.ndim, NULL) == 0)
                    continue; /* empty boxes hold nothing */
                e[ne].box = box;
                e[ne].rank = r;
                e[ne].ndim = op->layout.ndim;
                e[ne].idx = (uint32_t)b;
                ne++;
            }
            pos[r] += 2 + nb * w;
        }
        if ((rc = decide_owners(io, op, j, e, ne, o, nown)) != 0) {
            *fail_j = j;
            rc = 0; /* reported through fail_j */
            break;
        }
    }
    /* stable counting sort by owner rank */
    if (*fail_j == UINT64_MAX && *nown) {
        owner *sorted = malloc(*nown * sizeof *sorted);
        size_t i, *at = calloc((size_t)P + 1, sizeof *at);
        if (!sorted || !at) {
            free(sorted);
            free(at);
            rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
            goto done;
        }
        for (i = 0; i < *nown; i++)
            at[o[i].rank + 1]++;
        for (r = 0; r < P; r++)
            at[r + 1] += at[r];
        for (i = 0; i < *nown; i++)
            sorted[at[o[i].rank]++] = o[i];
        free(at);
        free(o);
        o = sorted;
    }
done:
    free(pos);
    free(e);
    if (rc)
        free(o), o = NULL;
    *own = o;
    return rc;
}

static int plan_explicit(h5ckpt__io *io, h5ckpt__plan *plan)
{
    const h5ckpt__batch *bt = plan->batch;
    int P = io->ctx->size, *sc = NULL, *sd = NULL, *rcnt = NULL, *rd = NULL, r, rc = 0;
    uint64_t *send = NULL, *in = NULL, *back = NULL, fail = UINT64_MAX, first;
    size_t i, nexp = 0, *xop = NULL, nown = 0;
    owner *own = NULL;

    for (i = 0; i < bt->nops; i++)
        nexp += bt->ops[i].layout.kind != H5CKPT__LAYOUT_SHARDED;
    if (nexp == 0) /* identical on every rank: the ops agree */
        return 0;
    if (!(xop = malloc(nexp * sizeof *xop)) || !(sc = malloc((size_t)P * sizeof *sc)) ||
        !(sd = malloc((size_t)P * sizeof *sd)) || !(rcnt = malloc((size_t)P * sizeof *rcnt)) ||
        !(rd = malloc((size_t)P * sizeof *rd)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (i = 0, nexp = 0; rc == 0 && i < bt->nops; i++)
        if (bt->ops[i].layout.kind != H5CKPT__LAYOUT_SHARDED)
            xop[nexp++] = i;
    if (rc == 0)
        rc = pack_boxes(io, bt, xop, nexp, sc, &send);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0 ||
        (rc = h5ckpt__alltoallv_u64(io->ctx, 0, send, sc, sd, rcnt, rd, &in)) != 0)
        goto done;
    rc = decide_all(io, bt, xop, nexp, in, rcnt, rd, &own, &nown, &fail);
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto done;
    /* the first failing tensor in queue order: its home alone reports it */
    if ((rc = h5ckpt__mpi(MPI_Allreduce(&fail, &first, 1, MPI_UINT64_T, MPI_MIN,
                                        io->ctx->comm),
                          "MPI_Allreduce", io->ctx->errmsg)) != 0)
        first = UINT64_MAX;
    else if (first != UINT64_MAX)
        rc = fail == first ? H5CKPT_ELAYOUT : 0;
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0 || first != UINT64_MAX) {
        if (rc == 0) /* cannot happen: the home of `first` failed */
            rc = h5ckpt__set(io->ctx, H5CKPT_ELAYOUT, "explicit layouts disagree");
        goto done;
    }
    /* owners: (j, box index) pairs to each owner rank */
    free(send);
    if (!(send = malloc((2 * nown + 1) * sizeof *send)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    memset(sc, 0, (size_t)P * sizeof *sc);
    for (i = 0; rc == 0 && i < nown; i++) {
        send[2 * i] = own[i].j;
        send[2 * i + 1] = own[i].idx;
        sc[own[i].rank] += 2;
    }
    if ((rc = h5ckpt__alltoallv_u64(io->ctx, rc, send, sc, sd, rcnt, rd, &back)) != 0)
        goto done;
    for (r = 0; r < P; r++) {
        for (i = (size_t)rd[r]; rc == 0 && i + 1 < (size_t)rd[r] + (size_t)rcnt[r]; i += 2) {
            uint64_t j = back[i], idx = back[i + 1], moff = 0, b;
            const h5ckpt__op *op;
            if (j >= nexp || idx >= bt->ops[xop[j]].layout.nboxes) {
                rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "inconsistent box owners");
                break;
            }
            op = &bt->ops[xop[j]];
            for (b = 0; b < idx; b++) /* offset of the box in the packed buffer */
                moff += box_volume(op, (size_t)b);
            select_box(&plan->tasks[xop[j]], op, (size_t)idx, moff);
        }
    }
    rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
done:
    free(own);
    free(in);
    free(back);
    free(send);
    free(xop);
    free(sc);
    free(sd);
    free(rcnt);
    free(rd);
    return rc;
}

int h5ckpt__plan_build(h5ckpt__io *io, h5ckpt__batch *bt, h5ckpt__plan *plan)
{
    size_t i, b;
    int rc;

    memset(plan, 0, sizeof *plan);
    plan->batch = bt;
    if ((rc = h5ckpt__agree(io->ctx->comm, check_agreement(io, bt), io->ctx->errmsg)) != 0)
        return rc;
    plan->tasks = calloc(bt->nops + 1, sizeof *plan->tasks);
    plan->ntasks = bt->nops;
    if (!plan->tasks)
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < bt->nops; i++)
        if (alloc_task(&plan->tasks[i], &bt->ops[i]) != 0)
            rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        return rc;
    if (!io->file->writer) {
        /* Readers read every non-empty box they asked for. */
        for (i = 0; i < bt->nops; i++) {
            const h5ckpt__op *op = &bt->ops[i];
            uint64_t off = 0;
            for (b = 0; b < op->layout.nboxes; b++) {
                uint64_t v = box_volume(op, b);
                if (v > 0)
                    select_box(&plan->tasks[i], op, b, off);
                off += v;
            }
        }
        return 0;
    }
    for (i = 0; i < bt->nops; i++)
        if (bt->ops[i].layout.kind == H5CKPT__LAYOUT_SHARDED)
            plan_sharded(&plan->tasks[i], &bt->ops[i]);
    return plan_explicit(io, plan);
}

void h5ckpt__plan_free(h5ckpt__plan *plan)
{
    size_t i;

    for (i = 0; plan->tasks && i < plan->ntasks; i++) {
        free(plan->tasks[i].sel);
        free(plan->tasks[i].memoff);
    }
    free(plan->tasks);
    memset(plan, 0, sizeof *plan);
}
