/*
 * The build's device backend when it has no CUDA: none.  Temporary on this
 * branch so that it links; the CUDA branch (gpu) has the same file, and
 * device_cuda.c for CUDA builds.  On a merge, theirs wins.
 */
#include "device.h"

const h5ckpt__devops *h5ckpt__devops_builtin(void) { return NULL; }
