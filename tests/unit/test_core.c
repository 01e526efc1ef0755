/* Unit tests of the pure logic: shard arithmetic (torch.chunk), nested
 * sharding, flat ranges, dtype mapping, names, packing.  No MPI. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "h5ckpt_private.h"

static void chunk_is(uint64_t n, uint64_t k, uint64_t i, uint64_t off, uint64_t cnt)
{
    uint64_t o, c;

    h5ckpt__chunk(n, k, i, &o, &c);
    ck_assert_msg(o == off && c == cnt, "chunk(%lu,%lu,%lu) = (%lu,%lu), want (%lu,%lu)",
                  (unsigned long)n, (unsigned long)k, (unsigned long)i, (unsigned long)o,
                  (unsigned long)c, (unsigned long)off, (unsigned long)cnt);
}

START_TEST(chunk_follows_torch_chunk)
{
    /* torch.arange(7).chunk(3) -> sizes 3,3,1 */
    chunk_is(7, 3, 0, 0, 3); chunk_is(7, 3, 1, 3, 3); chunk_is(7, 3, 2, 6, 1);
    /* 7 over 4 -> chunk 2: 2,2,2,1 */
    chunk_is(7, 4, 0, 0, 2); chunk_is(7, 4, 3, 6, 1);
    /* 10 over 4 -> chunk 3: 3,3,3,1 */
    chunk_is(10, 4, 2, 6, 3); chunk_is(10, 4, 3, 9, 1);
    chunk_is(8, 1, 0, 0, 8);
}
END_TEST

START_TEST(chunk_gives_zero_size_trailing_parts)
{
    /* 5 over 4 -> chunk 2: 2,2,1,0; torch.chunk returns 3 chunks, DTensor pads. */
    chunk_is(5, 4, 2, 4, 1); chunk_is(5, 4, 3, 5, 0);
    /* 2 over 4 -> 1,1,0,0; empty parts start at n. */
    chunk_is(2, 4, 2, 2, 0); chunk_is(2, 4, 3, 2, 0);
    chunk_is(0, 3, 1, 0, 0);
    /* 6 over 4 -> chunk 2: 2,2,2,0 */
    chunk_is(6, 4, 3, 6, 0);
}
END_TEST

START_TEST(shard_box_on_two_by_two_mesh)
{
    const uint64_t shape[2] = {7, 5};
    const int mesh[2] = {2, 2}, pl[2] = {H5CKPT_SHARD(0), H5CKPT_SHARD(1)};
    const uint64_t want[4][4] = {{0, 0, 4, 3}, {0, 3, 4, 2}, {4, 0, 3, 3}, {4, 3, 3, 2}};
    uint64_t off[2], cnt[2];
    int r;

    for (r = 0; r < 4; r++) {
        int coords[2] = {r / 2, r % 2};
        ck_assert_int_eq(h5ckpt__shard_box(2, shape, 2, mesh, coords, pl, off, cnt), 0);
        ck_assert_uint_eq(off[0], want[r][0]);
        ck_assert_uint_eq(off[1], want[r][1]);
        ck_assert_uint_eq(cnt[0], want[r][2]);
        ck_assert_uint_eq(cnt[1], want[r][3]);
    }
}
END_TEST

START_TEST(nested_shards_apply_in_mesh_dimension_order)
{
    /* [Shard(0), Shard(0)] on (2,2): 7 -> (0,4),(4,3) -> (0,2),(2,2),(4,2),(6,1) */
    const uint64_t shape[1] = {7}, want[4][2] = {{0, 2}, {2, 2}, {4, 2}, {6, 1}};
    const uint64_t shape3[1] = {3}, want3[4][2] = {{0, 1}, {1, 1}, {2, 1}, {3, 0}};
    const int mesh[2] = {2, 2}, pl[2] = {H5CKPT_SHARD(0), H5CKPT_SHARD(0)};
    uint64_t off, cnt;
    int r;

    for (r = 0; r < 4; r++) {
        int coords[2] = {r / 2, r % 2};
        h5ckpt__shard_box(1, shape, 2, mesh, coords, pl, &off, &cnt);
        ck_assert_uint_eq(off, want[r][0]);
        ck_assert_uint_eq(cnt, want[r][1]);
        h5ckpt__shard_box(1, shape3, 2, mesh, coords, pl, &off, &cnt);
        ck_assert_uint_eq(off, want3[r][0]);
        ck_assert_uint_eq(cnt, want3[r][1]);
    }
}
END_TEST

START_TEST(replicate_keeps_whole_and_bad_dim_is_rejected)
{
    const uint64_t shape[2] = {4, 6};
    const int mesh[2] = {2, 3}, coords[2] = {1, 2};
    const int rep_shard[2] = {H5CKPT_REPLICATE, H5CKPT_SHARD(1)}, bad[2] = {H5CKPT_SHARD(2), H5CKPT_REPLICATE};
    uint64_t off[2], cnt[2];

    ck_assert_int_eq(h5ckpt__shard_box(2, shape, 2, mesh, coords, rep_shard, off, cnt), 0);
    ck_assert_uint_eq(off[0], 0); ck_assert_uint_eq(cnt[0], 4);
    ck_assert_uint_eq(off[1], 4); ck_assert_uint_eq(cnt[1], 2);
    ck_assert_int_eq(h5ckpt__shard_box(2, shape, 2, mesh, coords, bad, off, cnt), H5CKPT_EINVAL);
}
END_TEST

/* Expand boxes in order into flat indices; check they are exactly [a,b). */
static void range_is_exact(int ndim, const uint64_t *shape, uint64_t a, uint64_t b)
{
    uint64_t boxes[2 * H5CKPT_MAX_NDIM * 2 * H5CKPT_MAX_NDIM], next = a, stride[8];
    size_t nb = h5ckpt__range_boxes(ndim, shape, a, b, boxes), k;
    int d;

    ck_assert_msg(nb <= (size_t)(2 * ndim - 1), "%zu boxes for [%lu,%lu)", nb,
                  (unsigned long)a, (unsigned long)b);
    stride[ndim - 1] = 1;
    for (d = ndim - 1; d > 0; d--)
        stride[d - 1] = stride[d] * shape[d];
    for (k = 0; k < nb; k++) {
        const uint64_t *o = boxes + k * 2 * ndim, *c = o + ndim;
        uint64_t idx[8] = {0}, vol = h5ckpt__volume(ndim, c, NULL), e;
        for (e = 0; e < vol; e++) {
            uint64_t flat = 0;
            for (d = 0; d < ndim; d++)
                flat += (o[d] + idx[d]) * stride[d];
            ck_assert_msg(flat == next, "[%lu,%lu): box %zu gives %lu, want %lu",
                          (unsigned long)a, (unsigned long)b, k, (unsigned long)flat,
                          (unsigned long)next);
            next++;
            for (d = ndim - 1; d >= 0 && ++idx[d] == c[d]; d--)
                idx[d] = 0;
        }
    }
    ck_assert_uint_eq(next, a < b ? b : a);
}

START_TEST(flat_range_of_three_dims_becomes_five_boxes)
{
    const uint64_t shape[3] = {4, 5, 6};
    uint64_t boxes[5 * 6];

    /* [3,117): row (0,0,3..5); rows (0,1..4,:); planes 1..2; rows (3,0..3,:); row (3,4,0..2) */
    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 3, 117, boxes), 5);
    ck_assert_uint_eq(boxes[0], 0); ck_assert_uint_eq(boxes[2], 3); ck_assert_uint_eq(boxes[5], 3);
    ck_assert_uint_eq(boxes[6 + 1], 1); ck_assert_uint_eq(boxes[6 + 4], 4);
    ck_assert_uint_eq(boxes[12 + 0], 1); ck_assert_uint_eq(boxes[12 + 3], 2);
    ck_assert_uint_eq(boxes[24 + 0], 3); ck_assert_uint_eq(boxes[24 + 1], 4);
    ck_assert_uint_eq(boxes[24 + 5], 3);
    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 0, 120, boxes), 1);
    range_is_exact(3, shape, 3, 117);
}
END_TEST

START_TEST(every_flat_range_is_decomposed_exactly)
{
    const uint64_t s3[3] = {3, 4, 5}, s1[1] = {9}, s4[4] = {2, 3, 1, 4};
    uint64_t a, b;

    for (a = 0; a <= 60; a++)
        for (b = a; b <= 60; b++)
            range_is_exact(3, s3, a, b);
    for (a = 0; a <= 9; a++)
        for (b = a; b <= 9; b++)
            range_is_exact(1, s1, a, b);
    for (a = 0; a <= 24; a++)
        for (b = a; b <= 24; b++)
            range_is_exact(4, s4, a, b);
}
END_TEST

START_TEST(scalar_and_empty_ranges)
{
    uint64_t boxes[2];

    ck_assert_uint_eq(h5ckpt__range_boxes(0, NULL, 0, 1, boxes), 1);
    ck_assert_uint_eq(h5ckpt__range_boxes(0, NULL, 0, 0, boxes), 0);
    ck_assert_uint_eq(h5ckpt__range_boxes(0, NULL, 5, 5, boxes), 0);
}
END_TEST

START_TEST(layout_constructors_check_their_arguments)
{
    const uint64_t shape[2] = {6, 7}, off[2] = {2, 3}, cnt[2] = {4, 4}, bad[2] = {5, 1};
    h5ckpt_layout *l = NULL;
    uint64_t local[2], o[2], c[2];
    int nd;

    ck_assert_int_eq(h5ckpt_layout_box(&l, 2, shape, off, cnt), 0);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &nd, local), 0);
    ck_assert_int_eq(nd, 2);
    ck_assert_uint_eq(local[0], 4); ck_assert_uint_eq(local[1], 4);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 16);
    h5ckpt_layout_free(l);
    ck_assert_int_eq(h5ckpt_layout_box(&l, 2, shape, off, bad), H5CKPT_EINVAL);
    ck_assert_ptr_null(l);
    ck_assert_int_eq(h5ckpt_layout_range(&l, 2, shape, 10, 43), H5CKPT_EINVAL);
    ck_assert_int_eq(h5ckpt_layout_range(&l, 2, shape, 9, 8), H5CKPT_EINVAL);
    ck_assert_int_eq(h5ckpt_layout_range(&l, 2, shape, 5, 30), 0);
    ck_assert_uint_eq(h5ckpt_layout_nboxes(l), 3);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 25);
    ck_assert_int_eq(h5ckpt_layout_get_box(l, 1, o, c), 0);
    ck_assert_uint_eq(o[0], 1); ck_assert_uint_eq(c[0], 3); ck_assert_uint_eq(c[1], 7);
    ck_assert_int_eq(h5ckpt_layout_get_box(l, 3, o, c), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
    ck_assert_int_eq(h5ckpt_layout_none(&l, 2, shape), 0);
    ck_assert_uint_eq(h5ckpt_layout_nboxes(l), 0);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 0);
    h5ckpt_layout_free(l);
    ck_assert_int_eq(h5ckpt_layout_whole(&l, 33, shape), H5CKPT_EINVAL);
    ck_assert_int_eq(h5ckpt_layout_whole(&l, -1, shape), H5CKPT_EINVAL);
    ck_assert_int_eq(h5ckpt_layout_whole(NULL, 2, shape), H5CKPT_EINVAL);
    h5ckpt_layout_free(NULL);
}
END_TEST

START_TEST(volume_detects_overflow_and_boxes_overlap)
{
    const uint64_t big[2] = {1ull << 40, 1ull << 40}, zero[3] = {1ull << 40, 0, 1ull << 40};
    const uint64_t a[4] = {0, 0, 2, 2}, touching[4] = {2, 0, 2, 2}, inside[4] = {1, 1, 1, 1};
    const uint64_t empty[4] = {1, 1, 0, 1};
    int over = 0;

    h5ckpt__volume(2, big, &over);
    ck_assert_int_eq(over, 1);
    ck_assert_uint_eq(h5ckpt__volume(3, zero, &over), 0);
    ck_assert_int_eq(over, 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, touching), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, inside), 1);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, empty), 0);
}
END_TEST

START_TEST(dtypes_map_to_the_specified_hdf5_types)
{
    static const struct { h5ckpt_dtype d; size_t s, spos, epos, esize, mpos, msize, bias; } f[] = {
        {H5CKPT_FLOAT16, 2, 15, 10, 5, 0, 10, 15},
        {H5CKPT_BFLOAT16, 2, 15, 7, 8, 0, 7, 127},
        {H5CKPT_FLOAT8_E4M3FN, 1, 7, 3, 4, 0, 3, 7},
        {H5CKPT_FLOAT8_E5M2, 1, 7, 2, 5, 0, 2, 15},
    };
    size_t i, spos, epos, esize, mpos, msize;
    int a, b;

    for (i = 0; i < sizeof f / sizeof *f; i++) {
        hid_t t = h5ckpt__h5type(f[i].d);
        ck_assert_int_eq(H5Tget_class(t), H5T_FLOAT);
        ck_assert_uint_eq(H5Tget_size(t), f[i].s);
        ck_assert_uint_eq(H5Tget_precision(t), 8 * f[i].s);
        H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize);
        ck_assert_uint_eq(spos, f[i].spos); ck_assert_uint_eq(epos, f[i].epos);
        ck_assert_uint_eq(esize, f[i].esize); ck_assert_uint_eq(mpos, f[i].mpos);
        ck_assert_uint_eq(msize, f[i].msize);
        ck_assert_uint_eq(H5Tget_ebias(t), f[i].bias);
        H5Tclose(t);
    }
    ck_assert(h5ckpt__h5type_matches(H5T_IEEE_F32LE, H5CKPT_FLOAT32));
    ck_assert(h5ckpt__h5type_matches(H5T_STD_U16LE, H5CKPT_UINT16));
    ck_assert(h5ckpt__h5type_matches(H5T_STD_I64LE, H5CKPT_INT64));
    {
        hid_t t = h5ckpt__h5type(H5CKPT_BOOL);
        signed char v;
        ck_assert_int_eq(H5Tget_class(t), H5T_ENUM);
        ck_assert_int_eq(H5Tget_nmembers(t), 2);
        H5Tget_member_value(t, 1, &v);
        ck_assert_int_eq(v, 1);
        H5Tclose(t);
    }
    /* Each dtype's type matches itself and no other dtype's. */
    for (a = 0; a < H5CKPT_DTYPE_COUNT; a++) {
        hid_t t = h5ckpt__h5type((h5ckpt_dtype)a);
        for (b = 0; b < H5CKPT_DTYPE_COUNT; b++)
            ck_assert_int_eq(h5ckpt__h5type_matches(t, (h5ckpt_dtype)b), a == b);
        H5Tclose(t);
    }
}
END_TEST

START_TEST(dtype_names_round_trip)
{
    h5ckpt_dtype d;
    int i;

    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
        ck_assert_int_eq(h5ckpt_dtype_from_name(&d, h5ckpt_dtype_name((h5ckpt_dtype)i)), 0);
        ck_assert_int_eq(d, i);
    }
    ck_assert_str_eq(h5ckpt_dtype_name(H5CKPT_BFLOAT16), "bfloat16");
    ck_assert_uint_eq(h5ckpt_dtype_size(H5CKPT_FLOAT8_E5M2), 1);
    ck_assert_uint_eq(h5ckpt_dtype_size(H5CKPT_UINT64), 8);
    ck_assert_int_eq(h5ckpt_dtype_from_name(&d, "float128"), H5CKPT_EINVAL);
    ck_assert_ptr_null(h5ckpt_dtype_name(H5CKPT_DTYPE_COUNT));
    ck_assert_uint_eq(h5ckpt_dtype_size((h5ckpt_dtype)-1), 0);
}
END_TEST

START_TEST(names_are_validated)
{
    static const char *good[] = {"model/encoder.layer.0.weight", "a", "a.b/c..d", "..a/b.",
                                 "\xe6\xa8\xa1\xe5\x9e\x8b/w"};
    static const char *bad[] = {"", "/a", "a/", "a//b", "a/./b", "../a", "a/..", ".",
                                "a\nb", "a\tb", "a\x7f"};
    char msg[H5CKPT_MSG_MAX], *huge = malloc(4098);
    size_t i;

    for (i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_int_eq(h5ckpt__check_path(good[i], 0, msg), 0);
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg[0] = '\0';
        ck_assert_msg(h5ckpt__check_path(bad[i], 0, msg) == H5CKPT_ENAME, "accepted bad[%zu]", i);
        ck_assert(msg[0] != '\0');
    }
    ck_assert_int_eq(h5ckpt__check_path("", 1, msg), 0);
    memset(huge, 'a', 4097);
    huge[4097] = '\0';
    ck_assert_int_eq(h5ckpt__check_path(huge, 0, msg), H5CKPT_ENAME);
    free(huge);
    ck_assert_int_eq(h5ckpt__check_attr_name("lr", 0, msg), 0);
    ck_assert_int_eq(h5ckpt__check_attr_name("", 0, msg), H5CKPT_ENAME);
    ck_assert_int_eq(h5ckpt__check_attr_name("a/b", 0, msg), H5CKPT_ENAME);
    ck_assert_int_eq(h5ckpt__check_attr_name("h5ckpt_x", 0, msg), H5CKPT_ENAME);
    ck_assert_int_eq(h5ckpt__check_attr_name("h5ckpt_x", 1, msg), 0);
    ck_assert_int_eq(h5ckpt__check_attr_name("a\x01", 0, msg), H5CKPT_ENAME);
}
END_TEST

START_TEST(channels_last_buffers_pack_to_row_major)
{
    enum { N = 2, C = 3, H = 4, W = 5 };
    const uint64_t shape[4] = {N, C, H, W};
    const int64_t strides[4] = {H * W * C, 1, W * C, C};
    int src[N * C * H * W], packed[N * C * H * W], back[N * C * H * W];
    int n, c, h, w, k = 0;
    uint64_t span;

    for (n = 0; n < N; n++) for (c = 0; c < C; c++) for (h = 0; h < H; h++) for (w = 0; w < W; w++)
        src[n * strides[0] + c * strides[1] + h * strides[2] + w * strides[3]] = n * 1000 + c * 100 + h * 10 + w;
    h5ckpt__pack(packed, src, 4, shape, strides, sizeof(int));
    for (n = 0; n < N; n++) for (c = 0; c < C; c++) for (h = 0; h < H; h++) for (w = 0; w < W; w++)
        ck_assert_int_eq(packed[k++], n * 1000 + c * 100 + h * 10 + w);
    memset(back, 0, sizeof back);
    h5ckpt__unpack(back, packed, 4, shape, strides, sizeof(int));
    ck_assert_mem_eq(back, src, sizeof src);
    {
        const uint64_t s2[2] = {3, 4};
        const int64_t st2[2] = {6, 1}, neg[2] = {6, 0};
        ck_assert_int_eq(h5ckpt__strided_span(2, s2, st2, &span), 0);
        ck_assert_uint_eq(span, 16);
        ck_assert_int_eq(h5ckpt__strided_span(2, s2, neg, &span), H5CKPT_EINVAL);
    }
}
END_TEST

START_TEST(error_table_names_every_code)
{
#define X(name, value, desc)                                               \
    ck_assert_str_eq(h5ckpt_errname(value), "H5CKPT_" #name);             \
    ck_assert_str_eq(h5ckpt_strerror(value), desc);
    H5CKPT_ERRNO_MAP(X)
#undef X
    ck_assert_str_eq(h5ckpt_errname(-999), "H5CKPT_UNKNOWN");
    ck_assert_str_eq(h5ckpt_strerror(-999), "unknown error");
}
END_TEST

START_TEST(string_map_and_buffer_round_trip)
{
    h5ckpt__strmap m = {0};
    h5ckpt__buf b = {0};
    char key[32];
    int i;

    for (i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(h5ckpt__strmap_put(&m, key, i % 7), 0);
    }
    h5ckpt__strmap_put(&m, "k5", 42);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "k5"), 42);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "k9999"), 9999 % 7);
    ck_assert_int_eq(h5ckpt__strmap_get(&m, "nope"), -1);
    h5ckpt__strmap_free(&m);
    h5ckpt__buf_u64(&b, 77);
    h5ckpt__buf_str(&b, "hello");
    ck_assert_uint_eq(h5ckpt__buf_get_u64(&b), 77);
    ck_assert_str_eq(h5ckpt__buf_get_str(&b), "hello");
    ck_assert_uint_eq(h5ckpt__buf_get_u64(&b), 0);
    ck_assert_int_eq(b.err, H5CKPT_ECORRUPT);
    h5ckpt__buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("pure");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, chunk_follows_torch_chunk);
    tcase_add_test(tc, chunk_gives_zero_size_trailing_parts);
    tcase_add_test(tc, shard_box_on_two_by_two_mesh);
    tcase_add_test(tc, nested_shards_apply_in_mesh_dimension_order);
    tcase_add_test(tc, replicate_keeps_whole_and_bad_dim_is_rejected);
    tcase_add_test(tc, flat_range_of_three_dims_becomes_five_boxes);
    tcase_add_test(tc, every_flat_range_is_decomposed_exactly);
    tcase_add_test(tc, scalar_and_empty_ranges);
    tcase_add_test(tc, layout_constructors_check_their_arguments);
    tcase_add_test(tc, volume_detects_overflow_and_boxes_overlap);
    tcase_add_test(tc, dtypes_map_to_the_specified_hdf5_types);
    tcase_add_test(tc, dtype_names_round_trip);
    tcase_add_test(tc, names_are_validated);
    tcase_add_test(tc, channels_last_buffers_pack_to_row_major);
    tcase_add_test(tc, error_table_names_every_code);
    tcase_add_test(tc, string_map_and_buffer_round_trip);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
