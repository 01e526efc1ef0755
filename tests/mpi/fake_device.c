/* The fake device backend of the MPI tests (see fake_device.h). */
#include "fake_device.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

fake_config fake_cfg = {-1, 0, 0, 0, 0, -1};
fake_stats fake_st;

#define REGION ((size_t)512 << 20)
#define ALIGN 256

static unsigned char *region;
static size_t bump;
static int open_depth;
static long seen[3]; /* copies per direction since the last reset */

/* ---- the region ---------------------------------------------------------- */

static void region_init(void)
{
    void *p;

    if (region)
        return;
    p = mmap(NULL, REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
             -1, 0);
    if (p == MAP_FAILED) {
        perror("fake device: mmap");
        abort();
    }
    region = p;
}

static void region_open(void)
{
    if (open_depth++ == 0 && mprotect(region, REGION, PROT_READ | PROT_WRITE) != 0)
        abort();
}

static void region_close(void)
{
    if (--open_depth == 0 && mprotect(region, REGION, PROT_NONE) != 0)
        abort();
}

static int in_region(const void *p)
{
    const unsigned char *c = p;

    return region && c >= region && c < region + REGION;
}

void *fake_dev_malloc(size_t n)
{
    void *p;

    region_init();
    if (bump + n > REGION)
        return NULL;
    p = region + bump;
    bump += (n + ALIGN - 1) / ALIGN * ALIGN + ALIGN; /* a gap between buffers */
    fake_st.dev_live++;
    return p;
}

void fake_dev_free(void *p)
{
    if (!p)
        return;
    if (--fake_st.dev_live == 0)
        bump = 0; /* nothing lives: start over */
}

void fake_upload(void *dev, const void *host, size_t n)
{
    region_open();
    memcpy(dev, host, n);
    region_close();
}

void fake_download(void *host, const void *dev, size_t n)
{
    region_open();
    memcpy(host, dev, n);
    region_close();
}

/* ---- streams: queued work runs at a wait or sync that covers it ---------- */

enum { Q_COPY, Q_PACK, Q_UNPACK, Q_BCAST };

typedef struct {
    int kind;
    void *dst;
    const void *src;
    size_t n, es;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    int64_t strides[H5CKPT_MAX_NDIM];
    int root;                 /* Q_BCAST */
    struct h5ckpt__dgroup *g; /* Q_BCAST */
} qop;

struct h5ckpt__stream {
    qop *q;
    size_t n, cap, done;
    size_t marks[H5CKPT__DEV_MARKS];
};

struct h5ckpt__dgroup {
    MPI_Comm comm;
    int aborted; /* its queued broadcasts are skipped */
    struct h5ckpt__dgroup *next; /* aborted groups, freed at uninstall */
};

static struct h5ckpt__dgroup *aborted_groups;

static void run_to(h5ckpt__stream *s, size_t upto)
{
    region_open();
    for (; s->done < upto; s->done++) {
        qop *o = &s->q[s->done];
        if (o->kind == Q_COPY)
            memcpy(o->dst, o->src, o->n);
        else if (o->kind == Q_BCAST) {
            if (!o->g->aborted) {
                MPI_Bcast(o->dst, (int)o->n, MPI_BYTE, o->root, o->g->comm);
                fake_st.bcasts++;
                fake_st.bcast_bytes += o->n;
            }
        } else if (o->kind == Q_PACK)
            h5ckpt__pack(o->dst, o->src, o->ndim, o->shape, o->strides, o->es);
        else
            h5ckpt__unpack(o->dst, o->src, o->ndim, o->shape, o->strides, o->es);
    }
    region_close();
}

static int fail(char *msg, int code, const char *text)
{
    snprintf(msg, H5CKPT_MSG_MAX, "%s", text);
    return code;
}

static int push(h5ckpt__stream *s, const qop *o, char *msg)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        qop *p = realloc(s->q, cap * sizeof *p);
        if (!p)
            return fail(msg, H5CKPT_ENOMEM, "fake: out of memory");
        s->q = p;
        s->cap = cap;
    }
    s->q[s->n++] = *o;
    return 0;
}

static int f_probe(char *msg)
{
    return fake_cfg.probe_fails ? fail(msg, H5CKPT_ENOTSUP, FAKE_PROBE_MSG) : 0;
}

static int f_is_device(const void *p) { return in_region(p); }

static int f_device_id(char *out, size_t size, char *msg)
{
    int rank = 0;

    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (fake_cfg.shared_id)
        snprintf(out, size, "fake-shared");
    else
        snprintf(out, size, "fake-%d", rank);
    return 0;
}

static int f_host_alloc(void **out, size_t n, char *msg)
{
    size_t *p = malloc(n + 16);

    if (!p)
        return fail(msg, H5CKPT_ENOMEM, "fakeHostAlloc: out of memory");
    p[0] = n;
    fake_st.host_live += n;
    fake_st.host_blocks_live++;
    if (fake_st.host_live > fake_st.host_peak)
        fake_st.host_peak = fake_st.host_live;
    *out = (unsigned char *)p + 16;
    return 0;
}

static void f_host_free(void *p)
{
    size_t *b;

    if (!p)
        return;
    b = (size_t *)(void *)((unsigned char *)p - 16);
    fake_st.host_live -= b[0];
    fake_st.host_blocks_live--;
    free(b);
}

static int f_dev_alloc(void **out, size_t n, char *msg)
{
    if (!(*out = fake_dev_malloc(n)))
        return fail(msg, H5CKPT_ENOMEM, "fakeMalloc: out of memory");
    return 0;
}

static int f_stream_create(h5ckpt__stream **out, char *msg)
{
    if (!(*out = calloc(1, sizeof **out)))
        return fail(msg, H5CKPT_ENOMEM, "fake: out of memory");
    fake_st.streams_live++;
    return 0;
}

static void f_stream_destroy(h5ckpt__stream *s)
{
    if (!s)
        return;
    run_to(s, s->n);
    free(s->q);
    free(s);
    fake_st.streams_live--;
}

static int f_copy(h5ckpt__stream *s, int dir, void *dst, const void *src,
                  size_t n, char *msg)
{
    qop o = {Q_COPY, dst, src, n, 0, 0, {0}, {0}, 0, NULL};
    int ok = dir == H5CKPT__D2H   ? in_region(src) && !in_region(dst)
             : dir == H5CKPT__H2D ? in_region(dst) && !in_region(src)
                                  : in_region(dst) && in_region(src);

    if (dir < 0 || dir > 2 || !ok)
        return fail(msg, H5CKPT_EDEVICE,
                    "fakeMemcpyAsync: invalid argument (fakeErrorInvalidValue)");
    if (dir == fake_cfg.fail_dir && ++seen[dir] == fake_cfg.fail_at)
        return fail(msg, H5CKPT_EDEVICE, FAKE_ERRMSG);
    fake_st.copies[dir]++;
    fake_st.bytes[dir] += n;
    return push(s, &o, msg);
}

static int f_pack_common(h5ckpt__stream *s, int kind, void *dst,
                         const void *src, int ndim, const uint64_t *shape,
                         const int64_t *strides, size_t es, char *msg)
{
    qop o = {kind, dst, src, 0, es, ndim, {0}, {0}, 0, NULL};

    if (!in_region(dst) || !in_region(src))
        return fail(msg, H5CKPT_EDEVICE,
                    "fakePack: invalid argument (fakeErrorInvalidValue)");
    memcpy(o.shape, shape, (size_t)ndim * sizeof *shape);
    memcpy(o.strides, strides, (size_t)ndim * sizeof *strides);
    if (kind == Q_PACK)
        fake_st.packs++;
    else
        fake_st.unpacks++;
    return push(s, &o, msg);
}

static int f_pack(h5ckpt__stream *s, void *dst, const void *src, int ndim,
                  const uint64_t *shape, const int64_t *strides, size_t es,
                  char *msg)
{
    return f_pack_common(s, Q_PACK, dst, src, ndim, shape, strides, es, msg);
}

static int f_unpack(h5ckpt__stream *s, void *dst, const void *src, int ndim,
                    const uint64_t *shape, const int64_t *strides, size_t es,
                    char *msg)
{
    return f_pack_common(s, Q_UNPACK, dst, src, ndim, shape, strides, es, msg);
}

static int f_mark(h5ckpt__stream *s, int i, char *msg)
{
    if (i < 0 || i >= H5CKPT__DEV_MARKS)
        return fail(msg, H5CKPT_EDEVICE, "fakeEventRecord: bad marker");
    s->marks[i] = s->n;
    return 0;
}

static int f_wait(h5ckpt__stream *s, int i, char *msg)
{
    if (i < 0 || i >= H5CKPT__DEV_MARKS)
        return fail(msg, H5CKPT_EDEVICE, "fakeEventSynchronize: bad marker");
    if (s->marks[i] > s->done)
        run_to(s, s->marks[i]);
    return 0;
}

static int f_sync(h5ckpt__stream *s, char *msg)
{
    run_to(s, s->n);
    return 0;
}

static int in_group; /* begin/end nesting */

static int f_group_create(h5ckpt__dgroup **out, MPI_Comm comm, char *msg)
{
    h5ckpt__dgroup *g = calloc(1, sizeof *g);

    if (!g || MPI_Comm_dup(comm, &g->comm) != MPI_SUCCESS) {
        free(g);
        return fail(msg, H5CKPT_EDEVICE, "fakeCommInitRank: failed");
    }
    fake_st.groups++;
    fake_st.groups_made++;
    *out = g;
    return 0;
}

static void f_group_free(h5ckpt__dgroup *g)
{
    if (!g)
        return;
    MPI_Comm_free(&g->comm);
    free(g);
    fake_st.groups--;
}

static int f_group_bcast(h5ckpt__dgroup *g, h5ckpt__stream *s, void *buf,
                         size_t n, int root, char *msg)
{
    qop o;
    int rank = 0;

    if (!in_group || !in_region(buf) || n > (size_t)1 << 30)
        return fail(msg, H5CKPT_EDEVICE, "fakeBroadcast: invalid usage");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == fake_cfg.fail_bcast_rank)
        return fail(msg, H5CKPT_EDEVICE, FAKE_BCAST_ERRMSG);
    memset(&o, 0, sizeof o);
    o.kind = Q_BCAST;
    o.dst = buf;
    o.n = n;
    o.root = root;
    o.g = g;
    return push(s, &o, msg); /* runs in stream order, at a wait or sync */
}

static void f_group_abort(h5ckpt__dgroup *g)
{
    if (!g)
        return;
    g->aborted = 1;
    g->next = aborted_groups; /* queued work may still name it */
    aborted_groups = g;
    fake_st.groups--;
    fake_st.aborts++;
}

static int f_group_begin(char *msg)
{
    in_group++;
    return 0;
}

static int f_group_end(char *msg)
{
    in_group--;
    return 0;
}

static const h5ckpt__devops with_groups = {
    "fake", f_probe, f_is_device, f_device_id, f_host_alloc, f_host_free,
    f_dev_alloc, fake_dev_free, f_stream_create, f_stream_destroy, f_copy,
    f_pack, f_unpack, f_mark, f_wait, f_sync, f_group_create, f_group_free,
    f_group_bcast, f_group_begin, f_group_end, f_group_abort};

static const h5ckpt__devops without_groups = {
    "fake", f_probe, f_is_device, f_device_id, f_host_alloc, f_host_free,
    f_dev_alloc, fake_dev_free, f_stream_create, f_stream_destroy, f_copy,
    f_pack, f_unpack, f_mark, f_wait, f_sync, NULL, NULL, NULL, NULL, NULL,
    NULL};

void fake_reset(void)
{
    fake_config def = {-1, 0, 0, 0, 0, -1};
    long dev = fake_st.dev_live, groups = (long)fake_st.groups;

    fake_cfg = def;
    memset(&fake_st, 0, sizeof fake_st);
    fake_st.dev_live = dev; /* still allocated */
    fake_st.groups = (uint64_t)groups;
    memset(seen, 0, sizeof seen);
}

void fake_install(void)
{
    region_init();
    memset(seen, 0, sizeof seen);
    h5ckpt__devops_override(fake_cfg.no_groups ? &without_groups : &with_groups);
}

void fake_uninstall(void)
{
    while (aborted_groups) {
        struct h5ckpt__dgroup *g = aborted_groups;
        aborted_groups = g->next;
        MPI_Comm_free(&g->comm);
        free(g);
    }
    h5ckpt__devops_override(NULL);
}
