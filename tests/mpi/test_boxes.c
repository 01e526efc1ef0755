/*
 * Layouts of several boxes per rank (h5ckpt_layout_boxes).
 *
 * Every element's value is a function of (tensor id, global flat index)
 * (values.c), so each element a rank reads is checked through its boxes.
 * Run at 1, 2, 3 and 4 ranks, with both executors.
 */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

/* Block (bi, bj) of a grid of gr x gc blocks over `shape`. */
static void grid_block(const uint64_t *shape, int gr, int gc, int bi, int bj,
                       uint64_t *off, uint64_t *cnt)
{
    off[0] = (uint64_t)bi * shape[0] / (uint64_t)gr;
    cnt[0] = (uint64_t)(bi + 1) * shape[0] / (uint64_t)gr - off[0];
    off[1] = (uint64_t)bj * shape[1] / (uint64_t)gc;
    cnt[1] = (uint64_t)(bj + 1) * shape[1] / (uint64_t)gc - off[1];
}

/*
 * The blocks of a gr x gc grid that rank `rank` holds: block b (row-major)
 * belongs to rank (b + shift) % T_size, and a rank lists its blocks last
 * first, so its boxes sit side by side in rows and out of file order.
 */
static int grid_boxes(h5ckpt_layout **out, const uint64_t *shape, int gr,
                      int gc, int shift)
{
    uint64_t off[2 * 64], cnt[2 * 64];
    size_t n = 0;
    int b;

    for (b = gr * gc - 1; b >= 0; b--)
        if ((b + shift) % T_size == T_rank) {
            grid_block(shape, gr, gc, b / gc, b % gc, off + 2 * n, cnt + 2 * n);
            n++;
        }
    return h5ckpt_layout_boxes(out, 2, shape, n, off, cnt, NULL);
}

START_TEST(boxes_layout_holds_the_boxes_in_order)
{
    const uint64_t shape[2] = {6, 8};
    const uint64_t off[4] = {0, 4, 2, 0}, cnt[4] = {2, 4, 3, 8};
    uint64_t o[2], c[2], ls[H5CKPT_MAX_NDIM] = {0};
    h5ckpt_layout *l = NULL;
    int nd = -1;

    T_PASS(NULL, h5ckpt_layout_boxes(&l, 2, shape, 2, off, cnt, NULL));
    T_ALL(h5ckpt_layout_box_count(l) == 2, "%zu boxes", h5ckpt_layout_box_count(l));
    T_ALL(h5ckpt_layout_local_count(l) == 2 * 4 + 3 * 8, "local count %llu",
          (unsigned long long)h5ckpt_layout_local_count(l));
    T_PASS(NULL, h5ckpt_layout_local_shape(l, &nd, ls));
    T_ALL(nd == 1 && ls[0] == 32, "local shape: ndim %d, %llu", nd,
          (unsigned long long)ls[0]);
    T_PASS(NULL, h5ckpt_layout_box_at(l, 1, o, c));
    T_ALL(o[0] == 2 && o[1] == 0 && c[0] == 3 && c[1] == 8, "box 1 changed");
    h5ckpt_layout_free(l);
    /* no boxes: nothing held */
    T_PASS(NULL, h5ckpt_layout_boxes(&l, 2, shape, 0, NULL, NULL, NULL));
    T_ALL(h5ckpt_layout_local_count(l) == 0, "an empty layout holds elements");
    h5ckpt_layout_free(l);
    /* a 0-d tensor: one box is the scalar */
    T_PASS(NULL, h5ckpt_layout_boxes(&l, 0, NULL, 1, NULL, NULL, NULL));
    T_ALL(h5ckpt_layout_local_count(l) == 1, "a 0-d box holds %llu",
          (unsigned long long)h5ckpt_layout_local_count(l));
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(boxes_layout_rejects_overlapping_boxes)
{
    const uint64_t shape[2] = {6, 8};
    const uint64_t off[4] = {0, 0, 1, 7}, cnt[4] = {2, 8, 1, 1};
    h5ckpt_layout *l = (h5ckpt_layout *)&l;
    h5ckpt_error err = {0};

    T_CODE(H5CKPT_EINVAL, h5ckpt_layout_boxes(&l, 2, shape, 2, off, cnt, &err));
    T_ALL(l == NULL, "*out not NULL after a failure");
    T_ALL(err.code == H5CKPT_EINVAL && strstr(err.message, "boxes 0 and 1 overlap"),
          "message: %s", err.message);
}
END_TEST

START_TEST(boxes_layout_rejects_a_box_outside_the_shape)
{
    const uint64_t shape[2] = {6, 8};
    const uint64_t off[4] = {0, 0, 5, 0}, cnt[4] = {1, 1, 2, 8};
    h5ckpt_layout *l = NULL;
    h5ckpt_error err = {0};

    T_CODE(H5CKPT_EINVAL, h5ckpt_layout_boxes(&l, 2, shape, 2, off, cnt, &err));
    T_ALL(strstr(err.message, "box 1 lies outside the shape along dimension 0") != NULL,
          "message: %s", err.message);
    T_CODE(H5CKPT_EINVAL, h5ckpt_layout_boxes(&l, 0, NULL, 2, NULL, NULL, &err));
    T_CODE(H5CKPT_EINVAL, h5ckpt_layout_boxes(&l, 2, shape, 1, NULL, cnt, &err));
    T_CODE(H5CKPT_EINVAL, h5ckpt_layout_boxes(NULL, 2, shape, 1, off, cnt, &err));
}
END_TEST

START_TEST(boxes_layout_cannot_be_strided)
{
    const uint64_t shape[1] = {4}, off[1] = {0}, cnt[1] = {4};
    const int64_t strides[1] = {2};
    h5ckpt_buffer buf = H5CKPT_BUFFER_INIT;
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    int32_t data[8] = {0};

    buf.strides = strides;
    T_PASS(NULL, h5ckpt_layout_boxes(&l, 1, shape, 1, off, cnt, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, t_path("strided.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_CODE(H5CKPT_EINVAL, h5ckpt_tensor_put(ck, "x", H5CKPT_INT32, l, data, &buf));
    T_ALL(strstr(h5ckpt_errmsg(ck), "multi-box layout cannot be strided") != NULL,
          "message: %s", h5ckpt_errmsg(ck));
    T_CODE(H5CKPT_EINVAL, h5ckpt_flush(ck));
    h5ckpt_close(ck);
    h5ckpt_layout_free(l);
}
END_TEST

/* Write tensors whose ranks each hold several blocks (side by side in
 * rows, listed out of file order); read them back whole, then as the
 * blocks of a shifted assignment, then as single boxes. */
START_TEST(several_boxes_per_rank_round_trip)
{
    const uint64_t s1[2] = {9, 10}, s2[2] = {7, 13}, s3[2] = {4, 5};
    const char *path = t_path("boxes.h5");
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t bad = 0;
    int i, pass;

    tensor_init(&t[0], H5CKPT_FLOAT32, 31, 2, s1, "multi/grid");
    tensor_init(&t[1], H5CKPT_BFLOAT16, 32, 2, s2, "multi/columns");
    tensor_init(&t[2], H5CKPT_INT64, 33, 2, s3, "multi/small");
    T_PASS(NULL, grid_boxes(&t[0].l, s1, 3, 4, 0));
    T_PASS(NULL, grid_boxes(&t[1].l, s2, 1, 5, 1)); /* column blocks only */
    T_PASS(NULL, grid_boxes(&t[2].l, s3, 2, 2, 3));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < 3; i++) {
            if (pass == 0)
                T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, t[i].shape, NULL));
            else if (pass == 1)
                T_PASS(NULL, grid_boxes(&t[i].l, t[i].shape, 2, 3, 1 + i));
            else
                T_PASS(NULL, grid_boxes(&t[i].l, t[i].shape, 1, 1, i));
            T_PASS(ck, tensor_get(ck, &t[i]));
        }
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < 3; i++) {
            bad += tensor_bad(&t[i]);
            tensor_release(&t[i]);
        }
        T_CHECK(bad);
    }
    T_PASS(NULL, h5ckpt_close(ck));
}
END_TEST

/* Boxes that two ranks both hold are replicas, written once. */
START_TEST(identical_box_sets_are_replicas)
{
    const uint64_t shape[2] = {6, 6};
    const char *path = t_path("boxreps.h5");
    uint64_t mine, sum = 0, bad = 0, off[8], cnt[8];
    h5ckpt *ck = NULL;
    tensor t;
    int b;

    tensor_init(&t, H5CKPT_INT32, 41, 2, shape, "reps");
    /* every rank holds all 4 blocks of a 2x2 grid, listed in reverse */
    for (b = 3; b >= 0; b--)
        grid_block(shape, 2, 2, b / 2, b % 2, off + 2 * (3 - b), cnt + 2 * (3 - b));
    T_PASS(NULL, h5ckpt_layout_boxes(&t.l, 2, shape, 4, off, cnt, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, tensor_put(ck, &t));
    T_PASS(ck, h5ckpt_commit(ck));
    mine = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    tensor_release(&t);
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(sum == 36 * 4, "ranks wrote %llu bytes, the tensor holds 144",
          (unsigned long long)sum);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&t.l, 2, shape, NULL));
    T_PASS(ck, tensor_get(ck, &t));
    T_PASS(ck, h5ckpt_flush(ck));
    bad = tensor_bad(&t);
    tensor_release(&t);
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
}
END_TEST

/* Boxes of different ranks that overlap without being identical fail the
 * flush on every rank. */
START_TEST(overlapping_boxes_of_two_ranks_fail_the_write)
{
    const uint64_t shape[2] = {4, 4};
    uint64_t off[4] = {0, 0, 2, 0}, cnt[4] = {2, 4, 2, 4};
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    int32_t data[16] = {0};

    if (T_rank == 1)
        cnt[0] = 3; /* rows 0-2: overlaps rank 0's rows 0-1 */
    T_PASS(NULL, h5ckpt_layout_boxes(&l, 2, shape, T_rank == 1 ? 1 : 2, off, cnt, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, t_path("overlap.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "x", H5CKPT_INT32, l, data, NULL));
    T_CODE(T_size > 1 ? H5CKPT_ELAYOUT : 0, h5ckpt_commit(ck));
    h5ckpt_close(ck);
    h5ckpt_layout_free(l);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("boxes");
    TCase *tc = tcase_create("boxes");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, boxes_layout_holds_the_boxes_in_order);
    tcase_add_test(tc, boxes_layout_rejects_overlapping_boxes);
    tcase_add_test(tc, boxes_layout_rejects_a_box_outside_the_shape);
    tcase_add_test(tc, boxes_layout_cannot_be_strided);
    tcase_add_test(tc, several_boxes_per_rank_round_trip);
    tcase_add_test(tc, identical_box_sets_are_replicas);
    tcase_add_test(tc, overlapping_boxes_of_two_ranks_fail_the_write);
    suite_add_tcase(s, tc);
    return s;
}
