/*
 * train_mlp: a small MLP trained with Adam by several MPI ranks, checkpointed
 * into a checkpoint directory with the training-state layer, and resumable
 * on any number of ranks.
 *
 *   mpirun -np 4 examples/train_mlp DIR STOP_STEP K [--async]
 *
 * Resumes from the latest checkpoint in DIR (if any), trains until step
 * STOP_STEP, saving checkpoint <step> every K steps and at STOP_STEP.
 * With --async each save is started (h5ckpt_ckdir_commit_start: the state
 * is copied aside, the file written in the background) and training goes
 * on at once; the save is finished (h5ckpt_ckdir_commit_wait: commit and
 * retention) when the next one begins, or at the end.  MPI is initialised
 * with MPI_THREAD_FUNNELED, which asynchronous saves need.
 *
 * The weight matrices are sharded by rows (Shard(0)) over a 1-D mesh of all
 * ranks; the biases are replicated.  The arithmetic does not depend on the
 * number of ranks, so a run interrupted and resumed on other rank counts
 * ends bit-for-bit where an uninterrupted run ends:
 *  - fixed global synthetic data; each step is M micro-batches of B samples;
 *  - every rank gathers the full weights (a copy, no arithmetic), computes
 *    the full gradient of the micro-batches it owns (m % nranks == rank),
 *    the per-micro-batch gradients are exchanged with MPI_Allgatherv, and
 *    every rank sums them in micro-batch order (never a float Allreduce);
 *  - Adam is elementwise: each rank updates its own rows of each matrix and
 *    the whole of each bias.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5ckpt.h"

enum { D_IN = 8, HID = 12, D_OUT = 5, NSAMPLES = 96, M = 8, B = 4, NT = 4 };
static const double LR = 0.01, GAMMA = 0.5, BETA1 = 0.9, BETA2 = 0.999,
                    EPS = 1e-8;
static const int64_t LR_STEP_SIZE = 10;

static int rank, nranks;

#define CHECK(expr)                                                           \
    do {                                                                      \
        int rc_ = (expr);                                                     \
        if (rc_ != 0) {                                                       \
            fprintf(stderr, "rank %d: %s: %s\n", rank, #expr,                 \
                    h5ckpt_errname(rc_));                                     \
            MPI_Abort(MPI_COMM_WORLD, 1);                                     \
        }                                                                     \
    } while (0)

/* One parameter: global shape (rows, cols); cols == 0 means a 1-D bias. */
typedef struct {
    const char *name;
    uint64_t rows, cols;
    int sharded;
    h5ckpt_layout *layout, *step_layout;
    uint64_t row0, nrows; /* this rank's rows */
    float *p, *m, *v;     /* local shard */
    int64_t step;         /* Adam's per-parameter step (0-d state) */
    float *full;          /* gathered whole parameter */
    size_t goff;          /* offset in the flat gradient */
} param;

static param P[NT] = {{.name = "fc1.weight", .rows = HID, .cols = D_IN, .sharded = 1},
                      {.name = "fc1.bias", .rows = HID},
                      {.name = "fc2.weight", .rows = D_OUT, .cols = HID, .sharded = 1},
                      {.name = "fc2.bias", .rows = D_OUT}};
static size_t G; /* elements of the flat gradient */

static uint64_t width(const param *t) { return t->cols ? t->cols : 1; }

static float input(uint64_t s, int j) { return (float)((s * 7 + (uint64_t)j * 13) % 17) / 8.0f - 1.0f; }
static float target(uint64_t s, int o) { return (float)((s * 5 + (uint64_t)o * 3) % 11) / 5.0f - 1.0f; }
static float init_value(int t, uint64_t i) { return (float)((i * 37 + (uint64_t)t * 11) % 23) / 46.0f - 0.25f; }

static void setup(const h5ckpt_mesh *mesh)
{
    const int shard0[1] = {H5CKPT_SHARD(0)}, rep[1] = {H5CKPT_REPLICATE};
    uint64_t off[2], cnt[2], i;
    int t;

    for (t = 0; t < NT; t++) {
        param *x = &P[t];
        uint64_t shape[2] = {x->rows, x->cols}, n;
        CHECK(h5ckpt_layout_sharded(&x->layout, mesh, x->cols ? 2 : 1, shape,
                                    x->sharded ? shard0 : rep, NULL));
        CHECK(h5ckpt_layout_whole(&x->step_layout, 0, NULL, NULL));
        off[0] = cnt[0] = 0;
        h5ckpt_layout_box_at(x->layout, 0, off, cnt);
        x->row0 = off[0];
        x->nrows = h5ckpt_layout_box_count(x->layout) ? cnt[0] : 0;
        n = x->nrows * width(x);
        x->p = calloc(n + 1, sizeof(float));
        x->m = calloc(n + 1, sizeof(float));
        x->v = calloc(n + 1, sizeof(float));
        x->full = calloc(x->rows * width(x), sizeof(float));
        for (i = 0; i < n; i++)
            x->p[i] = init_value(t, x->row0 * width(x) + i);
        x->goff = G;
        G += x->rows * width(x);
    }
}

/* The checkpointed state; the same entries at save and load. */
typedef struct {
    int64_t step, epoch, last_epoch, growth_interval, growth_tracker, seed;
    double lr, base_lrs[1], gamma, betas[2], eps, weight_decay, scale,
        growth_factor, backoff_factor;
    int amsgrad;
    const char *params[NT], *run_name;
    char pnames[NT][64];
} scalars;

static h5ckpt_state *make_state(scalars *s)
{
    h5ckpt_state *st;
    int model, t;

    CHECK(h5ckpt_state_create(&st, NULL));
    CHECK(h5ckpt_state_add_model(st, "mlp", &model));
    for (t = 0; t < NT; t++) {
        CHECK(h5ckpt_state_add_param(st, model, P[t].name, H5CKPT_FLOAT32, P[t].layout, P[t].p));
        CHECK(h5ckpt_state_add_optim(st, model, P[t].name, "exp_avg", H5CKPT_FLOAT32, P[t].layout, P[t].m));
        CHECK(h5ckpt_state_add_optim(st, model, P[t].name, "exp_avg_sq", H5CKPT_FLOAT32, P[t].layout, P[t].v));
        CHECK(h5ckpt_state_add_optim(st, model, P[t].name, "step", H5CKPT_INT64, P[t].step_layout, &P[t].step));
        snprintf(s->pnames[t], sizeof s->pnames[t], "%s/%s", h5ckpt_state_model_name(st, model), P[t].name);
        s->params[t] = s->pnames[t];
    }
#define A(obj, name, type, count, ptr) CHECK(h5ckpt_state_add_attr(st, obj, name, type, count, ptr))
    A("", "step", H5CKPT_ATTR_INT64, 0, &s->step);
    A("", "epoch", H5CKPT_ATTR_INT64, 0, &s->epoch);
    A("optimizer/param_groups/0", "lr", H5CKPT_ATTR_FLOAT64, 0, &s->lr);
    A("optimizer/param_groups/0", "betas", H5CKPT_ATTR_FLOAT64, 2, s->betas);
    A("optimizer/param_groups/0", "eps", H5CKPT_ATTR_FLOAT64, 0, &s->eps);
    A("optimizer/param_groups/0", "weight_decay", H5CKPT_ATTR_FLOAT64, 0, &s->weight_decay);
    A("optimizer/param_groups/0", "amsgrad", H5CKPT_ATTR_BOOL, 0, &s->amsgrad);
    A("optimizer/param_groups/0", "params", H5CKPT_ATTR_STRING, NT, s->params);
    A("scheduler", "last_epoch", H5CKPT_ATTR_INT64, 0, &s->last_epoch);
    A("scheduler", "base_lrs", H5CKPT_ATTR_FLOAT64, 1, s->base_lrs);
    A("scheduler", "gamma", H5CKPT_ATTR_FLOAT64, 0, &s->gamma);
    A("scaler", "scale", H5CKPT_ATTR_FLOAT64, 0, &s->scale);
    A("scaler", "growth_factor", H5CKPT_ATTR_FLOAT64, 0, &s->growth_factor);
    A("scaler", "backoff_factor", H5CKPT_ATTR_FLOAT64, 0, &s->backoff_factor);
    A("scaler", "growth_interval", H5CKPT_ATTR_INT64, 0, &s->growth_interval);
    A("scaler", "growth_tracker", H5CKPT_ATTR_INT64, 0, &s->growth_tracker);
    A("metadata/run", "name", H5CKPT_ATTR_STRING, 0, &s->run_name);
    A("metadata/run", "seed", H5CKPT_ATTR_INT64, 0, &s->seed);
#undef A
    return st;
}

/* Gather every parameter whole on every rank (copies only). */
static void gather_full(void)
{
    int t, r, *counts = malloc(sizeof(int) * (size_t)nranks),
              *displs = malloc(sizeof(int) * (size_t)nranks);

    for (t = 0; t < NT; t++) {
        param *x = &P[t];
        int n = (int)(x->nrows * width(x));
        if (!x->sharded) {
            memcpy(x->full, x->p, x->rows * width(x) * sizeof(float));
            continue;
        }
        MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
        for (r = 0, displs[0] = 0; r + 1 < nranks; r++)
            displs[r + 1] = displs[r] + counts[r];
        MPI_Allgatherv(x->p, n, MPI_FLOAT, x->full, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
    }
    free(counts);
    free(displs);
}

/* Gradient of micro-batch `mb` of step `step` into g (G floats). */
static void microbatch_grad(int64_t step, int mb, float *g)
{
    const float *w1 = P[0].full, *b1 = P[1].full, *w2 = P[2].full, *b2 = P[3].full;
    float *gw1 = g + P[0].goff, *gb1 = g + P[1].goff, *gw2 = g + P[2].goff, *gb2 = g + P[3].goff;
    float x[D_IN], z[HID], h[HID], out[D_OUT], dout[D_OUT], dz[HID];
    int b, i, j;

    memset(g, 0, G * sizeof *g);
    for (b = 0; b < B; b++) {
        uint64_t s = ((uint64_t)step * M * B + (uint64_t)mb * B + (uint64_t)b) % NSAMPLES;
        for (j = 0; j < D_IN; j++)
            x[j] = input(s, j);
        for (i = 0; i < HID; i++) {
            z[i] = b1[i];
            for (j = 0; j < D_IN; j++)
                z[i] += w1[i * D_IN + j] * x[j];
            h[i] = z[i] > 0 ? z[i] : 0;
        }
        for (i = 0; i < D_OUT; i++) {
            out[i] = b2[i];
            for (j = 0; j < HID; j++)
                out[i] += w2[i * HID + j] * h[j];
            dout[i] = (out[i] - target(s, i)) / (float)(M * B);
            gb2[i] += dout[i];
            for (j = 0; j < HID; j++)
                gw2[i * HID + j] += dout[i] * h[j];
        }
        for (j = 0; j < HID; j++) {
            float d = 0;
            for (i = 0; i < D_OUT; i++)
                d += w2[i * HID + j] * dout[i];
            dz[j] = z[j] > 0 ? d : 0;
            gb1[j] += dz[j];
            for (i = 0; i < D_IN; i++)
                gw1[j * D_IN + i] += dz[j] * x[i];
        }
    }
}

/* The full gradient of a step, identical on every rank for any rank count. */
static void step_grad(int64_t step, float *grad, float *mine, float *all)
{
    int mb, r, k, *counts = malloc(sizeof(int) * (size_t)nranks),
                  *displs = malloc(sizeof(int) * (size_t)nranks);
    size_t i;

    for (mb = rank, k = 0; mb < M; mb += nranks, k++)
        microbatch_grad(step, mb, mine + (size_t)k * G);
    for (r = 0; r < nranks; r++) {
        counts[r] = (int)(((M - r + nranks - 1) / nranks) * G);
        displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
    }
    MPI_Allgatherv(mine, counts[rank], MPI_FLOAT, all, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
    /* Rank r's k-th block is micro-batch r + k*nranks: sum in micro-batch order. */
    memset(grad, 0, G * sizeof *grad);
    for (mb = 0; mb < M; mb++) {
        const float *gm = all + displs[mb % nranks] + (size_t)(mb / nranks) * G;
        for (i = 0; i < G; i++)
            grad[i] += gm[i];
    }
    free(counts);
    free(displs);
}

static void adam(const float *grad, double lr)
{
    int t;
    uint64_t i;

    for (t = 0; t < NT; t++) {
        param *x = &P[t];
        const float *g = grad + x->goff + x->row0 * width(x);
        float bc1, bc2;
        x->step++;
        bc1 = 1.0f - powf((float)BETA1, (float)x->step);
        bc2 = 1.0f - powf((float)BETA2, (float)x->step);
        for (i = 0; i < x->nrows * width(x); i++) {
            x->m[i] = (float)BETA1 * x->m[i] + (1.0f - (float)BETA1) * g[i];
            x->v[i] = (float)BETA2 * x->v[i] + (1.0f - (float)BETA2) * g[i] * g[i];
            x->p[i] -= (float)lr * (x->m[i] / bc1) / (sqrtf(x->v[i] / bc2) + (float)EPS);
        }
    }
}

/* The asynchronous save in flight, and its step. */
static h5ckpt *inflight;
static int64_t inflight_step;

/* Finish the save in flight, if any: commit, retention, close. */
static void finish_save(h5ckpt_ckdir *dir)
{
    if (!inflight)
        return;
    CHECK(h5ckpt_ckdir_commit_wait(dir, inflight));
    CHECK(h5ckpt_close(inflight));
    inflight = NULL;
    if (rank == 0)
        printf("saved step %" PRId64 " on %d rank(s) (in the background)\n",
               inflight_step, nranks);
}

static void save(h5ckpt_ckdir *dir, h5ckpt_state *st, const h5ckpt_mesh *mesh,
                 int64_t step, int async)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt *ck;

    o.mesh = mesh;
    o.no_fsync = 1; /* a demo; real training keeps the default */
    finish_save(dir); /* one save in flight at a time */
    CHECK(h5ckpt_ckdir_save(dir, step, &ck, &o));
    CHECK(h5ckpt_state_save(st, ck));
    if (async) {
        /* the state is copied aside: training may change it at once */
        CHECK(h5ckpt_ckdir_commit_start(dir, ck));
        inflight = ck;
        inflight_step = step;
        return;
    }
    CHECK(h5ckpt_ckdir_commit(dir, ck));
    CHECK(h5ckpt_close(ck));
    if (rank == 0)
        printf("saved step %" PRId64 " on %d rank(s)\n", step, nranks);
}

int main(int argc, char **argv)
{
    h5ckpt_ckdir_options dopts = H5CKPT_CKDIR_OPTIONS_INIT;
    h5ckpt_mesh *mesh = NULL;
    h5ckpt_ckdir *dir = NULL;
    h5ckpt_state *st;
    h5ckpt_error err;
    h5ckpt *ck;
    scalars s = {0};
    float *grad, *mine, *all;
    int64_t stop, every;
    const char *dim = "tp";
    int t, rc, provided, async;

    /* asynchronous saves run a background thread beside MPI calls */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    async = argc == 5 && !strcmp(argv[4], "--async");
    if ((argc != 4 && !async) || (stop = atoll(argv[2])) < 0 ||
        (every = atoll(argv[3])) <= 0) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np N %s DIR STOP_STEP K [--async]\n",
                    argv[0]);
        MPI_Finalize();
        return 2;
    }
    CHECK(h5ckpt_mesh_create(&mesh, MPI_COMM_WORLD, 1, &nranks, &dim, &err));
    setup(mesh);
    st = make_state(&s);
    s.lr = s.base_lrs[0] = LR;
    s.gamma = GAMMA;
    s.betas[0] = BETA1;
    s.betas[1] = BETA2;
    s.eps = EPS;
    s.scale = 65536.0;
    s.growth_factor = 2.0;
    s.backoff_factor = 0.5;
    s.growth_interval = 2000;
    s.run_name = "train_mlp";
    s.seed = 1234;

    dopts.keep_last = 2;
    CHECK(h5ckpt_ckdir_open(&dir, argv[1], MPI_COMM_WORLD, &dopts, &err));
    rc = h5ckpt_ckdir_load(dir, H5CKPT_CKDIR_LATEST, &ck, NULL);
    if (rc == 0) {
        CHECK(h5ckpt_state_load(st, ck, H5CKPT_LOAD_STRICT));
        CHECK(h5ckpt_close(ck));
        if (rank == 0)
            printf("resumed at step %" PRId64 " on %d rank(s)\n", s.step, nranks);
    } else if (rc != H5CKPT_ENOCKPT) {
        CHECK(rc);
    }

    grad = malloc(G * sizeof *grad);
    mine = malloc(((M + nranks - 1) / nranks) * G * sizeof *mine);
    all = malloc((size_t)M * G * sizeof *all);
    while (s.step < stop) {
        s.lr = s.base_lrs[0] * pow(s.gamma, (double)(s.step / LR_STEP_SIZE));
        gather_full();
        step_grad(s.step, grad, mine, all);
        adam(grad, s.lr);
        s.step++;
        s.last_epoch = s.step;
        s.epoch = s.step * M * B / NSAMPLES;
        if (s.step % every == 0 || s.step == stop)
            save(dir, st, mesh, s.step, async);
    }
    finish_save(dir);

    free(grad);
    free(mine);
    free(all);
    h5ckpt_state_free(st);
    h5ckpt_ckdir_free(dir);
    for (t = 0; t < NT; t++) {
        h5ckpt_layout_free(P[t].layout);
        h5ckpt_layout_free(P[t].step_layout);
        free(P[t].p);
        free(P[t].m);
        free(P[t].v);
        free(P[t].full);
    }
    h5ckpt_mesh_free(mesh);
    MPI_Finalize();
    return 0;
}
