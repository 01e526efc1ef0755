/*
 * Device buffers, the parts every layer above shares: which backend is in
 * use (the test override, else the build's) and what kind of memory a put
 * or get names.
 */
#include "device/device.h"

static const h5ckpt__devops *override_ops;

const h5ckpt__devops *h5ckpt__devops_get(void)
{
    return override_ops ? override_ops : h5ckpt__devops_builtin();
}

void h5ckpt__devops_override(const h5ckpt__devops *ops) { override_ops = ops; }

int h5ckpt__device_kind(const char *path, int declared_cuda, const void *data,
                        h5ckpt_memkind *kind, char *msg)
{
    const h5ckpt__devops *d = h5ckpt__devops_get();
    char why[H5CKPT_MSG_MAX] = "";
    int rc;

    *kind = H5CKPT_MEM_HOST;
    if (!declared_cuda) {
        /* Detection: only where a usable backend says so. */
        if (d && data && d->probe(why) == 0 && d->is_device(data))
            *kind = H5CKPT_MEM_CUDA;
        return 0;
    }
    if (!d)
        return h5ckpt__fail(msg, H5CKPT_ENOTSUP,
                            "tensor '%s': CUDA buffers need a CUDA build", path);
    if ((rc = d->probe(why)) != 0)
        return h5ckpt__fail(msg, rc, "tensor '%s': %s", path, why);
    if (data && !d->is_device(data))
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "tensor '%s': declared CUDA, but the buffer is not "
                            "device memory", path);
    *kind = H5CKPT_MEM_CUDA;
    return 0;
}

/* Public: whether buffers of this memory kind can be used here (bindings
 * ask before handing the library a device pointer). */
int h5ckpt_memkind_usable(h5ckpt_memkind kind, h5ckpt_error *err)
{
    const h5ckpt__devops *d;
    char why[H5CKPT_MSG_MAX] = "";
    int rc;

    if (kind == H5CKPT_MEM_HOST)
        return 0;
    if (kind != H5CKPT_MEM_CUDA) {
        h5ckpt__seterror(err, H5CKPT_EINVAL, "unknown memory kind");
        return H5CKPT_EINVAL;
    }
    if (!(d = h5ckpt__devops_get())) {
        h5ckpt__seterror(err, H5CKPT_ENOTSUP, "CUDA buffers need a CUDA build");
        return H5CKPT_ENOTSUP;
    }
    if ((rc = d->probe(why)) != 0)
        h5ckpt__seterror(err, rc, why);
    return rc;
}
