/*
 * h5ckpt bench: write or read a synthetic state, verify every element read,
 * and measure the machine's ceiling in the same run (POSIX pwrite/pread of
 * the same per-rank byte counts into one scratch file in the same
 * directory, same fsync policy).
 *
 * Every timed phase starts after sync() and a barrier, so neither the
 * checkpoint nor the ceiling inherits the other's dirty pages.
 *
 * --device cuda places the same state in CUDA device buffers (generated on
 * the host and copied before timing; read back and verified after timing)
 * and also times the pinned copy ceiling: the same per-rank bytes through
 * one pinned buffer with cudaMemcpy (device to host when writing, host to
 * device when reading).  The device side lives in bench_cuda.c
 * (bench_nocuda.c in builds without CUDA).
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
       K_HIDDEN, K_DEVICE };

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
    {"fsync", K_FSYNC, NULL, "fsync the checkpoint and the ceiling's scratch file"},
    {"no-fsync", K_NOFSYNC, NULL, "do not fsync (default)"},
    {"device", K_DEVICE, "KIND", "host (default) or cuda: the state in CUDA device "
                                 "buffers, plus the pinned cudaMemcpy ceiling"},
    {"json", K_JSON, NULL, "print one JSON object instead of text"},
    {NULL, 0, NULL, NULL}};

typedef struct {
    const char *file, *preset, *mesh;
    int writing, fsync, json, cuda;
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

/* pwrite (or pread) `bytes` of this rank from/to the tensor buffers in
 * order, at `base` in fd. */
static int posix_io(int fd, int writing, state *s, uint64_t bytes, uint64_t base)
{
    size_t i;

    for (i = 0; bytes && i < s->n; i++) {
        uint64_t have = h5ckpt_layout_local_count(s->layouts[i]) *
                        h5ckpt_dtype_size(s->t[i].dtype), done = 0;
        if (have > bytes)
            have = bytes;
        while (done < have) {
            size_t n = have - done > (1u << 30) ? 1u << 30 : (size_t)(have - done);
            char *p = (char *)s->bufs[i] + done;
            ssize_t k = writing ? pwrite(fd, p, n, (off_t)(base + done))
                                : pread(fd, p, n, (off_t)(base + done));
            if (k <= 0)
                return -1;
            done += (uint64_t)k;
        }
        base += have;
        bytes -= have;
    }
    return 0;
}

/* The ceiling: every rank moves `bytes` at its own range of one scratch file
 * next to the checkpoint.  Reading first writes the scratch file (not
 * timed); writing writes and truncates it first (not timed).  Returns 0
 * or -1 on every rank. */
static int ceiling(const args *a, state *s, uint64_t bytes, double *secs, char *msg)
{
    char path[4096];
    uint64_t base = 0;
    double t0;
    int fd = -1, bad = 0;

    snprintf(path, sizeof path, "%s.ceiling-scratch", a->file);
    MPI_Exscan(&bytes, &base, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (cli_rank == 0)
        base = 0;
    if (cli_rank == 0 && (fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0)
        bad = 1;
    if (any(bad))
        goto fail;
    if (cli_rank != 0 && (fd = open(path, O_RDWR)) < 0)
        bad = 1;
    /* Reading: the data to read.  Writing: the same bytes, then truncated
     * away, so that the timed writes start right after as many page-cache
     * pages were freed as the checkpoint's write had (its old file). */
    if (!bad && posix_io(fd, 1, s, bytes, base) != 0)
        bad = 1;
    if (any(bad))
        goto fail;
    if (a->writing && cli_rank == 0 && ftruncate(fd, 0) != 0)
        bad = 1;
    if (any(bad))
        goto fail;
    if (cli_rank == 0)
        sync();
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now();
    if (posix_io(fd, a->writing, s, bytes, base) != 0 ||
        (a->writing && a->fsync && fsync(fd) != 0))
        bad = 1;
    bad |= close(fd) != 0;
    fd = -1;
    MPI_Barrier(MPI_COMM_WORLD);
    *secs = now() - t0;
    if (any(bad))
        goto fail;
    if (cli_rank == 0)
        unlink(path);
    return 0;
fail:
    snprintf(msg, 512, "ceiling scratch file '%.300s': %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (cli_rank == 0)
        unlink(path);
    return -1;
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
        if (b && !bad)
            snprintf(msg, 512, "rank %d, tensor '%s': %s", cli_rank, t->path, m);
        bad += b;
    }
    return bad;
}

typedef struct {
    double secs, csecs, dsecs; /* h5ckpt, file ceiling, pinned copy */
    uint64_t bad, rss_max, shard_max, overhead_max;
} result;

static void report(const args *a, const h5ckpt_mesh *m, const state *s, const result *r)
{
    double gb = (double)s->total_bytes / 1e9;
    char mesh[64] = "";
    int d, n = 0;

    for (d = 0; d < h5ckpt_mesh_ndim(m); d++)
        n += snprintf(mesh + n, sizeof mesh - (size_t)n, "%s%d", d ? "x" : "",
                      h5ckpt_mesh_size(m, d));
    if (a->json) {
        json_t *j = json_pack(
            "{s:s, s:s, s:i, s:s, s:s, s:b, s:I, s:I, s:f, s:f, s:f, s:f, s:f, "
            "s:f, s:I, s:I, s:I, s:I}",
            "op", a->writing ? "write" : "read", "preset", a->preset, "ranks",
            cli_size, "mesh", mesh, "executor",
            a->executor == H5CKPT_EXECUTOR_PLAIN ? "plain"
            : a->executor == H5CKPT_EXECUTOR_FAST ? "fast" : "default",
            "fsync", a->fsync, "tensors", (json_int_t)s->n, "bytes",
            (json_int_t)s->total_bytes, "seconds", r->secs, "gbps", gb / r->secs,
            "tensors_per_s", (double)s->n / r->secs, "ceiling_seconds", r->csecs,
            "ceiling_gbps", gb / r->csecs, "ratio", r->csecs / r->secs,
            "mismatches", (json_int_t)r->bad, "rss_max_bytes", (json_int_t)r->rss_max,
            "shard_max_bytes", (json_int_t)r->shard_max, "rss_over_shard_max_bytes",
            (json_int_t)r->overhead_max);
        if (j)
            json_object_set_new(j, "device", json_string(a->cuda ? "cuda" : "host"));
        if (j && a->cuda) {
            double lim = r->csecs > r->dsecs ? r->csecs : r->dsecs;
            json_object_set_new(j, "copy_direction", json_string(a->writing ? "d2h" : "h2d"));
            json_object_set_new(j, "copy_seconds", json_real(r->dsecs));
            json_object_set_new(j, "copy_gbps", json_real(gb / r->dsecs));
            json_object_set_new(j, "ratio_device", json_real(lim / r->secs));
        }
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        cli_out("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(j);
        return;
    }
    cli_out("%s %s: %zu tensors, %.3f GB, %d ranks, mesh %s, %s executor, %s%s\n",
            a->writing ? "write" : "read", a->preset, s->n, gb, cli_size, mesh,
            a->executor == H5CKPT_EXECUTOR_PLAIN ? "plain"
            : a->executor == H5CKPT_EXECUTOR_FAST ? "fast" : "default",
            a->fsync ? "fsync" : "no fsync", a->cuda ? ", CUDA device buffers" : "");
    cli_out("  h5ckpt   %8.3f s  %7.3f GB/s  %10.0f tensors/s\n", r->secs,
            gb / r->secs, (double)s->n / r->secs);
    cli_out("  ceiling  %8.3f s  %7.3f GB/s  (POSIX, same bytes per rank)\n",
            r->csecs, gb / r->csecs);
    cli_out("  ratio    %8.3f\n", r->csecs / r->secs);
    if (a->cuda) {
        double lim = r->csecs > r->dsecs ? r->csecs : r->dsecs;
        cli_out("  copy     %8.3f s  %7.3f GB/s  (pinned cudaMemcpy %s, same bytes per "
                "rank)\n", r->dsecs, gb / r->dsecs, a->writing ? "D2H" : "H2D");
        cli_out("  ratio to min(copy, ceiling) %8.3f\n", lim / r->secs);
    }
    cli_out("  peak RSS %8.1f MiB max over ranks; largest own shard %.1f MiB; "
            "RSS over own shard %.1f MiB max\n",
            r->rss_max / 1048576.0, r->shard_max / 1048576.0,
            r->overhead_max / 1048576.0);
    if (!a->writing)
        cli_out("  verified every element read: %llu mismatches\n",
                (unsigned long long)r->bad);
}

static int run(const cli_cmd *self, int argc, char **argv)
{
    char msg[512] = "";
    h5ckpt_mesh *m = NULL;
    state s = {0};
    result r = {0};
    struct rusage ru;
    uint64_t moved = 0, rss, over;
    args a;
    int rc;

    if ((rc = parse(self, argc, argv, &a)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (a.cuda && any(bench_dev_probe(msg) != 0)) {
        if (!*msg)
            snprintf(msg, sizeof msg, "no CUDA device on another rank");
        return cli_error(self, CLI_FAIL, "%s", msg);
    }
    if ((rc = make_mesh(self, a.mesh, &m)) != 0 ||
        (rc = state_make(self, &a, m, &s)) != 0)
        goto done;
    /* A previous file at the target would be freed by the commit's rename
     * inside the timed phase, handing its warm page-cache pages to the
     * ceiling that runs next; remove it first (not timed). */
    if (a.writing && cli_rank == 0)
        unlink(a.file);
    if (cli_rank == 0)
        sync();
    if (a.writing) { /* checkpoint first: the ceiling needs its byte counts */
        if ((rc = run_ckpt(&a, m, &s, &r.secs, &moved, msg)) != 0 ||
            (rc = ceiling(&a, &s, moved, &r.csecs, msg)) != 0 ||
            (a.cuda && (rc = copy_ceiling(&a, &s, moved, &r.dsecs, msg)) != 0)) {
            rc = cli_error(self, CLI_USAGE, "%s", msg);
            goto done;
        }
    } else {
        if (ceiling(&a, &s, s.shard_bytes, &r.csecs, msg) != 0 ||
            (a.cuda && copy_ceiling(&a, &s, s.shard_bytes, &r.dsecs, msg) != 0) ||
            run_ckpt(&a, m, &s, &r.secs, &moved, msg) != 0 ||
            (a.cuda && download(&s, msg) != 0)) {
            rc = cli_error(self, CLI_USAGE, "%s", msg);
            goto done;
        }
        r.bad = verify(&s, msg);
        MPI_Allreduce(MPI_IN_PLACE, &r.bad, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    }
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
    state_free(&s);
    h5ckpt_mesh_free(m);
    return rc;
}

const cli_cmd cmd_bench = {"bench", run, "--write FILE | --read FILE [OPTIONS]",
                           "benchmark writing or reading a synthetic state "
                           "against the POSIX ceiling (run under mpirun)",
                           opts};
