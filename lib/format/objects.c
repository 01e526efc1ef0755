/*
 * The objects a writer creates (format-spec/FORMAT.md): the root
 * attributes, groups, tensor datasets with their reserved attributes, user
 * attributes, the commit marker.  Structural HDF5 calls: every holder of the
 * file makes them with the same arguments in the same order (io/objects.c
 * decides who holds it).
 */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

int h5ckpt__root_write(h5ckpt__file *f, const h5ckpt_mesh *m, int nranks,
                       const char *created, char *msg)
{
    int64_t wv = H5CKPT_FORMAT_WRITE_VERSION, rv = H5CKPT_FORMAT_READ_VERSION;
    int64_t n = nranks, shape[H5CKPT_MAX_NDIM];
    int i, rc, ndim = m ? m->ndim : 1;

    for (i = 0; i < ndim; i++)
        shape[i] = m ? m->shape[i] : nranks;
    if ((rc = h5ckpt__attr_write_string(f->fid, H5CKPT_A_FORMAT,
                                        H5CKPT_FORMAT_NAME, msg)) ||
        (rc = h5ckpt__attr_write_int64s(f->fid, H5CKPT_A_WRITE_VERSION, 0, &wv,
                                        msg)) ||
        (rc = h5ckpt__attr_write_int64s(f->fid, H5CKPT_A_READ_VERSION, 0, &rv,
                                        msg)) ||
        (rc = h5ckpt__attr_write_string(f->fid, H5CKPT_A_LIBVERSION,
                                        H5CKPT_VERSION_STRING, msg)) ||
        (rc = h5ckpt__attr_write_string(f->fid, H5CKPT_A_CREATED, created, msg)) ||
        (rc = h5ckpt__attr_write_int64s(f->fid, H5CKPT_A_NRANKS, 0, &n, msg)) ||
        (rc = h5ckpt__attr_write_int64s(f->fid, H5CKPT_A_MESH_SHAPE,
                                        (size_t)ndim, shape, msg)))
        return rc;
    if (m && m->names[0]) {
        h5ckpt__attr a = {0};
        a.name = H5CKPT_A_MESH_DIMS;
        a.type = H5CKPT_ATTR_STRING;
        a.count = (size_t)m->ndim;
        a.values = (void *)m->names;
        return h5ckpt__attr_write(f->fid, &a, msg);
    }
    return 0;
}

int h5ckpt__committed_write(h5ckpt__file *f, char *msg)
{
    int64_t one = 1;

    return h5ckpt__attr_write_int64s(f->fid, H5CKPT_A_COMMITTED, 0, &one, msg);
}

/* Create the groups above `path` (and `path` itself when `self`). */
int h5ckpt__groups_make(h5ckpt__file *f, const char *path, int self, char *msg)
{
    char *p = h5ckpt__strdup(path), *s;
    int rc = 0;

    if (!p)
        return h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    for (s = p;; s++) {
        if (*s == '/' || (*s == '\0' && self && *p)) {
            char c = *s;
            *s = '\0';
            if (h5ckpt__strmap_get(&f->created, p) < 0) {
                hid_t g = H5Gcreate2(f->fid, p, H5P_DEFAULT, H5P_DEFAULT,
                                     H5P_DEFAULT);
                if (g < 0) {
                    rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot create group '%s'", p);
                    h5ckpt__append_h5err(msg);
                    break;
                }
                H5Gclose(g);
                if (h5ckpt__strmap_put(&f->created, p, 1) != 0) {
                    rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
                    break;
                }
            }
            *s = c;
        }
        if (*s == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Creation properties shared by every tensor dataset (format spec:
 * contiguous, fill never, early allocation); made once per flush, since
 * creating and closing a property list per dataset was ~7% of rank 0's
 * work for 10,000 tensors. */
hid_t h5ckpt__tensor_dcpl(void)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);

    if (dcpl >= 0 && (H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
                      H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0 ||
                      H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0)) {
        H5Pclose(dcpl);
        dcpl = H5I_INVALID_HID;
    }
    return dcpl;
}

int h5ckpt__dataset_create(h5ckpt__file *f, const char *path, h5ckpt_dtype dtype,
                           const h5ckpt_layout *l, hid_t dcpl,
                           int64_t *offset, char *msg)
{
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID;
    hsize_t dims[H5CKPT_MAX_NDIM];
    char placements[1024];
    int i, rc;

    if ((rc = h5ckpt__groups_make(f, path, 0, msg)) != 0)
        return rc;
    for (i = 0; i < l->ndim; i++)
        dims[i] = l->shape[i];
    type = h5ckpt__h5type(dtype);
    space = l->ndim ? H5Screate_simple(l->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    if (type < 0 || space < 0 ||
        (d = H5Dcreate2(f->fid, path, type, space, H5P_DEFAULT, dcpl,
                        H5P_DEFAULT)) < 0) {
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot create tensor '%s'", path);
        h5ckpt__append_h5err(msg);
        goto done;
    }
    {
        haddr_t off = H5Dget_offset(d); /* early allocation: known now */
        *offset = off == HADDR_UNDEF ? -1 : (int64_t)off;
    }
    h5ckpt__placements_text(l, placements, sizeof placements);
    if ((rc = h5ckpt__attr_write_string(d, H5CKPT_A_DTYPE,
                                        h5ckpt_dtype_name(dtype), msg)) ||
        (rc = h5ckpt__attr_write_string(d, H5CKPT_A_PLACEMENTS, placements,
                                        msg)))
        goto done;
done:
    if (d >= 0)
        H5Dclose(d);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

int h5ckpt__attr_put_file(h5ckpt__file *f, const h5ckpt__attr *a, int on_tensor,
                          char *msg)
{
    hid_t obj;
    int rc;

    if (*a->obj && !on_tensor && (rc = h5ckpt__groups_make(f, a->obj, 1, msg)) != 0)
        return rc;
    if ((obj = H5Oopen(f->fid, *a->obj ? a->obj : "/", H5P_DEFAULT)) < 0) {
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot open '%s'", a->obj);
        h5ckpt__append_h5err(msg);
        return rc;
    }
    rc = h5ckpt__attr_write(obj, a, msg);
    H5Oclose(obj);
    return rc;
}

