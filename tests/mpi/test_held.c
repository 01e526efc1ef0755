/*
 * A reader handle reads the file it opened (issue 13, items 3 and 4).
 *  - Another checkpoint renamed over the path after h5ckpt_open changes
 *    nothing the handle returns: root information, tensors stored
 *    contiguously or chunked (which a fast reader opens through HDF5 only
 *    when a flush first needs them), attributes, verifying reads; with
 *    either executor.
 *  - A checkpoint deleted while it is being opened is H5CKPT_ENOENT, not
 *    H5CKPT_ENOTCKPT; h5ckpt_ckdir_load(LATEST) then loads the next latest
 *    once.
 * The deletion is made deterministic by a test seam: this binary links the
 * library statically and defines stat(), so the library's stat() calls land
 * here; an armed path is deleted right after its first successful stat,
 * which is rank 0's check of the path at the start of h5ckpt_open: the
 * window in which a saver's retention deletes a checkpoint a loader found.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "values.h"

/* ---- the seam ----------------------------------------------------------- */

static char vanish[2][600]; /* paths to delete at their first stat */

int stat(const char *restrict path, struct stat *restrict st)
{
    int rc = fstatat(AT_FDCWD, path, st, 0), i;

    for (i = 0; rc == 0 && i < 2; i++)
        if (vanish[i][0] && strcmp(path, vanish[i]) == 0) {
            if (unlink(path) != 0)
                perror("unlink");
            vanish[i][0] = '\0';
        }
    return rc;
}

/* Rank 0 arms slot i with `path`. */
static void arm(int i, const char *path)
{
    if (T_rank == 0)
        snprintf(vanish[i], sizeof vanish[i], "%s", path);
}

static void same_message(const char *msg)
{
    char root[512];

    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    T_ALL(msg[0] != '\0' && strcmp(root, msg) == 0, "message '%s' vs rank 0 '%s'",
          msg, root);
}

/* ---- a checkpoint deleted while it is being opened --------------------- */

/* A checkpoint of one int64 scalar "v" at `path`. */
static void save_scalar(const char *path, int64_t value)
{
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;

    T_PASS(NULL, h5ckpt_layout_whole(&l, 0, NULL, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "v", H5CKPT_INT64, l, &value, NULL));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}

START_TEST(a_checkpoint_deleted_while_being_opened_is_enoent)
{
    const char *path = t_path("gone.h5");
    h5ckpt_error err = {0, ""};
    h5ckpt *ck = NULL;

    save_scalar(path, 7);
    arm(0, path);
    T_CODE(H5CKPT_ENOENT, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, &err));
    T_ALL(ck == NULL, "open returned a handle");
    T_ALL(strstr(err.message, "deleted while it was being opened") != NULL,
          "message: %s", err.message);
    same_message(err.message);
    T_ALL(access(path, F_OK) != 0, "the seam did not delete '%s'", path);
}
END_TEST

/* Save checkpoints 0..n-1 of a directory, checkpoint i holding v = 10 + i. */
static h5ckpt_ckdir *saved_dir(const char *dir, int n)
{
    h5ckpt_ckdir *d = NULL;
    h5ckpt_layout *l = NULL;
    h5ckpt_error err = {0, ""};
    int64_t value;
    int i;

    T_ALL(h5ckpt_ckdir_open(&d, dir, MPI_COMM_WORLD, NULL, &err) == 0, "%s", err.message);
    T_PASS(NULL, h5ckpt_layout_whole(&l, 0, NULL, NULL));
    for (i = 0; i < n; i++) {
        h5ckpt *ck = NULL;
        value = 10 + i;
        T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, NULL));
        T_PASS(ck, h5ckpt_tensor_put(ck, "v", H5CKPT_INT64, l, &value, NULL));
        T_PASS(ck, h5ckpt_ckdir_commit(d, ck));
        T_PASS(ck, h5ckpt_close(ck));
    }
    h5ckpt_layout_free(l);
    return d;
}

START_TEST(ckdir_load_latest_loads_the_next_latest_when_the_latest_vanishes)
{
    h5ckpt_ckdir *d = saved_dir(t_path("dir-next"), 3);
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    char file[600];
    int64_t v = -1;

    T_PASS(NULL, h5ckpt_ckdir_path(d, 2, file, sizeof file));
    arm(0, file);
    T_ALL(h5ckpt_ckdir_load(d, H5CKPT_CKDIR_LATEST, &ck, NULL) == 0, "load: %s",
          h5ckpt_ckdir_errmsg(d));
    T_PASS(NULL, h5ckpt_layout_whole(&l, 0, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_get(ck, "v", H5CKPT_INT64, l, &v, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_ALL(v == 11, "loaded v = %lld, expected checkpoint 1's 11", (long long)v);
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(h5ckpt_ckdir_count(d) == 2, "%zu checkpoints listed", h5ckpt_ckdir_count(d));
    h5ckpt_layout_free(l);
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(ckdir_load_latest_retries_once_and_says_what_vanished)
{
    h5ckpt_ckdir *d = saved_dir(t_path("dir-twice"), 3);
    h5ckpt *ck = NULL;
    char f2[600], f1[600];
    const char *msg;

    T_PASS(NULL, h5ckpt_ckdir_path(d, 2, f2, sizeof f2));
    T_PASS(NULL, h5ckpt_ckdir_path(d, 1, f1, sizeof f1));
    arm(0, f2);
    arm(1, f1);
    T_CODE(H5CKPT_ENOENT, h5ckpt_ckdir_load(d, H5CKPT_CKDIR_LATEST, &ck, NULL));
    T_ALL(ck == NULL, "load returned a handle");
    msg = h5ckpt_ckdir_errmsg(d);
    T_ALL(strstr(msg, "checkpoint 2 was deleted while it was being opened") &&
              strstr(msg, "next latest, 1,") && strstr(msg, "ckpt-000000001.h5"),
          "message: %s", msg);
    same_message(msg);
    h5ckpt_ckdir_free(d);
}
END_TEST

/* ---- the path replaced after open -------------------------------------- */

#define NT 2

/* "c" stored contiguously, "k" chunked (repacked below); `id` sets the
 * values, so two checkpoints hold different data. */
static void make_state(tensor *t, uint64_t id)
{
    static const uint64_t sc[2] = {13, 7}, sk[2] = {20, 6};

    tensor_init(&t[0], H5CKPT_INT32, id + 1, 2, sc, "c");
    tensor_init(&t[1], H5CKPT_FLOAT32, id + 2, 2, sk, "k");
}

/* A checkpoint of make_state(id), its mesh dimension named `dim`, root
 * attribute step = id, "k" chunked. */
static void save_state(const char *path, uint64_t id, const char *dim)
{
    const char *names[1] = {dim};
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0, ""};
    h5ckpt_mesh *m = NULL;
    h5ckpt *ck = NULL;
    char src[600], cmd[1400];
    tensor t[NT];
    int i, p = H5CKPT_SHARD(0), rc = 0;

    snprintf(src, sizeof src, "%s.src", path);
    T_ALL(h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, names, &err) == 0,
          "mesh: %s", err.message);
    o.mesh = m;
    make_state(t, id);
    T_PASS(NULL, h5ckpt_create(&ck, src, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, 2, t[i].shape, &p, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_attr_put_int64(ck, "", "step", (int64_t)id));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    if (T_rank == 0) {
        snprintf(cmd, sizeof cmd, "h5repack -l /k:CHUNK=4x3 '%s' '%s' >/dev/null 2>&1",
                 src, path);
        rc = system(cmd);
    }
    T_ALL(rc == 0, "h5repack failed (%d)", rc);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}

/* Rank 0: copy `from` to a temporary name and rename it over `to`, as a
 * save does; every rank waits for it. */
static void replace(const char *from, const char *to)
{
    char tmp[600];
    int ok = 1;

    if (T_rank == 0) {
        snprintf(tmp, sizeof tmp, "%s.next", to);
        t_copy_file(from, tmp);
        ok = rename(tmp, to) == 0;
    }
    T_ALL(ok, "cannot rename over '%s'", to);
}

/* Read tensor i whole; mismatches against the values of checkpoint `id`. */
static uint64_t read_whole(h5ckpt *ck, tensor *t)
{
    T_PASS(NULL, h5ckpt_layout_whole(&t->l, 2, t->shape, NULL));
    T_PASS(ck, tensor_get(ck, t));
    T_PASS(ck, h5ckpt_flush(ck));
    return tensor_bad(t);
}

START_TEST(a_reader_reads_the_file_it_opened_after_each_replacement)
{
    const char *a = t_path("held-a.h5"), *b = t_path("held-b.h5");
    const char *path = t_path("held.h5");
    char buf[256], want[32];
    int64_t step = -1;
    uint64_t bad;
    tensor t[NT];
    int ex, verify, i;

    save_state(a, 0, "first");
    save_state(b, 100, "second");
    snprintf(want, sizeof want, "%d", T_size);
    for (ex = 0; ex < 2; ex++)
        for (verify = 0; verify < 2; verify++) {
            h5ckpt_options o = H5CKPT_OPTIONS_INIT;
            h5ckpt *ck = NULL;

            o.executor = ex ? H5CKPT_EXECUTOR_FAST : H5CKPT_EXECUTOR_PLAIN;
            o.verify_checksums = verify;
            replace(a, path);
            T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
            make_state(t, 0);

            replace(b, path);
            T_PASS(ck, h5ckpt_root_info(ck, "writer_mesh_dim_names", buf, sizeof buf));
            T_ALL(strcmp(buf, "first") == 0, "root_info read mesh dim names '%s'", buf);
            T_PASS(ck, h5ckpt_root_info(ck, "writer_nranks", buf, sizeof buf));
            T_ALL(strcmp(buf, want) == 0, "root_info read writer_nranks '%s'", buf);

            replace(b, path); /* "k" is chunked: a fast reader opens HDF5 now */
            bad = read_whole(ck, &t[1]);
            T_CHECK(bad);

            replace(b, path);
            bad = read_whole(ck, &t[0]);
            T_CHECK(bad);

            replace(b, path);
            T_PASS(ck, h5ckpt_attr_get_int64(ck, "", "step", &step));
            T_ALL(step == 0, "step %lld", (long long)step);
            T_PASS(ck, h5ckpt_close(ck));
            for (i = 0; i < NT; i++)
                tensor_release(&t[i]);
        }
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("held");
    TCase *tc = tcase_create("the file a handle holds");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_checkpoint_deleted_while_being_opened_is_enoent);
    tcase_add_test(tc, ckdir_load_latest_loads_the_next_latest_when_the_latest_vanishes);
    tcase_add_test(tc, ckdir_load_latest_retries_once_and_says_what_vanished);
    tcase_add_test(tc, a_reader_reads_the_file_it_opened_after_each_replacement);
    suite_add_tcase(s, tc);
    return s;
}
