/*
 * The synthetic state of `h5ckpt bench`: presets of tensors (paths, dtypes,
 * shapes, placements), and element values that are a function of (tensor,
 * global flat index) so that any reader on any mesh can check every element
 * it receives.
 */
#ifndef H5CKPT_BENCH_H
#define H5CKPT_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "h5ckpt.h"

/* How a tensor is placed along the mesh's last dimension (every other mesh
 * dimension replicates). */
enum { BENCH_SHARD0 = 0, BENCH_SHARD1 = 1, BENCH_REPLICATE = 2, BENCH_ALTERNATE = 3 };

typedef struct {
    char path[96];
    h5ckpt_dtype dtype;
    int ndim; /* 1 or 2 */
    uint64_t shape[2];
    int placement; /* BENCH_SHARD0, BENCH_SHARD1 or BENCH_REPLICATE */
} bench_tensor;

/* Knobs; 0 / -1 keep the preset's value. */
typedef struct {
    unsigned long long count; /* tensors (llm: layers) */
    unsigned long long size;  /* bytes per tensor (big, small) */
    unsigned long long hidden; /* llm: hidden size */
    int dtype;                /* h5ckpt_dtype, or -1 */
    int policy;               /* BENCH_*, or -1 */
} bench_knobs;

/*
 * The tensors of `preset` ("big", "small" or "llm") with knobs applied, in
 * a malloc'ed array (*n entries).  Returns 0, or -1 with a message in `msg`
 * (unknown preset, a size that is not a multiple of the element size, ...).
 */
int bench_state_build(const char *preset, const bench_knobs *k,
                      bench_tensor **out, size_t *n, char *msg, size_t msglen);

/* Parse a placement policy name (shard0, shard1, replicate, alternate):
 * returns BENCH_* or -1. */
int bench_policy_from_name(const char *name);

/*
 * Fill (verify == 0) or check (verify == 1) the row-major local buffer of
 * tensor `id`, whose box in the global index space is (off, cnt) within
 * `shape` (ndim 1 or 2).  Returns the number of mismatching elements (0
 * when filling); the first mismatch is described in `msg`.
 */
uint64_t bench_values(void *buf, size_t es, int ndim, const uint64_t *shape,
                      const uint64_t *off, const uint64_t *cnt, uint64_t id,
                      int verify, char *msg, size_t msglen);

/*
 * The POSIX side (tools/bench_io.c): the file ceilings and the page state
 * each timed phase starts from.  Every function is collective over
 * MPI_COMM_WORLD and returns 0, or -1 on every rank with a one-line message
 * in `msg` (512 bytes).
 */
/* This rank's tensor buffers, in tensor order. */
typedef struct {
    void *const *bufs;
    const uint64_t *bytes; /* bytes of each buffer */
    size_t n;
} bench_bufs;

/* The two ceilings: one scratch file (rank r at the sum of the lower ranks'
 * bytes), or a file per rank. */
enum { BENCH_ONE_FILE = 0, BENCH_FILE_PER_RANK = 1 };
/* --pages */
enum { BENCH_PAGES_WARM = 0, BENCH_PAGES_COLD = 1 };

/* The scratch file of ceiling `kind` for this rank, next to `file`
 * (FILE.ceiling-one, FILE.ceiling-rank-R).  Local. */
void bench_ceiling_path(int kind, const char *file, char *out, size_t size);
/* Write the first `bytes` of `b` to the ceiling's file, not timed (what a
 * read ceiling then reads). */
int bench_ceiling_fill(int kind, const char *file, const bench_bufs *b,
                       uint64_t bytes, char *msg);
/* Timed, between two barriers: pwrite (writing, then fsync when `fsync_on`;
 * the file is created first, not timed) or pread the first `bytes` of `b`
 * at this rank's place in the ceiling's file(s). */
int bench_ceiling_time(int kind, const char *file, int writing, int fsync_on,
                       const bench_bufs *b, uint64_t bytes, double *secs,
                       char *msg);
/* Delete the ceiling's file(s) (returns after a barrier). */
void bench_ceiling_remove(int kind, const char *file);
/* Before a timed write of about `bytes` per rank next to `file`: sync, then
 * warm: write and delete FILE.warm-R of `bytes`; cold: wait for the page
 * state to settle, at most `settle` seconds (*waited: the longest wait). */
int bench_pages_before_write(int pages, const char *file, uint64_t bytes,
                             double settle, double *waited, char *msg);
/* Before a timed read of `path` (this rank's slice of it, or all of it when
 * `whole`): warm: read it once; cold: flush it and evict it from the page
 * cache, then wait as above. */
int bench_pages_before_read(int pages, const char *path, int whole, double settle,
                            double *waited, char *msg);

/*
 * Device side of `h5ckpt bench --device cuda`: tools/bench_cuda.c in CUDA
 * builds, tools/bench_nocuda.c (every call fails with "this build has no
 * CUDA support") otherwise.  Local; each returns 0, or -1 with a one-line
 * message in `msg` (512 bytes).
 */
/* Whether this process can use a CUDA device ("no CUDA device: ..."). */
int bench_dev_probe(char *msg);
/* Device memory of `n` bytes holding a copy of `host` (*out NULL if n is
 * 0), and its release (accepts NULL). */
int bench_dev_upload(void **out, const void *host, size_t n, char *msg);
void bench_dev_free(void *dev);
/* Copy `n` bytes of device `dev` to `host`. */
int bench_dev_download(void *host, const void *dev, size_t n, char *msg);
/* Pinned host memory of `n` bytes, filled with 0xA5, and its release. */
int bench_dev_pinned(void **out, size_t n, char *msg);
void bench_dev_pinned_free(void *p);
/* The copy ceiling: move the first `total` bytes of the device buffers
 * dev[0..count) (bytes[i] each, in order) to (d2h) or from pinned `pin` of
 * `pin_bytes`, one cudaMemcpy per piece of at most pin_bytes; returns when
 * the copies are done. */
int bench_dev_copy(void *pin, size_t pin_bytes, void *const *dev,
                   const uint64_t *bytes, size_t count, uint64_t total,
                   int d2h, char *msg);

/*
 * `h5ckpt bench --write FILE --async` (bench_async.c): an asynchronous save
 * of the state against its floors (stall against memcpy, background time
 * against the synchronous commit, a compute loop's slowdown, peak RSS).
 * Collective; prints the report on rank 0.  Returns 0, or the library's
 * error code or -1 with a message in `msg` (512 bytes), on every rank.
 */
typedef struct {
    const char *file, *preset;
    const h5ckpt_mesh *mesh;
    int fsync, json, cuda;
    h5ckpt_executor executor;
    uint64_t snapshot_bytes; /* h5ckpt_options.snapshot_bytes (0: default) */
    size_t n;
    const bench_tensor *t;
    h5ckpt_layout *const *layouts;
    void *const *bufs;  /* host buffers (the memcpy floor copies from them) */
    void *const *dbufs; /* device buffers (cuda) */
    const uint64_t *bytes;
    uint64_t shard_bytes, shard_max, total_bytes;
} bench_async_in;
int bench_async(const bench_async_in *in, char *msg);

#endif
