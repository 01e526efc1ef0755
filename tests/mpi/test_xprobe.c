/*
 * The fast reader's exchange probes the call its copies make (issue 13,
 * item 5).  Every rank installs a seccomp filter that refuses
 * process_vm_writev with EPERM and allows everything else, process_vm_readv
 * included (as a container's seccomp profile may); Shard(1) reads must then
 * fall back to per-run reads and return the stored values, not H5CKPT_EIO.
 * A filter cannot be removed, so this suite is a binary of its own.
 * Where seccomp filters cannot be installed it prints "skipped: ..." and
 * exits 77 on every rank.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "handle/handle.h"
#include "values.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#define NT 2

static const h5ckpt_options fast = {.executor = H5CKPT_EXECUTOR_FAST};

/* At least 16 rows each, so every rank's Shard(1) part is fragmented
 * enough for the exchange. */
static void make_state(tensor *t)
{
    static const uint64_t s0[2] = {48, 37}, s1[2] = {64, 9};

    tensor_init(&t[0], H5CKPT_FLOAT32, 21, 2, s0, "p/a");
    tensor_init(&t[1], H5CKPT_INT64, 22, 2, s1, "p/b");
}

/* Local: refuse process_vm_writev (EPERM) in every thread of this process.
 * Returns "" or why it could not. */
static const char *refuse_writev(void)
{
#ifdef NATIVE_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_writev, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    static char why[200];

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                &prog) != 0) {
        snprintf(why, sizeof why, "cannot install a seccomp filter: %s",
                 strerror(errno));
        return why;
    }
    return "";
#else
    return "no seccomp filter for this architecture in the test";
#endif
}

/* Collective: install the filter on every rank, or skip on every rank. */
static void refuse_writev_or_skip(void)
{
    const char *why = refuse_writev();
    char first[200] = "";
    int ok = !*why, all = 0, low;

    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (all)
        return;
    low = ok ? T_size : T_rank;
    MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (T_rank == low)
        snprintf(first, sizeof first, "%s", why);
    MPI_Bcast(first, sizeof first, MPI_CHAR, low, MPI_COMM_WORLD);
    if (T_rank == 0) {
        printf("skipped: %s\n", first);
        fflush(stdout);
        rmdir(t_dir()); /* harness.c made it; nothing is in it yet */
    }
    MPI_Finalize();
    exit(77);
}

START_TEST(shard1_reads_fall_back_where_only_process_vm_writev_is_refused)
{
    const char *path = t_path("xprobe.h5");
    h5ckpt_mesh *m = world_mesh();
    uint64_t word = 0, units = 0, mine, bad = 0;
    struct iovec l = {&mine, sizeof mine}, r = {&word, sizeof word};
    h5ckpt *ck = NULL;
    tensor t[NT];
    int i, p0 = H5CKPT_SHARD(0), p1 = H5CKPT_SHARD(1);
    ssize_t wr, rd;

    /* written Shard(0) before the filter (writers never use the exchange) */
    make_state(t);
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p0, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(NULL, h5ckpt_close(ck));
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);

    /* the filter refuses the write, not the read (on this process) */
    mine = 42;
    wr = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
    T_ALL(wr == -1 && errno == EPERM, "process_vm_writev returned %zd (%s)", wr,
          strerror(errno));
    rd = process_vm_readv(getpid(), &r, 1, &l, 1, 0);
    T_ALL(rd == (ssize_t)sizeof mine, "process_vm_readv returned %zd (%s)", rd,
          strerror(errno));

    make_state(t);
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, &fast, NULL));
    for (i = 0; i < NT; i++) {
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, t[i].ndim, t[i].shape, &p1, NULL));
        T_PASS(ck, tensor_get(ck, &t[i]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (i = 0; i < NT; i++)
        bad += tensor_bad(&t[i]);
    T_CHECK(bad);
    mine = ck->io.exchange_units;
    T_PASS(NULL, h5ckpt_close(ck));
    MPI_Allreduce(&mine, &units, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    T_ALL(units == 0, "the exchange delivered %llu units through a refused call",
          (unsigned long long)units);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("xprobe");
    TCase *tc = tcase_create("exchange probe");

    refuse_writev_or_skip();
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, shard1_reads_fall_back_where_only_process_vm_writev_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
