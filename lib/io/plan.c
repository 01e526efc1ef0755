/*
 * Planning: every rank checks that all ranks queued the same tensors and
 * attributes, then decides which boxes it writes (each element by exactly one
 * owner; replicated boxes by one replica, owners spread) or reads.
 */
#include "h5ckpt_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Canonical description of what must be identical on every rank. */
static void describe_op(const h5ckpt *ck, const h5ckpt__op *op, h5ckpt__buf *b)
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
    if (ck->mode == H5CKPT__WRITER && n < (int)sizeof text - 1) {
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
static void describe_item(const h5ckpt *ck, size_t i, h5ckpt__buf *b)
{
    if (i < ck->nops)
        describe_op(ck, &ck->ops[i], b);
    else
        describe_attr(&ck->attrs[i - ck->nops], b);
}

/*
 * Collective: 0 when every rank's item hashes are identical (one hash of
 * them all compared by a single 16-byte allreduce), 1 when they differ
 * (the caller then compares them item by item to name the first), or
 * H5CKPT_EMPI.  Sending only what differs: at 100,000 tensors this spares
 * every rank 800 KB of broadcast per flush (docs/SCALING.md).
 */
static int same_everywhere(h5ckpt *ck, const uint64_t *hashes, size_t n)
{
    uint64_t h = h5ckpt__hash(hashes, n * sizeof *hashes), v[2] = {h, ~h}, r[2];

    if (MPI_Allreduce(v, r, 2, MPI_UINT64_T, MPI_MIN, ck->comm) != MPI_SUCCESS)
        return h5ckpt__set(ck, H5CKPT_EMPI, "MPI_Allreduce failed");
    return r[0] == ~r[1] ? 0 : 1;
}

static int check_agreement(h5ckpt *ck)
{
    size_t n = ck->nops + ck->nattrs, i;
    uint64_t *mine = NULL, *root = NULL, first = UINT64_MAX, min;
    long long cnt[4] = {(long long)ck->nops, (long long)ck->nattrs,
                        -(long long)ck->nops, -(long long)ck->nattrs}, red[4];
    h5ckpt__buf b = {0}, r = {0};
    int rc = 0;

    if (MPI_Allreduce(cnt, red, 4, MPI_LONG_LONG, MPI_MIN, ck->comm) != MPI_SUCCESS)
        return h5ckpt__set(ck, H5CKPT_EMPI, "MPI_Allreduce failed");
    if (red[0] != -red[2])
        return h5ckpt__set(ck, H5CKPT_EDISAGREE,
                           "ranks queued different numbers of tensors "
                           "(from %lld to %lld)", red[0], -red[2]);
    if (red[1] != -red[3])
        return h5ckpt__set(ck, H5CKPT_EDISAGREE,
                           "ranks queued different numbers of attributes "
                           "(from %lld to %lld)", red[1], -red[3]);
    if (n == 0 || ck->size == 1)
        return 0;
    mine = malloc(n * sizeof *mine);
    root = malloc(n * sizeof *root);
    if (!mine || !root)
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; !rc && i < n; i++) {
        b.len = 0;
        describe_item(ck, i, &b);
        mine[i] = root[i] = h5ckpt__hash(b.data, b.len);
    }
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        goto done;
    if ((rc = same_everywhere(ck, mine, n)) <= 0) /* agreed, or EMPI */
        goto done;
    rc = 0;
    MPI_Bcast(root, (int)n, MPI_UINT64_T, 0, ck->comm);
    for (i = 0; i < n; i++)
        if (mine[i] != root[i]) {
            first = i;
            break;
        }
    MPI_Allreduce(&first, &min, 1, MPI_UINT64_T, MPI_MIN, ck->comm);
    if (min == UINT64_MAX)
        goto done;
    /* Name the first differing item: rank 0 shares its description. */
    if (ck->rank == 0)
        describe_item(ck, (size_t)min, &r);
    h5ckpt__buf_bcast(&r, 0, ck->comm);
    if (mine[min] != root[min]) {
        b.len = 0;
        describe_item(ck, (size_t)min, &b);
        rc = h5ckpt__set(ck, H5CKPT_EDISAGREE,
                         "ranks disagree on item %llu: rank %d has %s, "
                         "rank 0 has %s",
                         (unsigned long long)min, ck->rank,
                         b.data ? (char *)b.data : "?",
                         r.data ? (char *)r.data : "?");
    }
    rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
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

/* ---- explicit layouts: gather every rank's boxes ------------------------- */

typedef struct {
    const uint64_t *box;
    int rank;
    uint32_t idx; /* box index within that rank's layout */
} entry;

static int g_ndim; /* qsort has no context argument; planning is serial */

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int d;

    for (d = 0; d < 2 * g_ndim; d++)
        if (x->box[d] != y->box[d])
            return x->box[d] < y->box[d] ? -1 : 1;
    return x->rank - y->rank;
}

static int same_box(const uint64_t *a, const uint64_t *b, int ndim)
{
    return memcmp(a, b, 2 * (size_t)ndim * sizeof *a) == 0;
}

/* Decide owners of one explicit tensor from all ranks' boxes (identical on
 * every rank), and select the boxes this rank owns. */
static int plan_explicit_one(h5ckpt *ck, h5ckpt__task *t, const h5ckpt__op *op,
                             entry *e, size_t ne)
{
    int ndim = op->layout.ndim;
    uint64_t total = h5ckpt__volume(ndim, op->layout.shape, NULL), covered = 0;
    uint64_t *memoff = NULL;
    size_t i, j, k, uniq = 0;
    int rc = 0;

    g_ndim = ndim;
    qsort(e, ne, sizeof *e, cmp_entry);
    /* Offsets of this rank's boxes in its packed local buffer. */
    if (!(memoff = malloc((op->layout.nboxes + 1) * sizeof *memoff)))
        return h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    for (i = 0, k = 0; i < op->layout.nboxes; i++) {
        memoff[i] = k;
        k += box_volume(op, i);
    }
    for (i = 0; i < ne; i = j) {
        size_t nh;
        for (j = i + 1; j < ne && same_box(e[i].box, e[j].box, ndim); j++)
            ;
        nh = j - i;
        /* Overlap with later distinct boxes: sorted by offset along dim 0,
         * so stop once a box starts past this one's end. */
        for (k = j; k < ne && rc == 0; k++) {
            if (ndim > 0 && e[k].box[0] >= e[i].box[0] + e[i].box[ndim])
                break;
            if (!same_box(e[i].box, e[k].box, ndim) &&
                (ndim == 0 || h5ckpt__boxes_overlap(ndim, e[i].box, e[k].box)))
                rc = h5ckpt__set(ck, H5CKPT_ELAYOUT,
                                 "tensor '%s': boxes of ranks %d and %d overlap",
                                 op->path, e[i].rank, e[k].rank);
        }
        if (rc)
            break;
        covered += h5ckpt__volume(ndim, e[i].box + ndim, NULL);
        {
            const entry *own = &e[i + (op->seq + uniq) % nh];
            if (own->rank == ck->rank)
                select_box(t, op, own->idx, memoff[own->idx]);
        }
        uniq++;
    }
    if (rc == 0 && covered != total)
        rc = h5ckpt__set(ck, H5CKPT_ELAYOUT,
                         "tensor '%s': the ranks' boxes cover %llu of its "
                         "%llu elements",
                         op->path, (unsigned long long)covered,
                         (unsigned long long)total);
    free(memoff);
    return rc;
}

static int plan_explicit(h5ckpt *ck, h5ckpt__plan *plan)
{
    uint64_t *send = NULL, *recv = NULL;
    int *counts = NULL, *displs = NULL, n = 0, total = 0, r, rc = 0;
    size_t i, j, nexp = 0, *pos = NULL;
    entry *e = NULL;

    for (i = 0; i < ck->nops; i++) {
        const h5ckpt_layout *l = &ck->ops[i].layout;
        if (l->kind != H5CKPT__LAYOUT_SHARDED) {
            n += 1 + (int)(l->nboxes * 2 * (size_t)l->ndim);
            nexp++;
        }
    }
    if (nexp == 0)
        return 0;
    counts = malloc((size_t)ck->size * sizeof *counts);
    displs = malloc((size_t)ck->size * sizeof *displs);
    send = malloc(((size_t)n + 1) * sizeof *send);
    pos = malloc((size_t)ck->size * sizeof *pos);
    if (!counts || !displs || !send || !pos)
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        goto done;
    for (i = 0, j = 0; i < ck->nops; i++) {
        const h5ckpt_layout *l = &ck->ops[i].layout;
        if (l->kind == H5CKPT__LAYOUT_SHARDED)
            continue;
        send[j++] = l->nboxes;
        memcpy(send + j, l->boxes, l->nboxes * 2 * (size_t)l->ndim * sizeof *send);
        j += l->nboxes * 2 * (size_t)l->ndim;
    }
    MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, ck->comm);
    for (r = 0; r < ck->size; r++) {
        displs[r] = total;
        total += counts[r];
    }
    if (!(recv = malloc(((size_t)total + 1) * sizeof *recv)))
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        goto done;
    MPI_Allgatherv(send, n, MPI_UINT64_T, recv, counts, displs, MPI_UINT64_T,
                   ck->comm);
    for (r = 0; r < ck->size; r++)
        pos[r] = (size_t)displs[r];
    /* Walk the explicit ops in queue order (identical on every rank). */
    for (i = 0; i < ck->nops && rc == 0; i++) {
        const h5ckpt__op *op = &ck->ops[i];
        size_t w = 2 * (size_t)op->layout.ndim, ne = 0;
        if (op->layout.kind == H5CKPT__LAYOUT_SHARDED)
            continue;
        free(e);
        e = NULL;
        {
            size_t cap = 0;
            for (r = 0; r < ck->size; r++)
                cap += recv[pos[r]];
            if (!(e = malloc((cap + 1) * sizeof *e))) {
                rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
                break;
            }
        }
        for (r = 0; r < ck->size; r++) {
            uint64_t nb = recv[pos[r]++], b;
            for (b = 0; b < nb; b++, pos[r] += w) {
                const uint64_t *box = recv + pos[r];
                if (h5ckpt__volume(op->layout.ndim, box + op->layout.ndim, NULL) == 0)
                    continue; /* empty boxes hold nothing */
                e[ne].box = box;
                e[ne].rank = r;
                e[ne].idx = (uint32_t)b;
                ne++;
            }
        }
        rc = plan_explicit_one(ck, &plan->tasks[i], op, e, ne);
    }
    rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
done:
    free(e);
    free(counts);
    free(displs);
    free(send);
    free(recv);
    free(pos);
    return rc;
}

int h5ckpt__plan_build(h5ckpt *ck, h5ckpt__plan *plan)
{
    size_t i, b;
    int rc;

    memset(plan, 0, sizeof *plan);
    if ((rc = h5ckpt__agree(ck->comm, check_agreement(ck), ck->errmsg)) != 0)
        return rc;
    plan->tasks = calloc(ck->nops + 1, sizeof *plan->tasks);
    plan->ntasks = ck->nops;
    if (!plan->tasks)
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < ck->nops; i++)
        if (alloc_task(&plan->tasks[i], &ck->ops[i]) != 0)
            rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        return rc;
    if (ck->mode == H5CKPT__READER) {
        /* Readers read every non-empty box they asked for. */
        for (i = 0; i < ck->nops; i++) {
            const h5ckpt__op *op = &ck->ops[i];
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
    for (i = 0; i < ck->nops; i++)
        if (ck->ops[i].layout.kind == H5CKPT__LAYOUT_SHARDED)
            plan_sharded(&plan->tasks[i], &ck->ops[i]);
    return plan_explicit(ck, plan);
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
