/*
 * Reads whose selections overlap across ranks without being identical
 * (issue 13, item 1).  With Open MPI 4.1.4's OMPIO (fcoll vulcan, dynamic,
 * dynamic_gen2) and HDF5 1.10.8, one collective H5Dread of such selections
 * returns wrong data silently; h5ckpt must return the right values whatever
 * the readers ask for, under either executor (run-test.sh runs both), for
 * contiguous datasets and for chunked ones, compressed or not (which the
 * fast executor reads the plain way).  And a verifying load must check the bytes
 * it delivered, not a fresh read of the file.
 *
 * Selections are pseudo-random but reproducible: every rank draws from the
 * same sequence (seed H5CKPT_TEST_SEED, default 13) and takes its own draw.
 */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

#define NT 12

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t between(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }

static void seed(uint64_t salt)
{
    const char *e = getenv("H5CKPT_TEST_SEED");

    rng_state = (e && *e ? strtoull(e, NULL, 10) : 13) * 1000003u + salt;
}

/* The tensors: the two of the issue ((1, 10000) and (6,) int32), 1-D
 * tensors of 100-10,000 elements, and 2-D and 3-D ones of several dtypes. */
static void make_state(tensor *t)
{
    static const uint64_t issue[2] = {1, 10000}, six[1] = {6}, s2[2] = {37, 53},
                          s3[2] = {64, 100}, s4[3] = {9, 13, 17}, s5[3] = {5, 40, 30};
    static const h5ckpt_dtype dts[5] = {H5CKPT_INT32, H5CKPT_FLOAT32, H5CKPT_INT16,
                                        H5CKPT_UINT8, H5CKPT_FLOAT64};
    uint64_t n;
    int i;

    tensor_init(&t[0], H5CKPT_INT32, 1, 2, issue, "issue");
    tensor_init(&t[1], H5CKPT_INT32, 2, 1, six, "six");
    tensor_init(&t[2], H5CKPT_FLOAT32, 3, 2, s2, "nd/a");
    tensor_init(&t[3], H5CKPT_INT16, 4, 2, s3, "nd/b");
    tensor_init(&t[4], H5CKPT_INT32, 5, 3, s4, "nd/c");
    tensor_init(&t[5], H5CKPT_UINT8, 6, 3, s5, "nd/d");
    seed(0);
    for (i = 6; i < NT; i++) {
        n = between(100, 10000);
        tensor_init(&t[i], dts[i % 5], (uint64_t)i + 1, 1, &n, "flat/t%d", i);
    }
}

static uint64_t nelems(const tensor *t)
{
    uint64_t n = 1;
    int d;

    for (d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* Writers: an even flat split over the ranks. */
static void write_file(const char *path, h5ckpt_executor ex)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    tensor t[NT];
    h5ckpt *ck = NULL;
    int i;

    o.executor = ex;
    make_state(t);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < NT; i++) {
        uint64_t n = nelems(&t[i]);
        T_PASS(NULL, h5ckpt_layout_range(&t[i].l, t[i].ndim, t[i].shape,
                                         n * (uint64_t)T_rank / (uint64_t)T_size,
                                         n * (uint64_t)(T_rank + 1) / (uint64_t)T_size, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
}

/* Rank 0: a copy of `src` with every dataset chunked (h5repack `how`: as
 * another tool might write it). */
static void repack(const char *src, const char *dst, const char *how)
{
    char cmd[1600];
    int rc = 0;

    if (T_rank == 0) {
        snprintf(cmd, sizeof cmd, "h5repack %s '%s' '%s' >/dev/null 2>&1", how,
                 src, dst);
        rc = system(cmd);
    }
    T_ALL(rc == 0, "h5repack failed (%d)", rc);
}

/* h5repack options that chunk every tensor of make_state without a filter. */
static void chunk_options(char *how, size_t size)
{
    int i, n = snprintf(how, size, "-l /issue:CHUNK=1x999 -l /six:CHUNK=2 "
                                   "-l /nd/a:CHUNK=7x9 -l /nd/b:CHUNK=10x10 "
                                   "-l /nd/c:CHUNK=2x3x4 -l /nd/d:CHUNK=2x7x7");
    for (i = 6; i < NT && n < (int)size; i++)
        n += snprintf(how + n, size - (size_t)n, " -l /flat/t%d:CHUNK=77", i);
}

/* The selections of the issue at 3 ranks (a 4th rank reads nothing of
 * them): rank r's flat range of tensors 0 and 1.  Returns 0 when the rank
 * count has none. */
static int issue_range(int i, uint64_t *a, uint64_t *b)
{
    static const uint64_t r0[3][2] = {{1109, 7676}, {3316, 3809}, {3131, 4420}};
    static const uint64_t r1[3][2] = {{0, 5}, {2, 3}, {2, 6}};

    if (T_size < 3 || i > 1)
        return 0;
    if (T_rank >= 3) {
        *a = *b = 0;
        return 1;
    }
    *a = (i == 0 ? r0 : r1)[T_rank][0];
    *b = (i == 0 ? r0 : r1)[T_rank][1];
    return 1;
}

/* This rank's reader layout of tensor i in round `round`: the issue's
 * ranges in round 0, else a random flat range or (N-D) a random box, each
 * rank its own draw. */
static int reader_layout(tensor *t, int i, int round)
{
    uint64_t off[H5CKPT_MAX_NDIM], cnt[H5CKPT_MAX_NDIM], n = nelems(t), a = 0, b = 0;
    int d, r, box = 0;

    if (round == 0 && issue_range(i, &a, &b))
        return h5ckpt_layout_range(&t->l, t->ndim, t->shape, a, b, NULL);
    for (r = 0; r < T_size; r++) { /* every rank draws every rank's choice */
        int want_box = t->ndim > 1 && (rnd() & 1);
        uint64_t x = between(0, n - 1), y = between(0, n - 1);
        if (r != T_rank)
            continue;
        box = want_box;
        a = x < y ? x : y;
        b = (x < y ? y : x) + 1;
    }
    if (!box)
        return h5ckpt_layout_range(&t->l, t->ndim, t->shape, a, b, NULL);
    for (d = 0; d < t->ndim; d++) {
        uint64_t x = between(0, t->shape[d] - 1), y = between(0, t->shape[d] - 1);
        off[d] = x < y ? x : y;
        cnt[d] = (x < y ? y : x) + 1 - off[d];
    }
    return h5ckpt_layout_box(&t->l, t->ndim, t->shape, off, cnt, NULL);
}

/* Collective: read every tensor of `path` in `rounds` flushes of random
 * selections; the number of wrong elements on this rank. */
static uint64_t read_rounds(const char *path, int rounds, int verify)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    uint64_t bad = 0;
    tensor t[NT];
    h5ckpt *ck = NULL;
    int i, round;

    o.verify_checksums = verify;
    make_state(t);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
    seed(1);
    for (round = 0; round < rounds; round++) {
        for (i = 0; i < NT; i++) {
            h5ckpt_layout_free(t[i].l);
            t[i].l = NULL;
            T_PASS(NULL, reader_layout(&t[i], i, round));
            T_PASS(ck, tensor_get(ck, &t[i]));
        }
        T_PASS(ck, tensors_flush_bad(ck, t, NT, &bad));
    }
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    return bad;
}

/* Reads in several rounds, then a verifying load. */
static void check_reads(const char *path)
{
    uint64_t bad = read_rounds(path, 6, 0);

    T_CHECK(bad);
    bad = read_rounds(path, 2, 1);
    T_CHECK(bad);
}

START_TEST(overlapping_reads_of_contiguous_tensors_return_the_stored_values)
{
    const char *p = t_path("overlap.h5");

    write_file(p, H5CKPT_EXECUTOR_PLAIN);
    check_reads(p);
}
END_TEST

/* Chunked datasets: the fast executor reads them the plain way. */
START_TEST(overlapping_reads_of_chunked_tensors_return_the_stored_values)
{
    const char *p = t_path("overlap-src.h5"), *c = t_path("overlap-chunked.h5");
    const char *z = t_path("overlap-gzip.h5");
    char how[1200];

    write_file(p, H5CKPT_EXECUTOR_FAST);
    chunk_options(how, sizeof how);
    repack(p, c, how);
    check_reads(c);
    repack(p, z, "-f GZIP=1");
    check_reads(z);
}
END_TEST

/*
 * A verifying load checks what the caller receives.  Two gets of one flush
 * share a buffer: "w" (read second) overwrites what "v" delivered.  Neither
 * read covers its tensor's single piece whole, so the check of "v" cannot
 * hash the piece from the buffer; re-reading the piece from the file alone
 * would find it intact and pass.  The delivered bytes are not v's values:
 * the flush must say so.
 */
START_TEST(verifying_load_compares_the_delivered_bytes_of_partly_read_pieces)
{
    static const uint64_t shape[1] = {1000};
    const char *p = t_path("delivered.h5");
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    uint64_t zero = 0;
    h5ckpt_layout *wl = NULL, *rv = NULL, *rw = NULL;
    int32_t v[1000], w[1000], buf[1000];
    h5ckpt *ck = NULL;
    int i;

    for (i = 0; i < 1000; i++) {
        v[i] = i;
        w[i] = -1 - i;
    }
    /* one piece per tensor: rank 0 writes everything */
    if (T_rank == 0)
        T_PASS(NULL, h5ckpt_layout_whole(&wl, 1, shape, NULL));
    else
        T_PASS(NULL, h5ckpt_layout_box(&wl, 1, shape, &zero, &zero, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "v", H5CKPT_INT32, wl, v, NULL));
    T_PASS(ck, h5ckpt_tensor_put(ck, "w", H5CKPT_INT32, wl, w, NULL));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));

    o.verify_checksums = 1;
    T_PASS(NULL, h5ckpt_layout_range(&rv, 1, shape, 10, 990, NULL));
    T_PASS(NULL, h5ckpt_layout_range(&rw, 1, shape, 0, 980, NULL));
    T_PASS(NULL, h5ckpt_open(&ck, p, MPI_COMM_WORLD, &o, NULL));
    /* apart, both verify */
    T_PASS(ck, h5ckpt_tensor_get(ck, "v", H5CKPT_INT32, rv, buf, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_ALL(buf[0] == 10 && buf[979] == 989, "v read %d..%d", buf[0], buf[979]);
    /* together, w's bytes end in v's buffer */
    T_PASS(ck, h5ckpt_tensor_get(ck, "v", H5CKPT_INT32, rv, buf, NULL));
    T_PASS(ck, h5ckpt_tensor_get(ck, "w", H5CKPT_INT32, rw, buf, NULL));
    T_CODE(H5CKPT_ECHECKSUM, h5ckpt_flush(ck));
    T_ALL(strstr(h5ckpt_errmsg(ck), "'v'") != NULL, "message: %s", h5ckpt_errmsg(ck));
    T_ALL(buf[0] == -1, "w did not arrive: %d", buf[0]);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_layout_free(wl);
    h5ckpt_layout_free(rv);
    h5ckpt_layout_free(rw);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("overlap");
    TCase *tc = tcase_create("overlapping reads");

    tcase_set_timeout(tc, 0);
    tcase_add_test(tc, overlapping_reads_of_contiguous_tensors_return_the_stored_values);
    tcase_add_test(tc, overlapping_reads_of_chunked_tensors_return_the_stored_values);
    tcase_add_test(tc, verifying_load_compares_the_delivered_bytes_of_partly_read_pieces);
    suite_add_tcase(s, tc);
    return s;
}
