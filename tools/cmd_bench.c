/*
 * h5ckpt bench: write or read a synthetic state, verify every element read,
 * and measure the machine's ceilings in the same run: POSIX pwrite/pread of
 * the same per-rank byte counts into one scratch file, and into a file per
 * rank, in the same directory with the same fsync policy (bench_io.c).
 *
 * --runs N repeats the three timed phases N times, rotating their order
 * (round r starts with phase r mod 3; round 0 with the checkpoint, whose
 * byte counts the ceilings need), and reports medians.  Every phase starts
 * from the page state given by --pages (warm or cold, bench_io.c), after
 * sync() and a barrier, and the files a phase wrote are deleted before the
 * next one (the last checkpoint stays), so no phase inherits another's
 * pages.
 *
 * --device cuda places the same state in CUDA device buffers (generated on
 * the host and copied before timing; read back and verified after timing)
 * and also times the pinned copy ceiling: the same per-rank bytes through
 * one pinned buffer with cudaMemcpy (device to host when writing, host to
 * device when reading), once per round after the file phases.  The device
 * side lives in bench_cuda.c (bench_nocuda.c in builds without CUDA).
 */
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { K_WRITE = 'w', K_READ = 'r', K_MESH = 'm', K_PRESET = 'p', K_COUNT = 'n',
       K_SIZE = 's', K_DTYPE = 256, K_POLICY, K_EXEC, K_FSYNC, K_NOFSYNC, K_JSON,
       K_HIDDEN, K_DEVICE, K_PAGES, K_RUNS, K_SETTLE, K_NODIRECT, K_ASYNC,
       K_SNAPBYTES };

static const cli_opt opts[] = {
    {"write", K_WRITE, "FILE", "write the synthetic state to FILE (timed)"},
    {"read", K_READ, "FILE", "read FILE back and verify every element (timed)"},
    {"mesh", K_MESH, "AxB...", "device mesh, e.g. 2x2 (default: 1-D over all ranks)"},
    {"preset", K_PRESET, "NAME", "big (8 x 256 MiB float32), llm (~1 GiB bf16+fp32 "
                                 "Adam), small (10,000 x 4 KiB; default)"},
    {"count", K_COUNT, "N", "number of tensors (llm: layers)"},
    {"size", K_SIZE, "BYTES", "bytes per tensor, K/M/G suffixes (big, small)"},
    {"hidden", K_HIDDEN, "N", "hidden size of the llm preset (default 1024)"},
    {"dtype", K_DTYPE, "NAME", "element type (big, small; default float32)"},
    {"placement", K_POLICY, "POLICY", "shard0, shard1, replicate or alternate, along "
                                      "the mesh's last dimension (default shard0)"},
    {"executor", K_EXEC, "NAME", "plain or fast (default: the library's default)"},
    {"fsync", K_FSYNC, NULL, "fsync the checkpoint and the ceilings' files"},
    {"no-fsync", K_NOFSYNC, NULL, "do not fsync (default)"},
    {"device", K_DEVICE, "KIND", "host (default) or cuda: the state in CUDA device "
                                 "buffers, plus the pinned cudaMemcpy ceiling"},
    {"pages", K_PAGES, "STATE", "warm (default): every timed phase starts right "
                                "after as many pages were freed as it writes "
                                "(reads: from the page cache); cold: after the "
                                "VM took freed pages back (reads: from disk)"},
    {"runs", K_RUNS, "N", "repeat the timed phases N times in rotating order "
                          "and report medians (default 1)"},
    {"settle", K_SETTLE, "SECONDS", "--pages cold: the longest wait for the page "
                                    "state to settle before a phase (default 20)"},
    {"no-direct", K_NODIRECT, NULL, "fast writer: buffered writes only, no "
                                    "O_DIRECT (the option no_direct)"},
    {"async", K_ASYNC, NULL, "--write only: an asynchronous save (h5ckpt_commit_start) "
                              "against memcpy, the synchronous commit and a compute "
                              "loop (see docs/h5ckpt-bench.md)"},
    {"snapshot-bytes", K_SNAPBYTES, "BYTES", "--async: snapshot memory budget per rank "
                                             "(default: the rank's own bytes)"},
    {"json", K_JSON, NULL, "print one JSON object instead of text"},
    {NULL, 0, NULL, NULL}};

typedef struct {
    const char *file, *preset, *mesh;
    int writing, fsync, json, cuda, pages, runs, no_direct, async;
    unsigned long long snapshot_bytes;
    double settle;
    h5ckpt_executor executor;
    bench_knobs knobs;
} args;

typedef struct {
    bench_tensor *t;
    size_t n;
    h5ckpt_layout **layouts;
    void **bufs;
    void **dbufs;    /* --device cuda: device copies of bufs */
    uint64_t *bytes; /* local bytes of each tensor */
    uint64_t shard_bytes, total_bytes, max_bytes;
} state;

static double now(void) { return MPI_Wtime(); }

/* Collective: 1 on every rank when `bad` is true on any. */
static int any(int bad)
{
    int all = 0;

    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return all;
}

static int parse(const cli_cmd *self, int argc, char **argv, args *a)
{
    const char *arg;
    unsigned long long v;
    h5ckpt_dtype dt;
    int c, first;

    memset(a, 0, sizeof *a);
    a->preset = "small";
    a->executor = H5CKPT_EXECUTOR_DEFAULT;
    a->knobs.dtype = a->knobs.policy = -1;
    a->pages = BENCH_PAGES_WARM;
    a->runs = 1;
    a->settle = 20;
    while ((c = cli_next_opt(self, argc, argv, &arg, &first)) != -1) {
        switch (c) {
        case 'h': return -1;
        case K_WRITE: case K_READ:
            if (a->file)
                return cli_usage_error(self, "give one of --write and --read");
            a->file = arg;
            a->writing = c == K_WRITE;
            break;
        case K_MESH: a->mesh = arg; break;
        case K_PRESET: a->preset = arg; break;
        case K_COUNT: case K_SIZE: case K_HIDDEN:
            if (cli_parse_size(arg, &v) != 0 || v == 0)
                return cli_usage_error(self, "bad number '%s'", arg);
            *(c == K_COUNT ? &a->knobs.count
                           : c == K_SIZE ? &a->knobs.size : &a->knobs.hidden) = v;
            break;
        case K_DTYPE:
            if (h5ckpt_dtype_from_name(&dt, arg, NULL) != 0)
                return cli_usage_error(self, "unknown dtype '%s'", arg);
            a->knobs.dtype = (int)dt;
            break;
        case K_POLICY:
            if ((a->knobs.policy = bench_policy_from_name(arg)) < 0)
                return cli_usage_error(self, "unknown placement policy '%s'", arg);
            break;
        case K_EXEC:
            if (!strcmp(arg, "plain"))
                a->executor = H5CKPT_EXECUTOR_PLAIN;
            else if (!strcmp(arg, "fast"))
                a->executor = H5CKPT_EXECUTOR_FAST;
            else
                return cli_usage_error(self, "unknown executor '%s'", arg);
            break;
        case K_FSYNC: a->fsync = 1; break;
        case K_NOFSYNC: a->fsync = 0; break;
        case K_JSON: a->json = 1; break;
        case K_ASYNC: a->async = 1; break;
        case K_SNAPBYTES:
            if (cli_parse_size(arg, &a->snapshot_bytes) != 0)
                return cli_usage_error(self, "bad number '%s'", arg);
            break;
        case K_NODIRECT: a->no_direct = 1; break;
        case K_PAGES:
            if (strcmp(arg, "warm") && strcmp(arg, "cold"))
                return cli_usage_error(self, "unknown page state '%s' (warm or cold)", arg);
            a->pages = !strcmp(arg, "cold") ? BENCH_PAGES_COLD : BENCH_PAGES_WARM;
            break;
        case K_RUNS: case K_SETTLE:
            if (cli_parse_size(arg, &v) != 0 || (c == K_RUNS && (v == 0 || v > 1000)) ||
                v > 3600)
                return cli_usage_error(self, "bad number '%s'", arg);
            if (c == K_RUNS)
                a->runs = (int)v;
            else
                a->settle = (double)v;
            break;
        case K_DEVICE:
            if (strcmp(arg, "host") && strcmp(arg, "cuda"))
                return cli_usage_error(self, "unknown device '%s' (host or cuda)", arg);
            a->cuda = !strcmp(arg, "cuda");
            break;
        default: return CLI_USAGE;
        }
    }
    if (first < argc)
        return cli_usage_error(self, "unexpected argument '%s'", argv[first]);
    if (!a->file)
        return cli_usage_error(self, "give --write FILE or --read FILE");
    if (a->async && !a->writing)
        return cli_usage_error(self, "--async times a save: give --write FILE");
    return 0;
}

static int make_mesh(const cli_cmd *self, const char *text, h5ckpt_mesh **out)
{
    int shape[H5CKPT_MAX_NDIM], ndim = 0, prod = 1;
    h5ckpt_error err;
    const char *p = text;
    char *end;

    if (!text) {
        shape[ndim++] = cli_size;
    } else {
        for (;;) {
            long v = strtol(p, &end, 10);
            if (end == p || v <= 0 || v > 1 << 20 || ndim == H5CKPT_MAX_NDIM)
                return cli_usage_error(self, "bad mesh '%s' (e.g. 2x2)", text);
            shape[ndim++] = (int)v;
            prod *= (int)v;
            if (!*end)
                break;
            if (*end != 'x')
                return cli_usage_error(self, "bad mesh '%s' (e.g. 2x2)", text);
            p = end + 1;
        }
        if (prod != cli_size)
            return cli_usage_error(self, "mesh '%s' has %d ranks, mpirun gave %d",
                                   text, prod, cli_size);
    }
    if (h5ckpt_mesh_create(out, MPI_COMM_WORLD, ndim, shape, NULL, &err) != 0)
        return cli_error(self, CLI_USAGE, "%s", err.message);
    return 0;
}

static void state_free(state *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        if (s->layouts)
            h5ckpt_layout_free(s->layouts[i]);
        if (s->bufs)
            free(s->bufs[i]);
        if (s->dbufs)
            bench_dev_free(s->dbufs[i]);
    }
    free(s->dbufs);
    free(s->bytes);
    free(s->layouts);
    free(s->bufs);
    free(s->t);
}

/* Layouts and local buffers of every tensor (filled with their values when
 * writing).  Collective: fails on every rank alike. */
static int state_make(const cli_cmd *self, const args *a, const h5ckpt_mesh *m,
                      state *s)
{
    int md = h5ckpt_mesh_ndim(m), pl[H5CKPT_MAX_NDIM], d, bad = 0;
    char msg[512] = "";
    size_t i;

    if (bench_state_build(a->preset, &a->knobs, &s->t, &s->n, msg, sizeof msg) != 0)
        return cli_usage_error(self, "%s", msg);
    s->layouts = calloc(s->n + 1, sizeof *s->layouts);
    s->bufs = calloc(s->n + 1, sizeof *s->bufs);
    s->dbufs = calloc(s->n + 1, sizeof *s->dbufs);
    s->bytes = calloc(s->n + 1, sizeof *s->bytes);
    bad = !s->layouts || !s->bufs || !s->dbufs || !s->bytes;
    for (i = 0; !bad && i < s->n; i++) {
        const bench_tensor *t = &s->t[i];
        size_t es = h5ckpt_dtype_size(t->dtype);
        uint64_t off[2], cnt[2], bytes;
        for (d = 0; d < md; d++)
            pl[d] = d < md - 1 || t->placement == BENCH_REPLICATE
                        ? H5CKPT_REPLICATE : H5CKPT_SHARD(t->placement);
        if (h5ckpt_layout_sharded(&s->layouts[i], m, t->ndim, t->shape, pl, NULL) != 0) {
            bad = 1;
            break;
        }
        bytes = h5ckpt_layout_local_count(s->layouts[i]) * es;
        s->bytes[i] = bytes;
        s->shard_bytes += bytes;
        if (bytes > s->max_bytes)
            s->max_bytes = bytes;
        s->total_bytes += t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1) * es;
        if (bytes && !(s->bufs[i] = malloc(bytes))) {
            bad = 1;
            break;
        }
        if (bytes && !a->writing) /* buffers exist before a load, as in training */
            memset(s->bufs[i], 0xA5, bytes);
        if (bytes && a->writing) {
            h5ckpt_layout_box_at(s->layouts[i], 0, off, cnt);
            bench_values(s->bufs[i], es, t->ndim, t->shape, off, cnt, i, 0, NULL, 0);
        }
    }
    if (any(bad))
        return cli_error(self, CLI_USAGE, "cannot build the state (out of memory?)");
    /* --device cuda: the same contents (values, or poison) on the device */
    for (i = 0; a->cuda && !bad && i < s->n; i++)
        bad = bench_dev_upload(&s->dbufs[i], s->bufs[i], s->bytes[i], msg) != 0;
    if (any(bad))
        return cli_error(self, CLI_FAIL, "device buffers: %s",
                         *msg ? msg : "failed on another rank");
    return 0;
}

static const h5ckpt_buffer cuda_buf = {H5CKPT_BUFFER_VERSION, H5CKPT_MEM_CUDA, NULL};

/* Timed: write (or read) the state through h5ckpt.  Returns 0 or the
 * library's error code (same on every rank); *moved is this rank's bytes. */
static int run_ckpt(const args *a, const h5ckpt_mesh *m, state *s, double *secs,
                    uint64_t *moved, char *msg)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0, ""};
    h5ckpt *ck = NULL;
    double t0;
    size_t i;
    int rc;

    o.mesh = a->writing ? m : NULL;
    o.no_fsync = !a->fsync;
    o.executor = a->executor;
    o.no_direct = a->no_direct;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now();
    rc = a->writing ? h5ckpt_create(&ck, a->file, MPI_COMM_WORLD, &o, &err)
                    : h5ckpt_open(&ck, a->file, MPI_COMM_WORLD, &o, &err);
    if (rc != 0) {
        snprintf(msg, 512, "%s", err.message);
        return rc;
    }
    for (i = 0; i < s->n; i++) {
        void *data = a->cuda ? s->dbufs[i] : s->bufs[i];
        const h5ckpt_buffer *b = a->cuda ? &cuda_buf : NULL;
        if (a->writing)
            h5ckpt_tensor_put(ck, s->t[i].path, s->t[i].dtype, s->layouts[i],
                              data, b);
        else
            h5ckpt_tensor_get(ck, s->t[i].path, s->t[i].dtype, s->layouts[i],
                              data, b);
    }
    /* put/get errors are remembered and returned by flush/commit */
    rc = a->writing ? h5ckpt_commit(ck) : h5ckpt_flush(ck);
    if (rc != 0)
        snprintf(msg, 512, "%s", h5ckpt_errmsg(ck));
    *moved = a->writing ? h5ckpt_bytes_written(ck) : h5ckpt_bytes_read(ck);
    h5ckpt_close(ck);
    MPI_Barrier(MPI_COMM_WORLD);
    *secs = now() - t0;
    return rc;
}

/* The pinned copy ceiling (--device cuda): `bytes` of this rank between its
 * device buffers and one pinned buffer (at most 256 MiB, the library's
 * default staging), device to host when writing.  Reading copies the
 * pinned buffer's 0xA5 into the device buffers: they hold that poison
 * before the timed read, as after state_make.  Returns 0 or -1 on every
 * rank. */
static int copy_ceiling(const args *a, state *s, uint64_t bytes, double *secs,
                        char *msg)
{
    size_t pin_bytes = s->max_bytes < ((uint64_t)256 << 20) ? (size_t)s->max_bytes
                                                            : (size_t)256 << 20;
    void *pin = NULL;
    double t0;
    int bad;

    bad = bench_dev_pinned(&pin, pin_bytes, msg) != 0;
    if (any(bad))
        goto done;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now();
    bad = bench_dev_copy(pin, pin_bytes ? pin_bytes : 1, s->dbufs, s->bytes, s->n,
                         bytes, a->writing, msg) != 0;
    MPI_Barrier(MPI_COMM_WORLD);
    *secs = now() - t0;
done:
    bench_dev_pinned_free(pin);
    if (!any(bad))
        return 0;
    if (!*msg)
        snprintf(msg, 512, "pinned copy ceiling failed on another rank");
    return -1;
}

/* --device cuda, after timing: the device buffers back into the host ones
 * (then verified there).  Returns 0 or -1 on every rank. */
static int download(state *s, char *msg)
{
    size_t i;
    int bad = 0;

    for (i = 0; !bad && i < s->n; i++)
        bad = bench_dev_download(s->bufs[i], s->dbufs[i], s->bytes[i], msg) != 0;
    if (!any(bad))
        return 0;
    if (!*msg)
        snprintf(msg, 512, "copying device buffers back failed on another rank");
    return -1;
}

/* This rank's mismatches; the first one goes to `msg` if it is empty. */
static uint64_t verify(state *s, char *msg)
{
    uint64_t bad = 0, off[2], cnt[2];
    size_t i;

    for (i = 0; i < s->n; i++) {
        const bench_tensor *t = &s->t[i];
        char m[200] = "";
        uint64_t b;
        if (!h5ckpt_layout_local_count(s->layouts[i]))
            continue;
        h5ckpt_layout_box_at(s->layouts[i], 0, off, cnt);
        b = bench_values(s->bufs[i], h5ckpt_dtype_size(t->dtype), t->ndim, t->shape,
                         off, cnt, i, 1, m, sizeof m);
        if (b && !*msg)
            snprintf(msg, 512, "rank %d, tensor '%s': %s", cli_rank, t->path, m);
        bad += b;
    }
    return bad;
}

/* Before a timed read: the buffers hold poison (0xA5) again, as before a
 * load, so that no round passes on what an earlier one delivered (device
 * buffers: made again from the host's poison, after the first round, before
 * which state_make made them so).  Returns 0 or -1 on every rank. */
static int poison(const args *a, state *s, int first, char *msg)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < s->n; i++)
        if (s->bytes[i])
            memset(s->bufs[i], 0xA5, s->bytes[i]);
    for (i = 0; a->cuda && !first && !bad && i < s->n; i++) {
        bench_dev_free(s->dbufs[i]);
        s->dbufs[i] = NULL;
        bad = bench_dev_upload(&s->dbufs[i], s->bufs[i], s->bytes[i], msg) != 0;
    }
    if (!any(bad))
        return 0;
    if (!*msg)
        snprintf(msg, 512, "device buffers: failed on another rank");
    return -1;
}

/* The timed phases, in the order of round 0. */
enum { PH_CKPT, PH_ONE, PH_PER, NPHASES };

typedef struct {
    double *t[NPHASES]; /* seconds of each phase, one per round */
    double *copy;       /* pinned copy (--device cuda), one per round */
    double waited;      /* --pages cold: the longest wait for the page state */
    uint64_t bad, rss_max, shard_max, overhead_max;
} result;

/* Phase `ph` of round `round`, from the page state of --pages.  Writing:
 * the checkpoint of the last round stays, a ceiling's files never do.  Returns 0, or
 * an error (the library's code or -1) on every rank with `msg`. */
static int phase(const args *a, const h5ckpt_mesh *m, state *s, int ph, int round,
                 uint64_t *moved, double *secs, result *r, char *msg)
{
    const bench_bufs b = {s->bufs, s->bytes, s->n};
    int kind = ph == PH_ONE ? BENCH_ONE_FILE : BENCH_FILE_PER_RANK, rc;
    int keep = round == a->runs - 1;
    double waited = 0;
    char path[4096];
    uint64_t bad;

    if (a->writing) {
        /* the commit's rename would free a previous file's pages while timed */
        if (ph == PH_CKPT && cli_rank == 0)
            unlink(a->file);
        if (bench_pages_before_write(a->pages, a->file, s->shard_bytes, a->settle,
                                     &waited, msg) != 0)
            return -1;
        if (ph == PH_CKPT) {
            rc = run_ckpt(a, m, s, secs, moved, msg);
            if (rc == 0 && !keep && cli_rank == 0)
                unlink(a->file);
        } else {
            rc = bench_ceiling_time(kind, a->file, 1, a->fsync, &b, *moved, secs, msg);
            bench_ceiling_remove(kind, a->file);
        }
    } else {
        if (ph == PH_CKPT && poison(a, s, round == 0, msg) != 0)
            return -1;
        if (ph == PH_CKPT)
            snprintf(path, sizeof path, "%s", a->file);
        else
            bench_ceiling_path(kind, a->file, path, sizeof path);
        if (bench_pages_before_read(a->pages, path, ph == PH_PER, a->settle, &waited,
                                    msg) != 0)
            return -1;
        if (ph != PH_CKPT)
            rc = bench_ceiling_time(kind, a->file, 0, 0, &b, s->shard_bytes, secs, msg);
        else if ((rc = run_ckpt(a, m, s, secs, moved, msg)) == 0 &&
                 (!a->cuda || (rc = download(s, msg)) == 0)) {
            bad = verify(s, msg);
            MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
            r->bad += bad;
        }
    }
    if (waited > r->waited)
        r->waited = waited;
    return rc;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

/* Median of v[0..n) (n <= 1000). */
static double median(const double *v, int n)
{
    double w[1000];

    memcpy(w, v, (size_t)n * sizeof *w);
    qsort(w, (size_t)n, sizeof *w, cmp_double);
    return n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
}

/* Median over rounds of max(num[i], num2[i]) / den[i] (num2 may be NULL). */
static double median_ratio(const double *num, const double *num2, const double *den,
                           int n)
{
    double q[1000];
    int i;

    for (i = 0; i < n; i++)
        q[i] = (num2 && num2[i] > num[i] ? num2[i] : num[i]) / den[i];
    return median(q, n);
}

static json_t *array_of(const double *v, int n)
{
    json_t *j = json_array();
    int i;

    for (i = 0; j && i < n; i++)
        json_array_append_new(j, json_real(v[i]));
    return j;
}

static void report_json(const args *a, const char *mesh, const char *exec,
                        const state *s, const result *r)
{
    double gb = (double)s->total_bytes / 1e9, t = median(r->t[PH_CKPT], a->runs);
    double one = median(r->t[PH_ONE], a->runs), per = median(r->t[PH_PER], a->runs);
    json_t *j = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:b, s:s, s:i, s:I, s:I, s:f, s:f, s:f, s:f, s:f, "
        "s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I}",
        "op", a->writing ? "write" : "read", "preset", a->preset, "ranks", cli_size,
        "mesh", mesh, "executor", exec, "fsync", a->fsync, "pages",
        a->pages == BENCH_PAGES_COLD ? "cold" : "warm", "runs", a->runs, "tensors",
        (json_int_t)s->n, "bytes", (json_int_t)s->total_bytes, "seconds", t, "gbps",
        gb / t, "tensors_per_s", (double)s->n / t, "ceiling_seconds", one,
        "ceiling_gbps", gb / one, "ratio",
        median_ratio(r->t[PH_ONE], NULL, r->t[PH_CKPT], a->runs),
        "ceiling_per_rank_seconds", per, "ceiling_per_rank_gbps", gb / per,
        "ratio_per_rank", median_ratio(r->t[PH_PER], NULL, r->t[PH_CKPT], a->runs),
        "settle_seconds_max", r->waited, "mismatches", (json_int_t)r->bad,
        "rss_max_bytes", (json_int_t)r->rss_max, "shard_max_bytes",
        (json_int_t)r->shard_max, "rss_over_shard_max_bytes",
        (json_int_t)r->overhead_max);
    char *txt;

    if (j) {
        json_object_set_new(j, "seconds_each", array_of(r->t[PH_CKPT], a->runs));
        json_object_set_new(j, "ceiling_seconds_each", array_of(r->t[PH_ONE], a->runs));
        json_object_set_new(j, "ceiling_per_rank_seconds_each",
                            array_of(r->t[PH_PER], a->runs));
        json_object_set_new(j, "device", json_string(a->cuda ? "cuda" : "host"));
        json_object_set_new(j, "direct", json_boolean(!a->no_direct));
    }
    if (j && a->cuda) {
        double c = median(r->copy, a->runs);
        json_object_set_new(j, "copy_direction", json_string(a->writing ? "d2h" : "h2d"));
        json_object_set_new(j, "copy_seconds", json_real(c));
        json_object_set_new(j, "copy_gbps", json_real(gb / c));
        json_object_set_new(j, "ratio_device",
                            json_real(median_ratio(r->t[PH_ONE], r->copy, r->t[PH_CKPT],
                                                   a->runs)));
    }
    txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    cli_out("%s\n", txt ? txt : "{}");
    free(txt);
    json_decref(j);
}

static void report_each(const char *label, const double *v, int n)
{
    int i;

    cli_out("  %-14s", label);
    for (i = 0; i < n; i++)
        cli_out(" %.3f", v[i]);
    cli_out("\n");
}

static void report(const args *a, const h5ckpt_mesh *m, const state *s, const result *r)
{
    double gb = (double)s->total_bytes / 1e9, t = median(r->t[PH_CKPT], a->runs);
    double one = median(r->t[PH_ONE], a->runs), per = median(r->t[PH_PER], a->runs);
    const char *exec = a->executor == H5CKPT_EXECUTOR_PLAIN  ? "plain"
                       : a->executor == H5CKPT_EXECUTOR_FAST ? "fast" : "default";
    const char *how = a->writing ? "POSIX pwrite" : "POSIX pread";
    char mesh[64] = "";
    int d, n = 0;

    for (d = 0; d < h5ckpt_mesh_ndim(m); d++)
        n += snprintf(mesh + n, sizeof mesh - (size_t)n, "%s%d", d ? "x" : "",
                      h5ckpt_mesh_size(m, d));
    if (a->json) {
        report_json(a, mesh, exec, s, r);
        return;
    }
    cli_out("%s %s: %zu tensors, %.3f GB, %d ranks, mesh %s, %s executor, %s%s%s\n",
            a->writing ? "write" : "read", a->preset, s->n, gb, cli_size, mesh, exec,
            a->fsync ? "fsync" : "no fsync", a->no_direct ? ", no O_DIRECT" : "",
            a->cuda ? ", CUDA device buffers" : "");
    cli_out("  pages %s; %d run%s in rotating order, medians\n",
            a->pages == BENCH_PAGES_COLD ? "cold" : "warm", a->runs,
            a->runs > 1 ? "s" : "");
    cli_out("  h5ckpt         %8.3f s  %7.3f GB/s  %10.0f tensors/s\n", t, gb / t,
            (double)s->n / t);
    cli_out("  one file       %8.3f s  %7.3f GB/s  (%s, same bytes per rank)\n", one,
            gb / one, how);
    cli_out("  file per rank  %8.3f s  %7.3f GB/s  (%s, same bytes per rank)\n", per,
            gb / per, how);
    cli_out("  ratio          %8.3f to one file, %.3f to a file per rank\n",
            median_ratio(r->t[PH_ONE], NULL, r->t[PH_CKPT], a->runs),
            median_ratio(r->t[PH_PER], NULL, r->t[PH_CKPT], a->runs));
    if (a->cuda) {
        double c = median(r->copy, a->runs);
        cli_out("  copy           %8.3f s  %7.3f GB/s  (pinned cudaMemcpy %s, same bytes "
                "per rank)\n", c, gb / c, a->writing ? "D2H" : "H2D");
        cli_out("  ratio to min(copy, one file) %8.3f\n",
                median_ratio(r->t[PH_ONE], r->copy, r->t[PH_CKPT], a->runs));
    }
    if (a->runs > 1) {
        report_each("each h5ckpt", r->t[PH_CKPT], a->runs);
        report_each("each one file", r->t[PH_ONE], a->runs);
        report_each("each per rank", r->t[PH_PER], a->runs);
    }
    if (a->pages == BENCH_PAGES_COLD)
        cli_out("  waited at most %.1f s for the page state to settle\n", r->waited);
    cli_out("  peak RSS %8.1f MiB max over ranks; largest own shard %.1f MiB; "
            "RSS over own shard %.1f MiB max\n",
            r->rss_max / 1048576.0, r->shard_max / 1048576.0,
            r->overhead_max / 1048576.0);
    if (!a->writing)
        cli_out("  verified every element read: %llu mismatches\n",
                (unsigned long long)r->bad);
}

/* Every round: the three phases in rotating order, then (--device cuda)
 * the pinned copy.  Returns 0 or an exit code. */
static int rounds(const cli_cmd *self, const args *a, const h5ckpt_mesh *m,
                  state *s, result *r, char *msg)
{
    const bench_bufs b = {s->bufs, s->bytes, s->n};
    uint64_t moved = 0;
    int round, k, rc = 0, ph;

    /* readers: the ceilings' files, written once (not timed) */
    if (!a->writing && (bench_ceiling_fill(BENCH_ONE_FILE, a->file, &b, s->shard_bytes,
                                           msg) != 0 ||
                        bench_ceiling_fill(BENCH_FILE_PER_RANK, a->file, &b,
                                           s->shard_bytes, msg) != 0))
        rc = -1;
    for (round = 0; rc == 0 && round < a->runs; round++) {
        for (k = 0; rc == 0 && k < NPHASES; k++) {
            ph = (round + k) % NPHASES;
            rc = phase(a, m, s, ph, round, &moved, &r->t[ph][round], r, msg);
        }
        if (rc == 0 && a->cuda)
            rc = copy_ceiling(a, s, a->writing ? moved : s->shard_bytes, &r->copy[round],
                              msg);
    }
    if (!a->writing) {
        bench_ceiling_remove(BENCH_ONE_FILE, a->file);
        bench_ceiling_remove(BENCH_FILE_PER_RANK, a->file);
    }
    return rc ? cli_error(self, CLI_USAGE, "%s", msg) : 0;
}

static int run(const cli_cmd *self, int argc, char **argv)
{
    char msg[512] = "";
    h5ckpt_mesh *m = NULL;
    state s = {0};
    result r = {{NULL}, NULL, 0, 0, 0, 0, 0};
    struct rusage ru;
    uint64_t rss, over;
    args a;
    int rc, k;

    if ((rc = parse(self, argc, argv, &a)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (a.cuda && any(bench_dev_probe(msg) != 0)) {
        if (!*msg)
            snprintf(msg, sizeof msg, "no CUDA device on another rank");
        return cli_error(self, CLI_FAIL, "%s", msg);
    }
    for (k = 0; k < NPHASES; k++)
        r.t[k] = calloc((size_t)a.runs, sizeof(double));
    r.copy = calloc((size_t)a.runs, sizeof(double));
    if (any(!r.t[0] || !r.t[1] || !r.t[2] || !r.copy)) {
        rc = cli_error(self, CLI_FAIL, "out of memory");
        goto done;
    }
    if ((rc = make_mesh(self, a.mesh, &m)) != 0 ||
        (rc = state_make(self, &a, m, &s)) != 0)
        goto done;
    if (a.async) { /* its own phases and report (bench_async.c) */
        bench_async_in in = {a.file, a.preset, m, a.fsync, a.json, a.cuda, a.executor,
                             a.snapshot_bytes, s.n, s.t, s.layouts, s.bufs, s.dbufs,
                             s.bytes, s.shard_bytes, 0, s.total_bytes};
        if (cli_rank == 0) /* not timed: a previous file */
            unlink(a.file);
        MPI_Allreduce(&s.shard_bytes, &in.shard_max, 1, MPI_UINT64_T, MPI_MAX,
                      MPI_COMM_WORLD);
        rc = bench_async(&in, msg) != 0 ? cli_error(self, CLI_USAGE, "%s", msg) : CLI_OK;
        goto done;
    }
    if ((rc = rounds(self, &a, m, &s, &r, msg)) != 0)
        goto done;
    getrusage(RUSAGE_SELF, &ru);
    rss = (uint64_t)ru.ru_maxrss * 1024;
    over = rss > s.shard_bytes ? rss - s.shard_bytes : 0;
    MPI_Allreduce(&rss, &r.rss_max, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&s.shard_bytes, &r.shard_max, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&over, &r.overhead_max, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    report(&a, m, &s, &r);
    rc = CLI_OK;
    if (r.bad) {
        /* the first mismatch of the lowest failing rank */
        int mine = *msg ? cli_rank : cli_size, low = 0;
        MPI_Allreduce(&mine, &low, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (low < cli_size)
            MPI_Bcast(msg, sizeof msg, MPI_CHAR, low, MPI_COMM_WORLD);
        rc = cli_error(self, CLI_FAIL, "%llu elements differ; first: %s",
                       (unsigned long long)r.bad, msg);
    }
done:
    for (k = 0; k < NPHASES; k++)
        free(r.t[k]);
    free(r.copy);
    state_free(&s);
    h5ckpt_mesh_free(m);
    return rc;
}

const cli_cmd cmd_bench = {"bench", run, "--write FILE | --read FILE [OPTIONS]",
                           "benchmark writing or reading a synthetic state "
                           "against the POSIX ceilings (run under mpirun)",
                           opts};
