/*
 * Expected values and tensors under test, shared by the MPI round-trip tests.
 * Every element's value is a function of (tensor id, global flat index), so
 * a reader checks each element it receives through its layout's boxes.
 */
#ifndef H5CKPT_TEST_VALUES_H
#define H5CKPT_TEST_VALUES_H

#include "harness.h"

#include <stdint.h>
#include <string.h>

extern const size_t elsize[H5CKPT_DTYPE_COUNT];
/* First mismatch seen, for the failure message. */
extern char bad_msg[400];

typedef struct {
    char path[96];
    h5ckpt_dtype dt;
    uint64_t id;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    h5ckpt_layout *l; /* this step's layout */
    void *buf;        /* local buffer, NULL when the part is empty */
} tensor;

#define T_EBADLAYOUT (-1000) /* local_count disagrees with the boxes */

uint64_t elem_bits(h5ckpt_dtype dt, uint64_t id, uint64_t g);
void put_bits(void *p, size_t es, uint64_t v);
uint64_t get_bits(const void *p, size_t es);
void note_bad(const char *fmt, ...);
uint64_t flat_index(int ndim, const uint64_t *shape, const uint64_t *at);
int next_index(int ndim, const uint64_t *count, uint64_t *idx);
uint64_t *local_gidx(const h5ckpt_layout *l, int ndim, const uint64_t *shape, uint64_t *n);
void tensor_init(tensor *t, h5ckpt_dtype dt, uint64_t id, int ndim, const uint64_t *shape, const char *fmt, ...);
void tensor_release(tensor *t);
int tensor_alloc(tensor *t, int fill);
int tensor_put(h5ckpt *ck, tensor *t);
int tensor_get(h5ckpt *ck, tensor *t);
uint64_t tensor_bad(const tensor *t);
/* Flush the gets queued on `ck` and, when it succeeds, add the mismatches
 * of t[0..n) to *bad.  Returns the flush's code. */
int tensors_flush_bad(h5ckpt *ck, const tensor *t, int n, uint64_t *bad);
uint64_t tensor_bytes(const tensor *t);

/* Strided local buffers (the int32 pattern tests use rows of 6 with 2
 * padding columns, PAD). */
#define PAD 0x7EADBEEFu
/* Fill (fill != 0) or check a strided local buffer of box (off, cnt) of
 * `t`; returns the mismatches when checking. */
uint64_t strided_io(tensor *t, const uint64_t *off, const uint64_t *cnt,
                    const int64_t *strides, int fill);
/* Allocate `span` elements of poison (or PAD for int32) as t->buf. */
void strided_alloc(tensor *t, uint64_t span);
/* Number of padding elements (column >= 4 of rows of 6, int32) that
 * changed. */
uint64_t pad_bad(const tensor *t, uint64_t rows);
/* The first box of a layout (zeros when it has none). */
void local_box(const h5ckpt_layout *l, int ndim, uint64_t *off, uint64_t *cnt);
/* channels_last strides of a (O, I, H, W) box (empty extents count as 1). */
void channels_last(const uint64_t *cnt, int64_t *st);
/* Elements a strided part spans from its start (0 when empty). */
uint64_t span_of(int ndim, const uint64_t *cnt, const int64_t *st);

/* Collective: a 1-D mesh over all ranks of MPI_COMM_WORLD (the test
 * fails on every rank when it cannot be made). */
h5ckpt_mesh *world_mesh(void);

/* Collective: no mismatches on any rank (forgets the first mismatch). */
#define T_CHECK(bad)                                                          \
    do {                                                                      \
        char t_first_[sizeof bad_msg];                                        \
        memcpy(t_first_, bad_msg, sizeof bad_msg);                            \
        bad_msg[0] = 0;                                                       \
        T_ALL((bad) == 0, "%llu mismatching elements; first: %s",             \
              (unsigned long long)(bad), t_first_);                           \
    } while (0)

#endif
