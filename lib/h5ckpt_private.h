/*
 * Internal interfaces of libh5ckpt.  Nothing here is installed or exported.
 *
 * The library is organised as: pure logic (layout arithmetic, names, dtypes,
 * packing) with no MPI or file I/O; the handle and its queues (file.c,
 * queue.c, attr.c); a planner (plan.c) that turns the queued puts/gets into a
 * list of per-tensor I/O tasks that every rank agrees on; and an executor
 * (exec_plain.c) that performs a plan.  A faster executor only has to accept
 * the same plan.
 */
#ifndef H5CKPT_PRIVATE_H
#define H5CKPT_PRIVATE_H

#include <hdf5.h>
#include <stdarg.h>

#include "h5ckpt.h"

#define H5CKPT_MSG_MAX 512
#define H5CKPT_FORMAT_NAME "h5ckpt"
#define H5CKPT_FORMAT_WRITE_VERSION 1
#define H5CKPT_FORMAT_READ_VERSION 1
#define H5CKPT_TMP_INFIX ".h5ckpt-tmp-"
#define H5CKPT_RESERVED_PREFIX "h5ckpt_"
/* Sanity limits on numbers read from files (never allocate by an unchecked
 * number). */
#define H5CKPT_MAX_ATTR_ELEMS (1u << 20)
#define H5CKPT_MAX_NAME 4096
/* Longest string value of an attribute, in bytes (format limit). */
#define H5CKPT_MAX_STRING (1u << 20)
/* Bytes the temporary name adds to a basename: "." + infix + 16 hex. */
#define H5CKPT_TMP_EXTRA (1 + sizeof H5CKPT_TMP_INFIX - 1 + 16)

/* Reserved attribute names (format-spec/FORMAT.md, section "Root group"). */
#define H5CKPT_A_FORMAT "h5ckpt_format"
#define H5CKPT_A_WRITE_VERSION "h5ckpt_write_version"
#define H5CKPT_A_READ_VERSION "h5ckpt_read_version"
#define H5CKPT_A_LIBVERSION "h5ckpt_library_version"
#define H5CKPT_A_CREATED "h5ckpt_created"
#define H5CKPT_A_MESH_SHAPE "h5ckpt_writer_mesh_shape"
#define H5CKPT_A_MESH_DIMS "h5ckpt_writer_mesh_dim_names"
#define H5CKPT_A_NRANKS "h5ckpt_writer_nranks"
#define H5CKPT_A_COMMITTED "h5ckpt_committed"
#define H5CKPT_A_DTYPE "h5ckpt_dtype"
#define H5CKPT_A_PLACEMENTS "h5ckpt_placements"

/* ---- errors (error.c) --------------------------------------------------- */

/* Format a one-line message into `buf` (H5CKPT_MSG_MAX) and return `code`. */
int h5ckpt__fail(char *buf, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append the innermost HDF5 error description to `buf` (after ": "). */
void h5ckpt__append_h5err(char *buf);
/*
 * Collective: agree on the outcome.  If any rank has rc != 0, every rank
 * returns the code of the lowest such rank and receives its message in `msg`.
 */
int h5ckpt__agree(MPI_Comm comm, int rc, char *msg);
/* Fill an h5ckpt_error (may be NULL). */
void h5ckpt__seterror(h5ckpt_error *err, int code, const char *msg);

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

/* ---- dtypes (dtype.c) ---------------------------------------------------- */

/* New HDF5 type for a dtype (caller closes), or H5I_INVALID_HID. */
hid_t h5ckpt__h5type(h5ckpt_dtype dtype);
/* 1 if `type` is exactly the file type the spec mandates for `dtype`. */
int h5ckpt__h5type_matches(hid_t type, h5ckpt_dtype dtype);

/* ---- layout arithmetic (layout.c; pure) --------------------------------- */

/* torch.chunk: part i of n elements split into k parts.  chunk = ceil(n/k);
 * part i is [i*chunk, min((i+1)*chunk, n)), empty when i*chunk >= n. */
void h5ckpt__chunk(uint64_t n, uint64_t k, uint64_t i, uint64_t *offset,
                   uint64_t *count);
/*
 * Box of the rank at mesh `coords` for a tensor of `shape` with one placement
 * per mesh dimension (nested in mesh-dimension order, as DTensor).
 * Returns 0 or H5CKPT_EINVAL (placement out of range).
 */
int h5ckpt__shard_box(int ndim, const uint64_t *shape, int mesh_ndim,
                      const int *mesh_shape, const int *coords,
                      const int *placements, uint64_t *offset,
                      uint64_t *count);
/*
 * Decompose elements [start, end) of the row-major flattening of `shape` into
 * boxes, in flat order.  `boxes` receives up to 2*ndim-1 boxes of 2*ndim
 * entries each (offsets then counts).  Returns the number of boxes (0 for an
 * empty range).  For ndim == 0 the only non-empty range is [0,1): 1 box.
 */
size_t h5ckpt__range_boxes(int ndim, const uint64_t *shape, uint64_t start,
                           uint64_t end, uint64_t *boxes);
/* Product of `n` extents; sets *overflow if it does not fit 64 bits. */
uint64_t h5ckpt__volume(int n, const uint64_t *extent, int *overflow);
/* 1 if boxes a and b (2*ndim entries each) share at least one element. */
int h5ckpt__boxes_overlap(int ndim, const uint64_t *a, const uint64_t *b);

/* Layout object. */
enum { H5CKPT__LAYOUT_SHARDED = 1, H5CKPT__LAYOUT_BOX, H5CKPT__LAYOUT_RANGE };

struct h5ckpt_layout {
    int kind;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    /* sharded */
    int mesh_ndim;
    int mesh_shape[H5CKPT_MAX_NDIM];
    int mesh_coords[H5CKPT_MAX_NDIM];
    int placements[H5CKPT_MAX_NDIM];
    char *mesh_desc; /* "(2, 2)" or "(dp=2, tp=2)", owned */
    /* range */
    uint64_t range_start, range_end;
    /* result, all kinds */
    size_t nboxes;
    uint64_t *boxes; /* nboxes * 2 * ndim (ndim 0: nboxes entries unused) */
    int local_ndim;
    uint64_t local_shape[H5CKPT_MAX_NDIM];
    uint64_t local_count;
};

/* Deep copy (for queueing).  Returns 0 or H5CKPT_ENOMEM. */
int h5ckpt__layout_copy(h5ckpt_layout *dst, const h5ckpt_layout *src);
void h5ckpt__layout_clear(h5ckpt_layout *l);
/* Canonical text of the placements: "Shard(0),Replicate()" etc. into buf. */
void h5ckpt__placements_text(const h5ckpt_layout *l, char *buf, size_t size);

/* ---- packing (pack.c; pure) ---------------------------------------------- */

/* Copy a strided N-d array (strides in elements) into contiguous row-major
 * `dst`, and back. */
void h5ckpt__pack(void *dst, const void *src, int ndim, const uint64_t *shape,
                  const int64_t *strides, size_t elsize);
void h5ckpt__unpack(void *dst, const void *src, int ndim,
                    const uint64_t *shape, const int64_t *strides,
                    size_t elsize);
/* Smallest buffer extent (in elements) a strided array spans; checks that
 * strides are positive.  Returns 0 or H5CKPT_EINVAL. */
int h5ckpt__strided_span(int ndim, const uint64_t *shape,
                         const int64_t *strides, uint64_t *span);

/* ---- mesh (mesh.c) ------------------------------------------------------- */

struct h5ckpt_mesh {
    MPI_Comm comm;
    int rank, size, ndim;
    int shape[H5CKPT_MAX_NDIM];
    int coords[H5CKPT_MAX_NDIM];
    char *names[H5CKPT_MAX_NDIM]; /* all NULL when unnamed */
    char *desc;                   /* "(2, 2)" or "(dp=2, tp=2)" */
};

/* ---- string set and byte buffer (util.c) --------------------------------- */

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
/* Collective: broadcast a buffer from `root`. */
int h5ckpt__buf_bcast(h5ckpt__buf *b, int root, MPI_Comm comm);

uint64_t h5ckpt__hash(const void *p, size_t n);
char *h5ckpt__strdup(const char *s);

/* ---- attributes (attr.c) ------------------------------------------------- */

typedef struct {
    char *obj;
    char *name;
    h5ckpt_attr_type type;
    size_t count; /* 0 = scalar */
    void *values; /* int64_t[], double[], int[], or char*[] (owned) */
} h5ckpt__attr;

void h5ckpt__attr_clear(h5ckpt__attr *a);
/* Canonical text for agreement checks. */
int h5ckpt__attr_describe(const h5ckpt__attr *a, h5ckpt__buf *out);
/* Write one attribute to an open HDF5 object (collective in parallel). */
int h5ckpt__attr_write(hid_t obj, const h5ckpt__attr *a, char *msg);
int h5ckpt__attr_write_string(hid_t obj, const char *name, const char *value,
                              char *msg);
int h5ckpt__attr_write_int64s(hid_t obj, const char *name, size_t count,
                              const int64_t *v, char *msg);
/* Read an attribute of `obj` into `a` (obj/name filled by caller).  Returns
 * 0, 1 when the type is not one the format stores (skipped), or an error. */
int h5ckpt__attr_read(hid_t obj, const char *name, h5ckpt__attr *a,
                      char *msg);
void h5ckpt__attr_serialize(const h5ckpt__attr *a, h5ckpt__buf *b);
int h5ckpt__attr_deserialize(h5ckpt__attr *a, h5ckpt__buf *b);

/* ---- handle (file.c) ---------------------------------------------------- */

enum { H5CKPT__WRITER = 1, H5CKPT__READER = 2 };
enum { H5CKPT__OPEN = 0, H5CKPT__FAILED, H5CKPT__DONE };

typedef struct {
    char *path;
    h5ckpt_dtype dtype;
    h5ckpt_layout layout;
    void *data;
    int strided;
    int64_t strides[H5CKPT_MAX_NDIM];
    h5ckpt_memkind memkind;
    uint64_t seq; /* position among all tensors declared on the handle */
} h5ckpt__op;

typedef struct {
    char *path;
    h5ckpt_dtype dtype;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    char *placements;
    int64_t offset; /* byte offset of contiguous data in the file, -1 none */
} h5ckpt__tensor;

struct h5ckpt {
    int mode, state;
    MPI_Comm comm;
    int rank, size;
    char *path, *tmp_path;
    hid_t fid;
    h5ckpt_options opts;
    char errmsg[H5CKPT_MSG_MAX];
    /* queued work (both modes) */
    h5ckpt__op *ops;
    size_t nops, capops;
    h5ckpt__attr *attrs;
    size_t nattrs, capattrs;
    int pending; /* first local error since the last flush */
    char pending_msg[H5CKPT_MSG_MAX];
    uint64_t nseq;
    uint64_t bytes_written, bytes_read;
    /* writer: names declared so far (value: 1 group, 2 tensor) and groups
     * created in the file (value 1) */
    h5ckpt__strmap names;
    h5ckpt__strmap created;
    /* reader: the file's index, identical on every rank */
    h5ckpt__tensor *tensors; /* sorted by path */
    size_t ntensors;
    char **groups; /* sorted */
    size_t ngroups;
    h5ckpt__attr *fattrs; /* sorted by (obj, name); user attributes only */
    size_t nfattrs;
    int64_t write_version, read_version;
    int mesh_ndim;
    int64_t mesh_shape[H5CKPT_MAX_NDIM];
};

int h5ckpt__set(h5ckpt *ck, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void h5ckpt__queue_clear(h5ckpt *ck);
/* Register `path` as a group (kind 1) or tensor (kind 2) of a writer:
 * H5CKPT_EEXIST if it clashes with what was declared before.  A group
 * declaration of an existing tensor path is accepted (attributes on it). */
int h5ckpt__declare(h5ckpt *ck, const char *path, int kind);
const h5ckpt__tensor *h5ckpt__find_tensor(const h5ckpt *ck, const char *path);

/* ---- index (index.c) ---------------------------------------------------- */

/* Rank 0 reads the index of an open file; every rank receives it.
 * Collective.  Fills ck->tensors, groups, fattrs, versions, mesh. */
int h5ckpt__index_load(h5ckpt *ck);
void h5ckpt__index_free(h5ckpt *ck);

/* ---- planning and execution (plan.c, exec_plain.c) ----------------------- */

/* What this rank writes or reads of one tensor. */
typedef struct {
    const h5ckpt__op *op;
    size_t nsel;      /* boxes selected in the file */
    uint64_t *sel;    /* nsel * 2 * ndim, in flat order */
    uint64_t *memoff; /* element offset of each selected box in the local,
                         packed buffer */
    uint64_t nelems;  /* elements selected in total */
} h5ckpt__task;

typedef struct {
    h5ckpt__task *tasks; /* one per queued op, in queue order */
    size_t ntasks;
} h5ckpt__plan;

/* Collective: check agreement and build the plan for the queued ops. */
int h5ckpt__plan_build(h5ckpt *ck, h5ckpt__plan *plan);
void h5ckpt__plan_free(h5ckpt__plan *plan);

/* Collective: perform a plan. */
int h5ckpt__exec_plain_write(h5ckpt *ck, const h5ckpt__plan *plan);
int h5ckpt__exec_plain_read(h5ckpt *ck, const h5ckpt__plan *plan);
/* Collective: create groups and datasets of the queued ops and write the
 * queued attributes (writer). */
int h5ckpt__create_objects(h5ckpt *ck);

#endif /* H5CKPT_PRIVATE_H */
