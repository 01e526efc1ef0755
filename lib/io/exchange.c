/*
 * Node-local exchange for fragmented reads and writes (fast executor).
 *
 * A rank reading a Shard(1)-like piece of a row-major tensor needs one short
 * segment of every row: one pread per segment, ~0.7 us of system call on
 * top of the copy, 2-3x the cost per byte of a contiguous read (see
 * docs/PERFORMANCE.md, "Strided reads").  Here the ranks of a node share
 * that work instead:
 *
 *  - Each rank declares, per task, the boxes it reads and the address of
 *    its destination buffer (one MPI_Allgatherv on the node communicator).
 *    Every rank then builds the same list of *units*: consecutive byte
 *    ranges of at most UNIT bytes covering each exchanged task's span in
 *    the file.
 *  - The node's ranks claim units from a counter in node-shared memory
 *    (MPI_Win_allocate_shared; atomic fetch-and-add), so a rank that gets
 *    more CPU reads more: ranks sharing cores (or slowed by anything else)
 *    do not hold the others back.
 *  - A claimed unit is read with one pread into a small buffer that stays
 *    in the cache; every declared run (of any rank) that falls in it is
 *    copied out: memcpy into the claiming rank's own buffer,
 *    process_vm_writev (Linux cross-memory attach, the single-copy
 *    mechanism Open MPI's shared-memory transport uses) into another
 *    rank's, up to IOV_MAX segments per call.
 *
 * Which tasks are exchanged is decided identically on every rank from the
 * declarations: host buffers, packed (not strided) layouts, contiguous
 * storage, and runs short enough to be worth it (at least MIN_RUNS of them,
 * MAX_RUN bytes on average); a task whose declared bytes cover less than
 * 3/4 of its span stays with the per-run reads, so no unit reads many bytes
 * nobody asked for.  The exchange is used only when cross-memory attach
 * works between every pair of the node's ranks (process_vm_writev, the
 * call the copies make, probed once per handle
 * and agreed), and can be turned off with H5CKPT_EXCHANGE=0 in the
 * environment (agreed: off if any rank says so).
 *
 * Safety: a rank writes into another's buffers only between the
 * declaration allgather (the owner is inside the same flush, its buffers
 * handed to h5ckpt by h5ckpt_tensor_get) and the agreement that ends the
 * transfer, which no rank leaves before every rank has finished its
 * copies.  A failed pread or copy is recorded and the rank stops claiming;
 * the others finish the remaining units and the failure is agreed after
 * the transfer (no hang, every rank gets the same code and message).
 * Reads use pread, never mmap, so a file truncated under a reader gives
 * H5CKPT_EIO, not SIGBUS.
 *
 * Writes, the mirror image.  A rank writing a Shard(1)-like piece has one
 * short run per row, each a buffered pwrite into page-cache pages it shares
 * with the other ranks' runs: many system calls, one inode lock, and every
 * page allocated by the page cache (on the development VM a fresh page
 * costs ~10 us, so the `llm` state took 0.5 s to save on 1 rank and 2.1 s
 * on 4).  With the exchange the node's ranks claim units of the span as
 * above, gather each unit's bytes from their owners' buffers
 * (process_vm_readv from other ranks, memcpy from their own) into the
 * stage, and write the unit with one call through the same raw-run routine
 * as every other write (rawio.c: the aligned middle O_DIRECT, direct.c).
 * Units are WUNIT bytes long and start at the alignment of direct writes,
 * so their middles go direct.  A task is exchanged for writing only when
 * the node's declared runs cover every byte of its span (each byte has one
 * owner in a write plan, so nothing unset is written), and only when
 * cross-memory reads work between every pair of the node's ranks (probed
 * with process_vm_readv, agreed).  The owners' buffers are the caller's,
 * which h5ckpt_commit and h5ckpt_flush may read until they return; the
 * checksums of host pieces are taken from them before (sums.c), whoever
 * writes the bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* process_vm_writev */
#endif
#include "config.h"
#include "io/exec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>


#define UNIT ((uint64_t)1 << 20) /* bytes of file per claimed unit */
#define WUNIT ((uint64_t)4 << 20) /* ... when writing */
#define WALIGN ((uint64_t)4096) /* write units start at this file alignment */
#define MIN_RUNS 16
#define MAX_RUN ((uint64_t)64 << 10)
#define BATCH 1024 /* segments per process_vm_writev (IOV_MAX on Linux) */
#define MAGIC 0x6835636b70747821ull

/* One rank's declaration of one task. */
typedef struct {
    int rank;       /* in the node communicator */
    uint64_t addr;  /* destination buffer in that rank's address space */
    size_t nsel;
    const uint64_t *sel; /* into the gathered buffer: see box_of() */
} decl;

typedef struct {
    size_t task;
    uint64_t lo, hi; /* file bytes */
} unit;

struct h5ckpt__exchange {
    int usable; /* -1 not probed yet, 0 off, 1 on */
    int can_read; /* process_vm_readv reaches every rank of the node
                     (writes): agreed */
    MPI_Comm node;
    int nrank, nsize;
    MPI_Win win;
    uint64_t *counter; /* node-shared, in node rank 0's part of the window */
    pid_t *pids;
    int *counts, *displs; /* per node rank, for the declarations' gather */
};

/* The plan of one flush. */
struct h5ckpt__xplan {
    unsigned char *mine;  /* per task: 1 when exchanged */
    decl *decls;          /* grouped by task, in task order */
    size_t *first;        /* per task + 1: index of its first decl */
    unit *units;
    size_t nunits;
    uint64_t *gathered;   /* every rank's declarations */
    unsigned char *stage; /* one unit's bytes */
    int writing;
};

/* ---- the handle's node state -------------------------------------------- */

void h5ckpt__exchange_free(h5ckpt__io *io)
{
    struct h5ckpt__exchange *x = io->exchange;

    if (!x)
        return;
    if (x->win != MPI_WIN_NULL)
        MPI_Win_free(&x->win);
    h5ckpt__comm_free(&x->node);
    free(x->pids);
    free(x->counts);
    free(x->displs);
    free(x);
    io->exchange = NULL;
}

static ssize_t copy_to(pid_t pid, const struct iovec *l, unsigned long nl,
                       const struct iovec *r, unsigned long nr)
{
#ifdef HAVE_PROCESS_VM_WRITEV
    return process_vm_writev(pid, l, nl, r, nr, 0);
#else
    (void)pid, (void)l, (void)nl, (void)r, (void)nr;
    errno = ENOSYS;
    return -1;
#endif
}

static ssize_t copy_from(pid_t pid, const struct iovec *l, unsigned long nl,
                         const struct iovec *r, unsigned long nr)
{
#ifdef HAVE_PROCESS_VM_READV
    return process_vm_readv(pid, l, nl, r, nr, 0);
#else
    (void)pid, (void)l, (void)nl, (void)r, (void)nr;
    errno = ENOSYS;
    return -1;
#endif
}

/*
 * Whether this rank can write into every other rank of its node with the
 * call the transfer makes, copy_to (process_vm_writev): each rank writes
 * MAGIC into its slot of every other rank's inbox (node addresses
 * `addrs`), then, once the node's ranks have all written, checks its own
 * inbox.  A seccomp profile or a ptrace policy may refuse
 * process_vm_writev and allow process_vm_readv: probing the read (as this
 * once did) turned the exchange on, and every exchanged read failed with
 * EIO (issue 13).  Then each rank reads back, with copy_from
 * (process_vm_readv, the call of exchanged writes), what it wrote into
 * every other rank's inbox: *rok is 0 when that fails.  Collective over the
 * node.  Sets *ok to 0 on failure; returns 0 or an MPI error.
 */
static int probe(h5ckpt__io *io, struct h5ckpt__exchange *x, const uint64_t *addrs,
                 volatile uint64_t *inbox, int *ok, int *rok)
{
    const uint64_t magic = MAGIC;
    uint64_t back;
    int r, rc;

    *ok = *ok && addrs && inbox && x->pids;
    for (r = 0; *ok && r < x->nsize; r++) {
        struct iovec l = {(void *)&magic, sizeof magic};
        struct iovec rem = {(void *)(uintptr_t)(addrs[r] + (uint64_t)x->nrank * sizeof magic),
                            sizeof magic};
        if (r != x->nrank && copy_to(x->pids[r], &l, 1, &rem, 1) != (ssize_t)sizeof magic)
            *ok = 0;
    }
    /* every write into this rank's inbox is done */
    if ((rc = h5ckpt__mpi(MPI_Barrier(x->node), "MPI_Barrier", io->ctx->errmsg)) != 0)
        return rc;
    for (r = 0; *ok && r < x->nsize; r++)
        if (r != x->nrank && inbox[r] != MAGIC)
            *ok = 0;
    *rok = *ok;
    for (r = 0; *rok && r < x->nsize; r++) {
        struct iovec l = {&back, sizeof back};
        struct iovec rem = {(void *)(uintptr_t)(addrs[r] + (uint64_t)x->nrank * sizeof magic),
                            sizeof magic};
        back = 0;
        if (r != x->nrank &&
            (copy_from(x->pids[r], &l, 1, &rem, 1) != (ssize_t)sizeof back || back != MAGIC))
            *rok = 0;
    }
    /* nobody frees its inbox while another rank reads it */
    return h5ckpt__mpi(MPI_Barrier(x->node), "MPI_Barrier", io->ctx->errmsg);
}

/*
 * Collective over io->ctx->comm, once per handle: the node communicator, the
 * counter window, and whether every rank can reach every other rank of its
 * node by cross-memory attach (probe()).  Any failure only turns the
 * exchange off (agreed over the handle's ranks, so every node decides the
 * same).
 */
static int setup(h5ckpt__io *io)
{
    struct h5ckpt__exchange *x;
    uint64_t *addrs = NULL, mine, got;
    volatile uint64_t *inbox = NULL;
    pid_t pid = getpid();
    MPI_Aint sz;
    int du, ok = 1, rok = 0, all = 0, rc;
    void *base = NULL;

    if (!(x = calloc(1, sizeof *x)))
        return h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    io->exchange = x;
    x->usable = 0;
    x->node = MPI_COMM_NULL;
    x->win = MPI_WIN_NULL;
    ok = !io->opts->no_exchange;
    if ((rc = h5ckpt__comm_split(io->ctx->comm, MPI_COMM_TYPE_SHARED, 0,
                                 io->ctx->rank, &x->node, io->ctx->errmsg)) != 0 ||
        (rc = h5ckpt__mpi(MPI_Comm_rank(x->node, &x->nrank), "MPI_Comm_rank",
                          io->ctx->errmsg)) != 0 ||
        (rc = h5ckpt__mpi(MPI_Comm_size(x->node, &x->nsize), "MPI_Comm_size",
                          io->ctx->errmsg)) != 0)
        return rc;
    if (!(x->pids = malloc((size_t)x->nsize * sizeof *x->pids)) ||
        !(x->counts = malloc((size_t)x->nsize * sizeof *x->counts)) ||
        !(x->displs = malloc((size_t)x->nsize * sizeof *x->displs)) ||
        !(addrs = malloc((size_t)x->nsize * sizeof *addrs)) ||
        !(inbox = calloc((size_t)x->nsize, sizeof *inbox)))
        ok = 0;
    mine = (uint64_t)(uintptr_t)inbox;
    /* every rank takes part in both gathers, whatever it found so far */
    if ((rc = h5ckpt__mpi(MPI_Allgather(&pid, (int)sizeof pid, MPI_BYTE,
                                        x->pids ? (void *)x->pids : (void *)&got,
                                        (int)sizeof pid, MPI_BYTE, x->node),
                          "MPI_Allgather", io->ctx->errmsg)) != 0 ||
        (rc = h5ckpt__mpi(MPI_Allgather(&mine, 1, MPI_UINT64_T,
                                        addrs ? (void *)addrs : (void *)&got, 1,
                                        MPI_UINT64_T, x->node),
                          "MPI_Allgather", io->ctx->errmsg)) != 0 ||
        (rc = probe(io, x, addrs, inbox, &ok, &rok)) != 0) {
        free(addrs);
        free((void *)inbox);
        return rc;
    }
    free(addrs);
    free((void *)inbox);
    ok = ok && x->nsize > 1;
    if ((rc = h5ckpt__mpi(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, io->ctx->comm),
                          "MPI_Allreduce", io->ctx->errmsg)) != 0)
        return rc;
    if (!all)
        return 0;
    du = (int)sizeof(uint64_t);
    if (MPI_Win_allocate_shared(x->nrank == 0 ? (MPI_Aint)sizeof(uint64_t) : 0, du,
                                MPI_INFO_NULL, x->node, &base, &x->win) != MPI_SUCCESS ||
        MPI_Win_shared_query(x->win, 0, &sz, &du, &base) != MPI_SUCCESS)
        ok = 0;
    x->counter = base;
    if ((rc = h5ckpt__mpi(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, io->ctx->comm),
                          "MPI_Allreduce", io->ctx->errmsg)) != 0)
        return rc;
    x->usable = all;
    rok = rok && all;
    if ((rc = h5ckpt__mpi(MPI_Allreduce(&rok, &x->can_read, 1, MPI_INT, MPI_LAND,
                                        io->ctx->comm),
                          "MPI_Allreduce", io->ctx->errmsg)) != 0)
        return rc;
    return 0;
}

/* ---- one flush ---------------------------------------------------------- */

const unsigned char *h5ckpt__exchange_mine(const h5ckpt__xplan *p)
{
    return p->mine;
}

void h5ckpt__exchange_done(h5ckpt__xplan *p)
{
    if (!p)
        return;
    free(p->mine);
    free(p->decls);
    free(p->first);
    free(p->units);
    free(p->gathered);
    free(p->stage);
    free(p);
}

/* Does this rank offer task t?  Runs counted from the boxes' geometry. */
static int eligible(const h5ckpt__task *t, int64_t base, int role)
{
    const h5ckpt_layout *l = &t->op->layout;
    size_t es = h5ckpt_dtype_size(t->op->dtype), k;
    uint64_t runs = 0;
    h5ckpt__boxruns b;

    if (base < 0 || t->nelems == 0 || role != 0 || t->op->strided ||
        h5ckpt__task_on_device(t) || l->ndim == 0)
        return 0;
    for (k = 0; k < t->nsel; k++) {
        h5ckpt__boxruns_init(&b, l->ndim, l->shape, t->sel + k * 2 * (size_t)l->ndim,
                     (uint64_t)base, es, 0);
        runs += b.nruns;
    }
    return runs >= MIN_RUNS && t->nelems * es / runs <= MAX_RUN;
}

/* Declarations: their count, then per declaration: task, buffer address,
 * nsel, then nsel * (2 * ndim + 1) words (each box, then its memoff). */
static int declare(h5ckpt__io *io, const h5ckpt__plan *plan, const int64_t *bases,
                   const int *role, int rc, h5ckpt__buf *b)
{
    size_t i, k;
    uint64_t n = 0;

    h5ckpt__buf_u64(b, 0); /* count, patched below */
    for (i = 0; rc == 0 && i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        int nd = t->op->layout.ndim;
        if (!eligible(t, bases[i], role ? role[i] : 0))
            continue;
        h5ckpt__buf_u64(b, i);
        h5ckpt__buf_u64(b, (uint64_t)(uintptr_t)t->op->data);
        h5ckpt__buf_u64(b, t->nsel);
        for (k = 0; k < t->nsel; k++) {
            h5ckpt__buf_bytes(b, t->sel + k * 2 * (size_t)nd, 2 * (size_t)nd * 8);
            h5ckpt__buf_u64(b, t->memoff[k]);
        }
        n++;
    }
    if (b->err)
        return H5CKPT_ENOMEM;
    memcpy(b->data, &n, sizeof n);
    return 0;
}

/* Parse every rank's declarations into p->decls grouped by task (ranks in
 * order within a task: they are placed in gathered order). */
static int parse(const h5ckpt__plan *plan, struct h5ckpt__xplan *p,
                 const int *counts, int nsize)
{
    size_t total = 0, i, w = 0, *fill = NULL;
    const uint64_t *g = p->gathered;
    int r;

    for (r = 0; r < nsize; r++)
        total += (size_t)g[w], w += (size_t)counts[r] / 8;
    if (!(p->decls = calloc(total + 1, sizeof *p->decls)) ||
        !(p->first = calloc(plan->ntasks + 1, sizeof *p->first)) ||
        !(fill = calloc(plan->ntasks + 1, sizeof *fill)))
        goto oom;
    /* pass 1: count per task; pass 2: place */
    for (int pass = 0; pass < 2; pass++) {
        w = 0;
        for (r = 0; r < nsize; r++) {
            size_t end = w + (size_t)counts[r] / 8, n = (size_t)g[w++], j;
            for (j = 0; j < n; j++) {
                size_t task = (size_t)g[w], nsel = (size_t)g[w + 2], nd;
                if (task >= plan->ntasks)
                    goto bad;
                nd = (size_t)plan->tasks[task].op->layout.ndim;
                if (w + 3 + nsel * (2 * nd + 1) > end)
                    goto bad;
                if (pass == 0) {
                    p->first[task + 1]++;
                } else {
                    decl *d = &p->decls[p->first[task] + fill[task]++];
                    d->rank = r;
                    d->addr = g[w + 1];
                    d->nsel = nsel;
                    d->sel = g + w + 3; /* boxes and memoffs: box_of() */
                }
                w += 3 + nsel * (2 * nd + 1);
            }
            w = end;
        }
        if (pass == 0)
            for (i = 0; i < plan->ntasks; i++)
                p->first[i + 1] += p->first[i];
    }
    free(fill);
    return 0;
bad:
    free(fill);
    return H5CKPT_ECORRUPT;
oom:
    free(fill);
    return H5CKPT_ENOMEM;
}

/* Box k of a declaration: 2*ndim words, then its memoff. */
static const uint64_t *box_of(const decl *d, int ndim, size_t k)
{
    return d->sel + k * (2 * (size_t)ndim + 1);
}

/*
 * Collective over io->ctx->comm (fast reader, after the replica plan): decide
 * which tasks go through the exchange.  `bases` gives each task's file
 * offset (-1: none), `role` the replica roles (may be NULL), `rc` this
 * rank's error so far (it then declares nothing but takes part).  On
 * return *out is NULL (no exchange this flush) or a plan whose mine[i]
 * marks the tasks this rank must not read itself.  Agreed.
 */
int h5ckpt__exchange_plan(h5ckpt__io *io, const h5ckpt__plan *plan,
                          const int64_t *bases, const int *role, int rc, int writing,
                          h5ckpt__xplan **out)
{
    struct h5ckpt__exchange *x;
    struct h5ckpt__xplan *p = NULL;
    h5ckpt__buf b = {0};
    int len, r, e;
    size_t i, nunits = 0;
    uint64_t unitb = h5ckpt__knobs_get()->exchange_unit ? h5ckpt__knobs_get()->exchange_unit
                     : writing ? WUNIT : UNIT;
    long long tot = 0;

    *out = NULL;
    if (!io->exchange && (rc = h5ckpt__agree(io->ctx->comm, setup(io), io->ctx->errmsg)) != 0)
        return rc;
    x = io->exchange;
    if (!x->usable || (writing && !x->can_read)) /* agreed in setup() */
        return 0;
    if (x->nrank == 0) /* nobody claims before the gathers below */
        __atomic_store_n(x->counter, 0, __ATOMIC_SEQ_CST);
    if (!(p = calloc(1, sizeof *p)))
        rc = rc ? rc : h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    else
        p->writing = writing;
    if (declare(io, plan, bases, role, rc, &b) != 0)
        rc = rc ? rc : h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    /* a rank that failed sends -1: every rank then gives up below */
    len = rc || b.err || b.len > INT_MAX ? -1 : (int)b.len;
    if ((e = h5ckpt__mpi(MPI_Allgather(&len, 1, MPI_INT, x->counts, 1, MPI_INT, x->node),
                         "MPI_Allgather", io->ctx->errmsg)) != 0)
        rc = e;
    for (r = 0; rc == 0 && r < x->nsize; r++) {
        if (x->counts[r] < 8 || x->counts[r] % 8 || tot > INT_MAX - x->counts[r]) {
            tot = -1;
            break;
        }
        x->displs[r] = (int)tot;
        tot += x->counts[r];
    }
    /* a rank that failed before (rc was not 0 on entry, or no memory) is
     * reported by the transfer's agreement: the exchange is just skipped */
    if (rc == 0 && tot >= 0 && !(p->gathered = malloc((size_t)tot + 8)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((e = h5ckpt__mpi(MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_LONG_LONG, MPI_MIN,
                                       x->node),
                         "MPI_Allreduce", io->ctx->errmsg)) != 0)
        rc = e;
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0 || tot < 0)
        goto fail;
    rc = h5ckpt__mpi(MPI_Allgatherv(b.data, len, MPI_BYTE, p->gathered, x->counts,
                                    x->displs, MPI_BYTE, x->node),
                     "MPI_Allgatherv", io->ctx->errmsg);
    if (rc == 0 && (rc = parse(plan, p, x->counts, x->nsize)) != 0)
        h5ckpt__set(io->ctx, rc, rc == H5CKPT_ENOMEM ? "out of memory"
                                                : "bad exchange declarations");
    /* units: identical on every rank of the node */
    if (rc == 0 && !(p->mine = calloc(plan->ntasks + 1, 1)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        nunits = 0;
        for (i = 0; i < plan->ntasks; i++) {
            const h5ckpt__task *t = &plan->tasks[i];
            int nd = t->op->layout.ndim;
            uint64_t es = h5ckpt_dtype_size(t->op->dtype), lo = UINT64_MAX, hi = 0,
                     want = 0, pos;
            size_t j, k;
            if (p->first[i + 1] == p->first[i])
                continue;
            for (j = p->first[i]; j < p->first[i + 1]; j++)
                for (k = 0; k < p->decls[j].nsel; k++) {
                    h5ckpt__boxruns br;
                    h5ckpt__boxruns_init(&br, nd, t->op->layout.shape, box_of(&p->decls[j], nd, k),
                                 (uint64_t)bases[i], es, 0);
                    if (br.nruns == 0 || br.runbytes == 0)
                        continue;
                    if (h5ckpt__boxruns_foff(&br, 0) < lo)
                        lo = h5ckpt__boxruns_foff(&br, 0);
                    if (h5ckpt__boxruns_foff(&br, br.nruns - 1) + br.runbytes > hi)
                        hi = h5ckpt__boxruns_foff(&br, br.nruns - 1) + br.runbytes;
                    want += br.nruns * br.runbytes;
                }
            /* reads: not mostly unwanted bytes; writes: every byte, or the
             * unit would write bytes nobody gave */
            if (hi <= lo || (writing ? want != hi - lo : want < (hi - lo) / 4 * 3))
                continue;
            if (pass == 1)
                for (j = p->first[i]; j < p->first[i + 1]; j++)
                    if (p->decls[j].rank == x->nrank)
                        p->mine[i] = 1;
            for (pos = lo; pos < hi; nunits++) {
                /* a write unit ends at the alignment of direct writes */
                uint64_t end = hi - pos > unitb ? pos + unitb : hi;
                if (writing && end < hi && end / WALIGN * WALIGN > pos)
                    end = end / WALIGN * WALIGN;
                if (pass == 1) {
                    p->units[nunits].task = i;
                    p->units[nunits].lo = pos;
                    p->units[nunits].hi = end;
                }
                pos = end;
            }
        }
        if (pass == 0 && nunits && !(p->units = calloc(nunits, sizeof *p->units)))
            rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    }
    p->nunits = nunits;
    if (rc == 0 && nunits && !(p->stage = malloc((size_t)unitb)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) != 0)
        goto fail;
    h5ckpt__buf_free(&b);
    if (nunits == 0) { /* identical on the node */
        h5ckpt__exchange_done(p);
        return 0;
    }
    *out = p;
    return 0;
fail:
    h5ckpt__buf_free(&b);
    h5ckpt__exchange_done(p);
    return rc;
}

/* Pending copies to one other rank. */
typedef struct {
    struct iovec l[BATCH], r[BATCH];
    int nl, nr;
    uint64_t bytes;
} batch;

/* Reads: the stage's pieces (l) into rank's buffer (r); writes: rank's
 * buffer (r) into the stage's pieces (l). */
static int batch_flush(h5ckpt__io *io, pid_t pid, int rank, batch *bt, const char *path,
                       int writing)
{
    ssize_t k;

    if (!bt->nl)
        return 0;
    k = writing ? copy_from(pid, bt->l, (unsigned long)bt->nl, bt->r, (unsigned long)bt->nr)
                : copy_to(pid, bt->l, (unsigned long)bt->nl, bt->r, (unsigned long)bt->nr);
    if (k != (ssize_t)bt->bytes)
        return h5ckpt__set(io->ctx, H5CKPT_EIO,
                           writing ? "cannot copy '%s' from the buffer of rank %d of "
                                     "this node: %s"
                                   : "cannot copy '%s' into the buffer of rank %d of "
                                     "this node: %s",
                           path, rank, k < 0 ? strerror(errno) : "short copy");
    bt->nl = bt->nr = 0;
    bt->bytes = 0;
    return 0;
}

static int batch_add(h5ckpt__io *io, pid_t pid, int rank, batch *bt, const char *path,
                     unsigned char *src, uint64_t dst, uint64_t len, int writing)
{
    int rc;

    if ((bt->nl == BATCH || bt->nr == BATCH) &&
        (rc = batch_flush(io, pid, rank, bt, path, writing)) != 0)
        return rc;
    bt->l[bt->nl].iov_base = src;
    bt->l[bt->nl++].iov_len = len;
    if (bt->nr && (uint64_t)(uintptr_t)bt->r[bt->nr - 1].iov_base +
                          bt->r[bt->nr - 1].iov_len == dst)
        bt->r[bt->nr - 1].iov_len += len;
    else {
        bt->r[bt->nr].iov_base = (void *)(uintptr_t)dst;
        bt->r[bt->nr++].iov_len = len;
    }
    bt->bytes += len;
    return 0;
}

/* Read unit u and hand its bytes to every declaration that wants them;
 * writing: gather them from every declaration and write the unit. */
static int do_unit(h5ckpt__io *io, const h5ckpt__plan *plan, struct h5ckpt__xplan *p,
                   const unit *u, int64_t base, h5ckpt__rawio *raw, batch *bt)
{
    struct h5ckpt__exchange *x = io->exchange;
    const h5ckpt__task *t = &plan->tasks[u->task];
    int nd = t->op->layout.ndim, rc, fd = raw->fd, w = p->writing;
    uint64_t es = h5ckpt_dtype_size(t->op->dtype), done = w ? u->hi - u->lo : 0;
    size_t j, k;

    while (done < u->hi - u->lo) {
        ssize_t n = pread(fd, p->stage + done, (size_t)(u->hi - u->lo - done),
                          (off_t)(u->lo + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return h5ckpt__set(io->ctx, H5CKPT_EIO, "raw read of '%s' failed: %s",
                               io->file->path, strerror(n < 0 ? errno : EIO)); /* 0: short file */
        done += (uint64_t)n;
    }
    for (j = p->first[u->task]; j < p->first[u->task + 1]; j++) {
        const decl *d = &p->decls[j];
        for (k = 0; k < d->nsel; k++) {
            const uint64_t *box = box_of(d, nd, k);
            h5ckpt__boxruns br;
            uint64_t i;
            h5ckpt__boxruns_init(&br, nd, t->op->layout.shape, box, (uint64_t)base, es,
                         box[2 * nd] * es);
            for (i = h5ckpt__boxruns_seek(&br, u->lo); i < br.nruns; i++) {
                uint64_t f = h5ckpt__boxruns_foff(&br, i), a, e;
                if (f >= u->hi)
                    break;
                a = f > u->lo ? f : u->lo;
                e = f + br.runbytes < u->hi ? f + br.runbytes : u->hi;
                if (d->rank == x->nrank && w)
                    memcpy(p->stage + (a - u->lo),
                           (const unsigned char *)(uintptr_t)d->addr + br.moff0 +
                               i * br.runbytes + (a - f),
                           (size_t)(e - a));
                else if (d->rank == x->nrank)
                    memcpy((unsigned char *)(uintptr_t)d->addr + br.moff0 +
                               i * br.runbytes + (a - f),
                           p->stage + (a - u->lo), (size_t)(e - a));
                else if ((rc = batch_add(io, x->pids[d->rank], d->rank, &bt[d->rank],
                                         t->op->path, p->stage + (a - u->lo),
                                         d->addr + br.moff0 + i * br.runbytes + (a - f),
                                         e - a, w)) != 0)
                    return rc;
            }
        }
    }
    /* reads: the stage is reused by the next unit; writes: it is full */
    for (j = 0; j < (size_t)x->nsize; j++)
        if ((int)j != x->nrank &&
            (rc = batch_flush(io, x->pids[j], (int)j, &bt[j], t->op->path, w)) != 0)
            return rc;
    if (w && h5ckpt__rawio_move(raw, u->lo, p->stage, u->hi - u->lo) != 0)
        return h5ckpt__set(io->ctx, H5CKPT_EIO, "raw write of '%s' failed: %s",
                           io->file->tmp_path, strerror(raw->err));
    return 0;
}

/*
 * Local (between exchange_plan and the transfer's agreement): claim units
 * until none is left and deliver them.  `rc` is this rank's error so far:
 * a failing rank claims nothing more.  Adds this rank's exchanged tasks to
 * bytes_read (bytes_written).  Returns 0 or an error (message on the handle).
 */
int h5ckpt__exchange_run(h5ckpt__io *io, const h5ckpt__plan *plan,
                         h5ckpt__xplan *p, const int64_t *bases, h5ckpt__rawio *raw,
                         int rc)
{
    struct h5ckpt__exchange *x = io->exchange;
    batch *bt = NULL;
    size_t i;

    if (!p)
        return rc;
    if (rc == 0 && !(bt = calloc((size_t)x->nsize, sizeof *bt)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    while (rc == 0) {
        uint64_t u = __atomic_fetch_add(x->counter, 1, __ATOMIC_RELAXED);
        if (u >= p->nunits)
            break;
        rc = do_unit(io, plan, p, &p->units[u], bases[p->units[u].task], raw, bt);
        io->exchange_units += rc == 0;
    }
    free(bt);
    for (i = 0; rc == 0 && i < plan->ntasks; i++)
        if (p->mine[i]) {
            uint64_t n = plan->tasks[i].nelems * h5ckpt_dtype_size(plan->tasks[i].op->dtype);
            if (p->writing)
                io->bytes_written += n;
            else
                io->bytes_read += n;
        }
    return rc;
}
