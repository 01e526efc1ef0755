/*
 * Reserved root information of a reader, as text for tools (h5ckpt ls):
 * what the handle read at open (the index's root), never the file again,
 * so it describes the file the handle opened whatever happens at its path.
 */
#include "handle/handle.h"

#include <stdio.h>
#include <string.h>

int h5ckpt_root_info(const h5ckpt *ck, const char *key, char *buf, size_t size)
{
    h5ckpt__ctx *ctx;
    const h5ckpt__root *r;
    char text[32];
    const char *value = NULL;

    if (!ck || !key || !buf || size == 0)
        return H5CKPT_EINVAL;
    ctx = (h5ckpt__ctx *)&ck->ctx; /* the message is scratch (SQLite style) */
    r = &ck->file.index.root;
    if (ck->mode != H5CKPT__READER)
        return h5ckpt__set(ctx, H5CKPT_EMODE, "root information needs a reader");
    if (!strcmp(key, "created")) {
        value = r->created;
    } else if (!strcmp(key, "library_version")) {
        value = r->library_version;
    } else if (!strcmp(key, "writer_nranks")) {
        snprintf(text, sizeof text, "%lld", (long long)r->nranks);
        value = text;
    } else if (!strcmp(key, "writer_mesh_dim_names")) {
        if (r->mesh_dims_bad)
            return h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                               "the mesh dimension names are not strings");
        if (!r->mesh_dim_names)
            return h5ckpt__set(ctx, H5CKPT_ENOTFOUND,
                               "the file records no mesh dimension names");
        value = r->mesh_dim_names;
    } else {
        return h5ckpt__set(ctx, H5CKPT_ENOTFOUND, "no root information '%.64s'",
                           key);
    }
    if (!value) /* required attributes: open read them */
        return h5ckpt__set(ctx, H5CKPT_ENOTFOUND, "no root information '%s'", key);
    if (strlen(value) >= size)
        return h5ckpt__set(ctx, H5CKPT_EINVAL,
                           "root information '%s' needs %zu bytes, the buffer "
                           "has %zu", key, strlen(value) + 1, size);
    memcpy(buf, value, strlen(value) + 1);
    return 0;
}
