/*
 * lib/base — the bottom layer: error codes and messages, agreement of
 * outcomes across ranks, checked MPI calls, names, byte buffers, string
 * maps, hashing, clocks and the private test knobs.
 *
 * May include: the public header (h5ckpt.h), MPI, HDF5 (its error stack
 * only), xxhash, libc.  Nothing of the library above it.
 */
#ifndef H5CKPT_BASE_H
#define H5CKPT_BASE_H

#include <hdf5.h>
#include <stdarg.h>

#include "h5ckpt.h"

/* One-line messages, everywhere (the size of h5ckpt_error.message). */
#define H5CKPT_MSG_MAX 512
/* Sanity limits on numbers read from files (never allocate by an unchecked
 * number) and on names. */
#define H5CKPT_MAX_ATTR_ELEMS (1u << 20)
#define H5CKPT_MAX_NAME 4096
/* Longest string value of an attribute, in bytes (format limit). */
#define H5CKPT_MAX_STRING (1u << 20)
/* Names starting with this are the format's own (format-spec/FORMAT.md). */
#define H5CKPT_RESERVED_PREFIX "h5ckpt_"

/* ---- errors and messages (error.c) --------------------------------------- */

/* What every collective part of the library works on: its own duplicate of
 * the caller's communicator (errors returned, never fatal: see
 * h5ckpt__comm_dup), this rank's place in it, and the last message. */
typedef struct h5ckpt__ctx {
    MPI_Comm comm;
    int rank, size;
    char errmsg[H5CKPT_MSG_MAX];
} h5ckpt__ctx;

/* Format a one-line message into `buf` (H5CKPT_MSG_MAX; may be NULL) and
 * return `code`. */
int h5ckpt__fail(char *buf, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same into ctx->errmsg. */
int h5ckpt__set(h5ckpt__ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fill `err` (may be NULL) with `code` and a formatted one-line message;
 * returns `code`. */
int h5ckpt__error(h5ckpt_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fill an h5ckpt_error (may be NULL) with `code` and `msg`. */
void h5ckpt__seterror(h5ckpt_error *err, int code, const char *msg);
/* Append the innermost HDF5 error description to `buf` (after ": "). */
void h5ckpt__append_h5err(char *buf);
/*
 * Collective: agree on the outcome.  If any rank has rc != 0, every rank
 * returns the code of the lowest such rank and receives its message in `msg`.
 * An MPI failure of the agreement itself is H5CKPT_EMPI.
 */
int h5ckpt__agree(MPI_Comm comm, int rc, char *msg);

/*
 * The one MPI error policy (lib/README.md): every communicator the library
 * makes is a duplicate with MPI_ERRORS_RETURN, and every MPI call's return
 * goes through h5ckpt__mpi(), which turns a failure into H5CKPT_EMPI with
 * the call's name and MPI's message; the caller then agrees on it like any
 * other failure.
 */
int h5ckpt__mpi(int mpi_rc, const char *call, char *msg);
/* Collective: duplicate `comm` into *out with MPI_ERRORS_RETURN.  Returns
 * 0 or H5CKPT_EMPI (*out is MPI_COMM_NULL then). */
int h5ckpt__comm_dup(MPI_Comm comm, MPI_Comm *out, char *msg);
/* Collective: MPI_Comm_split(_type) into *out with MPI_ERRORS_RETURN;
 * `type` MPI_UNDEFINED splits by `color`, else by that split type. */
int h5ckpt__comm_split(MPI_Comm comm, int type, int color, int key,
                       MPI_Comm *out, char *msg);
/* Free a communicator the library made (accepts MPI_COMM_NULL). */
void h5ckpt__comm_free(MPI_Comm *comm);
/* `n` as an MPI count: 0, or H5CKPT_EINVAL naming `what` when it exceeds
 * INT_MAX. */
int h5ckpt__mpi_count(size_t n, int *out, const char *what, char *msg);

/*
 * Collective: one MPI_Alltoallv of uint64 words, `sc[r]` of them from
 * `send` to rank r, `sd` their displacements (filled here); *out receives
 * the words (malloc'd; the caller frees it; NULL after a failure),
 * `rcnt`/`rd` the counts and displacements per source (arrays of
 * ctx->size).  `rc` is this rank's error so far (it still takes part, and
 * the exchange is skipped by all).  Agreed.  The library spreads work over
 * home ranks with it: item j is handled by rank j mod P (io/plan.c,
 * io/replica.c, io/sums.c), so no rank holds every rank's data.
 */
int h5ckpt__alltoallv_u64(h5ckpt__ctx *ctx, int rc, const uint64_t *send, int *sc,
                          int *sd, int *rcnt, int *rd, uint64_t **out);

/* Collective: a barrier that waits asleep (non-blocking barrier polled
 * every 0.1 ms), for ranks that wait on one rank's serial work: spinning in
 * the MPI call that follows would take CPU from it where ranks share cores.
 * Returns `rc` when it is not 0 (the barrier is still made), else 0 or
 * H5CKPT_EMPI (message in `msg`). */
int h5ckpt__wait_asleep(MPI_Comm comm, int rc, char *msg);

/* Silence the HDF5 error stack printer for the duration of a library call. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} h5ckpt__h5quiet;
void h5ckpt__h5quiet_begin(h5ckpt__h5quiet *q);
void h5ckpt__h5quiet_end(const h5ckpt__h5quiet *q);

/* ---- names (name.c) ------------------------------------------------------ */

/*
 * Validate a tensor or group path: components separated by single '/', no
 * leading or trailing '/', no empty, "." or ".." component, no control
 * characters, at most H5CKPT_MAX_NAME bytes.  `allow_root` accepts "" (the
 * root group).  Returns 0 or H5CKPT_ENAME with a message in `msg`.
 */
int h5ckpt__check_path(const char *path, int allow_root, char *msg);
/* Validate an attribute name: non-empty, no '/', no control characters, not
 * starting with the reserved prefix unless `reserved_ok`. */
int h5ckpt__check_attr_name(const char *name, int reserved_ok, char *msg);

/* ---- string map, byte buffer, hashing, clock (util.c) -------------------- */

typedef struct {
    char **keys;
    int *vals;
    size_t cap, len;
} h5ckpt__strmap;

/* Returns the value stored for key, or -1 when absent. */
int h5ckpt__strmap_get(const h5ckpt__strmap *m, const char *key);
/* Insert or overwrite.  Returns 0 or H5CKPT_ENOMEM. */
int h5ckpt__strmap_put(h5ckpt__strmap *m, const char *key, int val);
void h5ckpt__strmap_free(h5ckpt__strmap *m);

typedef struct {
    unsigned char *data;
    size_t len, cap, pos;
    int err; /* sticky: ENOMEM on write, ECORRUPT on short read */
} h5ckpt__buf;

void h5ckpt__buf_u64(h5ckpt__buf *b, uint64_t v);
void h5ckpt__buf_bytes(h5ckpt__buf *b, const void *p, size_t n);
void h5ckpt__buf_str(h5ckpt__buf *b, const char *s);
uint64_t h5ckpt__buf_get_u64(h5ckpt__buf *b);
/* Returns a pointer into the buffer (NUL-terminated) or NULL. */
const char *h5ckpt__buf_get_str(h5ckpt__buf *b);
const void *h5ckpt__buf_get_bytes(h5ckpt__buf *b, size_t n);
void h5ckpt__buf_free(h5ckpt__buf *b);
/* Collective: broadcast a buffer from `root`.  Returns 0, H5CKPT_ENOMEM or
 * H5CKPT_EMPI (not agreed). */
int h5ckpt__buf_bcast(h5ckpt__buf *b, int root, MPI_Comm comm);

/* XXH3-64 of `n` bytes. */
uint64_t h5ckpt__hash(const void *p, size_t n);
char *h5ckpt__strdup(const char *s);
/* CLOCK_REALTIME in nanoseconds. */
int64_t h5ckpt__now_ns(void);

/* ---- test knobs (knobs.c) ------------------------------------------------- */

/*
 * Switches and sizes that tests and benchmarks change, and nothing else:
 * one private struct behind a setter, read-only to the library.  Defaults
 * are the production behaviour.  Set them only while no handle is open.
 */
typedef struct {
    int checksums_off;      /* writers skip checksums (benchmarks) */
    size_t slice_bytes;     /* largest slice a dataset box is hashed by
                               (0: 16 MiB) */
    uint64_t exchange_unit; /* bytes of file per exchange unit (0: 1 MiB) */
    int replica_off;        /* no device replica groups */
    int plain_collective_reads; /* the plain executor reads collectively, as
                               before issue 13 (wrong data with OMPIO when
                               selections overlap; benchmarks only) */
    /* raw writes (lib/io/rawio.c) of this process fail with this errno
     * (ENOSPC, EIO) once a writer has written write_fail_after bytes
     * through one descriptor; 0: never (failure tests) */
    int write_fail_errno;
    uint64_t write_fail_after;
    /* the background writer of an asynchronous commit sleeps this many
     * microseconds before each piece it writes (tests: a save stays in
     * flight; crash trials) */
    unsigned write_pace_us;
} h5ckpt__knobs;

const h5ckpt__knobs *h5ckpt__knobs_get(void);
/* Replace every knob (NULL: the defaults). */
void h5ckpt__knobs_set(const h5ckpt__knobs *k);

#endif /* H5CKPT_BASE_H */
