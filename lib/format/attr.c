/* Typed attributes: the codec (HDF5 types of the format, serialisation). */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

size_t h5ckpt__attr_elem_size(h5ckpt_attr_type t)
{
    switch (t) {
    case H5CKPT_ATTR_INT64: return sizeof(int64_t);
    case H5CKPT_ATTR_FLOAT64: return sizeof(double);
    case H5CKPT_ATTR_BOOL: return sizeof(int);
    case H5CKPT_ATTR_STRING: return sizeof(char *);
    }
    return 0;
}

static size_t nvals(const h5ckpt__attr *a) { return a->count ? a->count : 1; }

void h5ckpt__attr_clear(h5ckpt__attr *a)
{
    size_t i;

    if (a->type == H5CKPT_ATTR_STRING && a->values)
        for (i = 0; i < nvals(a); i++)
            free(((char **)a->values)[i]);
    free(a->values);
    free(a->obj);
    free(a->name);
    memset(a, 0, sizeof *a);
}

void h5ckpt__attr_serialize(const h5ckpt__attr *a, h5ckpt__buf *b)
{
    size_t i;

    h5ckpt__buf_str(b, a->obj);
    h5ckpt__buf_str(b, a->name);
    h5ckpt__buf_u64(b, (uint64_t)a->type);
    h5ckpt__buf_u64(b, a->count);
    if (a->type == H5CKPT_ATTR_STRING)
        for (i = 0; i < nvals(a); i++)
            h5ckpt__buf_str(b, ((char **)a->values)[i]);
    else
        h5ckpt__buf_bytes(b, a->values, nvals(a) * h5ckpt__attr_elem_size(a->type));
}

int h5ckpt__attr_deserialize(h5ckpt__attr *a, h5ckpt__buf *b)
{
    const char *obj = h5ckpt__buf_get_str(b), *name = h5ckpt__buf_get_str(b);
    uint64_t type = h5ckpt__buf_get_u64(b), count = h5ckpt__buf_get_u64(b);
    size_t i, n;

    memset(a, 0, sizeof *a);
    if (b->err || type > H5CKPT_ATTR_BOOL || count > H5CKPT_MAX_ATTR_ELEMS)
        return H5CKPT_ECORRUPT;
    a->type = (h5ckpt_attr_type)type;
    a->count = count;
    n = nvals(a);
    a->obj = h5ckpt__strdup(obj);
    a->name = h5ckpt__strdup(name);
    a->values = calloc(n, h5ckpt__attr_elem_size(a->type));
    if (!a->obj || !a->name || !a->values)
        goto nomem;
    if (a->type == H5CKPT_ATTR_STRING) {
        for (i = 0; i < n; i++) {
            const char *s = h5ckpt__buf_get_str(b);
            if (!s)
                return H5CKPT_ECORRUPT;
            if (!(((char **)a->values)[i] = h5ckpt__strdup(s)))
                goto nomem;
        }
    } else {
        const void *p = h5ckpt__buf_get_bytes(b, n * h5ckpt__attr_elem_size(a->type));
        if (!p)
            return H5CKPT_ECORRUPT;
        memcpy(a->values, p, n * h5ckpt__attr_elem_size(a->type));
    }
    return 0;
nomem:
    return H5CKPT_ENOMEM;
}

/* ---- HDF5 I/O ------------------------------------------------------------ */

static hid_t string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);

    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static int write_raw(hid_t obj, const char *name, h5ckpt_attr_type type,
                     size_t count, const void *values, char *msg)
{
    hid_t t = H5I_INVALID_HID, s = H5I_INVALID_HID, a = H5I_INVALID_HID;
    hsize_t dim = count;
    signed char *bools = NULL;
    const void *buf = values;
    size_t i, n = count ? count : 1;
    int rc = 0;

    switch (type) {
    case H5CKPT_ATTR_INT64: t = H5Tcopy(H5T_STD_I64LE); break;
    case H5CKPT_ATTR_FLOAT64: t = H5Tcopy(H5T_IEEE_F64LE); break;
    case H5CKPT_ATTR_STRING: t = string_type(); break;
    case H5CKPT_ATTR_BOOL:
        t = h5ckpt__h5type(H5CKPT_BOOL);
        if (!(bools = malloc(n))) {
            rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
            goto done;
        }
        for (i = 0; i < n; i++)
            bools[i] = ((const int *)values)[i] != 0;
        buf = bools;
        break;
    }
    s = count ? H5Screate_simple(1, &dim, NULL) : H5Screate(H5S_SCALAR);
    if (t < 0 || s < 0 ||
        (a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, t, buf) < 0) {
        rc = h5ckpt__fail(msg, H5CKPT_EIO, "cannot write attribute '%s'", name);
        h5ckpt__append_h5err(msg);
    }
done:
    if (a >= 0)
        H5Aclose(a);
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    free(bools);
    return rc;
}

int h5ckpt__attr_write(hid_t obj, const h5ckpt__attr *a, char *msg)
{
    return write_raw(obj, a->name, a->type, a->count, a->values, msg);
}

int h5ckpt__attr_write_string(hid_t obj, const char *name, const char *value,
                              char *msg)
{
    return write_raw(obj, name, H5CKPT_ATTR_STRING, 0, &value, msg);
}

int h5ckpt__attr_write_int64s(hid_t obj, const char *name, size_t count,
                              const int64_t *v, char *msg)
{
    return write_raw(obj, name, H5CKPT_ATTR_INT64, count, v, msg);
}

/* Read strings (variable or fixed length) into newly allocated C strings. */
static int read_strings(hid_t attr, hid_t ftype, size_t n, char **out)
{
    hid_t mt = H5I_INVALID_HID;
    int rc = H5CKPT_ECORRUPT;
    size_t i;

    if (H5Tis_variable_str(ftype) > 0) {
        char **tmp = calloc(n, sizeof *tmp);
        hid_t space = H5Aget_space(attr);
        if (tmp && (mt = string_type()) >= 0 && space >= 0 &&
            H5Aread(attr, mt, tmp) >= 0) {
            rc = 0;
            for (i = 0; i < n; i++)
                if (tmp[i] && strlen(tmp[i]) > H5CKPT_MAX_STRING)
                    rc = H5CKPT_ECORRUPT;
                else if (!(out[i] = h5ckpt__strdup(tmp[i] ? tmp[i] : "")))
                    rc = H5CKPT_ENOMEM;
            H5Dvlen_reclaim(mt, space, H5P_DEFAULT, tmp);
        }
        if (space >= 0)
            H5Sclose(space);
        free(tmp);
    } else {
        size_t sz = H5Tget_size(ftype);
        char *raw;
        if (sz == 0 || sz > H5CKPT_MAX_STRING || n * sz > (64u << 20))
            return H5CKPT_ECORRUPT;
        raw = calloc(n, sz + 1);
        mt = H5Tcopy(H5T_C_S1);
        if (raw && mt >= 0 && H5Tset_size(mt, sz + 1) >= 0 &&
            H5Aread(attr, mt, raw) >= 0) {
            rc = 0;
            for (i = 0; i < n; i++) {
                raw[i * (sz + 1) + sz] = '\0';
                if (!(out[i] = h5ckpt__strdup(raw + i * (sz + 1))))
                    rc = H5CKPT_ENOMEM;
            }
        }
        free(raw);
    }
    if (mt >= 0)
        H5Tclose(mt);
    return rc;
}

/*
 * Read integers as int64.  HDF5 would clamp an unsigned value above
 * INT64_MAX; such an attribute is not one the format stores, so it is
 * skipped (returns 1) instead of being listed with a wrong value.
 */
static int read_int64s(hid_t attr, hid_t ftype, size_t n, int64_t *out)
{
    size_t i;

    if (H5Tget_sign(ftype) == H5T_SGN_NONE && H5Tget_size(ftype) == 8) {
        if (H5Aread(attr, H5T_NATIVE_UINT64, out) < 0)
            return H5CKPT_ECORRUPT;
        for (i = 0; i < n; i++)
            if ((uint64_t)out[i] > (uint64_t)INT64_MAX)
                return 1;
        return 0;
    }
    return H5Aread(attr, H5T_NATIVE_INT64, out) < 0 ? H5CKPT_ECORRUPT : 0;
}

static int is_bool_enum(hid_t t)
{
    hid_t want = h5ckpt__h5type(H5CKPT_BOOL);
    int eq = want >= 0 && H5Tequal(t, want) > 0;

    if (want >= 0)
        H5Tclose(want);
    return eq;
}

int h5ckpt__attr_read(hid_t obj, const char *name, h5ckpt__attr *a, char *msg)
{
    hid_t at = H5I_INVALID_HID, ft = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    H5T_class_t cls;
    int ndims, rc = 0;
    hsize_t dim = 0;
    size_t n, i;

    if ((at = H5Aopen(obj, name, H5P_DEFAULT)) < 0 ||
        (ft = H5Aget_type(at)) < 0 || (sp = H5Aget_space(at)) < 0) {
        rc = h5ckpt__fail(msg, H5CKPT_ECORRUPT, "cannot open attribute '%s'",
                          name);
        goto done;
    }
    if (H5Sget_simple_extent_type(sp) == H5S_NULL) {
        rc = 1; /* no value at all: not an attribute the format stores */
        goto done;
    }
    ndims = H5Sget_simple_extent_ndims(sp);
    if (ndims == 0) {
        a->count = 0;
    } else if (ndims == 1 && H5Sget_simple_extent_dims(sp, &dim, NULL) == 1 &&
               dim >= 1) {
        if (dim > H5CKPT_MAX_ATTR_ELEMS) {
            rc = h5ckpt__fail(msg, H5CKPT_ECORRUPT,
                              "attribute '%s' has %llu elements (at most %u)",
                              name, (unsigned long long)dim,
                              H5CKPT_MAX_ATTR_ELEMS);
            goto done;
        }
        a->count = (size_t)dim;
    } else {
        rc = 1; /* not a shape the format stores: skipped */
        goto done;
    }
    n = a->count ? a->count : 1;
    cls = H5Tget_class(ft);
    if (cls == H5T_INTEGER && H5Tget_size(ft) > 8) {
        rc = 1; /* wider than int64: values could not be kept exactly */
        goto done;
    }
    if (cls == H5T_INTEGER)
        a->type = H5CKPT_ATTR_INT64;
    else if (cls == H5T_FLOAT)
        a->type = H5CKPT_ATTR_FLOAT64;
    else if (cls == H5T_STRING)
        a->type = H5CKPT_ATTR_STRING;
    else if (cls == H5T_ENUM && is_bool_enum(ft))
        a->type = H5CKPT_ATTR_BOOL;
    else {
        rc = 1;
        goto done;
    }
    if (!(a->values = calloc(n, h5ckpt__attr_elem_size(a->type)))) {
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
        goto done;
    }
    switch (a->type) {
    case H5CKPT_ATTR_INT64:
        rc = read_int64s(at, ft, n, a->values);
        break;
    case H5CKPT_ATTR_FLOAT64:
        if (H5Aread(at, H5T_NATIVE_DOUBLE, a->values) < 0)
            rc = H5CKPT_ECORRUPT;
        break;
    case H5CKPT_ATTR_STRING:
        rc = read_strings(at, ft, n, a->values);
        break;
    case H5CKPT_ATTR_BOOL: {
        signed char *b = malloc(n);
        if (!b || H5Aread(at, ft, b) < 0)
            rc = b ? H5CKPT_ECORRUPT : H5CKPT_ENOMEM;
        for (i = 0; !rc && i < n; i++)
            ((int *)a->values)[i] = b[i] != 0;
        free(b);
        break;
    }
    }
    if (rc < 0)
        h5ckpt__fail(msg, rc, "cannot read attribute '%s'", name);
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (at >= 0)
        H5Aclose(at);
    return rc;
}
