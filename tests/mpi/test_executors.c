/*
 * The fast executor against the plain one (the reference): the same state
 * written by each gives byte-identical tensor data in the file; each
 * executor reads the other's file with the same values on several layouts;
 * the fast reader falls back correctly for datasets stored without a
 * contiguous extent (chunked or compact, as other tools may write them).
 * The other MPI suites run under both executors through run-test.sh.
 */
#include "harness.h"

#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

#define NT 7

/* The tensors under test: Shard(0), Shard(1) and Shard(2) (strided runs),
 * replicated, an uneven flat range, a scalar, and an empty tensor. */
static void make_state(tensor *t)
{
    static const uint64_t s0[2] = {9, 7}, s1[2] = {6, 11}, s2[3] = {4, 6, 5};
    static const uint64_t s3[1] = {5}, s4[2] = {13, 3}, s6[2] = {0, 4};

    tensor_init(&t[0], H5CKPT_FLOAT32, 1, 2, s0, "a/shard0");
    tensor_init(&t[1], H5CKPT_BFLOAT16, 2, 2, s1, "a/shard1");
    tensor_init(&t[2], H5CKPT_INT16, 3, 3, s2, "b/shard2");
    tensor_init(&t[3], H5CKPT_INT64, 4, 1, s3, "b/replicated");
    tensor_init(&t[4], H5CKPT_UINT8, 5, 2, s4, "range");
    tensor_init(&t[5], H5CKPT_FLOAT64, 6, 0, NULL, "scalar");
    tensor_init(&t[6], H5CKPT_FLOAT32, 7, 2, s6, "empty");
}

/* Writer layouts (style 0) and two reader layouts: the whole tensor on
 * every rank (1), and a range split shifted against the writer's (2). */
static int set_layout(tensor *t, int i, int style, const h5ckpt_mesh *m)
{
    uint64_t n = 1, a, b;
    int d, p;

    h5ckpt_layout_free(t->l);
    t->l = NULL;
    for (d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    if (style == 1 || i == 5)
        return h5ckpt_layout_whole(&t->l, t->ndim, t->shape, NULL);
    if (style == 2 || i == 4) {
        a = (uint64_t)T_rank * n / (uint64_t)T_size + (style == 2 && T_rank ? 3 : 0);
        b = T_rank == T_size - 1 ? n : (uint64_t)(T_rank + 1) * n / (uint64_t)T_size + (style == 2 ? 3 : 0);
        a = a < n ? a : n;
        b = b < n ? b : n;
        return h5ckpt_layout_range(&t->l, t->ndim, t->shape, a, b, NULL);
    }
    p = i == 3 ? H5CKPT_REPLICATE : i == 1 ? H5CKPT_SHARD(1) : i == 2 ? H5CKPT_SHARD(2)
                                                                      : H5CKPT_SHARD(0);
    return h5ckpt_layout_sharded(&t->l, m, t->ndim, t->shape, &p, NULL);
}

static void write_with(const char *path, h5ckpt_executor ex, const h5ckpt_mesh *m)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    tensor t[NT];
    h5ckpt *ck = NULL;
    int i;

    o.executor = ex;
    o.mesh = m;
    make_state(t);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, set_layout(&t[i], i, 0, m));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
}

/* Collective: read every tensor of `path` with executor `ex` on every
 * reader layout and count mismatching elements. */
static uint64_t read_with(const char *path, h5ckpt_executor ex, const h5ckpt_mesh *m)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    uint64_t bad = 0;
    tensor t[NT];
    h5ckpt *ck = NULL;
    int i, style;

    o.executor = ex;
    make_state(t);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (style = 0; style < 3; style++) {
        for (i = 0; i < NT; i++) {
            T_PASS(NULL, set_layout(&t[i], i, style, m));
            T_PASS(ck, tensor_get(ck, &t[i]));
        }
        T_PASS(ck, tensors_flush_bad(ck, t, NT, &bad));
    }
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    return bad;
}

/* Rank 0, serial HDF5: the raw bytes of dataset `name` in both files are
 * identical.  Returns 0, or 1 with a message. */
static int same_dataset(hid_t fa, hid_t fb, const char *name, char *msg, size_t len)
{
    hid_t da = H5Dopen2(fa, name, H5P_DEFAULT), db = H5Dopen2(fb, name, H5P_DEFAULT);
    hid_t ta = da >= 0 ? H5Dget_type(da) : -1, tb = db >= 0 ? H5Dget_type(db) : -1;
    hid_t sa = da >= 0 ? H5Dget_space(da) : -1, sb = db >= 0 ? H5Dget_space(db) : -1;
    size_t na = 0, nb = 0;
    char *ba = NULL, *bb = NULL;
    int diff = 1;

    if (da < 0 || db < 0 || ta < 0 || tb < 0 || sa < 0 || sb < 0) {
        snprintf(msg, len, "%.100s: cannot open in both files", name);
        goto done;
    }
    na = (size_t)H5Sget_select_npoints(sa) * H5Tget_size(ta);
    nb = (size_t)H5Sget_select_npoints(sb) * H5Tget_size(tb);
    if (na != nb || H5Tequal(ta, tb) <= 0) {
        snprintf(msg, len, "%.100s: %zu vs %zu bytes or different types", name, na, nb);
        goto done;
    }
    ba = calloc(na + 1, 1);
    bb = calloc(nb + 1, 1);
    if (!ba || !bb || (na && (H5Dread(da, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, ba) < 0 ||
                              H5Dread(db, tb, H5S_ALL, H5S_ALL, H5P_DEFAULT, bb) < 0))) {
        snprintf(msg, len, "%.100s: cannot read", name);
        goto done;
    }
    diff = memcmp(ba, bb, na) != 0;
    if (diff)
        snprintf(msg, len, "%.100s: the raw bytes differ", name);
done:
    free(ba);
    free(bb);
    if (sa >= 0) H5Sclose(sa);
    if (sb >= 0) H5Sclose(sb);
    if (ta >= 0) H5Tclose(ta);
    if (tb >= 0) H5Tclose(tb);
    if (da >= 0) H5Dclose(da);
    if (db >= 0) H5Dclose(db);
    return diff;
}

START_TEST(fast_and_plain_executors_write_byte_identical_tensor_data)
{
    const char *pp = t_path("plain.h5"), *pf = t_path("fast.h5");
    h5ckpt_mesh *m = world_mesh();
    char msg[300] = "";
    tensor t[NT];
    int i, bad = 0;

    write_with(pp, H5CKPT_EXECUTOR_PLAIN, m);
    write_with(pf, H5CKPT_EXECUTOR_FAST, m);
    if (T_rank == 0) {
        hid_t fa = H5Fopen(pp, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t fb = H5Fopen(pf, H5F_ACC_RDONLY, H5P_DEFAULT);
        make_state(t);
        bad = fa < 0 || fb < 0;
        for (i = 0; !bad && i < NT; i++)
            bad = same_dataset(fa, fb, t[i].path, msg, sizeof msg);
        for (i = 0; i < NT; i++)
            tensor_release(&t[i]);
        if (fa >= 0) H5Fclose(fa);
        if (fb >= 0) H5Fclose(fb);
    }
    T_ALL(!bad, "%s", msg);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(each_executor_reads_the_others_file_on_several_layouts)
{
    const char *pp = t_path("x-plain.h5"), *pf = t_path("x-fast.h5");
    h5ckpt_mesh *m = world_mesh();

    write_with(pp, H5CKPT_EXECUTOR_PLAIN, m);
    write_with(pf, H5CKPT_EXECUTOR_FAST, m);
    T_CHECK(read_with(pp, H5CKPT_EXECUTOR_FAST, m));
    T_CHECK(read_with(pf, H5CKPT_EXECUTOR_PLAIN, m));
    T_CHECK(read_with(pf, H5CKPT_EXECUTOR_FAST, m));
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(fast_reader_falls_back_for_chunked_and_compact_datasets)
{
    const char *src = t_path("contig.h5"), *dst = t_path("repacked.h5");
    h5ckpt_mesh *m = world_mesh();
    char cmd[1200];
    int rc = 0;

    write_with(src, H5CKPT_EXECUTOR_PLAIN, m);
    if (T_rank == 0) {
        /* shard0 and shard2 chunked, the scalar compact: no file offset */
        snprintf(cmd, sizeof cmd,
                 "h5repack -l /a/shard0:CHUNK=3x7 -l /b/shard2:CHUNK=2x3x1 "
                 "-l /scalar:COMPA '%s' '%s' >/dev/null 2>&1", src, dst);
        rc = system(cmd);
    }
    T_ALL(rc == 0, "h5repack failed (%d): %s", rc, cmd);
    T_CHECK(read_with(dst, H5CKPT_EXECUTOR_FAST, m));
    h5ckpt_mesh_free(m);
}
END_TEST

/* Rank 0 of a fast writer closes and reopens its file every
 * H5CKPT__TRIM_EVERY (512) datasets to free HDF5's cached metadata
 * (lib/meta.c): 2,600 tensors cross five reopens, in groups made before and
 * after them, and every value and checksum still comes back. */
START_TEST(many_tensors_round_trip_across_rank0_metadata_reopens)
{
    enum { N = 2600 };
    static const uint64_t shape[2] = {5, 3};
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_layout *l = NULL, *w = NULL;
    int32_t *mine = NULL, whole[15];
    uint64_t off[2], cnt[2], bad = 0;
    size_t nproblems = 99;
    h5ckpt *ck = NULL;
    char name[64];
    int p = H5CKPT_SHARD(0), i, k;

    o.executor = H5CKPT_EXECUTOR_FAST;
    o.mesh = m;
    T_PASS(NULL, h5ckpt_layout_sharded(&l, m, 2, shape, &p, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&w, 2, shape, NULL));
    T_PASS(NULL, h5ckpt_layout_box_at(l, 0, off, cnt));
    mine = calloc((size_t)N * 15, sizeof *mine);
    T_ALL(mine != NULL, "out of memory");
    for (i = 0; i < N; i++)
        for (k = 0; k < (int)(cnt[0] * 3); k++)
            mine[(size_t)i * 15 + k] = i * 1000 + (int)(off[0] * 3) + k;
    T_PASS(NULL, h5ckpt_create(&ck, t_path("many.h5"), MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < N; i++) {
        snprintf(name, sizeof name, "g%d/t%d", i / 500, i);
        T_PASS(ck, h5ckpt_tensor_put(ck, name, H5CKPT_INT32, l, mine + (size_t)i * 15, NULL));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    o.verify_checksums = 1;
    T_PASS(NULL, h5ckpt_open(&ck, t_path("many.h5"), MPI_COMM_WORLD, &o, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == N, "%zu tensors", h5ckpt_tensor_count(ck));
    for (i = 0; i < N; i++) {
        snprintf(name, sizeof name, "g%d/t%d", i / 500, i);
        memset(whole, 0, sizeof whole);
        T_PASS(ck, h5ckpt_tensor_get(ck, name, H5CKPT_INT32, w, whole, NULL));
        T_PASS(ck, h5ckpt_flush(ck));
        for (k = 0; k < 15; k++)
            bad += whole[k] != i * 1000 + k;
    }
    T_ALL(bad == 0, "%llu wrong values", (unsigned long long)bad);
    T_PASS(NULL, h5ckpt_close(ck));
    T_PASS(NULL, h5ckpt_verify(t_path("many.h5"), MPI_COMM_WORLD, NULL, NULL, &nproblems, NULL));
    T_ALL(nproblems == 0, "verify found %zu problems", nproblems);
    free(mine);
    h5ckpt_layout_free(l);
    h5ckpt_layout_free(w);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(unknown_executor_values_are_rejected_on_every_rank)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0, ""};
    h5ckpt *ck = NULL;

    o.executor = (h5ckpt_executor)7;
    T_CODE(H5CKPT_EINVAL, h5ckpt_create(&ck, t_path("bad-exec.h5"), MPI_COMM_WORLD, &o, &err));
    T_ALL(ck == NULL, "create returned a handle");
    o.executor = T_rank == T_size - 1 ? H5CKPT_EXECUTOR_FAST : H5CKPT_EXECUTOR_PLAIN;
    T_CODE(T_size > 1 ? H5CKPT_EDISAGREE : 0,
           h5ckpt_create(&ck, t_path("dis-exec.h5"), MPI_COMM_WORLD, &o, &err));
    T_PASS(NULL, h5ckpt_close(ck));
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("executors");
    TCase *tc = tcase_create("fast vs plain");

    tcase_set_timeout(tc, 0);
    tcase_add_test(tc, fast_and_plain_executors_write_byte_identical_tensor_data);
    tcase_add_test(tc, each_executor_reads_the_others_file_on_several_layouts);
    tcase_add_test(tc, fast_reader_falls_back_for_chunked_and_compact_datasets);
    tcase_add_test(tc, unknown_executor_values_are_rejected_on_every_rank);
    tcase_add_test(tc, many_tensors_round_trip_across_rank0_metadata_reopens);
    suite_add_tcase(s, tc);
    return s;
}
