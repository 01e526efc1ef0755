/*
 * The fast reader's node-local exchange (lib/io/exchange.c): fragmented
 * Shard(1)-like reads shared among the ranks of a node in file units.
 * Every element is checked against its expected value; the units the ranks
 * of each node delivered are counted (io.exchange_units of the handle) and compared
 * with what the library's rule gives for that node, so the tests know the
 * exchange really ran, per node, exactly as many units as the spans need.
 * Run on one node (1-4 ranks) and on the simulated cluster
 * (tests/cluster/exchange.cluster), where every cross-memory copy the
 * library makes is checked to target a rank of the same node: on one
 * machine a copy into a process of another "node" would succeed silently.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* process_vm_writev */
#endif
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "handle/handle.h"
#include "nodes.h"
#include "values.h"

#define NT 3

/* The exchange belongs to the fast reader, whatever $H5CKPT_EXECUTOR says
 * (run-test.sh runs every suite under both executors). */
static const h5ckpt_options fast = {.executor = H5CKPT_EXECUTOR_FAST};

/* 2-D float32, 3-D bf16 (runs of several elements), int64 with few
 * columns: every one has at least 16 rows, so every rank's Shard(1) read
 * is fragmented. */
static uint64_t id_base; /* another value: the same tensors, other data */

static void make_state(tensor *t)
{
    static const uint64_t s0[2] = {40, 37}, s1[3] = {33, 50, 3}, s2[2] = {64, 9};

    tensor_init(&t[0], H5CKPT_FLOAT32, id_base + 11, 2, s0, "x/a");
    tensor_init(&t[1], H5CKPT_BFLOAT16, id_base + 12, 3, s1, "x/b");
    tensor_init(&t[2], H5CKPT_INT64, id_base + 13, 2, s2, "y/c");
}

/* Written Shard(0) over the world mesh. */
static void write_state(const char *path, const h5ckpt_mesh *m)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    tensor t[NT];
    h5ckpt *ck = NULL;
    int i, p = H5CKPT_SHARD(0);

    o.mesh = m;
    make_state(t);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
        T_PASS(ck, tensor_alloc(&t[i], 1));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
}

/* Units every rank's handle delivered so far (before it is closed). */
static uint64_t units_all(const h5ckpt *ck)
{
    uint64_t mine = ck->io.exchange_units, all = 0;

    MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return all;
}

/* ---- cross-memory copies, by the node of their target ------------------ */

/* The library's process_vm_writev/readv calls land here first (linked with
 * --wrap, tests/mpi/executors.mk). */
ssize_t __real_process_vm_writev(pid_t, const struct iovec *, unsigned long,
                                 const struct iovec *, unsigned long, unsigned long);
ssize_t __real_process_vm_readv(pid_t, const struct iovec *, unsigned long,
                                const struct iovec *, unsigned long, unsigned long);
ssize_t __wrap_process_vm_writev(pid_t, const struct iovec *, unsigned long,
                                 const struct iovec *, unsigned long, unsigned long);
ssize_t __wrap_process_vm_readv(pid_t, const struct iovec *, unsigned long,
                                const struct iovec *, unsigned long, unsigned long);
static uint64_t copies_here, copies_across;

static void count_copy(pid_t pid)
{
    if (t_node_of_pid(pid) == t_nodes_get()->node)
        copies_here++;
    else
        copies_across++;
}

ssize_t __wrap_process_vm_writev(pid_t pid, const struct iovec *l, unsigned long nl,
                                 const struct iovec *r, unsigned long nr,
                                 unsigned long flags)
{
    count_copy(pid);
    return __real_process_vm_writev(pid, l, nl, r, nr, flags);
}

ssize_t __wrap_process_vm_readv(pid_t pid, const struct iovec *l, unsigned long nl,
                                const struct iovec *r, unsigned long nr,
                                unsigned long flags)
{
    count_copy(pid);
    return __real_process_vm_readv(pid, l, nl, r, nr, flags);
}

/* Collective: no rank ever copied into (or probed) a process of another
 * node. */
static void no_copies_across_nodes(void)
{
    T_ALL(copies_across == 0, "rank %d made %llu cross-memory copies to other nodes",
          T_rank, (unsigned long long)copies_across);
}

/* Collective: units the handles of this rank's node delivered so far
 * (before they are closed). */
static uint64_t units_node(const h5ckpt *ck)
{
    uint64_t mine = ck->io.exchange_units, all = 0;

    MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, t_nodes_get()->comm);
    return all;
}

/* Runs of a box as lib/io/exchange.c counts them (dimensions after the
 * last partial one are whole). */
static uint64_t box_runs(int ndim, const uint64_t *shape, const uint64_t *cnt)
{
    uint64_t runs = 1;
    int split = ndim - 1, d;

    while (split > 0 && cnt[split] == shape[split])
        split--;
    for (d = 0; d < split; d++)
        runs *= cnt[d];
    return runs;
}

/*
 * Collective: the units the ranks of this rank's node must deliver for one
 * read (off NULL) or write (off: the tensors' file offsets) of tensors `t`
 * (their layouts set), by the library's rule: a rank declares a tensor
 * when its box is non-empty with at least 16 runs of at most 64 KiB on
 * average (and `declares[i]`, 0 for a strided buffer).  Reading, a tensor
 * is exchanged on a node when the boxes its ranks declare cover at least
 * 3/4 of their span in the file, in ceil(span / unit) units; writing, only
 * when they cover every byte of it, in units of `unit` bytes whose ends,
 * but the last, fall back to a multiple of 4096 in the file when that
 * leaves the unit longer than nothing.  Only when every node has two ranks
 * or more.
 */
static uint64_t units_node_expected(tensor *t, int nt, uint64_t unit, const int *declares,
                                    const int64_t *off)
{
    const t_nodes *n = t_nodes_get();
    uint64_t units = 0, mine[1 + 2 * H5CKPT_MAX_NDIM], *all;
    int i, r, k, d, smallest = 0;

    MPI_Allreduce(&n->node_size, &smallest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    all = malloc((size_t)n->node_size * sizeof mine);
    T_ALL(all != NULL, "out of memory");
    for (i = 0; i < nt; i++) {
        int nd = t[i].ndim;
        uint64_t es = elsize[t[i].dt], *o = mine + 1, *cnt = mine + 1 + nd;
        uint64_t lo = UINT64_MAX, hi = 0, want = 0, vol = 1, runs, pos;
        local_box(t[i].l, nd, o, cnt);
        for (d = 0; d < nd; d++)
            vol *= cnt[d];
        runs = box_runs(nd, t[i].shape, cnt);
        mine[0] = (!declares || declares[i]) && vol > 0 && runs >= 16 &&
                  vol * es / runs <= (64 << 10);
        MPI_Allgather(mine, 1 + 2 * nd, MPI_UINT64_T, all, 1 + 2 * nd, MPI_UINT64_T,
                      n->comm);
        for (r = 0; r < n->node_size; r++) {
            const uint64_t *b = all + (size_t)r * (1 + 2 * (size_t)nd);
            uint64_t first[H5CKPT_MAX_NDIM], last[H5CKPT_MAX_NDIM], v = 1;
            if (!b[0])
                continue;
            for (k = 0; k < nd; k++) {
                first[k] = b[1 + k];
                last[k] = b[1 + k] + b[1 + nd + k] - 1;
                v *= b[1 + nd + k];
            }
            lo = flat_index(nd, t[i].shape, first) * es < lo
                     ? flat_index(nd, t[i].shape, first) * es : lo;
            hi = (flat_index(nd, t[i].shape, last) + 1) * es > hi
                     ? (flat_index(nd, t[i].shape, last) + 1) * es : hi;
            want += v * es;
        }
        if (hi <= lo || (off ? want != hi - lo : want < (hi - lo) / 4 * 3))
            continue;
        if (!off) {
            units += (hi - lo + unit - 1) / unit;
            continue;
        }
        lo += (uint64_t)off[i];
        hi += (uint64_t)off[i];
        for (pos = lo; pos < hi; units++) {
            uint64_t end = hi - pos > unit ? pos + unit : hi;
            if (end < hi && end / 4096 * 4096 > pos)
                end = end / 4096 * 4096;
            pos = end;
        }
    }
    free(all);
    return smallest > 1 ? units : 0;
}

/* Bytes of file per exchange unit (0: the default). */
static void set_unit(uint64_t unit)
{
    h5ckpt__knobs k = *h5ckpt__knobs_get();

    k.exchange_unit = unit;
    h5ckpt__knobs_set(&k);
}

/* Units of `unit` bytes that cover every tensor whole (every rank reads a
 * Shard(1) part, so together they want every byte). */
static uint64_t units_expected(tensor *t, uint64_t unit)
{
    uint64_t n = 0;
    int i;

    for (i = 0; i < NT; i++) {
        uint64_t b = tensor_bytes(&t[i]);
        n += (b + unit - 1) / unit;
    }
    return n;
}

/* Read every tensor with placements `place` on mesh `m`; returns
 * mismatches. */
static uint64_t read_placed(h5ckpt *ck, const h5ckpt_mesh *m, const int *place, tensor *t)
{
    uint64_t bad = 0, mine = 0, before = h5ckpt_bytes_read(ck);
    int i;

    for (i = 0; i < NT; i++) {
        h5ckpt_layout_free(t[i].l);
        t[i].l = NULL;
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, place, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
        mine += h5ckpt_layout_local_count(t[i].l) * elsize[t[i].dt];
    }
    T_PASS(ck, tensors_flush_bad(ck, t, NT, &bad));
    /* bytes_read: what this rank received, however it arrived */
    T_ALL(h5ckpt_bytes_read(ck) - before == mine, "bytes_read grew by %llu, own bytes %llu",
          (unsigned long long)(h5ckpt_bytes_read(ck) - before), (unsigned long long)mine);
    return bad;
}

/* Read every tensor Shard(1) on the world mesh; returns mismatches. */
static uint64_t read_shard1(h5ckpt *ck, const h5ckpt_mesh *m, tensor *t)
{
    const int p = H5CKPT_SHARD(1);

    return read_placed(ck, m, &p, t);
}

START_TEST(shard1_reads_go_through_the_exchange)
{
    static const uint64_t units[] = {0, 4096, 100, 1};
    const char *path = t_path("xa.h5");
    h5ckpt_mesh *m = world_mesh();
    tensor t[NT];
    size_t u;
    int i;

    write_state(path, m);
    make_state(t);
    for (u = 0; u < sizeof units / sizeof *units; u++) {
        h5ckpt *ck = NULL;
        uint64_t n, want, bad;
        set_unit(units[u]); /* 100 and 1: runs cut inside elements */
        T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
        bad = read_shard1(ck, m, t); /* T_CHECK evaluates its argument twice */
        T_CHECK(bad);
        /* two flushes on one handle: the shared counter starts over */
        bad = read_shard1(ck, m, t);
        T_CHECK(bad);
        n = units_node(ck);
        T_PASS(NULL, h5ckpt_close(ck));
        want = 2 * units_node_expected(t, NT, units[u] ? units[u] : 1 << 20, NULL, NULL);
        T_ALL(n == want, "node %d, unit %llu: %llu units delivered, expected %llu",
              t_nodes_get()->node, (unsigned long long)units[u], (unsigned long long)n,
              (unsigned long long)want);
    }
    no_copies_across_nodes();
    set_unit(0);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

START_TEST(exchange_off_reads_the_same_per_run)
{
    const char *path = t_path("xb.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt *ck = NULL;
    uint64_t bad, n;
    tensor t[NT];
    int i;

    write_state(path, m);
    make_state(t);
    setenv("H5CKPT_EXCHANGE", T_rank == T_size - 1 ? "0" : "1", 1); /* any rank turns it off */
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    bad = read_shard1(ck, m, t);
    T_CHECK(bad);
    n = units_all(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    unsetenv("H5CKPT_EXCHANGE");
    T_ALL(n == 0, "the exchange ran although turned off");
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

/*
 * Rank 0 reads tensor a into a strided buffer (rows padded by 3 elements):
 * it cannot take part, so the others' declarations cover (P-1)/P of the
 * span: exchanged from 4 ranks on (3/4), read per run below.  Every value
 * and every padding element is checked.
 */
START_TEST(a_rank_with_a_strided_buffer_reads_alone)
{
    const char *path = t_path("xc.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[NT];
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    uint64_t off[2], cnt[2], bad = 0, r, c, n, want;
    int64_t st[2];
    int i, p = H5CKPT_SHARD(1);
    float *buf = NULL;

    write_state(path, m);
    make_state(t);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    for (i = 0; i < NT; i++)
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
    local_box(t[0].l, 2, off, cnt);
    st[0] = (int64_t)cnt[1] + 3;
    st[1] = 1;
    b.strides = st;
    buf = malloc((size_t)(cnt[0] * (uint64_t)st[0] + 1) * sizeof *buf);
    for (r = 0; r < cnt[0] * (uint64_t)st[0]; r++)
        memset(&buf[r], 0x5A, sizeof *buf);
    if (T_rank == 0)
        T_PASS(ck, h5ckpt_tensor_get(ck, t[0].path, t[0].dt, t[0].l, buf, &b));
    else
        T_PASS(ck, tensor_get(ck, &t[0]));
    for (i = 1; i < NT; i++)
        T_PASS(ck, tensor_get(ck, &t[i]));
    T_PASS(ck, h5ckpt_flush(ck));
    for (r = 0; T_rank == 0 && r < cnt[0]; r++)
        for (c = 0; c < (uint64_t)st[0]; c++) {
            uint32_t got, pad;
            memcpy(&got, &buf[r * (uint64_t)st[0] + c], 4);
            memset(&pad, 0x5A, 4);
            if (c >= cnt[1]) {
                bad += got != pad;
            } else {
                uint64_t at[2] = {off[0] + r, off[1] + c};
                bad += got != (uint32_t)elem_bits(t[0].dt, t[0].id,
                                                  flat_index(2, t[0].shape, at));
            }
        }
    for (i = T_rank == 0 ? 1 : 0; i < NT; i++)
        bad += tensor_bad(&t[i]);
    T_CHECK(bad);
    n = units_node(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    {
        const int declares[NT] = {T_rank != 0, 1, 1}; /* a: rank 0's is strided */
        want = units_node_expected(t, NT, 1 << 20, declares, NULL);
    }
    no_copies_across_nodes();
    T_ALL(n == want, "%llu units, expected %llu", (unsigned long long)n,
          (unsigned long long)want);
    free(buf);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

/* The file loses its data after open: whichever rank claims the units past
 * the end fails, and every rank reports the same error (no hang). */
START_TEST(a_truncated_file_fails_alike_on_every_rank)
{
    const char *path = t_path("xd.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt *ck = NULL;
    tensor t[NT];
    int i, rc, p = H5CKPT_SHARD(1), lo = 0, hi = 0, h;
    int64_t off = 0;
    char *msg;

    write_state(path, m);
    make_state(t);
    set_unit(512);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    off = h5ckpt__index_tensor(&ck->file.index, "x/a")->offset;
    T_ALL(off > 0, "no offset for x/a");
    if (T_rank == 0)
        T_ALL(truncate(path, off + 700) == 0, "truncate failed");
    else
        T_ALL(1, "-");
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    rc = h5ckpt_flush(ck);
    T_ALL(rc == H5CKPT_EIO, "flush -> %s: %s", h5ckpt_errname(rc), h5ckpt_errmsg(ck));
    msg = (char *)h5ckpt_errmsg(ck);
    h = (int)(h5ckpt__hash(msg, strlen(msg)) & 0x7fffffff);
    MPI_Allreduce(&h, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    T_ALL(lo == hi && strstr(msg, "raw read of") != NULL,
          "messages differ or do not say why: %s", msg);
    h5ckpt_close(ck);
    set_unit(0);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

/* A checkpoint renamed over the path after open (a later save to the same
 * name) does not change what the handle reads, with either executor: the
 * fast reader reads through the descriptor every rank opened at
 * h5ckpt_open, the plain one through HDF5's handle. */
START_TEST(a_reader_reads_the_file_it_opened)
{
    const char *path = t_path("xe.h5"), *other = t_path("xe-other.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_options o = fast;
    tensor t[NT];
    uint64_t bad;
    int i, ex;

    for (ex = 0; ex < 2; ex++) {
        h5ckpt *ck = NULL;
        o.executor = ex ? H5CKPT_EXECUTOR_FAST : H5CKPT_EXECUTOR_PLAIN;
        write_state(path, m);
        id_base = 100;
        write_state(other, m);
        id_base = 0;
        T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
        T_ALL(T_rank != 0 || rename(other, path) == 0, "rename failed");
        make_state(t);
        bad = read_shard1(ck, m, t);
        T_CHECK(bad);
        T_PASS(NULL, h5ckpt_close(ck));
        for (i = 0; i < NT; i++)
            tensor_release(&t[i]);
    }
    h5ckpt_mesh_free(m);
}
END_TEST

/*
 * Mesh (nodes, ranks per node), placements [Replicate, Shard(1)]: the
 * ranks of each node together want every byte of every tensor, so each
 * node reads every tensor once through its own exchange (its units cover
 * the whole of each tensor), its ranks copy only to one another, and
 * nothing passes between nodes but the file (and MPI's agreements).  On
 * one node this is the world Shard(1) read.
 */
START_TEST(each_node_shares_its_reads_among_its_own_ranks)
{
    const t_nodes *n = t_nodes_get();
    const int place[2] = {H5CKPT_REPLICATE, H5CKPT_SHARD(1)};
    const char *path = t_path("xf.h5");
    h5ckpt_mesh *w = world_mesh(), *m = NULL;
    uint64_t here, units, want, bad;
    int mshape[2], i, smallest = 0;
    h5ckpt *ck = NULL;
    tensor t[NT];

    if (!n->regular) {
        h5ckpt_mesh_free(w);
        return;
    }
    mshape[0] = n->count;
    mshape[1] = n->node_size;
    T_PASS(NULL, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 2, mshape, NULL, NULL));
    write_state(path, w);
    make_state(t);
    here = copies_here;
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    bad = read_placed(ck, m, place, t);
    T_CHECK(bad);
    units = units_node(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    no_copies_across_nodes();
    want = units_node_expected(t, NT, 1 << 20, NULL, NULL);
    MPI_Allreduce(&n->node_size, &smallest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    /* by the rule, and in plain words: every node reads every tensor whole */
    T_ALL(units == want && want == (smallest > 1 ? units_expected(t, 1 << 20) : 0),
          "node %d delivered %llu units, expected %llu", n->node,
          (unsigned long long)units, (unsigned long long)want);
    /* each unit is copied to the node's other ranks: at least one call each */
    here = copies_here - here;
    MPI_Allreduce(MPI_IN_PLACE, &here, 1, MPI_UINT64_T, MPI_SUM, n->comm);
    T_ALL(here >= units, "node %d: %llu copies for %llu units", n->node,
          (unsigned long long)here, (unsigned long long)units);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
    h5ckpt_mesh_free(w);
}
END_TEST

/* ---- writes ------------------------------------------------------------- */

/* Collective: the file offset of each tensor of `t` in the file at `path`
 * (read by rank 0 with HDF5, broadcast). */
static void offsets(const char *path, tensor *t, int64_t *off)
{
    int i;

    for (i = 0; i < NT; i++)
        off[i] = -1;
    if (T_rank == 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        for (i = 0; f >= 0 && i < NT; i++) {
            hid_t d = H5Dopen2(f, t[i].path, H5P_DEFAULT);
            haddr_t a = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
            off[i] = a == HADDR_UNDEF ? -1 : (int64_t)a;
            if (d >= 0)
                H5Dclose(d);
        }
        if (f >= 0)
            H5Fclose(f);
    }
    MPI_Bcast(off, NT, MPI_INT64_T, 0, MPI_COMM_WORLD);
    for (i = 0; i < NT; i++)
        T_ALL(off[i] > 0, "no offset for %s", t[i].path);
}

/* Collective: a writer at `path` with `o` holding the state Shard(1) on
 * `m`; rank 0 gives tensor a from a strided buffer (rows padded by 3
 * elements, *sbuf, the caller frees it) when `strided`. */
static h5ckpt *writer_shard1(const char *path, const h5ckpt_mesh *m, const h5ckpt_options *o,
                             tensor *t, int strided, float **sbuf)
{
    h5ckpt_buffer b = H5CKPT_BUFFER_INIT;
    uint64_t off[2], cnt[2], r, c;
    int64_t st[2];
    h5ckpt *ck = NULL;
    int i, p = H5CKPT_SHARD(1);

    *sbuf = NULL;
    make_state(t);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, o, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p, NULL));
        T_PASS(ck, tensor_alloc(&t[i], 1));
        if (i == 0 && strided && T_rank == 0) {
            float *buf;
            local_box(t[0].l, 2, off, cnt);
            st[0] = (int64_t)cnt[1] + 3;
            st[1] = 1;
            b.strides = st;
            *sbuf = buf = calloc((size_t)(cnt[0] * (uint64_t)st[0] + 1), sizeof *buf);
            for (r = 0; buf && r < cnt[0]; r++)
                for (c = 0; c < cnt[1]; c++)
                    memcpy(&buf[r * (uint64_t)st[0] + c],
                           (float *)t[0].buf + r * cnt[1] + c, sizeof *buf);
            T_PASS(ck, h5ckpt_tensor_put(ck, t[0].path, t[0].dt, t[0].l, buf, &b));
        } else {
            T_PASS(ck, tensor_put(ck, &t[i]));
        }
    }
    return ck;
}

/* Collective: write the state as writer_shard1 sets it up; returns the
 * units this rank's node wrote. */
static uint64_t write_shard1(const char *path, const h5ckpt_mesh *m,
                             const h5ckpt_options *o, tensor *t, int strided)
{
    float *buf;
    h5ckpt *ck = writer_shard1(path, m, o, t, strided, &buf);
    uint64_t units;

    T_PASS(ck, h5ckpt_commit(ck));
    units = units_node(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    free(buf);
    return units;
}

/* Collective: the file at `path` holds the state (read whole by every
 * rank, per run, checksums verified); returns mismatches. */
static uint64_t check_state(const char *path)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt *ck = NULL;
    tensor t[NT];
    uint64_t bad = 0;
    size_t problems = 99;
    int i;

    make_state(t);
    o.executor = H5CKPT_EXECUTOR_PLAIN;
    o.verify_checksums = 1;
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_whole(&t[i].l, t[i].ndim, t[i].shape, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, tensors_flush_bad(ck, t, NT, &bad));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    T_ALL(h5ckpt_verify(path, MPI_COMM_WORLD, NULL, NULL, &problems, NULL) == 0 &&
              problems == 0, "verify: %zu problems", problems);
    return bad;
}

START_TEST(shard1_writes_go_through_the_exchange)
{
    static const uint64_t units[] = {0, 4096, 100, 1};
    const char *path = t_path("xw.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_options o = fast;
    int64_t off[NT];
    tensor t[NT];
    size_t u;
    int i, strided;

    o.mesh = m;
    for (strided = 0; strided < 2; strided++)
        for (u = 0; u < sizeof units / sizeof *units; u++) {
            /* rank 0's strided buffer leaves tensor a to the per-run writes */
            const int declares[NT] = {!strided || T_rank != 0, 1, 1};
            uint64_t n, want, bad;
            set_unit(units[u]); /* 100 and 1: runs cut inside elements */
            n = write_shard1(path, m, &o, t, strided);
            offsets(path, t, off);
            want = units_node_expected(t, NT, units[u] ? units[u] : 4 << 20, declares, off);
            T_ALL(n == want, "node %d, unit %llu%s: %llu units written, expected %llu",
                  t_nodes_get()->node, (unsigned long long)units[u],
                  strided ? ", rank 0 strided" : "", (unsigned long long)n,
                  (unsigned long long)want);
            for (i = 0; i < NT; i++)
                tensor_release(&t[i]);
            bad = check_state(path);
            T_CHECK(bad);
        }
    no_copies_across_nodes();
    set_unit(0);
    h5ckpt_mesh_free(m);
}
END_TEST

/* H5CKPT_EXCHANGE=0 on one rank: every rank writes its own runs, and the
 * file is the same. */
START_TEST(exchange_off_writes_the_same_per_run)
{
    const char *path = t_path("xwo.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_options o = fast;
    uint64_t n, bad;
    tensor t[NT];
    int i;

    o.mesh = m;
    setenv("H5CKPT_EXCHANGE", T_rank == T_size - 1 ? "0" : "1", 1);
    n = write_shard1(path, m, &o, t, 0);
    unsetenv("H5CKPT_EXCHANGE");
    T_ALL(n == 0, "the exchange wrote %llu units although turned off",
          (unsigned long long)n);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    bad = check_state(path);
    T_CHECK(bad);
    h5ckpt_mesh_free(m);
}
END_TEST

/* A write error in an exchanged unit (injected: ENOSPC once 3000 bytes of
 * this rank's runs are written) fails the commit on every rank with the
 * same code and message, and leaves nothing at the path. */
START_TEST(a_failed_exchanged_write_fails_alike_on_every_rank)
{
    const char *path = t_path("xwf.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_options o = fast;
    h5ckpt__knobs k = *h5ckpt__knobs_get(), saved = k;
    h5ckpt *ck;
    tensor t[NT];
    int i, rc, lo = 0, hi = 0, h;
    const char *msg;
    float *buf;

    o.mesh = m;
    set_unit(512);
    k = *h5ckpt__knobs_get();
    k.write_fail_errno = ENOSPC;
    k.write_fail_after = 3000;
    h5ckpt__knobs_set(&k);
    ck = writer_shard1(path, m, &o, t, 0, &buf);
    rc = h5ckpt_commit(ck);
    msg = h5ckpt_errmsg(ck);
    h = (int)(h5ckpt__hash(msg, strlen(msg)) & 0x7fffffff);
    MPI_Allreduce(&h, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    T_ALL(rc == H5CKPT_EIO && lo == hi && strstr(msg, "raw write of") != NULL,
          "commit -> %s: %s (messages %s)", h5ckpt_errname(rc), msg,
          lo == hi ? "alike" : "differ");
    h5ckpt_close(ck);
    h5ckpt__knobs_set(&saved);
    set_unit(0);
    T_ALL(access(path, F_OK) != 0, "a failed commit left a file at the path");
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("exchange");
    TCase *tc = tcase_create("exchange");

    t_nodes_get(); /* collective: before any copy is counted */

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, shard1_reads_go_through_the_exchange);
    tcase_add_test(tc, exchange_off_reads_the_same_per_run);
    tcase_add_test(tc, a_rank_with_a_strided_buffer_reads_alone);
    tcase_add_test(tc, a_truncated_file_fails_alike_on_every_rank);
    tcase_add_test(tc, a_reader_reads_the_file_it_opened);
    tcase_add_test(tc, each_node_shares_its_reads_among_its_own_ranks);
    tcase_add_test(tc, shard1_writes_go_through_the_exchange);
    tcase_add_test(tc, exchange_off_writes_the_same_per_run);
    tcase_add_test(tc, a_failed_exchanged_write_fails_alike_on_every_rank);
    suite_add_tcase(s, tc);
    return s;
}
