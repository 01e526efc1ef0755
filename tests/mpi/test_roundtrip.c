/*
 * Round trips through one collective checkpoint file: every dtype, meshes of
 * different sizes for writer and reader, uneven and empty shards, scalars,
 * strided buffers, flat ranges, many flushes, replicated data.
 *
 * Every element's value is a function of (tensor id, global flat index)
 * (elem_bits), so a reader checks each element it receives against that
 * function through its layout's boxes, whatever the decomposition.
 * Everything works at 1, 2, 3 and 4 ranks.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

/* ---- meshes, communicators, ranges -------------------------------------- */

/* The first n ranks of MPI_COMM_WORLD (MPI_COMM_NULL on the others).
 * Collective over MPI_COMM_WORLD. */
static MPI_Comm first_ranks(int n)
{
    MPI_Comm c;

    MPI_Comm_split(MPI_COMM_WORLD, T_rank < n ? 0 : MPI_UNDEFINED, T_rank, &c);
    return c;
}

/* torch.chunk, computed independently of the library. */
static void chunk(uint64_t n, uint64_t k, uint64_t i, uint64_t *off,
                  uint64_t *cnt)
{
    uint64_t c = (n + k - 1) / k;

    *off = i * c < n ? i * c : n;
    *cnt = n - *off < c ? n - *off : c;
}

/* Split points of n elements over T_size ranks: even (k*n/T) or shifted
 * (k*n/T + 5, clamped), so that two splits differ at every rank count > 1. */
static uint64_t split_point(uint64_t n, int k, int shifted)
{
    uint64_t b = (uint64_t)k * n / (uint64_t)T_size;

    if (k == 0 || k == T_size || !shifted)
        return k == T_size ? n : b;
    return b + 5 < n ? b + 5 : n;
}

static int range_layout(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                        int shifted)
{
    uint64_t n = 1;
    int d;

    for (d = 0; d < ndim; d++)
        n *= shape[d];
    return h5ckpt_layout_range(out, ndim, shape,
                               split_point(n, T_rank, shifted),
                               split_point(n, T_rank + 1, shifted), NULL);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(every_dtype_round_trips_sharded_on_dim0)
{
    const uint64_t shape[2] = {7, 5};
    const int s0 = H5CKPT_SHARD(0);
    const char *path = t_path("dtypes.h5");
    tensor t[H5CKPT_DTYPE_COUNT];
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    uint64_t bad = 0;
    int i, pass;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
        tensor_init(&t[i], (h5ckpt_dtype)i, (uint64_t)i + 1, 2, shape,
                    "dtypes/%s", h5ckpt_dtype_name((h5ckpt_dtype)i));
        T_ALL(h5ckpt_dtype_size((h5ckpt_dtype)i) == elsize[i],
              "dtype_size(%s) = %zu", t[i].path,
              h5ckpt_dtype_size((h5ckpt_dtype)i));
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == H5CKPT_DTYPE_COUNT, "%zu tensors listed",
          h5ckpt_tensor_count(ck));
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
        h5ckpt_dtype dt = H5CKPT_DTYPE_COUNT;
        uint64_t got[H5CKPT_MAX_NDIM] = {0};
        int nd = -1;

        T_PASS(ck, h5ckpt_tensor_info(ck, t[i].path, &dt, &nd, got));
        T_ALL(dt == t[i].dt && nd == 2 && got[0] == 7 && got[1] == 5,
              "%s: info says dtype %d ndim %d shape (%llu, %llu)", t[i].path,
              (int)dt, nd, (unsigned long long)got[0],
              (unsigned long long)got[1]);
    }
    /* pass 0: the writer's Shard(0); pass 1: the whole tensor on every rank */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
            if (pass == 0)
                T_PASS(NULL,
                       h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0, NULL));
            else
                T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, shape, NULL));
            T_PASS(ck, tensor_get(ck, &t[i]));
        }
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
            bad += tensor_bad(&t[i]);
            tensor_release(&t[i]);
        }
        T_CHECK(bad);
    }
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* ---- writer and reader on different meshes ---- */

typedef struct {
    int ndim, shape[2];
} meshdef;

/* Failures on a sub-communicator, reported after everyone meets again. */
typedef struct {
    int fails;
    char msg[400];
} acc;

static void acc_fail(acc *a, const char *fmt, ...)
{
    va_list ap;

    if (a->fails++)
        return;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
}

/* Record a failing call (`msg`: the library's message); returns nonzero if
 * `rc` is an error. */
static int acc_rc(acc *a, int rc, const char *what, const char *msg)
{
    if (rc != 0)
        acc_fail(a, "%s -> %s: %s", what, h5ckpt_errname(rc), msg);
    return rc != 0;
}

#define R_ H5CKPT_REPLICATE
/* Placements per mesh rank (1-D, 2-D); the last one needs a 3-D tensor. */
static const int variants[2][5][2] = {
    {{0, 0}, {1, 0}, {R_, 0}, {2, 0}},
    {{0, 1}, {0, 0}, {R_, 1}, {1, R_}, {2, 0}},
};
static const int nvariants[2] = {4, 5};
static const uint64_t mshapes[5][3] = {
    {7, 5}, {8, 6}, {9, 1}, {1, 9}, {5, 4, 3}};
static const int mndims[5] = {2, 2, 2, 2, 3};

static int variant_fits(int mesh_ndim, int v, int ndim)
{
    int i;

    for (i = 0; i < mesh_ndim; i++)
        if (variants[mesh_ndim - 1][v][i] >= ndim)
            return 0;
    return 1;
}

/*
 * The mesh of `want` on this run's ranks.  The matrix is written for 4 ranks;
 * with fewer, a 1-D mesh (n) becomes (min(n, T_size)) and a 2-D mesh (a, b)
 * that does not fit becomes (1, T_size), the largest 2-D mesh that fits.
 */
static meshdef fit_mesh(meshdef want)
{
    meshdef m = want;

    if (want.ndim == 1 && want.shape[0] > T_size)
        m.shape[0] = T_size;
    if (want.ndim == 2 && want.shape[0] * want.shape[1] > T_size) {
        m.shape[0] = 1;
        m.shape[1] = T_size;
    }
    return m;
}

/* "(4)" or "(2, 2)", in a static rotating buffer. */
static const char *mesh_text(meshdef m)
{
    static char buf[2][32];
    static int next;
    char *p = buf[next++ % 2];

    if (m.ndim == 1)
        snprintf(p, sizeof buf[0], "(%d)", m.shape[0]);
    else
        snprintf(p, sizeof buf[0], "(%d, %d)", m.shape[0], m.shape[1]);
    return p;
}

static int mesh_nranks(meshdef m)
{
    return m.ndim == 1 ? m.shape[0] : m.shape[0] * m.shape[1];
}

/* Tensor k of a case written on a mesh of `mesh_ndim` dims: shape k / 5,
 * writer placement k % 5.  Returns 0 when that placement does not fit. */
static int matrix_tensor(int k, int mesh_ndim, tensor *t)
{
    int s = k / 5, v = k % 5;

    if (v >= nvariants[mesh_ndim - 1] || !variant_fits(mesh_ndim, v, mndims[s]))
        return 0;
    tensor_init(t, (h5ckpt_dtype)(k % 2 ? H5CKPT_INT32 : H5CKPT_FLOAT32),
                (uint64_t)k + 100, mndims[s], mshapes[s], "shape%d/written%d",
                s, v);
    return 1;
}

static void matrix_write(MPI_Comm comm, meshdef md, const char *path, acc *a)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0, ""};
    h5ckpt_mesh *mesh = NULL;
    h5ckpt *ck = NULL;
    tensor t[25];
    int k, used[25] = {0};

    if (acc_rc(a,
               h5ckpt_mesh_create(&mesh, comm, md.ndim, md.shape, NULL, &err),
               "writer mesh_create", err.message))
        return;
    o.mesh = mesh;
    if (acc_rc(a, h5ckpt_create(&ck, path, comm, &o, &err), "create",
               err.message))
        goto out;
    for (k = 0; k < 25; k++) {
        if (!(used[k] = matrix_tensor(k, md.ndim, &t[k])))
            continue;
        if (acc_rc(a, h5ckpt_layout_sharded(&t[k].l, mesh, t[k].ndim,
                                            t[k].shape,
                                            variants[md.ndim - 1][k % 5], NULL),
                   t[k].path, "writer layout"))
            continue;
        acc_rc(a, tensor_put(ck, &t[k]), t[k].path, h5ckpt_errmsg(ck));
    }
    acc_rc(a, h5ckpt_commit(ck), "commit", h5ckpt_errmsg(ck));
    for (k = 0; k < 25; k++)
        if (used[k])
            tensor_release(&t[k]);
out:
    acc_rc(a, h5ckpt_close(ck), "close", "");
    h5ckpt_mesh_free(mesh);
}

static void matrix_read(MPI_Comm comm, meshdef md, meshdef wmd,
                        const char *path, acc *a)
{
    h5ckpt_error err = {0, ""};
    h5ckpt_mesh *mesh = NULL;
    h5ckpt *ck = NULL;
    tensor t[25];
    int k, rv, used[25] = {0};
    int64_t wshape[H5CKPT_MAX_NDIM] = {0};
    int wndim = -1;
    uint64_t bad = 0;

    if (acc_rc(a,
               h5ckpt_mesh_create(&mesh, comm, md.ndim, md.shape, NULL, &err),
               "reader mesh_create", err.message))
        return;
    if (acc_rc(a, h5ckpt_open(&ck, path, comm, NULL, &err), "open",
               err.message))
        goto out;
    if (!acc_rc(a, h5ckpt_writer_mesh(ck, &wndim, wshape), "writer_mesh",
                h5ckpt_errmsg(ck)) &&
        (wndim != wmd.ndim || wshape[0] != wmd.shape[0] ||
         (wndim == 2 && wshape[1] != wmd.shape[1])))
        acc_fail(a, "writer mesh recorded as ndim %d (%lld, %lld)", wndim,
                 (long long)wshape[0], (long long)wshape[1]);
    /* every placement of the reader's mesh, then the whole tensor */
    for (rv = 0; rv <= nvariants[md.ndim - 1]; rv++) {
        for (k = 0; k < 25; k++) {
            if (!(used[k] = matrix_tensor(k, wmd.ndim, &t[k])))
                continue;
            if (rv < nvariants[md.ndim - 1] &&
                !variant_fits(md.ndim, rv, t[k].ndim)) {
                used[k] = 0;
                continue;
            }
            if (rv < nvariants[md.ndim - 1])
                acc_rc(a, h5ckpt_layout_sharded(&t[k].l, mesh, t[k].ndim,
                                                t[k].shape,
                                                variants[md.ndim - 1][rv], NULL),
                       t[k].path, "reader layout");
            else
                acc_rc(a, h5ckpt_layout_whole(&t[k].l, t[k].ndim, t[k].shape, NULL),
                       t[k].path, "reader layout");
            if (t[k].l)
                acc_rc(a, tensor_get(ck, &t[k]), t[k].path,
                       h5ckpt_errmsg(ck));
        }
        if (acc_rc(a, h5ckpt_flush(ck), "flush", h5ckpt_errmsg(ck)))
            break;
        for (k = 0; k < 25; k++) {
            if (!used[k])
                continue;
            if (t[k].l)
                bad += tensor_bad(&t[k]);
            tensor_release(&t[k]);
        }
        if (bad) {
            acc_fail(a, "reader placement %d: %llu mismatching elements; "
                        "first: %s",
                     rv, (unsigned long long)bad, bad_msg);
            bad_msg[0] = 0;
            break;
        }
    }
    for (k = 0; k < 25; k++)
        if (used[k])
            tensor_release(&t[k]);
out:
    acc_rc(a, h5ckpt_close(ck), "close", "");
    h5ckpt_mesh_free(mesh);
}

static void matrix_case(meshdef want_w, meshdef want_r, const char *file)
{
    meshdef w = fit_mesh(want_w), r = fit_mesh(want_r);
    MPI_Comm cw = first_ranks(mesh_nranks(w)), cr = first_ranks(mesh_nranks(r));
    const char *path = t_path(file);
    acc a = {0, ""};

    if (cw != MPI_COMM_NULL)
        matrix_write(cw, w, path, &a);
    MPI_Barrier(MPI_COMM_WORLD);
    if (cr != MPI_COMM_NULL)
        matrix_read(cr, r, w, path, &a);
    if (cw != MPI_COMM_NULL)
        MPI_Comm_free(&cw);
    if (cr != MPI_COMM_NULL)
        MPI_Comm_free(&cr);
    T_ALL(a.fails == 0, "%s: writer mesh %s, reader mesh %s: %s", file,
          mesh_text(w), mesh_text(r), a.msg);
}

START_TEST(saves_on_one_mesh_and_loads_on_another)
{
    matrix_case((meshdef){1, {1, 0}}, (meshdef){1, {4, 0}}, "m1to4.h5");
    matrix_case((meshdef){1, {4, 0}}, (meshdef){1, {1, 0}}, "m4to1.h5");
    matrix_case((meshdef){2, {2, 2}}, (meshdef){1, {3, 0}}, "m22to3.h5");
    matrix_case((meshdef){1, {4, 0}}, (meshdef){2, {2, 2}}, "m4to22.h5");
}
END_TEST

START_TEST(uneven_shapes_on_three_and_four_ranks)
{
    static const struct {
        h5ckpt_dtype dt;
        uint64_t shape[2];
        int dim;
    } cases[] = {
        {H5CKPT_FLOAT32, {7, 5}, 0}, {H5CKPT_INT16, {7, 5}, 1},
        {H5CKPT_FLOAT64, {2, 3}, 0}, {H5CKPT_UINT8, {2, 3}, 1},
        {H5CKPT_INT32, {1, 4}, 0},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    const char *path = t_path("uneven.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[N];
    uint64_t bad = 0;
    int i, pass, empty = 0;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < N; i++) {
        uint64_t off, cnt, want;

        tensor_init(&t[i], cases[i].dt, (uint64_t)i + 7, 2, cases[i].shape,
                    "uneven/t%d", i);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, t[i].shape,
                                           &cases[i].dim, NULL));
        chunk(t[i].shape[cases[i].dim], (uint64_t)T_size, (uint64_t)T_rank,
              &off, &cnt);
        want = cnt * t[i].shape[1 - cases[i].dim];
        T_ALL(h5ckpt_layout_local_count(t[i].l) == want,
              "%s on %d ranks: local count %llu, torch.chunk gives %llu",
              t[i].path, T_size,
              (unsigned long long)h5ckpt_layout_local_count(t[i].l),
              (unsigned long long)want);
        empty += want == 0;
        T_PASS(ck, tensor_put(ck, &t[i])); /* data NULL for an empty part */
        T_ALL(want > 0 || t[i].buf == NULL, "empty part with a buffer");
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < N; i++)
        tensor_release(&t[i]);
    /* the (1, 4) tensor leaves ranks >= 1 empty */
    T_ALL(T_rank == 0 || empty > 0, "rank %d has no empty shard", T_rank);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < N; i++) {
            if (pass == 0)
                T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2,
                                                   t[i].shape, &cases[i].dim, NULL));
            else
                T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, t[i].shape, NULL));
            T_PASS(ck, tensor_get(ck, &t[i]));
        }
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < N; i++) {
            bad += tensor_bad(&t[i]);
            tensor_release(&t[i]);
        }
        T_CHECK(bad);
    }
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

START_TEST(scalar_tensors_round_trip)
{
    const char *path = t_path("scalars.h5");
    const int rep = H5CKPT_REPLICATE;
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t bad = 0;
    int i, pass;

    tensor_init(&t[0], H5CKPT_FLOAT64, 11, 0, NULL, "scalars/f64");
    tensor_init(&t[1], H5CKPT_INT64, 12, 0, NULL, "scalars/i64");
    tensor_init(&t[2], H5CKPT_FLOAT32, 13, 0, NULL, "scalars/replicated");
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++) {
        if (i < 2)
            T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 0, NULL, NULL));
        else
            T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 0, NULL, &rep, NULL));
        T_ALL(h5ckpt_layout_local_count(t[i].l) == 1, "%s: local count %llu",
              t[i].path, (unsigned long long)h5ckpt_layout_local_count(t[i].l));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++) {
        h5ckpt_dtype dt = H5CKPT_DTYPE_COUNT;
        int nd = -1;

        T_PASS(ck, h5ckpt_tensor_info(ck, t[i].path, &dt, &nd, NULL));
        T_ALL(dt == t[i].dt && nd == 0, "%s: dtype %d ndim %d", t[i].path,
              (int)dt, nd);
    }
    /* pass 0: every rank reads; pass 1: rank 0 only */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < 3; i++) {
            if (pass == 0 || T_rank == 0)
                T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 0, NULL, NULL));
            else
                T_PASS(NULL, h5ckpt_layout_none(&t[i].l, 0, NULL, NULL));
            T_PASS(ck, tensor_get(ck, &t[i]));
        }
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < 3; i++) {
            bad += tensor_bad(&t[i]);
            T_ALL(pass == 0 || T_rank == 0 || t[i].buf == NULL,
                  "rank with layout none got a buffer");
            tensor_release(&t[i]);
        }
        T_CHECK(bad);
    }
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

START_TEST(empty_tensors_round_trip)
{
    const uint64_t s1[1] = {0}, s3[3] = {3, 0, 2};
    const int s0 = H5CKPT_SHARD(0), sh1 = H5CKPT_SHARD(1);
    const char *path = t_path("empty.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t sum = 0, mine;
    int i;

    tensor_init(&t[0], H5CKPT_FLOAT32, 21, 1, s1, "empty/vector");
    tensor_init(&t[1], H5CKPT_INT16, 22, 3, s3, "empty/box");
    tensor_init(&t[2], H5CKPT_BFLOAT16, 23, 1, s1, "empty/sharded");
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&t[0].l, 1, s1, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 3, s3, &s0, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[2].l, mesh, 1, s1, &s0, NULL));
    for (i = 0; i < 3; i++) {
        T_ALL(h5ckpt_layout_local_count(t[i].l) == 0, "%s: local count %llu",
              t[i].path, (unsigned long long)h5ckpt_layout_local_count(t[i].l));
        T_PASS(ck, tensor_put(ck, &t[i])); /* data is NULL */
    }
    T_PASS(ck, h5ckpt_commit(ck));
    mine = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    T_ALL(mine == 0, "wrote %llu bytes of empty tensors",
          (unsigned long long)mine);
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == 3, "%zu tensors listed",
          h5ckpt_tensor_count(ck));
    for (i = 0; i < 3; i++) {
        h5ckpt_dtype dt = H5CKPT_DTYPE_COUNT;
        uint64_t got[H5CKPT_MAX_NDIM];
        int nd = -1, d, same;

        memset(got, 0xff, sizeof got);
        T_PASS(ck, h5ckpt_tensor_info(ck, t[i].path, &dt, &nd, got));
        same = dt == t[i].dt && nd == t[i].ndim;
        for (d = 0; same && d < nd; d++)
            same = got[d] == t[i].shape[d];
        T_ALL(same, "%s: info says dtype %d ndim %d shape[0] %llu", t[i].path,
              (int)dt, nd, (unsigned long long)got[0]);
    }
    T_PASS(NULL, h5ckpt_layout_whole(&t[0].l, 1, s1, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 3, s3, &sh1, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&t[2].l, 1, s1, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_get(ck, &t[i]));
    T_PASS(ck, h5ckpt_flush(ck));
    mine = h5ckpt_bytes_read(ck);
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(sum == 0, "read %llu bytes of empty tensors",
          (unsigned long long)sum);
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* ---- strided buffers (helpers in values.c) ---- */

START_TEST(strided_buffers_round_trip)
{
    const uint64_t wshape[4] = {2, 3, 4, 5}, pshape[2] = {7, 4};
    const int64_t cl_full[4] = {60, 1, 15, 3}, rows6[2] = {6, 1};
    const int s0 = H5CKPT_SHARD(0), s1 = H5CKPT_SHARD(1), s2 = H5CKPT_SHARD(2);
    const char *path = t_path("strided.h5");
    h5ckpt_buffer b[3] = {H5CKPT_BUFFER_INIT, H5CKPT_BUFFER_INIT,
                          H5CKPT_BUFFER_INIT};
    int64_t st[3][4];
    uint64_t off[3][4], cnt[3][4], bad = 0;
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[3];
    int i;

    /* conv weight sharded on O: the local part keeps the full tensor's
     * channels_last strides (60, 1, 15, 3); conv weight sharded on H; padded
     * rows (r, 4) with row stride 6. */
    tensor_init(&t[0], H5CKPT_FLOAT32, 31, 4, wshape, "conv/weight");
    tensor_init(&t[1], H5CKPT_FLOAT32, 32, 4, wshape, "conv/weight_h");
    tensor_init(&t[2], H5CKPT_INT32, 33, 2, pshape, "padded");
    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 4, wshape, &s0, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 4, wshape, &s2, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[2].l, mesh, 2, pshape, &s0, NULL));
    for (i = 0; i < 3; i++)
        local_box(t[i].l, t[i].ndim, off[i], cnt[i]);
    memcpy(st[0], cl_full, sizeof cl_full);
    channels_last(cnt[1], st[1]);
    memcpy(st[2], rows6, sizeof rows6);

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    strided_alloc(&t[0], span_of(4, cnt[0], st[0]));
    strided_alloc(&t[1], span_of(4, cnt[1], st[1]));
    strided_alloc(&t[2], cnt[2][0] * 6); /* padding of the last row too */
    for (i = 0; i < 3; i++) {
        b[i].strides = st[i];
        strided_io(&t[i], off[i], cnt[i], st[i], 1);
        T_PASS(ck, h5ckpt_tensor_put(ck, t[i].path, t[i].dt, t[i].l, t[i].buf,
                                     &b[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    /* into contiguous buffers, on other decompositions */
    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 4, wshape, &s0, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&t[1].l, 4, wshape, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[2].l, mesh, 2, pshape, &s1, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_get(ck, &t[i]));
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 3; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);

    /* into strided buffers: the whole conv weight channels_last on every
     * rank, the H shards channels_last, the padded rows */
    T_PASS(NULL, h5ckpt_layout_whole(&t[0].l, 4, wshape, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 4, wshape, &s2, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[2].l, mesh, 2, pshape, &s0, NULL));
    for (i = 0; i < 3; i++)
        local_box(t[i].l, t[i].ndim, off[i], cnt[i]);
    memcpy(st[0], cl_full, sizeof cl_full);
    channels_last(cnt[1], st[1]);
    strided_alloc(&t[0], span_of(4, cnt[0], st[0]));
    strided_alloc(&t[1], span_of(4, cnt[1], st[1]));
    strided_alloc(&t[2], cnt[2][0] * 6);
    for (i = 0; i < 3; i++)
        T_PASS(ck, h5ckpt_tensor_get(ck, t[i].path, t[i].dt, t[i].l, t[i].buf,
                                     &b[i]));
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 3; i++)
        bad += strided_io(&t[i], off[i], cnt[i], st[i], 0);
    bad += pad_bad(&t[2], cnt[2][0]);
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

START_TEST(flat_ranges_written_and_read_as_boxes)
{
    const uint64_t s67[2] = {6, 7}, s345[3] = {3, 4, 5};
    const int s0 = H5CKPT_SHARD(0), s1 = H5CKPT_SHARD(1);
    const char *path = t_path("ranges.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t bad = 0;
    int i, pass;

    tensor_init(&t[0], H5CKPT_FLOAT32, 41, 2, s67, "flat/even");
    tensor_init(&t[1], H5CKPT_INT16, 42, 3, s345, "flat/shifted3d");
    tensor_init(&t[2], H5CKPT_INT64, 43, 2, s67, "flat/sharded");
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(NULL, range_layout(&t[0].l, 2, s67, 0));
    T_PASS(NULL, range_layout(&t[1].l, 3, s345, 1));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[2].l, mesh, 2, s67, &s0, NULL));
    for (i = 0; i < 2; i++) {
        int nd = -1;
        uint64_t ls[H5CKPT_MAX_NDIM] = {0};
        uint64_t want = split_point(i ? 60 : 42, T_rank + 1, i) -
                        split_point(i ? 60 : 42, T_rank, i);

        T_PASS(NULL, h5ckpt_layout_local_shape(t[i].l, &nd, ls));
        T_ALL(nd == 1 && ls[0] == want &&
                  h5ckpt_layout_box_count(t[i].l) <= 2 * (size_t)t[i].ndim - 1,
              "%s: local shape ndim %d (%llu), want (%llu); %zu boxes",
              t[i].path, nd, (unsigned long long)ls[0],
              (unsigned long long)want, h5ckpt_layout_box_count(t[i].l));
    }
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (pass = 0; pass < 2; pass++) {
        if (pass == 0) { /* ranges as boxes, boxes as another range split */
            T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 2, s67, &s1, NULL));
            T_PASS(NULL, h5ckpt_layout_whole(&t[1].l, 3, s345, NULL));
            T_PASS(NULL, range_layout(&t[2].l, 2, s67, 1));
        } else {
            T_PASS(NULL, h5ckpt_layout_whole(&t[0].l, 2, s67, NULL));
            T_PASS(NULL, range_layout(&t[1].l, 3, s345, 0));
            T_PASS(NULL, h5ckpt_layout_whole(&t[2].l, 2, s67, NULL));
        }
        for (i = 0; i < 3; i++)
            T_PASS(ck, tensor_get(ck, &t[i]));
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < 3; i++) {
            bad += tensor_bad(&t[i]);
            tensor_release(&t[i]);
        }
        T_CHECK(bad);
    }
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

START_TEST(many_tensors_in_several_flushes)
{
    static const h5ckpt_dtype dts[4] = {H5CKPT_FLOAT32, H5CKPT_INT32,
                                        H5CKPT_FLOAT64, H5CKPT_INT8};
    enum { N = 50 };
    const char *path = t_path("many.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[N];
    uint64_t bad = 0;
    int i;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < N; i++) {
        uint64_t shape[2] = {(uint64_t)(i % 5 + 1), (uint64_t)(3 + i % 4)};
        int pl = i % 2;

        tensor_init(&t[i], dts[i % 4], (uint64_t)i + 500, 2, shape,
                    "many/t%02d", i);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &pl, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
        if (i % 10 == 9)
            T_PASS(ck, h5ckpt_flush(ck));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < N; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == N, "%zu tensors listed",
          h5ckpt_tensor_count(ck));
    for (i = 0; i < N; i++) {
        int pl = (i + 1) % 2;
        T_PASS(NULL,
               h5ckpt_layout_sharded(&t[i].l, mesh, 2, t[i].shape, &pl, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < N; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

START_TEST(replicated_data_is_written_once)
{
    enum { NREP = 8 };
    const uint64_t shape[2] = {8, 6};
    const int rep = H5CKPT_REPLICATE, mixed[2] = {H5CKPT_REPLICATE, 0};
    const int even = T_size % 2 == 0, m2[2] = {2, T_size / 2};
    const char *path = t_path("replicated.h5");
    h5ckpt_mesh *mesh = world_mesh(), *mesh2 = NULL;
    h5ckpt *ck = NULL;
    tensor t[NREP + 1];
    uint64_t mine, sum = 0, want = 0, bad = 0;
    int i, n = NREP + even, nonzero = 0, wrote;

    if (even)
        T_PASS(NULL, h5ckpt_mesh_create(&mesh2, MPI_COMM_WORLD, 2, m2, NULL,
                                        NULL));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < n; i++) {
        tensor_init(&t[i], H5CKPT_FLOAT32, (uint64_t)i + 60, 2, shape,
                    "replicated/t%d", i);
        if (i == NREP) /* [Replicate, Shard(0)] on (2, T/2) */
            T_PASS(NULL,
                   h5ckpt_layout_sharded(&t[i].l, mesh2, 2, shape, mixed, NULL));
        else if (i % 2)
            T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, shape, NULL));
        else
            T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &rep, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
        want += tensor_bytes(&t[i]);
    }
    T_PASS(ck, h5ckpt_commit(ck));
    mine = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < n; i++)
        tensor_release(&t[i]);
    wrote = mine > 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&wrote, &nonzero, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(sum == want, "ranks wrote %llu bytes in all, the tensors hold %llu",
          (unsigned long long)sum, (unsigned long long)want);
    T_ALL(T_size < 2 || nonzero >= 2,
          "only %d rank(s) wrote the %d replicated tensors", nonzero, NREP);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < n; i++) {
        T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, shape, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < n; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh2);
    h5ckpt_mesh_free(mesh);
}
END_TEST

START_TEST(reading_whole_tensor_on_one_rank)
{
    const uint64_t s75[2] = {7, 5}, s543[3] = {5, 4, 3};
    const int s0 = H5CKPT_SHARD(0), s1 = H5CKPT_SHARD(1);
    const char *path = t_path("onerank.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[2];
    uint64_t bad = 0, mine, sum = 0;
    int i;

    tensor_init(&t[0], H5CKPT_FLOAT64, 71, 2, s75, "one/a");
    tensor_init(&t[1], H5CKPT_INT32, 72, 3, s543, "one/b");
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 2, s75, &s0, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 3, s543, &s1, NULL));
    for (i = 0; i < 2; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 2; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        if (T_rank == 0)
            T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, t[i].ndim, t[i].shape, NULL));
        else
            T_PASS(NULL, h5ckpt_layout_none(&t[i].l, t[i].ndim, t[i].shape, NULL));
        T_PASS(ck, tensor_get(ck, &t[i])); /* NULL data off rank 0 */
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 2; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);
    mine = h5ckpt_bytes_read(ck);
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(T_rank == 0 || mine == 0, "rank %d read %llu bytes it did not want",
          T_rank, (unsigned long long)mine);
    T_ALL(sum == 7 * 5 * 8 + 5 * 4 * 3 * 4, "%llu bytes read in all",
          (unsigned long long)sum);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("roundtrip");
    TCase *tc = tcase_create("roundtrip");

    tcase_add_test(tc, every_dtype_round_trips_sharded_on_dim0);
    tcase_add_test(tc, saves_on_one_mesh_and_loads_on_another);
    tcase_add_test(tc, uneven_shapes_on_three_and_four_ranks);
    tcase_add_test(tc, scalar_tensors_round_trip);
    tcase_add_test(tc, empty_tensors_round_trip);
    tcase_add_test(tc, strided_buffers_round_trip);
    tcase_add_test(tc, flat_ranges_written_and_read_as_boxes);
    tcase_add_test(tc, many_tensors_in_several_flushes);
    tcase_add_test(tc, replicated_data_is_written_once);
    tcase_add_test(tc, reading_whole_tensor_on_one_rank);
    suite_add_tcase(s, tc);
    return s;
}
