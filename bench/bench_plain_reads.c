/*
 * The plain executor's reads: independent H5Dread (what it does) against
 * collective H5Dread (what it did until issue 13; wrong data with OMPIO
 * when selections overlap across ranks).
 *   bench_plain_reads CASE REPS DIR
 * CASE (int32 tensors, written Shard(0) by the fast executor):
 *   small    2,000 tensors of 1,024 elements, read Shard(0)    (disjoint)
 *   big      4 tensors of 16 Mi elements (256 MiB), Shard(0)   (disjoint)
 *   whole    256 tensors of 64 Ki elements, read whole by every rank
 *            (identical selections)
 *   overlap  256 tensors of 10,000 elements, each rank a flat range (issue 13's
 *            [1109, 7676), [3316, 3809), [3131, 4420) per 10,000, then
 *            [0, 3333)): overlapping, not identical
 * Each repetition times one load of every tensor (open, gets, one flush,
 * close) with independent reads, then one with collective reads, and
 * counts the wrong elements of each.  Prints one line per mode: the median
 * seconds over REPS and the wrong elements summed over ranks and
 * repetitions.  The file stays in the page cache: this measures what the
 * transfer mode costs, not the disk.  Run through scripts/bench_plain_reads.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "h5ckpt.h"

static int rank, size, nt, kase;
static uint64_t n;

enum { SMALL, BIG, WHOLE, OVERLAP };

#define DIE(expr)                                                              \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_) {                                                             \
            fprintf(stderr, "%s: %s\n", #expr, h5ckpt_errname(rc_));           \
            MPI_Abort(MPI_COMM_WORLD, 1);                                      \
        }                                                                      \
    } while (0)

static int32_t value(int t, uint64_t g) { return (int32_t)(g * 31u + (uint64_t)t * 7919u); }

static void save(const char *path)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    uint64_t a = n * (uint64_t)rank / (uint64_t)size, b = n * (uint64_t)(rank + 1) / (uint64_t)size, k;
    int32_t *buf = malloc((size_t)(b - a + 1) * (size_t)nt * sizeof *buf);
    h5ckpt_layout *l;
    h5ckpt *ck;
    char name[64];
    int t;

    o.executor = H5CKPT_EXECUTOR_FAST;
    o.no_fsync = 1;
    DIE(h5ckpt_layout_range(&l, 1, &n, a, b, NULL));
    DIE(h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (t = 0; t < nt; t++) {
        int32_t *p = buf + (size_t)t * (size_t)(b - a);
        for (k = a; k < b; k++)
            p[k - a] = value(t, k);
        snprintf(name, sizeof name, "t%05d", t);
        DIE(h5ckpt_tensor_put(ck, name, H5CKPT_INT32, l, p, NULL));
    }
    DIE(h5ckpt_commit(ck));
    DIE(h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    free(buf);
}

/* This rank's flat range of every tensor. */
static void reader_range(uint64_t *a, uint64_t *b)
{
    if (kase == WHOLE) {
        *a = 0, *b = n;
    } else if (kase == OVERLAP) { /* issue 13's ranges, per 10,000 */
        static const uint64_t r[4][2] = {{1109, 7676}, {3316, 3809}, {3131, 4420}, {0, 3333}};
        *a = n * r[rank % 4][0] / 10000;
        *b = n * r[rank % 4][1] / 10000;
    } else {
        *a = n * (uint64_t)rank / (uint64_t)size;
        *b = n * (uint64_t)(rank + 1) / (uint64_t)size;
    }
}

/* One timed load; adds this rank's wrong elements to *wrong. */
static double load(const char *path, int collective, int32_t *buf, uint64_t *wrong)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    uint64_t a, b, k;
    h5ckpt_layout *l;
    h5ckpt *ck;
    char name[64];
    double t0, t1;
    int t;

    reader_range(&a, &b);
    o.executor = H5CKPT_EXECUTOR_PLAIN;
    {
        h5ckpt__knobs kn = *h5ckpt__knobs_get();
        kn.plain_collective_reads = collective;
        h5ckpt__knobs_set(&kn);
    }
    DIE(h5ckpt_layout_range(&l, 1, &n, a, b, NULL));
    memset(buf, 0, (size_t)(b - a) * (size_t)nt * sizeof *buf);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    DIE(h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (t = 0; t < nt; t++) {
        snprintf(name, sizeof name, "t%05d", t);
        DIE(h5ckpt_tensor_get(ck, name, H5CKPT_INT32, l, buf + (size_t)t * (size_t)(b - a), NULL));
    }
    DIE(h5ckpt_flush(ck));
    DIE(h5ckpt_close(ck));
    MPI_Barrier(MPI_COMM_WORLD);
    t1 = MPI_Wtime();
    for (t = 0; t < nt; t++)
        for (k = a; k < b; k++)
            *wrong += buf[(size_t)t * (size_t)(b - a) + (k - a)] != value(t, k);
    h5ckpt_layout_free(l);
    return t1 - t0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"small", "big", "whole", "overlap"};
    char path[600];
    double *secs[2];
    uint64_t wrong[2] = {0, 0}, all[2];
    int32_t *buf;
    int reps, r, m;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (kase = 0; argc == 4 && kase < 4 && strcmp(argv[1], names[kase]); kase++)
        ;
    if (argc != 4 || kase == 4 || (reps = atoi(argv[2])) < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: bench_plain_reads small|big|whole|overlap REPS DIR\n");
        MPI_Finalize();
        return 2;
    }
    nt = kase == SMALL ? 2000 : kase == BIG ? 4 : 256;
    n = kase == SMALL ? 1024 : kase == BIG ? (uint64_t)16 << 20 : kase == WHOLE ? (uint64_t)64 << 10 : 10000;
    snprintf(path, sizeof path, "%s/plain-reads-%s.h5", argv[3], names[kase]);
    save(path);
    buf = malloc((size_t)n * (size_t)nt * sizeof *buf);
    secs[0] = calloc((size_t)reps, sizeof(double));
    secs[1] = calloc((size_t)reps, sizeof(double));
    for (r = 0; r < reps; r++) /* interleaved */
        for (m = 0; m < 2; m++)
            secs[m][r] = load(path, m, buf, &wrong[m]);
    MPI_Reduce(wrong, all, 2, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    for (m = 0; rank == 0 && m < 2; m++) {
        qsort(secs[m], (size_t)reps, sizeof(double), cmp_double);
        printf("%-8s %d ranks %-11s median %.4f s (min %.4f, max %.4f, %d runs), "
               "%llu wrong elements\n",
               names[kase], size, m ? "collective" : "independent", secs[m][reps / 2],
               secs[m][0], secs[m][reps - 1], reps, (unsigned long long)all[m]);
    }
    if (rank == 0)
        remove(path);
    free(buf);
    free(secs[0]);
    free(secs[1]);
    MPI_Finalize();
    return 0;
}
