/*
 * lib/format — the file format, a profile of HDF5 (format-spec/FORMAT.md):
 * the dtype-to-HDF5 type mapping, the attribute codec, how a handle's file
 * is opened and held (file access properties, the raw descriptor, identity
 * checks), a writer's file on a full file system (space.c), the objects a
 * writer creates, the reader's index walk, the one
 * validator of the root attributes and of the checksum table, checksums,
 * whole-file verification and temporary names.
 *
 * May include: lib/base, lib/layout.  Knows nothing of plans, executors or
 * device memory.
 */
#ifndef H5CKPT_FORMAT_H
#define H5CKPT_FORMAT_H

#include "layout/layout.h"

#define H5CKPT_FORMAT_NAME "h5ckpt"
#define H5CKPT_FORMAT_WRITE_VERSION 2 /* 2: checksum table */
#define H5CKPT_FORMAT_READ_VERSION 1
#define H5CKPT_TMP_INFIX ".h5ckpt-tmp-"
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

/* Section "Checksums". */
#define H5CKPT_A_CHECKSUM_ALGO "h5ckpt_checksum_algorithm"
#define H5CKPT_CHECKSUM_ALGO "xxh3-64"
#define H5CKPT_CHECKSUM_TABLE "h5ckpt_checksums"
/* Columns of a table row: path hash, piece hash, ndim, then `maxnd` offsets
 * and `maxnd` counts (zero beyond ndim). */
enum { H5CKPT__SUM_PATH = 0, H5CKPT__SUM_HASH, H5CKPT__SUM_NDIM, H5CKPT__SUM_BOX };
#define H5CKPT__SUM_WIDTH(maxnd) (3 + 2 * (size_t)(maxnd))

/* ---- dtypes as HDF5 types (h5type.c) -------------------------------------- */

/* New HDF5 type for a dtype (caller closes), or H5I_INVALID_HID. */
hid_t h5ckpt__h5type(h5ckpt_dtype dtype);
/* 1 if `type` is exactly the file type the spec mandates for `dtype`. */
int h5ckpt__h5type_matches(hid_t type, h5ckpt_dtype dtype);

/* ---- attributes (attr.c) ------------------------------------------------- */

typedef struct {
    char *obj;
    char *name;
    h5ckpt_attr_type type;
    size_t count; /* 0 = scalar */
    void *values; /* int64_t[], double[], int[], or char*[] (owned) */
} h5ckpt__attr;

void h5ckpt__attr_clear(h5ckpt__attr *a);
/* Bytes of one value of `type`. */
size_t h5ckpt__attr_elem_size(h5ckpt_attr_type type);
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

/* ---- the reader's index (index.c) ---------------------------------------- */

typedef struct {
    char *path;
    h5ckpt_dtype dtype;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    char *placements;
    int64_t offset; /* byte offset of contiguous data in the file, -1 none */
} h5ckpt__tensor;

/* What the root group says (validate.c), as open and verify read it. */
typedef struct {
    int64_t write_version, read_version, nranks;
    int mesh_ndim;
    int64_t mesh_shape[H5CKPT_MAX_NDIM];
    int has_sums; /* the root declares a checksum table */
    /* text of the informational attributes, for h5ckpt_root_info (owned) */
    char *created, *library_version;
    char *mesh_dim_names; /* "a,b"; NULL when absent */
    int mesh_dims_bad;    /* present but not strings */
} h5ckpt__root;

/* The file's index, identical on every rank of a reader. */
typedef struct {
    h5ckpt__root root;
    h5ckpt__tensor *tensors; /* sorted by path */
    size_t ntensors;
    char **groups; /* sorted */
    size_t ngroups;
    h5ckpt__attr *attrs; /* sorted by (obj, name); user attributes only */
    size_t nattrs;
} h5ckpt__index;

/* ---- checksums (checksum.c, checksum_read.c) ----------------------------- */

/* One row of a loaded table; `off`/`cnt` point into the table. */
struct h5ckpt__piece {
    uint64_t path, hash;
    int ndim;
    const uint64_t *off, *cnt;
};

/* A handle's checksum state. */
typedef struct {
    /* writer: this rank's rows so far */
    h5ckpt__buf rows;
    uint64_t nrows;
    int maxnd;
    /* verifying reader: the file's table, identical on every rank */
    struct h5ckpt__piece *pieces; /* sorted by path hash */
    size_t npieces;
    uint64_t *tab;
    int loaded;
    /* a contiguous table left in the file: its place; each checking flush
     * indexes the rows its reads touch (io/sums.c), then drops them */
    int lazy;
    uint64_t lazy_rows, lazy_width, lazy_offset;
} h5ckpt__sums;

/* ---- a handle's file (access.c) ------------------------------------------- */

typedef struct h5ckpt__file {
    int writer;           /* 1: a writer (temporary file), 0: a reader */
    char *path, *tmp_path;
    hid_t fid;            /* HDF5 handle, H5I_INVALID_HID when not held */
    int rawfd;            /* reader: the file opened at open, for raw reads
                             and identity checks (-1 none) */
    int serial;           /* writer: rank 0 alone holds fid, through the
                             serial sec2 driver (io/meta.c) */
    int64_t started_ns;   /* writer: rank 0's clock at create (leftovers) */
    h5ckpt__strmap created; /* writer: groups created in the file */
    h5ckpt__index index;  /* reader */
    h5ckpt__sums sums;
} h5ckpt__file;

/* File access properties, the one recipe: MPI-IO on `comm`, or the serial
 * sec2 driver when `serial`; libver bounds, locking and alignment from
 * `opts`.  Returns the property list or H5I_INVALID_HID. */
hid_t h5ckpt__fapl(MPI_Comm comm, const h5ckpt_options *opts, int serial);
/* Collective (reader): every rank opens file->path for raw reads (rawfd),
 * and all must hold the file rank 0 holds (H5CKPT_EIO: replaced meanwhile;
 * H5CKPT_ENOENT: deleted meanwhile), which must be HDF5 (H5CKPT_ENOTCKPT).
 * Agreed. */
int h5ckpt__file_hold(h5ckpt__ctx *ctx, h5ckpt__file *f);
/* Local (reader): a name that opens the very file f->rawfd holds, whatever
 * became of its path since: on Linux "/proc/self/fd/<rawfd>" in `buf` (64
 * bytes are enough); where /proc is missing, f->path.  Every HDF5 open of
 * a reader goes through it. */
const char *h5ckpt__file_held_name(const h5ckpt__file *f, char *buf, size_t size);
/* Local (reader): open the held file read-only, serially, with `fapl` (a
 * sec2 file access list; its driver may be changed to MPI-IO on
 * MPI_COMM_SELF when the path no longer names the file).  The caller closes
 * the id.  Returns the id or H5I_INVALID_HID. */
hid_t h5ckpt__file_open_serial(const h5ckpt__file *f, hid_t fapl);
/* 0 when file->path still names the file file->rawfd holds, else
 * H5CKPT_EIO with a message.  Local. */
int h5ckpt__file_same(const h5ckpt__file *f, char *msg);
/* Collective (reader): open the collective HDF5 handle f->fid unless it is
 * open, on the file every rank holds (h5ckpt__file_held_name).  Agreed. */
int h5ckpt__file_open_collective(h5ckpt__ctx *ctx, h5ckpt__file *f,
                                 const h5ckpt_options *opts);
/* 1 if this rank makes the file's HDF5 calls (f->fid is valid). */
int h5ckpt__file_mine(const h5ckpt__ctx *ctx, const h5ckpt__file *f);
/* The communicator of the ranks making them: ctx->comm, or MPI_COMM_SELF
 * when rank 0 alone does (f->serial). */
MPI_Comm h5ckpt__file_comm(const h5ckpt__ctx *ctx, const h5ckpt__file *f);
/* h5ckpt__wait_asleep(ctx->comm, rc, ...) when rank 0 alone holds the file
 * (the others wait asleep for its serial HDF5 work); `rc` otherwise. */
int h5ckpt__file_wait(h5ckpt__ctx *ctx, const h5ckpt__file *f, int rc);
/* 1 if the HDF5 file at `path` carries the commit marker (read-only,
 * without a file lock, quietly); 0 otherwise, whatever the reason. */
int h5ckpt__file_committed(const char *path);
/* Release everything the file struct holds (HDF5 ids, descriptor, index,
 * checksum state, names).  Local; returns 0 or H5CKPT_EIO (message in
 * `msg`) when HDF5 refused to close the file. */
int h5ckpt__file_release(h5ckpt__file *f, char *msg);

/* ---- a writer's file on a full file system (space.c) -------------------- */

/* Writer, local (rank 0 works, the others return 0; the caller agrees):
 * allocate the blocks of the temporary file up to a bound of HDF5's end of
 * allocation (at least `end`), so that the HDF5 writes that follow
 * (collective data writes, metadata flushes) cannot fail for lack of
 * space.  Returns 0 (also where the file system has no fallocate) or
 * H5CKPT_EIO with the message in the context. */
int h5ckpt__file_reserve(h5ckpt__ctx *ctx, const h5ckpt__file *f, uint64_t end);
/* Writer, local (rank 0 of a serial writer, before it closes its file to
 * trim it): 0 when the file system has room for every byte of HDF5's
 * metadata cache, else H5CKPT_EIO with the message in the context. */
int h5ckpt__file_room_for_metadata(h5ckpt__ctx *ctx, const h5ckpt__file *f);
/* Rank 0, after the final close: free the blocks a reservation left beyond
 * the end of the file at `path`.  Best effort. */
void h5ckpt__file_reserve_release(const char *path);
/* Writer that failed or was not committed, collective like H5Fclose among
 * the holders: close its open objects and its HDF5 file without writing to
 * disk (every descriptor of the process on the file points at a memory file
 * first).  f->fid is invalid after.  Returns 0 or H5CKPT_EIO (message in
 * `msg`, may be NULL). */
int h5ckpt__file_abort_close(h5ckpt__file *f, char *msg);

/* ---- objects a writer creates (objects.c) --------------------------------- */

/* The root attributes of a new file (the holder of f->fid; rank 0's
 * `created` time is given).  Collective among the holders. */
int h5ckpt__root_write(h5ckpt__file *f, const h5ckpt_mesh *mesh, int nranks,
                       const char *created, char *msg);
/* Creation properties shared by every tensor dataset (contiguous, fill
 * never, early allocation).  Caller closes. */
hid_t h5ckpt__tensor_dcpl(void);
/* Create the groups above `path` (and `path` itself when `self`) that f does
 * not have yet. */
int h5ckpt__groups_make(h5ckpt__file *f, const char *path, int self, char *msg);
/* Create tensor dataset `path` with its groups and reserved attributes;
 * *offset receives its byte offset (-1 none). */
int h5ckpt__dataset_create(h5ckpt__file *f, const char *path, h5ckpt_dtype dtype,
                           const h5ckpt_layout *layout, hid_t dcpl,
                           int64_t *offset, char *msg);
/* Write user attribute `a` on its object, creating its groups unless the
 * object is a tensor (`on_tensor`). */
int h5ckpt__attr_put_file(h5ckpt__file *f, const h5ckpt__attr *a, int on_tensor,
                          char *msg);
/* The commit marker. */
int h5ckpt__committed_write(h5ckpt__file *f, char *msg);

/* ---- validation (validate.c) ----------------------------------------------- */

/*
 * The one validator of what a file says about itself: its root attributes
 * and the shape of its checksum table.  Open stops at the first problem and
 * fails with its code; h5ckpt_verify reports every problem through the
 * callback.  `strict` adds the checks only verify makes (exact HDF5 types,
 * ISO dates, version relations, dimension names).
 */
typedef struct {
    int strict;
    int stop; /* stop at the first problem */
    /* called once per problem (may be NULL): object "/" for the root */
    void (*report)(void *ctx, int code, const char *object, const char *msg);
    void *ctx;
    int code; /* the first problem's code, 0 if none */
    char msg[H5CKPT_MSG_MAX]; /* its message */
    char scratch[H5CKPT_MSG_MAX];
} h5ckpt__check;

/* Validate the root group of `fid` and fill `out` (messages name no file:
 * the caller adds `path` where it helps).  Returns 0 when no problem was found (or, not stopping, the
 * first problem's code).  Problems: H5CKPT_ENOTCKPT (not an h5ckpt file:
 * nothing further is checked), H5CKPT_EVERSION, H5CKPT_ENOTCOMMITTED,
 * H5CKPT_ECORRUPT. */
int h5ckpt__root_check(hid_t fid, h5ckpt__check *c,
                       h5ckpt__root *out);
void h5ckpt__root_clear(h5ckpt__root *r);

/* The checksum table's shape: `*rows` and `*maxnd` from a dataset of
 * uint64 rows of H5CKPT__SUM_WIDTH(maxnd) columns; problems are
 * H5CKPT_ECORRUPT (malformed) or H5CKPT_ENOTSUP (unknown algorithm). */
int h5ckpt__sumtab_check(hid_t fid, h5ckpt__check *c, hid_t *dset,
                         uint64_t *rows, int *maxnd);

/* ---- the index walk (index.c) ------------------------------------------- */

/* Collective (reader): rank 0 validates the file and reads its index; every
 * rank receives it.  Fills f->index.  Agreed. */
int h5ckpt__index_load(h5ckpt__ctx *ctx, h5ckpt__file *f,
                       const h5ckpt_options *opts);
void h5ckpt__index_free(h5ckpt__index *ix);
const h5ckpt__tensor *h5ckpt__index_tensor(const h5ckpt__index *ix,
                                           const char *path);
/* The attribute (obj, name) of the index, or NULL. */
const h5ckpt__attr *h5ckpt__index_attr(const h5ckpt__index *ix, const char *obj,
                                       const char *name);
/* Index of the first attribute of `obj` in the sorted list. */
size_t h5ckpt__index_first_attr(const h5ckpt__index *ix, const char *obj);

/* ---- checksums (checksum.c, checksum_read.c, verify_checksums.c) -------- */

/* XXH3-64 of the elements of an N-d array at `base` with `count` elements
 * and `strides` (in elements; NULL: row-major) per dimension, visited in
 * row-major order.  ndim 0 hashes one element.  Pure. */
uint64_t h5ckpt__hash_strided(const void *base, int ndim, const uint64_t *count,
                              const int64_t *strides, size_t elsize);
/* XXH3-64 of a tensor path (the table's key). */
uint64_t h5ckpt__path_hash(const char *path);
/*
 * XXH3-64 of box (off, cnt) of an open dataset, read with `type` (the
 * dataset's own type: raw bytes) through bounded buffers (the slice_bytes
 * knob, 16 MiB, whatever the box).  Independent I/O.  Returns 0,
 * H5CKPT_ENOMEM or H5CKPT_EIO.
 */
int h5ckpt__hash_dataset_box(hid_t dset, hid_t type, int ndim,
                             const uint64_t *off, const uint64_t *cnt,
                             uint64_t *out);
/* Called with every slice h5ckpt__hash_dataset_box_each reads: its box in
 * the dataset (start, count; NULL for a 0-d dataset) and its elements,
 * row-major. */
typedef void (*h5ckpt__slice_fn)(void *arg, int ndim, const hsize_t *start,
                                 const hsize_t *count, const void *buf);
/* The same, handing every slice to `fn` (may be NULL) as well: a verifying
 * read compares what it delivered with them (io/sums.c). */
int h5ckpt__hash_dataset_box_each(hid_t dset, hid_t type, int ndim,
                                  const uint64_t *off, const uint64_t *cnt,
                                  uint64_t *out, h5ckpt__slice_fn fn, void *arg);
/* Writer, local: keep the row of one piece (path, box) with hash h. */
void h5ckpt__sums_row(h5ckpt__sums *s, const char *path, int ndim,
                      const uint64_t *box, uint64_t h);
/* Writer, collective: write the table of every rank's rows and the
 * algorithm attribute (before the commit marker); with rank 0 alone holding
 * the file, each rank writes its own rows into the table's extent, and
 * fsyncs them when `durable`.  Agreed. */
int h5ckpt__sums_write(h5ckpt__ctx *ctx, h5ckpt__file *f, int durable);
/* Reader, collective: rank 0 reads and validates the table (if the file has
 * one) and every rank receives it.  Errors: H5CKPT_ECORRUPT, ENOTSUP
 * (unknown algorithm), ENOMEM. */
int h5ckpt__sums_load(h5ckpt__ctx *ctx, h5ckpt__file *f);
/* Reader, local (lazy tables): this rank's slice of the table, rows
 * [*first, *first + *n) with first = N r / P, read with pread from
 * f->rawfd, each row's ndim checked; *rows is malloc'd.  Errors:
 * H5CKPT_EIO, H5CKPT_ECORRUPT, H5CKPT_ENOMEM (message in ctx). */
int h5ckpt__sums_read_slice(h5ckpt__ctx *ctx, const h5ckpt__file *f, uint64_t **rows,
                            uint64_t *first, uint64_t *n);
/* Reader, local (lazy tables): index `n` rows of the table's width (the
 * sums take `rows`, malloc'd) as the pieces h5ckpt__sums_find sees.
 * Returns 0, H5CKPT_ECORRUPT or H5CKPT_ENOMEM. */
int h5ckpt__sums_index(h5ckpt__ctx *ctx, h5ckpt__sums *s, uint64_t *rows, uint64_t n);
/* Free the indexed rows (the table's place stays). */
void h5ckpt__sums_drop(h5ckpt__sums *s);
/* Reader: the table's pieces of the tensor whose path hashes to `path`:
 * [*first, *end) of f->sums.pieces. */
void h5ckpt__sums_find(const h5ckpt__sums *s, uint64_t path, size_t *first,
                       size_t *end);
void h5ckpt__sums_free(h5ckpt__sums *s);

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

/* ---- temporary files of saves (leftovers.c) ------------------------------ */

/* 1 if the base name of `path` is that of a temporary file of a save
 * (".<base>.h5ckpt-tmp-<16 lowercase hex>"): never a checkpoint. */
int h5ckpt__is_temp_name(const char *path);
/* Rank 0, after a commit renamed its file onto `path`: remove the regular
 * files named like temporaries of `path` (".<base>.h5ckpt-tmp-<16 hex>")
 * last modified before `before_ns`.  Best effort; returns the number
 * removed. */
int h5ckpt__remove_leftovers(const char *path, int64_t before_ns);

#endif /* H5CKPT_FORMAT_H */
