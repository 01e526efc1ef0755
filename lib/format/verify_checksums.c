/*
 * Whole-file checksum verification for tools (serial, rank 0): every row of
 * the checksum table is validated, its piece hashed from the file and
 * compared; then every tensor must be covered exactly by its pieces.  Every
 * number read from the file is checked before use, and memory stays bounded
 * (rows are read in blocks, pieces in slices).
 */
#include "format/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK_ROWS = 4096, MAX_TENSORS = 1 << 24 };

typedef struct {
    char *path;
    uint64_t hash, volume, covered;
    int ndim, ok; /* ok: a plain numeric dataset whose bytes can be hashed */
    uint64_t shape[H5CKPT_MAX_NDIM];
} vtensor;

typedef struct {
    vtensor *v;
    size_t n, cap;
    int rc;
} vlist;

typedef struct {
    void (*report)(void *, const char *, const char *);
    void *ctx;
    int rc; /* worst outcome so far */
} reporter;

static void say(reporter *r, int code, const char *obj, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(reporter *r, int code, const char *obj, const char *fmt, ...)
{
    char msg[H5CKPT_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->report)
        r->report(r->ctx, obj, msg);
    /* ECORRUPT (the table itself is bad) outranks ECHECKSUM */
    if (r->rc == 0 || code == H5CKPT_ECORRUPT)
        r->rc = code;
}

/* Adapter: the validator's problems, ranked as this file ranks its own. */
static void say_problem(void *ctx, int code, const char *object, const char *message)
{
    say(ctx, code, *object == '/' && !object[1] ? "" : object, "%s", message);
}

static herr_t on_link(hid_t root, const char *name, const H5L_info_t *info,
                      void *data)
{
    vlist *l = data;
    vtensor t;
    H5O_info_t oi;
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, ty = H5I_INVALID_HID;
    hsize_t dims[H5CKPT_MAX_NDIM];
    H5T_class_t cls;
    int nd, i, overflow = 0;

    if (info->type != H5L_TYPE_HARD || !strcmp(name, H5CKPT_CHECKSUM_TABLE) ||
        H5Oget_info_by_name(root, name, &oi, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_DATASET)
        return 0;
    if (l->n == MAX_TENSORS) {
        l->rc = H5CKPT_ENOMEM;
        return -1;
    }
    memset(&t, 0, sizeof t);
    if ((d = H5Dopen2(root, name, H5P_DEFAULT)) >= 0 &&
        (sp = H5Dget_space(d)) >= 0 && (ty = H5Dget_type(d)) >= 0 &&
        (nd = H5Sget_simple_extent_ndims(sp)) >= 0 && nd <= H5CKPT_MAX_NDIM &&
        H5Sget_simple_extent_dims(sp, dims, NULL) == nd) {
        cls = H5Tget_class(ty);
        t.ndim = nd;
        for (i = 0; i < nd; i++)
            t.shape[i] = dims[i];
        t.volume = h5ckpt__volume(nd, t.shape, &overflow);
        t.ok = !overflow && H5Tget_size(ty) > 0 && H5Tget_size(ty) <= 16 &&
               (cls == H5T_INTEGER || cls == H5T_FLOAT || cls == H5T_ENUM);
    }
    if (ty >= 0)
        H5Tclose(ty);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        vtensor *p = realloc(l->v, cap * sizeof *p);
        if (!p) {
            l->rc = H5CKPT_ENOMEM;
            return -1;
        }
        l->v = p;
        l->cap = cap;
    }
    if (!(t.path = h5ckpt__strdup(name))) {
        l->rc = H5CKPT_ENOMEM;
        return -1;
    }
    t.hash = h5ckpt__path_hash(name);
    l->v[l->n++] = t;
    return 0;
}

static int cmp_vtensor(const void *a, const void *b)
{
    const vtensor *x = a, *y = b;

    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static vtensor *find(vlist *l, uint64_t hash)
{
    vtensor key;

    key.hash = hash;
    return l->n ? bsearch(&key, l->v, l->n, sizeof *l->v, cmp_vtensor) : NULL;
}

/* Check one table row (number r) against the file. */
static void check_row(hid_t fid, vlist *l, reporter *rep, const uint64_t *row,
                      uint64_t r, uint64_t maxnd, size_t *nchecked)
{
    const uint64_t *off = row + H5CKPT__SUM_BOX, *cnt = off + maxnd;
    vtensor *t = find(l, row[H5CKPT__SUM_PATH]);
    hid_t d = H5I_INVALID_HID, ty = H5I_INVALID_HID;
    uint64_t h = 0, vol;
    char box[400];
    int dd, overflow = 0, rc;

    if (!t) {
        say(rep, H5CKPT_ECORRUPT, "",
            "checksum row %llu names no tensor of the file (path hash %016llx)",
            (unsigned long long)r, (unsigned long long)row[H5CKPT__SUM_PATH]);
        return;
    }
    if (row[H5CKPT__SUM_NDIM] != (uint64_t)t->ndim || !t->ok) {
        say(rep, H5CKPT_ECORRUPT, t->path,
            "checksum row %llu has %llu dimensions for a %d-d tensor, or the "
            "tensor's data cannot be hashed",
            (unsigned long long)r, (unsigned long long)row[H5CKPT__SUM_NDIM],
            t->ndim);
        return;
    }
    for (dd = 0; dd < t->ndim; dd++)
        if (cnt[dd] == 0 || off[dd] > t->shape[dd] ||
            cnt[dd] > t->shape[dd] - off[dd]) {
            say(rep, H5CKPT_ECORRUPT, t->path,
                "checksum row %llu: its box lies outside the tensor or is empty",
                (unsigned long long)r);
            return;
        }
    vol = h5ckpt__volume(t->ndim, cnt, &overflow);
    h5ckpt__box_text(t->ndim, off, cnt, box, sizeof box);
    if ((d = H5Dopen2(fid, t->path, H5P_DEFAULT)) < 0 ||
        (ty = H5Dget_type(d)) < 0 ||
        (rc = h5ckpt__hash_dataset_box(d, ty, t->ndim, off, cnt, &h)) != 0) {
        say(rep, H5CKPT_ECHECKSUM, t->path, "cannot read the piece %s", box);
    } else {
        ++*nchecked;
        t->covered += vol;
        if (h != row[H5CKPT__SUM_HASH])
            say(rep, H5CKPT_ECHECKSUM, t->path,
                "checksum mismatch in the piece %s (stored %016llx, data "
                "%016llx)",
                box, (unsigned long long)row[H5CKPT__SUM_HASH],
                (unsigned long long)h);
    }
    if (ty >= 0)
        H5Tclose(ty);
    if (d >= 0)
        H5Dclose(d);
}

/* Read rows [first, first+n) of the table (width w) into rows. */
static int read_rows(hid_t d, uint64_t first, uint64_t n, uint64_t w,
                     uint64_t *rows)
{
    hsize_t start[2] = {first, 0}, count[2] = {n, w}, m = n * w;
    hid_t fsp = H5Dget_space(d), msp = H5Screate_simple(1, &m, NULL);
    int rc = 0;

    if (fsp < 0 || msp < 0 ||
        H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(d, H5T_NATIVE_UINT64, msp, fsp, H5P_DEFAULT, rows) < 0)
        rc = -1;
    if (msp >= 0)
        H5Sclose(msp);
    if (fsp >= 0)
        H5Sclose(fsp);
    return rc;
}

int h5ckpt__verify_checksums(hid_t fid,
                             void (*report)(void *ctx, const char *object,
                                            const char *message),
                             void *ctx, size_t *nchecked)
{
    reporter rep = {report, ctx, 0};
    vlist l = {NULL, 0, 0, 0};
    h5ckpt__check c = {0};
    hid_t d = H5I_INVALID_HID;
    uint64_t nrows = 0, maxnd = 0, w, r, i, *rows = NULL;
    size_t k, checked = 0;
    h5ckpt__h5quiet q;
    int nd = 0;

    h5ckpt__h5quiet_begin(&q);
    /* the algorithm and the table's shape: the one validator (validate.c) */
    c.report = say_problem;
    c.ctx = &rep;
    if (h5ckpt__sumtab_check(fid, &c, &d, &nrows, &nd) != 0)
        goto done;
    if (d < 0) {
        say(&rep, H5CKPT_ENOTFOUND, "",
            "no checksums: the file was written without a checksum table");
        goto done;
    }
    maxnd = (uint64_t)nd;
    w = H5CKPT__SUM_WIDTH(maxnd);
    if (H5Lvisit(fid, H5_INDEX_NAME, H5_ITER_INC, on_link, &l) < 0 || l.rc) {
        say(&rep, l.rc ? l.rc : H5CKPT_ECORRUPT, "", "cannot list the tensors");
        goto done;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_vtensor);
    for (k = 1; k < l.n; k++)
        if (l.v[k].hash == l.v[k - 1].hash)
            say(&rep, H5CKPT_ECORRUPT, l.v[k].path,
                "its path hash equals that of '%s'; its checksums are ambiguous",
                l.v[k - 1].path);
    if (!(rows = malloc(BLOCK_ROWS * w * sizeof *rows))) {
        say(&rep, H5CKPT_ENOMEM, "", "out of memory");
        goto done;
    }
    for (r = 0; r < nrows; r += BLOCK_ROWS) {
        uint64_t n = nrows - r < BLOCK_ROWS ? nrows - r : BLOCK_ROWS;
        if (read_rows(d, r, n, w, rows) != 0) {
            say(&rep, H5CKPT_ECORRUPT, "", "cannot read checksum rows %llu..%llu",
                (unsigned long long)r, (unsigned long long)(r + n));
            goto done;
        }
        for (i = 0; i < n; i++)
            check_row(fid, &l, &rep, rows + i * w, r + i, maxnd, &checked);
    }
    for (k = 0; k < l.n; k++)
        if (l.v[k].ok && l.v[k].covered != l.v[k].volume)
            say(&rep, l.v[k].covered > l.v[k].volume ? H5CKPT_ECORRUPT
                                                     : H5CKPT_ECHECKSUM,
                l.v[k].path,
                "checksums cover %llu of its %llu elements",
                (unsigned long long)l.v[k].covered,
                (unsigned long long)l.v[k].volume);
done:
    if (nchecked)
        *nchecked = checked;
    free(rows);
    for (k = 0; k < l.n; k++)
        free(l.v[k].path);
    free(l.v);
    if (d >= 0)
        H5Dclose(d);
    h5ckpt__h5quiet_end(&q);
    return rep.rc;
}
