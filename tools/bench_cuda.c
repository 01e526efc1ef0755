/* `h5ckpt bench --device cuda`: device buffers and the pinned copy
 * ceiling, on the CUDA runtime (linked directly by the tool). */
#include "bench.h"

#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

static int fail(char *msg, const char *call, cudaError_t e)
{
    (void)cudaGetLastError();
    snprintf(msg, 512, "%s: %s (%s)", call, cudaGetErrorString(e),
             cudaGetErrorName(e));
    return -1;
}

int bench_dev_probe(char *msg)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);

    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(msg, 512, "no CUDA device: cudaGetDeviceCount: %s (%s)",
                 cudaGetErrorString(e), cudaGetErrorName(e));
        return -1;
    }
    if (n == 0) {
        snprintf(msg, 512, "no CUDA device: cudaGetDeviceCount found 0 devices");
        return -1;
    }
    return 0;
}

int bench_dev_upload(void **out, const void *host, size_t n, char *msg)
{
    cudaError_t e;

    *out = NULL;
    if (n == 0)
        return 0;
    if ((e = cudaMalloc(out, n)) != cudaSuccess) {
        *out = NULL;
        return fail(msg, "cudaMalloc", e);
    }
    if ((e = cudaMemcpy(*out, host, n, cudaMemcpyHostToDevice)) != cudaSuccess)
        return fail(msg, "cudaMemcpy", e); /* the caller frees *out */
    return 0;
}

void bench_dev_free(void *dev)
{
    if (dev)
        (void)cudaFree(dev);
}

int bench_dev_download(void *host, const void *dev, size_t n, char *msg)
{
    cudaError_t e;

    if (n && (e = cudaMemcpy(host, dev, n, cudaMemcpyDeviceToHost)) != cudaSuccess)
        return fail(msg, "cudaMemcpy", e);
    return 0;
}

int bench_dev_pinned(void **out, size_t n, char *msg)
{
    cudaError_t e;

    *out = NULL;
    if ((e = cudaMallocHost(out, n ? n : 1)) != cudaSuccess) {
        *out = NULL;
        return fail(msg, "cudaMallocHost", e);
    }
    memset(*out, 0xA5, n);
    return 0;
}

void bench_dev_pinned_free(void *p)
{
    if (p)
        (void)cudaFreeHost(p);
}

int bench_dev_copy(void *pin, size_t pin_bytes, void *const *dev,
                   const uint64_t *bytes, size_t count, uint64_t total,
                   int d2h, char *msg)
{
    size_t i;
    cudaError_t e;

    for (i = 0; total && i < count; i++) {
        uint64_t have = bytes[i] < total ? bytes[i] : total, done = 0;

        while (done < have) {
            size_t n = have - done < pin_bytes ? (size_t)(have - done) : pin_bytes;
            char *d = (char *)dev[i] + done;

            e = d2h ? cudaMemcpy(pin, d, n, cudaMemcpyDeviceToHost)
                    : cudaMemcpy(d, pin, n, cudaMemcpyHostToDevice);
            if (e != cudaSuccess)
                return fail(msg, "cudaMemcpy", e);
            done += n;
        }
        total -= have;
    }
    return 0;
}
