/*
 * Shared between the CUDA backend files only (device_cuda.c and
 * device_nccl.c / device_nonccl.c); includes the CUDA runtime header, so the
 * core never includes this file.
 */
#ifndef H5CKPT_DEVICE_CUDA_H
#define H5CKPT_DEVICE_CUDA_H

#include <cuda_runtime.h>

#include "device/device.h"
#include "layout/layout.h"

struct h5ckpt__stream {
    cudaStream_t st;
    cudaEvent_t ev[H5CKPT__DEV_MARKS];
    int recorded[H5CKPT__DEV_MARKS]; /* wait on a never-recorded marker
                                        returns at once */
};

/* Turn CUDA error `e` of `call` into H5CKPT_ENOMEM (allocation) or
 * H5CKPT_EDEVICE with "call: message (cudaErrorName)" in `msg`; clears the
 * thread's last (non-sticky) error. */
int h5ckpt__cuda_fail(char *msg, const char *call, cudaError_t e);

/* Set the group members of `ops` (device_nccl.c), or leave them NULL
 * (device_nonccl.c). */
void h5ckpt__nccl_fill(h5ckpt__devops *ops);

#endif /* H5CKPT_DEVICE_CUDA_H */
