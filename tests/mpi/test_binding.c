/*
 * The entry points for language bindings (lib/handle/binding.c):
 * communicators passed as MPI_Fint, and h5ckpt_memkind_usable.  Run at 1,
 * 2, 3 and 4 ranks, with both executors.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int count_problems_fn_calls;
static void count_problem(void *ctx, const char *object, const char *message)
{
    (void)ctx;
    (void)object;
    (void)message;
    count_problems_fn_calls++;
}

START_TEST(fint_entry_points_work_on_a_split_communicator)
{
    MPI_Comm half;
    MPI_Fint f;
    int color = T_rank % 2, hsize, hrank;
    char name[64], dir[64];
    uint64_t shape[1], off[1], cnt[1];
    h5ckpt_mesh *mesh = NULL;
    h5ckpt_layout *l = NULL;
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = NULL;
    h5ckpt_error err;
    int64_t mine[4], got[16] = {0}, k, latest = -1;
    size_t np = 99;
    int dims[1];
    uint64_t bad = 0;

    MPI_Comm_split(MPI_COMM_WORLD, color, T_rank, &half);
    MPI_Comm_size(half, &hsize);
    MPI_Comm_rank(half, &hrank);
    f = MPI_Comm_c2f(half);
    snprintf(name, sizeof name, "half%d.h5", color);
    snprintf(dir, sizeof dir, "halfdir%d", color);

    dims[0] = hsize;
    T_PASS(NULL, h5ckpt_mesh_create_f(&mesh, f, 1, dims, NULL, &err));
    T_ALL(h5ckpt_mesh_size(mesh, 0) == hsize && h5ckpt_mesh_coord(mesh, 0) == hrank,
          "mesh over the split communicator");
    shape[0] = 4 * (uint64_t)hsize;
    off[0] = 4 * (uint64_t)hrank;
    cnt[0] = 4;
    for (k = 0; k < 4; k++)
        mine[k] = 1000 * color + 4 * hrank + k;
    T_PASS(NULL, h5ckpt_layout_box(&l, 1, shape, off, cnt, NULL));
    T_PASS(NULL, h5ckpt_create_f(&ck, t_path(name), f, NULL, &err));
    T_PASS(ck, h5ckpt_tensor_put(ck, "v", H5CKPT_INT64, l, mine, NULL));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_layout_free(l);

    T_PASS(NULL, h5ckpt_open_f(&ck, t_path(name), f, NULL, &err));
    T_PASS(NULL, h5ckpt_layout_whole(&l, 1, shape, NULL));
    T_PASS(ck, h5ckpt_tensor_get(ck, "v", H5CKPT_INT64, l, got, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    for (k = 0; k < 4 * hsize; k++)
        bad += got[k] != 1000 * color + k;
    T_ALL(bad == 0, "%llu wrong elements", (unsigned long long)bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_layout_free(l);

    count_problems_fn_calls = 0;
    T_PASS(NULL, h5ckpt_verify_f(t_path(name), f, count_problem, NULL, &np, &err));
    T_ALL(np == 0 && count_problems_fn_calls == 0, "verify found %zu problems", np);

    T_PASS(NULL, h5ckpt_ckdir_open_f(&d, t_path(dir), f, NULL, &err));
    T_CODE(H5CKPT_ENOCKPT, h5ckpt_ckdir_latest(d, &latest));
    h5ckpt_ckdir_free(d);
    h5ckpt_mesh_free(mesh);
    MPI_Comm_free(&half);
}
END_TEST

START_TEST(fint_entry_points_reject_a_null_communicator)
{
    MPI_Fint f = MPI_Comm_c2f(MPI_COMM_NULL);
    h5ckpt *ck = (h5ckpt *)&ck;
    h5ckpt_mesh *mesh = (h5ckpt_mesh *)&mesh;
    h5ckpt_ckdir *d = (h5ckpt_ckdir *)&d;
    h5ckpt_error err = {0};
    const int shape[1] = {1};
    size_t np = 7;

    T_CODE(H5CKPT_EINVAL, h5ckpt_create_f(&ck, t_path("null.h5"), f, NULL, &err));
    T_ALL(ck == NULL && strstr(err.message, "MPI_COMM_NULL"), "message: %s", err.message);
    T_CODE(H5CKPT_EINVAL, h5ckpt_open_f(&ck, t_path("null.h5"), f, NULL, &err));
    T_CODE(H5CKPT_EINVAL, h5ckpt_mesh_create_f(&mesh, f, 1, shape, NULL, &err));
    T_ALL(mesh == NULL, "mesh not NULL");
    T_CODE(H5CKPT_EINVAL, h5ckpt_ckdir_open_f(&d, t_path("nulldir"), f, NULL, &err));
    T_ALL(d == NULL, "ckdir not NULL");
    T_CODE(H5CKPT_EINVAL, h5ckpt_verify_f(t_path("null.h5"), f, NULL, NULL, &np, &err));
    T_ALL(np == 0, "nproblems %zu", np);
}
END_TEST

START_TEST(memkind_usable_says_which_buffers_can_be_passed)
{
    h5ckpt_error err = {0};
    int rc;

    T_CODE(0, h5ckpt_memkind_usable(H5CKPT_MEM_HOST, &err));
    T_CODE(H5CKPT_EINVAL, h5ckpt_memkind_usable((h5ckpt_memkind)7, &err));
    rc = h5ckpt_memkind_usable(H5CKPT_MEM_CUDA, &err);
    /* no device in CI: not supported, with the reason */
    T_ALL(rc == 0 || (rc == H5CKPT_ENOTSUP && err.code == rc && err.message[0]),
          "CUDA: %s (%s)", h5ckpt_errname(rc), err.message);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("binding");
    TCase *tc = tcase_create("binding");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fint_entry_points_work_on_a_split_communicator);
    tcase_add_test(tc, fint_entry_points_reject_a_null_communicator);
    tcase_add_test(tc, memkind_usable_says_which_buffers_can_be_passed);
    suite_add_tcase(s, tc);
    return s;
}
