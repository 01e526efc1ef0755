/* A CUDA build without NCCL: the backend has no device broadcast groups, so
 * the core reads replicas through the host path. */
#include "device/device_cuda.h"

void h5ckpt__nccl_fill(h5ckpt__devops *ops) { (void)ops; }
