/*
 * Device buffers through a fake backend (fake_device.h): round trips of
 * every dtype, other meshes, mixed host/device tensors, strided device
 * buffers, staging much smaller than a tensor, device-written files equal
 * to host-written ones (data and checksums), verifying reads, replicated
 * reads by group broadcast, device errors agreed on every rank, and the
 * put-time checks.  Device memory of the fake is PROT_NONE to the library:
 * a host dereference crashes the test.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include "harness.h"

#include <fcntl.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_device.h"
#include "handle/handle.h"
#include "values.h"

/* A tensor with its buffer on the fake device (or on the host). */
typedef struct {
    tensor t;           /* t.buf: the packed host image of the local part */
    void *dev;          /* device buffer of `span` bytes */
    size_t span;
    int on_host;        /* a host tensor (t.buf is the buffer) */
    int declared;       /* 1: declare H5CKPT_MEM_CUDA; 0: let it be detected */
    int strided;        /* 1: padded rows; 2: channels_last (4-d) */
    int64_t strides[H5CKPT_MAX_NDIM];
} dten;

/* Tests only: turn the replica groups off (identical on every rank). */
static void set_replica_off(int off)
{
    h5ckpt__knobs k = *h5ckpt__knobs_get();

    k.replica_off = off;
    h5ckpt__knobs_set(&k);
}

static h5ckpt_mesh *mesh_on(MPI_Comm comm, int ndim, const int *shape)
{
    h5ckpt_mesh *m = NULL;

    return h5ckpt_mesh_create(&m, comm, ndim, shape, NULL, NULL) == 0 ? m : NULL;
}

static void set_strides(dten *d)
{
    uint64_t sh[H5CKPT_MAX_NDIM];
    int nd = 0, i;

    h5ckpt_layout_local_shape(d->t.l, &nd, sh);
    for (i = 0; i < nd; i++) /* strides stay positive for empty parts */
        sh[i] = sh[i] ? sh[i] : 1;
    if (d->strided == 1) { /* padded rows: 3 spare elements per row */
        int64_t s = 1;
        for (i = nd - 1; i >= 0; i--) {
            d->strides[i] = s;
            s *= (int64_t)sh[i] + (i == nd - 1 ? 3 : 0);
        }
    } else if (d->strided == 2) { /* (N, C, H, W) stored as N, H, W, C */
        d->strides[1] = 1;
        d->strides[3] = (int64_t)sh[1];
        d->strides[2] = (int64_t)(sh[1] * sh[3]);
        d->strides[0] = (int64_t)(sh[1] * sh[3] * sh[2]);
    }
}

/* Local buffers for d->t.l: expected values (fill) or poison, copied to the
 * device buffer in its memory layout. */
static int dten_alloc(dten *d, int fill)
{
    size_t es = elsize[d->t.dt];
    uint64_t sh[H5CKPT_MAX_NDIM], span = 0;
    unsigned char *img;
    int nd = 0, rc;

    fake_dev_free(d->dev);
    d->dev = NULL;
    if ((rc = tensor_alloc(&d->t, fill)) != 0 || d->on_host)
        return rc;
    h5ckpt_layout_local_shape(d->t.l, &nd, sh);
    span = h5ckpt_layout_local_count(d->t.l);
    if (d->strided) {
        set_strides(d);
        h5ckpt__strided_span(nd, sh, d->strides, &span);
    }
    d->span = (size_t)span * es;
    d->dev = fake_dev_malloc(d->span + 1);
    img = malloc(d->span + 1);
    memset(img, 0x5A, d->span + 1);
    if (d->span && d->strided)
        h5ckpt__unpack(img, d->t.buf, nd, sh, d->strides, es);
    else if (d->span)
        memcpy(img, d->t.buf, d->span);
    fake_upload(d->dev, img, d->span);
    free(img);
    return 0;
}

static int dten_queue(h5ckpt *ck, dten *d, int put)
{
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    const h5ckpt_buffer *bp = &b;
    void *data;
    int rc = dten_alloc(d, put);

    if (rc)
        return rc;
    b.kind = d->declared && !d->on_host ? H5CKPT_MEM_CUDA : H5CKPT_MEM_HOST;
    b.strides = d->strided && !d->on_host ? d->strides : NULL;
    if (!d->declared && !b.strides)
        bp = NULL; /* undeclared: detected */
    data = d->on_host ? d->t.buf : d->dev;
    return put ? h5ckpt_tensor_put(ck, d->t.path, d->t.dt, d->t.l, data, bp)
               : h5ckpt_tensor_get(ck, d->t.path, d->t.dt, d->t.l, data, bp);
}

/* Mismatching elements after a read (the device buffer brought back). */
static uint64_t dten_bad(dten *d)
{
    size_t es = elsize[d->t.dt];
    uint64_t sh[H5CKPT_MAX_NDIM];
    unsigned char *img;
    int nd = 0;

    if (!d->on_host && d->span) {
        h5ckpt_layout_local_shape(d->t.l, &nd, sh);
        img = malloc(d->span);
        fake_download(img, d->dev, d->span);
        if (d->strided)
            h5ckpt__pack(d->t.buf, img, nd, sh, d->strides, es);
        else
            memcpy(d->t.buf, img, d->span);
        free(img);
    }
    return tensor_bad(&d->t);
}

static void dten_release(dten *d)
{
    fake_dev_free(d->dev);
    d->dev = NULL;
    tensor_release(&d->t);
}

static int sharded(dten *d, const h5ckpt_mesh *m, int placement)
{
    h5ckpt_layout_free(d->t.l);
    d->t.l = NULL;
    return h5ckpt_layout_sharded(&d->t.l, m, d->t.ndim, d->t.shape, &placement, NULL);
}

static int whole(dten *d)
{
    h5ckpt_layout_free(d->t.l);
    d->t.l = NULL;
    return h5ckpt_layout_whole(&d->t.l, d->t.ndim, d->t.shape, NULL);
}

/* Collective over the world: write `n` tensors (layouts set) to `path`. */
static void write_all(const char *path, dten *d, int n, const h5ckpt_options *o)
{
    h5ckpt *ck = NULL;
    int i;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, o, NULL));
    for (i = 0; i < n; i++)
        T_PASS(ck, dten_queue(ck, &d[i], 1));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
}

/* Collective over the world: read them back (layouts set) and count bad
 * elements; *nread gets this rank's bytes_read. */
static uint64_t read_all(const char *path, dten *d, int n, const h5ckpt_options *o,
                         uint64_t *nread)
{
    h5ckpt *ck = NULL;
    uint64_t bad = 0;
    int i;

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, o, NULL));
    for (i = 0; i < n; i++)
        T_PASS(ck, dten_queue(ck, &d[i], 0));
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < n; i++)
        bad += dten_bad(&d[i]);
    if (nread)
        *nread = h5ckpt_bytes_read(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    return bad;
}

static int fast(void)
{
    const char *e = getenv("H5CKPT_EXECUTOR");
    return !e || !*e || !strcmp(e, "fast");
}

static void setup(void)
{
    fake_reset();
    fake_install();
}

static void teardown(void)
{
    T_ALL(fake_st.streams_live == 0 && fake_st.host_blocks_live == 0 &&
              fake_st.dev_live == 0,
          "%ld streams, %ld pinned blocks and %ld device buffers left",
          fake_st.streams_live, fake_st.host_blocks_live, fake_st.dev_live);
    fake_uninstall();
    set_replica_off(0);
}

/* ---- round trips ----------------------------------------------------- */

START_TEST(every_dtype_round_trips_from_fake_device_buffers)
{
    static const uint64_t shape[2] = {7, 5};
    dten d[H5CKPT_DTYPE_COUNT];
    h5ckpt_mesh *m = world_mesh();
    uint64_t held = 0;
    int i;

    setup();
    memset(d, 0, sizeof d);
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
        tensor_init(&d[i].t, (h5ckpt_dtype)i, (uint64_t)i + 1, 2, shape, "dt/%s",
                    h5ckpt_dtype_name((h5ckpt_dtype)i));
        d[i].declared = 1;
        T_ALL(sharded(&d[i], m, i % 2 ? H5CKPT_SHARD(1) : H5CKPT_SHARD(0)) == 0, "layout");
        held += h5ckpt_layout_local_count(d[i].t.l);
    }
    write_all(t_path("dtypes.h5"), d, H5CKPT_DTYPE_COUNT, NULL);
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++)
        T_ALL(whole(&d[i]) == 0, "whole");
    T_CHECK(read_all(t_path("dtypes.h5"), d, H5CKPT_DTYPE_COUNT, NULL, NULL));
    /* from 6 ranks on, the last holds no part of a 7x5 tensor: nothing to
     * copy from its device */
    T_ALL((fake_st.copies[H5CKPT__D2H] > 0 || held == 0) && fake_st.copies[H5CKPT__H2D] > 0,
          "no device copies were made");
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* Local to the ranks of `comm` (the others pass MPI_COMM_NULL): write or
 * read one Shard(0)/Shard(1) pair on a mesh of `shape`.  Returns the number
 * of failures (bad elements or error codes). */
static uint64_t sub_io(const char *path, MPI_Comm comm, int ndim, const int *shape,
                       int writing)
{
    static const uint64_t s0[2] = {13, 9}, s1[3] = {5, 11, 4};
    h5ckpt_mesh *m;
    h5ckpt *ck = NULL;
    dten d[2];
    uint64_t bad = 0;
    int pl[2][2] = {{H5CKPT_SHARD(0), H5CKPT_REPLICATE}, {H5CKPT_SHARD(1), H5CKPT_SHARD(0)}};
    int i, rc;

    if (comm == MPI_COMM_NULL)
        return 0;
    memset(d, 0, sizeof d);
    tensor_init(&d[0].t, H5CKPT_FLOAT32, 41, 2, s0, "mesh/a");
    tensor_init(&d[1].t, H5CKPT_BFLOAT16, 42, 3, s1, "mesh/b");
    d[1].declared = 1;
    d[1].strided = 1;
    if (!(m = mesh_on(comm, ndim, shape)))
        return 1;
    rc = writing ? h5ckpt_create(&ck, path, comm, NULL, NULL)
                 : h5ckpt_open(&ck, path, comm, NULL, NULL);
    for (i = 0; rc == 0 && i < 2; i++) {
        h5ckpt_layout_free(d[i].t.l);
        rc = h5ckpt_layout_sharded(&d[i].t.l, m, d[i].t.ndim, d[i].t.shape, pl[i], NULL);
        if (rc == 0)
            rc = dten_queue(ck, &d[i], writing);
    }
    if (rc == 0)
        rc = writing ? h5ckpt_commit(ck) : h5ckpt_flush(ck);
    for (i = 0; rc == 0 && !writing && i < 2; i++)
        bad += dten_bad(&d[i]);
    if (rc)
        fprintf(stderr, "[rank %d] %s: %s\n", T_rank, h5ckpt_errname(rc),
                ck ? h5ckpt_errmsg(ck) : "");
    if (ck)
        h5ckpt_close(ck);
    for (i = 0; i < 2; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    return bad + (rc != 0);
}

/* The first `n` ranks of the world, or MPI_COMM_NULL on the others. */
static MPI_Comm first(int n)
{
    MPI_Comm c;

    MPI_Comm_split(MPI_COMM_WORLD, T_rank < n ? 0 : MPI_UNDEFINED, T_rank, &c);
    return c;
}

START_TEST(a_checkpoint_written_on_one_mesh_reads_on_another)
{
    MPI_Comm one = first(1), all = first(T_size), four = first(4), three = first(3);
    int m1 = 1, mall = T_size, m22[2] = {2, 2}, m3 = 3;
    uint64_t bad = 0;

    setup();
    /* (1) -> (world) and (world) -> (1) */
    bad += sub_io(t_path("m1.h5"), one, 1, &m1, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    bad += sub_io(t_path("m1.h5"), all, 1, &mall, 0);
    bad += sub_io(t_path("mall.h5"), all, 1, &mall, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    bad += sub_io(t_path("mall.h5"), one, 1, &m1, 0);
    if (T_size >= 4) { /* (2, 2) -> (3) */
        bad += sub_io(t_path("m22.h5"), four, 2, m22, 1);
        MPI_Barrier(MPI_COMM_WORLD);
        bad += sub_io(t_path("m22.h5"), three, 1, &m3, 0);
    }
    T_CHECK(bad);
    if (one != MPI_COMM_NULL) MPI_Comm_free(&one);
    if (all != MPI_COMM_NULL) MPI_Comm_free(&all);
    if (four != MPI_COMM_NULL) MPI_Comm_free(&four);
    if (three != MPI_COMM_NULL) MPI_Comm_free(&three);
    teardown();
}
END_TEST

START_TEST(host_and_device_tensors_mix_in_one_checkpoint)
{
    static const uint64_t s[2] = {10, 6};
    h5ckpt_mesh *m = world_mesh();
    dten d[4];
    int i;

    setup();
    memset(d, 0, sizeof d);
    for (i = 0; i < 4; i++) {
        tensor_init(&d[i].t, H5CKPT_INT32, 50 + (uint64_t)i, 2, s, "mix/%d", i);
        T_ALL(sharded(&d[i], m, H5CKPT_SHARD(i % 2)) == 0, "layout");
    }
    d[0].on_host = 1;  /* host */
    d[1].declared = 1; /* declared device */
    d[2].declared = 0; /* detected device */
    d[3].on_host = 1;
    write_all(t_path("mix.h5"), d, 4, NULL);
    /* read back with the kinds swapped */
    for (i = 0; i < 4; i++) {
        d[i].on_host = i == 1 || i == 2;
        d[i].declared = i == 0;
        T_ALL(whole(&d[i]) == 0, "whole");
    }
    T_CHECK(read_all(t_path("mix.h5"), d, 4, NULL, NULL));
    for (i = 0; i < 4; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

START_TEST(strided_device_buffers_round_trip)
{
    static const uint64_t s4[4] = {4, 3, 5, 6}, s2[2] = {9, 10};
    h5ckpt_mesh *m = world_mesh();
    dten d[2];
    int i;

    setup();
    memset(d, 0, sizeof d);
    tensor_init(&d[0].t, H5CKPT_FLOAT16, 61, 4, s4, "conv/weight"); /* channels_last */
    tensor_init(&d[1].t, H5CKPT_FLOAT64, 62, 2, s2, "padded/rows");
    d[0].strided = 2;
    d[1].strided = 1;
    d[0].declared = d[1].declared = 1;
    T_ALL(sharded(&d[0], m, H5CKPT_SHARD(0)) == 0 && sharded(&d[1], m, H5CKPT_SHARD(1)) == 0,
          "layout");
    write_all(t_path("strided.h5"), d, 2, NULL);
    /* strided device reads on another split, then contiguous host reads */
    T_ALL(sharded(&d[0], m, H5CKPT_SHARD(3)) == 0 && sharded(&d[1], m, H5CKPT_SHARD(0)) == 0,
          "layout");
    T_CHECK(read_all(t_path("strided.h5"), d, 2, NULL, NULL));
    {
        uint64_t mine[2] = {fake_st.packs, fake_st.unpacks}, sum[2];
        MPI_Allreduce(mine, sum, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        T_ALL(sum[0] > 0 && sum[1] > 0, "no device pack/unpack");
    }
    for (i = 0; i < 2; i++) {
        d[i].on_host = 1;
        T_ALL(whole(&d[i]) == 0, "whole");
    }
    T_CHECK(read_all(t_path("strided.h5"), d, 2, NULL, NULL));
    for (i = 0; i < 2; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

START_TEST(staging_far_smaller_than_a_tensor_cycles_its_halves)
{
    static const uint64_t s[2] = {512, 512}; /* 1 MiB of float32 */
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    dten d[2];
    uint64_t d2h, h2d;
    int i;

    setup();
    o.staging_bytes = 64 << 10;
    memset(d, 0, sizeof d);
    tensor_init(&d[0].t, H5CKPT_FLOAT32, 71, 2, s, "big/rows");
    tensor_init(&d[1].t, H5CKPT_FLOAT32, 72, 2, s, "big/cols");
    d[0].declared = d[1].declared = 1;
    T_ALL(sharded(&d[0], m, H5CKPT_SHARD(0)) == 0 && sharded(&d[1], m, H5CKPT_SHARD(1)) == 0,
          "layout");
    write_all(t_path("small-staging.h5"), d, 2, &o);
    d2h = fake_st.copies[H5CKPT__D2H];
    T_ALL(sharded(&d[0], m, H5CKPT_SHARD(1)) == 0 && sharded(&d[1], m, H5CKPT_SHARD(0)) == 0,
          "layout");
    T_CHECK(read_all(t_path("small-staging.h5"), d, 2, &o, NULL));
    h2d = fake_st.copies[H5CKPT__H2D];
    if (fast()) { /* 2 MiB over all ranks in 32 KiB halves */
        uint64_t sum = 0, peak = fake_st.host_peak;
        MPI_Allreduce(&d2h, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        T_ALL(sum >= 64, "only %llu device-to-host copies", (unsigned long long)sum);
        T_ALL(h2d >= 32 / (uint64_t)T_size, "only %llu host-to-device copies",
              (unsigned long long)h2d);
        T_ALL(peak <= 64 << 10, "%llu pinned bytes at once", (unsigned long long)peak);
    }
    for (i = 0; i < 2; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* Collective: 1 where every rank can open a file of the test directory
 * with O_DIRECT. */
static int direct_opens(void)
{
    char probe[4096];
    int fd, ok, all = 0;

    snprintf(probe, sizeof probe, "%s/direct-probe-%d", t_dir(), T_rank);
    fd = open(probe, O_WRONLY | O_CREAT | O_DIRECT, 0644);
    ok = fd >= 0;
    if (fd >= 0)
        close(fd);
    unlink(probe);
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all;
}

/* Large device pieces: staged segments of 1 MiB and more go through the
 * fast writer's direct writes (lib/io/direct.c) from the pinned halves;
 * with the option no_direct they do not.  Either way every element comes back,
 * from a dense, a padded-row and a Shard(1) device buffer. */
START_TEST(large_device_pieces_round_trip_through_direct_writes)
{
    static const uint64_t sa[2] = {1100, 1021}, sb[2] = {1601, 700}, sc[2] = {5, 300007};
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    int i, direct;
    dten d[3];

    setup();
    o.no_fsync = 1;
    for (direct = 1; direct >= 0; direct--) {
        const char *path = t_path(direct ? "dev-direct.h5" : "dev-buffered.h5");
        uint64_t wrote = 0, mine = 0, bad;
        h5ckpt *ck = NULL;
        memset(d, 0, sizeof d);
        tensor_init(&d[0].t, H5CKPT_FLOAT32, 81, 2, sa, "big/dense");
        tensor_init(&d[1].t, H5CKPT_FLOAT32, 82, 2, sb, "big/padded");
        tensor_init(&d[2].t, H5CKPT_FLOAT32, 83, 2, sc, "big/cols");
        d[0].declared = d[1].declared = d[2].declared = 1;
        d[1].strided = 1;
        T_ALL(sharded(&d[0], m, H5CKPT_SHARD(0)) == 0 && sharded(&d[1], m, H5CKPT_SHARD(0)) == 0 &&
                  sharded(&d[2], m, H5CKPT_SHARD(1)) == 0,
              "layout");
        o.no_direct = !direct;
        T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
        for (i = 0; i < 3; i++)
            T_PASS(ck, dten_queue(ck, &d[i], 1));
        T_PASS(ck, h5ckpt_commit(ck));
        wrote = ck->io.direct_bytes;
        T_PASS(NULL, h5ckpt_close(ck));
        for (i = 0; i < 3; i++)
            mine += h5ckpt_layout_local_count(d[i].t.l) * 4;
        /* the dense and padded pieces are over 1 MiB on up to 4 ranks:
         * most of this rank's bytes went direct (a page at each end of a
         * run, and Shard(1) rows shorter than 1 MiB, did not); on more
         * ranks (2 nodes x 3 in tests/cluster) they are under 1 MiB and
         * may all be buffered */
        if (fast() && direct && direct_opens() && T_size <= 4)
            T_ALL(wrote > mine / 2, "%llu of %llu bytes written direct",
                  (unsigned long long)wrote, (unsigned long long)mine);
        else if (fast() && direct)
            T_ALL(wrote <= mine, "%llu of %llu bytes written direct",
                  (unsigned long long)wrote, (unsigned long long)mine);
        else if (!direct || !fast())
            T_ALL(wrote == 0, "%llu bytes written direct", (unsigned long long)wrote);
        bad = read_all(path, d, 3, &o, NULL);
        T_CHECK(bad);
        for (i = 0; i < 3; i++)
            dten_release(&d[i]);
    }
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* Rank 0: raw bytes of dataset `name` (malloc'd) and their count. */
static unsigned char *raw(hid_t f, const char *name, size_t *n)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT), ty = H5Dget_type(ds), sp = H5Dget_space(ds);
    unsigned char *b;

    *n = (size_t)H5Sget_select_npoints(sp) * H5Tget_size(ty);
    b = calloc(*n + 1, 1);
    if (*n)
        H5Dread(ds, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, b);
    H5Sclose(sp);
    H5Tclose(ty);
    H5Dclose(ds);
    return b;
}

/* Checksum rows of the test below: 3 + 2 * 3 columns (its tensors have at
 * most 3 dimensions); sorted by path hash, hash and ndim. */
#define ROW (8 * 9)
static int cmp_row(const void *a, const void *b) { return memcmp(a, b, 24); }

/* Rank 0: 0 if the datasets (and the sorted checksum tables) are equal. */
static int same_files(const char *a, const char *b, const dten *d, int n, char *msg)
{
    hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    int i, diff = fa < 0 || fb < 0;

    for (i = 0; !diff && i <= n; i++) {
        const char *name = i < n ? d[i].t.path : "h5ckpt_checksums";
        size_t na, nb;
        unsigned char *x = raw(fa, name, &na), *y = raw(fb, name, &nb);
        if (i == n && na == nb && na % ROW == 0) { /* rank order may differ */
            qsort(x, na / ROW, ROW, cmp_row);
            qsort(y, nb / ROW, ROW, cmp_row);
        }
        diff = na != nb || memcmp(x, y, na) != 0;
        if (diff)
            snprintf(msg, 200, "%.100s differs", name);
        free(x);
        free(y);
    }
    if (fa >= 0) H5Fclose(fa);
    if (fb >= 0) H5Fclose(fb);
    return diff;
}

START_TEST(device_written_data_and_checksums_equal_host_written)
{
    static const uint64_t s[2] = {24, 7}, s3[3] = {3, 4, 5};
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    char msg[200] = "";
    dten d[3];
    int i, diff = 0;

    setup();
    o.staging_bytes = 1; /* raised to the minimum */
    memset(d, 0, sizeof d);
    tensor_init(&d[0].t, H5CKPT_UINT16, 81, 2, s, "eq/rows");
    tensor_init(&d[1].t, H5CKPT_FLOAT32, 82, 2, s, "eq/cols");
    tensor_init(&d[2].t, H5CKPT_INT8, 83, 3, s3, "eq/strided");
    d[2].strided = 1;
    for (i = 0; i < 3; i++) {
        d[i].on_host = 1;
        T_ALL(sharded(&d[i], m, H5CKPT_SHARD(i == 1)) == 0, "layout");
    }
    write_all(t_path("eq-host.h5"), d, 3, &o);
    for (i = 0; i < 3; i++) {
        d[i].on_host = 0;
        d[i].declared = i != 0;
    }
    write_all(t_path("eq-dev.h5"), d, 3, &o);
    if (T_rank == 0)
        diff = same_files(t_path("eq-host.h5"), t_path("eq-dev.h5"), d, 3, msg);
    T_ALL(!diff, "%s", msg);
    for (i = 0; i < 3; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* Rank 0: flip one bit of element `elem` (bytes) of dataset `name`. */
static int corrupt(const char *file, const char *name, long long byte)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), ds = H5Dopen2(f, name, H5P_DEFAULT);
    haddr_t a = H5Dget_offset(ds);
    unsigned char c = 0;
    int fd, ok;

    H5Dclose(ds);
    H5Fclose(f);
    fd = open(file, O_RDWR);
    ok = fd >= 0 && a != HADDR_UNDEF && pread(fd, &c, 1, (off_t)(a + byte)) == 1;
    c ^= 4;
    ok = ok && pwrite(fd, &c, 1, (off_t)(a + byte)) == 1;
    if (fd >= 0)
        close(fd);
    return ok;
}

START_TEST(verifying_reads_into_device_buffers_pass_and_find_a_flipped_bit)
{
    static const uint64_t s[2] = {11, 6};
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    const char *f = t_path("verify.h5");
    h5ckpt *ck = NULL;
    dten d[2];
    int i, ok = 1;

    setup();
    memset(d, 0, sizeof d);
    tensor_init(&d[0].t, H5CKPT_INT64, 91, 2, s, "v/a");
    tensor_init(&d[1].t, H5CKPT_FLOAT32, 92, 2, s, "v/b");
    d[0].declared = d[1].declared = 1;
    d[1].strided = 1;
    for (i = 0; i < 2; i++)
        T_ALL(sharded(&d[i], m, H5CKPT_SHARD(i)) == 0, "layout");
    write_all(f, d, 2, NULL);
    o.verify_checksums = 1;
    T_ALL(sharded(&d[0], m, H5CKPT_SHARD(1)) == 0 && whole(&d[1]) == 0, "layout");
    T_CHECK(read_all(f, d, 2, &o, NULL));
    if (T_rank == 0)
        ok = corrupt(f, "v/b", 4 * 6 * 5 + 2);
    T_ALL(ok, "could not corrupt the file");
    T_PASS(NULL, h5ckpt_open(&ck, f, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < 2; i++)
        T_PASS(ck, dten_queue(ck, &d[i], 0));
    T_CODE(H5CKPT_ECHECKSUM, h5ckpt_flush(ck));
    T_ALL(strstr(h5ckpt_errmsg(ck), "'v/b'") != NULL, "message: %s", h5ckpt_errmsg(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 2; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

START_TEST(device_reads_of_chunked_datasets_go_through_host_mirrors)
{
    static const uint64_t s[2] = {9, 8};
    const char *src = t_path("contig-dev.h5"), *dst = t_path("chunked-dev.h5");
    h5ckpt_mesh *m = world_mesh();
    char cmd[1200] = "";
    dten d[2];
    int i, rc = 0;

    setup();
    memset(d, 0, sizeof d);
    tensor_init(&d[0].t, H5CKPT_INT16, 151, 2, s, "chunked/a");
    tensor_init(&d[1].t, H5CKPT_FLOAT32, 152, 2, s, "chunked/b");
    for (i = 0; i < 2; i++) {
        d[i].declared = 1;
        T_ALL(sharded(&d[i], m, H5CKPT_SHARD(i)) == 0, "layout");
    }
    write_all(src, d, 2, NULL);
    if (T_rank == 0) { /* no file offset: the fast reader falls back */
        snprintf(cmd, sizeof cmd,
                 "h5repack -l /chunked/a:CHUNK=2x3 -l /chunked/b:CHUNK=4x4 "
                 "'%s' '%s' >/dev/null 2>&1", src, dst);
        rc = system(cmd);
    }
    T_ALL(rc == 0, "h5repack failed (%d): %s", rc, cmd);
    d[1].strided = 1;
    T_ALL(sharded(&d[0], m, H5CKPT_SHARD(1)) == 0 && whole(&d[1]) == 0, "layout");
    T_CHECK(read_all(dst, d, 2, NULL, NULL));
    for (i = 0; i < 2; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* ---- replicated reads ------------------------------------------------ */

/* Read a replicated tensor whole on every rank; the sum of bytes_read. */
static uint64_t replicated_read(const char *f, dten *d, int n, uint64_t *bad)
{
    uint64_t mine = 0, sum = 0;

    *bad = read_all(f, d, n, NULL, &mine);
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return sum;
}

START_TEST(replicated_device_reads_take_one_file_read_per_group)
{
    static const uint64_t s[2] = {64, 33}, s3[3] = {6, 5, 7};
    h5ckpt_mesh *m = world_mesh();
    const char *f = t_path("replicated.h5");
    uint64_t total, sum, bad;
    dten d[2];
    int i;

    setup();
    memset(d, 0, sizeof d);
    tensor_init(&d[0].t, H5CKPT_FLOAT32, 101, 2, s, "rep/a");
    tensor_init(&d[1].t, H5CKPT_INT16, 102, 3, s3, "rep/strided");
    for (i = 0; i < 2; i++) {
        d[i].declared = 1;
        T_ALL(sharded(&d[i], m, H5CKPT_SHARD(0)) == 0, "layout");
    }
    write_all(f, d, 2, NULL);
    total = tensor_bytes(&d[0].t) + tensor_bytes(&d[1].t);
    d[1].strided = 1; /* padded rows on the read side */
    for (i = 0; i < 2; i++)
        T_ALL(whole(&d[i]) == 0, "whole");
    sum = replicated_read(f, d, 2, &bad);
    T_CHECK(bad);
    if (fast()) {
        T_ALL(sum == total, "%llu bytes read from the file, %llu in the tensors",
              (unsigned long long)sum, (unsigned long long)total);
        T_ALL((T_size > 1) == (fake_st.bcasts > 0), "%llu broadcasts at %d ranks",
              (unsigned long long)fake_st.bcasts, T_size);
    } else {
        T_ALL(sum == total * (uint64_t)T_size, "plain: %llu bytes read",
              (unsigned long long)sum);
    }
    /* the test hook, and shared devices, keep every rank on the file */
    set_replica_off(1);
    sum = replicated_read(f, d, 2, &bad);
    T_CHECK(bad);
    T_ALL(sum == total * (uint64_t)T_size, "hook off: %llu bytes read", (unsigned long long)sum);
    set_replica_off(0);
    fake_cfg.shared_id = 1;
    sum = replicated_read(f, d, 2, &bad);
    T_CHECK(bad);
    T_ALL(sum == total * (uint64_t)T_size, "shared devices: %llu bytes read",
          (unsigned long long)sum);
    for (i = 0; i < 2; i++)
        dten_release(&d[i]);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* Replica groups are found by home ranks (task i by rank i mod P): over
 * more tensors than ranks, with two partitions of the ranks (pairs that
 * read the same rows; everyone reading everything), every region is read
 * from the file once, and each rank makes one device group per partition
 * it shares with another rank, however many tensors use it.  (Before the
 * homes, receivers in any partition but the first read from the file too.) */
START_TEST(replica_groups_of_pairs_and_of_all_are_made_once_per_partition)
{
    const int k = 2 * T_size + 1, npairs = (T_size + 1) / 2;
    const uint64_t shape[2] = {2 * (uint64_t)npairs, 3};
    const uint64_t off[2] = {2 * (uint64_t)(T_rank / 2), 0}, cnt[2] = {2, 3};
    const int paired = T_rank / 2 * 2 + 1 < T_size; /* not the odd one out */
    h5ckpt_mesh *m = world_mesh();
    const char *f = t_path("pairs.h5");
    uint64_t total = 0, mine = 0, sum = 0, bad, want;
    dten *d = calloc((size_t)k, sizeof *d);
    int i;

    setup();
    for (i = 0; i < k; i++) {
        tensor_init(&d[i].t, H5CKPT_INT32, 300 + (uint64_t)i, 2, shape, "pairs/t%d", i);
        d[i].declared = 1;
        T_ALL(sharded(&d[i], m, H5CKPT_SHARD(0)) == 0, "layout");
        total += tensor_bytes(&d[i].t);
    }
    write_all(f, d, k, NULL);
    for (i = 0; i < k; i++) {
        if (i % 2)
            T_ALL(whole(&d[i]) == 0, "whole");
        else {
            h5ckpt_layout_free(d[i].t.l);
            d[i].t.l = NULL;
            T_ALL(h5ckpt_layout_box(&d[i].t.l, 2, shape, off, cnt, NULL) == 0, "box");
        }
    }
    fake_st.groups_made = 0;
    bad = read_all(f, d, k, NULL, &mine);
    T_CHECK(bad);
    MPI_Allreduce(&mine, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (fast()) {
        /* the group of all, and (from 3 ranks on, where the pairs are not
         * everyone) the pairs */
        want = (uint64_t)(T_size > 1) + (uint64_t)(T_size > 2 && paired);
        T_ALL(sum == total, "%llu bytes read from the file, %llu in the tensors",
              (unsigned long long)sum, (unsigned long long)total);
        T_ALL(fake_st.groups_made == want, "rank %d made %llu device groups, not %llu",
              T_rank, (unsigned long long)fake_st.groups_made, (unsigned long long)want);
    }
    for (i = 0; i < k; i++)
        dten_release(&d[i]);
    free(d);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* ---- device errors --------------------------------------------------- */

/* Every rank's message equals rank 0's. */
static int same_everywhere(const char *msg)
{
    char root[H5CKPT_MSG_MAX];
    int same, all = 0;

    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    same = strcmp(root, msg) == 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all;
}

START_TEST(a_failing_copy_at_commit_fails_every_rank_and_keeps_the_previous_checkpoint)
{
    static const uint64_t s[2] = {16, 8};
    h5ckpt_mesh *m = world_mesh();
    const char *f = t_path("keep.h5");
    h5ckpt *ck = NULL;
    dten d;

    setup();
    memset(&d, 0, sizeof d);
    tensor_init(&d.t, H5CKPT_FLOAT64, 111, 2, s, "keep/x");
    d.declared = 1;
    T_ALL(sharded(&d, m, H5CKPT_SHARD(0)) == 0, "layout");
    write_all(f, &d, 1, NULL);
    /* the second save: the last rank's first device-to-host copy fails */
    if (T_rank == T_size - 1) {
        fake_cfg.fail_dir = H5CKPT__D2H;
        fake_cfg.fail_at = 1;
    }
    d.t.id = 112; /* other values */
    T_PASS(NULL, h5ckpt_create(&ck, f, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, dten_queue(ck, &d, 1));
    T_CODE(H5CKPT_EDEVICE, h5ckpt_commit(ck));
    T_ALL(!strcmp(h5ckpt_errmsg(ck), FAKE_ERRMSG), "message: %s", h5ckpt_errmsg(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    fake_cfg.fail_dir = -1;
    d.t.id = 111;
    T_ALL(whole(&d) == 0, "whole");
    T_CHECK(read_all(f, &d, 1, NULL, NULL));
    dten_release(&d);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

START_TEST(a_failing_copy_to_the_device_fails_the_read_on_every_rank)
{
    static const uint64_t s[2] = {12, 4};
    h5ckpt_mesh *m = world_mesh();
    const char *f = t_path("h2d.h5");
    h5ckpt *ck = NULL;
    dten d;

    setup();
    memset(&d, 0, sizeof d);
    tensor_init(&d.t, H5CKPT_INT32, 121, 2, s, "h2d/x");
    d.declared = 1;
    T_ALL(sharded(&d, m, H5CKPT_SHARD(1)) == 0, "layout");
    write_all(f, &d, 1, NULL);
    if (T_rank == 0) {
        fake_cfg.fail_dir = H5CKPT__H2D;
        fake_cfg.fail_at = 1;
    }
    T_PASS(NULL, h5ckpt_open(&ck, f, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, dten_queue(ck, &d, 0));
    T_CODE(H5CKPT_EDEVICE, h5ckpt_flush(ck));
    T_ALL(!strcmp(h5ckpt_errmsg(ck), FAKE_ERRMSG), "message: %s", h5ckpt_errmsg(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    dten_release(&d);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* A broadcast that one rank cannot queue leaves its partners' broadcasts
 * without a peer: every rank must fail alike instead of waiting forever,
 * and the next flush builds the groups anew and succeeds. */
START_TEST(a_broadcast_one_rank_cannot_queue_fails_every_rank_without_a_hang)
{
    static const uint64_t s[2] = {40, 9};
    h5ckpt_mesh *m = world_mesh();
    const char *f = t_path("bcastfail.h5");
    h5ckpt *ck = NULL;
    uint64_t bad;
    dten d;

    setup();
    memset(&d, 0, sizeof d);
    tensor_init(&d.t, H5CKPT_FLOAT32, 131, 2, s, "bcast/x");
    d.declared = 1;
    T_ALL(sharded(&d, m, H5CKPT_SHARD(0)) == 0, "layout");
    write_all(f, &d, 1, NULL);
    T_ALL(whole(&d) == 0, "whole");
    fake_cfg.fail_bcast_rank = T_size - 1;
    T_PASS(NULL, h5ckpt_open(&ck, f, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, dten_queue(ck, &d, 0));
    if (fast() && T_size > 1) {
        T_CODE(H5CKPT_EDEVICE, h5ckpt_flush(ck));
        T_ALL(!strcmp(h5ckpt_errmsg(ck), FAKE_BCAST_ERRMSG), "message: %s",
              h5ckpt_errmsg(ck));
        T_ALL(fake_st.aborts > 0 && fake_st.bcasts == 0,
              "%llu groups aborted, %llu broadcasts ran",
              (unsigned long long)fake_st.aborts, (unsigned long long)fake_st.bcasts);
    } else { /* no groups: one rank, or the plain executor */
        T_PASS(ck, h5ckpt_flush(ck));
    }
    fake_cfg.fail_bcast_rank = -1;
    T_PASS(ck, dten_queue(ck, &d, 0));
    T_PASS(ck, h5ckpt_flush(ck));
    bad = dten_bad(&d);
    T_CHECK(bad);
    T_ALL((fast() && T_size > 1) == (fake_st.bcasts > 0), "%llu broadcasts",
          (unsigned long long)fake_st.bcasts);
    T_PASS(NULL, h5ckpt_close(ck));
    dten_release(&d);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

/* ---- put/get checks -------------------------------------------------- */

/* Collective: put one element of `data` declared as `kind`; returns the
 * put's code (the flush must give the same) and the message. */
static int put_one(void *data, h5ckpt_memkind kind, char *msg)
{
    static const uint64_t s[1] = {1};
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    int rc, frc;

    b.kind = kind;
    T_PASS(NULL, h5ckpt_layout_whole(&l, 1, s, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, t_path("put.h5"), MPI_COMM_WORLD, NULL, NULL));
    rc = h5ckpt_tensor_put(ck, "x", H5CKPT_FLOAT32, l, data, &b);
    frc = h5ckpt_flush(ck);
    T_ALL(frc == rc, "put %s, flush %s", h5ckpt_errname(rc), h5ckpt_errname(frc));
    snprintf(msg, H5CKPT_MSG_MAX, "%s", h5ckpt_errmsg(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
    return rc;
}

START_TEST(the_builtin_backend_refuses_cuda_buffers_alike_on_every_rank)
{
    char msg[H5CKPT_MSG_MAX];
    float x = 1;

    const h5ckpt__devops *b = h5ckpt__devops_builtin();
    char why[H5CKPT_MSG_MAX] = "";
    int usable = b && b->probe(why) == 0;

    fake_uninstall(); /* the build's backend */
    /* no backend, or no device (CI): ENOTSUP; a real GPU: a host pointer */
    T_CODE(usable ? H5CKPT_EINVAL : H5CKPT_ENOTSUP, put_one(&x, H5CKPT_MEM_CUDA, msg));
    T_ALL(same_everywhere(msg), "messages differ: %s", msg);
    if (!b)
        T_ALL(strstr(msg, "CUDA buffers need a CUDA build") != NULL, "message: %s", msg);
    else if (!usable)
        T_ALL(strstr(msg, why) != NULL, "message: %s, probe: %s", msg, why);
}
END_TEST

START_TEST(a_failing_probe_refuses_cuda_buffers_with_its_reason)
{
    char msg[H5CKPT_MSG_MAX];
    void *p;

    fake_reset();
    fake_cfg.probe_fails = 1;
    fake_install();
    p = fake_dev_malloc(4);
    T_CODE(H5CKPT_ENOTSUP, put_one(p, H5CKPT_MEM_CUDA, msg));
    T_ALL(strstr(msg, FAKE_PROBE_MSG) != NULL, "message: %s", msg);
    fake_dev_free(p);
    teardown();
}
END_TEST

START_TEST(a_host_pointer_declared_cuda_is_einval)
{
    char msg[H5CKPT_MSG_MAX];
    float x = 1;

    setup();
    T_CODE(H5CKPT_EINVAL, put_one(&x, H5CKPT_MEM_CUDA, msg));
    T_ALL(strstr(msg, "not device memory") != NULL, "message: %s", msg);
    teardown();
}
END_TEST

START_TEST(an_undeclared_device_pointer_is_detected)
{
    static const uint64_t s[2] = {5, 5};
    h5ckpt_mesh *m = world_mesh();
    dten d;

    setup();
    memset(&d, 0, sizeof d);
    tensor_init(&d.t, H5CKPT_UINT32, 131, 2, s, "detected");
    T_ALL(sharded(&d, m, H5CKPT_SHARD(0)) == 0, "layout");
    write_all(t_path("detected.h5"), &d, 1, NULL); /* a host read would crash */
    T_ALL(whole(&d) == 0, "whole");
    T_CHECK(read_all(t_path("detected.h5"), &d, 1, NULL, NULL));
    dten_release(&d);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

START_TEST(zeroed_options_are_the_defaults_with_device_buffers)
{
    static const uint64_t s[1] = {300};
    h5ckpt_options o;
    h5ckpt_mesh *m = world_mesh();
    dten d;

    setup();
    memset(&o, 0, sizeof o); /* version 0, executor default, staging 0 */
    memset(&d, 0, sizeof d);
    tensor_init(&d.t, H5CKPT_FLOAT8_E4M3FN, 141, 1, s, "v1");
    d.declared = 1;
    T_ALL(sharded(&d, m, H5CKPT_SHARD(0)) == 0, "layout");
    write_all(t_path("v1.h5"), &d, 1, &o);
    T_CHECK(read_all(t_path("v1.h5"), &d, 1, &o, NULL));
    dten_release(&d);
    h5ckpt_mesh_free(m);
    teardown();
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("device");
    TCase *tc = tcase_create("fake device");

    tcase_set_timeout(tc, 0);
    tcase_add_test(tc, every_dtype_round_trips_from_fake_device_buffers);
    tcase_add_test(tc, a_checkpoint_written_on_one_mesh_reads_on_another);
    tcase_add_test(tc, host_and_device_tensors_mix_in_one_checkpoint);
    tcase_add_test(tc, strided_device_buffers_round_trip);
    tcase_add_test(tc, staging_far_smaller_than_a_tensor_cycles_its_halves);
    tcase_add_test(tc, large_device_pieces_round_trip_through_direct_writes);
    tcase_add_test(tc, device_written_data_and_checksums_equal_host_written);
    tcase_add_test(tc, verifying_reads_into_device_buffers_pass_and_find_a_flipped_bit);
    tcase_add_test(tc, device_reads_of_chunked_datasets_go_through_host_mirrors);
    tcase_add_test(tc, replicated_device_reads_take_one_file_read_per_group);
    tcase_add_test(tc, replica_groups_of_pairs_and_of_all_are_made_once_per_partition);
    tcase_add_test(tc, a_broadcast_one_rank_cannot_queue_fails_every_rank_without_a_hang);
    tcase_add_test(tc, a_failing_copy_at_commit_fails_every_rank_and_keeps_the_previous_checkpoint);
    tcase_add_test(tc, a_failing_copy_to_the_device_fails_the_read_on_every_rank);
    tcase_add_test(tc, the_builtin_backend_refuses_cuda_buffers_alike_on_every_rank);
    tcase_add_test(tc, a_failing_probe_refuses_cuda_buffers_with_its_reason);
    tcase_add_test(tc, a_host_pointer_declared_cuda_is_einval);
    tcase_add_test(tc, an_undeclared_device_pointer_is_detected);
    tcase_add_test(tc, zeroed_options_are_the_defaults_with_device_buffers);
    suite_add_tcase(s, tc);
    return s;
}
