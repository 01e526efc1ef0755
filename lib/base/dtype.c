/* Logical dtypes: names and sizes (format-spec, "Type mapping"). */
#include "base/base.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
#define H5CKPT__DT_ROW(name, str, size) {str, size},
    H5CKPT_DTYPE_MAP(H5CKPT__DT_ROW)
#undef H5CKPT__DT_ROW
};

static int valid(h5ckpt_dtype d) { return (int)d >= 0 && d < H5CKPT_DTYPE_COUNT; }

const char *h5ckpt_dtype_name(h5ckpt_dtype d)
{
    return valid(d) ? dtypes[d].name : NULL;
}

size_t h5ckpt_dtype_size(h5ckpt_dtype d) { return valid(d) ? dtypes[d].size : 0; }

int h5ckpt_dtype_from_name(h5ckpt_dtype *out, const char *name,
                           h5ckpt_error *err)
{
    int i;

    if (!out || !name)
        return h5ckpt__error(err, H5CKPT_EINVAL, "%s is NULL",
                             !out ? "out" : "name");
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
        if (strcmp(dtypes[i].name, name) == 0) {
            *out = (h5ckpt_dtype)i;
            return 0;
        }
    }
    return h5ckpt__error(err, H5CKPT_EINVAL, "unknown dtype '%.64s'", name);
}
