/*
 * Checksums of the pieces a flush moves.  Writers hash every piece they own
 * (XXH3-64 of the element bytes in row-major order of the box, independent
 * of the caller's memory layout and of the executor) right after planning
 * and keep one row per piece (lib/format/checksum.c writes the table at
 * commit).  Verifying readers check, after a flush's reads, every written
 * piece the reads touched: a piece inside a box the rank read is hashed
 * from the caller's buffer; a piece the box only partly covers is read
 * again from the file, whole, in bounded slices, hashed, and the part the
 * box covers compared with what the read delivered.
 */
#include "io/exec.h"

#include <stdio.h>
#include <string.h>

void h5ckpt__sums_task_row(h5ckpt__io *io, const h5ckpt__task *t, size_t k,
                           uint64_t h)
{
    const h5ckpt_layout *l = &t->op->layout;

    h5ckpt__sums_row(&io->file->sums, t->op->path, l->ndim,
                     t->sel + k * 2 * (size_t)l->ndim, h);
}

int h5ckpt__sums_record(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    h5ckpt__sums *s = &io->file->sums;
    size_t i, k;

    for (i = 0; !h5ckpt__knobs_get()->checksums_off && i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        const h5ckpt__op *op = t->op;
        const h5ckpt_layout *l = &op->layout;
        size_t es = h5ckpt_dtype_size(op->dtype);

        if (l->ndim > s->maxnd)
            s->maxnd = l->ndim; /* identical on every rank: ops agree */
        /* Device memory is never read here: the fast executor hashes those
         * pieces from its staging as they pass (stage.c), and the plain one
         * sees host mirrors. */
        if (op->memkind == H5CKPT_MEM_CUDA)
            continue;
        for (k = 0; k < t->nsel; k++) {
            const uint64_t *box = t->sel + k * 2 * (size_t)l->ndim;
            uint64_t h;
            if (op->strided) /* one box: the whole local buffer */
                h = h5ckpt__hash_strided(op->data, l->local_ndim,
                                         l->local_shape, op->strides, es);
            else
                h = h5ckpt__hash_strided((const char *)op->data +
                                             t->memoff[k] * es,
                                         l->ndim, box + l->ndim, NULL, es);
            h5ckpt__sums_task_row(io, t, k, h);
        }
    }
    return s->rows.err ? h5ckpt__set(io->ctx, H5CKPT_ENOMEM,
                                     "out of memory for checksums")
                       : 0;
}



typedef struct {
    h5ckpt__io *io;
    const h5ckpt__task *t;
    hid_t dset, type; /* opened on first need */
} checker;

/* What a piece re-read from the file is compared with: the caller's
 * memory of one read box (its origin `base`, element `strides`). */
typedef struct {
    const uint64_t *box; /* offsets then counts */
    const char *base;
    const int64_t *strides;
    size_t es;
    int differs;
} delivered;

/*
 * h5ckpt__slice_fn: compare the elements a slice of the re-read piece
 * shares with the read box against what the read delivered.  Without it, a
 * read that covers a piece only partly would be checked against the file
 * alone, and wrong bytes delivered by the transfer itself (issue 13: a
 * collective H5Dread of overlapping selections under OMPIO) would pass.
 */
static void compare_slice(void *arg, int ndim, const hsize_t *start,
                          const hsize_t *count, const void *buf)
{
    delivered *v = arg;
    uint64_t lo[H5CKPT_MAX_NDIM], hi[H5CKPT_MAX_NDIM], idx[H5CKPT_MAX_NDIM];
    uint64_t srow[H5CKPT_MAX_NDIM], n, k;
    const char *s = buf;
    int d, last = ndim - 1;

    if (ndim == 0) {
        v->differs |= memcmp(v->base, buf, v->es) != 0;
        return;
    }
    for (d = 0; d < ndim; d++) {
        uint64_t bend = v->box[d] + v->box[ndim + d];
        lo[d] = start[d] > v->box[d] ? start[d] : v->box[d];
        hi[d] = start[d] + count[d] < bend ? start[d] + count[d] : bend;
        if (lo[d] >= hi[d])
            return; /* nothing in common */
        idx[d] = lo[d];
    }
    for (d = last; d >= 0; d--) /* row-major element strides of the slice */
        srow[d] = d == last ? 1 : srow[d + 1] * count[d + 1];
    n = hi[last] - lo[last];
    do {
        uint64_t so = 0;
        int64_t mo = 0;
        for (d = 0; d < ndim; d++) {
            so += (idx[d] - start[d]) * srow[d];
            mo += (int64_t)(idx[d] - v->box[d]) * v->strides[d];
        }
        if (v->strides[last] == 1) {
            v->differs |= memcmp(v->base + mo * (int64_t)v->es, s + so * v->es,
                                 n * v->es) != 0;
        } else {
            for (k = 0; k < n; k++)
                v->differs |= memcmp(v->base + (mo + (int64_t)k * v->strides[last]) *
                                                   (int64_t)v->es,
                                     s + (so + k) * v->es, v->es) != 0;
        }
        for (d = last - 1; d >= 0; d--) { /* odometer over dims < last */
            if (++idx[d] < hi[d])
                break;
            idx[d] = lo[d];
        }
    } while (d >= 0);
}

/* Check piece p against box `box` (memory `base`, element `strides`).
 * Adds the elements they share to *covered. */
static int check_piece(checker *c, const struct h5ckpt__piece *p,
                       const uint64_t *box, const char *base,
                       const int64_t *strides, uint64_t *covered)
{
    const h5ckpt__op *op = c->t->op;
    const h5ckpt_layout *l = &op->layout;
    size_t es = h5ckpt_dtype_size(op->dtype);
    uint64_t inter = 1, h = 0;
    int64_t at = 0;
    int d, inside = 1, rc;
    char text[400];
    delivered v = {box, base, strides, es, 0};

    if (p->ndim != l->ndim)
        return h5ckpt__set(c->io->ctx, H5CKPT_ECORRUPT,
                           "tensor '%s': a checksum row has %d dimensions, the tensor %d",
                           op->path, p->ndim, l->ndim);
    for (d = 0; d < l->ndim; d++) {
        uint64_t lo, hi, bend = box[d] + box[l->ndim + d];
        if (p->cnt[d] == 0 || p->off[d] > l->shape[d] ||
            p->cnt[d] > l->shape[d] - p->off[d])
            return h5ckpt__set(c->io->ctx, H5CKPT_ECORRUPT,
                               "tensor '%s': a checksum row's box lies outside it",
                               op->path);
        lo = p->off[d] > box[d] ? p->off[d] : box[d];
        hi = p->off[d] + p->cnt[d] < bend ? p->off[d] + p->cnt[d] : bend;
        if (lo >= hi)
            return 0; /* no common element */
        inter *= hi - lo;
        inside = inside && lo == p->off[d] && hi == p->off[d] + p->cnt[d];
        at += (int64_t)(p->off[d] - box[d]) * strides[d];
    }
    *covered += inter;
    /* a device buffer is never read by the host: hash the piece from the
     * file instead */
    if (inside && op->memkind != H5CKPT_MEM_CUDA) {
        h = h5ckpt__hash_strided(base + at * (int64_t)es, l->ndim, p->cnt,
                                 strides, es);
    } else {
        if (c->dset < 0 &&
            ((c->dset = H5Dopen2(c->io->file->fid, op->path, H5P_DEFAULT)) < 0 ||
             (c->type = H5Dget_type(c->dset)) < 0))
            return h5ckpt__set(c->io->ctx, H5CKPT_EIO, "cannot open tensor '%s'",
                               op->path);
        /* host buffers: the bytes delivered must be the piece's too */
        if ((rc = h5ckpt__hash_dataset_box_each(
                 c->dset, c->type, l->ndim, p->off, p->cnt, &h,
                 op->memkind == H5CKPT_MEM_CUDA ? NULL : compare_slice, &v)) != 0)
            return h5ckpt__set(c->io->ctx, rc, "tensor '%s': cannot read a piece to "
                                          "check its checksum", op->path);
        c->io->bytes_read += h5ckpt__volume(l->ndim, p->cnt, NULL) * es;
    }
    h5ckpt__box_text(l->ndim, p->off, p->cnt, text, sizeof text);
    if (h == p->hash && v.differs)
        return h5ckpt__set(c->io->ctx, H5CKPT_ECHECKSUM,
                           "tensor '%s': the data delivered for the piece %s "
                           "differs from the file's, which matches its checksum",
                           op->path, text);
    if (h == p->hash)
        return 0;
    return h5ckpt__set(c->io->ctx, H5CKPT_ECHECKSUM,
                       "tensor '%s': checksum mismatch in the piece %s",
                       op->path, text);
}

static int check_task(h5ckpt__io *io, const h5ckpt__task *t)
{
    const h5ckpt__op *op = t->op;
    const h5ckpt_layout *l = &op->layout;
    const h5ckpt__sums *s = &io->file->sums;
    size_t es = h5ckpt_dtype_size(op->dtype), first, end, j, k;
    uint64_t ph = h5ckpt__path_hash(op->path);
    checker c = {io, t, H5I_INVALID_HID, H5I_INVALID_HID};
    int64_t rm[H5CKPT_MAX_NDIM];
    char text[400];
    int d, rc = 0;

    h5ckpt__sums_find(s, ph, &first, &end);
    for (k = 0; rc == 0 && k < t->nsel; k++) {
        const uint64_t *box = t->sel + k * 2 * (size_t)l->ndim;
        uint64_t covered = 0, vol = h5ckpt__volume(l->ndim, box + l->ndim, NULL);
        const char *base = op->data;
        const int64_t *strides = rm;
        if (op->strided) {
            strides = op->strides; /* one box: the whole local buffer */
        } else {
            base += t->memoff[k] * es;
            for (d = l->ndim - 1; d >= 0; d--)
                rm[d] = d == l->ndim - 1 ? 1 : rm[d + 1] * (int64_t)box[l->ndim + d + 1];
        }
        for (j = first; rc == 0 && j < end; j++)
            rc = check_piece(&c, &s->pieces[j], box, base, strides, &covered);
        if (rc == 0 && covered != vol) {
            h5ckpt__box_text(l->ndim, box, box + l->ndim, text, sizeof text);
            rc = h5ckpt__set(io->ctx, covered < vol ? H5CKPT_ECHECKSUM : H5CKPT_ECORRUPT,
                             "tensor '%s': checksums cover %llu of the %llu "
                             "elements read in %s",
                             op->path, (unsigned long long)covered,
                             (unsigned long long)vol, text);
        }
    }
    if (c.type >= 0)
        H5Tclose(c.type);
    if (c.dset >= 0)
        H5Dclose(c.dset);
    return rc;
}

int h5ckpt__sums_check_reads(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    h5ckpt__h5quiet q;
    size_t i;
    int rc = 0;

    if (!io->file->sums.loaded)
        return 0; /* identical on every rank: a file without checksums */
    h5ckpt__h5quiet_begin(&q);
    for (i = 0; rc == 0 && i < plan->ntasks; i++)
        rc = check_task(io, &plan->tasks[i]);
    h5ckpt__h5quiet_end(&q);
    return h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
}
