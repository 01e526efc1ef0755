/* Unit tests of the string map and the serialisation buffer.  No MPI
 * (h5ckpt__buf_bcast is exercised by the MPI tests). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define NKEYS 10000

/* ---- h5ckpt__strmap ----------------------------------------------------- */

START_TEST(strmap_returns_every_value_of_ten_thousand_keys)
{
    h5ckpt__strmap m = {0};
    char key[32];
    int i;

    for (i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "model/layer.%d.weight", i);
        ck_assert_int_eq(h5ckpt__strmap_put(&m, key, i), 0);
    }
    ck_assert_uint_eq(m.len, NKEYS);
    for (i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "model/layer.%d.weight", i);
        ck_assert_int_eq(h5ckpt__strmap_get(&m, key), i);
    }
    h5ckpt__strmap_free(&m);
}
END_TEST

START_TEST(strmap_overwrites_without_adding_keys)
{
    h5ckpt__strmap m = {0};
    char key[32];
    int i;

    for (i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(h5ckpt__strmap_put(&m, key, i), 0);
    }
    for (i = 0; i < NKEYS; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(h5ckpt__strmap_put(&m, key, 3 * i + 1), 0);
    }
    ck_assert_uint_eq(m.len, NKEYS);
    for (i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(h5ckpt__strmap_get(&m, key), i % 2 == 0 ? 3 * i + 1 : i);
    }
    h5ckpt__strmap_free(&m);
}
END_TEST

START_TEST(strmap_returns_minus_one_for_absent_keys)
{
    h5ckpt__strmap m = {0};
    char key[32];
    int i;

    ck_assert_int_eq(h5ckpt__strmap_get(&m, "anything"), -1);
    for (i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(h5ckpt__strmap_put(&m, key, i), 0);
    }
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "k10000"), -1);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "k"), -1);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, ""), -1);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "k1 "), -1);
    h5ckpt__strmap_free(&m);
}
END_TEST

START_TEST(strmap_copies_its_keys)
{
    h5ckpt__strmap m = {0};
    char key[8] = "alpha";

    ck_assert_int_eq(h5ckpt__strmap_put(&m, key, 7), 0);
    strcpy(key, "beta");
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "alpha"), 7);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "beta"), -1);
    h5ckpt__strmap_free(&m);
}
END_TEST

START_TEST(strmap_holds_the_empty_key_and_prefix_keys_apart)
{
    h5ckpt__strmap m = {0};

    ck_assert_int_eq(h5ckpt__strmap_put(&m, "", 1), 0);
    ck_assert_int_eq(h5ckpt__strmap_put(&m, "a", 2), 0);
    ck_assert_int_eq(h5ckpt__strmap_put(&m, "a/b", 3), 0);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, ""), 1);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "a"), 2);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "a/b"), 3);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "a/"), -1);
    h5ckpt__strmap_free(&m);
}
END_TEST

START_TEST(strmap_free_of_an_empty_map_is_safe)
{
    h5ckpt__strmap m = {0};

    h5ckpt__strmap_free(&m);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "x"), -1);
}
END_TEST

/* ---- h5ckpt__buf -------------------------------------------------------- */

START_TEST(buffer_round_trips_integers_strings_and_bytes)
{
    const unsigned char raw[5] = {0, 1, 0, 0xff, 0};
    h5ckpt__buf b = {0};
    const unsigned char *got;
    const char *s;

    h5ckpt__buf_u64(&b, 0);
    h5ckpt__buf_u64(&b, UINT64_MAX);
    h5ckpt__buf_u64(&b, UINT64_C(0x0123456789abcdef));
    h5ckpt__buf_str(&b, "model/encoder.layer.0.weight");
    h5ckpt__buf_str(&b, "");
    h5ckpt__buf_str(&b, "模型/权重");
    h5ckpt__buf_bytes(&b, raw, sizeof raw);
    h5ckpt__buf_u64(&b, 42);
    ck_assert_int_eq(b.err, 0);

    ck_assert_uint_eq(b.pos, 0);
    ck_assert_uint_eq(h5ckpt__buf_get_u64(&b), 0);
    ck_assert_uint_eq(h5ckpt__buf_get_u64(&b), UINT64_MAX);
    ck_assert_uint_eq(h5ckpt__buf_get_u64(&b), UINT64_C(0x0123456789abcdef));
    s = h5ckpt__buf_get_str(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "model/encoder.layer.0.weight");
    s = h5ckpt__buf_get_str(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "");
    s = h5ckpt__buf_get_str(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "模型/权重");
    got = h5ckpt__buf_get_bytes(&b, sizeof raw);
    ck_assert_ptr_nonnull(got);
    ck_assert_mem_eq(got, raw, sizeof raw);
    ck_assert_uint_eq(h5ckpt__buf_get_u64(&b), 42);
    ck_assert_int_eq(b.err, 0);
    ck_assert_uint_eq(b.pos, b.len);
    h5ckpt__buf_free(&b);
}
END_TEST

START_TEST(buffer_grows_to_hold_many_values)
{
    h5ckpt__buf b = {0};
    uint64_t i;

    for (i = 0; i < 100000; i++)
        h5ckpt__buf_u64(&b, i * 2654435761u);
    ck_assert_int_eq(b.err, 0);
    for (i = 0; i < 100000; i++)
        ck_assert_uint_eq(h5ckpt__buf_get_u64(&b), i * 2654435761u);
    ck_assert_int_eq(b.err, 0);
    h5ckpt__buf_free(&b);
}
END_TEST

START_TEST(reading_past_the_end_of_an_empty_buffer_sets_corrupt)
{
    h5ckpt__buf b = {0};

    h5ckpt__buf_get_u64(&b);
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    h5ckpt__buf_free(&b);
}
END_TEST

START_TEST(short_integer_read_sets_corrupt)
{
    h5ckpt__buf b = {0};
    const char three[3] = {1, 2, 3};

    h5ckpt__buf_bytes(&b, three, sizeof three);
    ck_assert_int_eq(b.err, 0);
    h5ckpt__buf_get_u64(&b);
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    h5ckpt__buf_free(&b);
}
END_TEST

START_TEST(truncated_string_read_returns_null_and_sets_corrupt)
{
    h5ckpt__buf b = {0};

    h5ckpt__buf_str(&b, "hello world");
    ck_assert_int_eq(b.err, 0);
    b.len -= 3;
    ck_assert_ptr_null(h5ckpt__buf_get_str(&b));
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    h5ckpt__buf_free(&b);
}
END_TEST

START_TEST(short_bytes_read_returns_null_and_sets_corrupt)
{
    h5ckpt__buf b = {0};
    const char four[4] = {1, 2, 3, 4};

    h5ckpt__buf_bytes(&b, four, sizeof four);
    ck_assert_ptr_null(h5ckpt__buf_get_bytes(&b, 5));
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    h5ckpt__buf_free(&b);
}
END_TEST

START_TEST(huge_bytes_read_does_not_wrap_around)
{
    h5ckpt__buf b = {0};
    const char four[4] = {1, 2, 3, 4};

    h5ckpt__buf_bytes(&b, four, sizeof four);
    ck_assert_ptr_nonnull(h5ckpt__buf_get_bytes(&b, 2));
    ck_assert_ptr_null(h5ckpt__buf_get_bytes(&b, SIZE_MAX));
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    h5ckpt__buf_free(&b);
}
END_TEST

START_TEST(read_error_is_sticky)
{
    h5ckpt__buf b = {0};

    h5ckpt__buf_u64(&b, 5);
    b.len -= 1;
    h5ckpt__buf_get_u64(&b);
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    b.len += 1;
    b.pos = 0;
    h5ckpt__buf_get_u64(&b);
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    ck_assert_ptr_null(h5ckpt__buf_get_str(&b));
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    h5ckpt__buf_free(&b);
}
END_TEST

/* ---- hash and strdup ------------------------------------------------------ */

START_TEST(hash_is_deterministic_and_tells_inputs_apart)
{
    ck_assert_uint_eq(h5ckpt__hash("abc", 3), h5ckpt__hash("abc", 3));
    ck_assert_uint_ne(h5ckpt__hash("abc", 3), h5ckpt__hash("abd", 3));
    ck_assert_uint_ne(h5ckpt__hash("abc", 3), h5ckpt__hash("abc", 2));
}
END_TEST

START_TEST(strdup_copies_the_string)
{
    char src[8] = "model";
    char *d = h5ckpt__strdup(src);

    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_ne(d, src);
    src[0] = 'x';
    ck_assert_str_eq(d, "model");
    free(d);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc;

    tc = tcase_create("strmap");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, strmap_returns_every_value_of_ten_thousand_keys);
    tcase_add_test(tc, strmap_overwrites_without_adding_keys);
    tcase_add_test(tc, strmap_returns_minus_one_for_absent_keys);
    tcase_add_test(tc, strmap_copies_its_keys);
    tcase_add_test(tc, strmap_holds_the_empty_key_and_prefix_keys_apart);
    tcase_add_test(tc, strmap_free_of_an_empty_map_is_safe);
    suite_add_tcase(s, tc);

    tc = tcase_create("buf");
    tcase_add_test(tc, buffer_round_trips_integers_strings_and_bytes);
    tcase_add_test(tc, buffer_grows_to_hold_many_values);
    tcase_add_test(tc, reading_past_the_end_of_an_empty_buffer_sets_corrupt);
    tcase_add_test(tc, short_integer_read_sets_corrupt);
    tcase_add_test(tc, truncated_string_read_returns_null_and_sets_corrupt);
    tcase_add_test(tc, short_bytes_read_returns_null_and_sets_corrupt);
    tcase_add_test(tc, huge_bytes_read_does_not_wrap_around);
    tcase_add_test(tc, read_error_is_sticky);
    suite_add_tcase(s, tc);

    tc = tcase_create("misc");
    tcase_add_test(tc, hash_is_deterministic_and_tells_inputs_apart);
    tcase_add_test(tc, strdup_copies_the_string);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(util_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
