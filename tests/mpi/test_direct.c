/*
 * Direct writes of the fast writer (lib/io/direct.c): the aligned middle of
 * every run of at least H5CKPT__DIRECT_MIN bytes goes to the file with
 * O_DIRECT through bounce buffers; heads, tails and shorter runs go through
 * the page cache.  The tensors below cut runs at unaligned places (odd row
 * lengths, rank boundaries, a strided buffer that is packed first, a
 * replicated tensor written by its one owner, Shard(1) row segments of
 * either kind), so a rank's direct middle lies next to buffered bytes of
 * its own and of other ranks, and every element must come back exactly,
 * read by either executor, with direct writes on, off through
 * H5CKPT_DIRECT=0 on every rank, and off through the option no_direct on
 * the last rank only (agreed: no rank writes direct then), and with direct
 * writes from the background writer of an asynchronous commit.
 *
 * Where the file system takes O_DIRECT and keeps no copy of it in the page
 * cache (ext4, xfs, btrfs), the middle of a large tensor must be absent
 * from the page cache right after the commit with direct writes (they
 * really ran) and present without them (mincore of a mapping).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "values.h"

#define NT 4

/* h5ckpt_commit_start needs it (DIRECT_ASYNC below) */
int t_thread_level = MPI_THREAD_FUNNELED;

static const h5ckpt_options fast = {.executor = H5CKPT_EXECUTOR_FAST};
static const h5ckpt_options plain = {.executor = H5CKPT_EXECUTOR_PLAIN};

/* At 4 ranks a's and d's pieces still have direct middles over 1 MiB; b's
 * row segments have one at 1 rank only. */
static const uint64_t s_a[2] = {1100, 1021}; /* float32, Shard(0) */
static const uint64_t s_b[2] = {3, 700001};  /* bf16, Shard(1) */
static const uint64_t s_c[3] = {5, 6, 40009}; /* int32, replicated */
static const uint64_t s_d[2] = {1601, 700};  /* float32 in padded rows, Shard(0) */
#define D_STRIDE 703 /* elements per row of d's local buffer */

static void make_state(tensor *t, uint64_t id)
{
    tensor_init(&t[0], H5CKPT_FLOAT32, id + 1, 2, s_a, "big/a");
    tensor_init(&t[1], H5CKPT_BFLOAT16, id + 2, 2, s_b, "big/b");
    tensor_init(&t[2], H5CKPT_INT32, id + 3, 3, s_c, "c");
    tensor_init(&t[3], H5CKPT_FLOAT32, id + 4, 2, s_d, "padded/d");
}

static void make_layouts(tensor *t, const h5ckpt_mesh *m)
{
    const int s0 = H5CKPT_SHARD(0), s1 = H5CKPT_SHARD(1), r = H5CKPT_REPLICATE;

    T_PASS(NULL, h5ckpt_layout_sharded(&t[0].l, m, 2, s_a, &s0, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[1].l, m, 2, s_b, &s1, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[2].l, m, 3, s_c, &r, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&t[3].l, m, 2, s_d, &s0, NULL));
}

/* How write_state turns direct writes off. */
enum { DIRECT_ON, DIRECT_OFF_ENV, DIRECT_OFF_LAST_RANK, DIRECT_ASYNC, NMODES };
static const char *mode_name[NMODES] = {"direct writes", "H5CKPT_DIRECT=0",
                                        "no_direct on the last rank",
                                        "an asynchronous commit"};

/* Collective: write the state with the fast writer, direct writes on
 * (DIRECT_ON; DIRECT_ASYNC: committed by h5ckpt_commit_start and
 * h5ckpt_commit_wait) or off: through H5CKPT_DIRECT=0 on every rank, or
 * through the option no_direct on the last rank only. */
static void write_state(const char *path, const h5ckpt_mesh *m, uint64_t id,
                        int mode)
{
    const int64_t st[2] = {D_STRIDE, 1};
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    h5ckpt_options o = fast;
    uint64_t off[2], cnt[2];
    h5ckpt *ck = NULL;
    tensor t[NT];
    int i;

    if (mode == DIRECT_OFF_ENV)
        setenv("H5CKPT_DIRECT", "0", 1);
    o.no_direct = mode == DIRECT_OFF_LAST_RANK && T_rank == T_size - 1;
    o.mesh = m;
    o.no_fsync = 1; /* what stays in the page cache is then what was buffered */
    make_state(t, id);
    make_layouts(t, m);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < 3; i++)
        T_PASS(ck, tensor_put(ck, &t[i]));
    local_box(t[3].l, 2, off, cnt);
    strided_alloc(&t[3], cnt[0] * D_STRIDE);
    strided_io(&t[3], off, cnt, st, 1);
    b.strides = st;
    T_PASS(ck, h5ckpt_tensor_put(ck, t[3].path, t[3].dt, t[3].l, t[3].buf, &b));
    if (mode == DIRECT_ASYNC) {
        T_PASS(ck, h5ckpt_commit_start(ck));
        T_PASS(ck, h5ckpt_commit_wait(ck));
    } else {
        T_PASS(ck, h5ckpt_commit(ck));
    }
    T_PASS(NULL, h5ckpt_close(ck));
    unsetenv("H5CKPT_DIRECT");
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
}

/* Collective: read the state on the world mesh through `o`; mismatches. */
static uint64_t read_state(const char *path, const h5ckpt_mesh *m, uint64_t id,
                           const h5ckpt_options *o)
{
    h5ckpt *ck = NULL;
    uint64_t bad = 0;
    tensor t[NT];
    int i;

    make_state(t, id);
    make_layouts(t, m);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, o, NULL));
    for (i = 0; i < NT; i++)
        T_PASS(ck, tensor_get(ck, &t[i]));
    T_PASS(ck, h5ckpt_flush(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++) {
        bad += tensor_bad(&t[i]);
        tensor_release(&t[i]);
    }
    return bad;
}

/* Local: 1 where O_DIRECT writes leave nothing in the page cache. */
static int direct_bypasses_cache(const char *dir)
{
    struct statfs f;
    char probe[4096];
    int fd;

    if (statfs(dir, &f) != 0 ||
        (f.f_type != 0xEF53 /* ext2/3/4 */ && f.f_type != 0x58465342 /* xfs */ &&
         f.f_type != 0x9123683E /* btrfs */))
        return 0;
    snprintf(probe, sizeof probe, "%s/direct-probe-%d", dir, T_rank);
    fd = open(probe, O_WRONLY | O_CREAT | O_DIRECT, 0644);
    if (fd >= 0)
        close(fd);
    unlink(probe);
    return fd >= 0;
}

/* Local: resident pages, and all pages, of the middle half of dataset
 * `name`'s extent (-1 when it cannot be mapped). */
static long resident_pages(const char *path, const char *name, long *total)
{
    long page = sysconf(_SC_PAGESIZE), n, i, res = 0;
    hid_t f, d;
    haddr_t off;
    hsize_t size;
    unsigned char *vec;
    void *map;
    off_t lo, hi;
    int fd;

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    off = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
    size = d >= 0 ? H5Dget_storage_size(d) : 0;
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    if (off == HADDR_UNDEF || size == 0)
        return -1;
    lo = ((off_t)off + (off_t)size / 4) / page * page;
    hi = ((off_t)off + (off_t)size * 3 / 4) / page * page;
    n = (long)((hi - lo) / page);
    if ((fd = open(path, O_RDONLY)) < 0)
        return -1;
    map = mmap(NULL, (size_t)(hi - lo), PROT_READ, MAP_SHARED, fd, lo);
    close(fd);
    if (map == MAP_FAILED || !(vec = malloc((size_t)n))) {
        if (map != MAP_FAILED)
            munmap(map, (size_t)(hi - lo));
        return -1;
    }
    if (mincore(map, (size_t)(hi - lo), vec) == 0)
        for (i = 0; i < n; i++)
            res += vec[i] & 1;
    else
        res = -1;
    free(vec);
    munmap(map, (size_t)(hi - lo));
    *total = n;
    return res;
}

/* Collective: 1 on every rank where direct writes bypass the page cache
 * in the test directory on every rank. */
static int cache_checkable(void)
{
    int able = direct_bypasses_cache(t_dir()), all = 0;

    MPI_Allreduce(&able, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all && T_rank == 0)
        printf("test_direct: page-cache checks skipped, %s does not take O_DIRECT "
               "past the page cache\n", t_dir());
    return all;
}

START_TEST(large_pieces_round_trip_and_direct_ones_skip_the_page_cache)
{
    h5ckpt_mesh *m = world_mesh();
    int mode, check = cache_checkable();

    for (mode = 0; mode < NMODES; mode++) {
        const char *path = t_path(mode == DIRECT_ON              ? "direct.h5"
                                  : mode == DIRECT_OFF_ENV       ? "buffered.h5"
                                  : mode == DIRECT_OFF_LAST_RANK ? "agreed.h5"
                                                                 : "async.h5");
        uint64_t id = 100 + 10 * (uint64_t)mode, bad;
        int direct = mode == DIRECT_ON || mode == DIRECT_ASYNC, ok = 1;
        long res = 0, total = 0;

        write_state(path, m, id, mode);
        if (check && T_rank == 0) {
            res = resident_pages(path, "big/a", &total);
            /* with direct writes, only the pages at the ends of each rank's
             * piece went through the page cache; without, every page */
            ok = res >= 0 && total > 100 &&
                 (direct ? res <= 4 * (long)T_size : res == total);
        }
        T_ALL(ok, "%s: %ld of %ld pages in the middle of big/a are in the page "
              "cache", mode_name[mode], res, total);
        bad = read_state(path, m, id, &fast);
        T_CHECK(bad);
        bad = read_state(path, m, id, &plain);
        T_CHECK(bad);
    }
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("direct");
    TCase *tc = tcase_create("direct");

    tcase_set_timeout(tc, 0);
    tcase_add_test(tc, large_pieces_round_trip_and_direct_ones_skip_the_page_cache);
    suite_add_tcase(s, tc);
    return s;
}
