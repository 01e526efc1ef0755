/*
 * A host emulation of the few CUDA runtime calls lib/device_cuda.c makes,
 * for tests/gpu/test_cuda_pack_emulated.c only: "device" memory is host
 * memory, copies are memcpy, and every copy call is counted, so the device
 * pack/unpack logic is tested on every build, with or without a GPU or
 * CUDA.  It is not the CUDA API: only what device_cuda.c uses.
 */
#ifndef H5CKPT_EMU_CUDA_RUNTIME_H
#define H5CKPT_EMU_CUDA_RUNTIME_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int cudaError_t;
typedef void *cudaStream_t;
typedef void *cudaEvent_t;
enum {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidPitchValue = 12
};
enum cudaMemcpyKind {
    cudaMemcpyHostToHost,
    cudaMemcpyHostToDevice,
    cudaMemcpyDeviceToHost,
    cudaMemcpyDeviceToDevice
};
enum {
    cudaMemoryTypeDevice = 2,
    cudaStreamNonBlocking = 1,
    cudaEventDisableTiming = 2,
    cudaDevAttrMaxPitch = 11
};
struct cudaPointerAttributes {
    int type;
};

/* Counters and the emulated device's pitch limit (test_cuda_pack_emulated.c). */
extern long emu_copies_1d, emu_copies_2d;
extern int emu_max_pitch;

static inline const char *cudaGetErrorString(cudaError_t e)
{
    return e == cudaErrorInvalidPitchValue ? "invalid pitch argument"
                                           : "invalid argument";
}
static inline const char *cudaGetErrorName(cudaError_t e)
{
    return e == cudaErrorInvalidPitchValue ? "cudaErrorInvalidPitchValue"
                                           : "cudaErrorInvalidValue";
}
static inline cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static inline cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return 0; }
static inline cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *a,
                                                   const void *p)
{
    (void)p;
    a->type = 0;
    return 0;
}
static inline cudaError_t cudaGetDevice(int *d) { *d = 0; return 0; }
static inline cudaError_t cudaDeviceGetPCIBusId(char *b, int n, int d)
{
    (void)d;
    snprintf(b, (size_t)n, "0000:00:00.0");
    return 0;
}
static inline cudaError_t cudaDeviceGetAttribute(int *v, int a, int d)
{
    (void)a, (void)d;
    *v = emu_max_pitch;
    return 0;
}
static inline cudaError_t cudaMallocHost(void **p, size_t n)
{
    return (*p = malloc(n ? n : 1)) ? 0 : cudaErrorMemoryAllocation;
}
static inline cudaError_t cudaFreeHost(void *p) { free(p); return 0; }
static inline cudaError_t cudaMalloc(void **p, size_t n)
{
    return (*p = malloc(n ? n : 1)) ? 0 : cudaErrorMemoryAllocation;
}
static inline cudaError_t cudaFree(void *p) { free(p); return 0; }
static inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, int f)
{
    (void)f;
    *s = (void *)1;
    return 0;
}
static inline cudaError_t cudaStreamDestroy(cudaStream_t s) { (void)s; return 0; }
static inline cudaError_t cudaStreamSynchronize(cudaStream_t s) { (void)s; return 0; }
static inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, int f)
{
    (void)f;
    *e = (void *)1;
    return 0;
}
static inline cudaError_t cudaEventDestroy(cudaEvent_t e) { (void)e; return 0; }
static inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    (void)e, (void)s;
    return 0;
}
static inline cudaError_t cudaEventSynchronize(cudaEvent_t e) { (void)e; return 0; }
static inline cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n,
                                          enum cudaMemcpyKind k, cudaStream_t st)
{
    (void)k, (void)st;
    if (!d || !s)
        return cudaErrorInvalidValue;
    emu_copies_1d++;
    memcpy(d, s, n);
    return 0;
}
static inline cudaError_t cudaMemcpy2DAsync(void *d, size_t dp, const void *s,
                                            size_t sp, size_t w, size_t h,
                                            enum cudaMemcpyKind k, cudaStream_t st)
{
    size_t r;

    (void)k, (void)st;
    if (dp < w || sp < w || dp > (size_t)emu_max_pitch || sp > (size_t)emu_max_pitch)
        return cudaErrorInvalidPitchValue;
    emu_copies_2d++;
    for (r = 0; r < h; r++)
        memcpy((char *)d + r * dp, (const char *)s + r * sp, w);
    return 0;
}

#endif
