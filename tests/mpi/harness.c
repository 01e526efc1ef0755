/* main() shared by every MPI test binary; see harness.h. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int T_rank, T_size;
static char t_dir_buf[256];

const char *t_dir(void) { return t_dir_buf; }

const char *t_path(const char *name)
{
    static char slots[8][512];
    static int next;
    char *p = slots[next++ % 8];
    snprintf(p, 512, "%s/%s", t_dir_buf, name);
    return p;
}

static void remove_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    int failed, total = 0;
    SRunner *sr;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &T_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &T_size);
    if (T_rank == 0) {
        const char *base = getenv("TMPDIR");
        snprintf(t_dir_buf, sizeof t_dir_buf, "%s/h5ckpt-test-XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(t_dir_buf)) {
            perror("mkdtemp");
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    MPI_Bcast(t_dir_buf, sizeof t_dir_buf, MPI_CHAR, 0, MPI_COMM_WORLD);

    sr = srunner_create(test_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, T_rank == 0 ? CK_NORMAL : CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    MPI_Allreduce(&failed, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    if (T_rank == 0 && !getenv("H5CKPT_KEEP_TEST_FILES"))
        remove_tree(t_dir_buf);
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}
