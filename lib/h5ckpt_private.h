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
#include "device.h"

#define H5CKPT_MSG_MAX 512
#define H5CKPT_FORMAT_NAME "h5ckpt"
#define H5CKPT_FORMAT_WRITE_VERSION 2 /* 2: checksum table */
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
    int64_t offset; /* writer: byte offset of the dataset's contiguous data,
                       set when it is created; -1 none */
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
    int rawfd; /* reader: the file opened at h5ckpt_open, for raw reads (-1 none) */
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
    /* checksums (checksum.c, checksum_read.c): a writer's rows so far, a
     * verifying reader's table (identical on every rank) */
    h5ckpt__buf sumrows;
    uint64_t nsumrows;
    int sum_maxnd;
    struct h5ckpt__piece *pieces; /* sorted by path hash */
    size_t npieces;
    uint64_t *sumtab;
    int has_sums;
    /* a verifying reader whose table is contiguous: its rows stay in the
     * file and each flush fetches those its reads need (checksum_read.c) */
    int sum_lazy;
    uint64_t sum_nrows, sum_width, sum_offset;
    int64_t started_ns; /* writer: rank 0's clock at create (leftovers.c) */
    int meta_root; /* writer: rank 0 alone holds the HDF5 file (meta.c) */
    struct h5ckpt__replica *replica; /* reader: device groups (replica.c) */
    struct h5ckpt__exchange *exchange; /* reader: node exchange (exchange.c) */
};

/* Collective (reader): open the collective HDF5 handle ck->fid unless it
 * is open (the plain executor and checksum checks open it at h5ckpt_open;
 * the fast reader when a flush first needs it).  Fails when the path no
 * longer names the file the handle holds.  Agreed. */
int h5ckpt__reader_fid(h5ckpt *ck);
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

/* Collective (homes.c): one MPI_Alltoallv of uint64 words, `sc[r]` of them
 * from `send` to rank r, `sd` their displacements (filled here); *out
 * receives the words (malloc'd; free it), `rcnt`/`rd` the counts and
 * displacements per source (arrays of ck->size).  `rc` is this rank's error
 * so far (it still takes part).  Agreed.  Work is spread over home ranks
 * with it: item j is handled by rank j mod P (plan.c, replica.c). */
int h5ckpt__alltoallv_u64(h5ckpt *ck, int rc, const uint64_t *send, int *sc,
                          int *sd, int *rcnt, int *rd, uint64_t **out);
/* Collective: check agreement and build the plan for the queued ops. */
int h5ckpt__plan_build(h5ckpt *ck, h5ckpt__plan *plan);
void h5ckpt__plan_free(h5ckpt__plan *plan);

/* Collective: perform a plan. */
int h5ckpt__exec_plain_write(h5ckpt *ck, const h5ckpt__plan *plan);
int h5ckpt__exec_plain_read(h5ckpt *ck, const h5ckpt__plan *plan);
/* Collective: create groups and datasets of the queued ops and write the
 * queued attributes (writer). */
int h5ckpt__create_objects(h5ckpt *ck);

/* ---- checksums (checksum.c, checksum_read.c, verify.c) ------------------ */

/* Format specification, section "Checksums". */
#define H5CKPT_A_CHECKSUM_ALGO "h5ckpt_checksum_algorithm"
#define H5CKPT_CHECKSUM_ALGO "xxh3-64"
#define H5CKPT_CHECKSUM_TABLE "h5ckpt_checksums"
/* Columns of a table row: path hash, piece hash, ndim, then `maxnd` offsets
 * and `maxnd` counts (zero beyond ndim). */
enum { H5CKPT__SUM_PATH = 0, H5CKPT__SUM_HASH, H5CKPT__SUM_NDIM, H5CKPT__SUM_BOX };
#define H5CKPT__SUM_WIDTH(maxnd) (3 + 2 * (size_t)(maxnd))

/* One row of a loaded table; `off`/`cnt` point into the table. */
struct h5ckpt__piece {
    uint64_t path, hash;
    int ndim;
    const uint64_t *off, *cnt;
};

/* XXH3-64 of the elements of an N-d array at `base` with `count` elements
 * and `strides` (in elements; NULL: row-major) per dimension, visited in
 * row-major order.  ndim 0 hashes one element.  Pure. */
uint64_t h5ckpt__hash_strided(const void *base, int ndim, const uint64_t *count,
                              const int64_t *strides, size_t elsize);
/* XXH3-64 of a tensor path (the table's key). */
uint64_t h5ckpt__path_hash(const char *path);
/*
 * XXH3-64 of box (off, cnt) of an open dataset, read with `type` (the
 * dataset's own type: raw bytes) through bounded buffers (at most
 * h5ckpt__slice_bytes, whatever the box).  Independent I/O.  Returns 0, H5CKPT_ENOMEM or
 * H5CKPT_EIO.
 */
int h5ckpt__hash_dataset_box(hid_t dset, hid_t type, int ndim,
                             const uint64_t *off, const uint64_t *cnt,
                             uint64_t *out);
/* Benchmarks only: nonzero makes writers skip checksums (no table). */
extern int h5ckpt__checksums_off;
/* Largest slice hash_dataset_box reads at once (16 MiB; tests lower it). */
extern size_t h5ckpt__slice_bytes;
/* "[0:4, 2:3]" (offset:end per dimension; "[]" for 0-d) into buf. */
void h5ckpt__box_text(int ndim, const uint64_t *off, const uint64_t *cnt,
                      char *buf, size_t size);

/* Writer, local: hash the pieces this rank writes in `plan` and keep their
 * rows on the handle.  Returns 0 or H5CKPT_ENOMEM (message set). */
int h5ckpt__checksum_record(h5ckpt *ck, const h5ckpt__plan *plan);
/* Writer, collective: write the table of every rank's rows and the
 * algorithm attribute (before the commit marker). */
int h5ckpt__checksum_write(h5ckpt *ck);
/* Reader, collective: rank 0 reads and validates the table (if the file has
 * one) and every rank receives it.  Errors: H5CKPT_ECORRUPT, ENOTSUP
 * (unknown algorithm), ENOMEM. */
int h5ckpt__checksum_load(h5ckpt *ck);
/* Reader, collective: check every piece the reads of `plan` touch.
 * Errors: H5CKPT_ECHECKSUM, H5CKPT_ECORRUPT, H5CKPT_EIO, H5CKPT_ENOMEM. */
int h5ckpt__checksum_check_reads(h5ckpt *ck, const h5ckpt__plan *plan);
void h5ckpt__checksum_free(h5ckpt *ck);

/*
 * Serial (rank 0 of a tool, on a file opened read-only with any driver):
 * check the checksum of every piece in the file's table, and that the pieces
 * cover every tensor.  Calls `report(ctx, object, message)` once per problem
 * (object = the tensor path, or "" for the file) with a one-line message
 * naming the box.  `*nchecked` (may be NULL) receives the number of pieces
 * whose data was hashed.  Validates every number read from the file before
 * use; memory stays bounded whatever the file says.
 * Returns 0 (all pieces match, everything covered); H5CKPT_ENOTFOUND (the
 * file has no checksum table; reported once as "no checksums ..."); H5CKPT_ENOTSUP (unknown
 * algorithm); H5CKPT_ECHECKSUM (mismatches or uncovered data, each reported);
 * H5CKPT_ECORRUPT (a malformed table; reported); H5CKPT_ENOMEM.
 */
int h5ckpt__verify_checksums(hid_t fid,
                             void (*report)(void *ctx, const char *object,
                                            const char *message),
                             void *ctx, size_t *nchecked);

/* ---- leftovers of crashed saves (leftovers.c) ---------------------------- */

/* 1 if the base name of `path` is that of a temporary file of a save
 * (".<base>.h5ckpt-tmp-<16 lowercase hex>"): never a checkpoint. */
int h5ckpt__is_temp_name(const char *path);
/* CLOCK_REALTIME in nanoseconds. */
int64_t h5ckpt__now_ns(void);
/* Rank 0, after a commit renamed its file onto `path`: remove the regular
 * files named like temporaries of `path` (".<base>.h5ckpt-tmp-<16 hex>")
 * last modified before `before_ns`.  Best effort; returns the number
 * removed. */
int h5ckpt__remove_leftovers(const char *path, int64_t before_ns);

/* ---- fast executor and the choice of executor (exec_fast.c, executor.c) -- */

/* Collective: same plans as the plain executor; raw bytes move with
 * pwrite/pread at the datasets' file offsets (see exec_fast.c). */
int h5ckpt__exec_fast_write(h5ckpt *ck, const h5ckpt__plan *plan);
int h5ckpt__exec_fast_read(h5ckpt *ck, const h5ckpt__plan *plan);
/* Local: turn H5CKPT_EXECUTOR_DEFAULT into plain or fast (environment
 * variable H5CKPT_EXECUTOR, else fast).  Returns 0 or H5CKPT_EINVAL. */
int h5ckpt__executor_resolve(h5ckpt_executor *ex, char *msg);
/* Collective: perform a plan with the handle's executor (the writer's also
 * creates the objects first). */
int h5ckpt__exec_write(h5ckpt *ck, const h5ckpt__plan *plan);
int h5ckpt__exec_read(h5ckpt *ck, const h5ckpt__plan *plan);

/* ---- who makes a writer's HDF5 calls (meta.c) -------------------------- */

/* Local, at create once the executor is resolved: rank 0 alone holds the
 * writer's HDF5 file (serial sec2 driver) with the fast executor on a
 * little-endian host; otherwise every rank does, collectively (MPI-IO).
 * Identical on every rank. */
void h5ckpt__meta_choose(h5ckpt *ck);
/* 1 if this rank makes the writer's HDF5 calls (ck->fid is valid). */
int h5ckpt__meta_mine(const h5ckpt *ck);
/* The communicator of the ranks making them: ck->comm, or MPI_COMM_SELF
 * when rank 0 alone does. */
MPI_Comm h5ckpt__meta_comm(const h5ckpt *ck);
/* Collective: a barrier that waits asleep (non-blocking barrier polled
 * every 0.1 ms), for ranks that wait on rank 0's serial HDF5 work: spinning
 * in the MPI call that follows would take CPU from rank 0 where ranks share
 * cores. */
void h5ckpt__wait_asleep(MPI_Comm comm);
/* h5ckpt__wait_asleep(ck->comm) when rank 0 alone holds the writer's file;
 * no-op otherwise. */
void h5ckpt__meta_wait(const h5ckpt *ck);
/* Rank 0 of a writer that alone holds the file: close and reopen it so
 * HDF5 writes out and frees the metadata it caches for the objects made so
 * far (see meta.c); a no-op elsewhere, or while any object is open.  Local.
 * Returns 0 or H5CKPT_EIO (ck->fid is then invalid). */
#define H5CKPT__TRIM_EVERY 512
int h5ckpt__meta_trim(h5ckpt *ck);
/* Collective, after the objects of the queued ops exist: give every rank
 * the datasets' offsets (op->offset) that rank 0 learnt.  Agreed. */
int h5ckpt__meta_share_offsets(h5ckpt *ck);

/* ---- device buffers (device.c, stage.c, replica.c; interface device.h) -- */

/* Local, at put/get: the memory kind of `data` for tensor `path`.  Declared
 * CUDA (`declared_cuda`): needs a backend (else H5CKPT_ENOTSUP), whose probe
 * succeeds (else its code and reason) and which says `data` (if not NULL)
 * is device memory (else H5CKPT_EINVAL).  Declared host or undeclared: CUDA
 * when a usable backend says `data` is device memory (detection), else
 * host.  Returns 0 or the error with a message in `msg`. */
int h5ckpt__device_kind(const char *path, int declared_cuda, const void *data,
                        h5ckpt_memkind *kind, char *msg);
/* Pinned staging of a handle: options' staging_bytes, 0 giving
 * H5CKPT__STAGING_DEFAULT, raised to H5CKPT__STAGING_MIN. */
uint64_t h5ckpt__staging_bytes(const h5ckpt *ck);
/* 1 if the task moves elements of a device buffer. */
int h5ckpt__task_on_device(const h5ckpt__task *t);

/* Host mirrors of device ops (the reference path, see device.c). */
typedef struct {
    struct h5ckpt__mirror *m;
    size_t n;
} h5ckpt__mirrors;
/* Local: a host mirror for every device task of `plan` (filled from the
 * device when `fill`); the ops then point at their mirrors as contiguous
 * host buffers.  Returns 0 or an error (message on the handle; nothing is
 * left allocated). */
int h5ckpt__mirrors_make(h5ckpt *ck, const h5ckpt__plan *plan, int fill,
                         h5ckpt__mirrors *ms);
/* Local: point the ops at their device buffers again, after copying the
 * mirrors back to them when `copy_back`; free the mirrors.  Accepts an
 * empty set.  Returns 0 or the device error (message on the handle). */
int h5ckpt__mirrors_finish(h5ckpt *ck, h5ckpt__mirrors *ms, int copy_back);

/* The fast executor's device path (stage.c): bounded pinned staging in two
 * halves on one stream.  Opened once per flush. */
typedef struct h5ckpt__stage h5ckpt__stage;
/* Local: staging for the device tasks of `plan` (pinned halves of at most
 * half the handle's staging bytes each, and a device temporary as large as
 * the largest strided device buffer).  Returns 0 or an error (message on
 * the handle; nothing is left allocated). */
int h5ckpt__stage_open(h5ckpt *ck, const h5ckpt__plan *plan,
                       h5ckpt__stage **out);
/* Local: move task `t` between its device buffer and the file `fd` at
 * dataset offset `base` through the staging (writers also hash each box
 * and keep its checksum row).  Returns 0 or an error (message on the
 * handle; H5CKPT_EIO for a failed pwrite/pread). */
int h5ckpt__stage_task(h5ckpt__stage *st, int fd, const h5ckpt__task *t,
                       int64_t base, int writing);
/* Local: finish the queued work (writers: the last segment's pwrite;
 * readers: every copy to the device done).  Accepts NULL.  Returns `rc`
 * when it is not 0 (nothing more is done then), else 0 or an error. */
int h5ckpt__stage_finish(h5ckpt__stage *st, int rc);
/* Local: free the staging (accepts NULL); returns `rc`. */
int h5ckpt__stage_free(h5ckpt__stage *st, int rc);
/* The staging's stream and device temporary (replica.c). */
h5ckpt__stream *h5ckpt__stage_stream(const h5ckpt__stage *st);
void *h5ckpt__stage_tmp(const h5ckpt__stage *st);
/* Emit the runs of one box as (file offset, byte offset in the packed
 * local buffer, bytes), in increasing memory order (exec_fast.c). */
typedef int (*h5ckpt__run_fn)(void *ctx, uint64_t foff, uint64_t moff,
                              uint64_t len);
int h5ckpt__box_runs(int ndim, const uint64_t *shape, const uint64_t *box,
                     uint64_t base, size_t es, uint64_t moff,
                     h5ckpt__run_fn fn, void *ctx);
/* Checksum row of box k of task t with hash h (checksum.c). */
void h5ckpt__checksum_row(h5ckpt *ck, const h5ckpt__task *t, size_t k,
                          uint64_t h);

/* Node-local exchange of fragmented host reads (exchange.c). */
typedef struct h5ckpt__xplan h5ckpt__xplan;
/* Per task: 1 when the exchange reads it for this rank. */
const unsigned char *h5ckpt__exchange_mine(const h5ckpt__xplan *p);
/* Tests only: bytes of file per unit (0: the default, 1 MiB). */
extern uint64_t h5ckpt__exchange_unit;
/* Tests only: units this process has delivered so far. */
extern uint64_t h5ckpt__exchange_units;
/* Collective (fast reader, after the replica plan): decide which tasks go
 * through the exchange.  `bases`: each task's file offset (-1 none);
 * `role`: replica roles (may be NULL); `rc`: this rank's error so far (it
 * takes part all the same).  *out is NULL when nothing is exchanged.
 * Returns 0 or an agreed error. */
int h5ckpt__exchange_plan(h5ckpt *ck, const h5ckpt__plan *plan,
                          const int64_t *bases, const int *role, int rc,
                          h5ckpt__xplan **out);
/* Local (after this rank's own reads, before the transfer's agreement):
 * claim and deliver units until none is left; returns `rc` when it is not
 * 0 (then claims nothing), else 0 or an error (message on the handle). */
int h5ckpt__exchange_run(h5ckpt *ck, const h5ckpt__plan *plan,
                         h5ckpt__xplan *p, const int64_t *bases, int fd, int rc);
void h5ckpt__exchange_done(h5ckpt__xplan *p);
/* Collective (close): the node communicator and window. */
void h5ckpt__exchange_free(h5ckpt *ck);

/* Replicated device reads through group broadcasts (replica.c). */
/* Tests only: nonzero turns the group path off (identical on every rank). */
extern int h5ckpt__replica_off;
/* Collective (fast reader, before the transfers): mark in `role` (one
 * entry per task) what this rank does with each task: 0 the ordinary path,
 * 1 read it from the file and broadcast it, 2 receive it from a
 * broadcast.  Agreed.  Returns 0 or an error. */
int h5ckpt__replica_plan(h5ckpt *ck, const h5ckpt__plan *plan, int *role);
/* Collective (fast reader, after the file reads): queue the broadcasts of
 * the tasks marked 1 or 2, agree that every rank queued its own (else all
 * abandon their groups: group_abort), then wait for them.  Returns 0 or an
 * error; a failure to queue is agreed, one while waiting is not. */
int h5ckpt__replica_bcast(h5ckpt *ck, h5ckpt__stage *st,
                          const h5ckpt__plan *plan, const int *role);
/* Free the handle's cached groups (close).  Local. */
void h5ckpt__replica_free(h5ckpt *ck);

#endif /* H5CKPT_PRIVATE_H */
