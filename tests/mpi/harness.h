/*
 * Shared harness for MPI tests (one main() in harness.c).
 *
 * Check runs in no-fork mode.  Every assertion is collective: the condition is
 * reduced over all ranks first, so all ranks fail together and one failing
 * rank can never leave the others waiting in a collective call.  Only rank 0
 * prints the Check report; the exit status is the failure count reduced over
 * ranks.
 */
#ifndef H5CKPT_TEST_HARNESS_H
#define H5CKPT_TEST_HARNESS_H

#include <check.h>
#include <mpi.h>
#include <stdio.h>

#include "h5ckpt.h"

extern int T_rank, T_size;
/* The MPI thread level main() asks for: MPI_THREAD_SINGLE (plain MPI_Init)
 * unless the test file defines its own, e.g.
 *     int t_thread_level = MPI_THREAD_FUNNELED;
 * (asynchronous commits need it: lib/h5ckpt.h). */
extern int t_thread_level;

/* Each test file defines the suite it contributes. */
Suite *test_suite(void);

/* A scratch directory shared by all ranks for this process run. */
const char *t_dir(void);
/* "<t_dir>/<name>" in a static rotating buffer (8 slots). */
const char *t_path(const char *name);
/* Copy a file byte for byte (local; the caller checks the copy's use). */
void t_copy_file(const char *from, const char *to);

/* Collective assertion: fails on every rank if `cond` is false on any. */
#define T_ALL(cond, ...)                                                      \
    do {                                                                      \
        int t_ok_ = !!(cond), t_all_ = 0;                                     \
        MPI_Allreduce(&t_ok_, &t_all_, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD); \
        if (!t_all_) {                                                        \
            if (!t_ok_) {                                                     \
                fprintf(stderr, "[rank %d] %s:%d: ", T_rank, __FILE__,        \
                        __LINE__);                                            \
                fprintf(stderr, __VA_ARGS__);                                 \
                fprintf(stderr, "\n");                                        \
            }                                                                 \
            ck_abort_msg("collective check failed: %s", #cond);               \
        }                                                                     \
    } while (0)

/* Collective: `expr` (an h5ckpt call on handle `ck`) returns 0 on all ranks;
 * otherwise print the handle's message. */
#define T_PASS(ck, expr)                                                      \
    do {                                                                      \
        int t_rc_ = (expr);                                                   \
        T_ALL(t_rc_ == 0, "%s -> %s: %s", #expr, h5ckpt_errname(t_rc_),       \
              (ck) ? h5ckpt_errmsg(ck) : "");                                 \
    } while (0)

/* Collective: `expr` returns exactly `code` on all ranks. */
#define T_CODE(code, expr)                                                    \
    do {                                                                      \
        int t_rc_ = (expr);                                                   \
        T_ALL(t_rc_ == (code), "%s -> %s, expected %s", #expr,                \
              h5ckpt_errname(t_rc_), h5ckpt_errname(code));                   \
    } while (0)

#endif
