/*
 * What a crash can leave behind: a complete file under the temporary name (a
 * save killed between its close and its rename) is refused like any
 * unfinished save, and the next save removes such leftovers.  Found by
 * tests/crash/crash_trials.sh; checked here deterministically.
 */
#include "harness.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void save(const char *path)
{
    h5ckpt *ck = NULL;

    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_attr_put_int64(ck, "", "step", 7));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
}

START_TEST(a_complete_file_under_the_temporary_name_is_refused_as_uncommitted)
{
    const char *p = t_path("c.h5"), *tmp = t_path(".c.h5.h5ckpt-tmp-0123456789abcdef");
    const char *other = t_path(".c.h5.h5ckpt-tmp-0123456789abcde"); /* 15 digits */
    h5ckpt_error err = {0, ""};
    h5ckpt *ck = NULL;

    save(p);
    if (T_rank == 0) {
        t_copy_file(p, tmp);
        t_copy_file(p, other);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    T_CODE(H5CKPT_ENOTCOMMITTED, h5ckpt_open(&ck, tmp, MPI_COMM_WORLD, NULL, &err));
    T_ALL(strstr(err.message, "temporary file of an unfinished save"), "%s", err.message);
    T_PASS(ck, h5ckpt_open(&ck, other, MPI_COMM_WORLD, NULL, NULL)); /* not the pattern */
    T_PASS(ck, h5ckpt_close(ck));
}
END_TEST

START_TEST(the_next_save_removes_stale_temporaries_of_its_target_only)
{
    const char *p = t_path("d.h5"), *stale = t_path(".d.h5.h5ckpt-tmp-00000000000000ff");
    const char *foreign = t_path(".e.h5.h5ckpt-tmp-00000000000000ff");
    struct stat st;
    int gone, kept;

    save(p);
    if (T_rank == 0) {
        t_copy_file(p, stale);
        t_copy_file(p, foreign);
        usleep(20000); /* the stale file predates the next save */
    }
    MPI_Barrier(MPI_COMM_WORLD);
    save(p);
    gone = stat(stale, &st) != 0;
    kept = stat(foreign, &st) == 0;
    T_ALL(gone && kept, "stale temporary removed %d, another target's kept %d", gone, kept);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("crash");

    tcase_add_test(tc, a_complete_file_under_the_temporary_name_is_refused_as_uncommitted);
    tcase_add_test(tc, the_next_save_removes_stale_temporaries_of_its_target_only);
    suite_add_tcase(s, tc);
    return s;
}
