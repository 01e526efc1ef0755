/*
 * The fast reader's node-local exchange (lib/exchange.c): fragmented
 * Shard(1)-like reads shared among the ranks of a node in file units.
 * Every element is checked against its expected value; the units each rank
 * delivered are counted (io.exchange_units of the handle) so the tests know the
 * exchange really ran (all ranks of these runs share one node), and ran
 * exactly as many units as the tensors' spans need.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handle/handle.h"
#include "values.h"

#define NT 3

/* The exchange belongs to the fast reader, whatever $H5CKPT_EXECUTOR says
 * (run-test.sh runs every suite under both executors). */
static const h5ckpt_options fast = {.executor = H5CKPT_EXECUTOR_FAST};

/* 2-D float32, 3-D bf16 (runs of several elements), int64 with few
 * columns: every one has at least 16 rows, so every rank's Shard(1) read
 * is fragmented. */
static uint64_t id_base; /* another value: the same tensors, other data */

static void make_state(tensor *t)
{
    static const uint64_t s0[2] = {40, 37}, s1[3] = {33, 50, 3}, s2[2] = {64, 9};

    tensor_init(&t[0], H5CKPT_FLOAT32, id_base + 11, 2, s0, "x/a");
    tensor_init(&t[1], H5CKPT_BFLOAT16, id_base + 12, 3, s1, "x/b");
    tensor_init(&t[2], H5CKPT_INT64, id_base + 13, 2, s2, "y/c");
}

/* Written Shard(0) over the world mesh. */
static void write_state(const char *path, const h5ckpt_mesh *m)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    tensor t[NT];
    h5ckpt *ck = NULL;
    int i, p = H5CKPT_SHARD(0);

    o.mesh = m;
    make_state(t);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
        T_PASS(ck, tensor_alloc(&t[i], 1));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
}

/* Units every rank's handle delivered so far (before it is closed). */
static uint64_t units_all(const h5ckpt *ck)
{
    uint64_t mine = ck->io.exchange_units, all = 0;

    MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return all;
}

/* Units of `unit` bytes that cover every tensor whole (every rank reads a
 * Shard(1) part, so together they want every byte). */
/* Bytes of file per exchange unit (0: the default). */
static void set_unit(uint64_t unit)
{
    h5ckpt__knobs k = *h5ckpt__knobs_get();

    k.exchange_unit = unit;
    h5ckpt__knobs_set(&k);
}

static uint64_t units_expected(tensor *t, uint64_t unit)
{
    uint64_t n = 0;
    int i;

    for (i = 0; i < NT; i++) {
        uint64_t b = tensor_bytes(&t[i]);
        n += (b + unit - 1) / unit;
    }
    return n;
}

/* Read every tensor Shard(1) on the world mesh; returns mismatches. */
static uint64_t read_shard1(h5ckpt *ck, const h5ckpt_mesh *m, tensor *t)
{
    uint64_t bad = 0, mine = 0, before = h5ckpt_bytes_read(ck);
    int i, p = H5CKPT_SHARD(1);

    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
        mine += h5ckpt_layout_local_count(t[i].l) * elsize[t[i].dt];
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < NT; i++)
        bad += tensor_bad(&t[i]);
    /* bytes_read: what this rank received, however it arrived */
    T_ALL(h5ckpt_bytes_read(ck) - before == mine, "bytes_read grew by %llu, own bytes %llu",
          (unsigned long long)(h5ckpt_bytes_read(ck) - before), (unsigned long long)mine);
    return bad;
}

START_TEST(shard1_reads_go_through_the_exchange)
{
    static const uint64_t units[] = {0, 4096, 100, 1};
    const char *path = t_path("xa.h5");
    h5ckpt_mesh *m = world_mesh();
    tensor t[NT];
    size_t u;
    int i;

    write_state(path, m);
    make_state(t);
    for (u = 0; u < sizeof units / sizeof *units; u++) {
        h5ckpt *ck = NULL;
        uint64_t n, want, bad;
        set_unit(units[u]); /* 100 and 1: runs cut inside elements */
        T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
        bad = read_shard1(ck, m, t); /* T_CHECK evaluates its argument twice */
        T_CHECK(bad);
        /* two flushes on one handle: the shared counter starts over */
        bad = read_shard1(ck, m, t);
        T_CHECK(bad);
        n = units_all(ck);
        T_PASS(NULL, h5ckpt_close(ck));
        want = T_size == 1 ? 0 : 2 * units_expected(t, units[u] ? units[u] : 1 << 20);
        T_ALL(n == want, "unit %llu: %llu units delivered, expected %llu",
              (unsigned long long)units[u], (unsigned long long)n,
              (unsigned long long)want);
    }
    set_unit(0);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(exchange_off_reads_the_same_per_run)
{
    const char *path = t_path("xb.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt *ck = NULL;
    uint64_t bad, n;
    tensor t[NT];
    int i;

    write_state(path, m);
    make_state(t);
    setenv("H5CKPT_EXCHANGE", T_rank == T_size - 1 ? "0" : "1", 1); /* any rank turns it off */
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    bad = read_shard1(ck, m, t);
    T_CHECK(bad);
    n = units_all(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    unsetenv("H5CKPT_EXCHANGE");
    T_ALL(n == 0, "the exchange ran although turned off");
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

/*
 * Rank 0 reads tensor a into a strided buffer (rows padded by 3 elements):
 * it cannot take part, so the others' declarations cover (P-1)/P of the
 * span: exchanged from 4 ranks on (3/4), read per run below.  Every value
 * and every padding element is checked.
 */
START_TEST(a_rank_with_a_strided_buffer_reads_alone)
{
    const char *path = t_path("xc.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[NT];
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    uint64_t off[2], cnt[2], bad = 0, r, c, n, want;
    int64_t st[2];
    int i, p = H5CKPT_SHARD(1);
    float *buf = NULL;

    write_state(path, m);
    make_state(t);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    for (i = 0; i < NT; i++)
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
    local_box(t[0].l, 2, off, cnt);
    st[0] = (int64_t)cnt[1] + 3;
    st[1] = 1;
    b.strides = st;
    buf = malloc((size_t)(cnt[0] * (uint64_t)st[0] + 1) * sizeof *buf);
    for (r = 0; r < cnt[0] * (uint64_t)st[0]; r++)
        memset(&buf[r], 0x5A, sizeof *buf);
    if (T_rank == 0)
        T_PASS(ck, h5ckpt_tensor_get(ck, t[0].path, t[0].dt, t[0].l, buf, &b));
    else
        T_PASS(ck, tensor_get(ck, &t[0]));
    for (i = 1; i < NT; i++)
        T_PASS(ck, tensor_get(ck, &t[i]));
    T_PASS(ck, h5ckpt_flush(ck));
    for (r = 0; T_rank == 0 && r < cnt[0]; r++)
        for (c = 0; c < (uint64_t)st[0]; c++) {
            uint32_t got, pad;
            memcpy(&got, &buf[r * (uint64_t)st[0] + c], 4);
            memset(&pad, 0x5A, 4);
            if (c >= cnt[1]) {
                bad += got != pad;
            } else {
                uint64_t at[2] = {off[0] + r, off[1] + c};
                bad += got != (uint32_t)elem_bits(t[0].dt, t[0].id,
                                                  flat_index(2, t[0].shape, at));
            }
        }
    for (i = T_rank == 0 ? 1 : 0; i < NT; i++)
        bad += tensor_bad(&t[i]);
    T_CHECK(bad);
    n = units_all(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    /* b and c always; a only when the others' parts cover 3/4 of their
     * span in the file (the library's rule, in bytes) */
    {
        uint64_t mine[2] = {off[1], cnt[1]}, *all = malloc(2 * (size_t)T_size * 8);
        uint64_t lo = UINT64_MAX, hi = 0, wb = 0, cols = t[0].shape[1];
        MPI_Allgather(mine, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, MPI_COMM_WORLD);
        for (i = 1; i < T_size; i++) {
            uint64_t a = all[2 * i], k = all[2 * i + 1];
            if (!k)
                continue;
            lo = a * 4 < lo ? a * 4 : lo;
            hi = ((t[0].shape[0] - 1) * cols + a + k) * 4 > hi
                     ? ((t[0].shape[0] - 1) * cols + a + k) * 4 : hi;
            wb += t[0].shape[0] * k * 4;
        }
        free(all);
        want = units_expected(t, 1 << 20);
        if (hi <= lo || wb < (hi - lo) / 4 * 3)
            want -= 1; /* a: 1 unit */
        if (T_size == 1)
            want = 0;
    }
    T_ALL(n == want, "%llu units, expected %llu", (unsigned long long)n,
          (unsigned long long)want);
    free(buf);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

/* The file loses its data after open: whichever rank claims the units past
 * the end fails, and every rank reports the same error (no hang). */
START_TEST(a_truncated_file_fails_alike_on_every_rank)
{
    const char *path = t_path("xd.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[NT];
    int i, rc, p = H5CKPT_SHARD(1), lo = 0, hi = 0, h;
    int64_t off = 0;
    char *msg;

    write_state(path, m);
    make_state(t);
    set_unit(512);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    off = h5ckpt__index_tensor(&ck->file.index, "x/a")->offset;
    T_ALL(off > 0, "no offset for x/a");
    if (T_rank == 0)
        T_ALL(truncate(path, off + 700) == 0, "truncate failed");
    else
        T_ALL(1, "-");
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    rc = h5ckpt_flush(ck);
    T_ALL(rc == H5CKPT_EIO, "flush -> %s: %s", h5ckpt_errname(rc), h5ckpt_errmsg(ck));
    msg = (char *)h5ckpt_errmsg(ck);
    h = (int)(h5ckpt__hash(msg, strlen(msg)) & 0x7fffffff);
    MPI_Allreduce(&h, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    T_ALL(lo == hi && strstr(msg, "raw read of") != NULL,
          "messages differ or do not say why: %s", msg);
    h5ckpt_close(ck);
    set_unit(0);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

/* A checkpoint renamed over the path after open (a later save to the same
 * name) does not change what the handle reads, with either executor: the
 * fast reader reads through the descriptor every rank opened at
 * h5ckpt_open, the plain one through HDF5's handle. */
START_TEST(a_reader_reads_the_file_it_opened)
{
    const char *path = t_path("xe.h5"), *other = t_path("xe-other.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_options o = fast;
    tensor t[NT];
    uint64_t bad;
    int i, ex;

    for (ex = 0; ex < 2; ex++) {
        h5ckpt *ck = NULL;
        o.executor = ex ? H5CKPT_EXECUTOR_FAST : H5CKPT_EXECUTOR_PLAIN;
        write_state(path, m);
        id_base = 100;
        write_state(other, m);
        id_base = 0;
        T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
        T_ALL(T_rank != 0 || rename(other, path) == 0, "rename failed");
        make_state(t);
        bad = read_shard1(ck, m, t);
        T_CHECK(bad);
        T_PASS(NULL, h5ckpt_close(ck));
        for (i = 0; i < NT; i++)
            tensor_release(&t[i]);
    }
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("exchange");
    TCase *tc = tcase_create("exchange");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, shard1_reads_go_through_the_exchange);
    tcase_add_test(tc, exchange_off_reads_the_same_per_run);
    tcase_add_test(tc, a_rank_with_a_strided_buffer_reads_alone);
    tcase_add_test(tc, a_truncated_file_fails_alike_on_every_rank);
    tcase_add_test(tc, a_reader_reads_the_file_it_opened);
    suite_add_tcase(s, tc);
    return s;
}
