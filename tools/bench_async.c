/*
 * h5ckpt bench --write FILE --async: an asynchronous save against its
 * floors, all in one run (docs/h5ckpt-bench.md, docs/PERFORMANCE.md "Async
 * save").  Phases, every timed one after sync() and a barrier:
 *   1. warm-up: one asynchronous save (allocates the snapshot memory, kept
 *      in an h5ckpt_snapshot for the saves after it, as training would);
 *   2. sync: h5ckpt_commit of the state (time in commit);
 *   3. async: h5ckpt_commit_start then at once h5ckpt_commit_wait: the
 *      *stall* (time in start) and the *background* time (start -> wait
 *      returns), against 2;
 *   4. loop alone: a fixed amount of arithmetic on a buffer of its own,
 *      calibrated to last about as long as 2;
 *   5. overlap: an asynchronous save with the same loop between start and
 *      wait; the loop's slowdown against 4, and how much of the extra time
 *      the loop's thread spent waiting for a CPU (run-queue delay from
 *      /proc/thread-self/schedstat, else wall minus CPU time);
 *   6. peak RSS per rank over its own shard (after 1-5);
 *   7. REPS rounds of: a synchronous commit, the memcpy floor, a
 *      synchronous commit, an asynchronous save, the memcpy floor again.
 *      The floor: the rank's own bytes (what it writes) copied into memory
 *      allocated and touched beforehand (host), or device to host into
 *      pinned memory (--device cuda), the floor of any snapshot.  The
 *      first floor copy and the asynchronous save both come right after a
 *      synchronous commit, so that the stall is set against a copy made in
 *      the same conditions: on the development VM any large copy made
 *      within seconds of a commit with O_DIRECT writes ran 5-10x slower
 *      than the same copy made later (docs/PERFORMANCE.md, "Async save").
 *      The second floor copy ("settled", right after the save) shows that
 *      difference; the ratios use the first.
 * Times are the maximum over ranks.  The stall, memcpy, background and
 * synchronous times reported are medians over the rounds of 7, and the
 * ratios the medians of each round's ratio: on a shared or virtual
 * machine one copy of a GiB can take 0.1 s or 1.6 s a few seconds apart,
 * so a single pair says little.
 */
#include "bench.h"
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Rounds of phase 7. */
#define REPS 3

static double now(void) { return MPI_Wtime(); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[REPS];
    int i;

    for (i = 0; i < n; i++)
        s[i] = v[i];
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double clock_s(clockid_t c)
{
    struct timespec ts;

    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds this thread has waited on a run queue, or -1 (no schedstat). */
static double run_delay(void)
{
    unsigned long long on = 0, wait = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    int ok = f && fscanf(f, "%llu %llu", &on, &wait) == 2;

    if (f)
        fclose(f);
    return ok ? (double)wait * 1e-9 : -1;
}

static double max_all(double v)
{
    double m = v;

    MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return m;
}

static double sum_all(double v)
{
    double s = v;

    MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return s;
}

/* ---- the compute loop ---------------------------------------------------- */

#define LOOP_N (1u << 20) /* 4 MiB of float */
static float *loop_buf;
static volatile float loop_sink;

static void compute(uint64_t iters)
{
    uint64_t it;
    size_t i;

    for (it = 0; it < iters; it++)
        for (i = 0; i < LOOP_N; i++)
            loop_buf[i] = loop_buf[i] * 0.999999f + 1e-6f;
    loop_sink = loop_buf[it % LOOP_N];
}

typedef struct {
    double wall, cpu, delay; /* the loop: wall, its thread's CPU, run-queue wait */
} loop_times;

static void timed_loop(uint64_t iters, loop_times *lt)
{
    double w = now(), c = clock_s(CLOCK_THREAD_CPUTIME_ID), d = run_delay();

    compute(iters);
    lt->wall = now() - w;
    lt->cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c;
    lt->delay = d >= 0 ? run_delay() - d : lt->wall - lt->cpu;
}

/* ---- one save ------------------------------------------------------------- */

enum { SYNC, ASYNC, ASYNC_LOOP };

typedef struct {
    double commit;  /* SYNC: time in h5ckpt_commit */
    double start;   /* ASYNC*: time in h5ckpt_commit_start (the stall) */
    double bg;      /* ASYNC*: start -> wait returns */
    double wait;    /* ASYNC*: time in h5ckpt_commit_wait */
    double bg_cpu;  /* ASYNC_LOOP: process CPU beside the loop's thread */
    loop_times loop;
    uint64_t moved;
} save_times;

static const h5ckpt_buffer cuda_buf = {H5CKPT_BUFFER_VERSION, H5CKPT_MEM_CUDA, NULL};

/* Collective: save the state once.  Returns 0 or the library's code (the
 * same on every rank) with its message in `msg`. */
static int save(const bench_async_in *in, int mode, h5ckpt_snapshot *snap,
                uint64_t iters, save_times *st, char *msg)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0, ""};
    h5ckpt *ck = NULL;
    double t0, t1, pc = 0;
    size_t i;
    int rc;

    memset(st, 0, sizeof *st);
    o.mesh = in->mesh;
    o.no_fsync = !in->fsync;
    o.executor = in->executor;
    o.snapshot = snap;
    o.snapshot_bytes = in->snapshot_bytes;
    if (cli_rank == 0) { /* not timed: the old file, and dirty pages */
        unlink(in->file);
        sync();
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if ((rc = h5ckpt_create(&ck, in->file, MPI_COMM_WORLD, &o, &err)) != 0) {
        snprintf(msg, 512, "%s", err.message);
        return rc;
    }
    for (i = 0; i < in->n; i++)
        h5ckpt_tensor_put(ck, in->t[i].path, in->t[i].dtype, in->layouts[i],
                          in->cuda ? in->dbufs[i] : in->bufs[i],
                          in->cuda ? &cuda_buf : NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now();
    if (mode == SYNC) {
        rc = h5ckpt_commit(ck);
        st->commit = now() - t0;
    } else if ((rc = h5ckpt_commit_start(ck)) == 0) {
        st->start = now() - t0;
        if (mode == ASYNC_LOOP) {
            pc = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            timed_loop(iters, &st->loop);
            st->bg_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - pc - st->loop.cpu;
        }
        t1 = now();
        rc = h5ckpt_commit_wait(ck);
        st->wait = now() - t1;
        st->bg = now() - t0;
    }
    if (rc != 0)
        snprintf(msg, 512, "%s", h5ckpt_errmsg(ck));
    st->moved = h5ckpt_bytes_written(ck);
    h5ckpt_close(ck);
    return rc;
}

/* ---- the memcpy floor ------------------------------------------------------- */

/* Copy this rank's first `bytes` of its buffers (in order) into `dst`. */
static void copy_own(const bench_async_in *in, unsigned char *dst, uint64_t bytes)
{
    size_t i;

    for (i = 0; bytes && i < in->n; i++) {
        uint64_t k = in->bytes[i] < bytes ? in->bytes[i] : bytes;
        memcpy(dst, in->bufs[i], (size_t)k);
        dst += k;
        bytes -= k;
    }
}

static size_t pinned_size(uint64_t bytes)
{
    return bytes < ((uint64_t)256 << 20) ? (size_t)(bytes ? bytes : 1) : (size_t)256 << 20;
}

static void floor_free(const bench_async_in *in, unsigned char *dst)
{
    if (in->cuda)
        bench_dev_pinned_free(dst);
    else
        free(dst);
}

/* Collective: the memcpy floor's destination for `bytes`, allocated and
 * touched (NULL on every rank when a rank could not). */
static unsigned char *floor_alloc(const bench_async_in *in, uint64_t bytes, char *msg)
{
    unsigned char *dst = NULL;
    int bad;

    if (in->cuda)
        bad = bench_dev_pinned((void **)&dst, pinned_size(bytes), msg) != 0;
    else if ((bad = !(dst = malloc(bytes + 1))) == 0)
        /* allocated and touched: no page faults in the timed copy.  Not
         * zero: the compiler turns malloc + memset(0) into calloc, whose
         * fresh pages the copy would then fault in one by one */
        memset(dst, 0xa5, bytes + 1);
    if (max_all(bad)) {
        floor_free(in, bad ? NULL : dst);
        if (!*msg)
            snprintf(msg, 512, "memcpy floor: out of memory");
        return NULL;
    }
    return dst;
}

/* Collective: seconds to copy `bytes` into `dst` (max over ranks), or -1. */
static double memcpy_floor(const bench_async_in *in, unsigned char *dst, uint64_t bytes,
                           char *msg)
{
    double t0, secs;
    int bad = 0;

    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now();
    if (in->cuda)
        bad = bench_dev_copy(dst, pinned_size(bytes), in->dbufs, in->bytes, in->n, bytes,
                             1, msg) != 0;
    else
        copy_own(in, dst, bytes);
    secs = now() - t0;
    return max_all(bad) ? -1 : max_all(secs);
}

/* ---- the run ------------------------------------------------------------------- */

int bench_async(const bench_async_in *in, char *msg)
{
    h5ckpt_snapshot *snap = NULL;
    save_times warm, sy, as, ov;
    loop_times alone;
    struct rusage ru;
    double rate, target, mc, share, extra, delay_w, delay_a;
    double stall, bg, commit, la, lw, wait_after, bgcpu, mcs;
    double r_stall[REPS], r_mc[REPS], r_mcs[REPS], r_bg[REPS], r_sync[REPS], r_sm[REPS],
        r_bs[REPS];
    uint64_t iters, rss, own, own_max, rss_over, held;
    unsigned char *dst = NULL;
    int rc, k;

    if (!(loop_buf = malloc(LOOP_N * sizeof *loop_buf)) ||
        h5ckpt_snapshot_create(&snap) != 0) {
        snprintf(msg, 512, "out of memory");
        free(loop_buf);
        return -1;
    }
    memset(loop_buf, 0, LOOP_N * sizeof *loop_buf);
    if ((rc = save(in, ASYNC, snap, 0, &warm, msg)) != 0 ||
        (rc = save(in, SYNC, snap, 0, &sy, msg)) != 0 ||
        (rc = save(in, ASYNC, snap, 0, &as, msg)) != 0)
        goto done;
    /* the loop: calibrated on rank 0 to last about as long as the
     * synchronous commit (at least 0.2 s), the same on every rank */
    commit = max_all(sy.commit);
    MPI_Barrier(MPI_COMM_WORLD);
    for (iters = 1;; iters *= 2) { /* at least 0.1 s of it */
        rate = now();
        compute(iters);
        if ((rate = now() - rate) >= 0.1)
            break;
    }
    rate /= (double)iters;
    MPI_Bcast(&rate, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    target = commit > 0.2 ? commit : 0.2;
    iters = (uint64_t)(target / (rate > 0 ? rate : 1e-6)) + 1;
    if (cli_rank == 0)
        sync();
    MPI_Barrier(MPI_COMM_WORLD);
    timed_loop(iters, &alone);
    MPI_Barrier(MPI_COMM_WORLD);
    if ((rc = save(in, ASYNC_LOOP, snap, iters, &ov, msg)) != 0)
        goto done;
    held = h5ckpt_snapshot_bytes(snap);
    /* the peak so far: before the memcpy floor's own memory */
    getrusage(RUSAGE_SELF, &ru);
    rss = (uint64_t)ru.ru_maxrss * 1024;
    rss_over = rss > in->shard_bytes ? rss - in->shard_bytes : 0;
    MPI_Allreduce(MPI_IN_PLACE, &rss, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &rss_over, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &held, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    own = sy.moved;
    MPI_Allreduce(&own, &own_max, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    /* phase 7: rounds of sync, async and the floor, side by side */
    if (!(dst = floor_alloc(in, own, msg))) {
        rc = -1;
        goto done;
    }
    for (k = 0; k < REPS; k++) {
        /* the floor and the asynchronous save each right after a
         * synchronous commit: the same conditions for both */
        if ((rc = save(in, SYNC, snap, 0, &sy, msg)) != 0)
            goto done;
        if ((mc = memcpy_floor(in, dst, own, msg)) < 0) {
            rc = -1;
            goto done;
        }
        if ((rc = save(in, SYNC, snap, 0, &sy, msg)) != 0 ||
            (rc = save(in, ASYNC, snap, 0, &as, msg)) != 0)
            goto done;
        if ((r_mcs[k] = memcpy_floor(in, dst, own, msg)) < 0) {
            rc = -1;
            goto done;
        }
        r_sync[k] = max_all(sy.commit);
        r_stall[k] = max_all(as.start);
        r_bg[k] = max_all(as.bg);
        r_mc[k] = mc;
        r_sm[k] = r_stall[k] / mc;
        r_bs[k] = r_bg[k] / r_sync[k];
    }
    stall = median(r_stall, REPS);
    mc = median(r_mc, REPS);
    mcs = median(r_mcs, REPS);
    bg = median(r_bg, REPS);
    commit = median(r_sync, REPS);
    la = max_all(alone.wall);
    lw = max_all(ov.loop.wall);
    wait_after = max_all(ov.wait);
    bgcpu = sum_all(ov.bg_cpu) / cli_size;
    /* of the loop's extra time, the part it spent waiting for a CPU */
    delay_w = sum_all(ov.loop.delay) / cli_size;
    delay_a = sum_all(alone.delay) / cli_size;
    extra = sum_all(ov.loop.wall - alone.wall) / cli_size;
    share = extra > 0 ? (delay_w - delay_a) / extra : 0;
    share = share < 0 ? 0 : share > 1 ? 1 : share;
    if (in->json) {
        json_t *j = json_pack(
            "{s:s, s:s, s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, "
            "s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:i}",
            "op", "write-async", "preset", in->preset, "ranks", cli_size, "device",
            in->cuda ? "cuda" : "host", "fsync", in->fsync, "tensors",
            (json_int_t)in->n, "bytes", (json_int_t)in->total_bytes, "own_bytes_max",
            (json_int_t)own_max, "snapshot_budget", (json_int_t)in->snapshot_bytes,
            "snapshot_held_max", (json_int_t)held, "stall_seconds", stall,
            "memcpy_seconds", mc, "memcpy_settled_seconds", mcs,
            "stall_over_memcpy", median(r_sm, REPS),
            "background_seconds", bg, "sync_commit_seconds", commit,
            "background_over_sync", median(r_bs, REPS), "loop_alone_seconds", la,
            "loop_with_save_seconds", lw, "loop_slowdown", lw / la,
            "cpu_contention_share", share, "wait_after_loop_seconds", wait_after,
            "background_cpu_seconds", bgcpu, "rss_max_bytes", (json_int_t)rss,
            "shard_max_bytes", (json_int_t)in->shard_max, "rss_over_shard_max_bytes",
            (json_int_t)rss_over, "rounds", REPS);
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        cli_out("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(j);
    } else {
        cli_out("write --async %s: %zu tensors, %.3f GB, %d ranks, %s%s; own bytes "
                "%.1f MiB max, snapshot memory %.1f MiB max\n",
                in->preset, in->n, (double)in->total_bytes / 1e9, cli_size,
                in->fsync ? "fsync" : "no fsync", in->cuda ? ", CUDA device buffers" : "",
                own_max / 1048576.0, held / 1048576.0);
        cli_out("  stall    %8.3f s  (in h5ckpt_commit_start)\n", stall);
        cli_out("  memcpy   %8.3f s  (own bytes into touched %s memory, after a commit as the "
                "stall)  stall/memcpy %.2f\n",
                mc, in->cuda ? "pinned" : "host", median(r_sm, REPS));
        cli_out("  memcpy   %8.3f s  (the same copy right after the save: settled)\n", mcs);
        cli_out("  backgr.  %8.3f s  (start -> wait returns)\n", bg);
        cli_out("  sync     %8.3f s  (h5ckpt_commit)  background/sync %.2f\n", commit,
                median(r_bs, REPS));
        cli_out("  loop     %8.3f s alone, %.3f s with a save in flight: slowdown %.2f; "
                "%.0f%% of the extra time waiting for a CPU; background thread %.3f "
                "CPU-s per rank; wait after the loop %.3f s\n",
                la, lw, lw / la, share * 100, bgcpu, wait_after);
        cli_out("  peak RSS %8.1f MiB max over ranks; largest own shard %.1f MiB; RSS "
                "over own shard %.1f MiB max\n",
                rss / 1048576.0, in->shard_max / 1048576.0, rss_over / 1048576.0);
    }
done:
    if (dst)
        floor_free(in, dst);
    h5ckpt_snapshot_free(snap);
    free(loop_buf);
    loop_buf = NULL;
    return rc;
}
