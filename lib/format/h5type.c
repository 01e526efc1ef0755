/* Logical dtypes as HDF5 file types (format-spec, "Type mapping"). */
#include "format/format.h"

#include <string.h>

/* A little-endian float of `size` bytes with the given bit fields. */
static hid_t mkfloat(size_t size, size_t epos, size_t esize, size_t msize,
                     size_t ebias)
{
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);

    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_fields(t, size * 8 - 1, epos, esize, 0, msize) < 0 ||
        H5Tset_size(t, size) < 0 || H5Tset_ebias(t, ebias) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static hid_t mkbool(void)
{
    hid_t t = H5Tenum_create(H5T_STD_I8LE);
    signed char f = 0, tr = 1;

    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tenum_insert(t, "FALSE", &f) < 0 || H5Tenum_insert(t, "TRUE", &tr) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

hid_t h5ckpt__h5type(h5ckpt_dtype d)
{
    switch (d) {
    case H5CKPT_BOOL: return mkbool();
    case H5CKPT_INT8: return H5Tcopy(H5T_STD_I8LE);
    case H5CKPT_INT16: return H5Tcopy(H5T_STD_I16LE);
    case H5CKPT_INT32: return H5Tcopy(H5T_STD_I32LE);
    case H5CKPT_INT64: return H5Tcopy(H5T_STD_I64LE);
    case H5CKPT_UINT8: return H5Tcopy(H5T_STD_U8LE);
    case H5CKPT_UINT16: return H5Tcopy(H5T_STD_U16LE);
    case H5CKPT_UINT32: return H5Tcopy(H5T_STD_U32LE);
    case H5CKPT_UINT64: return H5Tcopy(H5T_STD_U64LE);
    case H5CKPT_FLOAT16: return mkfloat(2, 10, 5, 10, 15);
    case H5CKPT_BFLOAT16: return mkfloat(2, 7, 8, 7, 127);
    case H5CKPT_FLOAT32: return H5Tcopy(H5T_IEEE_F32LE);
    case H5CKPT_FLOAT64: return H5Tcopy(H5T_IEEE_F64LE);
    case H5CKPT_FLOAT8_E4M3FN: return mkfloat(1, 3, 4, 3, 7);
    case H5CKPT_FLOAT8_E5M2: return mkfloat(1, 2, 5, 2, 15);
    default: return H5I_INVALID_HID;
    }
}

int h5ckpt__h5type_matches(hid_t type, h5ckpt_dtype d)
{
    hid_t want = h5ckpt__h5type(d);
    int eq;

    if (want < 0)
        return 0;
    eq = H5Tequal(type, want) > 0;
    H5Tclose(want);
    return eq;
}
