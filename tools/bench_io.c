/*
 * The POSIX side of `h5ckpt bench` (see bench.h): the two file ceilings and
 * the page state every timed phase starts from.
 *
 * Ceilings.  Each rank moves the same bytes as through h5ckpt, from (or
 * into) its own tensor buffers in order, with pwrite/pread of at most 1 GiB:
 *  - one file: rank r at the sum of the lower ranks' bytes of one scratch
 *    file (what one collective file costs at the POSIX level);
 *  - a file per rank: each rank its own file from offset 0 (what PyTorch
 *    DCP's FileSystemWriter does, and what a user could do instead).
 * On a local file system buffered writes into one file take its inode lock
 * one write at a time, so the two can differ by the number of ranks.
 *
 * Page state.  Where memory is handed back to a hypervisor (free page
 * reporting), a write into fresh page-cache pages costs far more right
 * after the guest got them back than right after another file freed them
 * (10x on the development VM).  So every timed phase starts from the same
 * state, chosen with --pages:
 *  - warm: before a write, each rank writes a scratch file of its share of
 *    the state, and all delete them together right before the phase (the
 *    deleted files' pages go back to the free lists, still backed: on the
 *    development VM for only 0.1-0.5 s, so warm is a race the phase partly
 *    loses); before a read, each rank reads its slice of the files to be
 *    read (they are in the page cache);
 *  - cold: before a read, the files are flushed and evicted from the page
 *    cache (posix_fadvise DONTNEED); before a read or a write, each rank
 *    then waits until the kernel has stopped handing freed pages back to
 *    the hypervisor (page_reporting's reported_kib unchanged for 3 s), at
 *    most `settle` seconds.  Without page reporting nothing waits.
 * Every phase also starts after sync() and a barrier, so that it does not
 * pay for the previous phase's dirty pages.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPORTED "/sys/module/page_reporting/parameters/reported_kib"
#define CHUNK ((size_t)1 << 30)

/* Collective: 1 on every rank when `bad` is true on any. */
static int any(int bad)
{
    int all = 0;

    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return all;
}

static int fail(char *msg, const char *what, const char *path)
{
    if (!*msg)
        snprintf(msg, 512, "%s '%.300s': %s", what, path, strerror(errno));
    return 1;
}

/* Agreed result: 0, or -1 on every rank with a message (this rank's, or
 * "... on another rank"). */
static int agree(int bad, char *msg)
{
    if (!any(bad))
        return 0;
    if (!*msg)
        snprintf(msg, 512, "ceiling or page-state preparation failed on another rank");
    return -1;
}

void bench_ceiling_path(int kind, const char *file, char *out, size_t size)
{
    if (kind == BENCH_FILE_PER_RANK)
        snprintf(out, size, "%s.ceiling-rank-%d", file, cli_rank);
    else
        snprintf(out, size, "%s.ceiling-one", file);
}

/* pwrite (or pread) the first `bytes` of the buffers in order at `base`. */
static int posix_io(int fd, int writing, const bench_bufs *b, uint64_t bytes,
                    uint64_t base)
{
    size_t i;

    for (i = 0; bytes && i < b->n; i++) {
        uint64_t have = b->bytes[i] < bytes ? b->bytes[i] : bytes, done = 0;
        while (done < have) {
            size_t n = have - done > CHUNK ? CHUNK : (size_t)(have - done);
            char *p = (char *)b->bufs[i] + done;
            ssize_t k = writing ? pwrite(fd, p, n, (off_t)(base + done))
                                : pread(fd, p, n, (off_t)(base + done));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                if (k == 0)
                    errno = EIO; /* short file */
                return -1;
            }
            done += (uint64_t)k;
        }
        base += have;
        bytes -= have;
    }
    return 0;
}

/* This rank's offset in the one-file ceiling. */
static uint64_t one_file_base(uint64_t bytes)
{
    uint64_t base = 0;

    MPI_Exscan(&bytes, &base, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return cli_rank == 0 ? 0 : base;
}

/* Open this rank's descriptor of ceiling `kind`: the one file is created
 * (truncated) by rank 0 first when `create`.  Collective. */
static int ceiling_open(int kind, const char *file, int create, int *fd, char *msg)
{
    char path[4096];
    int bad = 0;

    bench_ceiling_path(kind, file, path, sizeof path);
    *fd = -1;
    if (create && (kind == BENCH_FILE_PER_RANK || cli_rank == 0) &&
        (*fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0)
        bad = fail(msg, "cannot create ceiling file", path);
    if (agree(bad, msg) != 0)
        return -1;
    if (*fd < 0 && (*fd = open(path, O_RDWR)) < 0)
        bad = fail(msg, "cannot open ceiling file", path);
    if (agree(bad, msg) != 0)
        return -1;
    return 0;
}

int bench_ceiling_fill(int kind, const char *file, const bench_bufs *b,
                       uint64_t bytes, char *msg)
{
    uint64_t base = kind == BENCH_ONE_FILE ? one_file_base(bytes) : 0;
    char path[4096];
    int fd, bad = 0;

    bench_ceiling_path(kind, file, path, sizeof path);
    if (ceiling_open(kind, file, 1, &fd, msg) != 0)
        return -1;
    if (posix_io(fd, 1, b, bytes, base) != 0)
        bad = fail(msg, "cannot write ceiling file", path);
    if (close(fd) != 0)
        bad |= fail(msg, "cannot close ceiling file", path);
    return agree(bad, msg);
}

int bench_ceiling_time(int kind, const char *file, int writing, int fsync_on,
                       const bench_bufs *b, uint64_t bytes, double *secs, char *msg)
{
    uint64_t base = kind == BENCH_ONE_FILE ? one_file_base(bytes) : 0;
    char path[4096];
    double t0;
    int fd, bad = 0;

    bench_ceiling_path(kind, file, path, sizeof path);
    if (ceiling_open(kind, file, writing, &fd, msg) != 0)
        return -1;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    if (posix_io(fd, writing, b, bytes, base) != 0)
        bad = fail(msg, writing ? "cannot write ceiling file" : "cannot read ceiling file",
                   path);
    else if (writing && fsync_on && fsync(fd) != 0)
        bad = fail(msg, "cannot fsync ceiling file", path);
    if (close(fd) != 0)
        bad |= fail(msg, "cannot close ceiling file", path);
    MPI_Barrier(MPI_COMM_WORLD);
    *secs = MPI_Wtime() - t0;
    return agree(bad, msg);
}

void bench_ceiling_remove(int kind, const char *file)
{
    char path[4096];

    bench_ceiling_path(kind, file, path, sizeof path);
    if (kind == BENCH_FILE_PER_RANK || cli_rank == 0)
        unlink(path);
    MPI_Barrier(MPI_COMM_WORLD);
}

static int reported_kib(unsigned long long *out)
{
    FILE *f = fopen(REPORTED, "r");
    int ok = f && fscanf(f, "%llu", out) == 1;

    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

/* Local: wait until reported_kib has not changed for 3 s, at most `settle`
 * seconds; the seconds waited (0 without page reporting). */
static double settle_local(double settle)
{
    const struct timespec nap = {0, 250000000};
    unsigned long long last, v;
    double t0 = MPI_Wtime(), same_since = t0;

    if (settle <= 0 || reported_kib(&last) != 0)
        return 0;
    while (MPI_Wtime() - t0 < settle && MPI_Wtime() - same_since < 3.0) {
        nanosleep(&nap, NULL);
        if (reported_kib(&v) != 0)
            break;
        if (v != last) {
            last = v;
            same_since = MPI_Wtime();
        }
    }
    return MPI_Wtime() - t0;
}

/* Collective: sync, then the cold wait; *waited is the longest wait. */
static void settle_all(int pages, double settle, double *waited)
{
    double mine = 0;

    if (cli_rank == 0)
        sync();
    MPI_Barrier(MPI_COMM_WORLD);
    if (pages == BENCH_PAGES_COLD)
        mine = settle_local(settle);
    MPI_Allreduce(&mine, waited, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
}

int bench_pages_before_write(int pages, const char *file, uint64_t bytes,
                             double settle, double *waited, char *msg)
{
    static char scratch[1 << 20]; /* static: not in the RSS of a reader */
    const size_t sz = sizeof scratch;
    char path[4096];
    uint64_t done = 0;
    int fd = -1, bad = 0;

    settle_all(pages, settle, waited);
    if (pages != BENCH_PAGES_WARM)
        return 0;
    snprintf(path, sizeof path, "%s.warm-%d", file, cli_rank);
    memset(scratch, 0x5A, sz);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        bad = fail(msg, "cannot create warming file", path);
    while (!bad && done < bytes) {
        size_t n = bytes - done > sz ? sz : (size_t)(bytes - done);
        ssize_t k = pwrite(fd, scratch, n, (off_t)done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            bad = fail(msg, "cannot write warming file", path);
        else
            done += (uint64_t)k;
    }
    /* Deleted dirty, its pages are dropped, never written back; the VM
     * takes freed pages back within a fraction of a second, so every rank
     * deletes its file only once all are written, right before the phase. */
    bad = agree(bad, msg);
    if (fd >= 0) {
        unlink(path);
        close(fd);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return bad;
}

int bench_pages_before_read(int pages, const char *path, int whole, double settle,
                            double *waited, char *msg)
{
    static char buf[1 << 20];
    off_t size, from = 0, to;
    int fd, bad = 0;

    if ((fd = open(path, O_RDONLY)) < 0 || (size = lseek(fd, 0, SEEK_END)) < 0)
        bad = fail(msg, "cannot open", path);
    else if (pages == BENCH_PAGES_COLD &&
             (fdatasync(fd) != 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0))
        bad = fail(msg, "cannot evict", path);
    if (!bad && pages == BENCH_PAGES_WARM) {
        to = size;
        if (!whole) { /* this rank's slice of a file every rank reads */
            from = size / cli_size * cli_rank;
            to = cli_rank == cli_size - 1 ? size : size / cli_size * (cli_rank + 1);
        }
        while (!bad && from < to) {
            ssize_t k = pread(fd, buf, to - from < (off_t)sizeof buf ? (size_t)(to - from)
                                                                    : sizeof buf, from);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                bad = fail(msg, "cannot read", path);
            else
                from += k;
        }
    }
    if (fd >= 0)
        close(fd);
    if (agree(bad, msg) != 0)
        return -1;
    settle_all(pages, settle, waited);
    return 0;
}
