/*
 * The CUDA backend table (lib/device_cuda.c, lib/device_nccl.c) on its own:
 * memory, copies, device pack/unpack against the host h5ckpt__pack /
 * h5ckpt__unpack for many shapes and strides, markers, pointer detection,
 * errors, and a one-rank NCCL group broadcast (NCCL builds).
 *
 * Without a usable device it prints one line, "skipped: no CUDA device
 * (<reason>)", and exits 77 (automake's SKIP).  Runs as one MPI process
 * (MPI is needed for the NCCL group only).
 */
#include <check.h>
#include <cuda_runtime.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/device.h"
#include "layout/layout.h"

static const h5ckpt__devops *ops;
static char msg[H5CKPT_MSG_MAX];

#define OK(expr)                                                              \
    do {                                                                      \
        int ok_rc_ = (expr);                                                  \
        ck_assert_msg(ok_rc_ == 0, "%s -> %s: %s", #expr,                     \
                      h5ckpt_errname(ok_rc_), msg);                           \
    } while (0)

/* Deterministic bytes (xorshift). */
static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static void fill_random(void *p, size_t n)
{
    unsigned char *c = p;
    size_t i;

    for (i = 0; i < n; i++)
        c[i] = (unsigned char)next_rand();
}

START_TEST(pinned_and_device_memory_round_trip_through_copies)
{
    const size_t n = (1u << 20) + 3;
    void *pin = NULL, *pin2 = NULL, *d1 = NULL, *d2 = NULL;
    unsigned char *pageable = malloc(n);
    h5ckpt__stream *s = NULL;

    OK(ops->host_alloc(&pin, n, msg));
    OK(ops->host_alloc(&pin2, n, msg));
    OK(ops->dev_alloc(&d1, n, msg));
    OK(ops->dev_alloc(&d2, n, msg));
    OK(ops->stream_create(&s, msg));
    ck_assert_ptr_nonnull(pageable);
    fill_random(pin, n);
    memset(pin2, 0, n);
    OK(ops->copy(s, H5CKPT__H2D, d1, pin, n, msg));
    OK(ops->copy(s, H5CKPT__D2D, d2, d1, n, msg));
    OK(ops->copy(s, H5CKPT__D2H, pin2, d2, n, msg));
    OK(ops->copy(s, H5CKPT__D2H, pageable, d1, n, msg));
    OK(ops->copy(s, H5CKPT__D2H, pageable, d1, 0, msg)); /* nothing */
    OK(ops->sync(s, msg));
    ck_assert(memcmp(pin, pin2, n) == 0);
    ck_assert(memcmp(pin, pageable, n) == 0);
    ops->stream_destroy(s);
    ops->dev_free(d1);
    ops->dev_free(d2);
    ops->host_free(pin);
    ops->host_free(pin2);
    ops->dev_free(NULL);
    ops->host_free(NULL);
    ops->stream_destroy(NULL);
    free(pageable);
}
END_TEST

/* ---- pack / unpack against the host implementation ---------------------- */

typedef struct {
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    int64_t strides[H5CKPT_MAX_NDIM];
    size_t es;
    int unpack_ok; /* 0: elements overlap in an order-dependent way */
} pcase;

/* One case both ways; returns the number of mismatching bytes. */
static size_t check_case(h5ckpt__stream *s, const pcase *c, char *what,
                         size_t whatlen)
{
    uint64_t span = 0, n = h5ckpt__volume(c->ndim, c->shape, NULL);
    size_t sb, pb, bad = 0, i;
    unsigned char *src, *want, *got, *packed;
    void *dsrc = NULL, *dpk = NULL;
    int d, o;

    o = snprintf(what, whatlen, "ndim %d es %zu shape (", c->ndim, c->es);
    for (d = 0; d < c->ndim; d++)
        o += snprintf(what + o, whatlen - (size_t)o, "%llu%s",
                      (unsigned long long)c->shape[d],
                      d + 1 < c->ndim ? "," : "");
    o += snprintf(what + o, whatlen - (size_t)o, ") strides (");
    for (d = 0; d < c->ndim; d++)
        o += snprintf(what + o, whatlen - (size_t)o, "%lld%s",
                      (long long)c->strides[d], d + 1 < c->ndim ? "," : "");
    snprintf(what + o, whatlen - (size_t)o, ")");

    ck_assert_int_eq(h5ckpt__strided_span(c->ndim, c->shape, c->strides, &span), 0);
    if (c->ndim == 0)
        span = n = 1;
    sb = (size_t)(span ? span : 1) * c->es;
    pb = (size_t)(n ? n : 1) * c->es;
    src = malloc(sb);
    want = malloc(sb);
    got = malloc(sb);
    packed = malloc(pb);
    ck_assert(src && want && got && packed);
    OK(ops->dev_alloc(&dsrc, sb, msg));
    OK(ops->dev_alloc(&dpk, pb, msg));

    /* pack: strided -> row-major */
    fill_random(src, sb);
    fill_random(packed, pb);
    memcpy(want, packed, pb);
    OK(ops->copy(s, H5CKPT__H2D, dsrc, src, sb, msg));
    OK(ops->copy(s, H5CKPT__H2D, dpk, packed, pb, msg));
    h5ckpt__pack(want, src, c->ndim, c->shape, c->strides, c->es);
    OK(ops->pack(s, dpk, dsrc, c->ndim, c->shape, c->strides, c->es, msg));
    OK(ops->copy(s, H5CKPT__D2H, got, dpk, pb, msg));
    OK(ops->sync(s, msg));
    for (i = 0; i < pb; i++)
        bad += got[i] != want[i];

    /* unpack: row-major -> strided, untouched bytes kept */
    if (c->unpack_ok) {
        fill_random(src, sb);
        fill_random(packed, pb);
        memcpy(want, src, sb);
        OK(ops->copy(s, H5CKPT__H2D, dsrc, src, sb, msg));
        OK(ops->copy(s, H5CKPT__H2D, dpk, packed, pb, msg));
        h5ckpt__unpack(want, packed, c->ndim, c->shape, c->strides, c->es);
        OK(ops->unpack(s, dsrc, dpk, c->ndim, c->shape, c->strides, c->es,
                       msg));
        OK(ops->copy(s, H5CKPT__D2H, got, dsrc, sb, msg));
        OK(ops->sync(s, msg));
        for (i = 0; i < sb; i++)
            bad += got[i] != want[i];
    }
    ops->dev_free(dsrc);
    ops->dev_free(dpk);
    free(src);
    free(want);
    free(got);
    free(packed);
    return bad;
}

static const pcase fixed[] = {
    {0, {0}, {0}, 4, 1},                                /* 0-d */
    {0, {0}, {0}, 8, 1},
    {1, {10}, {1}, 1, 1},                               /* contiguous */
    {1, {7}, {3}, 8, 1},                                /* strided 1-d */
    {2, {5, 7}, {9, 1}, 4, 1},                          /* padded rows */
    {2, {5, 7}, {9, 1}, 1, 1},
    {2, {6, 4}, {1, 6}, 2, 1},                          /* transposed */
    {4, {2, 3, 4, 5}, {60, 1, 15, 3}, 4, 1},            /* channels_last */
    {4, {2, 3, 4, 5}, {60, 1, 15, 3}, 1, 1},
    {4, {2, 3, 4, 5}, {60, 1, 15, 3}, 8, 1},
    {4, {2, 16, 3, 3}, {160, 1, 48, 16}, 2, 1},         /* NHWC, padded */
    {3, {1, 5, 1}, {100, 2, 7}, 4, 1},                  /* extent-1 dims */
    {3, {3, 0, 2}, {6, 2, 1}, 4, 1},                    /* empty */
    {2, {3, 4}, {4, 1}, 8, 1},                          /* row-major */
    {3, {2, 3, 4}, {24, 8, 2}, 4, 1},                   /* every 2nd elem */
    {2, {4, 5}, {2, 1}, 4, 1},                          /* rows overlap */
    {8, {2, 1, 2, 1, 2, 1, 2, 3}, {97, 50, 41, 7, 13, 2, 5, 1}, 1, 1},
    {2, {1000, 3}, {3, 1}, 8, 1},                       /* one block */
    {2, {3, 1000}, {1, 3}, 2, 1},                       /* columns */
    {1, {1}, {5}, 8, 1},
};

START_TEST(device_pack_matches_host_pack_for_fixed_shapes)
{
    h5ckpt__stream *s = NULL;
    char what[300];
    size_t i, bad;

    OK(ops->stream_create(&s, msg));
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        bad = check_case(s, &fixed[i], what, sizeof what);
        ck_assert_msg(bad == 0, "case %zu (%s): %zu bytes differ", i, what,
                      bad);
    }
    ops->stream_destroy(s);
}
END_TEST

/* Random views: a permutation of a padded row-major array (every dimension
 * padded by 0-2), sometimes with a step. */
START_TEST(device_pack_matches_host_pack_for_random_views)
{
    static const size_t sizes[] = {1, 2, 4, 8};
    h5ckpt__stream *s = NULL;
    char what[300];
    int iter;

    OK(ops->stream_create(&s, msg));
    for (iter = 0; iter < 300; iter++) {
        pcase c;
        int perm[H5CKPT_MAX_NDIM], d, j;
        int64_t st = 1 + (int64_t)(next_rand() % 2);
        size_t bad;

        memset(&c, 0, sizeof c);
        c.ndim = 1 + (int)(next_rand() % 5);
        c.es = sizes[next_rand() % 4];
        c.unpack_ok = 1;
        for (d = 0; d < c.ndim; d++) {
            c.shape[d] = next_rand() % 6;
            if (iter % 7 != 0 && c.shape[d] == 0)
                c.shape[d] = 1 + next_rand() % 5;
            perm[d] = d;
        }
        for (d = c.ndim - 1; d > 0; d--) {
            int k = (int)(next_rand() % (uint64_t)(d + 1)), t = perm[d];
            perm[d] = perm[k];
            perm[k] = t;
        }
        /* storage order: perm[ndim-1] innermost */
        for (j = c.ndim - 1; j >= 0; j--) {
            d = perm[j];
            c.strides[d] = st;
            st *= (int64_t)(c.shape[d] ? c.shape[d] : 1) +
                  (int64_t)(next_rand() % 3);
        }
        bad = check_case(s, &c, what, sizeof what);
        ck_assert_msg(bad == 0, "iteration %d (%s): %zu bytes differ", iter,
                      what, bad);
    }
    ops->stream_destroy(s);
}
END_TEST

START_TEST(markers_order_the_host_after_queued_work)
{
    const size_t n = 1 << 22;
    void *pin = NULL, *d = NULL;
    h5ckpt__stream *s = NULL;
    int i;

    OK(ops->host_alloc(&pin, n, msg));
    OK(ops->dev_alloc(&d, n, msg));
    OK(ops->stream_create(&s, msg));
    for (i = 0; i < H5CKPT__DEV_MARKS; i++)
        OK(ops->wait(s, i, msg)); /* never recorded: returns at once */
    memset(pin, 0x5A, n);
    OK(ops->copy(s, H5CKPT__H2D, d, pin, n, msg));
    OK(ops->mark(s, 0, msg));
    OK(ops->wait(s, 0, msg));
    memset(pin, 0, n); /* the H2D copy has read it */
    OK(ops->copy(s, H5CKPT__D2H, pin, d, n, msg));
    OK(ops->mark(s, H5CKPT__DEV_MARKS - 1, msg));
    OK(ops->wait(s, H5CKPT__DEV_MARKS - 1, msg));
    ck_assert_int_eq(((unsigned char *)pin)[0], 0x5A);
    ck_assert_int_eq(((unsigned char *)pin)[n - 1], 0x5A);
    ck_assert_int_eq(ops->mark(s, H5CKPT__DEV_MARKS, msg), H5CKPT_EINVAL);
    ck_assert_int_eq(ops->wait(s, -1, msg), H5CKPT_EINVAL);
    OK(ops->sync(s, msg));
    ops->stream_destroy(s);
    ops->dev_free(d);
    ops->host_free(pin);
}
END_TEST

START_TEST(is_device_tells_device_memory_from_host_memory)
{
    void *pin = NULL, *d = NULL, *h = malloc(64);
    int stack = 0;

    OK(ops->host_alloc(&pin, 64, msg));
    OK(ops->dev_alloc(&d, 64, msg));
    ck_assert_int_eq(ops->is_device(d), 1);
    ck_assert_int_eq(ops->is_device((char *)d + 17), 1);
    ck_assert_int_eq(ops->is_device(pin), 0);
    ck_assert_int_eq(ops->is_device(h), 0);
    ck_assert_int_eq(ops->is_device(&stack), 0);
    ck_assert_int_eq(ops->is_device(NULL), 0);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess); /* nothing left */
    ops->dev_free(d);
    ops->host_free(pin);
    free(h);
}
END_TEST

START_TEST(device_id_names_the_current_device)
{
    char id[64] = "", small[4];

    OK(ops->device_id(id, sizeof id, msg));
    ck_assert_msg(strchr(id, ':') != NULL, "device id '%s'", id);
    ck_assert_int_eq(ops->device_id(small, sizeof small, msg), H5CKPT_EINVAL);
}
END_TEST

START_TEST(an_invalid_copy_is_a_device_error_with_the_cuda_message)
{
    void *d = NULL;
    h5ckpt__stream *s = NULL;
    int rc;

    OK(ops->dev_alloc(&d, 256, msg));
    OK(ops->stream_create(&s, msg));
    msg[0] = 0;
    rc = ops->copy(s, H5CKPT__D2H, NULL, d, 256, msg);
    ck_assert_msg(rc == H5CKPT_EDEVICE, "got %s: %s", h5ckpt_errname(rc), msg);
    ck_assert_msg(strstr(msg, "cudaMemcpyAsync: ") == msg && strstr(msg, "(cuda"),
                  "message '%s'", msg);
    ck_assert_int_eq(ops->copy(s, 7, d, d, 1, msg), H5CKPT_EINVAL);
    /* not sticky: the stream still works */
    OK(ops->copy(s, H5CKPT__D2D, d, (char *)d + 128, 128, msg));
    OK(ops->sync(s, msg));
    ops->stream_destroy(s);
    ops->dev_free(d);
}
END_TEST

START_TEST(a_huge_device_allocation_is_out_of_memory)
{
    void *d = (void *)1;
    int rc = ops->dev_alloc(&d, (size_t)1 << 60, msg);

    ck_assert_msg(rc == H5CKPT_ENOMEM, "got %s: %s", h5ckpt_errname(rc), msg);
    ck_assert_msg(strstr(msg, "cudaMalloc: ") == msg, "message '%s'", msg);
    ck_assert_ptr_null(d);
    OK(ops->dev_alloc(&d, 64, msg)); /* and the device still works */
    ops->dev_free(d);
}
END_TEST

START_TEST(nccl_group_of_one_rank_broadcasts_in_place)
{
    h5ckpt__dgroup *g = NULL;
    h5ckpt__stream *s = NULL;
    unsigned char host[1000], back[1000];
    void *d = NULL;

#ifdef H5CKPT_TEST_NCCL
    ck_assert_ptr_nonnull(ops->group_create);
#else
    ck_assert_ptr_null(ops->group_create);
    ck_assert_ptr_null(ops->group_bcast);
    return; /* a CUDA build without NCCL has no groups */
#endif
    fill_random(host, sizeof host);
    OK(ops->dev_alloc(&d, sizeof host, msg));
    OK(ops->stream_create(&s, msg));
    OK(ops->copy(s, H5CKPT__H2D, d, host, sizeof host, msg));
    OK(ops->group_create(&g, MPI_COMM_SELF, msg));
    OK(ops->group_begin(msg));
    OK(ops->group_bcast(g, s, d, sizeof host, 0, msg));
    OK(ops->group_bcast(g, s, d, 0, 0, msg));
    OK(ops->group_end(msg));
    ck_assert_int_eq(ops->group_bcast(g, s, d, 1, 1, msg), H5CKPT_EINVAL);
    OK(ops->copy(s, H5CKPT__D2H, back, d, sizeof back, msg));
    OK(ops->sync(s, msg));
    ck_assert(memcmp(host, back, sizeof host) == 0);
    ops->group_free(g);
    ops->group_free(NULL);
    ops->stream_destroy(s);
    ops->dev_free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cuda_backend");
    TCase *tc = tcase_create("backend");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pinned_and_device_memory_round_trip_through_copies);
    tcase_add_test(tc, device_pack_matches_host_pack_for_fixed_shapes);
    tcase_add_test(tc, device_pack_matches_host_pack_for_random_views);
    tcase_add_test(tc, markers_order_the_host_after_queued_work);
    tcase_add_test(tc, is_device_tells_device_memory_from_host_memory);
    tcase_add_test(tc, device_id_names_the_current_device);
    tcase_add_test(tc, an_invalid_copy_is_a_device_error_with_the_cuda_message);
    tcase_add_test(tc, a_huge_device_allocation_is_out_of_memory);
    tcase_add_test(tc, nccl_group_of_one_rank_broadcasts_in_place);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    const char *prefix = "no CUDA device: ";
    SRunner *sr;
    int failed;

    ops = h5ckpt__devops_builtin();
    if (!ops || strcmp(ops->name, "cuda") != 0) {
        printf("FAIL: a CUDA build has no CUDA backend table\n");
        return 1;
    }
    if (ops->probe(msg) != 0) {
        const char *why = strncmp(msg, prefix, strlen(prefix)) == 0
                              ? msg + strlen(prefix) : msg;
        printf("skipped: no CUDA device (%s)\n", why);
        return 77;
    }
    MPI_Init(&argc, &argv);
    sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    MPI_Finalize();
    return failed == 0 ? 0 : 1;
}
