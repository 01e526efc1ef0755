/*
 * Layouts: which boxes of a tensor's global index space the calling rank
 * holds.  The arithmetic here is pure (no MPI, no I/O) and unit-tested.
 */
#include "layout/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h5ckpt__chunk(uint64_t n, uint64_t k, uint64_t i, uint64_t *offset,
                   uint64_t *count)
{
    uint64_t chunk = k ? n / k + (n % k != 0) : n;
    /* i * chunk cannot overflow meaningfully: i < k and chunk <= n/k + 1. */
    uint64_t o = i * chunk < n ? i * chunk : n;

    *offset = o;
    *count = n - o < chunk ? n - o : chunk;
}

int h5ckpt__shard_box(int ndim, const uint64_t *shape, int mesh_ndim,
                      const int *mesh_shape, const int *coords,
                      const int *placements, uint64_t *offset,
                      uint64_t *count)
{
    int d, i;

    for (d = 0; d < ndim; d++) {
        offset[d] = 0;
        count[d] = shape[d];
    }
    for (i = 0; i < mesh_ndim; i++) {
        int p = placements[i];
        uint64_t o, c;

        if (p == H5CKPT_REPLICATE)
            continue;
        if (p < 0 || p >= ndim)
            return H5CKPT_EINVAL;
        h5ckpt__chunk(count[p], (uint64_t)mesh_shape[i], (uint64_t)coords[i],
                      &o, &c);
        offset[p] += o;
        count[p] = c;
    }
    return 0;
}

uint64_t h5ckpt__volume(int n, const uint64_t *extent, int *overflow)
{
    uint64_t v = 1;
    int d, zero = 0, over = 0;

    for (d = 0; d < n; d++) {
        if (extent[d] == 0)
            zero = 1;
        else if (v > UINT64_MAX / extent[d])
            over = 1;
        else
            v *= extent[d];
    }
    if (overflow)
        *overflow = over && !zero;
    return zero ? 0 : v;
}

int h5ckpt__boxes_overlap(int ndim, const uint64_t *a, const uint64_t *b)
{
    int d;

    for (d = 0; d < ndim; d++) {
        uint64_t ao = a[d], ac = a[ndim + d], bo = b[d], bc = b[ndim + d];
        if (ac == 0 || bc == 0 || ao >= bo + bc || bo >= ao + ac)
            return 0;
    }
    return 1;
}

static void emit(int ndim, const uint64_t *shape, const uint64_t *stride,
                 uint64_t cur, int d, uint64_t cnt, uint64_t *box)
{
    int j;

    for (j = 0; j < ndim; j++) {
        box[j] = (cur / stride[j]) % shape[j];
        box[ndim + j] = j < d ? 1 : j == d ? cnt : shape[j];
    }
}

size_t h5ckpt__range_boxes(int ndim, const uint64_t *shape, uint64_t start,
                           uint64_t end, uint64_t *boxes)
{
    uint64_t stride[H5CKPT_MAX_NDIM], cur = start, total;
    size_t nb = 0;
    int d, j;

    if (start >= end)
        return 0;
    if (ndim == 0)
        return 1; /* [0, 1) of a scalar */
    stride[ndim - 1] = 1;
    for (d = ndim - 1; d > 0; d--)
        stride[d - 1] = stride[d] * shape[d];
    total = stride[0] * shape[0];
    /* Climb: complete ever larger blocks until one would pass `end`.
     * Invariant: cur is a multiple of stride[d]. */
    for (d = ndim - 1; d >= 0; d--) {
        uint64_t blk = d > 0 ? stride[d - 1] : total;
        uint64_t next = (cur + blk - 1) / blk * blk;
        uint64_t cnt;

        if (next > end)
            next = end;
        cnt = (next - cur) / stride[d];
        if (cnt > 0) {
            emit(ndim, shape, stride, cur, d, cnt, boxes + nb++ * 2 * ndim);
            cur += cnt * stride[d];
        }
        if (cur == end)
            return nb;
        if (next == end)
            break;
    }
    /* Descend: what is left is shorter than one block of level d. */
    for (j = d + 1; j < ndim; j++) {
        uint64_t cnt = (end - cur) / stride[j];
        if (cnt > 0) {
            emit(ndim, shape, stride, cur, j, cnt, boxes + nb++ * 2 * ndim);
            cur += cnt * stride[j];
        }
    }
    return nb;
}

/* ---- layout objects ------------------------------------------------------ */

static int check_shape(int ndim, const uint64_t *shape, h5ckpt_error *err)
{
    int overflow = 0;

    if (ndim < 0 || ndim > H5CKPT_MAX_NDIM)
        return h5ckpt__error(err, H5CKPT_EINVAL, "ndim %d is not in 0..%d",
                             ndim, H5CKPT_MAX_NDIM);
    if (ndim > 0 && !shape)
        return h5ckpt__error(err, H5CKPT_EINVAL, "shape is NULL");
    h5ckpt__volume(ndim, shape, &overflow);
    if (overflow)
        return h5ckpt__error(err, H5CKPT_EINVAL,
                             "the shape has more than 2^64 elements");
    return 0;
}

static h5ckpt_layout *alloc_layout(int kind, int ndim, const uint64_t *shape,
                                   size_t nboxes)
{
    h5ckpt_layout *l = calloc(1, sizeof *l);

    if (!l)
        return NULL;
    l->kind = kind;
    l->ndim = ndim;
    if (ndim > 0)
        memcpy(l->shape, shape, (size_t)ndim * sizeof *shape);
    l->nboxes = nboxes;
    /* at least one slot so a 0-d layout still has a valid pointer */
    l->boxes = calloc(nboxes * 2 * (size_t)ndim + 1, sizeof *l->boxes);
    if (!l->boxes) {
        free(l);
        return NULL;
    }
    return l;
}

static void finish_box_layout(h5ckpt_layout *l)
{
    size_t i;

    l->local_ndim = l->ndim;
    memcpy(l->local_shape, l->boxes + l->ndim, (size_t)l->ndim * sizeof(uint64_t));
    l->local_count = 0;
    for (i = 0; i < l->nboxes; i++)
        l->local_count += h5ckpt__volume(l->ndim, l->boxes + i * 2 * l->ndim + l->ndim, NULL);
}

/* The common start of a constructor: `out` set to NULL, or EINVAL. */
static int begin(h5ckpt_layout **out, h5ckpt_error *err)
{
    if (!out)
        return h5ckpt__error(err, H5CKPT_EINVAL, "out is NULL");
    *out = NULL;
    return 0;
}

static int no_memory(h5ckpt_error *err)
{
    return h5ckpt__error(err, H5CKPT_ENOMEM, "out of memory");
}

int h5ckpt_layout_sharded(h5ckpt_layout **out, const h5ckpt_mesh *mesh,
                          int ndim, const uint64_t *shape,
                          const int *placements, h5ckpt_error *err)
{
    h5ckpt_layout *l;
    int i, rc;

    if ((rc = begin(out, err)) != 0 || (rc = check_shape(ndim, shape, err)) != 0)
        return rc;
    if (!mesh || !placements)
        return h5ckpt__error(err, H5CKPT_EINVAL, "%s is NULL",
                             !mesh ? "mesh" : "placements");
    for (i = 0; i < mesh->ndim; i++)
        if (placements[i] != H5CKPT_REPLICATE &&
            (placements[i] < 0 || placements[i] >= ndim))
            return h5ckpt__error(err, H5CKPT_EINVAL,
                                 "placement %d of mesh dimension %d is neither "
                                 "H5CKPT_REPLICATE nor a shard of one of the "
                                 "tensor's %d dimensions",
                                 placements[i], i, ndim);
    if (!(l = alloc_layout(H5CKPT__LAYOUT_SHARDED, ndim, shape, 1)))
        return no_memory(err);
    l->mesh_ndim = mesh->ndim;
    memcpy(l->mesh_shape, mesh->shape, (size_t)mesh->ndim * sizeof(int));
    memcpy(l->mesh_coords, mesh->coords, (size_t)mesh->ndim * sizeof(int));
    memcpy(l->placements, placements, (size_t)mesh->ndim * sizeof(int));
    if (!(l->mesh_desc = h5ckpt__strdup(mesh->desc))) {
        h5ckpt_layout_free(l);
        return no_memory(err);
    }
    h5ckpt__shard_box(ndim, shape, mesh->ndim, mesh->shape, mesh->coords,
                      placements, l->boxes, l->boxes + ndim);
    finish_box_layout(l);
    *out = l;
    return 0;
}

int h5ckpt_layout_box(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                      const uint64_t *offset, const uint64_t *count,
                      h5ckpt_error *err)
{
    h5ckpt_layout *l;
    int d, rc;

    if ((rc = begin(out, err)) != 0 || (rc = check_shape(ndim, shape, err)) != 0)
        return rc;
    if (ndim > 0 && (!offset || !count))
        return h5ckpt__error(err, H5CKPT_EINVAL, "%s is NULL",
                             !offset ? "offset" : "count");
    for (d = 0; d < ndim; d++)
        if (offset[d] > shape[d] || count[d] > shape[d] - offset[d])
            return h5ckpt__error(err, H5CKPT_EINVAL,
                                 "the box [%llu, %llu) of dimension %d lies "
                                 "outside its extent %llu",
                                 (unsigned long long)offset[d],
                                 (unsigned long long)(offset[d] + count[d]), d,
                                 (unsigned long long)shape[d]);
    if (!(l = alloc_layout(H5CKPT__LAYOUT_BOX, ndim, shape, 1)))
        return no_memory(err);
    for (d = 0; d < ndim; d++) {
        l->boxes[d] = offset[d];
        l->boxes[ndim + d] = count[d];
    }
    finish_box_layout(l);
    *out = l;
    return 0;
}

int h5ckpt_layout_whole(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                        h5ckpt_error *err)
{
    uint64_t zero[H5CKPT_MAX_NDIM] = {0};
    int rc;

    if ((rc = begin(out, err)) != 0 || (rc = check_shape(ndim, shape, err)) != 0)
        return rc;
    return h5ckpt_layout_box(out, ndim, shape, zero, shape, err);
}

int h5ckpt_layout_none(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                       h5ckpt_error *err)
{
    h5ckpt_layout *l;
    int rc;

    if ((rc = begin(out, err)) != 0 || (rc = check_shape(ndim, shape, err)) != 0)
        return rc;
    if (!(l = alloc_layout(H5CKPT__LAYOUT_BOX, ndim, shape, 0)))
        return no_memory(err);
    l->local_ndim = ndim; /* local shape all zeros */
    *out = l;
    return 0;
}

int h5ckpt_layout_range(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                        uint64_t start, uint64_t end, h5ckpt_error *err)
{
    h5ckpt_layout *l;
    uint64_t n;
    int rc;

    if ((rc = begin(out, err)) != 0 || (rc = check_shape(ndim, shape, err)) != 0)
        return rc;
    n = h5ckpt__volume(ndim, shape, NULL);
    if (start > end || end > n)
        return h5ckpt__error(err, H5CKPT_EINVAL,
                             "the range [%llu, %llu) is not inside the "
                             "tensor's %llu elements",
                             (unsigned long long)start,
                             (unsigned long long)end, (unsigned long long)n);
    if (!(l = alloc_layout(H5CKPT__LAYOUT_RANGE, ndim, shape,
                           ndim > 0 ? 2 * (size_t)ndim - 1 : 1)))
        return no_memory(err);
    l->nboxes = h5ckpt__range_boxes(ndim, shape, start, end, l->boxes);
    l->range_start = start;
    l->range_end = end;
    l->local_ndim = 1;
    l->local_shape[0] = end - start;
    l->local_count = end - start;
    *out = l;
    return 0;
}

void h5ckpt_layout_free(h5ckpt_layout *l)
{
    if (!l)
        return;
    h5ckpt__layout_clear(l);
    free(l);
}

void h5ckpt__layout_clear(h5ckpt_layout *l)
{
    free(l->boxes);
    free(l->mesh_desc);
    l->boxes = NULL;
    l->mesh_desc = NULL;
}

int h5ckpt__layout_copy(h5ckpt_layout *dst, const h5ckpt_layout *src)
{
    size_t n = src->nboxes * 2 * (size_t)src->ndim + 1;

    *dst = *src;
    dst->boxes = malloc(n * sizeof *dst->boxes);
    dst->mesh_desc = src->mesh_desc ? h5ckpt__strdup(src->mesh_desc) : NULL;
    if (!dst->boxes || (src->mesh_desc && !dst->mesh_desc)) {
        h5ckpt__layout_clear(dst);
        return H5CKPT_ENOMEM;
    }
    memcpy(dst->boxes, src->boxes, n * sizeof *dst->boxes);
    return 0;
}

int h5ckpt_layout_local_shape(const h5ckpt_layout *l, int *ndim,
                              uint64_t *shape)
{
    if (!l)
        return H5CKPT_EINVAL;
    if (ndim)
        *ndim = l->local_ndim;
    if (shape && l->local_ndim > 0)
        memcpy(shape, l->local_shape, (size_t)l->local_ndim * sizeof *shape);
    return 0;
}

uint64_t h5ckpt_layout_local_count(const h5ckpt_layout *l)
{
    return l ? l->local_count : 0;
}

size_t h5ckpt_layout_box_count(const h5ckpt_layout *l) { return l ? l->nboxes : 0; }

int h5ckpt_layout_box_at(const h5ckpt_layout *l, size_t i, uint64_t *offset,
                          uint64_t *count)
{
    const uint64_t *b;

    if (!l || i >= l->nboxes)
        return H5CKPT_EINVAL;
    b = l->boxes + i * 2 * (size_t)l->ndim;
    if (offset && l->ndim > 0)
        memcpy(offset, b, (size_t)l->ndim * sizeof *offset);
    if (count && l->ndim > 0)
        memcpy(count, b + l->ndim, (size_t)l->ndim * sizeof *count);
    return 0;
}

void h5ckpt__placements_text(const h5ckpt_layout *l, char *buf, size_t size)
{
    size_t n = 0;
    int i;

    if (l->kind != H5CKPT__LAYOUT_SHARDED) {
        snprintf(buf, size, "explicit");
        return;
    }
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (i = 0; i < l->mesh_ndim && n < size; i++) {
        const char *sep = i ? ", " : "";
        if (l->placements[i] == H5CKPT_REPLICATE)
            n += (size_t)snprintf(buf + n, size - n, "%sReplicate()", sep);
        else
            n += (size_t)snprintf(buf + n, size - n, "%sShard(%d)", sep,
                                  l->placements[i]);
    }
    if (n < size)
        snprintf(buf + n, size - n, "] on mesh %s", l->mesh_desc);
}

void h5ckpt__box_text(int ndim, const uint64_t *off, const uint64_t *cnt,
                      char *buf, size_t size)
{
    size_t n = 0;
    int d;

    n += (size_t)snprintf(buf, size, "[");
    for (d = 0; d < ndim && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, "%s%llu:%llu", d ? ", " : "",
                              (unsigned long long)off[d],
                              (unsigned long long)(off[d] + cnt[d]));
    if (n < size)
        snprintf(buf + n, size - n, "]");
}
