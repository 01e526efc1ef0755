/*
 * lib/layout — meshes, layouts and the pure arithmetic of boxes: which part
 * of a tensor each rank holds, how boxes split into contiguous runs of a
 * row-major file extent, and how strided buffers pack.  Everything here but
 * mesh.c (which duplicates a communicator) is pure: no file I/O, no MPI.
 *
 * May include: lib/base.
 */
#ifndef H5CKPT_LAYOUT_H
#define H5CKPT_LAYOUT_H

#include "base/base.h"

/* ---- layout arithmetic (layout.c; pure) --------------------------------- */

/* torch.chunk: part i of n elements split into k parts.  chunk = ceil(n/k);
 * part i is [i*chunk, min((i+1)*chunk, n)), empty when i*chunk >= n. */
void h5ckpt__chunk(uint64_t n, uint64_t k, uint64_t i, uint64_t *offset,
                   uint64_t *count);
/*
 * Box of the rank at mesh `coords` for a tensor of `shape` with one placement
 * per mesh dimension (nested in mesh-dimension order, as DTensor).
 * Returns 0 or H5CKPT_EINVAL (placement out of range).
 */
int h5ckpt__shard_box(int ndim, const uint64_t *shape, int mesh_ndim,
                      const int *mesh_shape, const int *coords,
                      const int *placements, uint64_t *offset,
                      uint64_t *count);
/*
 * Decompose elements [start, end) of the row-major flattening of `shape` into
 * boxes, in flat order.  `boxes` receives up to 2*ndim-1 boxes of 2*ndim
 * entries each (offsets then counts).  Returns the number of boxes (0 for an
 * empty range).  For ndim == 0 the only non-empty range is [0,1): 1 box.
 */
size_t h5ckpt__range_boxes(int ndim, const uint64_t *shape, uint64_t start,
                           uint64_t end, uint64_t *boxes);
/* Product of `n` extents; sets *overflow if it does not fit 64 bits. */
uint64_t h5ckpt__volume(int n, const uint64_t *extent, int *overflow);
/* 1 if boxes a and b (2*ndim entries each) share at least one element. */
int h5ckpt__boxes_overlap(int ndim, const uint64_t *a, const uint64_t *b);
/* "[0:4, 2:3]" (offset:end per dimension; "[]" for 0-d) into buf. */
void h5ckpt__box_text(int ndim, const uint64_t *off, const uint64_t *cnt,
                      char *buf, size_t size);

/* Layout object. */
/* BOXES: h5ckpt_layout_boxes (boxes.c); like RANGE, a 1-D local buffer of
 * the boxes' elements in order, never strided. */
enum {
    H5CKPT__LAYOUT_SHARDED = 1,
    H5CKPT__LAYOUT_BOX,
    H5CKPT__LAYOUT_RANGE,
    H5CKPT__LAYOUT_BOXES
};

struct h5ckpt_layout {
    int kind;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    /* sharded */
    int mesh_ndim;
    int mesh_shape[H5CKPT_MAX_NDIM];
    int mesh_coords[H5CKPT_MAX_NDIM];
    int placements[H5CKPT_MAX_NDIM];
    char *mesh_desc; /* "(2, 2)" or "(dp=2, tp=2)", owned */
    /* range */
    uint64_t range_start, range_end;
    /* result, all kinds */
    size_t nboxes;
    uint64_t *boxes; /* nboxes * 2 * ndim (ndim 0: nboxes entries unused) */
    int local_ndim;
    uint64_t local_shape[H5CKPT_MAX_NDIM];
    uint64_t local_count;
};

/* Deep copy (for queueing).  Returns 0 or H5CKPT_ENOMEM. */
int h5ckpt__layout_copy(h5ckpt_layout *dst, const h5ckpt_layout *src);
void h5ckpt__layout_clear(h5ckpt_layout *l);
/* Canonical text of the placements: "Shard(0),Replicate()" etc. into buf. */
void h5ckpt__placements_text(const h5ckpt_layout *l, char *buf, size_t size);

/* ---- runs of a box in a row-major extent (runs.c; pure) ------------------ */

/*
 * Box `box` (offsets then counts, `ndim` each) of a row-major array of
 * `shape` stored at byte `base` with `es`-byte elements, seen as `nruns`
 * runs of `runbytes` contiguous bytes each: the dimensions after `split` are
 * whole, so a run is the box's extent along `split` times their product.
 * Run i starts in the file at h5ckpt__boxruns_foff(b, i) (increasing in i)
 * and in the box's packed buffer at moff0 + i * runbytes.
 */
typedef struct {
    int ndim, split;
    const uint64_t *shape, *off, *cnt;
    uint64_t nruns, runbytes, base, es, moff0;
} h5ckpt__boxruns;

void h5ckpt__boxruns_init(h5ckpt__boxruns *b, int ndim, const uint64_t *shape,
                          const uint64_t *box, uint64_t base, uint64_t es,
                          uint64_t moff0);
/* File offset of run i (mixed radix; O(ndim)). */
uint64_t h5ckpt__boxruns_foff(const h5ckpt__boxruns *b, uint64_t i);
/* First run that ends after file offset `pos` (binary search). */
uint64_t h5ckpt__boxruns_seek(const h5ckpt__boxruns *b, uint64_t pos);

/* Emit the runs of one box as (file offset, byte offset in the packed
 * local buffer, bytes), in increasing order; stops at the first nonzero
 * return of `fn` and returns -1 then, else 0. */
typedef int (*h5ckpt__run_fn)(void *ctx, uint64_t foff, uint64_t moff,
                              uint64_t len);
int h5ckpt__box_runs(int ndim, const uint64_t *shape, const uint64_t *box,
                     uint64_t base, size_t es, uint64_t moff,
                     h5ckpt__run_fn fn, void *ctx);

/* ---- packing (pack.c; pure) ---------------------------------------------- */

/* Copy a strided N-d array (strides in elements) into contiguous row-major
 * `dst`, and back. */
void h5ckpt__pack(void *dst, const void *src, int ndim, const uint64_t *shape,
                  const int64_t *strides, size_t elsize);
void h5ckpt__unpack(void *dst, const void *src, int ndim,
                    const uint64_t *shape, const int64_t *strides,
                    size_t elsize);
/* Elements [first, first + count) of the row-major order of a strided N-d
 * array into contiguous `dst`: the same bytes as that slice of
 * h5ckpt__pack's output (the range must lie inside the array). */
void h5ckpt__pack_range(void *dst, const void *src, int ndim,
                        const uint64_t *shape, const int64_t *strides,
                        size_t es, uint64_t first, uint64_t count);
/* Smallest buffer extent (in elements) a strided array spans; checks that
 * strides are positive.  Returns 0 or H5CKPT_EINVAL. */
int h5ckpt__strided_span(int ndim, const uint64_t *shape,
                         const int64_t *strides, uint64_t *span);

/* ---- mesh (mesh.c) ------------------------------------------------------- */

struct h5ckpt_mesh {
    MPI_Comm comm;
    int rank, size, ndim;
    int shape[H5CKPT_MAX_NDIM];
    int coords[H5CKPT_MAX_NDIM];
    char *names[H5CKPT_MAX_NDIM]; /* all NULL when unnamed */
    char *desc;                   /* "(2, 2)" or "(dp=2, tp=2)" */
};

#endif /* H5CKPT_LAYOUT_H */
