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

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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
 * reads: O(N/P + T) rather than O(N).  Three exchanges (h5ckpt__alltoallv_u64, base/mpi.c).
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

/* Every rank: its requests, [path hash, ndim, shape, off, cnt] per box
 * read, to the paths' homes. */
static int pack_requests(h5ckpt__io *io, const h5ckpt__plan *plan, int *sc, uint64_t **out)
{
    size_t i, k, tot = 0, *pos = NULL;
    int r, P = io->ctx->size, d;

    memset(sc, 0, (size_t)P * sizeof *sc);
    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        size_t words = 2 + 3 * (size_t)t->op->layout.ndim;
        uint64_t home = h5ckpt__path_hash(t->op->path) % (uint64_t)P;
        if (t->nsel * words > (size_t)INT_MAX - (size_t)sc[home])
            return h5ckpt__set(io->ctx, H5CKPT_EINVAL, "too many boxes in one flush");
        sc[home] += (int)(t->nsel * words);
        tot += t->nsel * words;
    }
    if (!(*out = malloc((tot + 1) * sizeof **out)) || !(pos = malloc((size_t)P * sizeof *pos)))
        return h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
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
static int answer(h5ckpt__io *io, uint64_t *hrows, size_t n, const uint64_t *req, const int *rc_,
                  const int *rd, int *sc, uint64_t **out)
{
    size_t w = (size_t)io->file->sums.lazy_width, maxnd = (w - 3) / 2, i, nout = 0, cap = 0;
    const uint64_t **sorted = NULL;
    uint64_t *o = NULL;
    int src, P = io->ctx->size, rc = 0;

    memset(sc, 0, (size_t)P * sizeof *sc);
    if (!(sorted = malloc((n + 1) * sizeof *sorted)))
        return h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
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
                rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "inconsistent checksum requests");
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
                rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
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
                    rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
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
            rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "too many checksum rows in one flush");
        sc[src] = rc ? 0 : (int)((nout - before) * w);
    }
    free(sorted);
    if (rc)
        free(o), o = NULL;
    *out = o;
    return rc;
}

/* Collective (lazy tables): fetch the rows that this flush's reads need
 * into the file's sums (h5ckpt__sums_index).  Agreed. */
static int fetch_rows(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    int P = io->ctx->size, *sc = NULL, *sd = NULL, *rcnt = NULL, *rd = NULL, r, rc = 0;
    uint64_t *slice = NULL, *send = NULL, *hrows = NULL, *req = NULL, *mine = NULL;
    uint64_t first = 0, n = 0, w = io->file->sums.lazy_width, i, k;
    size_t *pos = NULL, nh, nm;

    if (!(sc = calloc((size_t)P, sizeof *sc)) || !(sd = malloc((size_t)P * sizeof *sd)) ||
        !(rcnt = malloc((size_t)P * sizeof *rcnt)) || !(rd = malloc((size_t)P * sizeof *rd)) ||
        !(pos = malloc((size_t)P * sizeof *pos)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if (rc == 0)
        rc = h5ckpt__sums_read_slice(io->ctx, io->file, &slice, &first, &n);
    /* 2. rows to their paths' homes */
    for (i = 0; rc == 0 && i < n; i++) {
        uint64_t home = slice[i * w + H5CKPT__SUM_PATH] % (uint64_t)P;
        if ((uint64_t)sc[home] + w > (uint64_t)INT_MAX)
            rc = h5ckpt__set(io->ctx, H5CKPT_EINVAL, "too many checksum rows in one flush");
        else
            sc[home] += (int)w;
    }
    if (rc == 0 && !(send = malloc((n * w + 1) * sizeof *send)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (r = 0, k = 0; rc == 0 && r < P; r++)
        pos[r] = (size_t)k, k += (uint64_t)sc[r];
    for (i = 0; rc == 0 && i < n; i++) {
        uint64_t home = slice[i * w + H5CKPT__SUM_PATH] % (uint64_t)P;
        memcpy(send + pos[home], slice + i * w, w * sizeof *send);
        pos[home] += w;
    }
    if ((rc = h5ckpt__alltoallv_u64(io->ctx, rc, send, sc, sd, rcnt, rd, &hrows)) != 0)
        goto done;
    for (r = 0, nh = 0; r < P; r++)
        nh += (size_t)rcnt[r] / w;
    free(slice);
    free(send);
    slice = send = NULL;
    /* 3. requests to the homes */
    rc = pack_requests(io, plan, sc, &send);
    if ((rc = h5ckpt__alltoallv_u64(io->ctx, rc, send, sc, sd, rcnt, rd, &req)) != 0)
        goto done;
    free(send);
    send = NULL;
    /* 4. answers */
    rc = answer(io, hrows, nh, req, rcnt, rd, sc, &send);
    if ((rc = h5ckpt__alltoallv_u64(io->ctx, rc, send, sc, sd, rcnt, rd, &mine)) != 0)
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
    rc = h5ckpt__sums_index(io->ctx, &io->file->sums, mine, k); /* takes `mine` */
    mine = NULL;
    rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
done:
    if (rc)
        h5ckpt__sums_drop(&io->file->sums);
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

int h5ckpt__sums_check_reads(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    h5ckpt__h5quiet q;
    size_t i;
    int rc = 0;

    if (!io->file->sums.loaded)
        return 0; /* identical on every rank: a file without checksums */
    if (io->file->sums.lazy && (rc = fetch_rows(io, plan)) != 0) /* agreed */
        return rc;
    h5ckpt__h5quiet_begin(&q);
    for (i = 0; rc == 0 && i < plan->ntasks; i++)
        rc = check_task(io, &plan->tasks[i]);
    h5ckpt__h5quiet_end(&q);
    if (io->file->sums.lazy) /* this flush's rows only */
        h5ckpt__sums_drop(&io->file->sums);
    return h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
}
