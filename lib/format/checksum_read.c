/*
 * Checksums, reader side: loading the table (rank 0 reads and validates it,
 * every rank receives it) and checking, after a flush's reads, every written
 * piece that the reads touched.  A piece that lies inside a box the rank
 * read is hashed from the caller's buffer; a piece that the box only partly
 * covers is read again from the file, whole, in bounded slices.
 */
#include "h5ckpt_private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

size_t h5ckpt__slice_bytes = 16 << 20;

int h5ckpt__hash_dataset_box(hid_t dset, hid_t type, int ndim,
                             const uint64_t *off, const uint64_t *cnt,
                             uint64_t *out)
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
        if (msp < 0 || H5Dread(dset, type, msp, fsp, H5P_DEFAULT, buf) < 0)
            rc = H5CKPT_EIO;
        else
            XXH3_64bits_update(st, buf, es);
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
 * or [2, nrows, width, offset] when its rows stay in the file (lazy_ok). */
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
    if (lazy_ok(d, dims, fsize)) { /* rows stay in the file (fetch_rows) */
        h5ckpt__buf_u64(b, 2);
        h5ckpt__buf_u64(b, dims[0]);
        h5ckpt__buf_u64(b, dims[1]);
        h5ckpt__buf_u64(b, (uint64_t)H5Dget_offset(d));
        if (b->err)
            rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory for the checksum table");
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

/* Index `nrows` rows of width `w` at `rows` into ck->pieces (sorted by
 * path hash, then by the rows' contents: a deterministic order).  `first`
 * numbers the rows in messages. */
static int index_rows(h5ckpt *ck, const uint64_t *rows, uint64_t nrows, uint64_t w,
                      uint64_t first)
{
    uint64_t r, maxnd = (w - 3) / 2;

    if (!(ck->pieces = calloc(nrows + 1, sizeof *ck->pieces)))
        return h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory for the checksum table");
    for (r = 0; r < nrows; r++) {
        const uint64_t *row = rows + r * w;
        struct h5ckpt__piece *p = &ck->pieces[r];
        if (row[H5CKPT__SUM_NDIM] > maxnd)
            return h5ckpt__set(ck, H5CKPT_ECORRUPT,
                               "checksum row %llu has %llu dimensions",
                               (unsigned long long)(first + r),
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

/* Every rank: index the received table (or note where its rows are). */
static int index_table(h5ckpt *ck, h5ckpt__buf *b)
{
    uint64_t nrows, w, has = h5ckpt__buf_get_u64(b);

    ck->has_sums = has != 0;
    if (!ck->has_sums)
        return 0;
    nrows = h5ckpt__buf_get_u64(b);
    w = h5ckpt__buf_get_u64(b);
    if (has == 2) {
        ck->sum_lazy = 1;
        ck->sum_nrows = nrows;
        ck->sum_width = w;
        ck->sum_offset = h5ckpt__buf_get_u64(b);
        return b->err || w < 3 ? h5ckpt__set(ck, H5CKPT_ECORRUPT, "bad checksum table") : 0;
    }
    if (b->err || w < 3 || b->len - b->pos != nrows * w * 8)
        return h5ckpt__set(ck, H5CKPT_ECORRUPT, "bad checksum table");
    /* The rows stay in the buffer, which the handle now owns. */
    ck->sumtab = (uint64_t *)(void *)b->data;
    return index_rows(ck, ck->sumtab + 3, nrows, w, 0);
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
    else if ((rc = index_table(ck, &b)) == 0 && ck->has_sums && !ck->sum_lazy)
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
        if ((rc = h5ckpt__hash_dataset_box(c->dset, c->type, l->ndim, p->off,
                                           p->cnt, &h)) != 0)
            return h5ckpt__set(c->ck, rc, "tensor '%s': cannot read a piece to "
                                          "check its checksum", op->path);
        c->ck->bytes_read += h5ckpt__volume(l->ndim, p->cnt, NULL) * es;
    }
    if (h == p->hash)
        return 0;
    h5ckpt__box_text(l->ndim, p->off, p->cnt, text, sizeof text);
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

/* ---- fetching the rows a flush needs (a table left in the file) ----------
 *
 * With rows broadcast at open, every rank of a verifying reader held the
 * whole table: one row per written piece, O(ranks x tensors) rows for
 * FSDP-like layouts (docs/SCALING.md).  Instead, each flush that checks:
 *  1. rank r reads rows [N r/P, N (r+1)/P) of the table with pread (and
 *     checks their ndim, as loading at open did);
 *  2. every row goes to its path's home, rank (path hash mod P);
 *  3. every rank sends each home a request per box it read of the home's
 *     tensors: [path hash, ndim, shape, box];
 *  4. the home answers each request with the rows of that path that
 *     overlap the box, and those that do not fit the tensor (so the reader
 *     reports them as before); rows are sorted by their first offset, and a
 *     running maximum of their ends finds the first candidate by bisection;
 *  5. each rank indexes the rows it received (duplicates removed) and
 *     checks its reads exactly as with a table loaded whole.
 * A rank holds its slice, its home's rows and the rows that touch its
 * reads: O(N/P + T) rather than O(N).  Three MPI_Alltoallv (homes.c).
 */

/* A home's view of one path's rows, for one tensor shape. */
typedef struct {
    const uint64_t **valid; /* rows that fit, sorted by first offset */
    uint64_t *maxend;       /* running maximum of their first-dimension end */
    size_t nvalid;
    const uint64_t **bad;   /* rows that do not fit the tensor */
    size_t nbad;
} run_view;

static size_t g_w; /* qsort has no context argument (rows of width g_w) */

static int cmp_row_ptr(const void *a, const void *b)
{
    const uint64_t *x = *(const uint64_t *const *)a, *y = *(const uint64_t *const *)b;
    size_t i;

    if (x[H5CKPT__SUM_PATH] != y[H5CKPT__SUM_PATH])
        return x[H5CKPT__SUM_PATH] < y[H5CKPT__SUM_PATH] ? -1 : 1;
    if (x[H5CKPT__SUM_BOX] != y[H5CKPT__SUM_BOX]) /* first offset */
        return x[H5CKPT__SUM_BOX] < y[H5CKPT__SUM_BOX] ? -1 : 1;
    for (i = 0; i < g_w; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

static int cmp_row(const void *a, const void *b)
{
    return memcmp(a, b, g_w * sizeof(uint64_t)) == 0 ? 0 : cmp_row_ptr(&a, &b);
}

/* 1 if a row fits a tensor of `ndim`/`shape` (check_piece's checks). */
static int row_fits(const uint64_t *row, size_t maxnd, uint64_t ndim, const uint64_t *shape)
{
    uint64_t d;

    if (row[H5CKPT__SUM_NDIM] != ndim)
        return 0;
    for (d = 0; d < ndim; d++) {
        uint64_t off = row[H5CKPT__SUM_BOX + d], cnt = row[H5CKPT__SUM_BOX + maxnd + d];
        if (cnt == 0 || off > shape[d] || cnt > shape[d] - off)
            return 0;
    }
    return 1;
}

/* 1 if a fitting row shares an element with box (off, cnt). */
static int row_meets(const uint64_t *row, size_t maxnd, uint64_t ndim, const uint64_t *off,
                     const uint64_t *cnt)
{
    uint64_t d;

    for (d = 0; d < ndim; d++) {
        uint64_t ro = row[H5CKPT__SUM_BOX + d], re = ro + row[H5CKPT__SUM_BOX + maxnd + d];
        if (ro >= off[d] + cnt[d] || re <= off[d])
            return 0;
    }
    return 1;
}

/* Build the view of rows [lo, hi) of `sorted` (one path) for a tensor of
 * `ndim`/`shape`.  Returns 0 or -1 (no memory). */
static int make_view(run_view *v, const uint64_t **sorted, size_t lo, size_t hi,
                     size_t maxnd, uint64_t ndim, const uint64_t *shape)
{
    size_t i;

    memset(v, 0, sizeof *v);
    if (!(v->valid = malloc((hi - lo + 1) * sizeof *v->valid)) ||
        !(v->maxend = malloc((hi - lo + 1) * sizeof *v->maxend)) ||
        !(v->bad = malloc((hi - lo + 1) * sizeof *v->bad)))
        return -1;
    for (i = lo; i < hi; i++) {
        const uint64_t *row = sorted[i];
        if (!row_fits(row, maxnd, ndim, shape)) {
            v->bad[v->nbad++] = row;
            continue;
        }
        v->valid[v->nvalid] = row;
        if (ndim > 0) {
            uint64_t e = row[H5CKPT__SUM_BOX] + row[H5CKPT__SUM_BOX + maxnd];
            v->maxend[v->nvalid] = v->nvalid && v->maxend[v->nvalid - 1] > e
                                       ? v->maxend[v->nvalid - 1] : e;
        }
        v->nvalid++;
    }
    return 0;
}

static void free_view(run_view *v)
{
    free(v->valid);
    free(v->maxend);
    free(v->bad);
    memset(v, 0, sizeof *v);
}

/* Rank r's slice of the table: rows [*first, *first + *n), read with
 * pread, their ndim checked. */
static int read_slice(h5ckpt *ck, uint64_t **rows, uint64_t *first, uint64_t *n)
{
    uint64_t w = ck->sum_width, N = ck->sum_nrows, P = (uint64_t)ck->size, r = (uint64_t)ck->rank;
    uint64_t lo = N / P * r + (N % P) * r / P, hi = N / P * (r + 1) + (N % P) * (r + 1) / P;
    uint64_t len, done = 0, i;
    unsigned char *p;

    *first = lo;
    *n = hi - lo;
    if (!(*rows = malloc((*n * w + 1) * sizeof **rows)))
        return h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory for checksum rows");
    p = (unsigned char *)*rows;
    len = *n * w * 8;
    while (done < len) {
        ssize_t k = pread(ck->rawfd, p + done, (size_t)(len - done > (1u << 30) ? (1u << 30)
                                                                                : len - done),
                          (off_t)(ck->sum_offset + lo * w * 8 + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return h5ckpt__set(ck, H5CKPT_EIO, "cannot read the checksum table: %s",
                               k < 0 ? strerror(errno) : "file too short");
        done += (uint64_t)k;
    }
    for (i = 0; i < *n; i++)
        if ((*rows)[i * w + H5CKPT__SUM_NDIM] > (w - 3) / 2)
            return h5ckpt__set(ck, H5CKPT_ECORRUPT, "checksum row %llu has %llu dimensions",
                               (unsigned long long)(lo + i),
                               (unsigned long long)(*rows)[i * w + H5CKPT__SUM_NDIM]);
    return 0;
}

/* Every rank: its requests, [path hash, ndim, shape, off, cnt] per box
 * read, to the paths' homes. */
static int pack_requests(h5ckpt *ck, const h5ckpt__plan *plan, int *sc, uint64_t **out)
{
    size_t i, k, tot = 0, *pos = NULL;
    int r, P = ck->size, d;

    memset(sc, 0, (size_t)P * sizeof *sc);
    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        size_t words = 2 + 3 * (size_t)t->op->layout.ndim;
        uint64_t home = h5ckpt__path_hash(t->op->path) % (uint64_t)P;
        if (t->nsel * words > (size_t)INT_MAX - (size_t)sc[home])
            return h5ckpt__set(ck, H5CKPT_EINVAL, "too many boxes in one flush");
        sc[home] += (int)(t->nsel * words);
        tot += t->nsel * words;
    }
    if (!(*out = malloc((tot + 1) * sizeof **out)) || !(pos = malloc((size_t)P * sizeof *pos)))
        return h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    for (r = 0, tot = 0; r < P; r++)
        pos[r] = tot, tot += (size_t)sc[r];
    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        const h5ckpt_layout *l = &t->op->layout;
        uint64_t ph = h5ckpt__path_hash(t->op->path);
        uint64_t *o;
        for (k = 0; k < t->nsel; k++) {
            o = *out + pos[ph % (uint64_t)P];
            o[0] = ph;
            o[1] = (uint64_t)l->ndim;
            for (d = 0; d < l->ndim; d++)
                o[2 + d] = l->shape[d];
            memcpy(o + 2 + l->ndim, t->sel + k * 2 * (size_t)l->ndim,
                   2 * (size_t)l->ndim * sizeof *o);
            pos[ph % (uint64_t)P] += 2 + 3 * (size_t)l->ndim;
        }
    }
    free(pos);
    return 0;
}

/* Home: the answers to every request of `req` (counts/displs per source)
 * from the rows `hrows` (n of them), as rows to each source: *out, sc. */
static int answer(h5ckpt *ck, uint64_t *hrows, size_t n, const uint64_t *req, const int *rc_,
                  const int *rd, int *sc, uint64_t **out)
{
    size_t w = (size_t)ck->sum_width, maxnd = (w - 3) / 2, i, nout = 0, cap = 0;
    const uint64_t **sorted = NULL;
    uint64_t *o = NULL;
    int src, P = ck->size, rc = 0;

    memset(sc, 0, (size_t)P * sizeof *sc);
    if (!(sorted = malloc((n + 1) * sizeof *sorted)))
        return h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        sorted[i] = hrows + i * w;
    g_w = w;
    if (n)
        qsort(sorted, n, sizeof *sorted, cmp_row_ptr);
    for (src = 0; rc == 0 && src < P; src++) {
        size_t at = (size_t)rd[src], end = at + (size_t)rc_[src], before = nout;
        while (rc == 0 && at < end) {
            uint64_t ph, nd;
            const uint64_t *shape, *off, *cnt;
            size_t lo = 0, hi = n, j, first = 0, need;
            run_view v;
            if (at + 2 > end || (nd = req[at + 1]) > H5CKPT_MAX_NDIM ||
                at + 2 + 3 * nd > end) {
                rc = h5ckpt__set(ck, H5CKPT_EINVAL, "inconsistent checksum requests");
                break;
            }
            ph = req[at];
            shape = req + at + 2;
            off = shape + nd;
            cnt = off + nd;
            at += 2 + 3 * nd;
            while (lo < hi) { /* first row of the path */
                size_t mid = lo + (hi - lo) / 2;
                if (sorted[mid][H5CKPT__SUM_PATH] < ph)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (hi = lo; hi < n && sorted[hi][H5CKPT__SUM_PATH] == ph; hi++)
                ;
            if (make_view(&v, sorted, lo, hi, maxnd, nd, shape) != 0) {
                free_view(&v);
                rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
                break;
            }
            /* the first fitting row whose first dimension reaches the box */
            if (nd > 0) {
                size_t a = 0, b = v.nvalid;
                while (a < b) {
                    size_t mid = a + (b - a) / 2;
                    if (v.maxend[mid] <= off[0])
                        a = mid + 1;
                    else
                        b = mid;
                }
                first = a;
            }
            need = nout + v.nbad + v.nvalid - first;
            if (need > cap) {
                uint64_t *no = realloc(o, (need * 2 + 16) * w * sizeof *o);
                if (!no) {
                    free_view(&v);
                    rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
                    break;
                }
                o = no;
                cap = need * 2 + 16;
            }
            for (j = 0; j < v.nbad; j++) /* the reader reports them */
                memcpy(o + nout++ * w, v.bad[j], w * sizeof *o);
            for (j = first; j < v.nvalid; j++) {
                if (nd > 0 && v.valid[j][H5CKPT__SUM_BOX] >= off[0] + cnt[0])
                    break; /* sorted by first offset: none further meets it */
                if (row_meets(v.valid[j], maxnd, nd, off, cnt))
                    memcpy(o + nout++ * w, v.valid[j], w * sizeof *o);
            }
            free_view(&v);
        }
        if (rc == 0 && (nout - before) * w > (size_t)INT_MAX)
            rc = h5ckpt__set(ck, H5CKPT_EINVAL, "too many checksum rows in one flush");
        sc[src] = rc ? 0 : (int)((nout - before) * w);
    }
    free(sorted);
    if (rc)
        free(o), o = NULL;
    *out = o;
    return rc;
}

/* Collective (lazy tables): fetch the rows that this flush's reads need
 * into ck->pieces and ck->sumtab.  Agreed. */
static int fetch_rows(h5ckpt *ck, const h5ckpt__plan *plan)
{
    int P = ck->size, *sc = NULL, *sd = NULL, *rcnt = NULL, *rd = NULL, r, rc = 0;
    uint64_t *slice = NULL, *send = NULL, *hrows = NULL, *req = NULL, *mine = NULL;
    uint64_t first = 0, n = 0, w = ck->sum_width, i, k;
    size_t *pos = NULL, nh, nm;

    if (!(sc = calloc((size_t)P, sizeof *sc)) || !(sd = malloc((size_t)P * sizeof *sd)) ||
        !(rcnt = malloc((size_t)P * sizeof *rcnt)) || !(rd = malloc((size_t)P * sizeof *rd)) ||
        !(pos = malloc((size_t)P * sizeof *pos)))
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    if (rc == 0)
        rc = read_slice(ck, &slice, &first, &n);
    /* 2. rows to their paths' homes */
    for (i = 0; rc == 0 && i < n; i++) {
        uint64_t home = slice[i * w + H5CKPT__SUM_PATH] % (uint64_t)P;
        if ((uint64_t)sc[home] + w > (uint64_t)INT_MAX)
            rc = h5ckpt__set(ck, H5CKPT_EINVAL, "too many checksum rows in one flush");
        else
            sc[home] += (int)w;
    }
    if (rc == 0 && !(send = malloc((n * w + 1) * sizeof *send)))
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    for (r = 0, k = 0; rc == 0 && r < P; r++)
        pos[r] = (size_t)k, k += (uint64_t)sc[r];
    for (i = 0; rc == 0 && i < n; i++) {
        uint64_t home = slice[i * w + H5CKPT__SUM_PATH] % (uint64_t)P;
        memcpy(send + pos[home], slice + i * w, w * sizeof *send);
        pos[home] += w;
    }
    if ((rc = h5ckpt__alltoallv_u64(ck, rc, send, sc, sd, rcnt, rd, &hrows)) != 0)
        goto done;
    for (r = 0, nh = 0; r < P; r++)
        nh += (size_t)rcnt[r] / w;
    free(slice);
    free(send);
    slice = send = NULL;
    /* 3. requests to the homes */
    rc = pack_requests(ck, plan, sc, &send);
    if ((rc = h5ckpt__alltoallv_u64(ck, rc, send, sc, sd, rcnt, rd, &req)) != 0)
        goto done;
    free(send);
    send = NULL;
    /* 4. answers */
    rc = answer(ck, hrows, nh, req, rcnt, rd, sc, &send);
    if ((rc = h5ckpt__alltoallv_u64(ck, rc, send, sc, sd, rcnt, rd, &mine)) != 0)
        goto done;
    /* 5. this rank's rows, sorted, without duplicates, indexed */
    for (r = 0, nm = 0; r < P; r++)
        nm += (size_t)rcnt[r] / w;
    g_w = (size_t)w;
    if (nm)
        qsort(mine, nm, w * sizeof *mine, cmp_row);
    for (i = 0, k = 0; i < nm; i++)
        if (k == 0 || memcmp(mine + (k - 1) * w, mine + i * w, w * sizeof *mine) != 0)
            memmove(mine + k++ * w, mine + i * w, w * sizeof *mine);
    ck->sumtab = mine;
    mine = NULL;
    rc = index_rows(ck, ck->sumtab, k, w, 0);
    rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
done:
    if (rc) {
        free(ck->pieces);
        free(ck->sumtab);
        ck->pieces = NULL;
        ck->sumtab = NULL;
        ck->npieces = 0;
    }
    free(slice);
    free(send);
    free(hrows);
    free(req);
    free(mine);
    free(pos);
    free(sc);
    free(sd);
    free(rcnt);
    free(rd);
    return rc;
}

int h5ckpt__checksum_check_reads(h5ckpt *ck, const h5ckpt__plan *plan)
{
    h5ckpt__h5quiet q;
    size_t i;
    int rc = 0;

    if (!ck->has_sums)
        return 0; /* identical on every rank: a file without checksums */
    if (ck->sum_lazy && (rc = fetch_rows(ck, plan)) != 0) /* agreed */
        return rc;
    h5ckpt__h5quiet_begin(&q);
    for (i = 0; rc == 0 && i < plan->ntasks; i++)
        rc = check_task(ck, &plan->tasks[i]);
    h5ckpt__h5quiet_end(&q);
    if (ck->sum_lazy) { /* this flush's rows only */
        free(ck->pieces);
        free(ck->sumtab);
        ck->pieces = NULL;
        ck->sumtab = NULL;
        ck->npieces = 0;
    }
    return h5ckpt__agree(ck->comm, rc, ck->errmsg);
}
