/*
 * Runs of a box in a row-major extent: the one place that cuts a box into
 * the contiguous byte runs the fast executor, the staging and the node
 * exchange move.  Pure arithmetic.
 */
#include "layout/layout.h"

void h5ckpt__boxruns_init(h5ckpt__boxruns *b, int ndim, const uint64_t *shape,
                          const uint64_t *box, uint64_t base, uint64_t es,
                          uint64_t moff0)
{
    uint64_t tail = 1;
    int d;

    b->ndim = ndim;
    b->shape = shape;
    b->off = box;
    b->cnt = box + ndim;
    b->base = base;
    b->es = es;
    b->moff0 = moff0;
    b->nruns = 1;
    if (ndim == 0) {
        b->split = 0;
        b->runbytes = es;
        return;
    }
    /* Dimensions after `split` are whole; `split` itself may be partial. */
    for (b->split = ndim - 1; b->split > 0 && b->cnt[b->split] == shape[b->split];
         b->split--)
        tail *= shape[b->split];
    b->runbytes = b->cnt[b->split] * tail * es;
    for (d = 0; d < b->split; d++)
        b->nruns *= b->cnt[d];
}

uint64_t h5ckpt__boxruns_foff(const h5ckpt__boxruns *b, uint64_t i)
{
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, flat = 0;
    int d;

    for (d = b->split - 1; d >= 0; d--) { /* mixed radix over dims < split */
        idx[d] = i % b->cnt[d];
        i /= b->cnt[d];
    }
    for (d = 0; d < b->ndim; d++)
        flat = flat * b->shape[d] + b->off[d] + (d < b->split ? idx[d] : 0);
    return b->base + flat * b->es;
}

uint64_t h5ckpt__boxruns_seek(const h5ckpt__boxruns *b, uint64_t pos)
{
    uint64_t lo = 0, hi = b->nruns;

    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (h5ckpt__boxruns_foff(b, mid) + b->runbytes <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int h5ckpt__box_runs(int ndim, const uint64_t *shape, const uint64_t *box,
                     uint64_t base, size_t es, uint64_t moff,
                     h5ckpt__run_fn fn, void *ctx)
{
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, i;
    h5ckpt__boxruns b;
    int d, e;

    h5ckpt__boxruns_init(&b, ndim, shape, box, base, es, moff);
    if (ndim == 0)
        return fn(ctx, base, moff, es);
    for (i = 0; i < b.nruns; i++) {
        /* the file offset by an odometer over the dims < split: the same
         * value as h5ckpt__boxruns_foff(&b, i) without its divisions */
        uint64_t flat = 0;
        for (e = 0; e < ndim; e++)
            flat = flat * shape[e] + b.off[e] + (e < b.split ? idx[e] : 0);
        if (fn(ctx, base + flat * es, moff + i * b.runbytes, b.runbytes) != 0)
            return -1;
        for (d = b.split - 1; d >= 0; d--) {
            if (++idx[d] < b.cnt[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}
