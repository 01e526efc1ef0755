/*
 * Device-buffer round trips through the public API: tensors whose local
 * buffers are CUDA device memory (cudaMalloc), declared (H5CKPT_MEM_CUDA)
 * or not (detected), written and read like host tensors.  Every dtype; 1-4
 * ranks sharing one GPU; writer and reader on different meshes; host and
 * device tensors mixed in one checkpoint; strided device buffers; checksum
 * verification on read; tensors larger than the staging area; replicated
 * reads into device buffers.  On one GPU the core never broadcasts with
 * NCCL (a replica group of one rank reads for itself; several ranks share
 * the device): the NCCL group operations themselves are tested on one rank
 * by test_cuda_backend, and this file checks that the replicated device
 * read path delivers the right data either way.
 *
 * Values come from tests/mpi/values.c (a function of tensor id and global
 * index): each test builds the host image as the host tests do, copies it
 * to the device before a put, and copies the device buffer back after a
 * flush to check it, padding included.
 *
 * Without a usable CUDA device on every rank, rank 0 prints one line
 * "skipped: no CUDA device (<reason>)" and every rank exits 77 (SKIP).
 */
#include "harness.h"

#include <cuda_runtime.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "values.h"

/* asynchronous commits (device_buffers_save_asynchronously) need it */
int t_thread_level = MPI_THREAD_FUNNELED;

/* ---- device mirrors of host images -------------------------------------- */

/* First CUDA failure on this rank, for the collective check. */
static char cuda_msg[300];

static void cuda_note(const char *call, cudaError_t e)
{
    if (!cuda_msg[0])
        snprintf(cuda_msg, sizeof cuda_msg, "%s: %s (%s)", call,
                 cudaGetErrorString(e), cudaGetErrorName(e));
}

/* Collective: no CUDA call of the test failed on any rank. */
#define T_CUDA_OK()                                                           \
    do {                                                                      \
        char t_m_[sizeof cuda_msg];                                           \
        memcpy(t_m_, cuda_msg, sizeof cuda_msg);                              \
        cuda_msg[0] = 0;                                                      \
        T_ALL(t_m_[0] == 0, "%s", t_m_);                                      \
    } while (0)

/* A device copy of `n` bytes of `host` (NULL when n == 0). */
static void *to_device(const void *host, size_t n)
{
    void *d = NULL;
    cudaError_t e;

    if (n == 0)
        return NULL;
    if ((e = cudaMalloc(&d, n)) != cudaSuccess) {
        cuda_note("cudaMalloc", e);
        return NULL;
    }
    if ((e = cudaMemcpy(d, host, n, cudaMemcpyHostToDevice)) != cudaSuccess)
        cuda_note("cudaMemcpy H2D", e);
    return d;
}

/* Copy `n` bytes of device `d` back into `host`, then free `d`. */
static void from_device(void *host, void *d, size_t n)
{
    cudaError_t e;

    if (!d)
        return;
    if ((e = cudaMemcpy(host, d, n, cudaMemcpyDeviceToHost)) != cudaSuccess)
        cuda_note("cudaMemcpy D2H", e);
    if ((e = cudaFree(d)) != cudaSuccess)
        cuda_note("cudaFree", e);
}

static void dev_free(void *d)
{
    cudaError_t e;

    if (d && (e = cudaFree(d)) != cudaSuccess)
        cuda_note("cudaFree", e);
}

static size_t local_bytes(const tensor *t)
{
    return (size_t)h5ckpt_layout_local_count(t->l) * elsize[t->dt];
}

static const h5ckpt_buffer cuda_buf = {H5CKPT_BUFFER_VERSION, H5CKPT_MEM_CUDA,
                                       NULL};

/* Queue a put of t (values filled) from a device buffer (*dev); `buf` NULL
 * leaves the device pointer undeclared. */
static int dput(h5ckpt *ck, tensor *t, void **dev, const h5ckpt_buffer *buf)
{
    int rc = tensor_alloc(t, 1);

    if (rc)
        return rc;
    *dev = to_device(t->buf, local_bytes(t));
    return h5ckpt_tensor_put(ck, t->path, t->dt, t->l, *dev, buf);
}

/* Queue a get of t into a poisoned device buffer (*dev). */
static int dget(h5ckpt *ck, tensor *t, void **dev, const h5ckpt_buffer *buf)
{
    int rc = tensor_alloc(t, 0);

    if (rc)
        return rc;
    *dev = to_device(t->buf, local_bytes(t));
    return h5ckpt_tensor_get(ck, t->path, t->dt, t->l, *dev, buf);
}

/* After the flush: the device buffer back into t->buf, then check it. */
static uint64_t dcheck(tensor *t, void *dev)
{
    from_device(t->buf, dev, local_bytes(t));
    return tensor_bad(t);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(every_dtype_round_trips_through_device_buffers)
{
    const uint64_t shape[2] = {7, 5};
    const int s0 = H5CKPT_SHARD(0);
    const char *path = t_path("cuda_dtypes.h5");
    tensor t[H5CKPT_DTYPE_COUNT];
    void *dev[H5CKPT_DTYPE_COUNT];
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    uint64_t bad = 0;
    int i, pass;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
        tensor_init(&t[i], (h5ckpt_dtype)i, (uint64_t)i + 1, 2, shape,
                    "dtypes/%s", h5ckpt_dtype_name((h5ckpt_dtype)i));
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0, NULL));
        T_PASS(ck, dput(ck, &t[i], &dev[i], &cuda_buf));
    }
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
        dev_free(dev[i]);
        tensor_release(&t[i]);
    }

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    /* pass 0: the writer's Shard(0); pass 1: the whole tensor on every rank */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
            if (pass == 0)
                T_PASS(NULL,
                       h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0, NULL));
            else
                T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, shape, NULL));
            T_PASS(ck, dget(ck, &t[i], &dev[i], &cuda_buf));
        }
        T_PASS(ck, h5ckpt_flush(ck));
        for (i = 0; i < H5CKPT_DTYPE_COUNT; i++) {
            bad += dcheck(&t[i], dev[i]);
            tensor_release(&t[i]);
        }
        T_CUDA_OK();
        T_CHECK(bad);
    }
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* Failures on a sub-communicator, reported once everyone meets again. */
static int sub_fails;
static char sub_msg[400];

static int sub_rc(int rc, const char *what, const char *msg)
{
    if (rc != 0 && !sub_fails++)
        snprintf(sub_msg, sizeof sub_msg, "%s -> %s: %s", what,
                 h5ckpt_errname(rc), msg);
    return rc != 0;
}

/*
 * Written on a (2, 2) mesh (on fewer ranks (1, n)) with Shard(0) x Shard(1)
 * and Replicate x Shard(0); read on the first min(3, n) ranks as a 1-D mesh
 * with Shard(1), and whole.
 */
START_TEST(device_buffers_saved_on_a_2x2_mesh_load_on_three_ranks)
{
    const uint64_t shape[2] = {9, 7};
    const int pl[2][2] = {{H5CKPT_SHARD(0), H5CKPT_SHARD(1)},
                          {H5CKPT_REPLICATE, H5CKPT_SHARD(0)}};
    const int s1 = H5CKPT_SHARD(1);
    const char *path = t_path("cuda_meshes.h5");
    int wshape[2], nread = T_size < 3 ? T_size : 3, i, pass;
    h5ckpt_mesh *wm = NULL, *rm = NULL;
    h5ckpt_error err = {0, ""};
    h5ckpt *ck = NULL;
    tensor t[2];
    void *dev[2];
    uint64_t bad = 0;
    MPI_Comm sub;

    wshape[0] = T_size == 4 ? 2 : 1;
    wshape[1] = T_size == 4 ? 2 : T_size;
    T_ALL(h5ckpt_mesh_create(&wm, MPI_COMM_WORLD, 2, wshape, NULL, &err) == 0,
          "mesh_create: %s", err.message);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        tensor_init(&t[i], i ? H5CKPT_BFLOAT16 : H5CKPT_FLOAT32, 50 + i, 2,
                    shape, "mesh/t%d", i);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, wm, 2, shape, pl[i], NULL));
        T_PASS(ck, dput(ck, &t[i], &dev[i], &cuda_buf));
    }
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 2; i++) {
        dev_free(dev[i]);
        tensor_release(&t[i]);
    }
    h5ckpt_mesh_free(wm);

    MPI_Comm_split(MPI_COMM_WORLD, T_rank < nread ? 0 : MPI_UNDEFINED, T_rank,
                   &sub);
    sub_fails = 0;
    sub_msg[0] = 0;
    if (sub != MPI_COMM_NULL) {
        if (!sub_rc(h5ckpt_mesh_create(&rm, sub, 1, &nread, NULL, &err),
                    "mesh_create", err.message) &&
            !sub_rc(h5ckpt_open(&ck, path, sub, NULL, &err), "open",
                    err.message)) {
            for (pass = 0; pass < 2; pass++) {
                for (i = 0; i < 2; i++) {
                    int rc;

                    dev[i] = NULL;
                    rc = pass == 0 ? h5ckpt_layout_sharded(&t[i].l, rm, 2,
                                                               shape, &s1, NULL)
                                       : h5ckpt_layout_whole(&t[i].l, 2, shape, NULL);
                    sub_rc(rc, "layout", "");
                    if (!rc)
                        sub_rc(dget(ck, &t[i], &dev[i], &cuda_buf), "get",
                               h5ckpt_errmsg(ck));
                }
                if (!sub_rc(h5ckpt_flush(ck), "flush", h5ckpt_errmsg(ck)))
                    for (i = 0; i < 2; i++)
                        bad += dcheck(&t[i], dev[i]);
                else
                    for (i = 0; i < 2; i++)
                        dev_free(dev[i]);
                for (i = 0; i < 2; i++)
                    tensor_release(&t[i]);
            }
            sub_rc(h5ckpt_close(ck), "close", "");
        }
        h5ckpt_mesh_free(rm);
        MPI_Comm_free(&sub);
    }
    T_ALL(sub_fails == 0, "%s", sub_msg);
    T_CUDA_OK();
    T_CHECK(bad);
}
END_TEST

/* Even tensors on the device, odd ones on the host; read back swapped. */
START_TEST(host_and_device_tensors_mix_in_one_checkpoint)
{
    const uint64_t shape[2] = {11, 3};
    const int s0 = H5CKPT_SHARD(0);
    const char *path = t_path("cuda_mixed.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[6];
    void *dev[6] = {NULL};
    uint64_t bad = 0;
    int i;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 6; i++) {
        tensor_init(&t[i], i % 2 ? H5CKPT_INT64 : H5CKPT_FLOAT16, 60 + i, 2,
                    shape, "mixed/%s%d", i % 2 ? "host" : "dev", i);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0, NULL));
        if (i % 2)
            T_PASS(ck, tensor_put(ck, &t[i]));
        else
            T_PASS(ck, dput(ck, &t[i], &dev[i], &cuda_buf));
    }
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 6; i++) {
        dev_free(dev[i]);
        dev[i] = NULL;
        tensor_release(&t[i]);
    }

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 6; i++) {
        T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, 2, shape, NULL));
        if (i % 2)
            T_PASS(ck, dget(ck, &t[i], &dev[i], &cuda_buf));
        else
            T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 6; i++) {
        bad += i % 2 ? dcheck(&t[i], dev[i]) : tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    T_CUDA_OK();
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* ---- strided device buffers (helpers in tests/mpi/values.c) ---- */

START_TEST(strided_device_buffers_round_trip)
{
    const uint64_t wshape[4] = {2, 3, 4, 5}, pshape[2] = {7, 4};
    const int64_t cl_full[4] = {60, 1, 15, 3}, rows6[2] = {6, 1};
    const int s0 = H5CKPT_SHARD(0), s2 = H5CKPT_SHARD(2);
    const char *path = t_path("cuda_strided.h5");
    h5ckpt_buffer b[3];
    int64_t st[3][4];
    uint64_t off[3][4], cnt[3][4], span[3], bad = 0;
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    void *dev[3];
    tensor t[3];
    int i;

    for (i = 0; i < 3; i++) {
        b[i] = cuda_buf;
        b[i].strides = st[i];
    }
    /* conv weight sharded on O with the full tensor's channels_last
     * strides; sharded on H, channels_last; int32 rows padded to 6 */
    tensor_init(&t[0], H5CKPT_FLOAT32, 71, 4, wshape, "conv/weight");
    tensor_init(&t[1], H5CKPT_BFLOAT16, 72, 4, wshape, "conv/weight_h");
    tensor_init(&t[2], H5CKPT_INT32, 73, 2, pshape, "padded");
    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 4, wshape, &s0, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 4, wshape, &s2, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[2].l, mesh, 2, pshape, &s0, NULL));
    for (i = 0; i < 3; i++)
        local_box(t[i].l, t[i].ndim, off[i], cnt[i]);
    memcpy(st[0], cl_full, sizeof cl_full);
    channels_last(cnt[1], st[1]);
    memcpy(st[2], rows6, sizeof rows6);
    span[0] = span_of(4, cnt[0], st[0]);
    span[1] = span_of(4, cnt[1], st[1]);
    span[2] = cnt[2][0] * 6;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++) {
        strided_alloc(&t[i], span[i]);
        strided_io(&t[i], off[i], cnt[i], st[i], 1);
        dev[i] = to_device(t[i].buf, span[i] * elsize[t[i].dt]);
        T_PASS(ck, h5ckpt_tensor_put(ck, t[i].path, t[i].dt, t[i].l, dev[i],
                                     &b[i]));
    }
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++)
        dev_free(dev[i]);

    /* read into poisoned strided device buffers on the same layouts */
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 3; i++) {
        strided_alloc(&t[i], span[i]);
        dev[i] = to_device(t[i].buf, span[i] * elsize[t[i].dt]);
        T_PASS(ck, h5ckpt_tensor_get(ck, t[i].path, t[i].dt, t[i].l, dev[i],
                                     &b[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 3; i++) {
        from_device(t[i].buf, dev[i], span[i] * elsize[t[i].dt]);
        bad += strided_io(&t[i], off[i], cnt[i], st[i], 0);
    }
    bad += pad_bad(&t[2], cnt[2][0]);
    for (i = 0; i < 3; i++)
        tensor_release(&t[i]);
    T_CUDA_OK();
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* An asynchronous commit copies device buffers (contiguous and strided)
 * to pinned memory before h5ckpt_commit_start returns: the buffers are
 * overwritten on the device at once and the file still holds the values
 * they had. */
START_TEST(device_buffers_save_asynchronously)
{
    const uint64_t shape[2] = {37, 300}, pshape[2] = {7, 4};
    const int64_t rows6[2] = {6, 1};
    const int s0 = H5CKPT_SHARD(0);
    const char *path = t_path("cuda_async.h5");
    h5ckpt_buffer sb = cuda_buf;
    uint64_t off[2], cnt[2], span, bad = 0;
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    void *dev[2] = {NULL, NULL};
    tensor t[2];
    cudaError_t e;
    int i;

    tensor_init(&t[0], H5CKPT_BFLOAT16, 91, 2, shape, "async/weight");
    tensor_init(&t[1], H5CKPT_INT32, 92, 2, pshape, "async/padded");
    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, mesh, 2, shape, &s0, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, mesh, 2, pshape, &s0, NULL));
    local_box(t[1].l, 2, off, cnt);
    span = cnt[0] * 6;
    sb.strides = rows6;
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, dput(ck, &t[0], &dev[0], &cuda_buf));
    strided_alloc(&t[1], span);
    strided_io(&t[1], off, cnt, rows6, 1);
    dev[1] = to_device(t[1].buf, span * 4);
    T_PASS(ck, h5ckpt_tensor_put(ck, t[1].path, t[1].dt, t[1].l, dev[1], &sb));
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit_start(ck));
    /* training overwrites the device buffers at once */
    for (i = 0; i < 2; i++) {
        size_t n = i ? span * 4 : local_bytes(&t[0]);
        if (dev[i] && (e = cudaMemset(dev[i], 0x5A, n)) != cudaSuccess)
            cuda_note("cudaMemset", e);
    }
    if ((e = cudaDeviceSynchronize()) != cudaSuccess)
        cuda_note("cudaDeviceSynchronize", e);
    T_PASS(ck, h5ckpt_commit_wait(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 2; i++) {
        dev_free(dev[i]);
        tensor_release(&t[i]);
    }
    T_CUDA_OK();
    /* read back whole into host buffers, checksums verified */
    {
        h5ckpt_options o = H5CKPT_OPTIONS_INIT;
        o.verify_checksums = 1;
        tensor_init(&t[0], H5CKPT_BFLOAT16, 91, 2, shape, "async/weight");
        tensor_init(&t[1], H5CKPT_INT32, 92, 2, pshape, "async/padded");
        h5ckpt_layout_whole(&t[0].l, 2, shape, NULL);
        h5ckpt_layout_whole(&t[1].l, 2, pshape, NULL);
        T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
        for (i = 0; i < 2; i++)
            T_PASS(ck, tensor_get(ck, &t[i]));
        T_PASS(ck, h5ckpt_flush(ck));
        T_PASS(ck, h5ckpt_close(ck));
        for (i = 0; i < 2; i++) {
            bad += tensor_bad(&t[i]);
            tensor_release(&t[i]);
        }
        T_CHECK(bad);
    }
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* Device pointers passed with no h5ckpt_buffer (NULL) are detected. */
START_TEST(undeclared_device_pointers_are_detected)
{
    const uint64_t shape[1] = {1000};
    const int s0 = H5CKPT_SHARD(0);
    const char *path = t_path("cuda_undeclared.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    void *dev = NULL;
    tensor t;
    uint64_t bad = 0;

    tensor_init(&t, H5CKPT_FLOAT64, 80, 1, shape, "undeclared");
    T_PASS(NULL, h5ckpt_layout_sharded(&t.l, mesh, 1, shape, &s0, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(ck, dput(ck, &t, &dev, NULL));
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    dev_free(dev);
    tensor_release(&t);

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&t.l, 1, shape, NULL));
    T_PASS(ck, dget(ck, &t, &dev, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    bad += dcheck(&t, dev);
    tensor_release(&t);
    T_CUDA_OK();
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* Checksums verified on a read into device buffers; a small staging area
 * (64 KiB) forces tensors of 1 MiB through many staging rounds. */
START_TEST(device_reads_verify_checksums_through_small_staging)
{
    const uint64_t shape[2] = {512, 512};
    const int s0 = H5CKPT_SHARD(0), s1 = H5CKPT_SHARD(1);
    const char *path = t_path("cuda_checksums.h5");
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    void *dev[3];
    tensor t[3];
    uint64_t bad = 0;
    int i;

    o.staging_bytes = 64 << 10;
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < 3; i++) {
        tensor_init(&t[i], H5CKPT_FLOAT32, 90 + i, 2, shape, "big/t%d", i);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s0, NULL));
        T_PASS(ck, dput(ck, &t[i], &dev[i], &cuda_buf));
    }
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 3; i++) {
        dev_free(dev[i]);
        tensor_release(&t[i]);
    }

    o.verify_checksums = 1;
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < 3; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &s1, NULL));
        T_PASS(ck, dget(ck, &t[i], &dev[i], &cuda_buf));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 3; i++) {
        bad += dcheck(&t[i], dev[i]);
        tensor_release(&t[i]);
    }
    T_CUDA_OK();
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/*
 * Replicated data read into device buffers on every rank.  With one rank
 * the replica group has one member, which reads for itself; with several
 * ranks sharing one GPU the core must not broadcast with NCCL (it refuses
 * two ranks on one device) and takes the staging path: the data must be
 * the same.  On a machine with a GPU per rank this is the NCCL path.
 */
START_TEST(replicated_tensors_read_into_device_buffers)
{
    const uint64_t shape[2] = {33, 17};
    const int rep = H5CKPT_REPLICATE;
    const char *path = t_path("cuda_replicated.h5");
    h5ckpt_mesh *mesh = world_mesh();
    h5ckpt *ck = NULL;
    void *dev[2];
    tensor t[2];
    uint64_t bad = 0;
    int i;

    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        tensor_init(&t[i], i ? H5CKPT_UINT8 : H5CKPT_FLOAT32, 100 + i, 2,
                    shape, "replicated/t%d", i);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &rep, NULL));
        T_PASS(ck, dput(ck, &t[i], &dev[i], &cuda_buf));
    }
    T_CUDA_OK();
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < 2; i++) {
        dev_free(dev[i]);
        tensor_release(&t[i]);
    }

    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (i = 0; i < 2; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, mesh, 2, shape, &rep, NULL));
        T_PASS(ck, dget(ck, &t[i], &dev[i], &cuda_buf));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < 2; i++) {
        bad += dcheck(&t[i], dev[i]);
        tensor_release(&t[i]);
    }
    T_CUDA_OK();
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    h5ckpt_mesh_free(mesh);
}
END_TEST

/* Exit 77 on every rank unless every rank has a CUDA device. */
static void skip_without_device(void)
{
    char why[300] = "", first[300] = "";
    int n = 0, ok, all = 0, low;
    cudaError_t e = cudaGetDeviceCount(&n);

    if (e != cudaSuccess)
        snprintf(why, sizeof why, "cudaGetDeviceCount: %s (%s)",
                 cudaGetErrorString(e), cudaGetErrorName(e));
    else if (n == 0)
        snprintf(why, sizeof why, "cudaGetDeviceCount found 0 devices");
    ok = why[0] == 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (all)
        return;
    /* the reason of the lowest rank without a device */
    low = ok ? T_size : T_rank;
    MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (T_rank == low)
        memcpy(first, why, sizeof why);
    MPI_Bcast(first, sizeof first, MPI_CHAR, low, MPI_COMM_WORLD);
    if (T_rank == 0) {
        printf("skipped: no CUDA device (%s)\n", first);
        fflush(stdout);
        rmdir(t_dir()); /* harness.c made it; nothing is in it yet */
    }
    MPI_Finalize();
    exit(77);
}

Suite *test_suite(void)
{
    Suite *s = suite_create("cuda_roundtrip");
    TCase *tc = tcase_create("device");

    skip_without_device();
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, every_dtype_round_trips_through_device_buffers);
    tcase_add_test(tc, device_buffers_saved_on_a_2x2_mesh_load_on_three_ranks);
    tcase_add_test(tc, host_and_device_tensors_mix_in_one_checkpoint);
    tcase_add_test(tc, strided_device_buffers_round_trip);
    tcase_add_test(tc, undeclared_device_pointers_are_detected);
    tcase_add_test(tc, device_reads_verify_checksums_through_small_staging);
    tcase_add_test(tc, replicated_tensors_read_into_device_buffers);
    tcase_add_test(tc, device_buffers_save_asynchronously);
    suite_add_tcase(s, tc);
    return s;
}
