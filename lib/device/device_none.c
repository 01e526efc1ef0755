/*
 * The device backend of a build without CUDA: there is none.  The core then
 * refuses device buffers (H5CKPT_ENOTSUP) and never needs a staging area.
 * Tests may still install a fake backend with h5ckpt__devops_override().
 */
#include "device/device.h"

const h5ckpt__devops *h5ckpt__devops_builtin(void) { return NULL; }
