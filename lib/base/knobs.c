/*
 * Test knobs: the switches tests and benchmarks set, behind one private
 * setter; the library only reads them.  Zero is the production behaviour.
 */
#include "base/base.h"

static h5ckpt__knobs knobs;

const h5ckpt__knobs *h5ckpt__knobs_get(void) { return &knobs; }

void h5ckpt__knobs_set(const h5ckpt__knobs *k)
{
    static const h5ckpt__knobs defaults;

    knobs = k ? *k : defaults;
}
