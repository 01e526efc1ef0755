/*
 * Asynchronous commits need MPI_THREAD_FUNNELED (lib/h5ckpt.h, section
 * "Asynchronous commits").  This binary initialises MPI with plain MPI_Init
 * (MPI_THREAD_SINGLE): h5ckpt_commit_start must fail with H5CKPT_ENOTSUP on
 * every rank, whatever the executor, and change nothing, so that
 * h5ckpt_commit still saves.
 */
#include "harness.h"

#include <string.h>

START_TEST(commit_start_without_funneled_fails_with_enotsup_and_changes_nothing)
{
    const char *p = t_path("single.h5");
    h5ckpt_mesh *m = NULL;
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    const int sh0[1] = {H5CKPT_SHARD(0)};
    const uint64_t shape[1] = {(uint64_t)T_size * 4};
    int64_t v[4], got[4] = {0};
    int provided = -1, i;

    MPI_Query_thread(&provided);
    T_ALL(provided == MPI_THREAD_SINGLE, "MPI_Init gave thread level %d", provided);
    T_PASS(NULL, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, NULL));
    h5ckpt_layout_sharded(&l, m, 1, shape, sh0, NULL);
    for (i = 0; i < 4; i++)
        v[i] = T_rank * 4 + i;
    T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "v", H5CKPT_INT64, l, v, NULL));
    T_CODE(H5CKPT_ENOTSUP, h5ckpt_commit_start(ck));
    T_ALL(strcmp(h5ckpt_errmsg(ck), "h5ckpt_commit_start needs MPI_THREAD_FUNNELED "
                                    "or more (MPI_Init_thread); MPI provides "
                                    "MPI_THREAD_SINGLE") == 0,
          "message '%s'", h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_commit(ck)); /* nothing was done: the writer is open */
    T_PASS(ck, h5ckpt_close(ck));
    ck = NULL;
    T_PASS(ck, h5ckpt_open(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_get(ck, "v", H5CKPT_INT64, l, got, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(memcmp(got, v, sizeof v) == 0, "read back differs");
    h5ckpt_layout_free(l);
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("async_single");
    TCase *tc = tcase_create("async_single");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, commit_start_without_funneled_fails_with_enotsup_and_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
