/* Listings of a reader's index: tensors, groups, versions, writer mesh. */
#include "handle/handle.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const h5ckpt__tensor *find_tensor(const h5ckpt *ck, const char *path)
{
    return ck ? h5ckpt__index_tensor(&ck->file.index, path) : NULL;
}

size_t h5ckpt_tensor_count(const h5ckpt *ck) { return ck ? ck->file.index.ntensors : 0; }

const char *h5ckpt_tensor_at(const h5ckpt *ck, size_t i)
{
    return ck && i < ck->file.index.ntensors ? ck->file.index.tensors[i].path : NULL;
}

int h5ckpt_tensor_info(const h5ckpt *ck, const char *path, h5ckpt_dtype *dtype,
                       int *ndim, uint64_t *shape)
{
    const h5ckpt__tensor *t;

    if (!ck)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__READER)
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_EMODE,
                           "tensors can only be listed on a reader");
    if (!(t = find_tensor(ck, path)))
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_ENOTFOUND,
                           "no tensor '%s' in the checkpoint", path ? path : "(null)");
    if (dtype)
        *dtype = t->dtype;
    if (ndim)
        *ndim = t->ndim;
    if (shape && t->ndim > 0)
        memcpy(shape, t->shape, (size_t)t->ndim * sizeof *shape);
    return 0;
}

const char *h5ckpt_tensor_placements(const h5ckpt *ck, const char *path)
{
    const h5ckpt__tensor *t = find_tensor(ck, path);

    return t ? t->placements : NULL;
}

int h5ckpt_group_exists(const h5ckpt *ck, const char *group)
{
    if (!ck || !group)
        return 0;
    if (!*group)
        return 1;
    if (ck->mode == H5CKPT__WRITER)
        return h5ckpt__strmap_get(&ck->queue.names, group) == 1;
    return ck->file.index.groups &&
           bsearch(&group, ck->file.index.groups, ck->file.index.ngroups,
                   sizeof *ck->file.index.groups, cmp_str) != NULL;
}

size_t h5ckpt_group_count(const h5ckpt *ck) { return ck ? ck->file.index.ngroups : 0; }

const char *h5ckpt_group_at(const h5ckpt *ck, size_t i)
{
    return ck && i < ck->file.index.ngroups ? ck->file.index.groups[i] : NULL;
}

int h5ckpt_format_versions(const h5ckpt *ck, int64_t *write_version,
                           int64_t *read_version)
{
    if (!ck)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__READER)
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_EMODE, "not a reader");
    if (write_version)
        *write_version = ck->file.index.root.write_version;
    if (read_version)
        *read_version = ck->file.index.root.read_version;
    return 0;
}

int h5ckpt_writer_mesh(const h5ckpt *ck, int *ndim, int64_t *shape)
{
    if (!ck)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__READER)
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_EMODE, "not a reader");
    if (ndim)
        *ndim = ck->file.index.root.mesh_ndim;
    if (shape && ck->file.index.root.mesh_ndim > 0)
        memcpy(shape, ck->file.index.root.mesh_shape, (size_t)ck->file.index.root.mesh_ndim * sizeof *shape);
    return 0;
}
