/* Reserved root information of a reader, as text for tools (h5ckpt ls). */
#include "h5ckpt_private.h"

#include <stdio.h>
#include <string.h>

int h5ckpt_root_info(const h5ckpt *ck, const char *key, char *buf, size_t size)
{
    static const char *const keys[] = {"created", "library_version", "writer_nranks",
                                       "writer_mesh_dim_names", NULL};
    char name[64], msg[H5CKPT_MSG_MAX];
    h5ckpt__attr a = {0};
    h5ckpt__h5quiet q;
    hid_t fid, own = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    size_t i, n, len = 0;
    int rc = 0, k;

    if (!ck || !key || !buf || size == 0)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__READER)
        return H5CKPT_EMODE;
    for (k = 0; keys[k] && strcmp(keys[k], key); k++)
        ;
    if (!keys[k])
        return H5CKPT_ENOTFOUND;
    snprintf(name, sizeof name, "%s%s", H5CKPT_RESERVED_PREFIX, key);
    h5ckpt__h5quiet_begin(&q);
    /* Local: a fast reader may hold no HDF5 handle; read through a serial
     * one of this rank's own then. */
    fid = ck->fid;
    if (fid < 0 && ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
                    H5Pset_fapl_sec2(fapl) < 0 ||
                    H5Pset_file_locking(fapl, ck->opts.no_file_locking ? 0 : 1, 1) < 0 ||
                    (own = fid = H5Fopen(ck->path, H5F_ACC_RDONLY, fapl)) < 0)) {
        rc = H5CKPT_EIO;
        goto done;
    }
    if (H5Aexists(fid, name) <= 0) {
        rc = H5CKPT_ENOTFOUND;
        goto done;
    }
    if (h5ckpt__attr_read(fid, name, &a, msg) != 0 ||
        (a.type != H5CKPT_ATTR_STRING && a.type != H5CKPT_ATTR_INT64)) {
        rc = H5CKPT_ECORRUPT;
        goto done;
    }
    buf[0] = '\0';
    n = a.count ? a.count : 1;
    for (i = 0; i < n && len < size; i++) {
        int w = a.type == H5CKPT_ATTR_STRING
                    ? snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                               ((char **)a.values)[i])
                    : snprintf(buf + len, size - len, "%s%lld", i ? "," : "",
                               (long long)((int64_t *)a.values)[i]);
        len += (size_t)w;
    }
    if (len >= size)
        rc = H5CKPT_EINVAL;
done:
    if (own >= 0)
        H5Fclose(own);
    if (fapl >= 0)
        H5Pclose(fapl);
    h5ckpt__attr_clear(&a);
    h5ckpt__h5quiet_end(&q);
    return rc;
}
