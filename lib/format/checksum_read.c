/*
 * Checksums, reader side: loading the table (rank 0 reads and validates it,
 * every rank receives it), and hashing a box of a dataset in bounded slices.
 * Checking a flush's reads is the io layer's (lib/io/sums.c).
 */
#include "format/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int h5ckpt__hash_dataset_box(hid_t dset, hid_t type, int ndim,
                             const uint64_t *off, const uint64_t *cnt,
                             uint64_t *out)
{
    return h5ckpt__hash_dataset_box_each(dset, type, ndim, off, cnt, out, NULL, NULL);
}

int h5ckpt__hash_dataset_box_each(hid_t dset, hid_t type, int ndim,
                                  const uint64_t *off, const uint64_t *cnt,
                                  uint64_t *out, h5ckpt__slice_fn fn, void *arg)
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
        size_t slice = h5ckpt__knobs_get()->slice_bytes
                           ? h5ckpt__knobs_get()->slice_bytes : (size_t)16 << 20;
        uint64_t lim = slice / es ? slice / es : 1;
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
                fn(arg, 0, NULL, NULL, buf);
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
            fn(arg, ndim, start, count, buf);
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

/* ---- loading ------------------------------------------------------------- */

static int cmp_piece(const void *a, const void *b)
{
    const struct h5ckpt__piece *x = a, *y = b;

    return x->path < y->path ? -1 : x->path > y->path;
}

/* Rank 0: the table of an open file into `b` as [has, nrows, width, rows],
 * validated by the one validator (validate.c), stopping at the first
 * problem. */
static int read_table(h5ckpt__ctx *ctx, h5ckpt__file *f, h5ckpt__buf *b)
{
    h5ckpt__check c = {0};
    hid_t d = H5I_INVALID_HID;
    uint64_t *rows = NULL, nrows = 0, w;
    int rc, maxnd = 0;

    c.stop = 1;
    if ((rc = h5ckpt__sumtab_check(f->fid, &c, &d, &nrows, &maxnd)) != 0)
        return h5ckpt__set(ctx, rc, "%s", c.msg);
    if (d < 0) { /* no table: a file written before checksums */
        h5ckpt__buf_u64(b, 0);
        return 0;
    }
    w = H5CKPT__SUM_WIDTH(maxnd);
    if (!(rows = malloc((nrows * w + 1) * sizeof *rows))) {
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for the checksum table");
        goto done;
    }
    if (nrows && H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         rows) < 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT, "cannot read the checksum table");
        goto done;
    }
    h5ckpt__buf_u64(b, 1);
    h5ckpt__buf_u64(b, nrows);
    h5ckpt__buf_u64(b, w);
    h5ckpt__buf_bytes(b, rows, nrows * w * sizeof *rows);
    if (b->err)
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for the checksum table");
done:
    free(rows);
    H5Dclose(d);
    return rc;
}

/* Every rank: index the received table. */
static int index_table(h5ckpt__ctx *ctx, h5ckpt__sums *s, h5ckpt__buf *b)
{
    uint64_t nrows, w, r, maxnd;

    s->loaded = (int)h5ckpt__buf_get_u64(b);
    if (!s->loaded)
        return 0;
    nrows = h5ckpt__buf_get_u64(b);
    w = h5ckpt__buf_get_u64(b);
    if (b->err || w < 3 || b->len - b->pos != nrows * w * 8)
        return h5ckpt__set(ctx, H5CKPT_ECORRUPT, "bad checksum table");
    maxnd = (w - 3) / 2;
    if (!(s->pieces = calloc(nrows + 1, sizeof *s->pieces)))
        return h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for the checksum table");
    /* The rows stay in the buffer, which the handle now owns. */
    s->tab = (uint64_t *)(void *)b->data;
    for (r = 0; r < nrows; r++) {
        const uint64_t *row = s->tab + 3 + r * w;
        struct h5ckpt__piece *p = &s->pieces[r];
        if (row[H5CKPT__SUM_NDIM] > maxnd)
            return h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                               "checksum row %llu has %llu dimensions",
                               (unsigned long long)r,
                               (unsigned long long)row[H5CKPT__SUM_NDIM]);
        p->path = row[H5CKPT__SUM_PATH];
        p->hash = row[H5CKPT__SUM_HASH];
        p->ndim = (int)row[H5CKPT__SUM_NDIM];
        p->off = row + H5CKPT__SUM_BOX;
        p->cnt = row + H5CKPT__SUM_BOX + maxnd;
    }
    s->npieces = (size_t)nrows;
    if (nrows)
        qsort(s->pieces, nrows, sizeof *s->pieces, cmp_piece);
    return 0;
}

int h5ckpt__sums_load(h5ckpt__ctx *ctx, h5ckpt__file *f)
{
    h5ckpt__sums *s = &f->sums;
    h5ckpt__buf b = {0};
    h5ckpt__h5quiet q;
    int rc = 0;

    h5ckpt__h5quiet_begin(&q);
    if (ctx->rank == 0)
        rc = read_table(ctx, f, &b);
    h5ckpt__h5quiet_end(&q);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        goto done;
    if ((rc = h5ckpt__buf_bcast(&b, 0, ctx->comm)) != 0)
        h5ckpt__set(ctx, rc, "cannot receive the checksum table");
    else if ((rc = index_table(ctx, s, &b)) == 0 && s->loaded)
        b.data = NULL; /* kept as s->tab */
    rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
done:
    if (b.data && s->tab == (uint64_t *)(void *)b.data)
        s->tab = NULL; /* failed after taking it: index_table's error */
    h5ckpt__buf_free(&b);
    return rc;
}

void h5ckpt__sums_find(const h5ckpt__sums *s, uint64_t path, size_t *first,
                       size_t *end)
{
    size_t lo = 0, hi = s->npieces;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->pieces[mid].path < path)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    while (lo < s->npieces && s->pieces[lo].path == path)
        lo++;
    *end = lo;
}
