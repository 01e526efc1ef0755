/*
 * Writes or checks a fixed model-like checkpoint, for the tool and crash
 * tests.  Values are functions of the global index, so a file written on any
 * mesh holds the same data.
 *   sample write FILE [--mesh 2x2|N] [--slow] [--async]
 *       --slow adds 40 x 4 MiB, paced: 40 flushes 50 ms apart, or with
 *       --async one background write 50 ms per piece (a test knob);
 *       --async commits with h5ckpt_commit_start, prints "background
 *       write started", trains (sleeps) until h5ckpt_commit_test says done,
 *       then h5ckpt_commit_wait
 *   sample read FILE [--verify]                  (any number of ranks;
 *                                                 --verify checks checksums)
 * With --dir, FILE is a checkpoint directory (keep the last 3).
 * Links the convenience library for the pacing knob.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "h5ckpt.h"

enum { NT = 6 };
static const char *names[NT] = {"model/embed.weight", "model/layer.0.weight", "model/layer.0.bias",
                                "model/mask", "model/ids", "step"};
static const h5ckpt_dtype dts[NT] = {H5CKPT_FLOAT32, H5CKPT_FLOAT16, H5CKPT_BFLOAT16,
                                     H5CKPT_BOOL, H5CKPT_INT64, H5CKPT_INT64};
static const int nd[NT] = {2, 2, 1, 2, 1, 0};
static const uint64_t shapes[NT][2] = {{10, 6}, {7, 5}, {5, 0}, {4, 3}, {9, 0}, {0, 0}};
static const int pl2x2[NT][2] = {{H5CKPT_SHARD(0), H5CKPT_SHARD(1)}, {H5CKPT_REPLICATE, H5CKPT_SHARD(0)},
                                 {H5CKPT_REPLICATE, H5CKPT_REPLICATE}, {H5CKPT_SHARD(1), H5CKPT_REPLICATE},
                                 {H5CKPT_SHARD(0), H5CKPT_SHARD(0)}, {H5CKPT_REPLICATE, H5CKPT_REPLICATE}};
static int rank;

/* Exact float16 / bfloat16 bits of a small non-negative integer. */
static uint16_t half_of(unsigned v)
{
    int e = 0;
    if (v == 0)
        return 0;
    while ((2u << e) <= v)
        e++;
    return (uint16_t)(((e + 15) << 10) | ((v - (1u << e)) << (10 - e)));
}

static uint16_t bf16_of(unsigned v)
{
    float f = (float)v;
    uint32_t b;
    memcpy(&b, &f, 4);
    return (uint16_t)(b >> 16);
}

/* Write (or compare) element g of tensor t at p. */
static int elem(int t, uint64_t g, unsigned char *p, int check)
{
    unsigned char want[8];
    size_t es = h5ckpt_dtype_size(dts[t]);
    float f;
    uint16_t h;
    int64_t i;

    switch (t) {
    case 0: f = (float)g * 0.5f; memcpy(want, &f, 4); break;
    case 1: h = half_of((unsigned)g); memcpy(want, &h, 2); break;
    case 2: h = bf16_of((unsigned)g); memcpy(want, &h, 2); break;
    case 3: want[0] = g % 3 == 0; break;
    case 4: i = (int64_t)(g * g) - 5; memcpy(want, &i, 8); break;
    default: i = 1234; memcpy(want, &i, 8); break;
    }
    if (!check) {
        memcpy(p, want, es);
        return 0;
    }
    return memcmp(p, want, es) != 0;
}

/* Fill or check the local buffer of layout l (one box). */
static long walk(int t, const h5ckpt_layout *l, unsigned char *buf, int check)
{
    uint64_t off[2] = {0, 0}, cnt[2] = {1, 1}, i, j, k = 0;
    size_t es = h5ckpt_dtype_size(dts[t]);
    long bad = 0;

    if (h5ckpt_layout_box_count(l) == 0)
        return 0;
    h5ckpt_layout_box_at(l, 0, off, cnt);
    if (nd[t] < 2) {
        off[1] = 0;
        cnt[1] = 1;
    }
    if (nd[t] == 0)
        cnt[0] = 1;
    for (i = 0; i < cnt[0]; i++)
        for (j = 0; j < cnt[1]; j++, k++)
            bad += elem(t, (off[0] + i) * (nd[t] == 2 ? shapes[t][1] : 1) + off[1] + j, buf + k * es, check);
    return bad;
}

#define CHECK(expr)                                                                       \
    do {                                                                                  \
        int rc_ = (expr);                                                                 \
        if (rc_) {                                                                        \
            fprintf(stderr, "rank %d: %s: %s: %s\n", rank, #expr, h5ckpt_errname(rc_),   \
                    ck ? h5ckpt_errmsg(ck) : err.message);                                \
            MPI_Finalize();                                                               \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

int main(int argc, char **argv)
{
    h5ckpt_options opts = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0};
    h5ckpt_mesh *mesh = NULL;
    h5ckpt *ck = NULL;
    h5ckpt_ckdir *dir = NULL;
    int64_t index = -1;
    h5ckpt_layout *l[NT];
    unsigned char *buf[NT];
    int size, t, slow = 0, two = 0, writing, a, verify = 0, async = 0, provided;
    long bad = 0, total = 0;
    float *v = NULL;

    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "read"))) {
        if (rank == 0)
            fprintf(stderr, "usage: sample write|read FILE [--mesh 2x2] [--slow] "
                            "[--async] [--dir] [--verify]\n");
        MPI_Finalize();
        return 2;
    }
    writing = !strcmp(argv[1], "write");
    for (a = 3; a < argc; a++) {
        if (!strcmp(argv[a], "--slow"))
            slow = 1;
        else if (!strcmp(argv[a], "--async"))
            async = 1;
        else if (!strcmp(argv[a], "--verify"))
            verify = 1;
        else if (!strcmp(argv[a], "--dir")) {
            h5ckpt_ckdir_options dop = H5CKPT_CKDIR_OPTIONS_INIT;
            dop.keep_last = 3;
            CHECK(h5ckpt_ckdir_open(&dir, argv[2], MPI_COMM_WORLD, &dop, &err));
        }
        else if (!strcmp(argv[a], "--mesh") && a + 1 < argc)
            two = !strcmp(argv[++a], "2x2");
    }
    {
        int ms[2] = {two ? 2 : size, 2};
        CHECK(h5ckpt_mesh_create(&mesh, MPI_COMM_WORLD, two ? 2 : 1, ms, NULL, &err));
    }
    if (writing) {
        opts.mesh = mesh;
        if (dir)
            CHECK(h5ckpt_ckdir_save(dir, H5CKPT_CKDIR_NEXT, &ck, &opts));
        else
            CHECK(h5ckpt_create(&ck, argv[2], MPI_COMM_WORLD, &opts, &err));
    } else {
        opts.verify_checksums = verify;
        if (dir) {
            CHECK(h5ckpt_ckdir_load(dir, H5CKPT_CKDIR_LATEST, &ck, &opts));
            CHECK(h5ckpt_ckdir_latest(dir, &index));
        } else {
            CHECK(h5ckpt_open(&ck, argv[2], MPI_COMM_WORLD, &opts, &err));
        }
    }
    for (t = 0; t < NT; t++) {
        int p1[1] = {nd[t] ? H5CKPT_SHARD(0) : H5CKPT_REPLICATE};
        if (t == 2)
            p1[0] = H5CKPT_REPLICATE;
        CHECK(h5ckpt_layout_sharded(&l[t], mesh, nd[t], shapes[t], two ? pl2x2[t] : p1, NULL));
        buf[t] = calloc(h5ckpt_layout_local_count(l[t]) + 1, 8);
        if (writing) {
            walk(t, l[t], buf[t], 0);
            CHECK(h5ckpt_tensor_put(ck, names[t], dts[t], l[t], buf[t], NULL));
        } else {
            CHECK(h5ckpt_tensor_get(ck, names[t], dts[t], l[t], buf[t], NULL));
        }
    }
    if (writing) {
        CHECK(h5ckpt_attr_put_float64(ck, "optimizer/param_groups/0", "lr", 0.001));
        CHECK(h5ckpt_attr_put_int64(ck, "", "epoch", 7));
    }
    if (!async)
        CHECK(h5ckpt_flush(ck));
    if (writing && slow) {
        const uint64_t n[1] = {1u << 20};
        const int p1[1] = {H5CKPT_SHARD(0)};
        h5ckpt_layout *sl;
        char name[32];
        uint64_t off, cnt, i;
        CHECK(h5ckpt_layout_sharded(&sl, mesh, 1, n, two ? pl2x2[0] : p1, NULL));
        h5ckpt_layout_box_at(sl, 0, &off, &cnt);
        /* async: every tensor its own buffer, all queued for one commit */
        v = malloc((async ? 40 : 1) * cnt * sizeof *v + 1);
        for (t = 0; t < 40; t++) {
            float *vt = v + (async ? (uint64_t)t * cnt : 0);
            for (i = 0; i < cnt; i++)
                vt[i] = (float)(t + off + i);
            snprintf(name, sizeof name, "slow/t%02d", t);
            CHECK(h5ckpt_tensor_put(ck, name, H5CKPT_FLOAT32, sl, vt, NULL));
            if (!async) {
                CHECK(h5ckpt_flush(ck));
                usleep(50000);
            }
        }
        h5ckpt_layout_free(sl);
        if (async) { /* the background writer takes ~2 s */
            h5ckpt__knobs k = *h5ckpt__knobs_get();
            k.write_pace_us = 50000;
            h5ckpt__knobs_set(&k);
        }
    }
    if (writing && async) {
        int done = 0;
        if (dir)
            CHECK(h5ckpt_ckdir_commit_start(dir, ck));
        else
            CHECK(h5ckpt_commit_start(ck));
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            printf("background write started\n");
            fflush(stdout);
        }
        /* training goes on: the buffers change, or go, at once */
        for (t = 0; t < NT; t++)
            memset(buf[t], 0x5A, h5ckpt_layout_local_count(l[t]) * h5ckpt_dtype_size(dts[t]));
        free(v);
        v = NULL;
        while (h5ckpt_commit_test(ck, &done) == 0 && !done)
            usleep(10000);
        if (dir) {
            CHECK(h5ckpt_ckdir_commit_wait(dir, ck));
            CHECK(h5ckpt_ckdir_latest(dir, &index));
        } else {
            CHECK(h5ckpt_commit_wait(ck));
        }
    } else if (writing && dir) {
        CHECK(h5ckpt_ckdir_commit(dir, ck));
        CHECK(h5ckpt_ckdir_latest(dir, &index));
    } else if (writing) {
        CHECK(h5ckpt_commit(ck));
    } else {
        int64_t epoch = 0;
        for (t = 0; t < NT; t++)
            bad += walk(t, l[t], buf[t], 1);
        CHECK(h5ckpt_attr_get_int64(ck, "", "epoch", &epoch));
        bad += epoch != 7;
        /* a --slow save adds 40 tensors under slow/ */
        bad += h5ckpt_tensor_count(ck) !=
               NT + (h5ckpt_tensor_info(ck, "slow/t00", NULL, NULL, NULL) == 0 ? 40 : 0);
    }
    CHECK(h5ckpt_close(ck));
    free(v);
    for (t = 0; t < NT; t++) {
        h5ckpt_layout_free(l[t]);
        free(buf[t]);
    }
    h5ckpt_mesh_free(mesh);
    h5ckpt_ckdir_free(dir);
    MPI_Allreduce(&bad, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && dir)
        printf("%s %s: %s (ckpt %lld)\n", argv[1], argv[2], total ? "MISMATCH" : "ok",
               (long long)index);
    else if (rank == 0)
        printf("%s %s: %s\n", argv[1], argv[2], total ? "MISMATCH" : "ok");
    MPI_Finalize();
    return total ? 1 : 0;
}
