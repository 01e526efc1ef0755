/*
 * The device pack/unpack of lib/device_cuda.c, compiled against a host
 * emulation of the CUDA runtime (tests/gpu/emu/cuda_runtime.h: copies are
 * memcpy and counted), checked against the host h5ckpt__pack/unpack on
 * random views, with the number of copy calls each layout costs.  Runs in
 * every build, with or without CUDA or a GPU; the real runtime is tested by
 * test_cuda_backend on a GPU machine.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "device_cuda.c" /* resolves <cuda_runtime.h> to tests/gpu/emu */

long emu_copies_1d, emu_copies_2d;
int emu_max_pitch = INT_MAX;

void h5ckpt__nccl_fill(h5ckpt__devops *o) { (void)o; }

static h5ckpt__stream stream;
static char msg[H5CKPT_MSG_MAX];

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Pack (or unpack) one view both ways; 0 if the device result equals the
 * host one byte for byte (untouched bytes included). */
static int same_as_host(int ndim, const uint64_t *shape, const int64_t *st,
                        size_t es, int unpack)
{
    uint64_t span = 1, n = h5ckpt__volume(ndim, shape, NULL), i;
    size_t sb, pb;
    unsigned char *s, *s2, *p, *p2;
    int rc, bad;

    ck_assert_int_eq(h5ckpt__strided_span(ndim, shape, st, &span), 0);
    if (ndim == 0)
        span = n = 1;
    sb = (size_t)(span ? span : 1) * es;
    pb = (size_t)(n ? n : 1) * es;
    s = malloc(sb), s2 = malloc(sb), p = malloc(pb), p2 = malloc(pb);
    ck_assert(s && s2 && p && p2);
    for (i = 0; i < sb; i++)
        s[i] = s2[i] = (unsigned char)next_rand();
    for (i = 0; i < pb; i++)
        p[i] = p2[i] = (unsigned char)next_rand();
    if (!unpack) {
        h5ckpt__pack(p, s, ndim, shape, st, es);
        rc = ops.pack(&stream, p2, s2, ndim, shape, st, es, msg);
    } else {
        h5ckpt__unpack(s, p, ndim, shape, st, es);
        rc = ops.unpack(&stream, s2, p2, ndim, shape, st, es, msg);
    }
    bad = rc != 0 || memcmp(s, s2, sb) != 0 || memcmp(p, p2, pb) != 0;
    free(s), free(s2), free(p), free(p2);
    return bad;
}

/* Copy calls one pack of the view makes: *d1 1-D and *d2 2-D. */
static void calls(int ndim, const uint64_t *shape, const int64_t *st,
                  size_t es, long *d1, long *d2)
{
    emu_copies_1d = emu_copies_2d = 0;
    ck_assert_int_eq(same_as_host(ndim, shape, st, es, 0), 0);
    *d1 = emu_copies_1d;
    *d2 = emu_copies_2d;
    emu_copies_1d = emu_copies_2d = 0;
    ck_assert_int_eq(same_as_host(ndim, shape, st, es, 1), 0);
    ck_assert_int_eq(emu_copies_1d, *d1);
    ck_assert_int_eq(emu_copies_2d, *d2);
}

START_TEST(device_pack_matches_host_pack_on_random_views)
{
    int it;

    for (it = 0; it < 20000; it++) {
        uint64_t sh[8];
        int64_t st[8], s = 1 + (int64_t)(next_rand() % 2);
        int nd = 1 + (int)(next_rand() % 6), perm[8], d, j;
        size_t es = (size_t)1 << (next_rand() % 4);

        for (d = 0; d < nd; d++) {
            sh[d] = next_rand() % 5;
            if (it % 5 && !sh[d])
                sh[d] = 1 + next_rand() % 4;
            perm[d] = d;
        }
        for (d = nd - 1; d > 0; d--) {
            int k = (int)(next_rand() % (uint64_t)(d + 1)), t = perm[d];
            perm[d] = perm[k];
            perm[k] = t;
        }
        for (j = nd - 1; j >= 0; j--) { /* a padded permuted layout */
            d = perm[j];
            st[d] = s;
            s *= (int64_t)(sh[d] ? sh[d] : 1) + (int64_t)(next_rand() % 3);
        }
        emu_max_pitch = it % 3 == 0 ? 16 : INT_MAX; /* the row fallback too */
        ck_assert_msg(same_as_host(nd, sh, st, es, it & 1) == 0,
                      "iteration %d: %s", it, msg);
    }
    emu_max_pitch = INT_MAX;
}
END_TEST

START_TEST(contiguous_and_padded_arrays_take_one_copy)
{
    const uint64_t s34[2] = {3, 4}, s57[2] = {5, 7}, s1[3] = {1, 12, 1};
    const int64_t rm[2] = {4, 1}, pad[2] = {9, 1}, odd[3] = {99, 1, 5};
    long d1, d2;

    calls(2, s34, rm, 8, &d1, &d2);
    ck_assert(d1 == 1 && d2 == 0);
    calls(2, s57, pad, 4, &d1, &d2);
    ck_assert(d1 == 0 && d2 == 1);
    calls(3, s1, odd, 2, &d1, &d2); /* extent-1 dimensions ignored */
    ck_assert(d1 == 1 && d2 == 0);
}
END_TEST

START_TEST(channels_last_takes_one_2d_copy_per_batch_and_channel)
{
    const uint64_t sh[4] = {2, 3, 4, 5};
    const int64_t st[4] = {60, 1, 15, 3};
    long d1, d2;

    calls(4, sh, st, 4, &d1, &d2);
    ck_assert_int_eq(d1, 0);
    ck_assert_int_eq(d2, 2 * 3);
}
END_TEST

START_TEST(pitches_a_2d_copy_refuses_fall_back_to_row_copies)
{
    const uint64_t s45[2] = {4, 5}, s57[2] = {5, 7};
    const int64_t overlap[2] = {2, 1}, pad[2] = {9, 1};
    long d1, d2;

    calls(2, s45, overlap, 4, &d1, &d2); /* pitch below the row width */
    ck_assert(d1 == 4 && d2 == 0);
    emu_max_pitch = 16; /* 36-byte pitch above the device's limit */
    calls(2, s57, pad, 4, &d1, &d2);
    emu_max_pitch = INT_MAX;
    ck_assert(d1 == 5 && d2 == 0);
}
END_TEST

START_TEST(scalars_and_empty_arrays)
{
    const uint64_t none[1] = {0}, e[3] = {3, 0, 2};
    const int64_t st[3] = {6, 2, 1};
    long d1, d2;

    calls(0, none, st, 8, &d1, &d2);
    ck_assert(d1 == 1 && d2 == 0);
    calls(3, e, st, 4, &d1, &d2);
    ck_assert(d1 == 0 && d2 == 0);
}
END_TEST

START_TEST(bad_arguments_and_cuda_errors_become_codes_with_messages)
{
    const uint64_t sh[2] = {2, 2};
    const int64_t zero[2] = {0, 1};
    char buf[8] = {0};

    ck_assert_int_eq(ops.pack(&stream, buf, buf, 2, sh, zero, 1, msg), H5CKPT_EINVAL);
    ck_assert_int_eq(ops.copy(&stream, H5CKPT__D2H, NULL, buf, 8, msg), H5CKPT_EDEVICE);
    ck_assert_str_eq(msg, "cudaMemcpyAsync: invalid argument (cudaErrorInvalidValue)");
    ck_assert_int_eq(ops.copy(&stream, 3, buf, buf, 8, msg), H5CKPT_EINVAL);
    ck_assert_int_eq(ops.mark(&stream, H5CKPT__DEV_MARKS, msg), H5CKPT_EINVAL);
    ck_assert_int_eq(ops.wait(&stream, 0, msg), 0); /* never recorded */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_pack_emulated");
    TCase *tc = tcase_create("pack");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, device_pack_matches_host_pack_on_random_views);
    tcase_add_test(tc, contiguous_and_padded_arrays_take_one_copy);
    tcase_add_test(tc, channels_last_takes_one_2d_copy_per_batch_and_channel);
    tcase_add_test(tc, pitches_a_2d_copy_refuses_fall_back_to_row_copies);
    tcase_add_test(tc, scalars_and_empty_arrays);
    tcase_add_test(tc, bad_arguments_and_cuda_errors_become_codes_with_messages);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
