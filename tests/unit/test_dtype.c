/* Unit tests of the dtype table, the HDF5 type mapping
 * (format-spec/FORMAT.md, section "Type mapping") and the error table.
 * No MPI (HDF5 datatype calls only). */
#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

static const struct {
    h5ckpt_dtype dtype;
    const char *name;
    size_t size;
} dtypes[] = {
#define DT_ROW(name, str, size) {H5CKPT_##name, str, size},
    H5CKPT_DTYPE_MAP(DT_ROW)
#undef DT_ROW
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

static const struct {
    int code;
    const char *name;
    const char *desc;
} errors[] = {
#define ERR_ROW(name, value, desc) {value, "H5CKPT_" #name, desc},
    H5CKPT_ERRNO_MAP(ERR_ROW)
#undef ERR_ROW
};
#define NERRORS (sizeof errors / sizeof errors[0])

/* ---- names and sizes ----------------------------------------------------- */

START_TEST(every_dtype_has_its_table_name_and_size)
{
    size_t i;

    ck_assert_uint_eq(NDTYPES, H5CKPT_DTYPE_COUNT);
    for (i = 0; i < NDTYPES; i++) {
        ck_assert_ptr_nonnull(h5ckpt_dtype_name(dtypes[i].dtype));
        ck_assert_str_eq(h5ckpt_dtype_name(dtypes[i].dtype), dtypes[i].name);
        ck_assert_uint_eq(h5ckpt_dtype_size(dtypes[i].dtype), dtypes[i].size);
    }
}
END_TEST

START_TEST(every_dtype_name_parses_back_to_its_dtype)
{
    size_t i;

    for (i = 0; i < NDTYPES; i++) {
        h5ckpt_dtype out = H5CKPT_DTYPE_COUNT;

        ck_assert_int_eq(h5ckpt_dtype_from_name(&out, dtypes[i].name, NULL), 0);
        ck_assert_int_eq(out, dtypes[i].dtype);
        ck_assert_int_eq(h5ckpt_dtype_from_name(&out, h5ckpt_dtype_name(dtypes[i].dtype), NULL), 0);
        ck_assert_int_eq(out, dtypes[i].dtype);
    }
}
END_TEST

START_TEST(unknown_dtype_name_is_rejected)
{
    h5ckpt_dtype out;

    ck_assert_int_eq(h5ckpt_dtype_from_name(&out, "float128", NULL), H5CKPT_EINVAL);
}
END_TEST

START_TEST(unknown_dtype_name_is_named_in_the_error)
{
    h5ckpt_error err = {0, ""};
    h5ckpt_dtype out;

    ck_assert_int_eq(h5ckpt_dtype_from_name(&out, "float128", &err), H5CKPT_EINVAL);
    ck_assert_int_eq(err.code, H5CKPT_EINVAL);
    ck_assert_str_eq(err.message, "unknown dtype 'float128'");
}
END_TEST

START_TEST(empty_dtype_name_is_rejected)
{
    h5ckpt_dtype out;

    ck_assert_int_eq(h5ckpt_dtype_from_name(&out, "", NULL), H5CKPT_EINVAL);
}
END_TEST

START_TEST(dtype_name_with_trailing_characters_is_rejected)
{
    h5ckpt_dtype out;

    ck_assert_int_eq(h5ckpt_dtype_from_name(&out, "float16x", NULL), H5CKPT_EINVAL);
    ck_assert_int_eq(h5ckpt_dtype_from_name(&out, "bfloat16 ", NULL), H5CKPT_EINVAL);
}
END_TEST

START_TEST(prefix_of_a_dtype_name_is_rejected)
{
    h5ckpt_dtype out;

    ck_assert_int_eq(h5ckpt_dtype_from_name(&out, "float8", NULL), H5CKPT_EINVAL);
}
END_TEST

START_TEST(invalid_dtype_value_has_no_name_and_size_zero)
{
    ck_assert_ptr_null(h5ckpt_dtype_name(H5CKPT_DTYPE_COUNT));
    ck_assert_uint_eq(h5ckpt_dtype_size(H5CKPT_DTYPE_COUNT), 0);
    ck_assert_ptr_null(h5ckpt_dtype_name((h5ckpt_dtype)-1));
    ck_assert_uint_eq(h5ckpt_dtype_size((h5ckpt_dtype)-1), 0);
    ck_assert_ptr_null(h5ckpt_dtype_name((h5ckpt_dtype)1000));
    ck_assert_uint_eq(h5ckpt_dtype_size((h5ckpt_dtype)1000), 0);
}
END_TEST

/* ---- HDF5 types ---------------------------------------------------------- */

START_TEST(every_hdf5_type_has_the_dtype_size)
{
    size_t i;

    for (i = 0; i < NDTYPES; i++) {
        hid_t t = h5ckpt__h5type(dtypes[i].dtype);

        ck_assert_msg(t >= 0, "no HDF5 type for %s", dtypes[i].name);
        ck_assert_msg(H5Tget_size(t) == dtypes[i].size, "%s: HDF5 size %zu, want %zu",
                      dtypes[i].name, H5Tget_size(t), dtypes[i].size);
        H5Tclose(t);
    }
}
END_TEST

START_TEST(invalid_dtype_has_no_hdf5_type)
{
    hid_t t = h5ckpt__h5type(H5CKPT_DTYPE_COUNT);

    ck_assert_int_eq(t, H5I_INVALID_HID);
}
END_TEST

static void float_type_is(h5ckpt_dtype dtype, size_t size, size_t spos, size_t epos,
                          size_t esize, size_t mpos, size_t msize, size_t ebias)
{
    size_t s = 99, ep = 99, es = 99, mp = 99, ms = 99;
    hid_t t = h5ckpt__h5type(dtype);

    ck_assert_int_ge(t, 0);
    ck_assert_int_eq(H5Tget_class(t), H5T_FLOAT);
    ck_assert_uint_eq(H5Tget_size(t), size);
    ck_assert_uint_eq(H5Tget_precision(t), 8 * size);
    ck_assert_int_eq(H5Tget_offset(t), 0);
    ck_assert_int_eq(H5Tget_order(t), H5T_ORDER_LE);
    ck_assert_int_ge(H5Tget_fields(t, &s, &ep, &es, &mp, &ms), 0);
    ck_assert_uint_eq(s, spos);
    ck_assert_uint_eq(ep, epos);
    ck_assert_uint_eq(es, esize);
    ck_assert_uint_eq(mp, mpos);
    ck_assert_uint_eq(ms, msize);
    ck_assert_uint_eq(H5Tget_ebias(t), ebias);
    ck_assert_int_eq(H5Tget_norm(t), H5T_NORM_IMPLIED);
    H5Tclose(t);
}

START_TEST(float16_is_an_ieee_half)
{
    float_type_is(H5CKPT_FLOAT16, 2, 15, 10, 5, 0, 10, 15);
}
END_TEST

START_TEST(bfloat16_is_the_top_half_of_float32)
{
    float_type_is(H5CKPT_BFLOAT16, 2, 15, 7, 8, 0, 7, 127);
}
END_TEST

START_TEST(float8_e4m3fn_has_four_exponent_bits)
{
    float_type_is(H5CKPT_FLOAT8_E4M3FN, 1, 7, 3, 4, 0, 3, 7);
}
END_TEST

START_TEST(float8_e5m2_has_five_exponent_bits)
{
    float_type_is(H5CKPT_FLOAT8_E5M2, 1, 7, 2, 5, 0, 2, 15);
}
END_TEST

static void type_equals(h5ckpt_dtype dtype, hid_t want)
{
    hid_t t = h5ckpt__h5type(dtype);

    ck_assert_int_ge(t, 0);
    ck_assert_msg(H5Tequal(t, want) > 0, "%s is not the mandated HDF5 type",
                  h5ckpt_dtype_name(dtype));
    H5Tclose(t);
}

START_TEST(float32_and_float64_are_ieee_little_endian)
{
    type_equals(H5CKPT_FLOAT32, H5T_IEEE_F32LE);
    type_equals(H5CKPT_FLOAT64, H5T_IEEE_F64LE);
}
END_TEST

START_TEST(signed_integers_are_std_little_endian)
{
    type_equals(H5CKPT_INT8, H5T_STD_I8LE);
    type_equals(H5CKPT_INT16, H5T_STD_I16LE);
    type_equals(H5CKPT_INT32, H5T_STD_I32LE);
    type_equals(H5CKPT_INT64, H5T_STD_I64LE);
}
END_TEST

START_TEST(unsigned_integers_are_std_little_endian)
{
    type_equals(H5CKPT_UINT8, H5T_STD_U8LE);
    type_equals(H5CKPT_UINT16, H5T_STD_U16LE);
    type_equals(H5CKPT_UINT32, H5T_STD_U32LE);
    type_equals(H5CKPT_UINT64, H5T_STD_U64LE);
}
END_TEST

START_TEST(bool_is_an_h5py_style_enum)
{
    hid_t t = h5ckpt__h5type(H5CKPT_BOOL), base;
    int8_t v = -1;

    ck_assert_int_ge(t, 0);
    ck_assert_int_eq(H5Tget_class(t), H5T_ENUM);
    ck_assert_uint_eq(H5Tget_size(t), 1);
    ck_assert_int_eq(H5Tget_nmembers(t), 2);
    ck_assert_int_ge(H5Tenum_valueof(t, "FALSE", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_ge(H5Tenum_valueof(t, "TRUE", &v), 0);
    ck_assert_int_eq(v, 1);
    base = H5Tget_super(t);
    ck_assert_int_ge(base, 0);
    ck_assert_uint_eq(H5Tget_size(base), 1);
    ck_assert_msg(H5Tequal(base, H5T_STD_I8LE) > 0, "bool base is not H5T_STD_I8LE");
    H5Tclose(base);
    H5Tclose(t);
}
END_TEST

START_TEST(each_hdf5_type_matches_only_its_own_dtype)
{
    size_t i, j;

    for (i = 0; i < NDTYPES; i++) {
        hid_t t = h5ckpt__h5type(dtypes[i].dtype);

        ck_assert_int_ge(t, 0);
        for (j = 0; j < NDTYPES; j++)
            ck_assert_msg(h5ckpt__h5type_matches(t, dtypes[j].dtype) == (i == j),
                          "type of %s matches %s: %d, want %d", dtypes[i].name, dtypes[j].name,
                          h5ckpt__h5type_matches(t, dtypes[j].dtype), i == j);
        H5Tclose(t);
    }
}
END_TEST

START_TEST(predefined_hdf5_types_match_their_dtypes)
{
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_IEEE_F32LE, H5CKPT_FLOAT32), 1);
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_IEEE_F64LE, H5CKPT_FLOAT64), 1);
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_STD_I32LE, H5CKPT_INT32), 1);
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_STD_U8LE, H5CKPT_UINT8), 1);
}
END_TEST

START_TEST(big_endian_types_do_not_match)
{
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_STD_I32BE, H5CKPT_INT32), 0);
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_IEEE_F32BE, H5CKPT_FLOAT32), 0);
}
END_TEST

START_TEST(plain_int8_does_not_match_bool)
{
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_STD_I8LE, H5CKPT_BOOL), 0);
    ck_assert_int_eq(h5ckpt__h5type_matches(H5T_STD_U8LE, H5CKPT_BOOL), 0);
}
END_TEST

START_TEST(half_with_a_different_bias_does_not_match_float16)
{
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);

    ck_assert_int_ge(H5Tset_fields(t, 15, 10, 5, 0, 10), 0);
    ck_assert_int_ge(H5Tset_precision(t, 16), 0);
    ck_assert_int_ge(H5Tset_size(t, 2), 0);
    ck_assert_int_ge(H5Tset_ebias(t, 14), 0);
    ck_assert_int_eq(h5ckpt__h5type_matches(t, H5CKPT_FLOAT16), 0);
    ck_assert_int_ge(H5Tset_ebias(t, 15), 0);
    ck_assert_int_eq(h5ckpt__h5type_matches(t, H5CKPT_FLOAT16), 1);
    H5Tclose(t);
}
END_TEST

START_TEST(string_type_matches_no_dtype)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t j;

    ck_assert_int_ge(H5Tset_size(t, 4), 0);
    for (j = 0; j < NDTYPES; j++)
        ck_assert_int_eq(h5ckpt__h5type_matches(t, dtypes[j].dtype), 0);
    H5Tclose(t);
}
END_TEST

/* ---- error table ---------------------------------------------------------- */

START_TEST(every_error_code_has_its_name_and_description)
{
    size_t i;

    for (i = 0; i < NERRORS; i++) {
        ck_assert_ptr_nonnull(h5ckpt_errname(errors[i].code));
        ck_assert_ptr_nonnull(h5ckpt_strerror(errors[i].code));
        ck_assert_str_eq(h5ckpt_errname(errors[i].code), errors[i].name);
        ck_assert_str_eq(h5ckpt_strerror(errors[i].code), errors[i].desc);
    }
    ck_assert_str_eq(h5ckpt_errname(H5CKPT_EINVAL), "H5CKPT_EINVAL");
    ck_assert_str_eq(h5ckpt_errname(H5CKPT_ENOTSUP), "H5CKPT_ENOTSUP");
    ck_assert_str_eq(h5ckpt_errname(H5CKPT_ENOCKPT), "H5CKPT_ENOCKPT");
    ck_assert_int_eq(H5CKPT_ENOCKPT, -20);
    ck_assert_str_eq(h5ckpt_strerror(H5CKPT_ELAYOUT), "invalid layout");
}
END_TEST

static int says_unknown(const char *s)
{
    char low[128];
    size_t i;

    for (i = 0; s[i] != '\0' && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[i] = '\0';
    return strstr(low, "unknown") != NULL;
}

START_TEST(unknown_error_codes_are_described_as_unknown)
{
    const int codes[] = {1, -99, -999, 12345}; /* -20.. are assigned */
    size_t i;

    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *name = h5ckpt_errname(codes[i]), *desc = h5ckpt_strerror(codes[i]);

        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(desc);
        ck_assert_msg(says_unknown(name), "errname(%d) = \"%s\"", codes[i], name);
        ck_assert_msg(says_unknown(desc), "strerror(%d) = \"%s\"", codes[i], desc);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *dtype_suite(void)
{
    Suite *s = suite_create("dtype");
    TCase *tc;

    tc = tcase_create("names");
    tcase_add_test(tc, every_dtype_has_its_table_name_and_size);
    tcase_add_test(tc, every_dtype_name_parses_back_to_its_dtype);
    tcase_add_test(tc, unknown_dtype_name_is_rejected);
    tcase_add_test(tc, unknown_dtype_name_is_named_in_the_error);
    tcase_add_test(tc, empty_dtype_name_is_rejected);
    tcase_add_test(tc, dtype_name_with_trailing_characters_is_rejected);
    tcase_add_test(tc, prefix_of_a_dtype_name_is_rejected);
    tcase_add_test(tc, invalid_dtype_value_has_no_name_and_size_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("hdf5_types");
    tcase_add_test(tc, every_hdf5_type_has_the_dtype_size);
    tcase_add_test(tc, invalid_dtype_has_no_hdf5_type);
    tcase_add_test(tc, float16_is_an_ieee_half);
    tcase_add_test(tc, bfloat16_is_the_top_half_of_float32);
    tcase_add_test(tc, float8_e4m3fn_has_four_exponent_bits);
    tcase_add_test(tc, float8_e5m2_has_five_exponent_bits);
    tcase_add_test(tc, float32_and_float64_are_ieee_little_endian);
    tcase_add_test(tc, signed_integers_are_std_little_endian);
    tcase_add_test(tc, unsigned_integers_are_std_little_endian);
    tcase_add_test(tc, bool_is_an_h5py_style_enum);
    tcase_add_test(tc, each_hdf5_type_matches_only_its_own_dtype);
    tcase_add_test(tc, predefined_hdf5_types_match_their_dtypes);
    tcase_add_test(tc, big_endian_types_do_not_match);
    tcase_add_test(tc, plain_int8_does_not_match_bool);
    tcase_add_test(tc, half_with_a_different_bias_does_not_match_float16);
    tcase_add_test(tc, string_type_matches_no_dtype);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, every_error_code_has_its_name_and_description);
    tcase_add_test(tc, unknown_error_codes_are_described_as_unknown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dtype_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
