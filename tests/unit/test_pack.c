/* Unit tests of packing strided local buffers into row-major order and back
 * (h5ckpt_buffer.strides).  No MPI. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"

/* Element offset of row-major index `flat` in a strided array. */
static uint64_t strided_offset(int ndim, const uint64_t *shape, const int64_t *strides,
                               uint64_t flat)
{
    uint64_t off = 0;
    int d;

    for (d = ndim - 1; d >= 0; d--) {
        off += (flat % shape[d]) * (uint64_t)strides[d];
        flat /= shape[d];
    }
    return off;
}

/* ---- pack and unpack ------------------------------------------------------ */

START_TEST(contiguous_strides_pack_to_an_identical_copy)
{
    const uint64_t shape[3] = {2, 3, 4};
    const int64_t strides[3] = {12, 4, 1};
    double src[24], dst[24], back[24];
    int i;

    for (i = 0; i < 24; i++) {
        src[i] = 0.5 + i;
        dst[i] = -1;
        back[i] = -1;
    }
    h5ckpt__pack(dst, src, 3, shape, strides, sizeof(double));
    ck_assert_mem_eq(dst, src, sizeof src);
    h5ckpt__unpack(back, dst, 3, shape, strides, sizeof(double));
    ck_assert_mem_eq(back, src, sizeof src);
}
END_TEST

START_TEST(channels_last_conv_weight_packs_to_row_major)
{
    /* Logical (N,C,H,W) = (2,3,4,5) in channels_last memory: strides
     * (H*W*C, 1, W*C, C) = (60, 1, 15, 3). */
    enum { N = 2, C = 3, H = 4, W = 5 };
    const uint64_t shape[4] = {N, C, H, W};
    const int64_t strides[4] = {H * W * C, 1, W * C, C};
    int32_t src[N * C * H * W], packed[N * C * H * W];
    int n, c, h, w;

    for (n = 0; n < N; n++)
        for (c = 0; c < C; c++)
            for (h = 0; h < H; h++)
                for (w = 0; w < W; w++)
                    src[n * strides[0] + c * strides[1] + h * strides[2] + w * strides[3]] =
                        n * 1000 + c * 100 + h * 10 + w;
    memset(packed, 0xff, sizeof packed);
    h5ckpt__pack(packed, src, 4, shape, strides, sizeof(int32_t));
    for (n = 0; n < N; n++)
        for (c = 0; c < C; c++)
            for (h = 0; h < H; h++)
                for (w = 0; w < W; w++)
                    ck_assert_int_eq(packed[((n * C + c) * H + h) * W + w],
                                     n * 1000 + c * 100 + h * 10 + w);
}
END_TEST

START_TEST(channels_last_conv_weight_unpacks_to_its_strided_layout)
{
    enum { N = 2, C = 3, H = 4, W = 5 };
    const uint64_t shape[4] = {N, C, H, W};
    const int64_t strides[4] = {H * W * C, 1, W * C, C};
    int32_t src[N * C * H * W], packed[N * C * H * W], back[N * C * H * W];
    int n, c, h, w;

    for (n = 0; n < N; n++)
        for (c = 0; c < C; c++)
            for (h = 0; h < H; h++)
                for (w = 0; w < W; w++)
                    src[n * strides[0] + c * strides[1] + h * strides[2] + w * strides[3]] =
                        n * 1000 + c * 100 + h * 10 + w;
    h5ckpt__pack(packed, src, 4, shape, strides, sizeof(int32_t));
    memset(back, 0, sizeof back);
    h5ckpt__unpack(back, packed, 4, shape, strides, sizeof(int32_t));
    ck_assert_mem_eq(back, src, sizeof src);
}
END_TEST

START_TEST(padded_rows_pack_without_the_padding)
{
    /* shape (3,4), row stride 6: columns 4 and 5 of each row are padding */
    const uint64_t shape[2] = {3, 4};
    const int64_t strides[2] = {6, 1};
    int16_t src[18], packed[12];
    int r, c;

    for (r = 0; r < 18; r++)
        src[r] = -7;
    for (r = 0; r < 3; r++)
        for (c = 0; c < 4; c++)
            src[r * 6 + c] = (int16_t)(r * 10 + c);
    h5ckpt__pack(packed, src, 2, shape, strides, sizeof(int16_t));
    for (r = 0; r < 3; r++)
        for (c = 0; c < 4; c++)
            ck_assert_int_eq(packed[r * 4 + c], r * 10 + c);
}
END_TEST

START_TEST(unpack_leaves_the_padding_untouched)
{
    const uint64_t shape[2] = {3, 4};
    const int64_t strides[2] = {6, 1};
    int16_t packed[12], dst[18];
    int r, c;

    for (r = 0; r < 12; r++)
        packed[r] = (int16_t)(100 + r);
    for (r = 0; r < 18; r++)
        dst[r] = -7;
    h5ckpt__unpack(dst, packed, 2, shape, strides, sizeof(int16_t));
    for (r = 0; r < 3; r++)
        for (c = 0; c < 6; c++)
            ck_assert_int_eq(dst[r * 6 + c], c < 4 ? 100 + r * 4 + c : -7);
}
END_TEST

/* Transposed (column-major) 3x4 matrix with elements of `elsize` bytes, each
 * byte of element e holding (e * 16 + byte) & 0xff. */
static void check_transposed(size_t elsize)
{
    const uint64_t shape[2] = {3, 4};
    const int64_t strides[2] = {1, 3};
    unsigned char src[12 * 8], packed[12 * 8], back[12 * 8];
    uint64_t e;
    size_t b;

    for (e = 0; e < 12; e++) {
        uint64_t at = strided_offset(2, shape, strides, e);
        for (b = 0; b < elsize; b++)
            src[at * elsize + b] = (unsigned char)((e * 16 + b) & 0xff);
    }
    memset(packed, 0xee, sizeof packed);
    h5ckpt__pack(packed, src, 2, shape, strides, elsize);
    for (e = 0; e < 12; e++)
        for (b = 0; b < elsize; b++)
            ck_assert_msg(packed[e * elsize + b] == ((e * 16 + b) & 0xff),
                          "elsize %zu: element %llu byte %zu is %u", elsize,
                          (unsigned long long)e, b, packed[e * elsize + b]);
    for (b = 12 * elsize; b < sizeof packed; b++)
        ck_assert_msg(packed[b] == 0xee, "elsize %zu: pack wrote past the end", elsize);
    memset(back, 0, sizeof back);
    h5ckpt__unpack(back, packed, 2, shape, strides, elsize);
    ck_assert_mem_eq(back, src, 12 * elsize);
}

START_TEST(transposed_matrix_of_one_byte_elements_round_trips)
{
    check_transposed(1);
}
END_TEST

START_TEST(transposed_matrix_of_two_byte_elements_round_trips)
{
    check_transposed(2);
}
END_TEST

START_TEST(transposed_matrix_of_four_byte_elements_round_trips)
{
    check_transposed(4);
}
END_TEST

START_TEST(transposed_matrix_of_eight_byte_elements_round_trips)
{
    check_transposed(8);
}
END_TEST

START_TEST(every_permutation_of_five_dims_matches_a_reference_copy)
{
    /* shape (2,3,1,4,2), memory order given by each permutation of the dims,
     * plus one element of gap after every innermost run. */
    const uint64_t shape[5] = {2, 3, 1, 4, 2};
    const uint64_t vol = 48;
    int perm[5] = {0, 1, 2, 3, 4};
    int64_t strides[5];
    uint32_t src[200], packed[48], back[200];
    int count = 0;

    for (;;) {
        int64_t s = 1;
        uint64_t e, span = 0;
        int k, i, j;

        /* perm[4] is innermost in memory */
        for (k = 4; k >= 0; k--) {
            strides[perm[k]] = s;
            s *= (int64_t)shape[perm[k]];
            if (k == 4)
                s += 1;
        }
        for (i = 0; i < 200; i++)
            src[i] = 0xdeadbeef;
        for (e = 0; e < vol; e++)
            src[strided_offset(5, shape, strides, e)] = (uint32_t)e;
        h5ckpt__pack(packed, src, 5, shape, strides, sizeof(uint32_t));
        for (e = 0; e < vol; e++)
            ck_assert_uint_eq(packed[e], e);
        for (i = 0; i < 200; i++)
            back[i] = 0xdeadbeef;
        h5ckpt__unpack(back, packed, 5, shape, strides, sizeof(uint32_t));
        ck_assert_mem_eq(back, src, sizeof src);
        ck_assert_int_eq(h5ckpt__strided_span(5, shape, strides, &span), 0);
        ck_assert_uint_le(span, 200);
        count++;

        /* next permutation (lexicographic) */
        for (i = 3; i >= 0 && perm[i] > perm[i + 1]; i--)
            ;
        if (i < 0)
            break;
        for (j = 4; perm[j] < perm[i]; j--)
            ;
        k = perm[i], perm[i] = perm[j], perm[j] = k;
        for (j = 4, i++; i < j; i++, j--)
            k = perm[i], perm[i] = perm[j], perm[j] = k;
    }
    ck_assert_int_eq(count, 120);
}
END_TEST

START_TEST(every_other_element_of_a_vector_packs_densely)
{
    const uint64_t shape[1] = {5};
    const int64_t strides[1] = {2};
    const uint8_t src[9] = {10, 0, 11, 0, 12, 0, 13, 0, 14}, want[5] = {10, 11, 12, 13, 14};
    uint8_t packed[5];

    h5ckpt__pack(packed, src, 1, shape, strides, 1);
    ck_assert_mem_eq(packed, want, 5);
}
END_TEST

START_TEST(scalar_packs_one_element)
{
    const uint64_t shape[1] = {0};
    const int64_t strides[1] = {0};
    const uint64_t src = UINT64_C(0x0123456789abcdef);
    uint64_t packed[2] = {0, 0}, back[2] = {0, 0};

    h5ckpt__pack(packed, &src, 0, shape, strides, sizeof(uint64_t));
    ck_assert_uint_eq(packed[0], src);
    ck_assert_uint_eq(packed[1], 0);
    h5ckpt__unpack(back, packed, 0, shape, strides, sizeof(uint64_t));
    ck_assert_uint_eq(back[0], src);
    ck_assert_uint_eq(back[1], 0);
}
END_TEST

START_TEST(zero_size_dimension_copies_nothing)
{
    const uint64_t shape[3] = {3, 0, 4};
    const int64_t strides[3] = {4, 4, 1};
    int32_t src[12], dst[12];
    int i;

    for (i = 0; i < 12; i++) {
        src[i] = i;
        dst[i] = -1;
    }
    h5ckpt__pack(dst, src, 3, shape, strides, sizeof(int32_t));
    for (i = 0; i < 12; i++)
        ck_assert_int_eq(dst[i], -1);
    h5ckpt__unpack(dst, src, 3, shape, strides, sizeof(int32_t));
    for (i = 0; i < 12; i++)
        ck_assert_int_eq(dst[i], -1);
}
END_TEST

START_TEST(zero_size_trailing_dimension_copies_nothing)
{
    const uint64_t shape[2] = {3, 0};
    const int64_t strides[2] = {1, 1};
    int32_t src[3] = {1, 2, 3}, dst[3] = {-1, -1, -1};

    h5ckpt__pack(dst, src, 2, shape, strides, sizeof(int32_t));
    ck_assert_int_eq(dst[0], -1);
    ck_assert_int_eq(dst[1], -1);
    ck_assert_int_eq(dst[2], -1);
}
END_TEST

/* ---- h5ckpt__strided_span ------------------------------------------------ */

START_TEST(span_of_padded_rows_ends_after_the_last_element)
{
    const uint64_t shape[2] = {3, 4};
    const int64_t strides[2] = {6, 1};
    uint64_t span = 0;

    ck_assert_int_eq(h5ckpt__strided_span(2, shape, strides, &span), 0);
    ck_assert_uint_eq(span, 2 * 6 + 3 * 1 + 1);
}
END_TEST

START_TEST(span_of_contiguous_strides_is_the_volume)
{
    const uint64_t shape[3] = {2, 3, 4};
    const int64_t strides[3] = {12, 4, 1};
    uint64_t span = 0;

    ck_assert_int_eq(h5ckpt__strided_span(3, shape, strides, &span), 0);
    ck_assert_uint_eq(span, 24);
}
END_TEST

START_TEST(span_of_channels_last_is_the_volume)
{
    const uint64_t shape[4] = {2, 3, 4, 5};
    const int64_t strides[4] = {60, 1, 15, 3};
    uint64_t span = 0;

    ck_assert_int_eq(h5ckpt__strided_span(4, shape, strides, &span), 0);
    ck_assert_uint_eq(span, 120);
}
END_TEST

START_TEST(span_of_a_scalar_is_one)
{
    const uint64_t shape[1] = {0};
    const int64_t strides[1] = {0};
    uint64_t span = 0;

    ck_assert_int_eq(h5ckpt__strided_span(0, shape, strides, &span), 0);
    ck_assert_uint_eq(span, 1);
}
END_TEST

START_TEST(span_with_a_zero_size_dimension_is_zero)
{
    const uint64_t shape[2] = {3, 0};
    const int64_t strides[2] = {4, 1};
    uint64_t span = 99;

    ck_assert_int_eq(h5ckpt__strided_span(2, shape, strides, &span), 0);
    ck_assert_uint_eq(span, 0);
}
END_TEST

START_TEST(span_rejects_a_zero_stride)
{
    const uint64_t shape[2] = {3, 4};
    const int64_t strides[2] = {0, 1};
    uint64_t span;

    ck_assert_int_eq(h5ckpt__strided_span(2, shape, strides, &span), H5CKPT_EINVAL);
}
END_TEST

START_TEST(span_rejects_a_negative_stride)
{
    const uint64_t shape[2] = {3, 4};
    const int64_t strides[2] = {4, -1};
    uint64_t span;

    ck_assert_int_eq(h5ckpt__strided_span(2, shape, strides, &span), H5CKPT_EINVAL);
}
END_TEST

/* ---- packing a range of elements (snapshots of asynchronous commits) ---- */

/* Every range [first, first + count) of a channels_last (2,3,4,5) int16
 * array, and of a padded-rows float64 one, packs to that slice of the whole
 * packed array. */
START_TEST(every_range_packs_to_the_same_slice_as_the_whole)
{
    const uint64_t s4[4] = {2, 3, 4, 5}, s2[2] = {5, 3};
    const int64_t t4[4] = {60, 1, 15, 3}, t2[2] = {5, 1};
    int16_t a[120], wa[120], ra[120];
    double b[25], wb[15], rb[15];
    uint64_t first, count;
    int i;

    for (i = 0; i < 120; i++)
        a[i] = (int16_t)(i * 7 - 300);
    for (i = 0; i < 25; i++)
        b[i] = 0.25 * i;
    h5ckpt__pack(wa, a, 4, s4, t4, sizeof *a);
    h5ckpt__pack(wb, b, 2, s2, t2, sizeof *b);
    for (first = 0; first <= 120; first++)
        for (count = 0; first + count <= 120; count += 7) {
            memset(ra, 0x5a, sizeof ra);
            h5ckpt__pack_range(ra, a, 4, s4, t4, sizeof *a, first, count);
            ck_assert_mem_eq(ra, wa + first, count * sizeof *a);
            if (count < 120)
                ck_assert_int_eq(ra[count], 0x5a5a);
        }
    for (first = 0; first <= 15; first++)
        for (count = 0; first + count <= 15; count++) {
            h5ckpt__pack_range(rb, b, 2, s2, t2, sizeof *b, first, count);
            ck_assert_mem_eq(rb, wb + first, count * sizeof *b);
        }
}
END_TEST

START_TEST(a_range_of_a_scalar_is_its_one_element)
{
    const int64_t v = -77;
    int64_t out = 0;

    h5ckpt__pack_range(&out, &v, 0, NULL, NULL, sizeof v, 0, 1);
    ck_assert_int_eq(out, -77);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *pack_suite(void)
{
    Suite *s = suite_create("pack");
    TCase *tc;

    tc = tcase_create("pack_unpack");
    tcase_add_test(tc, contiguous_strides_pack_to_an_identical_copy);
    tcase_add_test(tc, channels_last_conv_weight_packs_to_row_major);
    tcase_add_test(tc, channels_last_conv_weight_unpacks_to_its_strided_layout);
    tcase_add_test(tc, padded_rows_pack_without_the_padding);
    tcase_add_test(tc, unpack_leaves_the_padding_untouched);
    tcase_add_test(tc, transposed_matrix_of_one_byte_elements_round_trips);
    tcase_add_test(tc, transposed_matrix_of_two_byte_elements_round_trips);
    tcase_add_test(tc, transposed_matrix_of_four_byte_elements_round_trips);
    tcase_add_test(tc, transposed_matrix_of_eight_byte_elements_round_trips);
    tcase_add_test(tc, every_permutation_of_five_dims_matches_a_reference_copy);
    tcase_add_test(tc, every_other_element_of_a_vector_packs_densely);
    tcase_add_test(tc, scalar_packs_one_element);
    tcase_add_test(tc, zero_size_dimension_copies_nothing);
    tcase_add_test(tc, zero_size_trailing_dimension_copies_nothing);
    tcase_add_test(tc, every_range_packs_to_the_same_slice_as_the_whole);
    tcase_add_test(tc, a_range_of_a_scalar_is_its_one_element);
    suite_add_tcase(s, tc);

    tc = tcase_create("strided_span");
    tcase_add_test(tc, span_of_padded_rows_ends_after_the_last_element);
    tcase_add_test(tc, span_of_contiguous_strides_is_the_volume);
    tcase_add_test(tc, span_of_channels_last_is_the_volume);
    tcase_add_test(tc, span_of_a_scalar_is_one);
    tcase_add_test(tc, span_with_a_zero_size_dimension_is_zero);
    tcase_add_test(tc, span_rejects_a_zero_stride);
    tcase_add_test(tc, span_rejects_a_negative_stride);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pack_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
