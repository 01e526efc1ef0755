/* Packing strided local buffers to row-major and back (pure). */
#include "layout/layout.h"

#include <string.h>

int h5ckpt__strided_span(int ndim, const uint64_t *shape,
                         const int64_t *strides, uint64_t *span)
{
    uint64_t s = 1;
    int d;

    for (d = 0; d < ndim; d++) {
        if (strides[d] <= 0)
            return H5CKPT_EINVAL;
        if (shape[d] == 0) {
            *span = 0;
            return 0;
        }
        s += (shape[d] - 1) * (uint64_t)strides[d];
    }
    *span = s;
    return 0;
}

/* Copy between a strided array and a packed one; dir 0 packs, 1 unpacks. */
static void copy(void *packed, void *strided, int ndim, const uint64_t *shape,
                 const int64_t *strides, size_t es, int dir)
{
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, total;
    unsigned char *p = packed, *s = strided;
    uint64_t inner, step;
    int d, last = ndim - 1;

    if (ndim == 0) {
        if (dir == 0)
            memcpy(p, s, es);
        else
            memcpy(s, p, es);
        return;
    }
    total = h5ckpt__volume(ndim, shape, NULL);
    if (total == 0)
        return;
    inner = shape[last];
    step = (uint64_t)strides[last];
    for (;;) {
        int64_t off = 0;
        uint64_t i;

        for (d = 0; d < last; d++)
            off += (int64_t)idx[d] * strides[d];
        if (step == 1) {
            if (dir == 0)
                memcpy(p, s + off * (int64_t)es, inner * es);
            else
                memcpy(s + off * (int64_t)es, p, inner * es);
            p += inner * es;
        } else {
            for (i = 0; i < inner; i++, p += es) {
                unsigned char *e = s + (off + (int64_t)(i * step)) * (int64_t)es;
                if (dir == 0)
                    memcpy(p, e, es);
                else
                    memcpy(e, p, es);
            }
        }
        for (d = last - 1; d >= 0; d--) {
            if (++idx[d] < shape[d])
                break;
            idx[d] = 0;
        }
        if (d < 0)
            return;
    }
}

void h5ckpt__pack(void *dst, const void *src, int ndim, const uint64_t *shape,
                  const int64_t *strides, size_t elsize)
{
    copy(dst, (void *)(uintptr_t)src, ndim, shape, strides, elsize, 0);
}

void h5ckpt__unpack(void *dst, const void *src, int ndim,
                    const uint64_t *shape, const int64_t *strides,
                    size_t elsize)
{
    copy((void *)(uintptr_t)src, dst, ndim, shape, strides, elsize, 1);
}

void h5ckpt__pack_range(void *dst, const void *src, int ndim,
                        const uint64_t *shape, const int64_t *strides,
                        size_t es, uint64_t first, uint64_t count)
{
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, rest = first, inner, i;
    const unsigned char *s = src;
    unsigned char *p = dst;
    int d, last = ndim - 1;

    if (count == 0)
        return;
    if (ndim == 0) {
        memcpy(p, s, es);
        return;
    }
    for (d = last; d >= 0; d--) { /* the index of element `first` */
        idx[d] = rest % shape[d];
        rest /= shape[d];
    }
    inner = shape[last];
    while (count > 0) {
        uint64_t n = inner - idx[last] < count ? inner - idx[last] : count;
        int64_t off = 0;

        for (d = 0; d <= last; d++)
            off += (int64_t)idx[d] * strides[d];
        if (strides[last] == 1) {
            memcpy(p, s + off * (int64_t)es, n * es);
            p += n * es;
        } else {
            for (i = 0; i < n; i++, p += es)
                memcpy(p, s + (off + (int64_t)i * strides[last]) * (int64_t)es, es);
        }
        count -= n;
        idx[last] = 0;
        for (d = last - 1; d >= 0; d--) {
            if (++idx[d] < shape[d])
                break;
            idx[d] = 0;
        }
    }
}
