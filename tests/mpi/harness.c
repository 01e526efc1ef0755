/* main() shared by every MPI test binary; see harness.h. */
#include "harness.h"

#include <hdf5.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int T_rank, T_size;
__attribute__((weak)) int t_thread_level = MPI_THREAD_SINGLE;
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

/*
 * Every test ends with no HDF5 identifier of a file or of an object in a
 * file (group, dataset, named datatype, attribute) left open.  HDF5 1.10
 * offers no count of dataspace or datatype identifiers (H5Inmembers refuses
 * library types).  Returns 1 on every rank when any rank has some left.
 */
static int open_ids_left(void)
{
    static const struct {
        unsigned types;
        const char *name;
    } kinds[] = {{H5F_OBJ_FILE, "file"},
                 {H5F_OBJ_GROUP, "group"},
                 {H5F_OBJ_DATASET, "dataset"},
                 {H5F_OBJ_DATATYPE, "named datatype"},
                 {H5F_OBJ_ATTR, "attribute"}};
    size_t i;
    ssize_t n;
    int left = 0, any = 0;

    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if ((n = H5Fget_obj_count(H5F_OBJ_ALL, kinds[i].types)) != 0) {
            fprintf(stderr, "[rank %d] %zd HDF5 %s identifier(s) left open\n",
                    T_rank, n, kinds[i].name);
            left = 1;
        }
    MPI_Allreduce(&left, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    if (any && T_rank == 0)
        fprintf(stderr, "HDF5 identifiers were left open at the end of the tests\n");
    return any;
}

int main(int argc, char **argv)
{
    int failed, total = 0, provided;
    SRunner *sr;

    if (t_thread_level == MPI_THREAD_SINGLE)
        MPI_Init(&argc, &argv);
    else
        MPI_Init_thread(&argc, &argv, t_thread_level, &provided);
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
    failed += open_ids_left();

    MPI_Allreduce(&failed, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    if (T_rank == 0 && !getenv("H5CKPT_KEEP_TEST_FILES"))
        remove_tree(t_dir_buf);
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}

void t_copy_file(const char *from, const char *to)
{
    char buf[1 << 16];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t n;

    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            break;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}
