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
    size_t b, nb = h5ckpt_layout_nboxes(l);

    for (b = 0; b < nb; b++) {
        uint64_t off[H5CKPT_MAX_NDIM], cnt[H5CKPT_MAX_NDIM];
        uint64_t idx[H5CKPT_MAX_NDIM] = {0}, at[H5CKPT_MAX_NDIM], vol = 1;
        int d;

        h5ckpt_layout_get_box(l, b, off, cnt);
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

uint64_t tensor_bytes(const tensor *t)
{
    uint64_t n = elsize[t->dt];
    int d;

    for (d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

