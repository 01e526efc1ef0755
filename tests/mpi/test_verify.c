/*
 * h5ckpt_verify and h5ckpt_root_info: every rank receives the same problems
 * in the same order and the same count; files that cannot be checked fail
 * with the exact code on every rank.
 */
#include "harness.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

/* A committed checkpoint: "model/w" float32 (T_size + 1, 2) row-sharded. */
static void write_valid(const char *path)
{
    uint64_t ws[2] = {(uint64_t)T_size + 1, 2};
    int place[1] = {H5CKPT_SHARD(0)};
    float w[64] = {0};
    h5ckpt_mesh *m = NULL;
    h5ckpt_layout *wl = NULL;
    h5ckpt *ck = NULL;

    T_PASS(ck, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, NULL));
    T_PASS(ck, h5ckpt_layout_sharded(&wl, m, 2, ws, place, NULL));
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "model/w", H5CKPT_FLOAT32, wl, w, NULL));
    T_PASS(ck, h5ckpt_attr_put_int64(ck, "", "step", 5));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(wl);
    h5ckpt_mesh_free(m);
}

/* Problems joined as "object|message\n" lines. */
typedef struct {
    char text[4096];
    size_t calls;
} collected;

static void collect(void *ctx, const char *object, const char *message)
{
    collected *c = ctx;
    size_t len = strlen(c->text);

    snprintf(c->text + len, sizeof c->text - len, "%s|%s\n", object, message);
    c->calls++;
}

/* The collected text is identical on every rank. */
static void same_everywhere(const collected *c)
{
    char root[4096];

    memcpy(root, c->text, sizeof root);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    T_ALL(strcmp(root, c->text) == 0, "rank %d saw\n%s\nrank 0 saw\n%s", T_rank, c->text, root);
}

START_TEST(verify_finds_no_problem_in_a_fresh_checkpoint)
{
    collected c = {"", 0};
    size_t n = 99;

    write_valid(t_path("good.h5"));
    T_CODE(0, h5ckpt_verify(t_path("good.h5"), MPI_COMM_WORLD, collect, &c, &n, NULL));
    T_ALL(n == 0 && c.calls == 0, "%zu problems: %s", n, c.text);
}
END_TEST

START_TEST(verify_reports_every_problem_alike_on_every_rank)
{
    const char *p = t_path("bad.h5");
    collected c = {"", 0};
    size_t n = 0;

    write_valid(p);
    if (T_rank == 0) {
        hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
        H5Adelete(f, "h5ckpt_committed");
        H5Adelete_by_name(f, "model/w", "h5ckpt_placements", H5P_DEFAULT);
        H5Lcreate_soft("/model/w", f, "alias", H5P_DEFAULT, H5P_DEFAULT);
        H5Fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    T_CODE(0, h5ckpt_verify(p, MPI_COMM_WORLD, collect, &c, &n, NULL));
    T_ALL(n == 3 && c.calls == 3, "%zu problems (%zu calls):\n%s", n, c.calls, c.text);
    T_ALL(strstr(c.text, "/|never committed") != NULL, "%s", c.text);
    T_ALL(strstr(c.text, "model/w|required attribute 'h5ckpt_placements' is missing") != NULL,
          "%s", c.text);
    T_ALL(strstr(c.text, "alias|is a soft or external link") != NULL, "%s", c.text);
    same_everywhere(&c);
}
END_TEST

START_TEST(verify_counts_a_text_file_as_one_problem)
{
    const char *p = t_path("text.h5");
    collected c = {"", 0};
    size_t n = 0;

    if (T_rank == 0) {
        FILE *f = fopen(p, "w");
        fputs("not hdf5\n", f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    T_CODE(0, h5ckpt_verify(p, MPI_COMM_WORLD, collect, &c, &n, NULL));
    T_ALL(n == 1 && strcmp(c.text, "/|not an HDF5 file\n") == 0, "%s", c.text);
}
END_TEST

START_TEST(verify_of_a_missing_file_is_enoent_on_every_rank)
{
    h5ckpt_error err = {0};
    size_t n = 7;

    T_CODE(H5CKPT_ENOENT, h5ckpt_verify(t_path("none.h5"), MPI_COMM_WORLD, NULL, NULL, &n, &err));
    T_ALL(err.code == H5CKPT_ENOENT && n == 0 && strstr(err.message, "none.h5"), "%s",
          err.message);
}
END_TEST

START_TEST(verify_of_a_directory_is_eisdir)
{
    T_CODE(H5CKPT_EISDIR, h5ckpt_verify(t_dir(), MPI_COMM_WORLD, NULL, NULL, NULL, NULL));
}
END_TEST

START_TEST(verify_without_a_path_is_einval)
{
    T_CODE(H5CKPT_EINVAL, h5ckpt_verify(NULL, MPI_COMM_WORLD, NULL, NULL, NULL, NULL));
}
END_TEST

START_TEST(root_info_gives_the_writer_ranks_and_creation_time)
{
    h5ckpt *ck = NULL;
    char buf[64], want[16], tiny[4];

    write_valid(t_path("info.h5"));
    T_PASS(ck, h5ckpt_open(&ck, t_path("info.h5"), MPI_COMM_WORLD, NULL, NULL));
    snprintf(want, sizeof want, "%d", T_size);
    T_PASS(ck, h5ckpt_root_info(ck, "writer_nranks", buf, sizeof buf));
    T_ALL(strcmp(buf, want) == 0, "writer_nranks '%s'", buf);
    T_PASS(ck, h5ckpt_root_info(ck, "created", buf, sizeof buf));
    T_ALL(strlen(buf) == 20 && buf[4] == '-' && buf[10] == 'T' && buf[19] == 'Z', "'%s'", buf);
    T_PASS(ck, h5ckpt_root_info(ck, "library_version", buf, sizeof buf));
    T_ALL(strcmp(buf, h5ckpt_version()) == 0, "library_version '%s'", buf);
    T_CODE(H5CKPT_ENOTFOUND, h5ckpt_root_info(ck, "writer_mesh_dim_names", buf, sizeof buf));
    T_CODE(H5CKPT_ENOTFOUND, h5ckpt_root_info(ck, "format", buf, sizeof buf));
    T_CODE(H5CKPT_EINVAL, h5ckpt_root_info(ck, "created", tiny, sizeof tiny));
    T_PASS(ck, h5ckpt_close(ck));
}
END_TEST

/* A checkpoint whose writer mesh names its dimension "dp". */
static void write_named(const char *path)
{
    const char *names[1] = {"dp"};
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = NULL;
    h5ckpt *ck = NULL;

    T_PASS(ck, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, names, NULL));
    o.mesh = m;
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    T_PASS(ck, h5ckpt_attr_put_int64(ck, "", "step", 6));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_mesh_free(m);
}

START_TEST(root_info_describes_the_file_the_handle_opened)
{
    h5ckpt *ck = NULL, *named = NULL;
    char buf[64];

    /* under both executors: a fast reader holds no HDF5 handle of its own */
    write_valid(t_path("held.h5"));
    T_PASS(ck, h5ckpt_open(&ck, t_path("held.h5"), MPI_COMM_WORLD, NULL, NULL));
    write_named(t_path("held.h5")); /* renamed over the path after the open */
    T_CODE(H5CKPT_ENOTFOUND, h5ckpt_root_info(ck, "writer_mesh_dim_names", buf, sizeof buf));
    T_PASS(named, h5ckpt_open(&named, t_path("held.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_PASS(named, h5ckpt_root_info(named, "writer_mesh_dim_names", buf, sizeof buf));
    T_ALL(strcmp(buf, "dp") == 0, "writer_mesh_dim_names '%s'", buf);
    T_PASS(ck, h5ckpt_close(ck));
    T_PASS(named, h5ckpt_close(named));
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("verify");
    TCase *t = tcase_create("verify");

    tcase_set_timeout(t, 120);
    tcase_add_test(t, verify_finds_no_problem_in_a_fresh_checkpoint);
    tcase_add_test(t, verify_reports_every_problem_alike_on_every_rank);
    tcase_add_test(t, verify_counts_a_text_file_as_one_problem);
    tcase_add_test(t, verify_of_a_missing_file_is_enoent_on_every_rank);
    tcase_add_test(t, verify_of_a_directory_is_eisdir);
    tcase_add_test(t, verify_without_a_path_is_einval);
    tcase_add_test(t, root_info_gives_the_writer_ranks_and_creation_time);
    tcase_add_test(t, root_info_describes_the_file_the_handle_opened);
    suite_add_tcase(s, t);
    return s;
}
