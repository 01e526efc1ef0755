/*
 * Layouts of several boxes (h5ckpt_layout_boxes): a rank holding several
 * chunks of one tensor (PyTorch DCP's planner, hand-made shardings).  The
 * local buffer is the boxes' elements concatenated, each box in row-major
 * order; the planner and the executors already move any number of boxes
 * per layout (range layouts are boxes too).  Pure: no MPI, no I/O.
 */
#include "layout/layout.h"

#include <stdlib.h>
#include <string.h>

static int fail(h5ckpt_error *err, int code, const char *msg)
{
    h5ckpt__seterror(err, code, msg);
    return code;
}

int h5ckpt_layout_boxes(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                        size_t nboxes, const uint64_t *offsets,
                        const uint64_t *counts, h5ckpt_error *err)
{
    char msg[H5CKPT_MSG_MAX];
    h5ckpt_layout *l = NULL;
    uint64_t *b;
    int overflow = 0, d;
    size_t i, j, w = 2 * (size_t)ndim;

    if (!out)
        return fail(err, H5CKPT_EINVAL, "out is NULL");
    *out = NULL;
    if (ndim < 0 || ndim > H5CKPT_MAX_NDIM || (ndim > 0 && !shape))
        return fail(err, H5CKPT_EINVAL, "ndim must be 0..32 with a shape");
    h5ckpt__volume(ndim, shape, &overflow);
    if (overflow)
        return fail(err, H5CKPT_EINVAL, "the shape has more than 2^64 elements");
    if (ndim == 0 ? nboxes > 1 : nboxes > 0 && (!offsets || !counts))
        return fail(err, H5CKPT_EINVAL,
                    ndim == 0 ? "a 0-d tensor has at most one box"
                              : "offsets or counts is NULL");
    if (nboxes > SIZE_MAX / (w + 1) / sizeof(uint64_t) - 1)
        return fail(err, H5CKPT_EINVAL, "too many boxes");
    for (i = 0; i < nboxes; i++)
        for (d = 0; d < ndim; d++) {
            uint64_t o = offsets[i * (size_t)ndim + (size_t)d];
            uint64_t c = counts[i * (size_t)ndim + (size_t)d];
            if (o > shape[d] || c > shape[d] - o) {
                h5ckpt__fail(msg, H5CKPT_EINVAL,
                             "box %zu lies outside the shape along dimension %d",
                             i, d);
                return fail(err, H5CKPT_EINVAL, msg);
            }
        }
    if (!(l = calloc(1, sizeof *l)) ||
        !(l->boxes = calloc(nboxes * w + 1, sizeof *l->boxes))) {
        free(l);
        return fail(err, H5CKPT_ENOMEM, "out of memory");
    }
    l->kind = H5CKPT__LAYOUT_BOXES;
    l->ndim = ndim;
    if (ndim > 0)
        memcpy(l->shape, shape, (size_t)ndim * sizeof *shape);
    l->nboxes = nboxes;
    for (i = 0; i < nboxes; i++) {
        b = l->boxes + i * w;
        for (d = 0; d < ndim; d++) {
            b[d] = offsets[i * (size_t)ndim + (size_t)d];
            b[ndim + d] = counts[i * (size_t)ndim + (size_t)d];
        }
        l->local_count += h5ckpt__volume(ndim, b + ndim, NULL);
    }
    /* Writers need disjoint boxes (each element once); readers too, so
     * that no element of the buffer is the target of two reads. */
    for (i = 0; ndim > 0 && i < nboxes; i++)
        for (j = i + 1; j < nboxes; j++)
            if (h5ckpt__boxes_overlap(ndim, l->boxes + i * w, l->boxes + j * w)) {
                h5ckpt__fail(msg, H5CKPT_EINVAL, "boxes %zu and %zu overlap", i, j);
                h5ckpt_layout_free(l);
                return fail(err, H5CKPT_EINVAL, msg);
            }
    l->local_ndim = 1;
    l->local_shape[0] = l->local_count;
    *out = l;
    return 0;
}
