/*
 * Checksums, reader side: loading the table (rank 0 reads and validates it,
 * every rank receives it) and checking, after a flush's reads, every written
 * piece that the reads touched.  A piece that lies inside a box the rank
 * read is hashed from the caller's buffer; a piece that the box only partly
 * covers is read again from the file, whole, in bounded slices, hashed, and
 * the part the box covers compared with what the read delivered.
 */
#include "h5ckpt_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

size_t h5ckpt__slice_bytes = 16 << 20;

/* Called with every slice hash_box reads: its box in the dataset (start,
 * count) and its elements, row-major. */
typedef void (*slice_fn)(void *ctx, int ndim, const hsize_t *start,
                         const hsize_t *count, const void *buf);

static int hash_box(hid_t dset, hid_t type, int ndim, const uint64_t *off,
                    const uint64_t *cnt, uint64_t *out, slice_fn fn, void *ctx)
{
    hsize_t start[H5CKPT_MAX_NDIM], count[H5CKPT_MAX_NDIM], n;
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, row = 1, step, pos = 0;
    size_t es = H5Tget_size(type);
    hid_t fsp = H5I_INVALID_HID, msp = H5I_INVALID_HID;
    XXH3_state_t *st = XXH3_createState();
    void *buf = NULL;
    int d, sd = 0, rc = 0;

    if (!st || es == 0 || es > 64)
        return st ? (XXH3_freeState(st), H5CKPT_EIO) : H5CKPT_ENOMEM;
    XXH3_64bits_reset(st);
    /* Slice along dimension sd, the first whose rows (the product of the
     * counts after it) fit the slice size; dimensions before sd advance one
     * index at a time, so slices come in row-major order. */
    if (ndim > 0) {
        uint64_t lim = h5ckpt__slice_bytes / es ? h5ckpt__slice_bytes / es : 1;
        if (h5ckpt__volume(ndim, cnt, NULL) == 0) {
            XXH3_freeState(st);
            return H5CKPT_EIO; /* no piece is empty */
        }
        sd = ndim - 1;
        while (sd > 0 && cnt[sd] <= lim / row) {
            row *= cnt[sd];
            sd--;
        }
        step = lim / row ? lim / row : 1;
        if (step > cnt[sd])
            step = cnt[sd];
    } else {
        step = 1;
    }
    n = ndim ? step * row : 1;
    if ((fsp = H5Dget_space(dset)) < 0 || !(buf = malloc(n * es))) {
        rc = fsp < 0 ? H5CKPT_EIO : H5CKPT_ENOMEM;
        goto done;
    }
    if (ndim == 0) {
        msp = H5Screate(H5S_SCALAR);
        if (msp < 0 || H5Dread(dset, type, msp, fsp, H5P_DEFAULT, buf) < 0) {
            rc = H5CKPT_EIO;
        } else {
            XXH3_64bits_update(st, buf, es);
            if (fn)
                fn(ctx, 0, NULL, NULL, buf);
        }
        goto done;
    }
    for (;;) {
        hsize_t take = cnt[sd] - pos < step ? cnt[sd] - pos : step;
        for (d = 0; d < ndim; d++) {
            start[d] = off[d] + (d < sd ? idx[d] : d == sd ? pos : 0);
            count[d] = d < sd ? 1 : d == sd ? take : cnt[d];
        }
        n = take * row;
        if ((msp = H5Screate_simple(1, &n, NULL)) < 0 ||
            H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(dset, type, msp, fsp, H5P_DEFAULT, buf) < 0) {
            rc = H5CKPT_EIO;
            goto done;
        }
        H5Sclose(msp);
        msp = H5I_INVALID_HID;
        XXH3_64bits_update(st, buf, n * es);
        if (fn)
            fn(ctx, ndim, start, count, buf);
        if ((pos += take) < cnt[sd])
            continue;
        pos = 0;
        for (d = sd - 1; d >= 0; d--) {
            if (++idx[d] < cnt[d])
                break;
            idx[d] = 0;
        }
        if (d < 0)
            break;
    }
done:
    if (rc == 0)
        *out = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    free(buf);
    if (msp >= 0)
        H5Sclose(msp);
    if (fsp >= 0)
        H5Sclose(fsp);
    return rc;
}

int h5ckpt__hash_dataset_box(hid_t dset, hid_t type, int ndim,
                             const uint64_t *off, const uint64_t *cnt,
                             uint64_t *out)
{
    return hash_box(dset, type, ndim, off, cnt, out, NULL, NULL);
}

/* ---- loading ------------------------------------------------------------- */

static int cmp_piece(const void *a, const void *b)
{
    const struct h5ckpt__piece *x = a, *y = b;

    return x->path < y->path ? -1 : x->path > y->path;
}

/* Rank 0: the table of an open file into `b` as [has, nrows, width, rows]. */
static int read_table(h5ckpt *ck, h5ckpt__buf *b)
{
    h5ckpt__attr a = {0};
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, ty = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    hsize_t fsize = 0;
    uint64_t *rows = NULL;
    int rc = 0;

    if (H5Aexists(ck->fid, H5CKPT_A_CHECKSUM_ALGO) <= 0) {
        h5ckpt__buf_u64(b, 0);
        return 0;
    }
    if (h5ckpt__attr_read(ck->fid, H5CKPT_A_CHECKSUM_ALGO, &a, ck->errmsg) != 0 ||
        a.type != H5CKPT_ATTR_STRING || a.count != 0) {
        rc = h5ckpt__set(ck, H5CKPT_ECORRUPT, "root attribute '%s' is not a string",
                         H5CKPT_A_CHECKSUM_ALGO);
        goto done;
    }
    if (strcmp(((char **)a.values)[0], H5CKPT_CHECKSUM_ALGO) != 0) {
        rc = h5ckpt__set(ck, H5CKPT_ENOTSUP, "unknown checksum algorithm '%.64s'",
                         ((char **)a.values)[0]);
        goto done;
    }
    if ((d = H5Dopen2(ck->fid, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT)) < 0 ||
        (sp = H5Dget_space(d)) < 0 || (ty = H5Dget_type(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 2 ||
        H5Sget_simple_extent_dims(sp, dims, NULL) != 2 ||
        H5Tget_class(ty) != H5T_INTEGER || H5Tget_size(ty) != 8 ||
        H5Tget_sign(ty) != H5T_SGN_NONE || dims[1] < 3 || (dims[1] - 3) % 2 ||
        (dims[1] - 3) / 2 > H5CKPT_MAX_NDIM ||
        H5Fget_filesize(ck->fid, &fsize) < 0 ||
        dims[0] > fsize / 8 / dims[1]) {
        rc = h5ckpt__set(ck, H5CKPT_ECORRUPT,
                         "the checksum table is missing or malformed");
        goto done;
    }
    if (!(rows = malloc((dims[0] * dims[1] + 1) * sizeof *rows))) {
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory for the checksum table");
        goto done;
    }
    if (dims[0] && H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           rows) < 0) {
        rc = h5ckpt__set(ck, H5CKPT_ECORRUPT, "cannot read the checksum table");
        goto done;
    }
    h5ckpt__buf_u64(b, 1);
    h5ckpt__buf_u64(b, dims[0]);
    h5ckpt__buf_u64(b, dims[1]);
    h5ckpt__buf_bytes(b, rows, dims[0] * dims[1] * sizeof *rows);
    if (b->err)
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory for the checksum table");
done:
    h5ckpt__attr_clear(&a);
    free(rows);
    if (ty >= 0)
        H5Tclose(ty);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

/* Every rank: index the received table. */
static int index_table(h5ckpt *ck, h5ckpt__buf *b)
{
    uint64_t nrows, w, r, maxnd;

    ck->has_sums = (int)h5ckpt__buf_get_u64(b);
    if (!ck->has_sums)
        return 0;
    nrows = h5ckpt__buf_get_u64(b);
    w = h5ckpt__buf_get_u64(b);
    if (b->err || w < 3 || b->len - b->pos != nrows * w * 8)
        return h5ckpt__set(ck, H5CKPT_ECORRUPT, "bad checksum table");
    maxnd = (w - 3) / 2;
    if (!(ck->pieces = calloc(nrows + 1, sizeof *ck->pieces)))
        return h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory for the checksum table");
    /* The rows stay in the buffer, which the handle now owns. */
    ck->sumtab = (uint64_t *)(void *)b->data;
    for (r = 0; r < nrows; r++) {
        const uint64_t *row = ck->sumtab + 3 + r * w;
        struct h5ckpt__piece *p = &ck->pieces[r];
        if (row[H5CKPT__SUM_NDIM] > maxnd)
            return h5ckpt__set(ck, H5CKPT_ECORRUPT,
                               "checksum row %llu has %llu dimensions",
                               (unsigned long long)r,
                               (unsigned long long)row[H5CKPT__SUM_NDIM]);
        p->path = row[H5CKPT__SUM_PATH];
        p->hash = row[H5CKPT__SUM_HASH];
        p->ndim = (int)row[H5CKPT__SUM_NDIM];
        p->off = row + H5CKPT__SUM_BOX;
        p->cnt = row + H5CKPT__SUM_BOX + maxnd;
    }
    ck->npieces = (size_t)nrows;
    if (nrows)
        qsort(ck->pieces, nrows, sizeof *ck->pieces, cmp_piece);
    return 0;
}

int h5ckpt__checksum_load(h5ckpt *ck)
{
    h5ckpt__buf b = {0};
    h5ckpt__h5quiet q;
    int rc = 0;

    h5ckpt__h5quiet_begin(&q);
    if (ck->rank == 0)
        rc = read_table(ck, &b);
    h5ckpt__h5quiet_end(&q);
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        goto done;
    if ((rc = h5ckpt__buf_bcast(&b, 0, ck->comm)) != 0)
        h5ckpt__set(ck, rc, "cannot receive the checksum table");
    else if ((rc = index_table(ck, &b)) == 0 && ck->has_sums)
        b.data = NULL; /* kept as ck->sumtab */
    rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
done:
    if (b.data && ck->sumtab == (uint64_t *)(void *)b.data)
        ck->sumtab = NULL; /* failed after taking it: index_table's error */
    h5ckpt__buf_free(&b);
    return rc;
}

/* ---- checking reads ------------------------------------------------------ */

/* First piece of `path` (pieces sorted by path hash). */
static size_t lower_bound(const h5ckpt *ck, uint64_t path)
{
    size_t lo = 0, hi = ck->npieces;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ck->pieces[mid].path < path)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct {
    h5ckpt *ck;
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
 * slice_fn: compare the elements a slice of the re-read piece shares with
 * the read box against what the read delivered.  Without it, a read that
 * covers a piece only partly would be checked against the file alone, and
 * wrong bytes delivered by the transfer itself (issue 13: a collective
 * H5Dread of overlapping selections under OMPIO) would pass unnoticed.
 */
static void compare_slice(void *ctx, int ndim, const hsize_t *start,
                          const hsize_t *count, const void *buf)
{
    delivered *v = ctx;
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
        return h5ckpt__set(c->ck, H5CKPT_ECORRUPT,
                           "tensor '%s': a checksum row has %d dimensions, the tensor %d",
                           op->path, p->ndim, l->ndim);
    for (d = 0; d < l->ndim; d++) {
        uint64_t lo, hi, bend = box[d] + box[l->ndim + d];
        if (p->cnt[d] == 0 || p->off[d] > l->shape[d] ||
            p->cnt[d] > l->shape[d] - p->off[d])
            return h5ckpt__set(c->ck, H5CKPT_ECORRUPT,
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
            ((c->dset = H5Dopen2(c->ck->fid, op->path, H5P_DEFAULT)) < 0 ||
             (c->type = H5Dget_type(c->dset)) < 0))
            return h5ckpt__set(c->ck, H5CKPT_EIO, "cannot open tensor '%s'",
                               op->path);
        /* host buffers: the bytes delivered must be the piece's too */
        if ((rc = hash_box(c->dset, c->type, l->ndim, p->off, p->cnt, &h,
                           op->memkind == H5CKPT_MEM_CUDA ? NULL : compare_slice,
                           &v)) != 0)
            return h5ckpt__set(c->ck, rc, "tensor '%s': cannot read a piece to "
                                          "check its checksum", op->path);
        c->ck->bytes_read += h5ckpt__volume(l->ndim, p->cnt, NULL) * es;
    }
    h5ckpt__box_text(l->ndim, p->off, p->cnt, text, sizeof text);
    if (h == p->hash && v.differs)
        return h5ckpt__set(c->ck, H5CKPT_ECHECKSUM,
                           "tensor '%s': the data delivered for the piece %s "
                           "differs from the file's, which matches its checksum",
                           op->path, text);
    if (h == p->hash)
        return 0;
    return h5ckpt__set(c->ck, H5CKPT_ECHECKSUM,
                       "tensor '%s': checksum mismatch in the piece %s",
                       op->path, text);
}

static int check_task(h5ckpt *ck, const h5ckpt__task *t)
{
    const h5ckpt__op *op = t->op;
    const h5ckpt_layout *l = &op->layout;
    size_t es = h5ckpt_dtype_size(op->dtype), first, j, k;
    uint64_t ph = h5ckpt__path_hash(op->path);
    checker c = {ck, t, H5I_INVALID_HID, H5I_INVALID_HID};
    int64_t rm[H5CKPT_MAX_NDIM];
    char text[400];
    int d, rc = 0;

    first = lower_bound(ck, ph);
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
        for (j = first; rc == 0 && j < ck->npieces && ck->pieces[j].path == ph; j++)
            rc = check_piece(&c, &ck->pieces[j], box, base, strides, &covered);
        if (rc == 0 && covered != vol) {
            h5ckpt__box_text(l->ndim, box, box + l->ndim, text, sizeof text);
            rc = h5ckpt__set(ck, covered < vol ? H5CKPT_ECHECKSUM : H5CKPT_ECORRUPT,
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

int h5ckpt__checksum_check_reads(h5ckpt *ck, const h5ckpt__plan *plan)
{
    h5ckpt__h5quiet q;
    size_t i;
    int rc = 0;

    if (!ck->has_sums)
        return 0; /* identical on every rank: a file without checksums */
    h5ckpt__h5quiet_begin(&q);
    for (i = 0; rc == 0 && i < plan->ntasks; i++)
        rc = check_task(ck, &plan->tasks[i]);
    h5ckpt__h5quiet_end(&q);
    return h5ckpt__agree(ck->comm, rc, ck->errmsg);
}
