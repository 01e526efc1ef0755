/*
 * Checksums, reader side: loading the table (rank 0 reads and validates it;
 * every rank receives it, or only its place when its rows can stay in the
 * file: io/sums.c then fetches, per flush, the rows its reads touch, with
 * the slice reader and indexer below), and hashing a box of a dataset in
 * bounded slices.  Checking a flush's reads is the io layer's
 * (lib/io/sums.c).
 */
#include "format/format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

    if (x->path != y->path)
        return x->path < y->path ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off; /* the rows' order */
}

static int little_endian(void)
{
    const uint16_t one = 1;
    unsigned char c;

    memcpy(&c, &one, 1);
    return c == 1;
}

/* 1 if the rows of table `d` (dims validated) can be read with pread: a
 * contiguous extent that holds them all inside the file, on a host whose
 * integers are the file's (little-endian). */
static int lazy_ok(hid_t d, const hsize_t *dims, hsize_t fsize)
{
    haddr_t off = H5Dget_offset(d);
    hsize_t bytes = dims[0] * dims[1] * 8;

    return little_endian() && dims[0] > 0 && off != HADDR_UNDEF &&
           H5Dget_storage_size(d) == bytes && off <= fsize && fsize - off >= bytes;
}

/* Rank 0: the table of an open file into `b` as [has, nrows, width, rows],
 * or [2, nrows, width, offset] when its rows stay in the file (lazy_ok);
 * validated by the one validator (validate.c), stopping at the first
 * problem. */
static int read_table(h5ckpt__ctx *ctx, h5ckpt__file *f, h5ckpt__buf *b)
{
    h5ckpt__check c = {0};
    hid_t d = H5I_INVALID_HID;
    hsize_t dims[2], fsize = 0;
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
    dims[0] = nrows;
    dims[1] = w;
    if (H5Fget_filesize(f->fid, &fsize) < 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT, "cannot read the file's size");
        goto done;
    }
    if (lazy_ok(d, dims, fsize)) { /* rows stay in the file (io/sums.c) */
        h5ckpt__buf_u64(b, 2);
        h5ckpt__buf_u64(b, nrows);
        h5ckpt__buf_u64(b, w);
        h5ckpt__buf_u64(b, (uint64_t)H5Dget_offset(d));
        if (b->err)
            rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for the checksum table");
        goto done;
    }
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

/* Index `nrows` rows of width `w` at `rows` into s->pieces (sorted by
 * path hash, then in the rows' order).  `first` numbers rows in messages. */
static int index_rows(h5ckpt__ctx *ctx, h5ckpt__sums *s, const uint64_t *rows,
                      uint64_t nrows, uint64_t w, uint64_t first)
{
    uint64_t r, maxnd = (w - 3) / 2;

    if (!(s->pieces = calloc(nrows + 1, sizeof *s->pieces)))
        return h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for the checksum table");
    for (r = 0; r < nrows; r++) {
        const uint64_t *row = rows + r * w;
        struct h5ckpt__piece *p = &s->pieces[r];
        if (row[H5CKPT__SUM_NDIM] > maxnd)
            return h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                               "checksum row %llu has %llu dimensions",
                               (unsigned long long)(first + r),
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

/* Every rank: index the received table (or note where its rows are). */
static int index_table(h5ckpt__ctx *ctx, h5ckpt__sums *s, h5ckpt__buf *b)
{
    uint64_t nrows, w, has = h5ckpt__buf_get_u64(b);

    s->loaded = has != 0;
    if (!s->loaded)
        return 0;
    nrows = h5ckpt__buf_get_u64(b);
    w = h5ckpt__buf_get_u64(b);
    if (has == 2) {
        s->lazy = 1;
        s->lazy_rows = nrows;
        s->lazy_width = w;
        s->lazy_offset = h5ckpt__buf_get_u64(b);
        return b->err || w < 3 ? h5ckpt__set(ctx, H5CKPT_ECORRUPT, "bad checksum table") : 0;
    }
    if (b->err || w < 3 || b->len - b->pos != nrows * w * 8)
        return h5ckpt__set(ctx, H5CKPT_ECORRUPT, "bad checksum table");
    /* The rows stay in the buffer, which the handle now owns. */
    s->tab = (uint64_t *)(void *)b->data;
    return index_rows(ctx, s, s->tab + 3, nrows, w, 0);
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
    else if ((rc = index_table(ctx, s, &b)) == 0 && s->loaded && !s->lazy)
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

int h5ckpt__sums_read_slice(h5ckpt__ctx *ctx, const h5ckpt__file *f, uint64_t **rows,
                            uint64_t *first, uint64_t *n)
{
    const h5ckpt__sums *s = &f->sums;
    uint64_t w = s->lazy_width, N = s->lazy_rows, P = (uint64_t)ctx->size;
    uint64_t r = (uint64_t)ctx->rank, len, done = 0, i;
    uint64_t lo = N / P * r + N % P * r / P, hi = N / P * (r + 1) + N % P * (r + 1) / P;
    unsigned char *p;

    *first = lo;
    *n = hi - lo;
    if (!(*rows = malloc((*n * w + 1) * sizeof **rows)))
        return h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for checksum rows");
    p = (unsigned char *)*rows;
    len = *n * w * 8;
    while (done < len) {
        size_t want = len - done > (1u << 30) ? (1u << 30) : (size_t)(len - done);
        ssize_t k = pread(f->rawfd, p + done, want, (off_t)(s->lazy_offset + lo * w * 8 + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return h5ckpt__set(ctx, H5CKPT_EIO, "cannot read the checksum table: %s",
                               k < 0 ? strerror(errno) : "file too short");
        done += (uint64_t)k;
    }
    for (i = 0; i < *n; i++) /* as loading the whole table checks them */
        if ((*rows)[i * w + H5CKPT__SUM_NDIM] > (w - 3) / 2)
            return h5ckpt__set(ctx, H5CKPT_ECORRUPT, "checksum row %llu has %llu dimensions",
                               (unsigned long long)(lo + i),
                               (unsigned long long)(*rows)[i * w + H5CKPT__SUM_NDIM]);
    return 0;
}

int h5ckpt__sums_index(h5ckpt__ctx *ctx, h5ckpt__sums *s, uint64_t *rows, uint64_t n)
{
    int rc;

    h5ckpt__sums_drop(s);
    s->tab = rows;
    if ((rc = index_rows(ctx, s, rows, n, s->lazy_width, 0)) != 0)
        h5ckpt__sums_drop(s);
    return rc;
}

void h5ckpt__sums_drop(h5ckpt__sums *s)
{
    free(s->pieces);
    free(s->tab);
    s->pieces = NULL;
    s->tab = NULL;
    s->npieces = 0;
}
