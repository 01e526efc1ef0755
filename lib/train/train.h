/*
 * lib/train — the training-state layer (state.c: models, optimizer,
 * scheduler, scaler and metadata under the format's training-state profile)
 * and numbered checkpoint directories (ckdir.c), the top layer.  Built on
 * the public API of h5ckpt.h, plus the base helpers, layout copies, the
 * format's temporary names and commit marker (directory listings), and a
 * handle's mode and communicator.
 *
 * May include: every layer below (lib/base, layout, format, io, handle),
 * never lib/device.
 */
#ifndef H5CKPT_TRAIN_H
#define H5CKPT_TRAIN_H

#include "handle/handle.h"

#endif /* H5CKPT_TRAIN_H */
