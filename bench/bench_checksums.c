/*
 * Cost of checksums on the write path and of verifying loads.
 *   bench_checksums CASE REPS DIR
 * CASE: small (10,000 float32 tensors of 256 elements, Shard(0)) or big
 * (4 float32 tensors of 16 Mi elements = 256 MiB, Shard(0)).  For each of
 * REPS repetitions: save with checksums off and on (fsync off: page cache),
 * then load with verification off and on, on the writer's layout (aligned)
 * and on a flat range shifted by n/8 elements per rank boundary (misaligned: pieces
 * cut by a box are read again).  Prints the median of each, in seconds, and
 * the ratios.  Run through scripts/bench_checksums.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

static int rank, size;
static int nt;
static uint64_t n;

#define DIE(expr)                                                              \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_) {                                                             \
            fprintf(stderr, "%s: %s\n", #expr, h5ckpt_errname(rc_));           \
            MPI_Abort(MPI_COMM_WORLD, 1);                                      \
        }                                                                      \
    } while (0)

static double save(const char *path, int sums, h5ckpt_mesh *m, float *buf)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    const int sh[1] = {H5CKPT_SHARD(0)};
    h5ckpt__knobs k = *h5ckpt__knobs_get();
    h5ckpt_layout *l;
    h5ckpt *ck;
    char name[64];
    double t;
    int i;

    k.checksums_off = !sums; /* the benchmark's own knob */
    h5ckpt__knobs_set(&k);
    o.no_fsync = 1;
    DIE(h5ckpt_layout_sharded(&l, m, 1, &n, sh, NULL));
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    DIE(h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "model/t%05d", i);
        DIE(h5ckpt_tensor_put(ck, name, H5CKPT_FLOAT32, l, buf, NULL));
    }
    DIE(h5ckpt_commit(ck));
    DIE(h5ckpt_close(ck));
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime() - t;
    h5ckpt_layout_free(l);
    return t;
}

static double load(const char *path, int verify, int shifted, h5ckpt_mesh *m,
                   float *buf)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    const int sh[1] = {H5CKPT_SHARD(0)};
    uint64_t a, b, c = (n + (uint64_t)size - 1) / (uint64_t)size;
    h5ckpt_layout *l;
    h5ckpt *ck;
    char name[64];
    double t;
    int i;

    a = (uint64_t)rank * c;
    b = a + c < n ? a + c : n;
    if (shifted) {
        a = rank ? a + n / 8 : 0;
        b = rank == size - 1 ? n : b + n / 8;
        DIE(h5ckpt_layout_range(&l, 1, &n, a, b, NULL));
    } else {
        DIE(h5ckpt_layout_sharded(&l, m, 1, &n, sh, NULL));
    }
    o.verify_checksums = verify;
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    DIE(h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "model/t%05d", i);
        DIE(h5ckpt_tensor_get(ck, name, H5CKPT_FLOAT32, l, buf, NULL));
    }
    DIE(h5ckpt_flush(ck));
    DIE(h5ckpt_close(ck));
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime() - t;
    h5ckpt_layout_free(l);
    return t;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int k)
{
    qsort(v, (size_t)k, sizeof *v, cmpd);
    return v[k / 2];
}

int main(int argc, char **argv)
{
    enum { NCOL = 6 };
    static const char *cols[NCOL] = {"save, checksums off", "save, checksums on",
                                     "load aligned, verify off", "load aligned, verify on",
                                     "load misaligned, verify off", "load misaligned, verify on"};
    double *v[NCOL], med[NCOL];
    char a[512], bpath[512];
    h5ckpt_mesh *m;
    float *buf;
    int reps, r, k;
    uint64_t i;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 4 || (strcmp(argv[1], "small") && strcmp(argv[1], "big"))) {
        if (rank == 0)
            fprintf(stderr, "usage: bench_checksums small|big REPS DIR\n");
        MPI_Finalize();
        return 2;
    }
    nt = strcmp(argv[1], "small") ? 4 : 10000;
    n = nt == 4 ? (uint64_t)16 << 20 : 256;
    reps = atoi(argv[2]) > 0 ? atoi(argv[2]) : 3;
    snprintf(a, sizeof a, "%s/bench-off.h5", argv[3]);
    snprintf(bpath, sizeof bpath, "%s/bench-on.h5", argv[3]);
    DIE(h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &size, NULL, NULL));
    buf = malloc((n + 1) * sizeof *buf);
    for (i = 0; i < n; i++)
        buf[i] = (float)i;
    for (k = 0; k < NCOL; k++)
        v[k] = calloc((size_t)reps, sizeof(double));
    /* Off and on alternate which goes first (ABBA), so that write-back of
     * the previous file or a neighbour's load does not favour one. */
    for (r = 0; r < reps; r++) {
        int x = r % 2, y = !x;
        v[x][r] = save(x ? bpath : a, x, m, buf);
        v[y][r] = save(y ? bpath : a, y, m, buf);
        v[2 + x][r] = load(bpath, x, 0, m, buf);
        v[2 + y][r] = load(bpath, y, 0, m, buf);
        v[4 + x][r] = load(bpath, x, 1, m, buf);
        v[4 + y][r] = load(bpath, y, 1, m, buf);
    }
    {
        /* The hashing alone: XXH3-64 over this rank's shard of all tensors. */
        uint64_t c = (n + (uint64_t)size - 1) / (uint64_t)size, h = 0;
        double t = MPI_Wtime();
        for (k = 0; k < nt; k++)
            h ^= h5ckpt__hash_strided(buf, 1, &c, NULL, 4);
        t = MPI_Wtime() - t;
        if (rank == 0)
            printf("  hashing alone: %.4f s for %llu bytes per rank (%.1f GB/s)%s\n", t,
                   (unsigned long long)(c * 4 * (uint64_t)nt), (double)c * 4 * nt / t / 1e9,
                   h == 42 ? " " : "");
    }
    if (rank == 0) {
        printf("%s: %d tensors of %llu float32, %d ranks, median of %d\n", argv[1], nt,
               (unsigned long long)n, size, reps);
        for (k = 0; k < NCOL; k++)
            printf("  %-30s %.4f s\n", cols[k], med[k] = median(v[k], reps));
        printf("  save:            checksums on / off     = %.3f\n", med[1] / med[0]);
        printf("  aligned load:    verify on / off        = %.3f\n", med[3] / med[2]);
        printf("  misaligned load: verify on / off        = %.3f\n", med[5] / med[4]);
    }
    for (k = 0; k < NCOL; k++)
        free(v[k]);
    free(buf);
    h5ckpt_mesh_free(m);
    MPI_Finalize();
    return 0;
}
