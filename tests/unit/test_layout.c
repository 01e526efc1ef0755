/* Unit tests of the layout arithmetic (torch.chunk, DTensor nesting, flat
 * ranges, volumes, overlaps) and of the layout constructors that need no
 * mesh.  No MPI: nothing here calls MPI_Init. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"

#define U(x) ((unsigned long long)(x))

/* ---- h5ckpt__chunk ------------------------------------------------------ */

/*
 * Contract under test (torch.chunk with DTensor's padding): chunk =
 * ceil(n / k); part i is [i*chunk, min((i+1)*chunk, n)).  A part with
 * i*chunk >= n is EMPTY: it gets offset min(i*chunk, n) and count 0, so an
 * empty part never points past the end of the dimension.
 */
static void chunk_is(uint64_t n, uint64_t k, uint64_t i, uint64_t want_off,
                     uint64_t want_cnt)
{
    uint64_t off = 12345, cnt = 12345;

    h5ckpt__chunk(n, k, i, &off, &cnt);
    ck_assert_msg(off == want_off && cnt == want_cnt,
                  "chunk(n=%llu, k=%llu, i=%llu) = (%llu, %llu), want (%llu, %llu)",
                  U(n), U(k), U(i), U(off), U(cnt), U(want_off), U(want_cnt));
}

START_TEST(chunk_splits_seven_into_three_like_torch)
{
    /* torch.arange(7).chunk(3): sizes 3, 3, 1 */
    chunk_is(7, 3, 0, 0, 3);
    chunk_is(7, 3, 1, 3, 3);
    chunk_is(7, 3, 2, 6, 1);
}
END_TEST

START_TEST(chunk_splits_seven_into_four_with_a_short_last_part)
{
    /* chunk = ceil(7/4) = 2: 2, 2, 2, 1 */
    chunk_is(7, 4, 0, 0, 2);
    chunk_is(7, 4, 1, 2, 2);
    chunk_is(7, 4, 2, 4, 2);
    chunk_is(7, 4, 3, 6, 1);
}
END_TEST

START_TEST(chunk_gives_zero_size_trailing_parts)
{
    /* n=5, k=4: chunk 2 -> 2, 2, 1, 0; the empty part starts at n = 5 */
    chunk_is(5, 4, 0, 0, 2);
    chunk_is(5, 4, 1, 2, 2);
    chunk_is(5, 4, 2, 4, 1);
    chunk_is(5, 4, 3, 5, 0);
    /* n=6, k=4: chunk 2 -> 2, 2, 2, 0 (i*chunk == n exactly) */
    chunk_is(6, 4, 3, 6, 0);
}
END_TEST

START_TEST(chunk_clamps_offsets_of_empty_parts_to_the_extent)
{
    /* n=2, k=4: chunk 1 -> (0,1), (1,1), then parts 2 and 3 are empty;
     * part 3 would start at 3 > n, so its offset is clamped to n = 2. */
    chunk_is(2, 4, 0, 0, 1);
    chunk_is(2, 4, 1, 1, 1);
    chunk_is(2, 4, 2, 2, 0);
    chunk_is(2, 4, 3, 2, 0);
    /* n=1, k=8: chunk 1 -> one element, seven empty parts at offset 1 */
    chunk_is(1, 8, 0, 0, 1);
    chunk_is(1, 8, 1, 1, 0);
    chunk_is(1, 8, 7, 1, 0);
}
END_TEST

START_TEST(chunk_of_an_empty_dimension_is_empty_everywhere)
{
    chunk_is(0, 3, 0, 0, 0);
    chunk_is(0, 3, 1, 0, 0);
    chunk_is(0, 3, 2, 0, 0);
}
END_TEST

START_TEST(chunk_into_one_part_is_the_whole_dimension)
{
    chunk_is(7, 1, 0, 0, 7);
    chunk_is(1, 1, 0, 0, 1);
    chunk_is(0, 1, 0, 0, 0);
}
END_TEST

START_TEST(chunk_splits_ten_into_four_with_chunk_three)
{
    /* torch.arange(10).chunk(4): sizes 3, 3, 3, 1 */
    chunk_is(10, 4, 0, 0, 3);
    chunk_is(10, 4, 1, 3, 3);
    chunk_is(10, 4, 2, 6, 3);
    chunk_is(10, 4, 3, 9, 1);
}
END_TEST

START_TEST(chunk_of_a_huge_extent_does_not_overflow)
{
    /* ceil((2^64-1)/2) = 2^63; (n + k - 1) / k would wrap around. */
    chunk_is(UINT64_MAX, 2, 0, 0, UINT64_C(1) << 63);
    chunk_is(UINT64_MAX, 2, 1, UINT64_C(1) << 63, (UINT64_C(1) << 63) - 1);
}
END_TEST

/* ---- h5ckpt__shard_box ---------------------------------------------------- */

static void box_is(int ndim, const uint64_t *shape, int mesh_ndim, const int *mesh_shape,
                   const int *coords, const int *placements, const uint64_t *want_off,
                   const uint64_t *want_cnt)
{
    uint64_t off[H5CKPT_MAX_NDIM], cnt[H5CKPT_MAX_NDIM];
    int d, rc;

    rc = h5ckpt__shard_box(ndim, shape, mesh_ndim, mesh_shape, coords, placements, off, cnt);
    ck_assert_int_eq(rc, 0);
    for (d = 0; d < ndim; d++)
        ck_assert_msg(off[d] == want_off[d] && cnt[d] == want_cnt[d],
                      "coords (%d%s%d): dim %d is (%llu, %llu), want (%llu, %llu)", coords[0],
                      mesh_ndim > 1 ? "," : "", mesh_ndim > 1 ? coords[1] : 0, d, U(off[d]),
                      U(cnt[d]), U(want_off[d]), U(want_cnt[d]));
}

START_TEST(shard_box_on_a_one_dimensional_mesh_splits_dim_zero)
{
    const uint64_t shape[2] = {10, 3};
    const int mesh[1] = {4}, pl[1] = {H5CKPT_SHARD(0)};
    /* 10 over 4: chunk 3 -> (0,3), (3,3), (6,3), (9,1); dim 1 whole */
    const uint64_t want_off[4][2] = {{0, 0}, {3, 0}, {6, 0}, {9, 0}};
    const uint64_t want_cnt[4][2] = {{3, 3}, {3, 3}, {3, 3}, {1, 3}};
    int r;

    for (r = 0; r < 4; r++) {
        int coords[1] = {r};
        box_is(2, shape, 1, mesh, coords, pl, want_off[r], want_cnt[r]);
    }
}
END_TEST

START_TEST(shard_box_on_two_by_two_mesh_splits_both_dims)
{
    const uint64_t shape[2] = {7, 5};
    const int mesh[2] = {2, 2}, pl[2] = {H5CKPT_SHARD(0), H5CKPT_SHARD(1)};
    /* dim 0: 7 over 2 -> (0,4), (4,3); dim 1: 5 over 2 -> (0,3), (3,2) */
    const uint64_t want_off[4][2] = {{0, 0}, {0, 3}, {4, 0}, {4, 3}};
    const uint64_t want_cnt[4][2] = {{4, 3}, {4, 2}, {3, 3}, {3, 2}};
    int r;

    for (r = 0; r < 4; r++) {
        int coords[2] = {r / 2, r % 2};
        box_is(2, shape, 2, mesh, coords, pl, want_off[r], want_cnt[r]);
    }
}
END_TEST

START_TEST(shard_box_follows_placements_not_mesh_dim_order)
{
    /* [Shard(1), Shard(0)] on mesh (2,3), tensor (6,4): mesh dim 0 splits
     * tensor dim 1 (4 over 2, chunk 2), mesh dim 1 splits tensor dim 0
     * (6 over 3, chunk 2). */
    const uint64_t shape[2] = {6, 4};
    const int mesh[2] = {2, 3}, pl[2] = {H5CKPT_SHARD(1), H5CKPT_SHARD(0)};
    int a, b;

    for (a = 0; a < 2; a++)
        for (b = 0; b < 3; b++) {
            int coords[2] = {a, b};
            uint64_t off[2] = {(uint64_t)(2 * b), (uint64_t)(2 * a)}, cnt[2] = {2, 2};
            box_is(2, shape, 2, mesh, coords, pl, off, cnt);
        }
}
END_TEST

START_TEST(nested_shards_apply_in_mesh_dimension_order)
{
    /* [Shard(0), Shard(0)] on mesh (2,2), dim 0 = 7: mesh dim 0 gives
     * (0,4), (4,3); mesh dim 1 splits each: (0,2),(2,2) and (4,2),(6,1). */
    const uint64_t shape[2] = {7, 3};
    const int mesh[2] = {2, 2}, pl[2] = {H5CKPT_SHARD(0), H5CKPT_SHARD(0)};
    const uint64_t want_off[4][2] = {{0, 0}, {2, 0}, {4, 0}, {6, 0}};
    const uint64_t want_cnt[4][2] = {{2, 3}, {2, 3}, {2, 3}, {1, 3}};
    int r;

    for (r = 0; r < 4; r++) {
        int coords[2] = {r / 2, r % 2};
        box_is(2, shape, 2, mesh, coords, pl, want_off[r], want_cnt[r]);
    }
}
END_TEST

START_TEST(nested_shards_can_produce_zero_size_boxes)
{
    /* dim 0 = 3 on mesh (2,2) nested: (0,2) -> (0,1),(1,1); (2,1) -> (2,1),
     * then an empty part clamped to the end of its parent: (3,0). */
    const uint64_t shape[1] = {3};
    const int mesh[2] = {2, 2}, pl[2] = {H5CKPT_SHARD(0), H5CKPT_SHARD(0)};
    const uint64_t want_off[4] = {0, 1, 2, 3}, want_cnt[4] = {1, 1, 1, 0};
    int r;

    for (r = 0; r < 4; r++) {
        int coords[2] = {r / 2, r % 2};
        box_is(1, shape, 2, mesh, coords, pl, &want_off[r], &want_cnt[r]);
    }
}
END_TEST

START_TEST(nested_shards_of_an_empty_parent_stay_at_its_offset)
{
    /* dim 0 = 1 on mesh (2,2) nested: mesh dim 0 -> (0,1), (1,0); mesh dim 1
     * splits (0,1) into (0,1), (1,0) and the empty (1,0) into (1,0), (1,0). */
    const uint64_t shape[1] = {1};
    const int mesh[2] = {2, 2}, pl[2] = {H5CKPT_SHARD(0), H5CKPT_SHARD(0)};
    const uint64_t want_off[4] = {0, 1, 1, 1}, want_cnt[4] = {1, 0, 0, 0};
    int r;

    for (r = 0; r < 4; r++) {
        int coords[2] = {r / 2, r % 2};
        box_is(1, shape, 2, mesh, coords, pl, &want_off[r], &want_cnt[r]);
    }
}
END_TEST

START_TEST(nested_shards_skip_replicated_mesh_dims)
{
    /* [Shard(0), Replicate(), Shard(0)] on mesh (2,2,2), dim 0 = 8:
     * mesh dim 0 -> (0,4), (4,4); mesh dim 2 -> halves of those. */
    const uint64_t shape[1] = {8};
    const int mesh[3] = {2, 2, 2};
    const int pl[3] = {H5CKPT_SHARD(0), H5CKPT_REPLICATE, H5CKPT_SHARD(0)};
    int r;

    for (r = 0; r < 8; r++) {
        int coords[3] = {r / 4, (r / 2) % 2, r % 2};
        uint64_t off = (uint64_t)(4 * coords[0] + 2 * coords[2]), cnt = 2;
        box_is(1, shape, 3, mesh, coords, pl, &off, &cnt);
    }
}
END_TEST

START_TEST(replicate_then_shard_splits_only_the_sharded_dim)
{
    /* [Replicate, Shard(1)] on mesh (2,3), tensor (4,6): dim 1 chunk 2 */
    const uint64_t shape[2] = {4, 6};
    const int mesh[2] = {2, 3}, pl[2] = {H5CKPT_REPLICATE, H5CKPT_SHARD(1)};
    int a, b;

    for (a = 0; a < 2; a++)
        for (b = 0; b < 3; b++) {
            int coords[2] = {a, b};
            uint64_t off[2] = {0, (uint64_t)(2 * b)}, cnt[2] = {4, 2};
            box_is(2, shape, 2, mesh, coords, pl, off, cnt);
        }
}
END_TEST

START_TEST(all_replicate_gives_the_whole_tensor)
{
    const uint64_t shape[3] = {3, 4, 5}, zero[3] = {0, 0, 0};
    const int mesh[2] = {2, 2}, pl[2] = {H5CKPT_REPLICATE, H5CKPT_REPLICATE};
    int r;

    for (r = 0; r < 4; r++) {
        int coords[2] = {r / 2, r % 2};
        box_is(3, shape, 2, mesh, coords, pl, zero, shape);
    }
}
END_TEST

START_TEST(replicated_scalar_has_an_empty_box)
{
    const int mesh[1] = {4}, pl[1] = {H5CKPT_REPLICATE}, coords[1] = {3};
    uint64_t off[1], cnt[1];

    ck_assert_int_eq(h5ckpt__shard_box(0, NULL, 1, mesh, coords, pl, off, cnt), 0);
}
END_TEST

START_TEST(shard_box_rejects_a_placement_past_the_last_dim)
{
    const uint64_t shape[2] = {4, 6};
    const int mesh[2] = {2, 3}, coords[2] = {1, 2};
    const int pl[2] = {H5CKPT_SHARD(2), H5CKPT_REPLICATE};
    uint64_t off[2], cnt[2];

    ck_assert_int_eq(h5ckpt__shard_box(2, shape, 2, mesh, coords, pl, off, cnt),
                     H5CKPT_EINVAL);
}
END_TEST

START_TEST(shard_box_rejects_sharding_a_scalar)
{
    const int mesh[1] = {2}, coords[1] = {0}, pl[1] = {H5CKPT_SHARD(0)};
    uint64_t off[1], cnt[1];

    ck_assert_int_eq(h5ckpt__shard_box(0, NULL, 1, mesh, coords, pl, off, cnt),
                     H5CKPT_EINVAL);
}
END_TEST

START_TEST(shard_box_rejects_a_negative_placement_other_than_replicate)
{
    const uint64_t shape[2] = {4, 6};
    const int mesh[2] = {2, 3}, coords[2] = {0, 0};
    const int pl[2] = {-2, H5CKPT_REPLICATE};
    uint64_t off[2], cnt[2];

    ck_assert_int_eq(h5ckpt__shard_box(2, shape, 2, mesh, coords, pl, off, cnt),
                     H5CKPT_EINVAL);
}
END_TEST

/* ---- h5ckpt__range_boxes ----------------------------------------------- */

#define MAXBOXES (2 * H5CKPT_MAX_NDIM - 1)

/*
 * Brute-force check: expand the boxes, in order, each in row-major order,
 * into flat indices of `shape`; they must be exactly start, start+1, ...,
 * end-1.  Also: at most 2*ndim-1 boxes (1 for ndim 0), none empty.
 */
static size_t check_range(int ndim, const uint64_t *shape, uint64_t start, uint64_t end)
{
    static uint64_t boxes[MAXBOXES * 2 * H5CKPT_MAX_NDIM];
    uint64_t stride[H5CKPT_MAX_NDIM], next = start;
    size_t nb, k, limit = ndim == 0 ? 1 : (size_t)(2 * ndim - 1);
    int d;

    nb = h5ckpt__range_boxes(ndim, shape, start, end, boxes);
    ck_assert_msg(nb <= limit, "[%llu,%llu): %zu boxes, at most %zu allowed", U(start), U(end),
                  nb, limit);
    if (ndim == 0) {
        ck_assert_uint_eq(nb, end - start);
        return nb;
    }
    stride[ndim - 1] = 1;
    for (d = ndim - 1; d > 0; d--)
        stride[d - 1] = stride[d] * shape[d];
    for (k = 0; k < nb; k++) {
        const uint64_t *o = boxes + k * 2 * (size_t)ndim, *c = o + ndim;
        uint64_t idx[H5CKPT_MAX_NDIM] = {0}, vol = 1, e;

        for (d = 0; d < ndim; d++) {
            ck_assert_msg(o[d] + c[d] <= shape[d],
                          "[%llu,%llu): box %zu leaves the shape in dim %d", U(start), U(end), k,
                          d);
            vol *= c[d];
        }
        ck_assert_msg(vol > 0, "[%llu,%llu): box %zu is empty", U(start), U(end), k);
        for (e = 0; e < vol; e++) {
            uint64_t flat = 0;
            for (d = 0; d < ndim; d++)
                flat += (o[d] + idx[d]) * stride[d];
            ck_assert_msg(flat == next, "[%llu,%llu): box %zu element %llu is %llu, want %llu",
                          U(start), U(end), k, U(e), U(flat), U(next));
            next++;
            for (d = ndim - 1; d >= 0; d--) {
                if (++idx[d] < c[d])
                    break;
                idx[d] = 0;
            }
        }
    }
    ck_assert_msg(next == end, "[%llu,%llu): boxes stop at %llu", U(start), U(end), U(next));
    return nb;
}

static void box_eq(const uint64_t *boxes, size_t k, int ndim, const uint64_t *off,
                   const uint64_t *cnt)
{
    const uint64_t *o = boxes + k * 2 * (size_t)ndim, *c = o + ndim;
    int d;

    for (d = 0; d < ndim; d++)
        ck_assert_msg(o[d] == off[d] && c[d] == cnt[d],
                      "box %zu dim %d is (%llu, %llu), want (%llu, %llu)", k, d, U(o[d]), U(c[d]),
                      U(off[d]), U(cnt[d]));
}

START_TEST(range_of_every_element_is_one_whole_box)
{
    const uint64_t shape[3] = {4, 5, 6}, zero[3] = {0, 0, 0};
    uint64_t boxes[5 * 6];

    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 0, 120, boxes), 1);
    box_eq(boxes, 0, 3, zero, shape);
    ck_assert_uint_eq(check_range(3, shape, 0, 120), 1);
}
END_TEST

START_TEST(range_three_to_117_of_4x5x6_is_five_boxes_in_flat_order)
{
    /* strides (30, 6, 1); 3 = (0,0,3), 116 = (3,4,2):
     *   row rest     (0,0,3)+(1,1,3)   flat   3..5
     *   plane rest   (0,1,0)+(1,4,6)   flat   6..29
     *   full planes  (1,0,0)+(2,5,6)   flat  30..89
     *   lead rows    (3,0,0)+(1,4,6)   flat  90..113
     *   row head     (3,4,0)+(1,1,3)   flat 114..116 */
    const uint64_t shape[3] = {4, 5, 6};
    const uint64_t off[5][3] = {{0, 0, 3}, {0, 1, 0}, {1, 0, 0}, {3, 0, 0}, {3, 4, 0}};
    const uint64_t cnt[5][3] = {{1, 1, 3}, {1, 4, 6}, {2, 5, 6}, {1, 4, 6}, {1, 1, 3}};
    uint64_t boxes[5 * 6];
    size_t k;

    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 3, 117, boxes), 5);
    for (k = 0; k < 5; k++)
        box_eq(boxes, k, 3, off[k], cnt[k]);
    ck_assert_uint_eq(check_range(3, shape, 3, 117), 5);
}
END_TEST

START_TEST(range_aligned_to_planes_is_one_box)
{
    const uint64_t shape[3] = {4, 5, 6}, off[3] = {1, 0, 0}, cnt[3] = {2, 5, 6};
    uint64_t boxes[5 * 6];

    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 30, 90, boxes), 1);
    box_eq(boxes, 0, 3, off, cnt);
}
END_TEST

START_TEST(range_aligned_to_rows_within_a_plane_is_one_box)
{
    const uint64_t shape[3] = {4, 5, 6}, off[3] = {0, 1, 0}, cnt[3] = {1, 2, 6};
    uint64_t boxes[5 * 6];

    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 6, 18, boxes), 1);
    box_eq(boxes, 0, 3, off, cnt);
}
END_TEST

START_TEST(range_inside_one_row_is_one_box)
{
    const uint64_t shape[3] = {4, 5, 6}, off[3] = {0, 1, 1}, cnt[3] = {1, 1, 3};
    uint64_t boxes[5 * 6];

    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 7, 10, boxes), 1);
    box_eq(boxes, 0, 3, off, cnt);
}
END_TEST

START_TEST(every_range_of_3x4x5_is_decomposed_exactly)
{
    const uint64_t shape[3] = {3, 4, 5};
    uint64_t a, b;

    for (a = 0; a <= 60; a++)
        for (b = a; b <= 60; b++)
            check_range(3, shape, a, b);
}
END_TEST

START_TEST(every_range_of_two_and_four_dims_is_decomposed_exactly)
{
    const uint64_t shape2[2] = {4, 5}, shape4[4] = {2, 3, 2, 3};
    const uint64_t shape1x[3] = {1, 7, 1};
    uint64_t a, b;

    for (a = 0; a <= 20; a++)
        for (b = a; b <= 20; b++)
            check_range(2, shape2, a, b);
    for (a = 0; a <= 36; a++)
        for (b = a; b <= 36; b++)
            check_range(4, shape4, a, b);
    for (a = 0; a <= 7; a++)
        for (b = a; b <= 7; b++)
            check_range(3, shape1x, a, b);
}
END_TEST

START_TEST(range_of_a_one_dimensional_tensor_is_one_box)
{
    const uint64_t shape[1] = {10}, off[1] = {2}, cnt[1] = {5};
    uint64_t boxes[2], a, b;

    ck_assert_uint_eq(h5ckpt__range_boxes(1, shape, 2, 7, boxes), 1);
    box_eq(boxes, 0, 1, off, cnt);
    for (a = 0; a <= 10; a++)
        for (b = a; b <= 10; b++)
            ck_assert_uint_eq(check_range(1, shape, a, b), b > a ? 1 : 0);
}
END_TEST

START_TEST(range_of_a_scalar_is_one_box_or_none)
{
    uint64_t boxes[2] = {0, 0};

    ck_assert_uint_eq(h5ckpt__range_boxes(0, NULL, 0, 1, boxes), 1);
    ck_assert_uint_eq(h5ckpt__range_boxes(0, NULL, 0, 0, boxes), 0);
    ck_assert_uint_eq(h5ckpt__range_boxes(0, NULL, 1, 1, boxes), 0);
}
END_TEST

START_TEST(empty_range_has_no_boxes)
{
    const uint64_t shape[3] = {4, 5, 6}, shape0[3] = {3, 0, 4};
    uint64_t boxes[5 * 6];

    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 5, 5, boxes), 0);
    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 0, 0, boxes), 0);
    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape, 120, 120, boxes), 0);
    ck_assert_uint_eq(h5ckpt__range_boxes(3, shape0, 0, 0, boxes), 0);
}
END_TEST

START_TEST(range_of_a_huge_matrix_is_three_boxes_without_enumeration)
{
    /* (2^20, 2^20), [1, 2^40 - 1): row rest, full rows, head of last row */
    const uint64_t m = UINT64_C(1) << 20, shape[2] = {m, m};
    const uint64_t off[3][2] = {{0, 1}, {1, 0}, {m - 1, 0}};
    const uint64_t cnt[3][2] = {{1, m - 1}, {m - 2, m}, {1, m - 1}};
    uint64_t boxes[3 * 4];
    size_t k;

    ck_assert_uint_eq(h5ckpt__range_boxes(2, shape, 1, m * m - 1, boxes), 3);
    for (k = 0; k < 3; k++)
        box_eq(boxes, k, 2, off[k], cnt[k]);
}
END_TEST

/* ---- h5ckpt__volume and h5ckpt__boxes_overlap ----------------------------- */

START_TEST(volume_is_the_product_of_extents)
{
    const uint64_t e[3] = {2, 3, 4}, z[3] = {2, 0, 4};
    int ovf = 0;

    ck_assert_uint_eq(h5ckpt__volume(3, e, &ovf), 24);
    ck_assert_int_eq(ovf, 0);
    ck_assert_uint_eq(h5ckpt__volume(3, z, &ovf), 0);
    ck_assert_int_eq(ovf, 0);
    ck_assert_uint_eq(h5ckpt__volume(0, e, &ovf), 1);
    ck_assert_int_eq(ovf, 0);
    ck_assert_uint_eq(h5ckpt__volume(3, e, NULL), 24);
}
END_TEST

START_TEST(volume_detects_overflow)
{
    const uint64_t big[2] = {UINT64_C(1) << 40, UINT64_C(1) << 40};
    const uint64_t edge[2] = {UINT64_C(1) << 32, UINT64_C(1) << 32};
    int ovf = 0;

    h5ckpt__volume(2, big, &ovf);
    ck_assert_int_ne(ovf, 0);
    ovf = 0;
    h5ckpt__volume(2, edge, &ovf);
    ck_assert_int_ne(ovf, 0);
}
END_TEST

START_TEST(volume_of_exactly_uint64_max_does_not_overflow)
{
    /* (2^32 - 1) * (2^32 + 1) = 2^64 - 1 */
    const uint64_t e[2] = {UINT64_C(0xFFFFFFFF), UINT64_C(0x100000001)};
    int ovf = 0;

    ck_assert_uint_eq(h5ckpt__volume(2, e, &ovf), UINT64_MAX);
    ck_assert_int_eq(ovf, 0);
}
END_TEST

START_TEST(volume_with_a_zero_extent_is_zero_without_overflow)
{
    /* The product is 0, which fits: no overflow whatever the order. */
    const uint64_t e[3] = {UINT64_C(1) << 40, UINT64_C(1) << 40, 0};
    int ovf = 0;

    ck_assert_uint_eq(h5ckpt__volume(3, e, &ovf), 0);
    ck_assert_int_eq(ovf, 0);
}
END_TEST

START_TEST(overlapping_boxes_are_detected)
{
    const uint64_t a[4] = {0, 0, 2, 2}, b[4] = {1, 1, 2, 2}, inner[4] = {1, 1, 1, 1};

    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, b), 1);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, b, a), 1);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, a), 1);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, inner), 1);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, inner, a), 1);
}
END_TEST

START_TEST(touching_boxes_do_not_overlap)
{
    const uint64_t a[4] = {0, 0, 2, 2}, right[4] = {0, 2, 2, 2}, below[4] = {2, 0, 2, 2};
    const uint64_t corner[4] = {2, 2, 1, 1}, far[4] = {5, 5, 1, 1};

    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, right), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, right, a), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, below), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, corner), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, far), 0);
}
END_TEST

START_TEST(boxes_overlapping_in_one_dim_only_do_not_overlap)
{
    const uint64_t a[4] = {0, 0, 4, 2}, b[4] = {1, 3, 2, 2};

    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, b), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, b, a), 0);
}
END_TEST

START_TEST(empty_boxes_never_overlap)
{
    const uint64_t a[4] = {0, 0, 4, 4}, e1[4] = {1, 1, 0, 2}, e2[4] = {1, 1, 2, 0};

    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, e1), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, e1, a), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, a, e2), 0);
    ck_assert_int_eq(h5ckpt__boxes_overlap(2, e1, e1), 0);
}
END_TEST

/* ---- public constructors without a mesh ---------------------------------- */

static void get_box_is(const h5ckpt_layout *l, size_t i, int ndim, const uint64_t *off,
                       const uint64_t *cnt)
{
    uint64_t o[H5CKPT_MAX_NDIM], c[H5CKPT_MAX_NDIM];
    int d;

    ck_assert_int_eq(h5ckpt_layout_box_at(l, i, o, c), 0);
    for (d = 0; d < ndim; d++)
        ck_assert_msg(o[d] == off[d] && c[d] == cnt[d],
                      "box %zu dim %d is (%llu, %llu), want (%llu, %llu)", i, d, U(o[d]),
                      U(c[d]), U(off[d]), U(cnt[d]));
}

START_TEST(box_layout_holds_its_box)
{
    const uint64_t shape[2] = {4, 6}, off[2] = {1, 2}, cnt[2] = {2, 3};
    h5ckpt_layout *l = NULL;
    uint64_t lshape[H5CKPT_MAX_NDIM];
    int lndim = -1;

    ck_assert_int_eq(h5ckpt_layout_box(&l, 2, shape, off, cnt, NULL), 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &lndim, lshape), 0);
    ck_assert_int_eq(lndim, 2);
    ck_assert_uint_eq(lshape[0], 2);
    ck_assert_uint_eq(lshape[1], 3);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 6);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 1);
    get_box_is(l, 0, 2, off, cnt);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_accepts_an_empty_box_at_the_end)
{
    /* What torch.chunk gives a trailing rank: offset = extent, count 0. */
    const uint64_t shape[2] = {4, 6}, off[2] = {4, 0}, cnt[2] = {0, 6};
    h5ckpt_layout *l = NULL;
    uint64_t lshape[H5CKPT_MAX_NDIM];
    int lndim = -1;

    ck_assert_int_eq(h5ckpt_layout_box(&l, 2, shape, off, cnt, NULL), 0);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &lndim, lshape), 0);
    ck_assert_int_eq(lndim, 2);
    ck_assert_uint_eq(lshape[0], 0);
    ck_assert_uint_eq(lshape[1], 6);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 0);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_of_a_scalar_holds_one_element)
{
    h5ckpt_layout *l = NULL;
    uint64_t lshape[H5CKPT_MAX_NDIM];
    int lndim = -1;

    ck_assert_int_eq(h5ckpt_layout_box(&l, 0, NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &lndim, lshape), 0);
    ck_assert_int_eq(lndim, 0);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 1);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 1);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_rejects_a_box_past_the_end)
{
    const uint64_t shape[2] = {4, 6}, off[2] = {3, 0}, cnt[2] = {2, 6};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_box(&l, 2, shape, off, cnt, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_rejects_an_empty_box_past_the_end)
{
    const uint64_t shape[2] = {4, 6}, off[2] = {5, 0}, cnt[2] = {0, 6};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_box(&l, 2, shape, off, cnt, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_rejects_an_offset_that_wraps_around)
{
    /* UINT64_MAX + 2 wraps to 1, which is <= 4: must still be rejected. */
    const uint64_t shape[2] = {4, 6}, off[2] = {UINT64_MAX, 0}, cnt[2] = {2, 6};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_box(&l, 2, shape, off, cnt, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_rejects_too_many_dims)
{
    uint64_t shape[H5CKPT_MAX_NDIM + 1], off[H5CKPT_MAX_NDIM + 1], cnt[H5CKPT_MAX_NDIM + 1];
    h5ckpt_layout *l = NULL;
    int d;

    for (d = 0; d <= H5CKPT_MAX_NDIM; d++) {
        shape[d] = 1;
        off[d] = 0;
        cnt[d] = 1;
    }
    ck_assert_int_eq(h5ckpt_layout_box(&l, H5CKPT_MAX_NDIM + 1, shape, off, cnt, NULL),
                     H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_accepts_the_maximum_number_of_dims)
{
    uint64_t shape[H5CKPT_MAX_NDIM], off[H5CKPT_MAX_NDIM], cnt[H5CKPT_MAX_NDIM];
    h5ckpt_layout *l = NULL;
    int d;

    for (d = 0; d < H5CKPT_MAX_NDIM; d++) {
        shape[d] = 2;
        off[d] = 1;
        cnt[d] = 1;
    }
    ck_assert_int_eq(h5ckpt_layout_box(&l, H5CKPT_MAX_NDIM, shape, off, cnt, NULL), 0);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 1);
    get_box_is(l, 0, H5CKPT_MAX_NDIM, off, cnt);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_rejects_negative_dims)
{
    const uint64_t shape[1] = {4}, off[1] = {0}, cnt[1] = {4};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_box(&l, -1, shape, off, cnt, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(box_layout_rejects_a_null_out)
{
    const uint64_t shape[1] = {4}, off[1] = {0}, cnt[1] = {4};

    ck_assert_int_eq(h5ckpt_layout_box(NULL, 1, shape, off, cnt, NULL), H5CKPT_EINVAL);
}
END_TEST

/* Constructors report through h5ckpt_error, with *out cleared. */
static void expect_error(int rc, const h5ckpt_error *err, const char *message)
{
    ck_assert_int_eq(rc, H5CKPT_EINVAL);
    ck_assert_int_eq(err->code, H5CKPT_EINVAL);
    ck_assert_str_eq(err->message, message);
}

START_TEST(layout_constructors_say_what_is_wrong)
{
    const uint64_t shape[2] = {4, 6}, off[2] = {1, 5}, cnt[2] = {2, 2};
    h5ckpt_layout *l = (h5ckpt_layout *)1;
    h5ckpt_error err = {0, ""};

    expect_error(h5ckpt_layout_box(&l, 2, shape, off, cnt, &err), &err,
                 "the box [5, 7) of dimension 1 lies outside its extent 6");
    ck_assert_ptr_null(l);
    expect_error(h5ckpt_layout_whole(&l, 33, shape, &err), &err,
                 "ndim 33 is not in 0..32");
    expect_error(h5ckpt_layout_none(&l, 2, NULL, &err), &err, "shape is NULL");
    expect_error(h5ckpt_layout_range(&l, 2, shape, 20, 25, &err), &err,
                 "the range [20, 25) is not inside the tensor's 24 elements");
    expect_error(h5ckpt_layout_box(NULL, 2, shape, off, cnt, &err), &err,
                 "out is NULL");
    expect_error(h5ckpt_layout_sharded(&l, NULL, 2, shape, NULL, &err), &err,
                 "mesh is NULL");
}
END_TEST

START_TEST(get_box_rejects_an_index_past_the_last_box)
{
    const uint64_t shape[2] = {4, 6};
    h5ckpt_layout *l = NULL;
    uint64_t o[2], c[2];

    ck_assert_int_eq(h5ckpt_layout_whole(&l, 2, shape, NULL), 0);
    ck_assert_int_eq(h5ckpt_layout_box_at(l, 1, o, c), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(whole_layout_is_one_box_of_the_full_shape)
{
    const uint64_t shape[3] = {3, 4, 5}, zero[3] = {0, 0, 0};
    h5ckpt_layout *l = NULL;
    uint64_t lshape[H5CKPT_MAX_NDIM];
    int lndim = -1;

    ck_assert_int_eq(h5ckpt_layout_whole(&l, 3, shape, NULL), 0);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &lndim, lshape), 0);
    ck_assert_int_eq(lndim, 3);
    ck_assert_uint_eq(lshape[0], 3);
    ck_assert_uint_eq(lshape[1], 4);
    ck_assert_uint_eq(lshape[2], 5);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 60);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 1);
    get_box_is(l, 0, 3, zero, shape);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(whole_layout_of_a_scalar_holds_one_element)
{
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_whole(&l, 0, NULL, NULL), 0);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 1);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 1);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(whole_layout_rejects_too_many_dims)
{
    uint64_t shape[H5CKPT_MAX_NDIM + 1];
    h5ckpt_layout *l = NULL;
    int d;

    for (d = 0; d <= H5CKPT_MAX_NDIM; d++)
        shape[d] = 1;
    ck_assert_int_eq(h5ckpt_layout_whole(&l, H5CKPT_MAX_NDIM + 1, shape, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(whole_layout_rejects_a_null_out)
{
    const uint64_t shape[1] = {4};

    ck_assert_int_eq(h5ckpt_layout_whole(NULL, 1, shape, NULL), H5CKPT_EINVAL);
}
END_TEST

START_TEST(none_layout_holds_nothing)
{
    const uint64_t shape[2] = {3, 4};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_none(&l, 2, shape, NULL), 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 0);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 0);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(none_layout_rejects_negative_dims)
{
    const uint64_t shape[1] = {4};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_none(&l, -1, shape, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(range_layout_is_one_dimensional_with_five_boxes)
{
    const uint64_t shape[3] = {4, 5, 6};
    const uint64_t off[5][3] = {{0, 0, 3}, {0, 1, 0}, {1, 0, 0}, {3, 0, 0}, {3, 4, 0}};
    const uint64_t cnt[5][3] = {{1, 1, 3}, {1, 4, 6}, {2, 5, 6}, {1, 4, 6}, {1, 1, 3}};
    h5ckpt_layout *l = NULL;
    uint64_t lshape[H5CKPT_MAX_NDIM];
    int lndim = -1;
    size_t k;

    ck_assert_int_eq(h5ckpt_layout_range(&l, 3, shape, 3, 117, NULL), 0);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &lndim, lshape), 0);
    ck_assert_int_eq(lndim, 1);
    ck_assert_uint_eq(lshape[0], 114);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 114);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 5);
    for (k = 0; k < 5; k++)
        get_box_is(l, k, 3, off[k], cnt[k]);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(empty_range_layout_has_no_boxes)
{
    const uint64_t shape[3] = {4, 5, 6};
    h5ckpt_layout *l = NULL;
    uint64_t lshape[H5CKPT_MAX_NDIM];
    int lndim = -1;

    ck_assert_int_eq(h5ckpt_layout_range(&l, 3, shape, 50, 50, NULL), 0);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &lndim, lshape), 0);
    ck_assert_int_eq(lndim, 1);
    ck_assert_uint_eq(lshape[0], 0);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 0);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 0);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(range_layout_of_a_scalar_is_one_element)
{
    h5ckpt_layout *l = NULL;
    uint64_t lshape[H5CKPT_MAX_NDIM];
    int lndim = -1;

    ck_assert_int_eq(h5ckpt_layout_range(&l, 0, NULL, 0, 1, NULL), 0);
    ck_assert_int_eq(h5ckpt_layout_local_shape(l, &lndim, lshape), 0);
    ck_assert_int_eq(lndim, 1);
    ck_assert_uint_eq(lshape[0], 1);
    ck_assert_uint_eq(h5ckpt_layout_local_count(l), 1);
    ck_assert_uint_eq(h5ckpt_layout_box_count(l), 1);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(range_layout_rejects_an_end_past_the_volume)
{
    const uint64_t shape[3] = {4, 5, 6};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_range(&l, 3, shape, 0, 121, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(range_layout_rejects_a_start_after_the_end)
{
    const uint64_t shape[3] = {4, 5, 6};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_range(&l, 3, shape, 10, 5, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(range_layout_rejects_too_many_dims)
{
    uint64_t shape[H5CKPT_MAX_NDIM + 1];
    h5ckpt_layout *l = NULL;
    int d;

    for (d = 0; d <= H5CKPT_MAX_NDIM; d++)
        shape[d] = 1;
    ck_assert_int_eq(h5ckpt_layout_range(&l, H5CKPT_MAX_NDIM + 1, shape, 0, 1, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(range_layout_rejects_negative_dims)
{
    const uint64_t shape[1] = {4};
    h5ckpt_layout *l = NULL;

    ck_assert_int_eq(h5ckpt_layout_range(&l, -1, shape, 0, 1, NULL), H5CKPT_EINVAL);
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(range_layout_rejects_a_null_out)
{
    const uint64_t shape[1] = {4};

    ck_assert_int_eq(h5ckpt_layout_range(NULL, 1, shape, 0, 1, NULL), H5CKPT_EINVAL);
}
END_TEST

START_TEST(layout_free_accepts_null)
{
    h5ckpt_layout_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *layout_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tc;

    tc = tcase_create("chunk");
    tcase_add_test(tc, chunk_splits_seven_into_three_like_torch);
    tcase_add_test(tc, chunk_splits_seven_into_four_with_a_short_last_part);
    tcase_add_test(tc, chunk_gives_zero_size_trailing_parts);
    tcase_add_test(tc, chunk_clamps_offsets_of_empty_parts_to_the_extent);
    tcase_add_test(tc, chunk_of_an_empty_dimension_is_empty_everywhere);
    tcase_add_test(tc, chunk_into_one_part_is_the_whole_dimension);
    tcase_add_test(tc, chunk_splits_ten_into_four_with_chunk_three);
    tcase_add_test(tc, chunk_of_a_huge_extent_does_not_overflow);
    suite_add_tcase(s, tc);

    tc = tcase_create("shard_box");
    tcase_add_test(tc, shard_box_on_a_one_dimensional_mesh_splits_dim_zero);
    tcase_add_test(tc, shard_box_on_two_by_two_mesh_splits_both_dims);
    tcase_add_test(tc, shard_box_follows_placements_not_mesh_dim_order);
    tcase_add_test(tc, nested_shards_apply_in_mesh_dimension_order);
    tcase_add_test(tc, nested_shards_can_produce_zero_size_boxes);
    tcase_add_test(tc, nested_shards_of_an_empty_parent_stay_at_its_offset);
    tcase_add_test(tc, nested_shards_skip_replicated_mesh_dims);
    tcase_add_test(tc, replicate_then_shard_splits_only_the_sharded_dim);
    tcase_add_test(tc, all_replicate_gives_the_whole_tensor);
    tcase_add_test(tc, replicated_scalar_has_an_empty_box);
    tcase_add_test(tc, shard_box_rejects_a_placement_past_the_last_dim);
    tcase_add_test(tc, shard_box_rejects_sharding_a_scalar);
    tcase_add_test(tc, shard_box_rejects_a_negative_placement_other_than_replicate);
    suite_add_tcase(s, tc);

    tc = tcase_create("range_boxes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, range_of_every_element_is_one_whole_box);
    tcase_add_test(tc, range_three_to_117_of_4x5x6_is_five_boxes_in_flat_order);
    tcase_add_test(tc, range_aligned_to_planes_is_one_box);
    tcase_add_test(tc, range_aligned_to_rows_within_a_plane_is_one_box);
    tcase_add_test(tc, range_inside_one_row_is_one_box);
    tcase_add_test(tc, every_range_of_3x4x5_is_decomposed_exactly);
    tcase_add_test(tc, every_range_of_two_and_four_dims_is_decomposed_exactly);
    tcase_add_test(tc, range_of_a_one_dimensional_tensor_is_one_box);
    tcase_add_test(tc, range_of_a_scalar_is_one_box_or_none);
    tcase_add_test(tc, empty_range_has_no_boxes);
    tcase_add_test(tc, range_of_a_huge_matrix_is_three_boxes_without_enumeration);
    suite_add_tcase(s, tc);

    tc = tcase_create("volume_overlap");
    tcase_add_test(tc, volume_is_the_product_of_extents);
    tcase_add_test(tc, volume_detects_overflow);
    tcase_add_test(tc, volume_of_exactly_uint64_max_does_not_overflow);
    tcase_add_test(tc, volume_with_a_zero_extent_is_zero_without_overflow);
    tcase_add_test(tc, overlapping_boxes_are_detected);
    tcase_add_test(tc, touching_boxes_do_not_overlap);
    tcase_add_test(tc, boxes_overlapping_in_one_dim_only_do_not_overlap);
    tcase_add_test(tc, empty_boxes_never_overlap);
    suite_add_tcase(s, tc);

    tc = tcase_create("constructors");
    tcase_add_test(tc, box_layout_holds_its_box);
    tcase_add_test(tc, box_layout_accepts_an_empty_box_at_the_end);
    tcase_add_test(tc, box_layout_of_a_scalar_holds_one_element);
    tcase_add_test(tc, box_layout_rejects_a_box_past_the_end);
    tcase_add_test(tc, box_layout_rejects_an_empty_box_past_the_end);
    tcase_add_test(tc, box_layout_rejects_an_offset_that_wraps_around);
    tcase_add_test(tc, box_layout_rejects_too_many_dims);
    tcase_add_test(tc, box_layout_accepts_the_maximum_number_of_dims);
    tcase_add_test(tc, box_layout_rejects_negative_dims);
    tcase_add_test(tc, box_layout_rejects_a_null_out);
    tcase_add_test(tc, get_box_rejects_an_index_past_the_last_box);
    tcase_add_test(tc, whole_layout_is_one_box_of_the_full_shape);
    tcase_add_test(tc, whole_layout_of_a_scalar_holds_one_element);
    tcase_add_test(tc, whole_layout_rejects_too_many_dims);
    tcase_add_test(tc, whole_layout_rejects_a_null_out);
    tcase_add_test(tc, none_layout_holds_nothing);
    tcase_add_test(tc, none_layout_rejects_negative_dims);
    tcase_add_test(tc, range_layout_is_one_dimensional_with_five_boxes);
    tcase_add_test(tc, empty_range_layout_has_no_boxes);
    tcase_add_test(tc, range_layout_of_a_scalar_is_one_element);
    tcase_add_test(tc, range_layout_rejects_an_end_past_the_volume);
    tcase_add_test(tc, range_layout_rejects_a_start_after_the_end);
    tcase_add_test(tc, range_layout_rejects_too_many_dims);
    tcase_add_test(tc, range_layout_rejects_negative_dims);
    tcase_add_test(tc, range_layout_rejects_a_null_out);
    tcase_add_test(tc, layout_free_accepts_null);
    tcase_add_test(tc, layout_constructors_say_what_is_wrong);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(layout_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
