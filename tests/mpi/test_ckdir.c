/*
 * Checkpoint directories: next index, latest committed checkpoint (with
 * leftover temporary files present), retention, loading a given index, and
 * the error cases (nothing to load, path is a file), each asserting the
 * exact code on every rank.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void same_message(const char *msg)
{
    char root[512];

    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    T_ALL(msg[0] != '\0' && strcmp(root, msg) == 0, "message '%s' vs rank 0 '%s'", msg, root);
}

/* Save checkpoint `index` (or NEXT) holding "v" = value (int64, whole on
 * every rank) and return the index it got. */
static int64_t save(h5ckpt_ckdir *d, int64_t index, int64_t value)
{
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    int64_t got = index == H5CKPT_CKDIR_NEXT ? h5ckpt_ckdir_next(d) : index;
    int rc = h5ckpt_ckdir_save(d, index, &ck, NULL);

    T_ALL(rc == 0, "save: %s: %s", h5ckpt_errname(rc), h5ckpt_ckdir_errmsg(d));
    h5ckpt_layout_whole(&l, 0, NULL, NULL);
    T_PASS(ck, h5ckpt_tensor_put(ck, "v", H5CKPT_INT64, l, &value, NULL));
    rc = h5ckpt_ckdir_commit(d, ck);
    T_ALL(rc == 0, "commit: %s: %s", h5ckpt_errname(rc), h5ckpt_ckdir_errmsg(d));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    return got;
}

static int64_t load_value(h5ckpt_ckdir *d, int64_t index)
{
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    int64_t v = -1;

    h5ckpt_layout_whole(&l, 0, NULL, NULL);
    T_PASS(NULL, h5ckpt_ckdir_load(d, index, &ck, NULL));
    T_PASS(ck, h5ckpt_tensor_get(ck, "v", H5CKPT_INT64, l, &v, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    return v;
}

static void touch(const char *path, const char *text)
{
    if (T_rank == 0) {
        FILE *f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static int exists(const char *path)
{
    struct stat st;
    int e = T_rank == 0 ? stat(path, &st) == 0 : 0;
    MPI_Bcast(&e, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return e;
}

START_TEST(missing_directory_lists_nothing_and_has_nothing_to_load)
{
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = (h5ckpt *)1;
    int64_t latest = 5;

    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("absent"), MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_ckdir_count(d) == 0 && h5ckpt_ckdir_next(d) == 0, "count %zu next %lld",
          h5ckpt_ckdir_count(d), (long long)h5ckpt_ckdir_next(d));
    T_CODE(H5CKPT_ENOCKPT, h5ckpt_ckdir_latest(d, &latest));
    T_ALL(latest == -1, "latest %lld", (long long)latest);
    T_CODE(H5CKPT_ENOCKPT, h5ckpt_ckdir_load(d, H5CKPT_CKDIR_LATEST, &ck, NULL));
    T_ALL(ck == NULL, "out not cleared");
    same_message(h5ckpt_ckdir_errmsg(d));
    T_ALL(!exists(t_path("absent")), "open created the directory");
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(open_fails_on_every_rank_when_the_path_is_a_file)
{
    h5ckpt_ckdir *d = (h5ckpt_ckdir *)1;
    h5ckpt_error err = {0};

    touch(t_path("plainfile"), "not a directory\n");
    T_CODE(H5CKPT_ENOENT, h5ckpt_ckdir_open(&d, t_path("plainfile"), MPI_COMM_WORLD, NULL, &err));
    T_ALL(d == NULL && err.code == H5CKPT_ENOENT, "out %p code %d", (void *)d, err.code);
    T_ALL(strstr(err.message, "is a file") != NULL, "message '%s'", err.message);
    same_message(err.message);
}
END_TEST

START_TEST(save_creates_the_directory_and_numbers_from_zero)
{
    h5ckpt_ckdir *d = NULL;
    int64_t latest = -1;

    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("fresh"), MPI_COMM_WORLD, NULL, NULL));
    T_ALL(save(d, H5CKPT_CKDIR_NEXT, 100) == 0, "first index");
    T_ALL(save(d, H5CKPT_CKDIR_NEXT, 101) == 1, "second index");
    T_PASS(NULL, h5ckpt_ckdir_latest(d, &latest));
    T_ALL(latest == 1 && h5ckpt_ckdir_next(d) == 2 && h5ckpt_ckdir_count(d) == 2, "latest %lld",
          (long long)latest);
    T_ALL(exists(t_path("fresh/ckpt-000000000.h5")) && exists(t_path("fresh/ckpt-000000001.h5")),
          "file names");
    T_ALL(load_value(d, H5CKPT_CKDIR_LATEST) == 101, "latest value");
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(next_and_latest_are_refused_where_they_mean_nothing)
{
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = (h5ckpt *)1;

    T_ALL(H5CKPT_CKDIR_NEXT != H5CKPT_CKDIR_LATEST, "NEXT and LATEST are one value");
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("which"), MPI_COMM_WORLD, NULL, NULL));
    T_ALL(save(d, H5CKPT_CKDIR_NEXT, 5) == 0, "first index");
    /* LATEST names no index to save at; NEXT names no checkpoint to load */
    T_CODE(H5CKPT_EINVAL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_LATEST, &ck, NULL));
    T_ALL(ck == NULL, "save: out not cleared");
    ck = (h5ckpt *)1;
    T_CODE(H5CKPT_EINVAL, h5ckpt_ckdir_load(d, H5CKPT_CKDIR_NEXT, &ck, NULL));
    T_ALL(ck == NULL, "load: out not cleared");
    T_ALL(load_value(d, H5CKPT_CKDIR_LATEST) == 5, "latest value");
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(latest_and_next_ignore_temporary_and_foreign_files)
{
    h5ckpt_ckdir *d = NULL;
    int64_t latest = -1;

    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("mixed"), MPI_COMM_WORLD, NULL, NULL));
    save(d, 3, 3);
    save(d, 7, 7);
    /* An interrupted save of 9, a truncated file under a final name, a
     * non-canonical name, and someone else's temporary file. */
    touch(t_path("mixed/.ckpt-000000009.h5.h5ckpt-tmp-0123456789abcdef"), "partial");
    touch(t_path("mixed/ckpt-000000011.h5"), "truncated");
    touch(t_path("mixed/ckpt-12.h5"), "odd name");
    touch(t_path("mixed/.notes.h5.h5ckpt-tmp-0123456789abcdef"), "not ours");
    T_PASS(NULL, h5ckpt_ckdir_refresh(d));
    T_PASS(NULL, h5ckpt_ckdir_latest(d, &latest));
    T_ALL(latest == 7 && h5ckpt_ckdir_next(d) == 8 && h5ckpt_ckdir_count(d) == 2 &&
              h5ckpt_ckdir_at(d, 0) == 3 && h5ckpt_ckdir_at(d, 1) == 7 &&
              h5ckpt_ckdir_at(d, 2) == -1,
          "latest %lld next %lld count %zu", (long long)latest, (long long)h5ckpt_ckdir_next(d),
          h5ckpt_ckdir_count(d));
    T_ALL(load_value(d, H5CKPT_CKDIR_LATEST) == 7, "latest value");
    /* The next save cleans up our temporary file only. */
    T_ALL(save(d, H5CKPT_CKDIR_NEXT, 8) == 8, "next index");
    T_ALL(!exists(t_path("mixed/.ckpt-000000009.h5.h5ckpt-tmp-0123456789abcdef")),
          "temporary file left behind");
    T_ALL(exists(t_path("mixed/.notes.h5.h5ckpt-tmp-0123456789abcdef")) &&
              exists(t_path("mixed/ckpt-12.h5")),
          "foreign files removed");
    T_ALL(load_value(d, H5CKPT_CKDIR_LATEST) == 8, "latest value after save");
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(retention_keeps_the_last_n_and_every_kth)
{
    h5ckpt_ckdir_options o = H5CKPT_CKDIR_OPTIONS_INIT;
    const int64_t want[] = {4, 8, 9};
    h5ckpt_ckdir *d = NULL;
    int64_t i;
    int ok;

    o.keep_last = 2;
    o.keep_every = 4;
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("keep"), MPI_COMM_WORLD, &o, NULL));
    for (i = 1; i <= 9; i++)
        save(d, i, i);
    ok = h5ckpt_ckdir_count(d) == 3;
    for (i = 0; ok && i < 3; i++)
        ok = h5ckpt_ckdir_at(d, (size_t)i) == want[i];
    T_ALL(ok, "kept %zu checkpoints", h5ckpt_ckdir_count(d));
    T_ALL(!exists(t_path("keep/ckpt-000000007.h5")) && exists(t_path("keep/ckpt-000000004.h5")),
          "files on disk");
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(loads_a_specific_index)
{
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = NULL;

    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("pick"), MPI_COMM_WORLD, NULL, NULL));
    save(d, 2, 20);
    save(d, 5, 50);
    T_ALL(load_value(d, 2) == 20 && load_value(d, 5) == 50, "values");
    /* Past nine digits the name grows: ckpt-1000000000.h5. */
    save(d, INT64_C(1000000000), 7);
    T_ALL(exists(t_path("pick/ckpt-1000000000.h5")) && h5ckpt_ckdir_count(d) == 3 &&
              h5ckpt_ckdir_next(d) == INT64_C(1000000001),
          "ten-digit index");
    T_ALL(load_value(d, H5CKPT_CKDIR_LATEST) == 7, "latest is the ten-digit one");
    T_CODE(H5CKPT_ENOENT, h5ckpt_ckdir_load(d, 4, &ck, NULL));
    same_message(h5ckpt_ckdir_errmsg(d));
    T_CODE(H5CKPT_EINVAL, h5ckpt_ckdir_load(d, -7, &ck, NULL));
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(open_fails_when_ranks_pass_different_directories)
{
    h5ckpt_ckdir *d = NULL;
    h5ckpt_error err = {0};
    int rc = h5ckpt_ckdir_open(&d, T_rank ? t_path("b") : t_path("a"), MPI_COMM_WORLD, NULL, &err);

    T_ALL(rc == (T_size > 1 ? H5CKPT_EDISAGREE : 0), "rc %s", h5ckpt_errname(rc));
    h5ckpt_ckdir_free(d);
}
END_TEST

START_TEST(a_failed_save_keeps_the_previous_checkpoint_and_skips_retention)
{
    h5ckpt_ckdir_options o = H5CKPT_CKDIR_OPTIONS_INIT;
    h5ckpt_layout *l;
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = NULL;
    uint64_t n = 3;
    int64_t latest = -1;

    o.keep_last = 1;
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("failed"), MPI_COMM_WORLD, &o, NULL));
    save(d, 1, 10);
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, NULL));
    /* NULL data for a non-empty tensor: remembered, the commit fails. */
    h5ckpt_layout_whole(&l, 1, &n, NULL);
    h5ckpt_tensor_put(ck, "v", H5CKPT_INT64, l, NULL, NULL);
    T_CODE(H5CKPT_EINVAL, h5ckpt_ckdir_commit(d, ck));
    same_message(h5ckpt_ckdir_errmsg(d));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    T_PASS(NULL, h5ckpt_ckdir_refresh(d));
    T_PASS(NULL, h5ckpt_ckdir_latest(d, &latest));
    T_ALL(latest == 1 && h5ckpt_ckdir_count(d) == 1 && !exists(t_path("failed/ckpt-000000002.h5")),
          "latest %lld count %zu", (long long)latest, h5ckpt_ckdir_count(d));
    T_ALL(load_value(d, H5CKPT_CKDIR_LATEST) == 10, "previous checkpoint's value");
    h5ckpt_ckdir_free(d);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("ckdir");
    TCase *tc = tcase_create("ckdir");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, missing_directory_lists_nothing_and_has_nothing_to_load);
    tcase_add_test(tc, open_fails_on_every_rank_when_the_path_is_a_file);
    tcase_add_test(tc, save_creates_the_directory_and_numbers_from_zero);
    tcase_add_test(tc, next_and_latest_are_refused_where_they_mean_nothing);
    tcase_add_test(tc, latest_and_next_ignore_temporary_and_foreign_files);
    tcase_add_test(tc, retention_keeps_the_last_n_and_every_kth);
    tcase_add_test(tc, loads_a_specific_index);
    tcase_add_test(tc, open_fails_when_ranks_pass_different_directories);
    tcase_add_test(tc, a_failed_save_keeps_the_previous_checkpoint_and_skips_retention);
    suite_add_tcase(s, tc);
    return s;
}
