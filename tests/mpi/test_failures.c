/*
 * Error paths, rank disagreement and attributes.  Each error case is its own
 * test asserting the exact code on every rank and an identical message.
 */
#include "harness.h"

#include <dirent.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The message must be non-empty and the same on every rank. */
static void same_message(const char *msg)
{
    char root[512];

    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    T_ALL(msg[0] != '\0' && strcmp(root, msg) == 0, "message '%s' vs rank 0 '%s'", msg, root);
}

/* A committed checkpoint: "model/w" float32 (T_size+2, 3) row-sharded, and
 * "model/b" int16 (4,) replicated.  w[i] = i, b[i] = 10 + i. */
static void write_valid(const char *path, float base)
{
    uint64_t ws[2] = {(uint64_t)T_size + 2, 3}, bs[1] = {4}, off[2], cnt[2], i;
    int place[1] = {H5CKPT_SHARD(0)};
    h5ckpt_mesh *m;
    h5ckpt_layout *wl, *bl;
    h5ckpt *ck = NULL;
    float w[64];
    short b[4] = {10, 11, 12, 13};

    T_PASS(ck, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, NULL));
    h5ckpt_layout_sharded(&wl, m, 2, ws, place, NULL);
    h5ckpt_layout_whole(&bl, 1, bs, NULL);
    h5ckpt_layout_box_at(wl, 0, off, cnt);
    for (i = 0; i < cnt[0] * 3; i++)
        w[i] = base + (float)(off[0] * 3 + i);
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "model/w", H5CKPT_FLOAT32, wl, w, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "model/b", H5CKPT_INT16, bl, b, NULL));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(wl);
    h5ckpt_layout_free(bl);
    h5ckpt_mesh_free(m);
}

/* Rank 0 edits a committed file with serial HDF5. */
enum { DROP_COMMIT, READ_VERSION_99, DROP_DTYPE, WRONG_DTYPE, SOFT_LINK, DROP_CREATED, STRING_NRANKS };
static void tamper(const char *path, int how)
{
    if (T_rank == 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), a, d, s, t;
        int64_t v = 99;
        const char *f32 = "float32";
        switch (how) {
        case DROP_COMMIT: H5Adelete(f, "h5ckpt_committed"); break;
        case READ_VERSION_99:
            a = H5Aopen(f, "h5ckpt_read_version", H5P_DEFAULT);
            H5Awrite(a, H5T_NATIVE_INT64, &v);
            H5Aclose(a);
            break;
        case DROP_DTYPE: H5Adelete_by_name(f, "model/b", "h5ckpt_dtype", H5P_DEFAULT); break;
        case WRONG_DTYPE:
            d = H5Dopen2(f, "model/b", H5P_DEFAULT);
            H5Adelete(d, "h5ckpt_dtype");
            t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, H5T_VARIABLE);
            s = H5Screate(H5S_SCALAR);
            a = H5Acreate2(d, "h5ckpt_dtype", t, s, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, t, &f32);
            H5Aclose(a); H5Sclose(s); H5Tclose(t); H5Dclose(d);
            break;
        case SOFT_LINK: H5Lcreate_soft("/model/w", f, "alias", H5P_DEFAULT, H5P_DEFAULT); break;
        case DROP_CREATED: H5Adelete(f, "h5ckpt_created"); break;
        case STRING_NRANKS:
            H5Adelete(f, "h5ckpt_writer_nranks");
            t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, H5T_VARIABLE);
            s = H5Screate(H5S_SCALAR);
            a = H5Acreate2(f, "h5ckpt_writer_nranks", t, s, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, t, &f32);
            H5Aclose(a); H5Sclose(s); H5Tclose(t);
            break;
        }
        H5Fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void open_fails_with(const char *path, int code)
{
    h5ckpt_error err = {0};
    h5ckpt *ck = (h5ckpt *)1;

    T_CODE(code, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, &err));
    T_ALL(ck == NULL && err.code == code, "handle %p, err.code %d", (void *)ck, err.code);
    same_message(err.message);
}

START_TEST(open_missing_file_is_enoent) { open_fails_with(t_path("none.h5"), H5CKPT_ENOENT); }
END_TEST

START_TEST(open_directory_is_eisdir) { open_fails_with(t_dir(), H5CKPT_EISDIR); }
END_TEST

START_TEST(open_text_file_is_enotckpt)
{
    const char *p = t_path("text.h5");
    if (T_rank == 0) {
        FILE *f = fopen(p, "w");
        fputs("not hdf5\n", f);
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    open_fails_with(p, H5CKPT_ENOTCKPT);
}
END_TEST

START_TEST(open_foreign_hdf5_is_enotckpt)
{
    const char *p = t_path("foreign.h5");
    if (T_rank == 0)
        H5Fclose(H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    MPI_Barrier(MPI_COMM_WORLD);
    open_fails_with(p, H5CKPT_ENOTCKPT);
}
END_TEST

START_TEST(open_newer_read_version_is_eversion)
{
    const char *p = t_path("v99.h5");
    write_valid(p, 0);
    tamper(p, READ_VERSION_99);
    open_fails_with(p, H5CKPT_EVERSION);
}
END_TEST

START_TEST(open_uncommitted_is_enotcommitted)
{
    const char *p = t_path("uncommitted.h5");
    write_valid(p, 0);
    tamper(p, DROP_COMMIT);
    open_fails_with(p, H5CKPT_ENOTCOMMITTED);
}
END_TEST

START_TEST(open_dataset_without_dtype_is_ecorrupt)
{
    const char *p = t_path("nodtype.h5");
    write_valid(p, 0);
    tamper(p, DROP_DTYPE);
    open_fails_with(p, H5CKPT_ECORRUPT);
}
END_TEST

START_TEST(open_dtype_not_matching_type_is_ecorrupt)
{
    const char *p = t_path("wrongdtype.h5");
    write_valid(p, 0);
    tamper(p, WRONG_DTYPE);
    open_fails_with(p, H5CKPT_ECORRUPT);
}
END_TEST

START_TEST(open_without_required_root_attribute_is_ecorrupt)
{
    const char *p = t_path("nocreated.h5");
    write_valid(p, 0);
    tamper(p, DROP_CREATED);
    open_fails_with(p, H5CKPT_ECORRUPT);
}
END_TEST

START_TEST(open_mistyped_root_attribute_is_ecorrupt)
{
    const char *p = t_path("strnranks.h5");
    write_valid(p, 0);
    tamper(p, STRING_NRANKS);
    open_fails_with(p, H5CKPT_ECORRUPT);
}
END_TEST

START_TEST(open_soft_link_is_ecorrupt)
{
    const char *p = t_path("softlink.h5");
    write_valid(p, 0);
    tamper(p, SOFT_LINK);
    open_fails_with(p, H5CKPT_ECORRUPT);
}
END_TEST

static void create_fails_with(const char *path, int code)
{
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;

    T_CODE(code, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, &err));
    T_ALL(ck == NULL && err.code == code, "err.code %d", err.code);
    same_message(err.message);
}

START_TEST(create_on_directory_is_eisdir) { create_fails_with(t_dir(), H5CKPT_EISDIR); }
END_TEST

START_TEST(create_in_missing_directory_is_enoent)
{
    create_fails_with(t_path("no/such/dir/x.h5"), H5CKPT_ENOENT);
}
END_TEST

START_TEST(create_with_null_path_is_einval) { create_fails_with(NULL, H5CKPT_EINVAL); }
END_TEST

/* Open the valid file and queue one get; return its code; flush must agree. */
static void get_fails_with(const char *name, h5ckpt_dtype dt, int ndim, const uint64_t *shape, int code)
{
    const char *p = t_path("get.h5");
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    float buf[64];

    write_valid(p, 0);
    T_PASS(ck, h5ckpt_open(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    h5ckpt_layout_whole(&l, ndim, shape, NULL);
    T_CODE(code, h5ckpt_tensor_get(ck, name, dt, l, buf, NULL));
    T_CODE(code, h5ckpt_flush(ck));
    same_message(h5ckpt_errmsg(ck));
    T_ALL(strstr(h5ckpt_errmsg(ck), name) != NULL, "message does not name the tensor: %s",
          h5ckpt_errmsg(ck));
    h5ckpt_layout_free(l);
    T_PASS(ck, h5ckpt_close(ck));
}

START_TEST(get_missing_tensor_is_enotfound)
{
    uint64_t s[1] = {4};
    get_fails_with("model/nope", H5CKPT_INT16, 1, s, H5CKPT_ENOTFOUND);
}
END_TEST

START_TEST(get_with_wrong_dtype_is_edtype)
{
    uint64_t s[1] = {4};
    get_fails_with("model/b", H5CKPT_INT32, 1, s, H5CKPT_EDTYPE);
}
END_TEST

START_TEST(get_with_wrong_shape_is_eshape)
{
    uint64_t s[1] = {5};
    get_fails_with("model/b", H5CKPT_INT16, 1, s, H5CKPT_ESHAPE);
}
END_TEST

START_TEST(put_on_reader_and_get_on_writer_are_emode)
{
    const char *p = t_path("mode.h5");
    uint64_t s[1] = {4};
    h5ckpt_layout *l;
    h5ckpt *r = NULL, *w = NULL;
    short b[4] = {0};

    write_valid(p, 0);
    h5ckpt_layout_whole(&l, 1, s, NULL);
    T_PASS(r, h5ckpt_open(&r, p, MPI_COMM_WORLD, NULL, NULL));
    T_CODE(H5CKPT_EMODE, h5ckpt_tensor_put(r, "x", H5CKPT_INT16, l, b, NULL));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit(r));
    T_PASS(r, h5ckpt_close(r));
    T_PASS(w, h5ckpt_create(&w, t_path("mode2.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_CODE(H5CKPT_EMODE, h5ckpt_tensor_get(w, "model/b", H5CKPT_INT16, l, b, NULL));
    T_PASS(w, h5ckpt_close(w));
    h5ckpt_layout_free(l);
}
END_TEST

/* A writer with one bad put: the put's code, then the same code from commit
 * on every rank, and nothing appears at the path. */
static void put_fails_with(const char *name, const void *data, const h5ckpt_buffer *buf, int code)
{
    const char *p = t_path("badput.h5");
    uint64_t s[2] = {2, 3};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;

    unlink(p);
    MPI_Barrier(MPI_COMM_WORLD);
    h5ckpt_layout_whole(&l, 2, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_CODE(code, h5ckpt_tensor_put(ck, name, H5CKPT_FLOAT32, l, data, buf));
    T_CODE(code, h5ckpt_commit(ck));
    same_message(h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(access(p, F_OK) != 0, "a failed save created %s", p);
    h5ckpt_layout_free(l);
}

static float six[6];

START_TEST(put_with_invalid_names_is_ename)
{
    static const char *bad[] = {"", "/a", "a//b", "a/../b", "a\nb", "a/"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        put_fails_with(bad[i], six, NULL, H5CKPT_ENAME);
}
END_TEST

START_TEST(put_with_null_data_is_einval) { put_fails_with("w", NULL, NULL, H5CKPT_EINVAL); }
END_TEST

START_TEST(put_with_bad_strides_is_einval)
{
    int64_t st[2] = {3, 0};
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    b.strides = st;
    put_fails_with("w", six, &b, H5CKPT_EINVAL);
}
END_TEST

START_TEST(put_cuda_buffer_without_cuda_is_enotsup)
{
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    b.kind = H5CKPT_MEM_CUDA;
    put_fails_with("w", six, &b, H5CKPT_ENOTSUP);
}
END_TEST

START_TEST(put_same_path_twice_or_inside_a_tensor_is_eexist)
{
    uint64_t s[2] = {2, 3};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;

    h5ckpt_layout_whole(&l, 2, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, t_path("twice.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "a", H5CKPT_FLOAT32, l, six, NULL));
    T_CODE(H5CKPT_EEXIST, h5ckpt_tensor_put(ck, "a", H5CKPT_FLOAT32, l, six, NULL));
    T_CODE(H5CKPT_EEXIST, h5ckpt_tensor_put(ck, "a/b", H5CKPT_FLOAT32, l, six, NULL));
    T_CODE(H5CKPT_EEXIST, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(overlapping_or_incomplete_boxes_are_elayout)
{
    uint64_t s[1] = {(uint64_t)T_size + 1}, off[1] = {(uint64_t)T_rank}, cnt[1] = {2};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    float v[2] = {1, 2};

    /* rows [r, r+2): neighbours overlap (at one rank: only 2 of 2 rows, so use none) */
    if (T_size > 1)
        h5ckpt_layout_box(&l, 1, s, off, cnt, NULL);
    else
        h5ckpt_layout_none(&l, 1, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, t_path("overlap.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "x", H5CKPT_FLOAT32, l, v, NULL));
    T_CODE(H5CKPT_ELAYOUT, h5ckpt_flush(ck));
    same_message(h5ckpt_errmsg(ck));
    T_ALL(strstr(h5ckpt_errmsg(ck), "'x'") != NULL, "%s", h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    h5ckpt_layout_none(&l, 1, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, t_path("hole.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "x", H5CKPT_FLOAT32, l, NULL, NULL));
    T_CODE(H5CKPT_ELAYOUT, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}
END_TEST

static int count_tmp_files(void)
{
    DIR *d = opendir(t_dir());
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".h5ckpt-tmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

START_TEST(failed_save_leaves_previous_checkpoint_intact)
{
    const char *p = t_path("keep.h5");
    uint64_t s[1] = {3};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    float w[64];

    write_valid(p, 500);
    h5ckpt_layout_none(&l, 1, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "bad", H5CKPT_FLOAT32, l, NULL, NULL));
    T_CODE(H5CKPT_ELAYOUT, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    /* An abandoned writer (closed without commit) changes nothing either. */
    T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(count_tmp_files() == 0, "temporary files left behind");
    {
        uint64_t ws[2] = {(uint64_t)T_size + 2, 3}, i;
        T_PASS(ck, h5ckpt_open(&ck, p, MPI_COMM_WORLD, NULL, NULL));
        T_ALL(h5ckpt_tensor_count(ck) == 2, "%zu tensors", h5ckpt_tensor_count(ck));
        h5ckpt_layout_whole(&l, 2, ws, NULL);
        T_PASS(ck, h5ckpt_tensor_get(ck, "model/w", H5CKPT_FLOAT32, l, w, NULL));
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < ws[0] * 3; i++)
            T_ALL(w[i] == 500 + (float)i, "w[%lu] = %g", (unsigned long)i, w[i]);
        T_PASS(ck, h5ckpt_close(ck));
        h5ckpt_layout_free(l);
    }
}
END_TEST

START_TEST(closed_handles_leave_no_hdf5_ids_open)
{
    h5ckpt *ck = NULL;

    write_valid(t_path("ids.h5"), 0);
    T_PASS(ck, h5ckpt_open(&ck, t_path("ids.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) == 0, "%ld HDF5 ids open",
          (long)H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL));
}
END_TEST

/* ---- disagreement: the last rank differs ---------------------------------- */

static int last(void) { return T_rank == T_size - 1 && T_size > 1; }

enum { D_PATH, D_DTYPE, D_SHAPE, D_PLACEMENT, D_COUNT, D_ORDER, D_ATTR_VALUE, D_ATTR_OBJ };

static void disagree_on(int what)
{
    uint64_t s1[2] = {4, 6}, s2[2] = {4, last() && what == D_SHAPE ? 7 : 6};
    int pl[1] = {last() && what == D_PLACEMENT ? H5CKPT_SHARD(1) : H5CKPT_SHARD(0)};
    h5ckpt_mesh *m;
    h5ckpt_layout *a, *b;
    h5ckpt *ck = NULL;
    float buf[64] = {0};
    const char *n1 = "t/one", *n2 = last() && what == D_PATH ? "t/other" : "t/two";
    int rc;

    if (T_size == 1) {
        if (T_rank == 0)
            printf("skipped: nothing can disagree at one rank\n");
        return;
    }
    T_PASS(ck, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, NULL));
    h5ckpt_layout_sharded(&a, m, 2, s1, pl, NULL);
    h5ckpt_layout_sharded(&b, m, 2, s2, pl, NULL);
    T_PASS(ck, h5ckpt_create(&ck, t_path("disagree.h5"), MPI_COMM_WORLD, NULL, NULL));
    if (last() && what == D_ORDER) {
        h5ckpt_tensor_put(ck, n2, H5CKPT_FLOAT32, b, buf, NULL);
        h5ckpt_tensor_put(ck, n1, H5CKPT_FLOAT32, a, buf, NULL);
    } else {
        h5ckpt_tensor_put(ck, n1, H5CKPT_FLOAT32, a, buf, NULL);
        h5ckpt_tensor_put(ck, n2, last() && what == D_DTYPE ? H5CKPT_INT32 : H5CKPT_FLOAT32, b,
                          buf, NULL);
    }
    if (last() && what == D_COUNT)
        h5ckpt_tensor_put(ck, "t/three", H5CKPT_FLOAT32, a, buf, NULL);
    h5ckpt_attr_put_float64(ck, last() && what == D_ATTR_OBJ ? "x" : "optimizer", "lr",
                            last() && what == D_ATTR_VALUE ? 0.1 : 0.01);
    rc = h5ckpt_commit(ck);
    T_CODE(H5CKPT_EDISAGREE, rc);
    same_message(h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(access(t_path("disagree.h5"), F_OK) != 0, "a disagreeing save created the file");
    h5ckpt_layout_free(a);
    h5ckpt_layout_free(b);
    h5ckpt_mesh_free(m);
}

START_TEST(ranks_disagreeing_on_a_path_fail_alike) { disagree_on(D_PATH); }
END_TEST
START_TEST(ranks_disagreeing_on_a_dtype_fail_alike) { disagree_on(D_DTYPE); }
END_TEST
START_TEST(ranks_disagreeing_on_a_shape_fail_alike) { disagree_on(D_SHAPE); }
END_TEST
START_TEST(ranks_disagreeing_on_placements_fail_alike) { disagree_on(D_PLACEMENT); }
END_TEST
START_TEST(ranks_disagreeing_on_tensor_count_fail_alike) { disagree_on(D_COUNT); }
END_TEST
START_TEST(ranks_disagreeing_on_order_fail_alike) { disagree_on(D_ORDER); }
END_TEST
START_TEST(ranks_disagreeing_on_an_attribute_value_fail_alike) { disagree_on(D_ATTR_VALUE); }
END_TEST
START_TEST(ranks_disagreeing_on_an_attribute_object_fail_alike) { disagree_on(D_ATTR_OBJ); }
END_TEST

START_TEST(ranks_disagreeing_on_create_path_or_mesh_fail_alike)
{
    int shape2[2] = {1, T_size}, shape1[1] = {T_size};
    h5ckpt_error err = {0};
    h5ckpt_mesh *m = NULL;
    h5ckpt *ck = NULL;

    if (T_size == 1)
        return;
    T_CODE(H5CKPT_EDISAGREE, h5ckpt_create(&ck, last() ? t_path("b.h5") : t_path("a.h5"),
                                           MPI_COMM_WORLD, NULL, &err));
    same_message(err.message);
    T_CODE(H5CKPT_EDISAGREE, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, last() ? 2 : 1,
                                                last() ? shape2 : shape1, NULL, &err));
    same_message(err.message);
    T_ALL(m == NULL && ck == NULL, "handles returned on failure");
}
END_TEST

START_TEST(ranks_disagreeing_on_a_read_fail_alike)
{
    uint64_t s[1] = {4};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    short b[4];

    if (T_size == 1)
        return;
    write_valid(t_path("readdis.h5"), 0);
    T_PASS(ck, h5ckpt_open(&ck, t_path("readdis.h5"), MPI_COMM_WORLD, NULL, NULL));
    h5ckpt_layout_whole(&l, 1, s, NULL);
    h5ckpt_tensor_get(ck, "model/b", last() ? H5CKPT_INT16 : H5CKPT_INT16, l, b, NULL);
    if (last())
        h5ckpt_tensor_get(ck, "model/b2", H5CKPT_INT16, l, b, NULL); /* ENOTFOUND locally */
    T_CODE(H5CKPT_ENOTFOUND, h5ckpt_flush(ck));
    same_message(h5ckpt_errmsg(ck));
    /* the reader stays usable after a failed flush */
    T_PASS(ck, h5ckpt_tensor_get(ck, "model/b", H5CKPT_INT16, l, b, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_ALL(b[0] == 10 && b[3] == 13, "b = %d..%d", b[0], b[3]);
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}
END_TEST

START_TEST(one_rank_failing_locally_fails_every_rank)
{
    uint64_t s[2] = {2, 3};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;

    h5ckpt_layout_whole(&l, 2, s, NULL);
    T_PASS(ck, h5ckpt_create(&ck, t_path("local.h5"), MPI_COMM_WORLD, NULL, NULL));
    /* the last rank forgets its buffer */
    h5ckpt_tensor_put(ck, "w", H5CKPT_FLOAT32, l, T_rank == T_size - 1 ? NULL : six, NULL);
    T_CODE(H5CKPT_EINVAL, h5ckpt_commit(ck));
    same_message(h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}
END_TEST

/* ---- attributes ---------------------------------------------------------- */

START_TEST(attributes_of_every_type_round_trip)
{
    const char *p = t_path("attrs.h5"), *params[2] = {"model/w", "model/b"}, *s = NULL;
    const double betas[2] = {0.9, 0.999};
    const int64_t ids[3] = {1, 2, 3};
    const int flags[2] = {1, 0};
    uint64_t sh[1] = {2};
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    h5ckpt_attr_type ty;
    int64_t i64 = 0, a3[3], wv, rv;
    double d = 0, b2[2];
    const char *sa[2];
    size_t n;
    int bo = -1, f2[2], nd;
    float w[2] = {1, 2};

    h5ckpt_layout_whole(&l, 1, sh, NULL);
    T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "model/w", H5CKPT_FLOAT32, l, w, NULL));
    T_PASS(ck, h5ckpt_attr_put_float64(ck, "optimizer/param_groups/0", "lr", 0.001));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "betas", H5CKPT_ATTR_FLOAT64, 2, betas));
    T_PASS(ck, h5ckpt_attr_put_string(ck, "optimizer/param_groups/0", "name", "adam"));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "params", H5CKPT_ATTR_STRING, 2, params));
    T_PASS(ck, h5ckpt_attr_put_bool(ck, "optimizer/param_groups/0", "amsgrad", 0));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "flags", H5CKPT_ATTR_BOOL, 2, flags));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "ids", H5CKPT_ATTR_INT64, 3, ids));
    T_PASS(ck, h5ckpt_attr_put_int64(ck, "", "epoch", 3));
    T_PASS(ck, h5ckpt_attr_put_string(ck, "model/w", "note", "tied"));
    T_CODE(H5CKPT_ENAME, h5ckpt_attr_put_int64(ck, "", "h5ckpt_step", 1));
    T_CODE(H5CKPT_EEXIST, h5ckpt_attr_put_int64(ck, "", "epoch", 4));
    T_ALL(h5ckpt_group_exists(ck, "optimizer/param_groups"), "writer does not know the group");
    /* The failed puts above are remembered: commit fails, so start again. */
    T_CODE(H5CKPT_ENAME, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "model/w", H5CKPT_FLOAT32, l, w, NULL));
    T_PASS(ck, h5ckpt_attr_put_float64(ck, "optimizer/param_groups/0", "lr", 0.001));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "betas", H5CKPT_ATTR_FLOAT64, 2, betas));
    T_PASS(ck, h5ckpt_attr_put_string(ck, "optimizer/param_groups/0", "name", "adam"));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "params", H5CKPT_ATTR_STRING, 2, params));
    T_PASS(ck, h5ckpt_attr_put_bool(ck, "optimizer/param_groups/0", "amsgrad", 0));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "flags", H5CKPT_ATTR_BOOL, 2, flags));
    T_PASS(ck, h5ckpt_attr_put(ck, "optimizer/param_groups/0", "ids", H5CKPT_ATTR_INT64, 3, ids));
    T_PASS(ck, h5ckpt_attr_put_int64(ck, "", "epoch", 3));
    T_PASS(ck, h5ckpt_attr_put_string(ck, "model/w", "note", "tied"));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));

    T_PASS(ck, h5ckpt_open(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_attr_count(ck, "optimizer/param_groups/0") == 7, "%zu",
          h5ckpt_attr_count(ck, "optimizer/param_groups/0"));
    T_ALL(!strcmp(h5ckpt_attr_at(ck, "optimizer/param_groups/0", 0), "amsgrad") &&
              !strcmp(h5ckpt_attr_at(ck, "optimizer/param_groups/0", 6), "params"),
          "attributes are not sorted");
    T_PASS(ck, h5ckpt_attr_get_float64(ck, "optimizer/param_groups/0", "lr", &d));
    T_ALL(d == 0.001, "lr %g", d);
    T_PASS(ck, h5ckpt_attr_info(ck, "optimizer/param_groups/0", "betas", &ty, &n));
    T_ALL(ty == H5CKPT_ATTR_FLOAT64 && n == 2, "betas type %d count %zu", ty, n);
    T_PASS(ck, h5ckpt_attr_get(ck, "optimizer/param_groups/0", "betas", H5CKPT_ATTR_FLOAT64, 2, b2));
    T_ALL(b2[0] == 0.9 && b2[1] == 0.999, "betas %g %g", b2[0], b2[1]);
    T_PASS(ck, h5ckpt_attr_get_string(ck, "optimizer/param_groups/0", "name", &s));
    T_ALL(!strcmp(s, "adam"), "name %s", s);
    T_PASS(ck, h5ckpt_attr_get(ck, "optimizer/param_groups/0", "params", H5CKPT_ATTR_STRING, 2, sa));
    T_ALL(!strcmp(sa[0], "model/w") && !strcmp(sa[1], "model/b"), "params");
    T_PASS(ck, h5ckpt_attr_get_bool(ck, "optimizer/param_groups/0", "amsgrad", &bo));
    T_ALL(bo == 0, "amsgrad %d", bo);
    T_PASS(ck, h5ckpt_attr_get(ck, "optimizer/param_groups/0", "flags", H5CKPT_ATTR_BOOL, 2, f2));
    T_ALL(f2[0] == 1 && f2[1] == 0, "flags");
    T_PASS(ck, h5ckpt_attr_get(ck, "optimizer/param_groups/0", "ids", H5CKPT_ATTR_INT64, 3, a3));
    T_ALL(a3[0] == 1 && a3[2] == 3, "ids");
    T_PASS(ck, h5ckpt_attr_get_int64(ck, "", "epoch", &i64));
    T_ALL(i64 == 3, "epoch %lld", (long long)i64);
    T_PASS(ck, h5ckpt_attr_get_string(ck, "model/w", "note", &s));
    T_ALL(!strcmp(s, "tied"), "note");
    T_ALL(h5ckpt_attr_count(ck, "") == 1, "root lists %zu user attributes (reserved ones hidden)",
          h5ckpt_attr_count(ck, ""));
    T_CODE(H5CKPT_EDTYPE, h5ckpt_attr_get_int64(ck, "optimizer/param_groups/0", "lr", &i64));
    T_CODE(H5CKPT_EINVAL, h5ckpt_attr_get(ck, "optimizer/param_groups/0", "ids", H5CKPT_ATTR_INT64, 2, a3));
    T_CODE(H5CKPT_ENOTFOUND, h5ckpt_attr_get_int64(ck, "", "nope", &i64));
    T_PASS(ck, h5ckpt_format_versions(ck, &wv, &rv));
    T_ALL(wv == 2 && rv == 1, "versions %lld %lld", (long long)wv, (long long)rv);
    {
        int64_t ms[H5CKPT_MAX_NDIM];
        T_PASS(ck, h5ckpt_writer_mesh(ck, &nd, ms));
        T_ALL(nd == 1 && ms[0] == T_size, "writer mesh %d (%lld)", nd, (long long)ms[0]);
    }
    T_ALL(h5ckpt_group_exists(ck, "optimizer/param_groups/0") && !h5ckpt_group_exists(ck, "nope"),
          "group_exists");
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("failures");
    TCase *e = tcase_create("errors"), *d = tcase_create("disagreement"), *a = tcase_create("attributes");

    tcase_add_test(e, open_missing_file_is_enoent);
    tcase_add_test(e, open_directory_is_eisdir);
    tcase_add_test(e, open_text_file_is_enotckpt);
    tcase_add_test(e, open_foreign_hdf5_is_enotckpt);
    tcase_add_test(e, open_newer_read_version_is_eversion);
    tcase_add_test(e, open_uncommitted_is_enotcommitted);
    tcase_add_test(e, open_dataset_without_dtype_is_ecorrupt);
    tcase_add_test(e, open_dtype_not_matching_type_is_ecorrupt);
    tcase_add_test(e, open_without_required_root_attribute_is_ecorrupt);
    tcase_add_test(e, open_mistyped_root_attribute_is_ecorrupt);
    tcase_add_test(e, open_soft_link_is_ecorrupt);
    tcase_add_test(e, create_on_directory_is_eisdir);
    tcase_add_test(e, create_in_missing_directory_is_enoent);
    tcase_add_test(e, create_with_null_path_is_einval);
    tcase_add_test(e, get_missing_tensor_is_enotfound);
    tcase_add_test(e, get_with_wrong_dtype_is_edtype);
    tcase_add_test(e, get_with_wrong_shape_is_eshape);
    tcase_add_test(e, put_on_reader_and_get_on_writer_are_emode);
    tcase_add_test(e, put_with_invalid_names_is_ename);
    tcase_add_test(e, put_with_null_data_is_einval);
    tcase_add_test(e, put_with_bad_strides_is_einval);
    tcase_add_test(e, put_cuda_buffer_without_cuda_is_enotsup);
    tcase_add_test(e, put_same_path_twice_or_inside_a_tensor_is_eexist);
    tcase_add_test(e, overlapping_or_incomplete_boxes_are_elayout);
    tcase_add_test(e, failed_save_leaves_previous_checkpoint_intact);
    tcase_add_test(e, closed_handles_leave_no_hdf5_ids_open);
    tcase_add_test(d, ranks_disagreeing_on_a_path_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_a_dtype_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_a_shape_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_placements_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_tensor_count_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_order_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_an_attribute_value_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_an_attribute_object_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_create_path_or_mesh_fail_alike);
    tcase_add_test(d, ranks_disagreeing_on_a_read_fail_alike);
    tcase_add_test(d, one_rank_failing_locally_fails_every_rank);
    tcase_add_test(a, attributes_of_every_type_round_trip);
    suite_add_tcase(s, e);
    suite_add_tcase(s, d);
    suite_add_tcase(s, a);
    return s;
}
