/*
 * The one validator of what a file says about itself (format-spec/FORMAT.md,
 * "Root group" and "Checksums"): open stops at the first problem, verify
 * reports them all.
 */
#include "format/format.h"

#include <stdlib.h>

void h5ckpt__root_clear(h5ckpt__root *r)
{
    free(r->created);
    free(r->library_version);
    free(r->mesh_dim_names);
    r->created = r->library_version = r->mesh_dim_names = NULL;
}
