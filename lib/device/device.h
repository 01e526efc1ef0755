/*
 * lib/device — the internal interface to device memory (CUDA) and device
 * collectives (NCCL).  May include: lib/base, lib/layout (the CUDA backend
 * packs boxes).  Seen only by the layers that use devices: lib/io (through
 * io/exec.h) and the memory-kind check of lib/handle (queue.c).
 *
 * The core never includes a CUDA or NCCL header.  It talks to one backend
 * table, h5ckpt__devops, chosen once per process by device.c:
 *   - the test override (h5ckpt__devops_override), if installed;
 *   - else the build's backend, h5ckpt__devops_builtin(): device_cuda.c in a
 *     CUDA build (with NCCL group operations from device_nccl.c when built
 *     with NCCL), device_none.c (returns NULL) otherwise.
 *
 * Conventions for every function below:
 *   - Return 0, or a negative H5CKPT_E* code with a one-line message in
 *     `msg` (H5CKPT_MSG_MAX bytes): H5CKPT_EDEVICE for a CUDA or NCCL error
 *     ("cudaMemcpyAsync: invalid argument (cudaErrorInvalidValue)": the
 *     call, the library's own message and error name), H5CKPT_ENOMEM for a
 *     failed allocation, H5CKPT_ENOTSUP where stated.  No error is dropped.
 *   - "Device memory" is memory of the calling thread's current device.
 *   - Local unless stated.  Not thread-safe (the library is not).
 *   - Operations "on a stream" are queued and complete in queue order; the
 *     host may touch their buffers only after a wait/sync that covers them.
 */
#ifndef H5CKPT_DEVICE_H
#define H5CKPT_DEVICE_H

#include "base/base.h"

typedef struct h5ckpt__stream h5ckpt__stream; /* defined by each backend */
typedef struct h5ckpt__dgroup h5ckpt__dgroup; /* defined by each backend */

/* Copy directions. */
enum { H5CKPT__D2H = 0, H5CKPT__H2D = 1, H5CKPT__D2D = 2 };
/* Markers per stream (mark/wait). */
#define H5CKPT__DEV_MARKS 4

typedef struct h5ckpt__devops {
    const char *name; /* "cuda", "fake" */

    /* 0 if this process can use a device now; H5CKPT_ENOTSUP with the
     * reason ("no CUDA device: cudaGetDeviceCount: ...") otherwise.  May be
     * called often: cache inside the backend. */
    int (*probe)(char *msg);
    /* 1 if `p` is device memory of this backend, 0 otherwise (host,
     * registered, managed, or unknown pointers).  Never fails. */
    int (*is_device)(const void *p);
    /* A text identifying the current device (PCI bus id or UUID): two ranks
     * use the same device iff their texts are equal. */
    int (*device_id)(char *out, size_t size, char *msg);

    /* Page-locked (pinned) host memory, and device memory. */
    int (*host_alloc)(void **out, size_t n, char *msg);
    void (*host_free)(void *p); /* accepts NULL */
    int (*dev_alloc)(void **out, size_t n, char *msg);
    void (*dev_free)(void *p); /* accepts NULL */

    /* A stream of its own (never the default stream), with
     * H5CKPT__DEV_MARKS markers. */
    int (*stream_create)(h5ckpt__stream **out, char *msg);
    /* Waits for the queued work, then frees.  Accepts NULL. */
    void (*stream_destroy)(h5ckpt__stream *s);

    /* Queue a copy of `n` bytes (H5CKPT__D2H: host `dst` should be pinned).
     */
    int (*copy)(h5ckpt__stream *s, int dir, void *dst, const void *src,
                size_t n, char *msg);
    /* Queue a device-to-device gather of a strided N-d array (`strides` in
     * elements, > 0) into contiguous row-major `dst`, and the reverse
     * scatter.  `shape` and `strides` are read before the call returns. */
    int (*pack)(h5ckpt__stream *s, void *dst, const void *src, int ndim,
                const uint64_t *shape, const int64_t *strides, size_t elsize,
                char *msg);
    int (*unpack)(h5ckpt__stream *s, void *dst, const void *src, int ndim,
                  const uint64_t *shape, const int64_t *strides,
                  size_t elsize, char *msg);
    /* Marker `i` (0..H5CKPT__DEV_MARKS-1) records the end of the work
     * queued so far; wait blocks the host until that work is done (at once
     * if the marker was never recorded).  sync waits for everything. */
    int (*mark)(h5ckpt__stream *s, int i, char *msg);
    int (*wait)(h5ckpt__stream *s, int i, char *msg);
    int (*sync)(h5ckpt__stream *s, char *msg);

    /* Device broadcast groups (NCCL).  All six are NULL when the backend
     * has none.
     * group_create: collective over `comm` (every rank of it calls, each
     * with its own device): a group of those ranks, rank r of `comm` being
     * group rank r.
     * group_bcast: queue on `s` a broadcast of `n` bytes at device `buf`
     * from group rank `root` to the others (in place).  Every group member
     * queues the same broadcasts in the same order.
     * group_begin/group_end bracket several broadcasts, possibly on several
     * groups, so they progress together (ncclGroupStart/End).
     * group_abort: abandon the group's queued broadcasts, which some member
     * never queued (so waiting on the stream would never return), and free
     * it; the stream's other work completes (ncclCommAbort).  Local. */
    int (*group_create)(h5ckpt__dgroup **out, MPI_Comm comm, char *msg);
    void (*group_free)(h5ckpt__dgroup *g); /* accepts NULL */
    int (*group_bcast)(h5ckpt__dgroup *g, h5ckpt__stream *s, void *buf,
                       size_t n, int root, char *msg);
    int (*group_begin)(char *msg);
    int (*group_end)(char *msg);
    void (*group_abort)(h5ckpt__dgroup *g); /* accepts NULL */
} h5ckpt__devops;

/* The build's backend: the CUDA one (device_cuda.c) or NULL
 * (device_none.c).  The table is static; the pointer never changes. */
const h5ckpt__devops *h5ckpt__devops_builtin(void);

/* The backend in use (override, else builtin); NULL when none.
 * (device.c) */
const h5ckpt__devops *h5ckpt__devops_get(void);
/* Tests only: use `ops` instead of the build's backend (NULL restores it).
 * Call when no handle has queued device work. */
void h5ckpt__devops_override(const h5ckpt__devops *ops);

/* Local, at put/get: the memory kind of `data` for tensor `path`.  Declared
 * CUDA (`declared_cuda`): needs a backend (else H5CKPT_ENOTSUP), whose probe
 * succeeds (else its code and reason) and which says `data` (if not NULL)
 * is device memory (else H5CKPT_EINVAL).  Declared host or undeclared: CUDA
 * when a usable backend says `data` is device memory (detection), else
 * host.  Returns 0 or the error with a message in `msg`. */
int h5ckpt__device_kind(const char *path, int declared_cuda, const void *data,
                        h5ckpt_memkind *kind, char *msg);

/* Default bytes of pinned staging per rank (h5ckpt_options.staging_bytes
 * = 0), split into two halves that alternate. */
#define H5CKPT__STAGING_DEFAULT ((uint64_t)256 << 20)
/* Smallest staging accepted (smaller values are raised to it). */
#define H5CKPT__STAGING_MIN ((uint64_t)64 << 10)

#endif /* H5CKPT_DEVICE_H */
