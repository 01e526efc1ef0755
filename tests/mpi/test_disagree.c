/*
 * The rank-disagreement matrix.  For every collective call and each of its
 * arguments, the last rank passes a different value (or fails locally, e.g.
 * a NULL pointer) and every rank must return the same code with the same
 * message; the binary runs under `timeout`, so a hang fails it.  Complements
 * test_failures.c, which covers the tensor queue (path, dtype, shape,
 * placements, count, order), attribute value and object, create path and
 * mesh ndim, reads of a missing tensor and a NULL put buffer.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The rank that differs; only when there are several. */
static int odd(void) { return T_size > 1 && T_rank == T_size - 1; }

/* A disagreement needs two ranks; a local failure shows at one rank too. */
static int needs_two(void)
{
    if (T_size > 1)
        return 0;
    if (T_rank == 0)
        printf("skipped: nothing can disagree at one rank\n");
    return 1;
}

static void same_message(const char *msg)
{
    char root[512];

    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    T_ALL(msg[0] != '\0' && strcmp(root, msg) == 0, "message '%s' vs rank 0 '%s'", msg,
          root);
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* No temporary file of a failed save is left in the test directory. */
static void no_temporaries(void)
{
    char cmd[700];
    int left = 0;

    if (T_rank == 0) {
        snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q h5ckpt-tmp", t_dir());
        left = system(cmd) == 0;
    }
    MPI_Bcast(&left, 1, MPI_INT, 0, MPI_COMM_WORLD);
    T_ALL(!left, "a temporary file was left in %s", t_dir());
}

/* ---- mesh_create ---------------------------------------------------------- */

static void mesh_fails_with(int code, int ndim, const int *shape, const char *const *names,
                            int null_out)
{
    h5ckpt_error err = {0};
    h5ckpt_mesh *m = NULL;

    T_CODE(code, h5ckpt_mesh_create(null_out ? NULL : &m, MPI_COMM_WORLD, ndim, shape, names,
                                    &err));
    T_ALL(m == NULL && err.code == code, "mesh %p, err.code %d", (void *)m, err.code);
    same_message(err.message);
}

START_TEST(mesh_create_fails_alike_when_one_rank_transposes_the_shape)
{
    int a[2] = {1, T_size}, b[2] = {T_size, 1};

    if (!needs_two())
        mesh_fails_with(H5CKPT_EDISAGREE, 2, odd() ? b : a, NULL, 0);
}
END_TEST

START_TEST(mesh_create_fails_alike_when_one_rank_names_a_dimension_differently)
{
    const char *a[1] = {"dp"}, *b[1] = {"tp"};

    if (!needs_two())
        mesh_fails_with(H5CKPT_EDISAGREE, 1, &T_size, odd() ? b : a, 0);
}
END_TEST

START_TEST(mesh_create_fails_alike_when_one_rank_gives_no_names)
{
    const char *a[1] = {"dp"};

    if (!needs_two())
        mesh_fails_with(H5CKPT_EDISAGREE, 1, &T_size, odd() ? NULL : a, 0);
}
END_TEST

START_TEST(mesh_create_fails_alike_when_one_rank_passes_a_null_out)
{
    mesh_fails_with(H5CKPT_EINVAL, 1, &T_size, NULL, T_rank == T_size - 1);
}
END_TEST

START_TEST(mesh_create_fails_alike_when_one_rank_uses_an_equals_sign_in_a_name)
{
    const char *a[1] = {"dp"}, *b[1] = {"d=p"};

    mesh_fails_with(H5CKPT_EINVAL, 1, &T_size, T_rank == T_size - 1 ? b : a, 0);
}
END_TEST

START_TEST(mesh_create_fails_alike_when_one_rank_gives_a_wrong_product)
{
    int bad = T_size + 1;

    mesh_fails_with(H5CKPT_EINVAL, 1, T_rank == T_size - 1 ? &bad : &T_size, NULL, 0);
}
END_TEST

/* ---- create --------------------------------------------------------------- */

enum { O_FSYNC, O_LOCKING, O_ALIGNMENT, O_MESH, O_MESH_NAMES, O_VERSION, O_NULL_OUT,
       O_STAGING };

static void create_with_odd_option(int field, int code)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    const char *names[1] = {"tp"};
    const char *path = t_path("opt.h5");
    h5ckpt_mesh *m = NULL, *other = NULL;
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    T_PASS(NULL, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, NULL));
    T_PASS(NULL, h5ckpt_mesh_create(&other, MPI_COMM_WORLD, 1, &T_size,
                                    field == O_MESH_NAMES ? names : NULL, NULL));
    o.mesh = m;
    if (T_rank == T_size - 1) {
        switch (field) {
        case O_FSYNC: o.no_fsync = 1; break;
        case O_LOCKING: o.no_file_locking = 1; break;
        case O_ALIGNMENT: o.alignment = 4096; break;
        case O_MESH: o.mesh = NULL; break;
        case O_MESH_NAMES: o.mesh = other; break; /* (tp=N) against (N) */
        case O_VERSION: o.version = 99; break;
        case O_STAGING: o.staging_bytes = 1 << 20; break;
        }
    }
    T_CODE(code, h5ckpt_create(field == O_NULL_OUT && T_rank == T_size - 1 ? NULL : &ck, path,
                               MPI_COMM_WORLD, &o, &err));
    T_ALL(ck == NULL && err.code == code, "handle %p, err.code %d", (void *)ck, err.code);
    same_message(err.message);
    T_ALL(!exists(path), "a failed create made the file");
    no_temporaries();
    h5ckpt_mesh_free(m);
    h5ckpt_mesh_free(other);
}

START_TEST(create_fails_alike_when_one_rank_disables_fsync)
{
    if (!needs_two())
        create_with_odd_option(O_FSYNC, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_sets_another_staging_size)
{
    if (!needs_two())
        create_with_odd_option(O_STAGING, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_disables_file_locking)
{
    if (!needs_two())
        create_with_odd_option(O_LOCKING, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_sets_an_alignment)
{
    if (!needs_two())
        create_with_odd_option(O_ALIGNMENT, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_gives_no_mesh)
{
    if (!needs_two())
        create_with_odd_option(O_MESH, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_gives_other_mesh_names)
{
    if (!needs_two())
        create_with_odd_option(O_MESH_NAMES, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_passes_a_bad_options_version)
{
    create_with_odd_option(O_VERSION, H5CKPT_EINVAL);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_passes_a_null_out)
{
    create_with_odd_option(O_NULL_OUT, H5CKPT_EINVAL);
}
END_TEST

START_TEST(create_fails_alike_when_one_rank_passes_a_null_path)
{
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    T_CODE(H5CKPT_EINVAL, h5ckpt_create(&ck, T_rank == T_size - 1 ? NULL : t_path("np.h5"),
                                        MPI_COMM_WORLD, NULL, &err));
    same_message(err.message);
    T_ALL(!exists(t_path("np.h5")), "file made");
}
END_TEST

START_TEST(create_with_null_options_agrees_with_default_options)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt *ck = NULL;

    T_PASS(ck, h5ckpt_create(&ck, t_path("defaults.h5"), MPI_COMM_WORLD,
                             T_rank == T_size - 1 ? NULL : &o, NULL));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(exists(t_path("defaults.h5")), "not committed");
}
END_TEST

START_TEST(create_refuses_a_basename_too_long_for_the_temporary_name)
{
    char name[240];
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0'; /* 239 bytes: the temporary name would pass 255 */
    T_CODE(H5CKPT_EINVAL, h5ckpt_create(&ck, t_path(name), MPI_COMM_WORLD, NULL, &err));
    same_message(err.message);
    T_ALL(strstr(err.message, "temporary name") != NULL, "message: %s", err.message);
    T_ALL(!exists(t_path(name)), "file made");
}
END_TEST

/* Open MPI 4.1's MPI_File_open aborts on paths of 245 bytes or more, and
 * across nodes hangs on names over 231 bytes (rank 0 alone fails to make
 * "<name>-<jobid>-<pid>.lock"): the library refuses them (create: the
 * temporary path) instead of crashing or hanging. */
START_TEST(create_and_open_refuse_paths_mpi_io_cannot_open)
{
    char name[256], cwd[1024], longer[256];
    h5ckpt_options plain = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;
    size_t fit;

    plain.executor = H5CKPT_EXECUTOR_PLAIN; /* opens through MPI-IO at once */
    T_ALL(getcwd(cwd, sizeof cwd) != NULL && chdir(t_dir()) == 0, "chdir");
    /* the longest basename Open MPI's OMPIO can take as a temporary name
     * (231 - 29); relative, so that the path stays under 245 bytes */
    fit = 202;
    memset(name, 'm', fit + 1);
    name[fit + 1] = '\0';
    T_CODE(H5CKPT_EINVAL, h5ckpt_create(&ck, name, MPI_COMM_WORLD, NULL, &err));
    same_message(err.message);
    name[fit] = '\0';
    T_PASS(ck, h5ckpt_create(&ck, name, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_PASS(ck, h5ckpt_open(&ck, name, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_close(ck));
    /* open: a path of 245 bytes to the same file */
    {
        char longp[300];
        size_t n = 0;
        while (n + strlen(name) < 245) { /* "./" repeated, then the name */
            longp[n++] = '.';
            longp[n++] = '/';
        }
        snprintf(longp + n, sizeof longp - n, "%s", name);
        T_ALL(strlen(longp) >= 245, "length %zu", strlen(longp));
        T_CODE(H5CKPT_EINVAL, h5ckpt_open(&ck, longp, MPI_COMM_WORLD, NULL, &err));
        same_message(err.message);
    }
    /* open: a name of 232 bytes is refused, one of 231 opens */
    memset(longer, 'l', 232);
    longer[232] = '\0';
    T_ALL(T_rank != 0 || rename(name, longer) == 0, "rename");
    T_CODE(H5CKPT_EINVAL, h5ckpt_open(&ck, longer, MPI_COMM_WORLD, &plain, &err));
    same_message(err.message);
    T_ALL(strstr(err.message, "232 bytes") != NULL, "message: %s", err.message);
    memmove(name, longer, 231);
    name[231] = '\0';
    T_ALL(T_rank != 0 || rename(longer, name) == 0, "rename");
    T_PASS(ck, h5ckpt_open(&ck, name, MPI_COMM_WORLD, &plain, NULL));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(chdir(cwd) == 0, "chdir back");
}
END_TEST

/* ---- open ----------------------------------------------------------------- */

/* A committed file with one tensor "w" = {1, 2, 3} int32. */
static void write_small(const char *path)
{
    uint64_t s[1] = {3};
    int32_t v[3] = {1, 2, 3};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;

    h5ckpt_layout_whole(&l, 1, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "w", H5CKPT_INT32, l, v, NULL));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}

START_TEST(open_fails_alike_when_one_rank_names_another_file)
{
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    if (needs_two())
        return;
    write_small(t_path("a.h5"));
    write_small(t_path("b.h5"));
    T_CODE(H5CKPT_EDISAGREE, h5ckpt_open(&ck, odd() ? t_path("b.h5") : t_path("a.h5"),
                                         MPI_COMM_WORLD, NULL, &err));
    T_ALL(ck == NULL, "handle returned");
    same_message(err.message);
}
END_TEST

START_TEST(open_fails_alike_when_one_rank_disables_file_locking)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    if (needs_two())
        return;
    write_small(t_path("lock.h5"));
    o.no_file_locking = odd();
    T_CODE(H5CKPT_EDISAGREE, h5ckpt_open(&ck, t_path("lock.h5"), MPI_COMM_WORLD, &o, &err));
    same_message(err.message);
}
END_TEST

START_TEST(null_zeroed_and_initialised_options_are_the_same_options)
{
    h5ckpt_options o;
    h5ckpt *ck = NULL;

    /* rank r % 4: NULL, a zeroed struct, H5CKPT_OPTIONS_INIT,
     * h5ckpt_options_init(): one set of options, no EDISAGREE */
    write_small(t_path("same.h5"));
    memset(&o, 0xff, sizeof o);
    switch (T_rank % 4) {
    case 1: memset(&o, 0, sizeof o); break;
    case 2: { h5ckpt_options i = H5CKPT_OPTIONS_INIT; o = i; } break;
    case 3: h5ckpt_options_init(&o); break;
    }
    T_PASS(NULL, h5ckpt_open(&ck, t_path("same.h5"), MPI_COMM_WORLD,
                             T_rank % 4 ? &o : NULL, NULL));
    T_PASS(ck, h5ckpt_close(ck));
}
END_TEST

START_TEST(open_fails_alike_when_one_rank_passes_a_null_out)
{
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    write_small(t_path("nullout.h5"));
    T_CODE(H5CKPT_EINVAL, h5ckpt_open(T_rank == T_size - 1 ? NULL : &ck, t_path("nullout.h5"),
                                      MPI_COMM_WORLD, NULL, &err));
    T_ALL(ck == NULL, "handle returned");
    same_message(err.message);
}
END_TEST

START_TEST(open_fails_alike_when_one_rank_passes_an_empty_path)
{
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    write_small(t_path("empty.h5"));
    T_CODE(H5CKPT_EINVAL, h5ckpt_open(&ck, T_rank == T_size - 1 ? "" : t_path("empty.h5"),
                                      MPI_COMM_WORLD, NULL, &err));
    same_message(err.message);
}
END_TEST

/* ---- flush and commit with queues ------------------------------------------ */

enum { A_NAME, A_TYPE, A_COUNT, A_STRING, Q_BAD_NAME, Q_TWICE, Q_STRIDES, Q_LAYOUT_MESH,
       Q_NULL_LAYOUT, Q_BAD_DTYPE };

/* Writer: one tensor and one attribute, the last rank varies one thing. */
static void commit_with_odd(int what, int code)
{
    const char *path = t_path("q.h5");
    uint64_t s[1] = {4};
    int64_t bad_strides[1] = {0}, arr[1] = {5};
    const char *names[1] = {"dp"};
    int place[1] = {H5CKPT_REPLICATE};
    float v[4] = {1, 2, 3, 4};
    h5ckpt_mesh *m = NULL, *named = NULL;
    h5ckpt_layout *l = NULL;
    h5ckpt_buffer buf = H5CKPT_BUFFER_INIT;
    h5ckpt *ck = NULL;
    int me = T_rank == T_size - 1;

    T_PASS(NULL, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, NULL));
    T_PASS(NULL, h5ckpt_mesh_create(&named, MPI_COMM_WORLD, 1, &T_size, names, NULL));
    h5ckpt_layout_sharded(&l, what == Q_LAYOUT_MESH && odd() ? named : m, 1, s, place, NULL);
    buf.strides = bad_strides;
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    h5ckpt_tensor_put(ck, me && what == Q_BAD_NAME ? "a//b" : "w",
                      me && what == Q_BAD_DTYPE ? (h5ckpt_dtype)99 : H5CKPT_FLOAT32,
                      me && what == Q_NULL_LAYOUT ? NULL : l, v,
                      me && what == Q_STRIDES ? &buf : NULL);
    if (me && what == Q_TWICE)
        h5ckpt_tensor_put(ck, "w", H5CKPT_FLOAT32, l, v, NULL);
    if (odd() && what == A_TYPE)
        h5ckpt_attr_put_float64(ck, "", "step", 5.0);
    else if (odd() && what == A_COUNT)
        h5ckpt_attr_put(ck, "", "step", H5CKPT_ATTR_INT64, 1, arr);
    else if (odd() && what == A_STRING)
        h5ckpt_attr_put_string(ck, "", "step", "five");
    else if (!odd() && what == A_STRING)
        h5ckpt_attr_put_string(ck, "", "step", "5");
    else
        h5ckpt_attr_put_int64(ck, "", odd() && what == A_NAME ? "stp" : "step", 5);
    T_CODE(code, h5ckpt_commit(ck));
    same_message(h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(!exists(path), "a failed commit made the file");
    no_temporaries();
    h5ckpt_layout_free(l);
    h5ckpt_mesh_free(m);
    h5ckpt_mesh_free(named);
}

START_TEST(commit_fails_alike_when_one_rank_names_an_attribute_differently)
{
    if (!needs_two())
        commit_with_odd(A_NAME, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_gives_an_attribute_another_type)
{
    if (!needs_two())
        commit_with_odd(A_TYPE, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_makes_an_attribute_an_array)
{
    if (!needs_two())
        commit_with_odd(A_COUNT, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_gives_another_string)
{
    if (!needs_two())
        commit_with_odd(A_STRING, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_lays_out_on_a_named_mesh)
{
    if (!needs_two())
        commit_with_odd(Q_LAYOUT_MESH, H5CKPT_EDISAGREE);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_queues_an_invalid_name)
{
    commit_with_odd(Q_BAD_NAME, H5CKPT_ENAME);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_queues_a_tensor_twice)
{
    commit_with_odd(Q_TWICE, H5CKPT_EEXIST);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_passes_zero_strides)
{
    commit_with_odd(Q_STRIDES, H5CKPT_EINVAL);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_passes_a_null_layout)
{
    commit_with_odd(Q_NULL_LAYOUT, H5CKPT_EINVAL);
}
END_TEST

START_TEST(commit_fails_alike_when_one_rank_passes_an_invalid_dtype)
{
    commit_with_odd(Q_BAD_DTYPE, H5CKPT_EINVAL);
}
END_TEST

START_TEST(commit_fails_alike_when_the_target_became_a_directory)
{
    const char *path = t_path("became_dir.h5");
    uint64_t s[1] = {2};
    float v[2] = {1, 2};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;

    h5ckpt_layout_whole(&l, 1, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "w", H5CKPT_FLOAT32, l, v, NULL));
    if (T_rank == 0)
        mkdir(path, 0755);
    MPI_Barrier(MPI_COMM_WORLD);
    T_CODE(H5CKPT_EISDIR, h5ckpt_commit(ck));
    same_message(h5ckpt_errmsg(ck));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    no_temporaries();
    h5ckpt_layout_free(l);
}
END_TEST

/* ---- reads ---------------------------------------------------------------- */

enum { G_PATH, G_DTYPE, G_SHAPE, G_NULL_BUF };

static void read_with_odd(int what, int code)
{
    uint64_t s[1] = {3}, s2[1] = {4};
    int32_t v[4] = {0};
    h5ckpt_layout *l, *l2;
    h5ckpt *ck = NULL;
    int me = T_rank == T_size - 1;

    write_small(t_path("r1.h5"));
    T_PASS(ck, h5ckpt_open(&ck, t_path("r1.h5"), MPI_COMM_WORLD, NULL, NULL));
    h5ckpt_layout_whole(&l, 1, s, NULL);
    h5ckpt_layout_whole(&l2, 1, s2, NULL);
    h5ckpt_tensor_get(ck, "w", me && what == G_DTYPE ? H5CKPT_UINT32 : H5CKPT_INT32,
                      me && what == G_SHAPE ? l2 : l, me && what == G_NULL_BUF ? NULL : v,
                      NULL);
    if (what == G_PATH) /* every rank reads two tensors; the last in another order */
        h5ckpt_tensor_get(ck, "w", H5CKPT_INT32, l, v, NULL);
    T_CODE(code, h5ckpt_flush(ck));
    same_message(h5ckpt_errmsg(ck));
    /* the reader stays usable */
    T_PASS(ck, h5ckpt_tensor_get(ck, "w", H5CKPT_INT32, l, v, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_ALL(v[0] == 1 && v[1] == 2 && v[2] == 3, "v = %d %d %d", v[0], v[1], v[2]);
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    h5ckpt_layout_free(l2);
}

START_TEST(flush_fails_alike_when_one_rank_reads_with_another_dtype)
{
    read_with_odd(G_DTYPE, H5CKPT_EDTYPE);
}
END_TEST

START_TEST(flush_fails_alike_when_one_rank_reads_with_another_shape)
{
    read_with_odd(G_SHAPE, H5CKPT_ESHAPE);
}
END_TEST

START_TEST(flush_fails_alike_when_one_rank_reads_into_a_null_buffer)
{
    read_with_odd(G_NULL_BUF, H5CKPT_EINVAL);
}
END_TEST

START_TEST(flush_fails_alike_when_one_rank_queues_fewer_reads)
{
    uint64_t s[1] = {3};
    int32_t v[3];
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;

    if (needs_two())
        return;
    write_small(t_path("r2.h5"));
    T_PASS(ck, h5ckpt_open(&ck, t_path("r2.h5"), MPI_COMM_WORLD, NULL, NULL));
    h5ckpt_layout_whole(&l, 1, s, NULL);
    h5ckpt_tensor_get(ck, "w", H5CKPT_INT32, l, v, NULL);
    if (!odd())
        h5ckpt_tensor_get(ck, "w", H5CKPT_INT32, l, v, NULL);
    T_CODE(H5CKPT_EDISAGREE, h5ckpt_flush(ck));
    same_message(h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("disagree");
    TCase *m = tcase_create("mesh"), *c = tcase_create("create"), *o = tcase_create("open"),
          *q = tcase_create("queues");

    tcase_add_test(m, mesh_create_fails_alike_when_one_rank_transposes_the_shape);
    tcase_add_test(m, mesh_create_fails_alike_when_one_rank_names_a_dimension_differently);
    tcase_add_test(m, mesh_create_fails_alike_when_one_rank_gives_no_names);
    tcase_add_test(m, mesh_create_fails_alike_when_one_rank_passes_a_null_out);
    tcase_add_test(m, mesh_create_fails_alike_when_one_rank_uses_an_equals_sign_in_a_name);
    tcase_add_test(m, mesh_create_fails_alike_when_one_rank_gives_a_wrong_product);
    tcase_add_test(c, create_fails_alike_when_one_rank_disables_fsync);
    tcase_add_test(c, create_fails_alike_when_one_rank_disables_file_locking);
    tcase_add_test(c, create_fails_alike_when_one_rank_sets_an_alignment);
    tcase_add_test(c, create_fails_alike_when_one_rank_sets_another_staging_size);
    tcase_add_test(c, create_fails_alike_when_one_rank_gives_no_mesh);
    tcase_add_test(c, create_fails_alike_when_one_rank_gives_other_mesh_names);
    tcase_add_test(c, create_fails_alike_when_one_rank_passes_a_bad_options_version);
    tcase_add_test(c, create_fails_alike_when_one_rank_passes_a_null_out);
    tcase_add_test(c, create_fails_alike_when_one_rank_passes_a_null_path);
    tcase_add_test(c, create_with_null_options_agrees_with_default_options);
    tcase_add_test(c, create_refuses_a_basename_too_long_for_the_temporary_name);
    tcase_add_test(c, create_and_open_refuse_paths_mpi_io_cannot_open);
    tcase_add_test(o, open_fails_alike_when_one_rank_names_another_file);
    tcase_add_test(o, open_fails_alike_when_one_rank_disables_file_locking);
    tcase_add_test(o, null_zeroed_and_initialised_options_are_the_same_options);
    tcase_add_test(o, open_fails_alike_when_one_rank_passes_a_null_out);
    tcase_add_test(o, open_fails_alike_when_one_rank_passes_an_empty_path);
    tcase_add_test(q, commit_fails_alike_when_one_rank_names_an_attribute_differently);
    tcase_add_test(q, commit_fails_alike_when_one_rank_gives_an_attribute_another_type);
    tcase_add_test(q, commit_fails_alike_when_one_rank_makes_an_attribute_an_array);
    tcase_add_test(q, commit_fails_alike_when_one_rank_gives_another_string);
    tcase_add_test(q, commit_fails_alike_when_one_rank_lays_out_on_a_named_mesh);
    tcase_add_test(q, commit_fails_alike_when_one_rank_queues_an_invalid_name);
    tcase_add_test(q, commit_fails_alike_when_one_rank_queues_a_tensor_twice);
    tcase_add_test(q, commit_fails_alike_when_one_rank_passes_zero_strides);
    tcase_add_test(q, commit_fails_alike_when_one_rank_passes_a_null_layout);
    tcase_add_test(q, commit_fails_alike_when_one_rank_passes_an_invalid_dtype);
    tcase_add_test(q, commit_fails_alike_when_the_target_became_a_directory);
    tcase_add_test(q, flush_fails_alike_when_one_rank_reads_with_another_dtype);
    tcase_add_test(q, flush_fails_alike_when_one_rank_reads_with_another_shape);
    tcase_add_test(q, flush_fails_alike_when_one_rank_reads_into_a_null_buffer);
    tcase_add_test(q, flush_fails_alike_when_one_rank_queues_fewer_reads);
    suite_add_tcase(s, m);
    suite_add_tcase(s, c);
    suite_add_tcase(s, o);
    suite_add_tcase(s, q);
    return s;
}
