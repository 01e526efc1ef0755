/*
 * Host layout kinds in one checkpoint file: explicit boxes, replicated boxes,
 * sharded and range layouts side by side, and the listing a reader sees.
 *
 * Every element's value is a function of (tensor id, global flat index)
 * (elem_bits), so a reader checks each element it receives against that
 * function through its layout's boxes.  Everything works at 1, 2, 3 and 4
 * ranks.  (The value helpers are the same as in test_roundtrip.c.)
 */
#include "harness.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- expected values ---------------------------------------------------- */

#define SIZE_OF(name, str, size) size,
static const size_t elsize[H5CKPT_DTYPE_COUNT] = {H5CKPT_DTYPE_MAP(SIZE_OF)};
#undef SIZE_OF

/*
 * Bit pattern of element `g` (global flat index) of tensor `id`.  Floats are
 * exact values (or, for the 8/16-bit formats, bit patterns that avoid NaN and
 * Inf), so comparing bits is comparing values.
 */
static uint64_t elem_bits(h5ckpt_dtype dt, uint64_t id, uint64_t g)
{
    uint64_t x = id * 1000003u + g, s = g & 1, h = x * 0x9E3779B97F4A7C15ull;
    uint64_t small = g * 7919u + id;
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;

    switch (dt) {
    case H5CKPT_BOOL:
        return g % 3 == 0;
    case H5CKPT_FLOAT16: /* exponent never all ones */
        return (small & 0x7BFFu) | s << 15;
    case H5CKPT_BFLOAT16:
        return (small & 0x7F7Fu) | s << 15;
    case H5CKPT_FLOAT8_E4M3FN: /* 0x7f/0xff are NaN */
        return small % 0x7Fu | s << 7;
    case H5CKPT_FLOAT8_E5M2: /* exponent 11111 is Inf/NaN */
        return small % 0x7Cu | s << 7;
    case H5CKPT_FLOAT32:
        f = ((float)(int32_t)(x % 16777216u) - 8388608.0f) / 4.0f;
        memcpy(&u32, &f, sizeof u32);
        return u32;
    case H5CKPT_FLOAT64:
        d = ((double)(x % (1ull << 52)) - 2251799813685248.0) / 8.0;
        memcpy(&u64, &d, sizeof u64);
        return u64;
    default: /* integers: any pattern, wrapped to the width of the type */
        return elsize[dt] == 8 ? h : h >> (64 - 8 * elsize[dt]);
    }
}

static void put_bits(void *p, size_t es, uint64_t v)
{
    unsigned char *c = p;
    size_t i;

    for (i = 0; i < es; i++)
        c[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_bits(const void *p, size_t es)
{
    const unsigned char *c = p;
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < es; i++)
        v |= (uint64_t)c[i] << (8 * i);
    return v;
}

/* First mismatch seen, for the failure message. */
static char bad_msg[400];

static void note_bad(const char *fmt, ...)
{
    va_list ap;

    if (bad_msg[0])
        return;
    va_start(ap, fmt);
    vsnprintf(bad_msg, sizeof bad_msg, fmt, ap);
    va_end(ap);
}

static uint64_t flat_index(int ndim, const uint64_t *shape, const uint64_t *at)
{
    uint64_t g = 0;
    int d;

    for (d = 0; d < ndim; d++)
        g = g * shape[d] + at[d];
    return g;
}

/* Advance a row-major multi-index over `count`; 0 when it wraps around. */
static int next_index(int ndim, const uint64_t *count, uint64_t *idx)
{
    int d;

    for (d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < count[d])
            return 1;
        idx[d] = 0;
    }
    return 0;
}

/*
 * Global flat index of every element of the local buffer of `l`, in buffer
 * order: the boxes in order, each row-major (for a range layout the boxes are
 * in flat order, so this is the range itself).  Returns a malloc'd array and
 * the number of elements the boxes hold in *n.
 */
static uint64_t *local_gidx(const h5ckpt_layout *l, int ndim,
                            const uint64_t *shape, uint64_t *n)
{
    uint64_t cap = h5ckpt_layout_local_count(l), k = 0;
    uint64_t *g = malloc((cap + 1) * sizeof *g);
    size_t b, nb = h5ckpt_layout_nboxes(l);

    for (b = 0; b < nb; b++) {
        uint64_t off[H5CKPT_MAX_NDIM], cnt[H5CKPT_MAX_NDIM];
        uint64_t idx[H5CKPT_MAX_NDIM] = {0}, at[H5CKPT_MAX_NDIM], vol = 1;
        int d;

        h5ckpt_layout_get_box(l, b, off, cnt);
        for (d = 0; d < ndim; d++)
            vol *= cnt[d];
        if (vol == 0)
            continue;
        do {
            for (d = 0; d < ndim; d++)
                at[d] = off[d] + idx[d];
            if (k < cap)
                g[k] = flat_index(ndim, shape, at);
            k++;
        } while (next_index(ndim, cnt, idx));
    }
    *n = k;
    return g;
}

/* ---- tensors under test ------------------------------------------------- */

typedef struct {
    char path[96];
    h5ckpt_dtype dt;
    uint64_t id;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    h5ckpt_layout *l; /* this step's layout */
    void *buf;        /* local buffer, NULL when the part is empty */
} tensor;

static void tensor_init(tensor *t, h5ckpt_dtype dt, uint64_t id, int ndim,
                        const uint64_t *shape, const char *fmt, ...)
{
    va_list ap;

    memset(t, 0, sizeof *t);
    va_start(ap, fmt);
    vsnprintf(t->path, sizeof t->path, fmt, ap);
    va_end(ap);
    t->dt = dt;
    t->id = id;
    t->ndim = ndim;
    if (ndim > 0)
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
}

static void tensor_release(tensor *t)
{
    h5ckpt_layout_free(t->l);
    free(t->buf);
    t->l = NULL;
    t->buf = NULL;
}

#define T_EBADLAYOUT (-1000) /* local_count disagrees with the boxes */

/* Local buffer for t->l: expected values (fill) or a poison pattern. */
static int tensor_alloc(tensor *t, int fill)
{
    size_t es = elsize[t->dt];
    uint64_t n = h5ckpt_layout_local_count(t->l), k, i;
    uint64_t *g;

    free(t->buf);
    t->buf = NULL;
    g = local_gidx(t->l, t->ndim, t->shape, &k);
    if (k != n) {
        note_bad("%s: layout has local_count %llu but its boxes hold %llu",
                 t->path, (unsigned long long)n, (unsigned long long)k);
        free(g);
        return T_EBADLAYOUT;
    }
    if (n > 0) {
        t->buf = malloc(n * es);
        if (fill)
            for (i = 0; i < n; i++)
                put_bits((char *)t->buf + i * es, es,
                         elem_bits(t->dt, t->id, g[i]));
        else
            memset(t->buf, 0xA5, n * es);
    }
    free(g);
    return 0;
}

static int tensor_put(h5ckpt *ck, tensor *t)
{
    int rc = tensor_alloc(t, 1);
    return rc ? rc : h5ckpt_tensor_put(ck, t->path, t->dt, t->l, t->buf, NULL);
}

static int tensor_get(h5ckpt *ck, tensor *t)
{
    int rc = tensor_alloc(t, 0);
    return rc ? rc : h5ckpt_tensor_get(ck, t->path, t->dt, t->l, t->buf, NULL);
}

/* Number of local elements that differ from the expected values. */
static uint64_t tensor_bad(const tensor *t)
{
    size_t es = elsize[t->dt];
    uint64_t n = h5ckpt_layout_local_count(t->l), k, i, bad = 0;
    uint64_t *g = local_gidx(t->l, t->ndim, t->shape, &k);

    if (k != n) {
        note_bad("%s: layout has local_count %llu but its boxes hold %llu",
                 t->path, (unsigned long long)n, (unsigned long long)k);
        free(g);
        return 1;
    }
    for (i = 0; i < n; i++) {
        uint64_t want = elem_bits(t->dt, t->id, g[i]);
        uint64_t got = get_bits((const char *)t->buf + i * es, es);
        if (want != got) {
            note_bad("%s: local element %llu (global %llu): expected 0x%llx, "
                     "got 0x%llx",
                     t->path, (unsigned long long)i, (unsigned long long)g[i],
                     (unsigned long long)want, (unsigned long long)got);
            bad++;
        }
    }
    free(g);
    return bad;
}

static uint64_t tensor_bytes(const tensor *t)
{
    uint64_t n = elsize[t->dt];
    int d;

    for (d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* Collective: no mismatches on any rank (forgets the first mismatch). */
#define T_CHECK(bad)                                                          \
    do {                                                                      \
        char t_first_[sizeof bad_msg];                                        \
        memcpy(t_first_, bad_msg, sizeof bad_msg);                            \
        bad_msg[0] = 0;                                                       \
        T_ALL((bad) == 0, "%llu mismatching elements; first: %s",             \
              (unsigned long long)(bad), t_first_);                           \
    } while (0)

/* ---- meshes, ranges, boxes ---------------------------------------- */

static h5ckpt_mesh *world_mesh(void)
{
    h5ckpt_mesh *m = NULL;
    h5ckpt_error err = {0, ""};

    T_ALL(h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, &err) == 0,
          "mesh_create: %s", err.message);
    return m;
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
                               split_point(n, T_rank + 1, shifted));
}

/* Blocks of a box decomposition along `dim`: [r*n/T, (r+1)*n/T). */
static int block_layout(h5ckpt_layout **out, int ndim, const uint64_t *shape,
                        int dim)
{
    uint64_t off[H5CKPT_MAX_NDIM] = {0}, cnt[H5CKPT_MAX_NDIM];
    uint64_t n = shape[dim];
    int d;

    for (d = 0; d < ndim; d++)
        cnt[d] = shape[d];
    off[dim] = (uint64_t)T_rank * n / (uint64_t)T_size;
    cnt[dim] = (uint64_t)(T_rank + 1) * n / (uint64_t)T_size - off[dim];
    return h5ckpt_layout_box(out, ndim, shape, off, cnt);
}

/* ---- tests -------------------------------------------------------------- */

/* A 2x2 grid of boxes at 4 ranks; row blocks otherwise. */
static int grid_layout(h5ckpt_layout **out, const uint64_t *shape)
{
    uint64_t off[2], cnt[2];
    int i = T_rank / 2, j = T_rank % 2;

    if (T_size != 4)
        return block_layout(out, 2, shape, 0);
    off[0] = i * shape[0] / 2;
    cnt[0] = (i + 1) * shape[0] / 2 - off[0];
    off[1] = j * shape[1] / 2;
    cnt[1] = (j + 1) * shape[1] / 2 - off[1];
    return h5ckpt_layout_box(out, 2, shape, off, cnt);
}

START_TEST(explicit_boxes_round_trip)
{
    const uint64_t s97[2] = {9, 7}, s435[3] = {4, 3, 5}, s56[2] = {5, 6};
    const char *path = t_path("boxes.h5");
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t bad = 0;
    int i, pass;

    tensor_init(&t[0], H5CKPT_FLOAT32, 1, 2, s97, "boxes/rows");
    tensor_init(&t[1], H5CKPT_UINT16, 2, 3, s435, "boxes/cube");
    tensor_init(&t[2], H5CKPT_INT8, 3, 2, s56, "boxes/grid");
    T_PASS(NULL, block_layout(&t[0].l, 2, s97, 0));
    T_PASS(NULL, block_layout(&t[1].l, 3, s435, 2));
    T_PASS(NULL, grid_layout(&t[2].l, s56));
    for (i = 0; i < 3; i++) {
        uint64_t off[3], cnt[3], ls[H5CKPT_MAX_NDIM] = {0};
        int nd = -1, d, same;

        T_PASS(NULL, h5ckpt_layout_local_shape(t[i].l, &nd, ls));
        T_ALL(h5ckpt_layout_nboxes(t[i].l) == 1, "%s: %zu boxes", t[i].path,
              h5ckpt_layout_nboxes(t[i].l));
        T_PASS(NULL, h5ckpt_layout_get_box(t[i].l, 0, off, cnt));
        same = nd == t[i].ndim;
        for (d = 0; same && d < nd; d++)
            same = ls[d] == cnt[d];
        T_ALL(same, "%s: local shape is not the box's count", t[i].path);
    }

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (pass = 0; pass < 2; pass++) {
        if (pass == 0) { /* boxes of another decomposition */
            T_PASS(NULL, block_layout(&t[0].l, 2, s97, 1));
            T_PASS(NULL, block_layout(&t[1].l, 3, s435, 0));
            T_PASS(NULL, block_layout(&t[2].l, 2, s56, 1));
        } else {
            for (i = 0; i < 3; i++)
                T_PASS(NULL,
                       h5ckpt_layout_whole(&t[i].l, t[i].ndim, t[i].shape));
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
}
END_TEST

START_TEST(identical_boxes_on_several_ranks_are_replicas)
{
    const uint64_t s56[2] = {5, 6}, s83[2] = {8, 3}, zero[2] = {0, 0};
    const uint64_t nb = (uint64_t)(T_size + 1) / 2, b = (uint64_t)T_rank / 2;
    const char *path = t_path("replicas.h5");
    uint64_t off[2] = {b * 8 / nb, 0}, cnt[2] = {(b + 1) * 8 / nb - off[0], 3};
    uint64_t mine, sum = 0, want = 0, bad = 0;
    h5ckpt *ck = NULL;
    tensor t[2];
    int i;

    /* every rank holds the whole (5, 6) box; pairs of ranks (0,1), (2,3)
     * hold the same row block of the (8, 3) tensor */
    tensor_init(&t[0], H5CKPT_INT32, 11, 2, s56, "replicas/full");
    tensor_init(&t[1], H5CKPT_INT64, 12, 2, s83, "replicas/pairs");
    T_PASS(NULL, h5ckpt_layout_box(&t[0].l, 2, s56, zero, s56));
    T_PASS(NULL, h5ckpt_layout_box(&t[1].l, 2, s83, off, cnt));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        T_PASS(ck, tensor_put(ck, &t[i]));
        want += tensor_bytes(&t[i]);
    }
    T_PASS(ck, h5ckpt_commit(ck));
    mine = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 2; i++)
        tensor_release(&t[i]);
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(sum == want, "ranks wrote %llu bytes in all, the tensors hold %llu",
          (unsigned long long)sum, (unsigned long long)want);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, t[i].shape));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 2; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
}
END_TEST

START_TEST(mixed_host_layout_kinds_in_one_checkpoint)
{
    const uint64_t s75[2] = {7, 5}, s64[2] = {6, 4}, s55[2] = {5, 5};
    const int s0 = H5CKPT_SHARD(0), s1 = H5CKPT_SHARD(1);
    const char *path = t_path("mixed.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[3];
    uint64_t bad = 0;
    int i, pass;

    tensor_init(&t[0], H5CKPT_FLOAT32, 21, 2, s75, "mixed/sharded");
    tensor_init(&t[1], H5CKPT_INT32, 22, 2, s64, "mixed/box");
    tensor_init(&t[2], H5CKPT_FLOAT64, 23, 2, s55, "mixed/range");
    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 2, s75, &s0));
    T_PASS(NULL, block_layout(&t[1].l, 2, s64, 0));
    T_PASS(NULL, range_layout(&t[2].l, 2, s55, 1));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    T_PASS(ck, h5ckpt_flush(ck)); /* all three kinds in one flush */
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (pass = 0; pass < 2; pass++) {
        if (pass == 0) { /* each read with a kind other than its writer's */
            T_PASS(NULL, range_layout(&t[0].l, 2, s75, 0));
            T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 2, s64, &s1));
            T_PASS(NULL, block_layout(&t[2].l, 2, s55, 1));
        } else {
            for (i = 0; i < 3; i++)
                T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, t[i].shape));
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

START_TEST(listing_is_sorted_and_complete)
{
    /* declared out of order; listed sorted by path */
    static const char *const declared[6] = {
        "top", "model/sub/w", "optim/step", "model/b", "model/sub/deeper/x",
        "model/a.weight"};
    static const char *const sorted[6] = {
        "model/a.weight", "model/b", "model/sub/deeper/x", "model/sub/w",
        "optim/step", "top"};
    static const char *const groups[4] = {"model", "model/sub",
                                          "model/sub/deeper", "optim"};
    const uint64_t shape[2] = {7, 5};
    const int s0 = H5CKPT_SHARD(0);
    const char *path = t_path("listing.h5");
    char want[64];
    const char *got;
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[6];
    uint64_t bad = 0;
    size_t i;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 6; i++) {
        tensor_init(&t[i], H5CKPT_FLOAT32, 31 + i, 2, shape, "%s",
                    declared[i]);
        if (strcmp(declared[i], "model/a.weight") == 0)
            T_PASS(NULL, block_layout(&t[i].l, 2, shape, 0));
        else
            T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 6; i++)
        tensor_release(&t[i]);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == 6, "%zu tensors listed",
          h5ckpt_tensor_count(ck));
    for (i = 0; i < 6; i++) {
        got = h5ckpt_tensor_path(ck, i);
        T_ALL(got && strcmp(got, sorted[i]) == 0,
              "tensor %zu is \"%s\", expected \"%s\"", i, got ? got : "(null)",
              sorted[i]);
    }
    T_ALL(h5ckpt_tensor_path(ck, 6) == NULL, "a 7th tensor is listed");
    T_ALL(h5ckpt_group_count(ck) == 4, "%zu groups listed",
          h5ckpt_group_count(ck));
    for (i = 0; i < 4; i++) {
        got = h5ckpt_group_path(ck, i);
        T_ALL(got && strcmp(got, groups[i]) == 0,
              "group %zu is \"%s\", expected \"%s\"", i, got ? got : "(null)",
              groups[i]);
        T_ALL(h5ckpt_group_exists(ck, groups[i]) == 1, "group %s not found",
              groups[i]);
    }
    T_ALL(h5ckpt_group_path(ck, 4) == NULL, "a 5th group is listed");
    T_ALL(h5ckpt_group_exists(ck, "") == 1, "no root group");
    T_ALL(h5ckpt_group_exists(ck, "model/nope") == 0, "model/nope exists");
    T_ALL(h5ckpt_group_exists(ck, "top") == 0, "tensor \"top\" is a group");

    snprintf(want, sizeof want, "[Shard(0)] on mesh (%d)", T_size);
    got = h5ckpt_tensor_placements(ck, "model/b");
    T_ALL(got && strcmp(got, want) == 0, "placements of model/b: \"%s\", "
          "documented: \"%s\"", got ? got : "(null)", want);
    got = h5ckpt_tensor_placements(ck, "model/a.weight");
    T_ALL(got && strcmp(got, "explicit") == 0,
          "placements of model/a.weight: \"%s\", documented: \"explicit\"",
          got ? got : "(null)");
    T_ALL(h5ckpt_tensor_placements(ck, "model/missing") == NULL,
          "placements of a missing tensor");
    T_CODE(H5CKPT_ENOTFOUND,
           h5ckpt_tensor_info(ck, "model/missing", NULL, NULL, NULL));

    /* the listed tensors hold their data */
    for (i = 0; i < 6; i++) {
        T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, shape));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 6; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("layouts");
    TCase *tc = tcase_create("layouts");

    tcase_add_test(tc, explicit_boxes_round_trip);
    tcase_add_test(tc, identical_boxes_on_several_ranks_are_replicas);
    tcase_add_test(tc, mixed_host_layout_kinds_in_one_checkpoint);
    tcase_add_test(tc, listing_is_sorted_and_complete);
    suite_add_tcase(s, tc);
    return s;
}
