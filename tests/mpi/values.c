/* Expected values and tensors under test (see values.h). */
#include "values.h"

#include <stdarg.h>
#include <stdlib.h>
/* ---- expected values ---------------------------------------------------- */

#define SIZE_OF(name, str, size) size,
const size_t elsize[H5CKPT_DTYPE_COUNT] = {H5CKPT_DTYPE_MAP(SIZE_OF)};
#undef SIZE_OF

/*
 * Bit pattern of element `g` (global flat index) of tensor `id`.  Floats are
 * exact values (or, for the 8/16-bit formats, bit patterns that avoid NaN and
 * Inf), so comparing bits is comparing values.
 */
uint64_t elem_bits(h5ckpt_dtype dt, uint64_t id, uint64_t g)
{
    uint64_t x = id * 1000003u + g, s = g & 1, h = x * 0x9E3779B97F4A7C15ull;
    uint64_t small = g * 7919u + id;
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;

    switch (dt) {
    case H5CKPT_BOOL:
        return g % 3 == 0;
    case H5CKPT_FLOAT16: /* exponent never all ones */
        return (small & 0x7BFFu) | s << 15;
    case H5CKPT_BFLOAT16:
        return (small & 0x7F7Fu) | s << 15;
    case H5CKPT_FLOAT8_E4M3FN: /* 0x7f/0xff are NaN */
        return small % 0x7Fu | s << 7;
    case H5CKPT_FLOAT8_E5M2: /* exponent 11111 is Inf/NaN */
        return small % 0x7Cu | s << 7;
    case H5CKPT_FLOAT32:
        f = ((float)(int32_t)(x % 16777216u) - 8388608.0f) / 4.0f;
        memcpy(&u32, &f, sizeof u32);
        return u32;
    case H5CKPT_FLOAT64:
        d = ((double)(x % (1ull << 52)) - 2251799813685248.0) / 8.0;
        memcpy(&u64, &d, sizeof u64);
        return u64;
    default: /* integers: any pattern, wrapped to the width of the type */
        return elsize[dt] == 8 ? h : h >> (64 - 8 * elsize[dt]);
    }
}

void put_bits(void *p, size_t es, uint64_t v)
{
    unsigned char *c = p;
    size_t i;

    for (i = 0; i < es; i++)
        c[i] = (unsigned char)(v >> (8 * i));
}

uint64_t get_bits(const void *p, size_t es)
{
    const unsigned char *c = p;
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < es; i++)
        v |= (uint64_t)c[i] << (8 * i);
    return v;
}

/* First mismatch seen, for the failure message. */
char bad_msg[400];

void note_bad(const char *fmt, ...)
{
    va_list ap;

    if (bad_msg[0])
        return;
    va_start(ap, fmt);
    vsnprintf(bad_msg, sizeof bad_msg, fmt, ap);
    va_end(ap);
}

uint64_t flat_index(int ndim, const uint64_t *shape, const uint64_t *at)
{
    uint64_t g = 0;
    int d;

    for (d = 0; d < ndim; d++)
        g = g * shape[d] + at[d];
    return g;
}

/* Advance a row-major multi-index over `count`; 0 when it wraps around. */
int next_index(int ndim, const uint64_t *count, uint64_t *idx)
{
    int d;

    for (d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < count[d])
            return 1;
        idx[d] = 0;
    }
    return 0;
}

/*
 * Global flat index of every element of the local buffer of `l`, in buffer
 * order: the boxes in order, each row-major (for a range layout the boxes are
 * in flat order, so this is the range itself).  Returns a malloc'd array and
 * the number of elements the boxes hold in *n.
 */
uint64_t *local_gidx(const h5ckpt_layout *l, int ndim,
                            const uint64_t *shape, uint64_t *n)
{
    uint64_t cap = h5ckpt_layout_local_count(l), k = 0;
    uint64_t *g = malloc((cap + 1) * sizeof *g);
    size_t b, nb = h5ckpt_layout_box_count(l);

    for (b = 0; b < nb; b++) {
        uint64_t off[H5CKPT_MAX_NDIM], cnt[H5CKPT_MAX_NDIM];
        uint64_t idx[H5CKPT_MAX_NDIM] = {0}, at[H5CKPT_MAX_NDIM], vol = 1;
        int d;

        h5ckpt_layout_box_at(l, b, off, cnt);
        for (d = 0; d < ndim; d++)
            vol *= cnt[d];
        if (vol == 0)
            continue;
        do {
            for (d = 0; d < ndim; d++)
                at[d] = off[d] + idx[d];
            if (k < cap)
                g[k] = flat_index(ndim, shape, at);
            k++;
        } while (next_index(ndim, cnt, idx));
    }
    *n = k;
    return g;
}

/* ---- tensors under test ------------------------------------------------- */


void tensor_init(tensor *t, h5ckpt_dtype dt, uint64_t id, int ndim,
                        const uint64_t *shape, const char *fmt, ...)
{
    va_list ap;

    memset(t, 0, sizeof *t);
    va_start(ap, fmt);
    vsnprintf(t->path, sizeof t->path, fmt, ap);
    va_end(ap);
    t->dt = dt;
    t->id = id;
    t->ndim = ndim;
    if (ndim > 0)
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
}

void tensor_release(tensor *t)
{
    h5ckpt_layout_free(t->l);
    free(t->buf);
    t->l = NULL;
    t->buf = NULL;
}


/* Local buffer for t->l: expected values (fill) or a poison pattern. */
int tensor_alloc(tensor *t, int fill)
{
    size_t es = elsize[t->dt];
    uint64_t n = h5ckpt_layout_local_count(t->l), k, i;
    uint64_t *g;

    free(t->buf);
    t->buf = NULL;
    g = local_gidx(t->l, t->ndim, t->shape, &k);
    if (k != n) {
        note_bad("%s: layout has local_count %llu but its boxes hold %llu",
                 t->path, (unsigned long long)n, (unsigned long long)k);
        free(g);
        return T_EBADLAYOUT;
    }
    if (n > 0) {
        t->buf = malloc(n * es);
        if (fill)
            for (i = 0; i < n; i++)
                put_bits((char *)t->buf + i * es, es,
                         elem_bits(t->dt, t->id, g[i]));
        else
            memset(t->buf, 0xA5, n * es);
    }
    free(g);
    return 0;
}

int tensor_put(h5ckpt *ck, tensor *t)
{
    int rc = tensor_alloc(t, 1);
    return rc ? rc : h5ckpt_tensor_put(ck, t->path, t->dt, t->l, t->buf, NULL);
}

int tensor_get(h5ckpt *ck, tensor *t)
{
    int rc = tensor_alloc(t, 0);
    return rc ? rc : h5ckpt_tensor_get(ck, t->path, t->dt, t->l, t->buf, NULL);
}

/* Number of local elements that differ from the expected values. */
uint64_t tensor_bad(const tensor *t)
{
    size_t es = elsize[t->dt];
    uint64_t n = h5ckpt_layout_local_count(t->l), k, i, bad = 0;
    uint64_t *g = local_gidx(t->l, t->ndim, t->shape, &k);

    if (k != n) {
        note_bad("%s: layout has local_count %llu but its boxes hold %llu",
                 t->path, (unsigned long long)n, (unsigned long long)k);
        free(g);
        return 1;
    }
    for (i = 0; i < n; i++) {
        uint64_t want = elem_bits(t->dt, t->id, g[i]);
        uint64_t got = get_bits((const char *)t->buf + i * es, es);
        if (want != got) {
            note_bad("%s: local element %llu (global %llu): expected 0x%llx, "
                     "got 0x%llx",
                     t->path, (unsigned long long)i, (unsigned long long)g[i],
                     (unsigned long long)want, (unsigned long long)got);
            bad++;
        }
    }
    free(g);
    return bad;
}

int tensors_flush_bad(h5ckpt *ck, const tensor *t, int n, uint64_t *bad)
{
    int rc = h5ckpt_flush(ck), i;

    for (i = 0; rc == 0 && i < n; i++)
        *bad += tensor_bad(&t[i]);
    return rc;
}

uint64_t tensor_bytes(const tensor *t)
{
    uint64_t n = elsize[t->dt];
    int d;

    for (d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* ---- strided buffers (test_roundtrip, test_cuda_roundtrip) ---- */

/* Fill (or check) a strided local buffer of box (off, cnt) of `t`.  Returns
 * the number of mismatches when checking. */
uint64_t strided_io(tensor *t, const uint64_t *off, const uint64_t *cnt,
                    const int64_t *strides, int fill)
{
    size_t es = elsize[t->dt];
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, at[H5CKPT_MAX_NDIM], vol = 1, bad = 0;
    int d;

    for (d = 0; d < t->ndim; d++)
        vol *= cnt[d];
    if (vol == 0)
        return 0;
    do {
        int64_t m = 0;
        uint64_t want, got;
        char *p;

        for (d = 0; d < t->ndim; d++) {
            at[d] = off[d] + idx[d];
            m += (int64_t)idx[d] * strides[d];
        }
        p = (char *)t->buf + m * (int64_t)es;
        want = elem_bits(t->dt, t->id, flat_index(t->ndim, t->shape, at));
        if (fill) {
            put_bits(p, es, want);
        } else if ((got = get_bits(p, es)) != want) {
            note_bad("%s: strided element at buffer offset %lld: expected "
                     "0x%llx, got 0x%llx",
                     t->path, (long long)m, (unsigned long long)want,
                     (unsigned long long)got);
            bad++;
        }
    } while (next_index(t->ndim, cnt, idx));
    return bad;
}

/* Allocate `span` elements of poison (or PAD for int32) for a strided part. */
void strided_alloc(tensor *t, uint64_t span)
{
    size_t es = elsize[t->dt];
    uint64_t i;

    free(t->buf);
    t->buf = span ? malloc(span * es) : NULL;
    for (i = 0; i < span; i++)
        put_bits((char *)t->buf + i * es, es,
                 t->dt == H5CKPT_INT32 ? PAD : 0xA5A5A5A5A5A5A5A5ull);
}

/* Number of padding elements (column >= 4 of rows of 6) that changed. */
uint64_t pad_bad(const tensor *t, uint64_t rows)
{
    uint64_t r, c, bad = 0;

    for (r = 0; r < rows; r++)
        for (c = 4; c < 6; c++)
            if (get_bits((const char *)t->buf + (r * 6 + c) * 4, 4) != PAD) {
                note_bad("%s: padding of row %llu overwritten", t->path,
                         (unsigned long long)r);
                bad++;
            }
    return bad;
}

void local_box(const h5ckpt_layout *l, int ndim, uint64_t *off,
                      uint64_t *cnt)
{
    int d;

    for (d = 0; d < ndim; d++)
        off[d] = cnt[d] = 0;
    if (h5ckpt_layout_box_count(l) > 0)
        h5ckpt_layout_box_at(l, 0, off, cnt);
}

/* channels_last strides of a (O, I, H, W) box: (I*H*W, 1, W*I, I); an
 * empty extent counts as 1 so that strides stay positive. */
void channels_last(const uint64_t *cnt, int64_t *st)
{
    uint64_t c[4];
    int d;

    for (d = 0; d < 4; d++)
        c[d] = cnt[d] ? cnt[d] : 1;
    st[0] = (int64_t)(c[1] * c[2] * c[3]);
    st[1] = 1;
    st[2] = (int64_t)(c[3] * c[1]);
    st[3] = (int64_t)c[1];
}

/* Elements a strided part spans from its start (0 when empty). */
uint64_t span_of(int ndim, const uint64_t *cnt, const int64_t *st)
{
    uint64_t s = 1;
    int d;

    for (d = 0; d < ndim; d++) {
        if (cnt[d] == 0)
            return 0;
        s += (cnt[d] - 1) * (uint64_t)st[d];
    }
    return s;
}

/* Collective: a 1-D mesh over all ranks of MPI_COMM_WORLD. */
h5ckpt_mesh *world_mesh(void)
{
    h5ckpt_mesh *m = NULL;
    h5ckpt_error err = {0, ""};

    T_ALL(h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, &err) == 0,
          "mesh_create: %s", err.message);
    return m;
}
