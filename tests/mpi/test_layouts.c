/*
 * Host layout kinds in one checkpoint file: explicit boxes, replicated boxes,
 * sharded and range layouts side by side, and the listing a reader sees.
 *
 * Every element's value is a function of (tensor id, global flat index)
 * (elem_bits), so a reader checks each element it receives against that
 * function through its layout's boxes.  Everything works at 1, 2, 3 and 4
 * ranks.  (The value helpers are the same as in test_roundtrip.c.)
 */
#include "harness.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

#define H5CKPT_MSG_MAX 512 /* h5ckpt_errmsg() is at most this long */

/* ---- meshes, ranges, boxes ---------------------------------------- */

/* Split points of n elements over T_size ranks: even (k*n/T) or shifted
 * (k*n/T + 5, clamped), so that two splits differ at every rank count > 1. */
static uint64_t split_point(uint64_t n, int k, int shifted)
{
    uint64_t b = (uint64_t)k * n / (uint64_t)T_size;

    if (k == 0 || k == T_size || !shifted)
        return k == T_size ? n : b;
    return b + 5 < n ? b + 5 : n;
}

static int range_layout(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                        int shifted)
{
    uint64_t n = 1;
    int d;

    for (d = 0; d < ndim; d++)
        n *= shape[d];
    return h5ckpt_layout_range(out, ndim, shape,
                               split_point(n, T_rank, shifted),
                               split_point(n, T_rank + 1, shifted), NULL);
}

/* Blocks of a box decomposition along `dim`: [r*n/T, (r+1)*n/T). */
static int block_layout(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                        int dim)
{
    uint64_t off[H5CKPT_MAX_NDIM] = {0}, cnt[H5CKPT_MAX_NDIM];
    uint64_t n = shape[dim];
    int d;

    for (d = 0; d < ndim; d++)
        cnt[d] = shape[d];
    off[dim] = (uint64_t)T_rank * n / (uint64_t)T_size;
    cnt[dim] = (uint64_t)(T_rank + 1) * n / (uint64_t)T_size - off[dim];
    return h5ckpt_layout_box(out, ndim, shape, off, cnt, NULL);
}

/* ---- tests -------------------------------------------------------------- */

/* A 2x2 grid of boxes at 4 ranks; row blocks otherwise. */
static int grid_layout(h5ckpt_layout **out, const uint64_t *shape)
{
    uint64_t off[2], cnt[2];
    int i = T_rank / 2, j = T_rank % 2;

    if (T_size != 4)
        return block_layout(out, 2, shape, 0);
    off[0] = i * shape[0] / 2;
    cnt[0] = (i + 1) * shape[0] / 2 - off[0];
    off[1] = j * shape[1] / 2;
    cnt[1] = (j + 1) * shape[1] / 2 - off[1];
    return h5ckpt_layout_box(out, 2, shape, off, cnt, NULL);
}

START_TEST(explicit_boxes_round_trip)
{
    const uint64_t s97[2] = {9, 7}, s435[3] = {4, 3, 5}, s56[2] = {5, 6};
    const char *path = t_path("boxes.h5");
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t bad = 0;
    int i, pass;

    tensor_init(&t[0], H5CKPT_FLOAT32, 1, 2, s97, "boxes/rows");
    tensor_init(&t[1], H5CKPT_UINT16, 2, 3, s435, "boxes/cube");
    tensor_init(&t[2], H5CKPT_INT8, 3, 2, s56, "boxes/grid");
    T_PASS(NULL, block_layout(&t[0].l, 2, s97, 0));
    T_PASS(NULL, block_layout(&t[1].l, 3, s435, 2));
    T_PASS(NULL, grid_layout(&t[2].l, s56));
    for (i = 0; i < 3; i++) {
        uint64_t off[3], cnt[3], ls[H5CKPT_MAX_NDIM] = {0};
        int nd = -1, d, same;

        T_PASS(NULL, h5ckpt_layout_local_shape(t[i].l, &nd, ls));
        T_ALL(h5ckpt_layout_box_count(t[i].l) == 1, "%s: %zu boxes", t[i].path,
              h5ckpt_layout_box_count(t[i].l));
        T_PASS(NULL, h5ckpt_layout_box_at(t[i].l, 0, off, cnt));
        same = nd == t[i].ndim;
        for (d = 0; same && d < nd; d++)
            same = ls[d] == cnt[d];
        T_ALL(same, "%s: local shape is not the box's count", t[i].path);
    }

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (pass = 0; pass < 2; pass++) {
        if (pass == 0) { /* boxes of another decomposition */
            T_PASS(NULL, block_layout(&t[0].l, 2, s97, 1));
            T_PASS(NULL, block_layout(&t[1].l, 3, s435, 0));
            T_PASS(NULL, block_layout(&t[2].l, 2, s56, 1));
        } else {
            for (i = 0; i < 3; i++)
                T_PASS(NULL,
                       h5ckpt_layout_whole(&t[i].l, t[i].ndim, t[i].shape, NULL));
        }
        for (i = 0; i < 3; i++)
            T_PASS(ck, tensor_get(ck, &t[i]));
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

START_TEST(identical_boxes_on_several_ranks_are_replicas)
{
    const uint64_t s56[2] = {5, 6}, s83[2] = {8, 3}, zero[2] = {0, 0};
    const uint64_t nb = (uint64_t)(T_size + 1) / 2, b = (uint64_t)T_rank / 2;
    const char *path = t_path("replicas.h5");
    uint64_t off[2] = {b * 8 / nb, 0}, cnt[2] = {(b + 1) * 8 / nb - off[0], 3};
    uint64_t mine, sum = 0, want = 0, bad = 0;
    h5ckpt *ck = NULL;
    tensor t[2];
    int i;

    /* every rank holds the whole (5, 6) box; pairs of ranks (0,1), (2,3)
     * hold the same row block of the (8, 3) tensor */
    tensor_init(&t[0], H5CKPT_INT32, 11, 2, s56, "replicas/full");
    tensor_init(&t[1], H5CKPT_INT64, 12, 2, s83, "replicas/pairs");
    T_PASS(NULL, h5ckpt_layout_box(&t[0].l, 2, s56, zero, s56, NULL));
    T_PASS(NULL, h5ckpt_layout_box(&t[1].l, 2, s83, off, cnt, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        T_PASS(ck, tensor_put(ck, &t[i]));
        want += tensor_bytes(&t[i]);
    }
    T_PASS(ck, h5ckpt_commit(ck));
    mine = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 2; i++)
        tensor_release(&t[i]);
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(sum == want, "ranks wrote %llu bytes in all, the tensors hold %llu",
          (unsigned long long)sum, (unsigned long long)want);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, t[i].shape, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 2; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
}
END_TEST

START_TEST(mixed_host_layout_kinds_in_one_checkpoint)
{
    const uint64_t s75[2] = {7, 5}, s64[2] = {6, 4}, s55[2] = {5, 5};
    const int s0 = H5CKPT_SHARD(0), s1 = H5CKPT_SHARD(1);
    const char *path = t_path("mixed.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t bad = 0;
    int i, pass;

    tensor_init(&t[0], H5CKPT_FLOAT32, 21, 2, s75, "mixed/sharded");
    tensor_init(&t[1], H5CKPT_INT32, 22, 2, s64, "mixed/box");
    tensor_init(&t[2], H5CKPT_FLOAT64, 23, 2, s55, "mixed/range");
    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 2, s75, &s0, NULL));
    T_PASS(NULL, block_layout(&t[1].l, 2, s64, 0));
    T_PASS(NULL, range_layout(&t[2].l, 2, s55, 1));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    T_PASS(ck, h5ckpt_flush(ck)); /* all three kinds in one flush */
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (pass = 0; pass < 2; pass++) {
        if (pass == 0) { /* each read with a kind other than its writer's */
            T_PASS(NULL, range_layout(&t[0].l, 2, s75, 0));
            T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 2, s64, &s1, NULL));
            T_PASS(NULL, block_layout(&t[2].l, 2, s55, 1));
        } else {
            for (i = 0; i < 3; i++)
                T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, t[i].shape, NULL));
        }
        for (i = 0; i < 3; i++)
            T_PASS(ck, tensor_get(ck, &t[i]));
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < 3; i++) {
            bad += tensor_bad(&t[i]);
            tensor_release(&t[i]);
        }
        T_CHECK(bad);
    }
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

START_TEST(listing_is_sorted_and_complete)
{
    /* declared out of order; listed sorted by path */
    static const char *const declared[6] = {
        "top", "model/sub/w", "optim/step", "model/b", "model/sub/deeper/x",
        "model/a.weight"};
    static const char *const sorted[6] = {
        "model/a.weight", "model/b", "model/sub/deeper/x", "model/sub/w",
        "optim/step", "top"};
    static const char *const groups[4] = {"model", "model/sub",
                                          "model/sub/deeper", "optim"};
    const uint64_t shape[2] = {7, 5};
    const int s0 = H5CKPT_SHARD(0);
    const char *path = t_path("listing.h5");
    char want[64];
    const char *got;
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[6];
    uint64_t bad = 0;
    size_t i;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 6; i++) {
        tensor_init(&t[i], H5CKPT_FLOAT32, 31 + i, 2, shape, "%s",
                    declared[i]);
        if (strcmp(declared[i], "model/a.weight") == 0)
            T_PASS(NULL, block_layout(&t[i].l, 2, shape, 0));
        else
            T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 6; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == 6, "%zu tensors listed",
          h5ckpt_tensor_count(ck));
    for (i = 0; i < 6; i++) {
        got = h5ckpt_tensor_at(ck, i);
        T_ALL(got && strcmp(got, sorted[i]) == 0,
              "tensor %zu is \"%s\", expected \"%s\"", i, got ? got : "(null)",
              sorted[i]);
    }
    T_ALL(h5ckpt_tensor_at(ck, 6) == NULL, "a 7th tensor is listed");
    T_ALL(h5ckpt_group_count(ck) == 4, "%zu groups listed",
          h5ckpt_group_count(ck));
    for (i = 0; i < 4; i++) {
        got = h5ckpt_group_at(ck, i);
        T_ALL(got && strcmp(got, groups[i]) == 0,
              "group %zu is \"%s\", expected \"%s\"", i, got ? got : "(null)",
              groups[i]);
        T_ALL(h5ckpt_group_exists(ck, groups[i]) == 1, "group %s not found",
              groups[i]);
    }
    T_ALL(h5ckpt_group_at(ck, 4) == NULL, "a 5th group is listed");
    T_ALL(h5ckpt_group_exists(ck, "") == 1, "no root group");
    T_ALL(h5ckpt_group_exists(ck, "model/nope") == 0, "model/nope exists");
    T_ALL(h5ckpt_group_exists(ck, "top") == 0, "tensor \"top\" is a group");

    snprintf(want, sizeof want, "[Shard(0)] on mesh (%d)", T_size);
    got = h5ckpt_tensor_placements(ck, "model/b");
    T_ALL(got && strcmp(got, want) == 0, "placements of model/b: \"%s\", "
          "documented: \"%s\"", got ? got : "(null)", want);
    got = h5ckpt_tensor_placements(ck, "model/a.weight");
    T_ALL(got && strcmp(got, "explicit") == 0,
          "placements of model/a.weight: \"%s\", documented: \"explicit\"",
          got ? got : "(null)");
    T_ALL(h5ckpt_tensor_placements(ck, "model/missing") == NULL,
          "placements of a missing tensor");
    T_CODE(H5CKPT_ENOTFOUND,
           h5ckpt_tensor_info(ck, "model/missing", NULL, NULL, NULL));

    /* the listed tensors hold their data */
    for (i = 0; i < 6; i++) {
        T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, shape, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 6; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* Explicit tensors are checked by home ranks (tensor j by rank j mod P):
 * every replica group still has the owner the rule gives (the replica at
 * (seq + group index) mod replicas, ranks in order), over more tensors
 * than ranks. */
START_TEST(whole_boxes_on_every_rank_are_owned_in_turn)
{
    const int k = 2 * T_size + 1;
    const uint64_t shape[1] = {3};
    const uint64_t zero[1] = {0};
    int32_t v[3] = {1, 2, 3};
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    uint64_t mine, want = 0;
    char name[32];
    int t;

    T_PASS(NULL, h5ckpt_layout_box(&l, 1, shape, zero, shape, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, t_path("turns.h5"), MPI_COMM_WORLD, NULL, NULL));
    for (t = 0; t < k; t++) {
        snprintf(name, sizeof name, "turn/t%d", t);
        T_PASS(ck, h5ckpt_tensor_put(ck, name, H5CKPT_INT32, l, v, NULL));
        want += t % T_size == T_rank ? sizeof v : 0; /* seq t: replica t mod P */
    }
    T_PASS(ck, h5ckpt_commit(ck));
    mine = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    T_ALL(mine == want, "rank %d wrote %llu bytes, its turns are %llu", T_rank,
          (unsigned long long)mine, (unsigned long long)want);
    h5ckpt_layout_free(l);
}
END_TEST

/* Put k explicit tensors of shape (P + 1) whose boxes are good except that
 * tensor `hole` has none and tensor `overlap` has overlapping boxes; return
 * the flush's code and message. */
static int flush_bad_boxes(int k, int hole, int overlap, char *msg)
{
    const uint64_t shape[1] = {(uint64_t)T_size + 1};
    uint64_t off[1], cnt[1];
    float v[3] = {0, 0, 0};
    h5ckpt *ck = NULL;
    char name[32];
    int t, rc;

    T_PASS(NULL, h5ckpt_create(&ck, t_path("bad.h5"), MPI_COMM_WORLD, NULL, NULL));
    for (t = 0; t < k; t++) {
        h5ckpt_layout *l = NULL;
        if (t == hole) {
            h5ckpt_layout_none(&l, 1, shape, NULL);
        } else if (t == overlap) { /* [r, r+2): neighbours share a row */
            off[0] = (uint64_t)T_rank;
            cnt[0] = 2;
            h5ckpt_layout_box(&l, 1, shape, off, cnt, NULL);
        } else { /* rank r: row r; the last rank also the last row */
            off[0] = (uint64_t)T_rank;
            cnt[0] = T_rank == T_size - 1 ? 2 : 1;
            h5ckpt_layout_box(&l, 1, shape, off, cnt, NULL);
        }
        snprintf(name, sizeof name, "bad/t%d", t);
        T_PASS(ck, h5ckpt_tensor_put(ck, name, H5CKPT_FLOAT32, l, v, NULL));
        h5ckpt_layout_free(l);
    }
    rc = h5ckpt_flush(ck);
    snprintf(msg, H5CKPT_MSG_MAX, "%s", h5ckpt_errmsg(ck));
    h5ckpt_close(ck);
    return rc;
}

/* Homes check their tensors independently; the error is still the one of
 * the first failing tensor in queue order, with its exact message, on
 * every rank. */
START_TEST(the_first_failing_explicit_tensor_in_queue_order_is_reported)
{
    const int k = 2 * T_size + 2;
    char msg[H5CKPT_MSG_MAX], want[H5CKPT_MSG_MAX];

    T_CODE(0, flush_bad_boxes(k, -1, -1, msg));
    /* a hole at tensor P+1, an overlap later */
    T_CODE(H5CKPT_ELAYOUT, flush_bad_boxes(k, T_size + 1, T_size > 1 ? 2 * T_size + 1 : -1, msg));
    snprintf(want, sizeof want, "tensor 'bad/t%d': the ranks' boxes cover 0 of its %d elements",
             T_size + 1, T_size + 1);
    T_ALL(strcmp(msg, want) == 0, "message \"%s\", expected \"%s\"", msg, want);
    if (T_size == 1)
        return;
    /* an overlap at tensor 1 (home: rank 1), a hole later at tensor P (home: rank 0) */
    T_CODE(H5CKPT_ELAYOUT, flush_bad_boxes(k, T_size, 1, msg));
    snprintf(want, sizeof want, "tensor 'bad/t1': boxes of ranks 0 and 1 overlap");
    T_ALL(strcmp(msg, want) == 0, "message \"%s\", expected \"%s\"", msg, want);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("layouts");
    TCase *tc = tcase_create("layouts");

    tcase_add_test(tc, explicit_boxes_round_trip);
    tcase_add_test(tc, identical_boxes_on_several_ranks_are_replicas);
    tcase_add_test(tc, mixed_host_layout_kinds_in_one_checkpoint);
    tcase_add_test(tc, listing_is_sorted_and_complete);
    tcase_add_test(tc, whole_boxes_on_every_rank_are_owned_in_turn);
    tcase_add_test(tc, the_first_failing_explicit_tensor_in_queue_order_is_reported);
    suite_add_tcase(s, tc);
    return s;
}
