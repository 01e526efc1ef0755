/*
 * Asynchronous commits (h5ckpt_commit_start/test/wait, lib/h5ckpt.h section
 * "Asynchronous commits"): the file holds the state as it was when start
 * returned, whatever the caller does to its buffers afterwards, with any
 * snapshot budget and with host or (fake) device buffers; snapshot memory
 * is reused between saves; a background write error (injected, or a real
 * full tmpfs) comes back from wait on every rank with the same code and
 * message, the previous checkpoint intact and no temporary file left;
 * close with a commit in flight aborts it; checkpoint directories and
 * training states save asynchronously; every misuse fails with its code.
 *
 * Initialises MPI with MPI_THREAD_FUNNELED (test_async_single checks the
 * refusal without it).  Links the convenience library for the test knobs
 * (write failures, a slow background writer) and the fake device.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fake_device.h"
#include "handle/handle.h"
#include "values.h"

int t_thread_level = MPI_THREAD_FUNNELED;

/* ---- helpers --------------------------------------------------------------- */

static void knobs(int fail_errno, uint64_t fail_after, unsigned pace_us)
{
    h5ckpt__knobs k = *h5ckpt__knobs_get();

    k.write_fail_errno = fail_errno;
    k.write_fail_after = fail_after;
    k.write_pace_us = pace_us;
    h5ckpt__knobs_set(&k);
}

/* The message is not empty and the same on every rank. */
static void same_message(const char *msg)
{
    char root[512];

    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    T_ALL(msg[0] != '\0' && strcmp(root, msg) == 0, "message '%s' vs rank 0 '%s'",
          msg, root);
}

/* Temporary files of saves in `dir` (0 on every rank but 0). */
static int count_tmp(const char *dir)
{
    struct dirent *e;
    DIR *d;
    int n = 0;

    if (T_rank != 0 || !(d = opendir(dir)))
        return 0;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".h5ckpt-tmp-") != NULL;
    closedir(d);
    return n;
}

/* Rank 0: 1 when files a and b hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
    int ca, cb, same = x && y;

    while (same && (ca = fgetc(x)) == (cb = fgetc(y)) && ca != EOF)
        ;
    if (same)
        same = ca == cb;
    if (x)
        fclose(x);
    if (y)
        fclose(y);
    return same;
}

/* ---- the state under test ---------------------------------------------------- */

/*
 * Seven tensors covering every way a rank holds data: Shard(0), Shard(1)
 * (one run per row), replicated (one owner writes), a range layout (several
 * boxes), a 0-d tensor, an odd byte count, and a strided host buffer (rows
 * padded by 2 elements).  `scale` stretches them; `id0` picks the values.
 */
enum { NT = 7, STRIDED = 6 };
typedef struct {
    tensor t[NT];
    int64_t strides[2];
} state;

static void state_init(state *s, int scale, uint64_t id0)
{
    uint64_t P = (uint64_t)T_size, sc = (uint64_t)scale;
    uint64_t s0[2] = {3 * P + 1, 5 * sc}, s1[2] = {7 * sc, 2 * P + 3};
    uint64_t s2[1] = {6 * sc}, s3[2] = {4, 9 * sc}, s5[1] = {1001 * sc};
    uint64_t s6[2] = {2 * P + 1, 4 * sc};

    memset(s, 0, sizeof *s);
    tensor_init(&s->t[0], H5CKPT_FLOAT32, id0 + 0, 2, s0, "model/shard0");
    tensor_init(&s->t[1], H5CKPT_INT16, id0 + 1, 2, s1, "model/shard1");
    tensor_init(&s->t[2], H5CKPT_BFLOAT16, id0 + 2, 1, s2, "model/replicated");
    tensor_init(&s->t[3], H5CKPT_FLOAT64, id0 + 3, 2, s3, "optim/range");
    tensor_init(&s->t[4], H5CKPT_INT8, id0 + 4, 0, NULL, "step");
    tensor_init(&s->t[5], H5CKPT_UINT8, id0 + 5, 1, s5, "odd/bytes");
    tensor_init(&s->t[6], H5CKPT_INT32, id0 + 6, 2, s6, "model/strided");
}

/* The writer's layouts and buffers, queued on `ck`. */
static void state_put(state *s, h5ckpt *ck, const h5ckpt_mesh *m)
{
    const int sh0[1] = {H5CKPT_SHARD(0)}, sh1[1] = {H5CKPT_SHARD(1)},
              rep[1] = {H5CKPT_REPLICATE};
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    uint64_t n = s->t[3].shape[0] * s->t[3].shape[1], chunk, lo, hi;
    uint64_t off[2], cnt[2];
    tensor *st = &s->t[STRIDED];
    int i;

    chunk = (n + (uint64_t)T_size - 1) / (uint64_t)T_size;
    lo = chunk * (uint64_t)T_rank < n ? chunk * (uint64_t)T_rank : n;
    hi = lo + chunk < n ? lo + chunk : n;
    h5ckpt_layout_sharded(&s->t[0].l, m, 2, s->t[0].shape, sh0, NULL);
    h5ckpt_layout_sharded(&s->t[1].l, m, 2, s->t[1].shape, sh1, NULL);
    h5ckpt_layout_sharded(&s->t[2].l, m, 1, s->t[2].shape, rep, NULL);
    h5ckpt_layout_range(&s->t[3].l, 2, s->t[3].shape, lo, hi, NULL);
    h5ckpt_layout_whole(&s->t[4].l, 0, NULL, NULL);
    h5ckpt_layout_sharded(&s->t[5].l, m, 1, s->t[5].shape, sh0, NULL);
    h5ckpt_layout_sharded(&st->l, m, 2, st->shape, sh0, NULL);
    for (i = 0; i < NT; i++)
        if (i != STRIDED)
            T_PASS(ck, tensor_put(ck, &s->t[i]));
    local_box(st->l, 2, off, cnt);
    s->strides[0] = (int64_t)st->shape[1] + 2;
    s->strides[1] = 1;
    strided_alloc(st, cnt[0] ? (cnt[0] - 1) * (uint64_t)s->strides[0] + cnt[1] : 0);
    strided_io(st, off, cnt, s->strides, 1);
    b.strides = s->strides;
    T_PASS(ck, h5ckpt_tensor_put(ck, st->path, st->dt, st->l, st->buf, &b));
}

/* What training does once start returned: change every buffer, then free
 * it. */
static void state_scribble(state *s)
{
    int i;

    for (i = 0; i < NT; i++) {
        uint64_t n = h5ckpt_layout_local_count(s->t[i].l) * elsize[s->t[i].dt];
        if (i == STRIDED && n) /* rows padded by 2 elements, the last one not */
            n = ((n / 4 / s->t[i].shape[1] - 1) * (uint64_t)s->strides[0] +
                 s->t[i].shape[1]) * 4;
        if (s->t[i].buf && n)
            memset(s->t[i].buf, 0x5A, n);
        tensor_release(&s->t[i]);
    }
}

/* Collective: the file at `path` holds state `id0` of `scale`: every
 * tensor read whole on every rank with checksum verification, and the
 * whole-file check finds nothing. */
static void state_check(const char *path, int scale, uint64_t id0)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0, ""};
    size_t problems = 99;
    uint64_t bad = 0;
    h5ckpt *ck = NULL;
    state s;
    int i;

    state_init(&s, scale, id0);
    o.verify_checksums = 1;
    T_ALL(h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, &err) == 0, "open: %s",
          err.message);
    for (i = 0; i < NT; i++) {
        h5ckpt_layout_whole(&s.t[i].l, s.t[i].ndim, s.t[i].shape, NULL);
        T_PASS(ck, tensor_get(ck, &s.t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < NT; i++)
        bad += tensor_bad(&s.t[i]);
    T_CHECK(bad);
    T_PASS(ck, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&s.t[i]);
    T_ALL(h5ckpt_verify(path, MPI_COMM_WORLD, NULL, NULL, &problems, &err) == 0 &&
              problems == 0,
          "verify: %zu problems (%s)", problems, err.message);
}

/* Bytes of tensor data in state `scale` (all tensors, whole). */
static uint64_t state_bytes(int scale)
{
    uint64_t n = 0;
    state s;
    int i;

    state_init(&s, scale, 0);
    for (i = 0; i < NT; i++)
        n += tensor_bytes(&s.t[i]);
    return n;
}

/* Collective: a writer at `path` with `o` (NULL: defaults) holding state
 * (scale, id0). */
static h5ckpt *writer(const char *path, const h5ckpt_options *o, state *s,
                      int scale, uint64_t id0, h5ckpt_mesh *m)
{
    h5ckpt_error err = {0, ""};
    h5ckpt *ck = NULL;

    T_ALL(h5ckpt_create(&ck, path, MPI_COMM_WORLD, o, &err) == 0, "create: %s",
          err.message);
    state_init(s, scale, id0);
    state_put(s, ck, m);
    return ck;
}

/* Collective: a synchronous save of state (1, id0) at `path`. */
static void save_sync(const char *path, uint64_t id0, h5ckpt_mesh *m)
{
    state s;
    h5ckpt *ck = writer(path, NULL, &s, 1, id0, m);

    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
}

static h5ckpt_options fast_options(void)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;

    o.executor = H5CKPT_EXECUTOR_FAST;
    return o;
}

/* ---- saving -------------------------------------------------------------------- */

START_TEST(async_commit_saves_the_state_as_it_was_at_start)
{
    h5ckpt_mesh *m = world_mesh();
    const char *p = t_path("async.h5");
    uint64_t mine, all = 0;
    state s;
    h5ckpt *ck = writer(p, NULL, &s, 3, 100, m);

    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s); /* training goes on at once */
    T_PASS(ck, h5ckpt_commit_wait(ck));
    mine = h5ckpt_bytes_written(ck);
    MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(all == state_bytes(3), "bytes written %llu, state %llu",
          (unsigned long long)all, (unsigned long long)state_bytes(3));
    T_PASS(ck, h5ckpt_close(ck));
    state_check(p, 3, 100);
    h5ckpt_mesh_free(m);
}
END_TEST

/* Rank 0: the checksum table of `path`, rows sorted; *n rows of *w. */
static size_t row_width;
static int cmp_row(const void *a, const void *b)
{
    return memcmp(a, b, row_width * sizeof(uint64_t));
}

static uint64_t *sorted_table(const char *path, hsize_t *n, hsize_t *w)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = -1, sp = -1;
    hsize_t dims[2] = {0, 0};
    uint64_t *rows = NULL;

    if (f >= 0 && (d = H5Dopen2(f, "h5ckpt_checksums", H5P_DEFAULT)) >= 0 &&
        (sp = H5Dget_space(d)) >= 0 && H5Sget_simple_extent_dims(sp, dims, NULL) == 2 &&
        (rows = malloc(dims[0] * dims[1] * sizeof *rows + 1)) &&
        H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0) {
        row_width = (size_t)dims[1];
        qsort(rows, (size_t)dims[0], (size_t)dims[1] * sizeof *rows, cmp_row);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    *n = dims[0];
    *w = dims[1];
    return rows;
}

START_TEST(async_and_synchronous_commits_write_the_same_tensors_and_checksums)
{
    h5ckpt_mesh *m = world_mesh();
    const char *a = t_path("same-async.h5"), *b = t_path("same-sync.h5");
    const char *groups[4] = {"/model", "/optim", "/odd", "/step"};
    char cmd[1200];
    state s;
    h5ckpt *ck = writer(a, NULL, &s, 2, 7, m);
    int rc = 0, same = 1, i;

    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s);
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    ck = writer(b, NULL, &s, 2, 7, m);
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
    if (T_rank == 0) {
        hsize_t na, wa, nb, wb;
        uint64_t *ra, *rb;
        /* the same tensors (an independent tool) ... */
        for (i = 0; rc == 0 && i < 4; i++) {
            snprintf(cmd, sizeof cmd, "h5diff -q '%s' '%s' %s %s", a, b, groups[i],
                     groups[i]);
            rc = system(cmd);
        }
        /* ... and the same checksum rows, in whatever order */
        ra = sorted_table(a, &na, &wa);
        rb = sorted_table(b, &nb, &wb);
        same = ra && rb && na == nb && wa == wb && na > 0 &&
               memcmp(ra, rb, na * wa * sizeof *ra) == 0;
        free(ra);
        free(rb);
    }
    T_ALL(rc == 0, "h5diff finds the async and sync files' tensors different (%d)", rc);
    T_ALL(same, "the async and sync files' checksum tables differ");
    state_check(a, 2, 7);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(a_budget_smaller_than_the_state_is_all_start_holds)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    const char *p = t_path("budget.h5");
    state s;
    h5ckpt *ck;

    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    o.snapshot = snap;
    o.snapshot_bytes = 1; /* raised to 64 KiB: far less than each rank's part */
    ck = writer(p, &o, &s, 2000, 40, m);
    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s);
    T_ALL(h5ckpt_snapshot_bytes(snap) == 65536, "snapshot holds %llu bytes",
          (unsigned long long)h5ckpt_snapshot_bytes(snap));
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_check(p, 2000, 40);
    h5ckpt_snapshot_free(snap);
    h5ckpt_mesh_free(m);
}
END_TEST

/* This rank's bytes of state (scale, any id) as the planner assigns them:
 * what a save with the default budget holds. */
static uint64_t own_bytes(h5ckpt_mesh *m, int scale)
{
    h5ckpt_options o = fast_options();
    h5ckpt_snapshot *snap = NULL;
    uint64_t n;
    state s;
    h5ckpt *ck;

    h5ckpt_snapshot_create(&snap);
    o.snapshot = snap;
    ck = writer(t_path("own.h5"), &o, &s, scale, 0, m);
    T_PASS(ck, h5ckpt_commit_start(ck));
    T_PASS(ck, h5ckpt_commit_wait(ck));
    n = h5ckpt_bytes_written(ck);
    T_ALL(h5ckpt_snapshot_bytes(snap) == n, "snapshot %llu, own bytes %llu",
          (unsigned long long)h5ckpt_snapshot_bytes(snap), (unsigned long long)n);
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
    h5ckpt_snapshot_free(snap);
    return n;
}

START_TEST(snapshot_memory_is_kept_between_saves_and_grows_to_the_largest)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    uint64_t small = own_bytes(m, 1), big = own_bytes(m, 50);
    int scale[3] = {1, 50, 1}, i;
    uint64_t want[3] = {small, big, big};

    T_ALL(small < big, "own bytes %llu and %llu", (unsigned long long)small,
          (unsigned long long)big);
    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    T_ALL(h5ckpt_snapshot_bytes(snap) == 0, "a new holder holds memory");
    o.snapshot = snap;
    for (i = 0; i < 3; i++) {
        state s;
        h5ckpt *ck = writer(t_path("reuse.h5"), &o, &s, scale[i], (uint64_t)i, m);
        T_PASS(ck, h5ckpt_commit_start(ck));
        state_scribble(&s);
        T_PASS(ck, h5ckpt_commit_wait(ck));
        T_PASS(ck, h5ckpt_close(ck));
        T_ALL(h5ckpt_snapshot_bytes(snap) == want[i], "save %d: %llu bytes held, "
              "expected %llu", i, (unsigned long long)h5ckpt_snapshot_bytes(snap),
              (unsigned long long)want[i]);
        state_check(t_path("reuse.h5"), scale[i], (uint64_t)i);
    }
    h5ckpt_snapshot_free(snap);
    h5ckpt_mesh_free(m);
}
END_TEST

/* The alignment of direct writes in the test directory, as lib/io/direct.c
 * computes it, or 0 where the file system refuses O_DIRECT (on any rank). */
static uint64_t direct_alignment(void)
{
    char probe[4096];
    struct statvfs v;
    struct stat st;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t a = 4096, lo;
    int fd;

    snprintf(probe, sizeof probe, "%s/direct-probe-%d", t_dir(), T_rank);
    fd = open(probe, O_WRONLY | O_CREAT | O_DIRECT, 0644);
    if (fd < 0)
        a = 0;
    else {
        if (page > 0 && (uint64_t)page > a)
            a = (uint64_t)page;
        if (fstatvfs(fd, &v) == 0 && v.f_bsize > a && v.f_bsize <= (1u << 20))
            a = v.f_bsize;
        if (fstat(fd, &st) == 0 && (uint64_t)st.st_blksize > a &&
            st.st_blksize <= (1 << 20))
            a = (uint64_t)st.st_blksize;
        close(fd);
    }
    unlink(probe);
    MPI_Allreduce(&a, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    return lo;
}

START_TEST(large_boxes_are_written_from_the_snapshot_without_a_copy)
{
    h5ckpt_options o = fast_options();
    const int sh0[1] = {H5CKPT_SHARD(0)}, sh1[1] = {H5CKPT_SHARD(1)};
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    const char *p = t_path("nocopy.h5");
    /* two 1-D tensors whose shards are one run of 1.2 MB (and an odd
     * length, so that the second starts unaligned in the file), and a
     * Shard(1) one whose rows are short runs: not padded */
    const uint64_t sa[1] = {(uint64_t)T_size * 300001}, sb[1] = {(uint64_t)T_size * 150001};
    const uint64_t sc[2] = {64, (uint64_t)T_size * 8};
    uint64_t A = direct_alignment(), own, held, direct, nocopy, bad = 0;
    tensor t[3];
    h5ckpt *ck = NULL;
    int i;

    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    o.snapshot = snap;
    o.no_fsync = 1;
    tensor_init(&t[0], H5CKPT_FLOAT32, 91, 1, sa, "big/a");
    tensor_init(&t[1], H5CKPT_FLOAT64, 92, 1, sb, "big/b");
    tensor_init(&t[2], H5CKPT_INT16, 93, 2, sc, "small/cols");
    h5ckpt_layout_sharded(&t[0].l, m, 1, sa, sh0, NULL);
    h5ckpt_layout_sharded(&t[1].l, m, 1, sb, sh0, NULL);
    h5ckpt_layout_sharded(&t[2].l, m, 2, sc, sh1, NULL);
    T_PASS(NULL, h5ckpt_create(&ck, p, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < 3; i++) {
        tensor_alloc(&t[i], 1);
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit_start(ck));
    for (i = 0; i < 3; i++) /* training changes its buffers at once */
        memset(t[i].buf, 0x5A, (size_t)tensor_bytes(&t[i]) / (size_t)T_size);
    T_PASS(ck, h5ckpt_commit_wait(ck));
    own = h5ckpt_bytes_written(ck);
    held = h5ckpt_snapshot_bytes(snap);
    direct = ck->io.direct_bytes;
    nocopy = ck->io.direct_nocopy_bytes;
    T_PASS(ck, h5ckpt_close(ck));
    /* the ring has room for one alignment's padding before each large box */
    T_ALL(held == own + (A ? 2 * (A - 1) : 0), "snapshot %llu bytes, own %llu, "
          "alignment %llu", (unsigned long long)held, (unsigned long long)own,
          (unsigned long long)A);
    /* every byte written direct came straight from the ring: all of the
     * two large shards but less than an alignment at each end */
    T_ALL(nocopy == direct, "%llu of %llu direct bytes without a copy",
          (unsigned long long)nocopy, (unsigned long long)direct);
    T_ALL(!A || direct + 4 * A >= (300001 * 4 + 150001 * 8),
          "%llu bytes written direct", (unsigned long long)direct);
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);
    T_PASS(NULL, h5ckpt_open(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++) {
        h5ckpt_layout_whole(&t[i].l, t[i].ndim, t[i].shape, NULL);
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 3; i++)
        bad += tensor_bad(&t[i]);
    T_CHECK(bad);
    T_PASS(ck, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);
    h5ckpt_snapshot_free(snap);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(commit_test_reports_done_once_the_background_write_ends)
{
    h5ckpt_mesh *m = world_mesh();
    const char *p = t_path("test.h5");
    double until;
    state s;
    h5ckpt *ck = writer(p, NULL, &s, 20, 3, m);
    int done = -1;

    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s);
    /* local: each rank polls on its own, no communication */
    for (until = MPI_Wtime() + 60; MPI_Wtime() < until; usleep(1000))
        if (h5ckpt_commit_test(ck, &done) != 0 || done)
            break;
    T_ALL(done == 1, "commit_test said %d for 60 s", done);
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_check(p, 20, 3);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(the_plain_executor_writes_everything_at_start)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    const char *p = t_path("plain.h5");
    state s;
    h5ckpt *ck;
    int done = -1;

    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    o.executor = H5CKPT_EXECUTOR_PLAIN;
    o.snapshot = snap;
    ck = writer(p, &o, &s, 2, 11, m);
    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s);
    T_PASS(ck, h5ckpt_commit_test(ck, &done));
    T_ALL(done == 1, "the plain executor left a write in flight");
    T_ALL(h5ckpt_snapshot_bytes(snap) == 0, "the plain executor took a snapshot");
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_check(p, 2, 11);
    h5ckpt_snapshot_free(snap);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(a_rank_with_nothing_to_write_is_done_at_once)
{
    h5ckpt_mesh *m = world_mesh();
    const char *p = t_path("nothing.h5");
    h5ckpt_layout *l;
    h5ckpt *ck = NULL;
    int64_t v = 42, got = 0;
    uint64_t mine, all = 0;
    int done = -1;

    h5ckpt_layout_whole(&l, 0, NULL, NULL);
    T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    /* a replicated scalar: one owner writes it, the others nothing */
    T_PASS(ck, h5ckpt_tensor_put(ck, "v", H5CKPT_INT64, l, &v, NULL));
    knobs(0, 0, 300000);
    T_PASS(ck, h5ckpt_commit_start(ck));
    knobs(0, 0, 0);
    v = -1;
    T_PASS(ck, h5ckpt_commit_test(ck, &done));
    T_PASS(ck, h5ckpt_commit_wait(ck));
    mine = h5ckpt_bytes_written(ck);
    MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(all == 8 && (mine == 8 || mine == 0), "bytes written %llu (all %llu)",
          (unsigned long long)mine, (unsigned long long)all);
    /* no thread, no memory where there is nothing to write */
    T_ALL(mine == 8 || done == 1, "a rank with nothing to write was not done");
    T_PASS(ck, h5ckpt_close(ck));
    ck = NULL;
    T_PASS(ck, h5ckpt_open(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, h5ckpt_tensor_get(ck, "v", H5CKPT_INT64, l, &got, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(got == 42, "read %lld", (long long)got);
    h5ckpt_layout_free(l);
    h5ckpt_mesh_free(m);
}
END_TEST

/* ---- failures ------------------------------------------------------------------ */

/* Collective: an async save of state 2 over checkpoint `p` (state 1) fails in
 * the background with `code` and a message naming `rank` and `text`; the
 * previous checkpoint stays, and no temporary file is left. */
static void background_failure(const char *p, int fail_rank, int eno,
                               uint64_t after, const char *text)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    char copy[600], want[64];
    state s;
    h5ckpt *ck;

    save_sync(p, 1, m);
    snprintf(copy, sizeof copy, "%s.prev", p);
    if (T_rank == 0)
        t_copy_file(p, copy);
    ck = writer(p, &o, &s, 30, 2, m);
    if (fail_rank < 0 || fail_rank == T_rank)
        knobs(eno, after, 0);
    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s);
    T_CODE(H5CKPT_EIO, h5ckpt_commit_wait(ck));
    knobs(0, 0, 0);
    same_message(h5ckpt_errmsg(ck));
    snprintf(want, sizeof want, "rank %d: writing '", fail_rank < 0 ? 0 : fail_rank);
    T_ALL(strstr(h5ckpt_errmsg(ck), want) && strstr(h5ckpt_errmsg(ck), ".h5ckpt-tmp-") &&
              strstr(h5ckpt_errmsg(ck), "' in the background failed: ") &&
              strstr(h5ckpt_errmsg(ck), text),
          "message '%s' does not name rank, file and '%s'", h5ckpt_errmsg(ck), text);
    /* at once, before close */
    T_ALL(count_tmp(t_dir()) == 0, "a temporary file is left after wait");
    T_ALL(T_rank != 0 || same_bytes(p, copy), "the previous checkpoint changed");
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_check(p, 1, 1);
    if (T_rank == 0)
        unlink(copy);
    h5ckpt_mesh_free(m);
}

START_TEST(disk_full_in_the_background_fails_wait_on_every_rank)
{
    background_failure(t_path("enospc.h5"), T_size - 1, ENOSPC, 0,
                       strerror(ENOSPC));
}
END_TEST

START_TEST(an_io_error_on_every_rank_is_reported_for_the_lowest_rank)
{
    background_failure(t_path("eio.h5"), -1, EIO, 1000, strerror(EIO));
}
END_TEST

START_TEST(a_full_file_system_fails_the_save_and_keeps_the_previous_one)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m;
    char dir[600], p[700], copy[700], why[256] = "";
    state s;
    h5ckpt *ck;
    int ok = 0, rc;

    snprintf(dir, sizeof dir, "%s/full", t_dir());
    if (T_rank == 0) {
        ok = mkdir(dir, 0755) == 0 && mount("tmpfs", dir, "tmpfs", 0, "size=1m") == 0;
        if (!ok)
            snprintf(why, sizeof why, "%s", strerror(errno));
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!ok) {
        if (T_rank == 0)
            printf("skipped: cannot mount a 1 MiB tmpfs (%s; needs root)\n", why);
        return;
    }
    m = world_mesh();
    snprintf(p, sizeof p, "%s/ckpt.h5", dir);
    snprintf(copy, sizeof copy, "%s/prev.h5", t_dir());
    save_sync(p, 1, m); /* a few KiB */
    if (T_rank == 0)
        t_copy_file(p, copy);
    ck = writer(p, &o, &s, 1000, 2, m); /* 1.5 MB (1 rank) to 1.9 MB (4) */
    if ((rc = h5ckpt_commit_start(ck)) == 0) {
        state_scribble(&s);
        rc = h5ckpt_commit_wait(ck);
    } else {
        state_scribble(&s);
    }
    T_ALL(rc == H5CKPT_EIO, "the save into a full file system: %s (%s)",
          h5ckpt_errname(rc), h5ckpt_errmsg(ck));
    same_message(h5ckpt_errmsg(ck));
    T_ALL(strstr(h5ckpt_errmsg(ck), strerror(ENOSPC)) != NULL, "message '%s'",
          h5ckpt_errmsg(ck));
    T_ALL(count_tmp(dir) == 0, "a temporary file is left in the full file system");
    T_ALL(T_rank != 0 || same_bytes(p, copy), "the previous checkpoint changed");
    T_PASS(ck, h5ckpt_close(ck));
    state_check(p, 1, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    if (T_rank == 0) {
        unlink(copy);
        umount(dir);
    }
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(close_with_a_commit_in_flight_aborts_it)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    const char *p = t_path("aborted.h5");
    struct stat st;
    state s;
    h5ckpt *ck;
    int done = -1;

    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    o.snapshot = snap;
    ck = writer(p, &o, &s, 2, 5, m);
    knobs(0, 0, 1000000); /* one second before each piece */
    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s);
    T_PASS(ck, h5ckpt_commit_test(ck, &done));
    T_ALL(done == 0, "the background write ended within its first second");
    T_PASS(ck, h5ckpt_close(ck));
    knobs(0, 0, 0);
    T_ALL(count_tmp(t_dir()) == 0, "the aborted save left its temporary file");
    T_ALL(stat(p, &st) != 0 && errno == ENOENT, "an aborted save was published");
    T_ALL(h5ckpt_snapshot_bytes(snap) > 0, "the caller's snapshot memory was freed");
    /* the snapshot memory is free for the next save */
    ck = writer(p, &o, &s, 2, 6, m);
    T_PASS(ck, h5ckpt_commit_start(ck));
    state_scribble(&s);
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_check(p, 2, 6);
    h5ckpt_snapshot_free(snap);
    h5ckpt_mesh_free(m);
}
END_TEST

/* ---- misuse, each with its code --------------------------------------------------- */

/* A writer of a small state with its commit started (or not). */
static h5ckpt *started(const char *name, state *s, h5ckpt_mesh *m, int start)
{
    h5ckpt *ck = writer(t_path(name), NULL, s, 1, 0, m);

    if (start)
        T_PASS(ck, h5ckpt_commit_start(ck));
    return ck;
}

START_TEST(tensor_put_during_a_commit_in_flight_fails_with_emode)
{
    h5ckpt_mesh *m = world_mesh();
    state s;
    h5ckpt *ck = started("put.h5", &s, m, 1);
    h5ckpt_layout *l;
    int64_t v = 1;

    h5ckpt_layout_whole(&l, 0, NULL, NULL);
    T_CODE(H5CKPT_EMODE, h5ckpt_tensor_put(ck, "late", H5CKPT_INT64, l, &v, NULL));
    T_ALL(strstr(h5ckpt_errmsg(ck), "a commit is in flight") != NULL, "message '%s'",
          h5ckpt_errmsg(ck));
    T_CODE(H5CKPT_EMODE, h5ckpt_attr_put_int64(ck, "", "late", 1));
    T_PASS(ck, h5ckpt_commit_wait(ck)); /* the save itself goes on */
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
    state_check(t_path("put.h5"), 1, 0);
    h5ckpt_layout_free(l);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(flush_and_commit_during_a_commit_in_flight_fail_with_emode)
{
    h5ckpt_mesh *m = world_mesh();
    state s;
    h5ckpt *ck = started("flush.h5", &s, m, 1);

    T_CODE(H5CKPT_EMODE, h5ckpt_flush(ck));
    same_message(h5ckpt_errmsg(ck));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit(ck));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_start(ck));
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
    state_check(t_path("flush.h5"), 1, 0);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(test_and_wait_without_a_commit_in_flight_fail_with_emode)
{
    h5ckpt_mesh *m = world_mesh();
    state s;
    h5ckpt *ck = started("idle.h5", &s, m, 0);
    int done = -1;

    T_CODE(H5CKPT_EMODE, h5ckpt_commit_test(ck, &done));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_wait(ck));
    same_message(h5ckpt_errmsg(ck));
    T_ALL(done == -1, "done was written");
    T_PASS(ck, h5ckpt_commit(ck)); /* the writer is still open */
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
    state_check(t_path("idle.h5"), 1, 0);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(wait_twice_and_test_after_wait_fail_with_emode)
{
    h5ckpt_mesh *m = world_mesh();
    state s;
    h5ckpt *ck = started("twice.h5", &s, m, 1);
    int done = -1;

    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_wait(ck));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_test(ck, &done));
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(commit_test_with_a_null_out_fails_with_einval)
{
    h5ckpt_mesh *m = world_mesh();
    state s;
    h5ckpt *ck = started("null.h5", &s, m, 1);

    T_CODE(H5CKPT_EINVAL, h5ckpt_commit_test(ck, NULL));
    T_CODE(H5CKPT_EINVAL, h5ckpt_commit_test(NULL, NULL));
    T_CODE(H5CKPT_EINVAL, h5ckpt_commit_start(NULL));
    T_CODE(H5CKPT_EINVAL, h5ckpt_commit_wait(NULL));
    T_CODE(H5CKPT_EINVAL, h5ckpt_snapshot_create(NULL));
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_scribble(&s);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(commit_start_on_a_reader_fails_with_emode)
{
    h5ckpt_mesh *m = world_mesh();
    const char *p = t_path("reader.h5");
    h5ckpt *ck = NULL;

    save_sync(p, 1, m);
    T_PASS(ck, h5ckpt_open(&ck, p, MPI_COMM_WORLD, NULL, NULL));
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_start(ck));
    T_ALL(strcmp(h5ckpt_errmsg(ck), "a reader cannot be committed") == 0,
          "message '%s'", h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(snapshot_memory_in_use_by_a_save_in_flight_fails_start_with_emode)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    state s1, s2;
    h5ckpt *a, *b;

    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    o.snapshot = snap;
    a = writer(t_path("inuse-a.h5"), &o, &s1, 1, 1, m);
    b = writer(t_path("inuse-b.h5"), &o, &s2, 1, 2, m);
    knobs(0, 0, 200000);
    T_PASS(a, h5ckpt_commit_start(a));
    knobs(0, 0, 0);
    T_CODE(H5CKPT_EMODE, h5ckpt_commit_start(b));
    same_message(h5ckpt_errmsg(b));
    T_ALL(strstr(h5ckpt_errmsg(b), "in use by a save in flight") != NULL,
          "message '%s'", h5ckpt_errmsg(b));
    T_PASS(b, h5ckpt_commit(b)); /* nothing was done: b is still open */
    T_PASS(a, h5ckpt_commit_wait(a));
    T_PASS(a, h5ckpt_close(a));
    T_PASS(b, h5ckpt_close(b));
    state_scribble(&s1);
    state_scribble(&s2);
    state_check(t_path("inuse-a.h5"), 1, 1);
    state_check(t_path("inuse-b.h5"), 1, 2);
    h5ckpt_snapshot_free(snap);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(freeing_snapshot_memory_in_use_defers_the_release_to_the_save)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    state s;
    h5ckpt *ck;

    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    o.snapshot = snap;
    ck = writer(t_path("orphan.h5"), &o, &s, 4, 9, m);
    T_PASS(ck, h5ckpt_commit_start(ck));
    h5ckpt_snapshot_free(snap); /* the save in flight still writes from it */
    state_scribble(&s);
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(ck, h5ckpt_close(ck));
    state_check(t_path("orphan.h5"), 4, 9);
    h5ckpt_mesh_free(m);
}
END_TEST

/* ---- checkpoint directories and training states ------------------------------------- */

/* A training state: one sharded parameter with Adam moments and the step. */
typedef struct {
    h5ckpt_state *st;
    h5ckpt_layout *l, *l0;
    float *w, *mom;
    int64_t step;
    uint64_t n;
} train;

static void train_init(train *t, h5ckpt_mesh *m)
{
    const uint64_t shape[2] = {(uint64_t)T_size * 3 + 2, 257};
    const int sh0[1] = {H5CKPT_SHARD(0)};
    int model;

    memset(t, 0, sizeof *t);
    h5ckpt_layout_sharded(&t->l, m, 2, shape, sh0, NULL);
    h5ckpt_layout_whole(&t->l0, 0, NULL, NULL);
    t->n = h5ckpt_layout_local_count(t->l);
    t->w = calloc(t->n + 1, sizeof *t->w);
    t->mom = calloc(t->n + 1, sizeof *t->mom);
    T_PASS(NULL, h5ckpt_state_create(&t->st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(t->st, "net", &model));
    T_PASS(NULL, h5ckpt_state_add_param(t->st, model, "w", H5CKPT_FLOAT32, t->l, t->w));
    T_PASS(NULL, h5ckpt_state_add_optim(t->st, model, "w", "exp_avg", H5CKPT_FLOAT32,
                                        t->l, t->mom));
    T_PASS(NULL, h5ckpt_state_add_attr(t->st, "", "step", H5CKPT_ATTR_INT64, 0,
                                       &t->step));
}

/* The state at step k. */
static void train_set(train *t, int64_t k)
{
    uint64_t i, off[2], cnt[2];

    local_box(t->l, 2, off, cnt);
    for (i = 0; i < t->n; i++) {
        t->w[i] = (float)(off[0] * 257 + i) + 0.25f * (float)k;
        t->mom[i] = -(float)k - (float)i;
    }
    t->step = k;
}

/* Mismatches of the state against step k. */
static uint64_t train_bad(const train *t, int64_t k)
{
    uint64_t i, off[2], cnt[2], bad = t->step != k;

    local_box(t->l, 2, off, cnt);
    for (i = 0; i < t->n; i++)
        bad += t->w[i] != (float)(off[0] * 257 + i) + 0.25f * (float)k ||
               t->mom[i] != -(float)k - (float)i;
    return bad;
}

static void train_free(train *t)
{
    h5ckpt_state_free(t->st);
    h5ckpt_layout_free(t->l);
    h5ckpt_layout_free(t->l0);
    free(t->w);
    free(t->mom);
}

/* Collective: load checkpoint `index` of `d` into `t` and check it is step k. */
static void train_check(h5ckpt_ckdir *d, train *t, int64_t index, int64_t k)
{
    h5ckpt *ck = NULL;

    train_set(t, -999);
    T_PASS(NULL, h5ckpt_ckdir_load(d, index, &ck, NULL));
    T_PASS(ck, h5ckpt_state_load(t->st, ck, H5CKPT_LOAD_STRICT));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(train_bad(t, k) == 0, "checkpoint %lld is not step %lld", (long long)index,
          (long long)k);
}

START_TEST(directory_saves_in_flight_apply_retention_at_wait)
{
    h5ckpt_ckdir_options dop = H5CKPT_CKDIR_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_ckdir *d = NULL;
    train t;
    int64_t k;

    dop.keep_last = 2;
    train_init(&t, m);
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("dir-ret"), MPI_COMM_WORLD, &dop, NULL));
    for (k = 0; k < 4; k++) {
        h5ckpt *ck = NULL;
        int rc;
        train_set(&t, k);
        T_ALL((rc = h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, NULL)) == 0,
              "save: %s", h5ckpt_ckdir_errmsg(d));
        T_PASS(ck, h5ckpt_state_save(t.st, ck));
        T_ALL((rc = h5ckpt_ckdir_commit_start(d, ck)) == 0, "start: %s: %s",
              h5ckpt_errname(rc), h5ckpt_ckdir_errmsg(d));
        train_set(&t, 1000 + k); /* training goes on */
        T_ALL(h5ckpt_ckdir_count(d) == (size_t)(k < 2 ? k : 2),
              "%zu checkpoints while %lld is in flight", h5ckpt_ckdir_count(d),
              (long long)k);
        T_ALL((rc = h5ckpt_ckdir_commit_wait(d, ck)) == 0, "wait: %s: %s",
              h5ckpt_errname(rc), h5ckpt_ckdir_errmsg(d));
        T_PASS(ck, h5ckpt_close(ck));
        T_ALL(h5ckpt_ckdir_count(d) == (size_t)(k < 1 ? 1 : 2) &&
                  h5ckpt_ckdir_at(d, h5ckpt_ckdir_count(d) - 1) == k,
              "after %lld: %zu checkpoints", (long long)k, h5ckpt_ckdir_count(d));
    }
    T_ALL(h5ckpt_ckdir_at(d, 0) == 2 && h5ckpt_ckdir_at(d, 1) == 3,
          "retention kept %lld and %lld", (long long)h5ckpt_ckdir_at(d, 0),
          (long long)h5ckpt_ckdir_at(d, 1));
    train_check(d, &t, 2, 2);
    train_check(d, &t, 3, 3);
    T_ALL(count_tmp(t_path("dir-ret")) == 0, "temporary files left");
    h5ckpt_ckdir_free(d);
    train_free(&t);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(a_new_directory_save_waits_for_the_one_in_flight)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_ckdir *d = NULL;
    h5ckpt *a = NULL, *b = NULL;
    int64_t latest = -1;
    train t;
    int rc;

    train_init(&t, m);
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("dir-wait"), MPI_COMM_WORLD, NULL, NULL));
    train_set(&t, 1);
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &a, &o));
    T_PASS(a, h5ckpt_state_save(t.st, a));
    knobs(0, 0, 100000);
    T_PASS(NULL, h5ckpt_ckdir_commit_start(d, a));
    knobs(0, 0, 0);
    train_set(&t, 2);
    /* the save in flight ends first: committed, listed, its index taken */
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &b, &o));
    T_ALL(h5ckpt_ckdir_latest(d, &latest) == 0 && latest == 0,
          "latest %lld once the second save began", (long long)latest);
    T_PASS(b, h5ckpt_state_save(t.st, b));
    T_ALL((rc = h5ckpt_ckdir_commit(d, b)) == 0, "commit: %s", h5ckpt_ckdir_errmsg(d));
    /* a's outcome was kept for its own wait (no communication: rank 0
     * alone asks, and the others need not) */
    T_ALL(h5ckpt_ckdir_commit_wait(d, a) == 0, "wait of the settled save");
    T_CODE(H5CKPT_EINVAL, h5ckpt_ckdir_commit_wait(d, a));
    T_PASS(a, h5ckpt_close(a));
    T_PASS(b, h5ckpt_close(b));
    train_check(d, &t, 0, 1);
    train_check(d, &t, 1, 2);
    h5ckpt_ckdir_free(d);
    train_free(&t);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(a_failed_directory_save_in_flight_keeps_the_latest)
{
    h5ckpt_options o = fast_options();
    h5ckpt_ckdir_options dop = H5CKPT_CKDIR_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = NULL;
    int64_t latest = -1;
    train t;

    dop.keep_last = 1;
    train_init(&t, m);
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("dir-fail"), MPI_COMM_WORLD, &dop, NULL));
    train_set(&t, 1);
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, &o));
    T_PASS(ck, h5ckpt_state_save(t.st, ck));
    T_PASS(NULL, h5ckpt_ckdir_commit(d, ck));
    T_PASS(ck, h5ckpt_close(ck));
    train_set(&t, 2);
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, &o));
    T_PASS(ck, h5ckpt_state_save(t.st, ck));
    knobs(EIO, 0, 0);
    T_PASS(NULL, h5ckpt_ckdir_commit_start(d, ck));
    T_CODE(H5CKPT_EIO, h5ckpt_ckdir_commit_wait(d, ck));
    knobs(0, 0, 0);
    same_message(h5ckpt_ckdir_errmsg(d));
    T_ALL(h5ckpt_ckdir_latest(d, &latest) == 0 && latest == 0 &&
              h5ckpt_ckdir_count(d) == 1,
          "latest %lld of %zu", (long long)latest, h5ckpt_ckdir_count(d));
    T_ALL(count_tmp(t_path("dir-fail")) == 0, "temporary files left");
    T_PASS(ck, h5ckpt_close(ck));
    train_check(d, &t, 0, 1);
    h5ckpt_ckdir_free(d);
    train_free(&t);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(directory_wait_of_a_writer_without_a_save_in_flight_fails_with_einval)
{
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = NULL;
    train t;

    train_init(&t, m);
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("dir-einval"), MPI_COMM_WORLD, NULL, NULL));
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, NULL));
    T_PASS(ck, h5ckpt_state_save(t.st, ck));
    T_CODE(H5CKPT_EINVAL, h5ckpt_ckdir_commit_wait(d, ck));
    same_message(h5ckpt_ckdir_errmsg(d));
    T_PASS(NULL, h5ckpt_ckdir_commit(d, ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_ckdir_free(d);
    train_free(&t);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(closing_a_directory_save_in_flight_aborts_it_and_the_next_save_goes_on)
{
    h5ckpt_options o = fast_options();
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_ckdir *d = NULL;
    h5ckpt *ck = NULL;
    int64_t latest = -1;
    train t;

    train_init(&t, m);
    T_PASS(NULL, h5ckpt_ckdir_open(&d, t_path("dir-close"), MPI_COMM_WORLD, NULL, NULL));
    train_set(&t, 1);
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, &o));
    T_PASS(ck, h5ckpt_state_save(t.st, ck));
    knobs(0, 0, 300000);
    T_PASS(NULL, h5ckpt_ckdir_commit_start(d, ck));
    T_PASS(ck, h5ckpt_close(ck)); /* aborted; the directory forgets it */
    knobs(0, 0, 0);
    train_set(&t, 2);
    T_PASS(NULL, h5ckpt_ckdir_save(d, H5CKPT_CKDIR_NEXT, &ck, &o));
    T_PASS(ck, h5ckpt_state_save(t.st, ck));
    T_PASS(NULL, h5ckpt_ckdir_commit_start(d, ck));
    T_PASS(NULL, h5ckpt_ckdir_commit_wait(d, ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_ALL(h5ckpt_ckdir_latest(d, &latest) == 0 && latest == 0 &&
              h5ckpt_ckdir_count(d) == 1,
          "latest %lld of %zu", (long long)latest, h5ckpt_ckdir_count(d));
    train_check(d, &t, 0, 2);
    h5ckpt_ckdir_free(d);
    train_free(&t);
    h5ckpt_mesh_free(m);
}
END_TEST

/* ---- device buffers (fake backend) --------------------------------------------------- */

START_TEST(device_buffers_are_copied_to_pinned_memory_before_start_returns)
{
    h5ckpt_options o = fast_options();
    const int sh0[1] = {H5CKPT_SHARD(0)};
    h5ckpt_buffer db = H5CKPT_BUFFER_INIT;
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_snapshot *snap = NULL;
    const char *p = t_path("device.h5");
    const uint64_t shape[2] = {(uint64_t)T_size * 2 + 1, 300};
    uint64_t off[2], cnt[2], span, bad = 0;
    int64_t strides[2] = {303, 1};
    tensor a, b;
    void *da = NULL, *dbuf = NULL;
    h5ckpt *ck = NULL;
    int save;

    fake_reset();
    fake_install();
    T_PASS(NULL, h5ckpt_snapshot_create(&snap));
    o.snapshot = snap;
    for (save = 0; save < 2; save++) {
        tensor_init(&a, H5CKPT_FLOAT32, 70 + (uint64_t)save, 2, shape, "dev/contiguous");
        tensor_init(&b, H5CKPT_INT32, 80 + (uint64_t)save, 2, shape, "dev/strided");
        h5ckpt_layout_sharded(&a.l, m, 2, shape, sh0, NULL);
        h5ckpt_layout_sharded(&b.l, m, 2, shape, sh0, NULL);
        tensor_alloc(&a, 1);
        local_box(b.l, 2, off, cnt);
        span = cnt[0] ? (cnt[0] - 1) * 303 + cnt[1] : 0;
        strided_alloc(&b, span);
        strided_io(&b, off, cnt, strides, 1);
        da = fake_dev_malloc(tensor_bytes(&a) + 1);
        dbuf = fake_dev_malloc(span * 4 + 1);
        if (a.buf)
            fake_upload(da, a.buf, h5ckpt_layout_local_count(a.l) * 4);
        if (span)
            fake_upload(dbuf, b.buf, span * 4);
        ck = NULL;
        T_PASS(ck, h5ckpt_create(&ck, p, MPI_COMM_WORLD, &o, NULL));
        db.kind = H5CKPT_MEM_CUDA;
        db.strides = NULL;
        T_PASS(ck, h5ckpt_tensor_put(ck, a.path, a.dt, a.l, da, &db));
        db.strides = strides;
        T_PASS(ck, h5ckpt_tensor_put(ck, b.path, b.dt, b.l, dbuf, &db));
        T_PASS(ck, h5ckpt_commit_start(ck));
        /* training overwrites the device buffers at once */
        if (span) {
            memset(b.buf, 0x77, span * 4);
            fake_upload(dbuf, b.buf, span * 4);
            fake_upload(da, b.buf, 4);
        }
        T_ALL(fake_st.dev_live == 2, "%ld device allocations live during the "
              "background write (the strided temporary was kept)", fake_st.dev_live);
        T_PASS(ck, h5ckpt_commit_wait(ck));
        T_PASS(ck, h5ckpt_close(ck));
        fake_dev_free(da);
        fake_dev_free(dbuf);
        /* the pinned snapshot memory stays, one block, for the next save */
        T_ALL(fake_st.host_blocks_live == (h5ckpt_snapshot_bytes(snap) ? 1 : 0) &&
                  fake_st.host_live == h5ckpt_snapshot_bytes(snap),
              "save %d: %ld pinned blocks, %llu bytes", save, fake_st.host_blocks_live,
              (unsigned long long)fake_st.host_live);
        /* read back (host buffers) */
        tensor_release(&a);
        tensor_release(&b);
        tensor_init(&a, H5CKPT_FLOAT32, 70 + (uint64_t)save, 2, shape, "dev/contiguous");
        tensor_init(&b, H5CKPT_INT32, 80 + (uint64_t)save, 2, shape, "dev/strided");
        h5ckpt_layout_whole(&a.l, 2, shape, NULL);
        h5ckpt_layout_whole(&b.l, 2, shape, NULL);
        o.verify_checksums = 1;
        ck = NULL;
        T_PASS(ck, h5ckpt_open(&ck, p, MPI_COMM_WORLD, &o, NULL));
        o.verify_checksums = 0;
        T_PASS(ck, tensor_get(ck, &a));
        T_PASS(ck, tensor_get(ck, &b));
        T_PASS(ck, h5ckpt_flush(ck));
        T_PASS(ck, h5ckpt_close(ck));
        bad = tensor_bad(&a) + tensor_bad(&b);
        T_CHECK(bad);
        tensor_release(&a);
        tensor_release(&b);
    }
    T_ALL(fake_st.copies[H5CKPT__D2H] > 0 || span == 0,
          "no device-to-host copy was made");
    h5ckpt_snapshot_free(snap);
    T_ALL(fake_st.host_blocks_live == 0, "%ld pinned blocks after free",
          fake_st.host_blocks_live);
    fake_uninstall();
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("async");
    TCase *tc = tcase_create("async");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, async_commit_saves_the_state_as_it_was_at_start);
    tcase_add_test(tc, async_and_synchronous_commits_write_the_same_tensors_and_checksums);
    tcase_add_test(tc, a_budget_smaller_than_the_state_is_all_start_holds);
    tcase_add_test(tc, snapshot_memory_is_kept_between_saves_and_grows_to_the_largest);
    tcase_add_test(tc, large_boxes_are_written_from_the_snapshot_without_a_copy);
    tcase_add_test(tc, commit_test_reports_done_once_the_background_write_ends);
    tcase_add_test(tc, the_plain_executor_writes_everything_at_start);
    tcase_add_test(tc, a_rank_with_nothing_to_write_is_done_at_once);
    tcase_add_test(tc, disk_full_in_the_background_fails_wait_on_every_rank);
    tcase_add_test(tc, an_io_error_on_every_rank_is_reported_for_the_lowest_rank);
    tcase_add_test(tc, a_full_file_system_fails_the_save_and_keeps_the_previous_one);
    tcase_add_test(tc, close_with_a_commit_in_flight_aborts_it);
    tcase_add_test(tc, tensor_put_during_a_commit_in_flight_fails_with_emode);
    tcase_add_test(tc, flush_and_commit_during_a_commit_in_flight_fail_with_emode);
    tcase_add_test(tc, test_and_wait_without_a_commit_in_flight_fail_with_emode);
    tcase_add_test(tc, wait_twice_and_test_after_wait_fail_with_emode);
    tcase_add_test(tc, commit_test_with_a_null_out_fails_with_einval);
    tcase_add_test(tc, commit_start_on_a_reader_fails_with_emode);
    tcase_add_test(tc, snapshot_memory_in_use_by_a_save_in_flight_fails_start_with_emode);
    tcase_add_test(tc, freeing_snapshot_memory_in_use_defers_the_release_to_the_save);
    tcase_add_test(tc, directory_saves_in_flight_apply_retention_at_wait);
    tcase_add_test(tc, a_new_directory_save_waits_for_the_one_in_flight);
    tcase_add_test(tc, a_failed_directory_save_in_flight_keeps_the_latest);
    tcase_add_test(tc, directory_wait_of_a_writer_without_a_save_in_flight_fails_with_einval);
    tcase_add_test(tc, closing_a_directory_save_in_flight_aborts_it_and_the_next_save_goes_on);
    tcase_add_test(tc, device_buffers_are_copied_to_pinned_memory_before_start_returns);
    suite_add_tcase(s, tc);
    return s;
}
