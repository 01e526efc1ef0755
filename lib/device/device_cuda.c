/*
 * The CUDA backend of the device interface (device.h), on the CUDA runtime
 * API.  Built only with CUDA (configure --with-cuda); the group members come
 * from device_nccl.c (NCCL builds) or stay NULL (device_nonccl.c).
 *
 * Device pack/unpack use cudaMemcpy2DAsync, not a kernel.  A kernel would
 * need nvcc inside the libtool build (no .cu support in automake/libtool,
 * a second compiler to find and to ship through `make dist` and the
 * sanitizer build), for one operation whose cost is a stream of small
 * copies anyway.  The strided side is described as: dimensions of extent 1
 * dropped, neighbours merged where the strided side is contiguous across
 * them; then one copied "element" is a whole innermost row when its stride
 * is 1 (else a single array element), the longest remaining dimension is
 * the height of each 2-D copy and every other index is one call.  A padded
 * row-major array is thus one call, a channels-last view one call per
 * (batch, channel).  Pitches a 2-D copy cannot take (smaller than the row,
 * e.g. overlapping views, or above the device's limit) fall back to one
 * cudaMemcpyAsync per row.
 */
#include "device/device_cuda.h"

#include <stdlib.h>
#include <string.h>

int h5ckpt__cuda_fail(char *msg, const char *call, cudaError_t e)
{
    (void)cudaGetLastError(); /* clear it unless sticky */
    return h5ckpt__fail(msg,
                        e == cudaErrorMemoryAllocation ? H5CKPT_ENOMEM
                                                       : H5CKPT_EDEVICE,
                        "%s: %s (%s)", call, cudaGetErrorString(e),
                        cudaGetErrorName(e));
}

#define CU(call, expr)                                                        \
    do {                                                                      \
        cudaError_t cu_e_ = (expr);                                           \
        if (cu_e_ != cudaSuccess)                                             \
            return h5ckpt__cuda_fail(msg, call, cu_e_);                       \
    } while (0)

/* ---- probe and pointers ------------------------------------------------- */

static int cuda_probe(char *msg)
{
    static int done, rc;
    static char why[H5CKPT_MSG_MAX];

    if (!done) {
        int n = 0;
        cudaError_t e = cudaGetDeviceCount(&n);

        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            rc = h5ckpt__fail(why, H5CKPT_ENOTSUP,
                              "no CUDA device: cudaGetDeviceCount: %s (%s)",
                              cudaGetErrorString(e), cudaGetErrorName(e));
        } else if (n == 0) {
            rc = h5ckpt__fail(why, H5CKPT_ENOTSUP,
                              "no CUDA device: cudaGetDeviceCount found 0 "
                              "devices");
        }
        done = 1;
    }
    if (rc != 0 && msg)
        memcpy(msg, why, sizeof why);
    return rc;
}

static int cuda_is_device(const void *p)
{
    struct cudaPointerAttributes a;

    if (!p || cuda_probe(NULL) != 0)
        return 0;
    memset(&a, 0, sizeof a);
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        (void)cudaGetLastError(); /* unknown pointers fail on old drivers */
        return 0;
    }
    return a.type == cudaMemoryTypeDevice;
}

static int cuda_device_id(char *out, size_t size, char *msg)
{
    char bus[64];
    int dev;

    CU("cudaGetDevice", cudaGetDevice(&dev));
    CU("cudaDeviceGetPCIBusId", cudaDeviceGetPCIBusId(bus, sizeof bus, dev));
    if (strlen(bus) >= size)
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "device id '%s' does not fit %zu bytes", bus, size);
    memcpy(out, bus, strlen(bus) + 1);
    return 0;
}

/* ---- memory ------------------------------------------------------------- */

static int cuda_host_alloc(void **out, size_t n, char *msg)
{
    *out = NULL;
    CU("cudaMallocHost", cudaMallocHost(out, n));
    return 0;
}

static void cuda_host_free(void *p)
{
    if (p && cudaFreeHost(p) != cudaSuccess)
        (void)cudaGetLastError(); /* a void function: nothing to report to */
}

static int cuda_dev_alloc(void **out, size_t n, char *msg)
{
    *out = NULL;
    CU("cudaMalloc", cudaMalloc(out, n));
    return 0;
}

static void cuda_dev_free(void *p)
{
    if (p && cudaFree(p) != cudaSuccess)
        (void)cudaGetLastError();
}

/* ---- streams and markers ------------------------------------------------ */

static void stream_release(h5ckpt__stream *s)
{
    int i;

    for (i = 0; i < H5CKPT__DEV_MARKS; i++)
        if (s->ev[i])
            (void)cudaEventDestroy(s->ev[i]);
    if (s->st)
        (void)cudaStreamDestroy(s->st);
    (void)cudaGetLastError();
    free(s);
}

static int cuda_stream_create(h5ckpt__stream **out, char *msg)
{
    h5ckpt__stream *s = calloc(1, sizeof *s);
    cudaError_t e;
    const char *call = "cudaStreamCreateWithFlags";
    int i;

    *out = NULL;
    if (!s)
        return h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory (stream)");
    e = cudaStreamCreateWithFlags(&s->st, cudaStreamNonBlocking);
    for (i = 0; e == cudaSuccess && i < H5CKPT__DEV_MARKS; i++) {
        call = "cudaEventCreateWithFlags";
        e = cudaEventCreateWithFlags(&s->ev[i], cudaEventDisableTiming);
    }
    if (e != cudaSuccess) {
        int rc = h5ckpt__cuda_fail(msg, call, e);
        stream_release(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void cuda_stream_destroy(h5ckpt__stream *s)
{
    if (!s)
        return;
    (void)cudaStreamSynchronize(s->st);
    stream_release(s);
}

static int cuda_mark(h5ckpt__stream *s, int i, char *msg)
{
    if (i < 0 || i >= H5CKPT__DEV_MARKS)
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "marker %d out of range", i);
    CU("cudaEventRecord", cudaEventRecord(s->ev[i], s->st));
    s->recorded[i] = 1;
    return 0;
}

static int cuda_wait(h5ckpt__stream *s, int i, char *msg)
{
    if (i < 0 || i >= H5CKPT__DEV_MARKS)
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "marker %d out of range", i);
    if (s->recorded[i])
        CU("cudaEventSynchronize", cudaEventSynchronize(s->ev[i]));
    return 0;
}

static int cuda_sync(h5ckpt__stream *s, char *msg)
{
    CU("cudaStreamSynchronize", cudaStreamSynchronize(s->st));
    return 0;
}

/* ---- copies, pack and unpack -------------------------------------------- */

static int cuda_copy(h5ckpt__stream *s, int dir, void *dst, const void *src,
                     size_t n, char *msg)
{
    static const enum cudaMemcpyKind kind[] = {
        cudaMemcpyDeviceToHost, cudaMemcpyHostToDevice,
        cudaMemcpyDeviceToDevice};

    if (dir < H5CKPT__D2H || dir > H5CKPT__D2D)
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "bad copy direction %d", dir);
    if (n == 0)
        return 0;
    CU("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, n, kind[dir], s->st));
    return 0;
}

/* One dimension of a copy: extent, stride of the strided side and of the
 * packed side (elements). */
typedef struct {
    uint64_t n;
    int64_t s, p;
} dim;

/* The dimensions of a strided <-> row-major copy, extent-1 dimensions
 * dropped and mergeable neighbours merged.  Returns how many (0: one
 * element). */
static int simplify(int ndim, const uint64_t *shape, const int64_t *strides,
                    dim *d)
{
    int64_t p = 1;
    int i, k = 0;

    /* inner to outer; d[0] is the innermost */
    for (i = ndim - 1; i >= 0; i--) {
        if (shape[i] != 1) {
            if (k > 0 && strides[i] == (int64_t)d[k - 1].n * d[k - 1].s) {
                d[k - 1].n *= shape[i]; /* packed side always merges */
            } else {
                d[k].n = shape[i];
                d[k].s = strides[i];
                d[k].p = p;
                k++;
            }
        }
        p *= (int64_t)shape[i];
    }
    return k;
}

/* dir 0: gather strided `sv` into packed `pv`; dir 1: scatter back. */
static int strided_copy(h5ckpt__stream *s, void *dstv, const void *srcv,
                        int ndim, const uint64_t *shape,
                        const int64_t *strides, size_t es, int unpack,
                        char *msg)
{
    dim d[H5CKPT_MAX_NDIM];
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, total;
    size_t width = es;
    int k, i, h, first = 0, dev, maxpitch = 0;
    int64_t sp, pp;
    char *dst = dstv;
    const char *src = srcv;

    if (ndim < 0 || ndim > H5CKPT_MAX_NDIM)
        return h5ckpt__fail(msg, H5CKPT_EINVAL, "bad ndim %d", ndim);
    for (i = 0; i < ndim; i++)
        if (strides[i] <= 0)
            return h5ckpt__fail(msg, H5CKPT_EINVAL,
                                "stride %d is %lld, not > 0", i,
                                (long long)strides[i]);
    total = h5ckpt__volume(ndim, shape, NULL);
    if (total == 0)
        return 0;
    k = simplify(ndim, shape, strides, d);
    if (k > 0 && d[0].s == 1) { /* whole rows */
        width = (size_t)d[0].n * es;
        first = 1;
    }
    if (first == k) { /* one contiguous block */
        CU("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, width,
                                              cudaMemcpyDeviceToDevice, s->st));
        return 0;
    }
    /* the height: the longest remaining dimension */
    for (h = first, i = first + 1; i < k; i++)
        if (d[i].n > d[h].n)
            h = i;
    sp = d[h].s * (int64_t)es;
    pp = d[h].p * (int64_t)es;
    CU("cudaGetDevice", cudaGetDevice(&dev));
    CU("cudaDeviceGetAttribute",
       cudaDeviceGetAttribute(&maxpitch, cudaDevAttrMaxPitch, dev));
    for (;;) {
        int64_t so = 0, po = 0;
        const char *from;
        char *to;
        size_t fp, tp;
        uint64_t r;

        for (i = first; i < k; i++)
            if (i != h) {
                so += (int64_t)idx[i] * d[i].s;
                po += (int64_t)idx[i] * d[i].p;
            }
        from = unpack ? src + po * (int64_t)es : src + so * (int64_t)es;
        to = unpack ? dst + so * (int64_t)es : dst + po * (int64_t)es;
        fp = (size_t)(unpack ? pp : sp);
        tp = (size_t)(unpack ? sp : pp);
        if (fp >= width && tp >= width && fp <= (size_t)maxpitch &&
            tp <= (size_t)maxpitch) {
            CU("cudaMemcpy2DAsync",
               cudaMemcpy2DAsync(to, tp, from, fp, width, (size_t)d[h].n,
                                 cudaMemcpyDeviceToDevice, s->st));
        } else {
            for (r = 0; r < d[h].n; r++)
                CU("cudaMemcpyAsync",
                   cudaMemcpyAsync(to + r * tp, from + r * fp, width,
                                   cudaMemcpyDeviceToDevice, s->st));
        }
        /* next index over the dimensions other than the height */
        for (i = first; i < k; i++) {
            if (i == h)
                continue;
            if (++idx[i] < d[i].n)
                break;
            idx[i] = 0;
        }
        if (i == k)
            return 0;
    }
}

static int cuda_pack(h5ckpt__stream *s, void *dst, const void *src, int ndim,
                     const uint64_t *shape, const int64_t *strides,
                     size_t elsize, char *msg)
{
    return strided_copy(s, dst, src, ndim, shape, strides, elsize, 0, msg);
}

static int cuda_unpack(h5ckpt__stream *s, void *dst, const void *src,
                       int ndim, const uint64_t *shape,
                       const int64_t *strides, size_t elsize, char *msg)
{
    return strided_copy(s, dst, src, ndim, shape, strides, elsize, 1, msg);
}

/* ---- the table ---------------------------------------------------------- */

/* Not const: h5ckpt__nccl_fill() sets the group members once. */
static h5ckpt__devops ops = {
    .name = "cuda",
    .probe = cuda_probe,
    .is_device = cuda_is_device,
    .device_id = cuda_device_id,
    .host_alloc = cuda_host_alloc,
    .host_free = cuda_host_free,
    .dev_alloc = cuda_dev_alloc,
    .dev_free = cuda_dev_free,
    .stream_create = cuda_stream_create,
    .stream_destroy = cuda_stream_destroy,
    .copy = cuda_copy,
    .pack = cuda_pack,
    .unpack = cuda_unpack,
    .mark = cuda_mark,
    .wait = cuda_wait,
    .sync = cuda_sync,
};

const h5ckpt__devops *h5ckpt__devops_builtin(void)
{
    static int filled;

    if (!filled) {
        h5ckpt__nccl_fill(&ops);
        filled = 1;
    }
    return &ops;
}
