/*
 * Per-phase costs that grow with the number of tensors and of ranks: time,
 * MPI calls and bytes, and memory high-water marks, per rank, for one save
 * and one load through the public API.
 *
 *   bench_scale LAYOUT NTENSORS REPS DIR
 *
 * LAYOUT (every tensor float32 [4P, 16] on P ranks, 256 bytes per rank):
 *   shard   written Shard(0) on a 1-D mesh (one piece per rank per tensor,
 *           as FSDP2), read back the same way (verifying checksums);
 *   repl    written Replicate() (one piece per tensor, owners spread),
 *           read back the same way;
 *   range   written and read as explicit flat ranges (FSDP1/ZeRO), one per
 *           rank: the planner gathers every rank's boxes;
 *   cols    written Shard(0), read Shard(1) (fragmented reads: the node
 *           exchange plans them).
 *
 * Phases are the library's own internal steps, timed without changing it:
 * the benchmark is linked with -Wl,--wrap for each internal function that
 * starts a phase and for the MPI calls the library makes (bench/local.mk), so
 * every MPI call is counted against the innermost phase running.  A phase's
 * time and bytes exclude those of the phases nested in it.  Memory: the
 * process's resident high-water mark during the phase (VmHWM, reset through
 * /proc/self/clear_refs), minus the resident size when it began.
 *
 * Output: one line per phase and repetition,
 *   phase NAME P T LAYOUT REP RANK0_S MAXOTHER_S R0_CALLS R0_OUT R0_IN
 *         OTHER_CALLS OTHER_OUT OTHER_IN R0_MEM_KB OTHER_MEM_KB R0_CPU_S OTHER_CPU_S
 * (CPU: this process's user+sys seconds in the phase: on a shared,
 * oversubscribed machine, the work a phase costs, where wall time also
 * counts the waiting)
 * (OTHER_*: the largest over ranks 1..P-1, 0 when P == 1).  scripts/bench-scale.sh
 * runs the grid and docs/SCALING.md fits these numbers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "handle/handle.h"
#include "io/exec.h"

/* ---- phases -------------------------------------------------------------- */

enum {
    PH_CREATE, PH_PUT, PH_FLUSH, PH_PLAN, PH_SUMREC, PH_EXEC, PH_OBJECTS,
    PH_OFFSETS, PH_COMMIT, PH_SUMWRITE, PH_CLOSE_W,
    PH_OPEN, PH_INDEX, PH_SUMLOAD, PH_GET, PH_RFLUSH, PH_RPLAN, PH_REXEC,
    PH_REPLICA, PH_XPLAN, PH_XRUN, PH_SUMCHECK, PH_CLOSE_R, PH_N
};
static const char *const ph_name[PH_N] = {
    "w.create", "w.put", "w.flush", "w.plan", "w.sum_record", "w.exec",
    "w.objects", "w.offsets", "w.commit", "w.sum_write", "w.close",
    "r.open", "r.index", "r.sum_load", "r.get", "r.flush", "r.plan", "r.exec",
    "r.replica_plan", "r.xplan", "r.xrun", "r.sum_check", "r.close"};

typedef struct {
    double t;            /* exclusive seconds */
    double cpu;          /* exclusive CPU seconds of this process (user+sys) */
    double calls, out, in; /* MPI calls and bytes sent/received, exclusive */
    double mem_kb;       /* high-water mark minus resident size at start */
} stat;

static stat st[PH_N];
static int stack[16], depth;
static double t_start[16], child_t[16], c_start[16], child_c[16];
static long rss0[16], peak[16];
static int rank, size;

static long status_kb(const char *key)
{
    char line[256];
    long v = 0;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n)) {
            v = atol(line + n + 1);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static void hwm_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");

    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double cpu_now(void)
{
    struct rusage u;

    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

static void push(int ph)
{
    long h = status_kb("VmHWM:");

    if (depth > 0 && h > peak[depth - 1])
        peak[depth - 1] = h;
    hwm_reset();
    stack[depth] = ph;
    t_start[depth] = MPI_Wtime();
    child_t[depth] = 0;
    c_start[depth] = cpu_now();
    child_c[depth] = 0;
    rss0[depth] = status_kb("VmRSS:");
    peak[depth] = 0;
    depth++;
}

static void pop(void)
{
    long h = status_kb("VmHWM:");
    double t, c;
    stat *s;

    depth--;
    s = &st[stack[depth]];
    t = MPI_Wtime() - t_start[depth];
    c = cpu_now() - c_start[depth];
    s->t += t - child_t[depth];
    s->cpu += c - child_c[depth];
    if (h > peak[depth])
        peak[depth] = h;
    if (peak[depth] - rss0[depth] > s->mem_kb)
        s->mem_kb = (double)(peak[depth] - rss0[depth]);
    if (depth > 0) {
        child_t[depth - 1] += t;
        child_c[depth - 1] += c;
        if (peak[depth] > peak[depth - 1])
            peak[depth - 1] = peak[depth];
    }
    hwm_reset();
}

static void count(double out, double in)
{
    if (depth == 0)
        return;
    st[stack[depth - 1]].calls += 1;
    st[stack[depth - 1]].out += out;
    st[stack[depth - 1]].in += in;
}

/* ---- the library's phases (-Wl,--wrap=NAME in bench/local.mk) ------------ */

#define PHASE(ph, call)                                                        \
    do {                                                                       \
        int r_;                                                                \
        push(ph);                                                              \
        r_ = call;                                                             \
        pop();                                                                 \
        return r_;                                                             \
    } while (0)
#define WRITER(io) ((io)->file->writer)

int __real_h5ckpt_flush(h5ckpt *);
int __wrap_h5ckpt_flush(h5ckpt *);
int __wrap_h5ckpt_flush(h5ckpt *ck)
{
    PHASE(ck->mode == H5CKPT__WRITER ? PH_FLUSH : PH_RFLUSH, __real_h5ckpt_flush(ck));
}
int __real_h5ckpt__plan_build(h5ckpt__io *, h5ckpt__batch *, h5ckpt__plan *);
int __wrap_h5ckpt__plan_build(h5ckpt__io *, h5ckpt__batch *, h5ckpt__plan *);
int __wrap_h5ckpt__plan_build(h5ckpt__io *io, h5ckpt__batch *b, h5ckpt__plan *p)
{
    PHASE(WRITER(io) ? PH_PLAN : PH_RPLAN, __real_h5ckpt__plan_build(io, b, p));
}
int __real_h5ckpt__sums_record(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__sums_record(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__sums_record(h5ckpt__io *io, const h5ckpt__plan *p)
{
    PHASE(PH_SUMREC, __real_h5ckpt__sums_record(io, p));
}
int __real_h5ckpt__io_write(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__io_write(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__io_write(h5ckpt__io *io, const h5ckpt__plan *p)
{
    PHASE(PH_EXEC, __real_h5ckpt__io_write(io, p));
}
int __real_h5ckpt__io_read(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__io_read(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__io_read(h5ckpt__io *io, const h5ckpt__plan *p)
{
    PHASE(PH_REXEC, __real_h5ckpt__io_read(io, p));
}
int __real_h5ckpt__objects_create(h5ckpt__io *, h5ckpt__batch *);
int __wrap_h5ckpt__objects_create(h5ckpt__io *, h5ckpt__batch *);
int __wrap_h5ckpt__objects_create(h5ckpt__io *io, h5ckpt__batch *b)
{
    PHASE(PH_OBJECTS, __real_h5ckpt__objects_create(io, b));
}
int __real_h5ckpt__meta_share_offsets(h5ckpt__io *, h5ckpt__batch *);
int __wrap_h5ckpt__meta_share_offsets(h5ckpt__io *, h5ckpt__batch *);
int __wrap_h5ckpt__meta_share_offsets(h5ckpt__io *io, h5ckpt__batch *b)
{
    PHASE(PH_OFFSETS, __real_h5ckpt__meta_share_offsets(io, b));
}
int __real_h5ckpt__sums_write(h5ckpt__ctx *, h5ckpt__file *, int);
int __wrap_h5ckpt__sums_write(h5ckpt__ctx *, h5ckpt__file *, int);
int __wrap_h5ckpt__sums_write(h5ckpt__ctx *ctx, h5ckpt__file *f, int durable)
{
    PHASE(PH_SUMWRITE, __real_h5ckpt__sums_write(ctx, f, durable));
}
int __real_h5ckpt__index_load(h5ckpt__ctx *, h5ckpt__file *, const h5ckpt_options *);
int __wrap_h5ckpt__index_load(h5ckpt__ctx *, h5ckpt__file *, const h5ckpt_options *);
int __wrap_h5ckpt__index_load(h5ckpt__ctx *ctx, h5ckpt__file *f, const h5ckpt_options *o)
{
    PHASE(PH_INDEX, __real_h5ckpt__index_load(ctx, f, o));
}
int __real_h5ckpt__sums_load(h5ckpt__ctx *, h5ckpt__file *);
int __wrap_h5ckpt__sums_load(h5ckpt__ctx *, h5ckpt__file *);
int __wrap_h5ckpt__sums_load(h5ckpt__ctx *ctx, h5ckpt__file *f)
{
    PHASE(PH_SUMLOAD, __real_h5ckpt__sums_load(ctx, f));
}
int __real_h5ckpt__replica_plan(h5ckpt__io *, const h5ckpt__plan *, int *);
int __wrap_h5ckpt__replica_plan(h5ckpt__io *, const h5ckpt__plan *, int *);
int __wrap_h5ckpt__replica_plan(h5ckpt__io *io, const h5ckpt__plan *p, int *role)
{
    PHASE(PH_REPLICA, __real_h5ckpt__replica_plan(io, p, role));
}
int __real_h5ckpt__exchange_plan(h5ckpt__io *, const h5ckpt__plan *, const int64_t *,
                                 const int *, int, h5ckpt__xplan **);
int __wrap_h5ckpt__exchange_plan(h5ckpt__io *, const h5ckpt__plan *, const int64_t *,
                                 const int *, int, h5ckpt__xplan **);
int __wrap_h5ckpt__exchange_plan(h5ckpt__io *io, const h5ckpt__plan *p,
                                 const int64_t *bases, const int *role, int rc,
                                 h5ckpt__xplan **out)
{
    PHASE(PH_XPLAN, __real_h5ckpt__exchange_plan(io, p, bases, role, rc, out));
}
int __real_h5ckpt__exchange_run(h5ckpt__io *, const h5ckpt__plan *, h5ckpt__xplan *,
                                const int64_t *, int, int);
int __wrap_h5ckpt__exchange_run(h5ckpt__io *, const h5ckpt__plan *, h5ckpt__xplan *,
                                const int64_t *, int, int);
int __wrap_h5ckpt__exchange_run(h5ckpt__io *io, const h5ckpt__plan *p, h5ckpt__xplan *x,
                                const int64_t *bases, int fd, int rc)
{
    PHASE(PH_XRUN, __real_h5ckpt__exchange_run(io, p, x, bases, fd, rc));
}
int __real_h5ckpt__sums_check_reads(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__sums_check_reads(h5ckpt__io *, const h5ckpt__plan *);
int __wrap_h5ckpt__sums_check_reads(h5ckpt__io *io, const h5ckpt__plan *p)
{
    PHASE(PH_SUMCHECK, __real_h5ckpt__sums_check_reads(io, p));
}

/* ---- the library's MPI calls (-Wl,--wrap=MPI_...) ------------------------ */

static double tbytes(int n, MPI_Datatype t)
{
    int s = 0;

    MPI_Type_size(t, &s);
    return (double)n * s;
}

static double vsum(const int *c, int me)
{
    double s = 0;
    int r;

    for (r = 0; r < size; r++)
        if (r != me)
            s += c[r];
    return s;
}

int __real_MPI_Bcast(void *, int, MPI_Datatype, int, MPI_Comm);
int __wrap_MPI_Bcast(void *, int, MPI_Datatype, int, MPI_Comm);
int __wrap_MPI_Bcast(void *b, int n, MPI_Datatype t, int root, MPI_Comm c)
{
    int me, cs;

    MPI_Comm_rank(c, &me);
    MPI_Comm_size(c, &cs);
    if (cs > 1)
        count(me == root ? tbytes(n, t) : 0, me == root ? 0 : tbytes(n, t));
    return __real_MPI_Bcast(b, n, t, root, c);
}
int __real_MPI_Allreduce(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
int __wrap_MPI_Allreduce(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
int __wrap_MPI_Allreduce(const void *s, void *r, int n, MPI_Datatype t, MPI_Op o,
                         MPI_Comm c)
{
    count(tbytes(n, t), tbytes(n, t));
    return __real_MPI_Allreduce(s, r, n, t, o, c);
}
int __real_MPI_Exscan(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
int __wrap_MPI_Exscan(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
int __wrap_MPI_Exscan(const void *s, void *r, int n, MPI_Datatype t, MPI_Op o,
                      MPI_Comm c)
{
    count(tbytes(n, t), tbytes(n, t));
    return __real_MPI_Exscan(s, r, n, t, o, c);
}
int __real_MPI_Allgather(const void *, int, MPI_Datatype, void *, int,
                         MPI_Datatype, MPI_Comm);
int __wrap_MPI_Allgather(const void *, int, MPI_Datatype, void *, int,
                         MPI_Datatype, MPI_Comm);
int __wrap_MPI_Allgather(const void *s, int sn, MPI_Datatype st_, void *r, int rn,
                         MPI_Datatype rt, MPI_Comm c)
{
    int cs;

    MPI_Comm_size(c, &cs);
    count(tbytes(sn, st_), tbytes(rn, rt) * (cs - 1));
    return __real_MPI_Allgather(s, sn, st_, r, rn, rt, c);
}
int __real_MPI_Allgatherv(const void *, int, MPI_Datatype, void *, const int *,
                          const int *, MPI_Datatype, MPI_Comm);
int __wrap_MPI_Allgatherv(const void *, int, MPI_Datatype, void *, const int *,
                          const int *, MPI_Datatype, MPI_Comm);
int __wrap_MPI_Allgatherv(const void *s, int sn, MPI_Datatype st_, void *r,
                          const int *rc, const int *rd, MPI_Datatype rt, MPI_Comm c)
{
    int me, cs, i;
    double in = 0;

    MPI_Comm_rank(c, &me);
    MPI_Comm_size(c, &cs);
    for (i = 0; i < cs; i++)
        if (i != me)
            in += tbytes(rc[i], rt);
    count(tbytes(sn, st_), in);
    return __real_MPI_Allgatherv(s, sn, st_, r, rc, rd, rt, c);
}
int __real_MPI_Gather(const void *, int, MPI_Datatype, void *, int, MPI_Datatype,
                      int, MPI_Comm);
int __wrap_MPI_Gather(const void *, int, MPI_Datatype, void *, int, MPI_Datatype,
                      int, MPI_Comm);
int __wrap_MPI_Gather(const void *s, int sn, MPI_Datatype st_, void *r, int rn,
                      MPI_Datatype rt, int root, MPI_Comm c)
{
    int me, cs;

    MPI_Comm_rank(c, &me);
    MPI_Comm_size(c, &cs);
    count(me == root ? 0 : tbytes(sn, st_), me == root ? tbytes(rn, rt) * (cs - 1) : 0);
    return __real_MPI_Gather(s, sn, st_, r, rn, rt, root, c);
}
int __real_MPI_Gatherv(const void *, int, MPI_Datatype, void *, const int *,
                       const int *, MPI_Datatype, int, MPI_Comm);
int __wrap_MPI_Gatherv(const void *, int, MPI_Datatype, void *, const int *,
                       const int *, MPI_Datatype, int, MPI_Comm);
int __wrap_MPI_Gatherv(const void *s, int sn, MPI_Datatype st_, void *r,
                       const int *rc, const int *rd, MPI_Datatype rt, int root,
                       MPI_Comm c)
{
    int me, cs, i;
    double in = 0;

    MPI_Comm_rank(c, &me);
    MPI_Comm_size(c, &cs);
    for (i = 0; me == root && i < cs; i++)
        if (i != me)
            in += tbytes(rc[i], rt);
    count(me == root ? 0 : tbytes(sn, st_), in);
    return __real_MPI_Gatherv(s, sn, st_, r, rc, rd, rt, root, c);
}
int __real_MPI_Alltoallv(const void *, const int *, const int *, MPI_Datatype,
                         void *, const int *, const int *, MPI_Datatype, MPI_Comm);
int __wrap_MPI_Alltoallv(const void *, const int *, const int *, MPI_Datatype,
                         void *, const int *, const int *, MPI_Datatype, MPI_Comm);
int __wrap_MPI_Alltoallv(const void *s, const int *sc, const int *sd,
                         MPI_Datatype st_, void *r, const int *rc, const int *rd,
                         MPI_Datatype rt, MPI_Comm c)
{
    int me;

    MPI_Comm_rank(c, &me);
    count(tbytes(1, st_) * vsum(sc, me), tbytes(1, rt) * vsum(rc, me));
    return __real_MPI_Alltoallv(s, sc, sd, st_, r, rc, rd, rt, c);
}
int __real_MPI_Ibarrier(MPI_Comm, MPI_Request *);
int __wrap_MPI_Ibarrier(MPI_Comm, MPI_Request *);
int __wrap_MPI_Ibarrier(MPI_Comm c, MPI_Request *q)
{
    count(0, 0);
    return __real_MPI_Ibarrier(c, q);
}
int __real_MPI_Comm_split_type(MPI_Comm, int, int, MPI_Info, MPI_Comm *);
int __wrap_MPI_Comm_split_type(MPI_Comm, int, int, MPI_Info, MPI_Comm *);
int __wrap_MPI_Comm_split_type(MPI_Comm c, int t, int k, MPI_Info i, MPI_Comm *o)
{
    count(0, 0);
    return __real_MPI_Comm_split_type(c, t, k, i, o);
}

/* ---- the workload -------------------------------------------------------- */

#define DIE(expr)                                                              \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_) {                                                             \
            fprintf(stderr, "rank %d: %s: %s\n", rank, #expr,                  \
                    h5ckpt_errname(rc_));                                      \
            MPI_Abort(MPI_COMM_WORLD, 1);                                      \
        }                                                                      \
    } while (0)

enum { L_SHARD, L_REPL, L_RANGE, L_COLS };
static const char *const lname[] = {"shard", "repl", "range", "cols"};
#define ROWS 4   /* rows of 16 float32 per rank */

static void layouts(int kind, h5ckpt_mesh *m, int reading, h5ckpt_layout **l)
{
    uint64_t shape[2] = {(uint64_t)ROWS * (uint64_t)size, 16};
    int p0[1] = {H5CKPT_SHARD(0)}, p1[1] = {H5CKPT_SHARD(1)},
        rep[1] = {H5CKPT_REPLICATE};
    uint64_t per = ROWS * 16;

    switch (kind) {
    case L_SHARD:
        DIE(h5ckpt_layout_sharded(l, m, 2, shape, p0, NULL));
        break;
    case L_REPL:
        DIE(h5ckpt_layout_sharded(l, m, 2, shape, rep, NULL));
        break;
    case L_RANGE:
        DIE(h5ckpt_layout_range(l, 2, shape, per * (uint64_t)rank,
                                per * (uint64_t)(rank + 1), NULL));
        break;
    default:
        DIE(h5ckpt_layout_sharded(l, m, 2, shape, reading ? p1 : p0, NULL));
    }
}

static void run_once(int kind, int nt, const char *path, float *buf)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_layout *lw = NULL, *lr = NULL;
    h5ckpt_mesh *m;
    h5ckpt *ck;
    char name[64];
    int i;

    DIE(h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &size, NULL, NULL));
    layouts(kind, m, 0, &lw);
    layouts(kind, m, 1, &lr);
    o.no_fsync = 1;
    o.mesh = m;
    MPI_Barrier(MPI_COMM_WORLD);
    push(PH_CREATE);
    DIE(h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    pop();
    push(PH_PUT);
    for (i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "model/layer%d/t%06d", i / 100, i);
        DIE(h5ckpt_tensor_put(ck, name, H5CKPT_FLOAT32, lw, buf, NULL));
    }
    pop();
    push(PH_COMMIT);
    DIE(h5ckpt_commit(ck));
    pop();
    push(PH_CLOSE_W);
    DIE(h5ckpt_close(ck));
    pop();
    MPI_Barrier(MPI_COMM_WORLD);
    o.mesh = NULL;
    o.verify_checksums = 1;
    push(PH_OPEN);
    DIE(h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
    pop();
    push(PH_GET);
    for (i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "model/layer%d/t%06d", i / 100, i);
        DIE(h5ckpt_tensor_get(ck, name, H5CKPT_FLOAT32, lr, buf, NULL));
    }
    pop();
    DIE(h5ckpt_flush(ck));
    push(PH_CLOSE_R);
    DIE(h5ckpt_close(ck));
    pop();
    MPI_Barrier(MPI_COMM_WORLD);
    h5ckpt_layout_free(lw);
    h5ckpt_layout_free(lr);
    h5ckpt_mesh_free(m);
    if (rank == 0)
        unlink(path);
}

static void report(int kind, int nt, int rep)
{
    double mine[PH_N][7], *all = NULL;
    int p, r, k;

    for (p = 0; p < PH_N; p++) {
        mine[p][0] = st[p].t;
        mine[p][1] = st[p].calls;
        mine[p][2] = st[p].out;
        mine[p][3] = st[p].in;
        mine[p][4] = st[p].mem_kb;
        mine[p][5] = st[p].cpu;
        mine[p][6] = 0;
    }
    if (rank == 0 && !(all = malloc(sizeof mine * (size_t)size)))
        MPI_Abort(MPI_COMM_WORLD, 1);
    __real_MPI_Gather(mine, PH_N * 7, MPI_DOUBLE, all, PH_N * 7, MPI_DOUBLE, 0,
                      MPI_COMM_WORLD);
    for (p = 0; rank == 0 && p < PH_N; p++) {
        double o[6] = {0, 0, 0, 0, 0, 0};
        const double *z = all + (size_t)p * 7;
        for (r = 1; r < size; r++)
            for (k = 0; k < 6; k++) {
                double v = all[((size_t)r * PH_N + (size_t)p) * 7 + (size_t)k];
                if (v > o[k])
                    o[k] = v;
            }
        printf("phase %-14s %d %d %s %d %.6f %.6f %.0f %.0f %.0f %.0f %.0f %.0f "
               "%.0f %.0f %.6f %.6f\n",
               ph_name[p], size, nt, lname[kind], rep, z[0], o[0], z[1], z[2], z[3],
               o[1], o[2], o[3], z[4], o[4], z[5], o[5]);
    }
    fflush(stdout);
    free(all);
}

int main(int argc, char **argv)
{
    int kind, nt, reps, rep;
    char path[4096];
    float *buf;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 5) {
        if (rank == 0)
            fprintf(stderr, "usage: bench_scale shard|repl|range|cols NTENSORS "
                            "REPS DIR\n");
        MPI_Finalize();
        return 2;
    }
    for (kind = 0; kind < 4 && strcmp(argv[1], lname[kind]); kind++)
        ;
    nt = atoi(argv[2]);
    reps = atoi(argv[3]);
    if (kind == 4 || nt < 1 || reps < 1) {
        if (rank == 0)
            fprintf(stderr, "bench_scale: bad arguments\n");
        MPI_Finalize();
        return 2;
    }
    snprintf(path, sizeof path, "%s/scale-%s-%d.h5", argv[4], argv[1], nt);
    /* the whole tensor: a replicated or whole read needs it all */
    if (!(buf = calloc((size_t)ROWS * 16 * (size_t)size, sizeof *buf)))
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (rep = 0; rep < reps; rep++) {
        memset(st, 0, sizeof st);
        run_once(kind, nt, path, buf);
        report(kind, nt, rep);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
