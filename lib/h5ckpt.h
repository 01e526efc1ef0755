/*
 * h5ckpt — parallel checkpoints in one collective HDF5 file.
 *
 * Every rank declares its own shard of every tensor (through a device-mesh
 * placement, an explicit box, or a flat element range); a collective call
 * writes all shards into one global dataset per tensor.  Any number of ranks,
 * on any mesh, can later read exactly the parts they need.
 *
 * Conventions used throughout this header
 * ---------------------------------------
 *  - Every function returns 0 on success or a negative H5CKPT_E* code.
 *    h5ckpt_strerror() describes a code; h5ckpt_errmsg() gives the last
 *    message recorded on a handle.
 *  - "Collective" means: every rank of the handle's communicator must call the
 *    function, in the same order relative to other collective calls.  A
 *    collective function returns the same code, and leaves the same message,
 *    on every rank; ranks that pass disagreeing arguments get H5CKPT_EDISAGREE
 *    on every rank.
 *  - "Local" means: the function does no communication and may be called by
 *    any subset of ranks.
 *  - Strings and arrays passed in are copied unless stated otherwise; strings
 *    returned as `const char *` are owned by the handle and stay valid until
 *    the handle is freed.
 *  - Tensor paths use '/' between groups: "model/encoder.layer.0.weight" is
 *    dataset "encoder.layer.0.weight" in group "model".  '.' is an ordinary
 *    character.
 */
#ifndef H5CKPT_H
#define H5CKPT_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>

#include "h5ckpt_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(H5CKPT_BUILDING) && defined(__GNUC__)
#define H5CKPT_API __attribute__((visibility("default")))
#else
#define H5CKPT_API
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* X(name, value, description).  One table generates the enum,
 * h5ckpt_strerror() and h5ckpt_errname(). */
#define H5CKPT_ERRNO_MAP(X)                                                   \
    X(OK, 0, "success")                                                       \
    X(EINVAL, -1, "invalid argument")                                         \
    X(ENOMEM, -2, "out of memory")                                            \
    X(EIO, -3, "I/O error")                                                   \
    X(EMPI, -4, "MPI error")                                                  \
    X(EDISAGREE, -5, "ranks disagree on the arguments of a collective call")  \
    X(ENOTFOUND, -6, "no such tensor, group or attribute")                    \
    X(EEXIST, -7, "already declared or already exists")                       \
    X(EDTYPE, -8, "dtype mismatch")                                           \
    X(ESHAPE, -9, "shape mismatch")                                           \
    X(ELAYOUT, -10, "invalid layout")                                         \
    X(ENAME, -11, "invalid name")                                             \
    X(ENOTCKPT, -12, "not an h5ckpt checkpoint")                              \
    X(EVERSION, -13, "unsupported format version")                            \
    X(ENOTCOMMITTED, -14, "checkpoint was never committed")                   \
    X(EISDIR, -15, "path is a directory")                                     \
    X(ENOENT, -16, "no such file or directory")                               \
    X(EMODE, -17, "operation not allowed on this handle")                     \
    X(ECORRUPT, -18, "malformed checkpoint file")                             \
    X(ENOTSUP, -19, "not supported by this build")

typedef enum {
#define H5CKPT__ERR_ENUM(name, value, desc) H5CKPT_##name = (value),
    H5CKPT_ERRNO_MAP(H5CKPT__ERR_ENUM)
#undef H5CKPT__ERR_ENUM
} h5ckpt_errcode;

/* Description of an error code ("invalid layout"); never NULL.  Local. */
H5CKPT_API const char *h5ckpt_strerror(int code);
/* Symbolic name of an error code ("H5CKPT_ELAYOUT"); never NULL.  Local. */
H5CKPT_API const char *h5ckpt_errname(int code);

/* Filled by functions that fail before a handle exists (create, open,
 * mesh creation).  Pass NULL if not wanted. */
typedef struct {
    int code;          /* same as the return value */
    char message[512]; /* one line, no trailing newline */
} h5ckpt_error;

/* Library version as "MAJOR.MINOR.PATCH".  Local. */
H5CKPT_API const char *h5ckpt_version(void);
/* H5CKPT_VERSION_NUMBER of the library actually linked.  Local. */
H5CKPT_API unsigned h5ckpt_version_number(void);

/* ------------------------------------------------------------------------ */
/* Data types                                                                */
/* ------------------------------------------------------------------------ */

/* X(name, torch-style name, size in bytes) */
#define H5CKPT_DTYPE_MAP(X)                                                   \
    X(BOOL, "bool", 1)                                                        \
    X(INT8, "int8", 1)                                                        \
    X(INT16, "int16", 2)                                                      \
    X(INT32, "int32", 4)                                                      \
    X(INT64, "int64", 8)                                                      \
    X(UINT8, "uint8", 1)                                                      \
    X(UINT16, "uint16", 2)                                                    \
    X(UINT32, "uint32", 4)                                                    \
    X(UINT64, "uint64", 8)                                                    \
    X(FLOAT16, "float16", 2)                                                  \
    X(BFLOAT16, "bfloat16", 2)                                                \
    X(FLOAT32, "float32", 4)                                                  \
    X(FLOAT64, "float64", 8)                                                  \
    X(FLOAT8_E4M3FN, "float8_e4m3fn", 1)                                      \
    X(FLOAT8_E5M2, "float8_e5m2", 1)

typedef enum {
#define H5CKPT__DT_ENUM(name, str, size) H5CKPT_##name,
    H5CKPT_DTYPE_MAP(H5CKPT__DT_ENUM)
#undef H5CKPT__DT_ENUM
    H5CKPT_DTYPE_COUNT
} h5ckpt_dtype;

/* Name of a dtype ("bfloat16"), or NULL for an invalid value.  Local. */
H5CKPT_API const char *h5ckpt_dtype_name(h5ckpt_dtype dtype);
/* Size of one element in bytes, or 0 for an invalid value.  Local. */
H5CKPT_API size_t h5ckpt_dtype_size(h5ckpt_dtype dtype);
/* Parse a dtype name.  Returns 0, or H5CKPT_EINVAL for an unknown name.
 * Local. */
H5CKPT_API int h5ckpt_dtype_from_name(h5ckpt_dtype *out, const char *name);

/* Most dimensions of a tensor or a mesh (HDF5's own limit). */
#define H5CKPT_MAX_NDIM 32

/* ------------------------------------------------------------------------ */
/* Device mesh                                                               */
/* ------------------------------------------------------------------------ */

typedef struct h5ckpt_mesh h5ckpt_mesh;

/*
 * Create an N-d device mesh over `comm`: rank r has the row-major coordinates
 * of r in `shape` (as torch.distributed.DeviceMesh).  The product of `shape`
 * must equal the size of `comm`.  `dim_names` may be NULL or an array of
 * `ndim` names (each 1..63 printable characters, no ',' '(' ')' '=' or
 * spaces).
 *
 * Collective over `comm`.  `comm` is duplicated; the caller keeps its own.
 * Errors: H5CKPT_EINVAL (bad shape or names), H5CKPT_EDISAGREE (ranks pass
 * different shapes or names), H5CKPT_ENOMEM, H5CKPT_EMPI.  On failure *out is
 * NULL and `err` (if not NULL) holds the message.
 */
H5CKPT_API int h5ckpt_mesh_create(h5ckpt_mesh **out, MPI_Comm comm, int ndim,
                                  const int *shape,
                                  const char *const *dim_names,
                                  h5ckpt_error *err);
/* Free a mesh.  Accepts NULL.  Local (frees the duplicated communicator, so
 * call it on every rank before MPI_Finalize). */
H5CKPT_API void h5ckpt_mesh_free(h5ckpt_mesh *mesh);
/* Number of mesh dimensions.  Local. */
H5CKPT_API int h5ckpt_mesh_ndim(const h5ckpt_mesh *mesh);
/* Size of mesh dimension `dim`, or 0 if out of range.  Local. */
H5CKPT_API int h5ckpt_mesh_size(const h5ckpt_mesh *mesh, int dim);
/* Coordinate of the calling rank along `dim`, or -1 if out of range. Local. */
H5CKPT_API int h5ckpt_mesh_coord(const h5ckpt_mesh *mesh, int dim);

/* ------------------------------------------------------------------------ */
/* Layouts: which part of a tensor the calling rank holds                    */
/* ------------------------------------------------------------------------ */

/* A placement per mesh dimension, as in PyTorch DTensor. */
#define H5CKPT_REPLICATE (-1)
#define H5CKPT_SHARD(tensor_dim) (tensor_dim)

typedef struct h5ckpt_layout h5ckpt_layout;

/*
 * The calling rank's part of a tensor of global `shape` (ndim 0..32) placed on
 * `mesh` with one placement per mesh dimension: H5CKPT_REPLICATE or
 * H5CKPT_SHARD(d).  Shards follow torch.chunk: chunk = ceil(n / k), trailing
 * ranks may get fewer or zero elements.  Several mesh dimensions sharding the
 * same tensor dimension nest in mesh-dimension order, as DTensor does.
 * The local buffer has the shape given by h5ckpt_layout_local_shape().
 *
 * Local.  The layout keeps a reference to `mesh`: free the layout first.
 * Errors: H5CKPT_EINVAL (bad ndim, placement out of range), H5CKPT_ENOMEM.
 */
H5CKPT_API int h5ckpt_layout_sharded(h5ckpt_layout **out,
                                     const h5ckpt_mesh *mesh, int ndim,
                                     const uint64_t *shape,
                                     const int *placements);
/*
 * An explicit box: `offset` and `count` per dimension (both NULL for a 0-d
 * tensor).  The local buffer has shape `count`.  Ranks that pass identical
 * boxes hold replicas; boxes of different ranks must otherwise not overlap,
 * and together they must cover the tensor when written.  Local.
 * Errors: H5CKPT_EINVAL (bad ndim, box outside shape), H5CKPT_ENOMEM.
 */
H5CKPT_API int h5ckpt_layout_box(h5ckpt_layout **out, int ndim,
                                 const uint64_t *shape,
                                 const uint64_t *offset,
                                 const uint64_t *count);
/*
 * The whole tensor (a plain, non-distributed tensor; or one rank reading
 * everything).  Same as a box with offset 0 and count = shape.  Local.
 */
H5CKPT_API int h5ckpt_layout_whole(h5ckpt_layout **out, int ndim,
                                   const uint64_t *shape);
/*
 * Nothing of the tensor (a rank that takes part in a collective call but
 * holds or wants no data).  Local.
 */
H5CKPT_API int h5ckpt_layout_none(h5ckpt_layout **out, int ndim,
                                  const uint64_t *shape);
/*
 * Elements [start, end) of the row-major flattening of the tensor (FSDP1 flat
 * parameters, ZeRO partitions).  The local buffer is 1-D, end - start
 * elements, and never strided.  Internally at most 2*ndim-1 boxes.  Local.
 * Errors: H5CKPT_EINVAL (start > end, end > number of elements).
 */
H5CKPT_API int h5ckpt_layout_range(h5ckpt_layout **out, int ndim,
                                   const uint64_t *shape, uint64_t start,
                                   uint64_t end);
/* Free a layout.  Accepts NULL.  Local. */
H5CKPT_API void h5ckpt_layout_free(h5ckpt_layout *layout);
/*
 * Shape of the calling rank's local buffer: `*ndim` and up to
 * H5CKPT_MAX_NDIM entries of `shape`.  For a range layout this is
 * (end - start,).  Local.
 */
H5CKPT_API int h5ckpt_layout_local_shape(const h5ckpt_layout *layout,
                                         int *ndim, uint64_t *shape);
/* Number of elements the calling rank holds.  Local. */
H5CKPT_API uint64_t h5ckpt_layout_local_count(const h5ckpt_layout *layout);
/* Number of boxes of the layout, and box i (offset, count of `ndim` entries
 * each) in the global index space.  Local. */
H5CKPT_API size_t h5ckpt_layout_nboxes(const h5ckpt_layout *layout);
H5CKPT_API int h5ckpt_layout_get_box(const h5ckpt_layout *layout, size_t i,
                                     uint64_t *offset, uint64_t *count);

/* ------------------------------------------------------------------------ */
/* Checkpoint handles                                                        */
/* ------------------------------------------------------------------------ */

typedef struct h5ckpt h5ckpt;

typedef enum {
    H5CKPT_EXECUTOR_PLAIN = 0 /* one collective H5Dwrite/H5Dread per tensor */
} h5ckpt_executor;

/* Options for create and open.  Initialise with H5CKPT_OPTIONS_INIT; new
 * fields are only ever appended. */
typedef struct {
    unsigned version;          /* H5CKPT_OPTIONS_VERSION */
    const h5ckpt_mesh *mesh;   /* recorded as the writer mesh; may be NULL */
    int fsync;                 /* create: fsync file and directory (default 1) */
    h5ckpt_executor executor;  /* I/O strategy (default plain) */
    int file_locking;          /* 0 disables HDF5 file locking (NFS, Lustre) */
    uint64_t alignment;        /* H5Pset_alignment threshold=alignment; 0: off */
} h5ckpt_options;

#define H5CKPT_OPTIONS_VERSION 1
#define H5CKPT_OPTIONS_INIT                                                   \
    { H5CKPT_OPTIONS_VERSION, NULL, 1, H5CKPT_EXECUTOR_PLAIN, 1, 0 }

/*
 * Start a new checkpoint that will appear at `path` when committed.  Data is
 * written to a temporary file in the same directory (named as the format
 * specification says); h5ckpt_commit() renames it into place atomically, so
 * an existing file at `path` survives any failure before that.
 *
 * Collective over `comm` (duplicated).  `opts` may be NULL for defaults.
 * Errors: H5CKPT_EINVAL, H5CKPT_EISDIR (path is a directory), H5CKPT_ENOENT
 * (directory missing), H5CKPT_EIO, H5CKPT_EDISAGREE (ranks pass different
 * paths or options), H5CKPT_ENOMEM, H5CKPT_EMPI.  On failure *out is NULL and
 * `err` (if not NULL) holds the message, identical on all ranks.
 */
H5CKPT_API int h5ckpt_create(h5ckpt **out, const char *path, MPI_Comm comm,
                             const h5ckpt_options *opts, h5ckpt_error *err);
/*
 * Open a committed checkpoint for reading on any communicator.  Rank 0 reads
 * the file's index (tensors, groups, attributes) and shares it, so every rank
 * sees the same listing.
 *
 * Collective over `comm` (duplicated).  `opts` may be NULL.
 * Errors: H5CKPT_ENOENT, H5CKPT_EISDIR, H5CKPT_ENOTCKPT (not HDF5, or HDF5
 * without h5ckpt root attributes), H5CKPT_EVERSION (read version newer than
 * this library), H5CKPT_ENOTCOMMITTED, H5CKPT_ECORRUPT, H5CKPT_EIO,
 * H5CKPT_EDISAGREE, H5CKPT_ENOMEM, H5CKPT_EMPI.
 */
H5CKPT_API int h5ckpt_open(h5ckpt **out, const char *path, MPI_Comm comm,
                           const h5ckpt_options *opts, h5ckpt_error *err);

/*
 * Writer: execute every queued put and attribute, then mark the file
 * committed, close it, fsync it, rename it to the final path and fsync the
 * directory.  The handle is then closed for writing (only free is allowed).
 * Collective.  On any error the temporary file is removed, the previous file
 * at the path is untouched, and the same code is returned on every rank.
 * Errors: those of h5ckpt_flush(), H5CKPT_EIO, H5CKPT_EISDIR (the target
 * became a directory), H5CKPT_EMODE (reader handle).
 */
H5CKPT_API int h5ckpt_commit(h5ckpt *ck);
/*
 * Close and free a handle.  A writer that was not committed is aborted: its
 * temporary file is removed and nothing at the target path changes.
 * Collective (HDF5 closes collectively).  Accepts NULL.  Returns 0 or
 * H5CKPT_EIO.
 */
H5CKPT_API int h5ckpt_close(h5ckpt *ck);

/* Last error message recorded on the handle ("" if none).  Local. */
H5CKPT_API const char *h5ckpt_errmsg(const h5ckpt *ck);
/* Communicator of the handle (a duplicate; do not free).  Local. */
H5CKPT_API MPI_Comm h5ckpt_comm(const h5ckpt *ck);

/* Optional description of the local buffer of a put or get.  NULL means a
 * contiguous row-major host buffer. */
typedef enum {
    H5CKPT_MEM_HOST = 0,
    H5CKPT_MEM_CUDA = 1 /* device memory; needs a CUDA build */
} h5ckpt_memkind;

typedef struct {
    unsigned version;       /* H5CKPT_BUFFER_VERSION */
    h5ckpt_memkind kind;    /* where the buffer lives */
    const int64_t *strides; /* elements between neighbours along each local
                               dimension (> 0), or NULL for row-major */
} h5ckpt_buffer;

#define H5CKPT_BUFFER_VERSION 1
#define H5CKPT_BUFFER_INIT { H5CKPT_BUFFER_VERSION, H5CKPT_MEM_HOST, NULL }

/*
 * Queue the calling rank's part of tensor `path` for writing.  Nothing is
 * written until h5ckpt_flush() or h5ckpt_commit(); `data` (and the strides
 * array) must stay valid and unchanged until then.  `layout` is copied.
 *
 * Local, but every rank must queue the same tensors (path, dtype, global
 * shape) in the same order; the next flush fails with H5CKPT_EDISAGREE on
 * every rank otherwise.
 * Errors: H5CKPT_ENAME (invalid path), H5CKPT_EEXIST (path already used,
 * or it lies inside a tensor, or a tensor would contain it: "a" then "a/b"),
 * H5CKPT_EINVAL (NULL data for a non-empty part, bad strides, bad dtype),
 * H5CKPT_EMODE (reader handle or committed writer), H5CKPT_ENOTSUP.
 * An error is also remembered and returned by the next flush on every rank.
 */
H5CKPT_API int h5ckpt_tensor_put(h5ckpt *ck, const char *path,
                                 h5ckpt_dtype dtype,
                                 const h5ckpt_layout *layout, const void *data,
                                 const h5ckpt_buffer *buf);
/*
 * Queue a read of the calling rank's part of tensor `path` into `data`.  The
 * dtype and global shape must equal those stored.  Data arrives at the next
 * h5ckpt_flush().  Local, with the same ordering rule as put.
 * Errors: H5CKPT_ENOTFOUND (no such tensor), H5CKPT_EDTYPE, H5CKPT_ESHAPE,
 * H5CKPT_ENAME, H5CKPT_EINVAL, H5CKPT_EMODE.  An error is also remembered and
 * returned by the next flush on every rank.
 */
H5CKPT_API int h5ckpt_tensor_get(h5ckpt *ck, const char *path,
                                 h5ckpt_dtype dtype,
                                 const h5ckpt_layout *layout, void *data,
                                 const h5ckpt_buffer *buf);
/*
 * Execute everything queued: checks that ranks agree, plans which rank
 * writes which region (replicated regions once, owners spread over the
 * replicas), then performs the I/O.  Collective.  After an error the queue
 * is emptied; a writer that failed can only be closed.
 * Errors: H5CKPT_EDISAGREE, H5CKPT_ELAYOUT (explicit boxes overlap or do not
 * cover a tensor), any error remembered from put/get, H5CKPT_EIO, H5CKPT_EMPI.
 */
H5CKPT_API int h5ckpt_flush(h5ckpt *ck);

/*
 * Bytes of tensor data this rank has written to (or read from) the file
 * through this handle so far.  Replicated regions are written by one owner
 * only, so the sum over ranks of bytes written equals the tensors' size.
 * Local.
 */
H5CKPT_API uint64_t h5ckpt_bytes_written(const h5ckpt *ck);
H5CKPT_API uint64_t h5ckpt_bytes_read(const h5ckpt *ck);

/* ------------------------------------------------------------------------ */
/* Listing (readers; local: every rank holds the same index)                 */
/* ------------------------------------------------------------------------ */

/* Number of tensors in the file. */
H5CKPT_API size_t h5ckpt_tensor_count(const h5ckpt *ck);
/* Path of tensor i (sorted by path), or NULL if out of range. */
H5CKPT_API const char *h5ckpt_tensor_path(const h5ckpt *ck, size_t i);
/*
 * Dtype, ndim and global shape (up to H5CKPT_MAX_NDIM entries) of a tensor.
 * Any out pointer may be NULL.  Errors: H5CKPT_ENOTFOUND, H5CKPT_EMODE.
 */
H5CKPT_API int h5ckpt_tensor_info(const h5ckpt *ck, const char *path,
                                  h5ckpt_dtype *dtype, int *ndim,
                                  uint64_t *shape);
/* The writer's placements as recorded in the file (see the format spec), or
 * NULL if the tensor does not exist. */
H5CKPT_API const char *h5ckpt_tensor_placements(const h5ckpt *ck,
                                                const char *path);
/* 1 if the group exists in the file (or, for a writer, was declared), else
 * 0.  "" is the root group. */
H5CKPT_API int h5ckpt_group_exists(const h5ckpt *ck, const char *group);
/* Number of groups in the file (root excluded) and group i (sorted). */
H5CKPT_API size_t h5ckpt_group_count(const h5ckpt *ck);
H5CKPT_API const char *h5ckpt_group_path(const h5ckpt *ck, size_t i);

/* ------------------------------------------------------------------------ */
/* Attributes on groups (and tensors)                                        */
/* ------------------------------------------------------------------------ */

typedef enum {
    H5CKPT_ATTR_INT64 = 0,
    H5CKPT_ATTR_FLOAT64 = 1,
    H5CKPT_ATTR_STRING = 2,
    H5CKPT_ATTR_BOOL = 3
} h5ckpt_attr_type;

/*
 * Queue a typed attribute `name` on the group or tensor `obj` ("" = root
 * group; a group that does not exist yet is created).  `values` points to
 * `count` int64_t, double, int (bool: 0 or 1) or `const char *` (string)
 * values, all copied.  `count` = 0 means a scalar (one value); count >= 1 a
 * 1-D array of that length.  Names starting with "h5ckpt_" are reserved.
 * Written at the next flush or commit.  Local, ordering rule as put.
 * Errors: H5CKPT_ENAME, H5CKPT_EEXIST, H5CKPT_EINVAL, H5CKPT_EMODE.
 */
H5CKPT_API int h5ckpt_attr_put(h5ckpt *ck, const char *obj, const char *name,
                               h5ckpt_attr_type type, size_t count,
                               const void *values);
H5CKPT_API int h5ckpt_attr_put_int64(h5ckpt *ck, const char *obj,
                                     const char *name, int64_t value);
H5CKPT_API int h5ckpt_attr_put_float64(h5ckpt *ck, const char *obj,
                                       const char *name, double value);
H5CKPT_API int h5ckpt_attr_put_string(h5ckpt *ck, const char *obj,
                                      const char *name, const char *value);
H5CKPT_API int h5ckpt_attr_put_bool(h5ckpt *ck, const char *obj,
                                    const char *name, int value);

/* Number of user attributes on `obj` (reserved ones are not listed) and the
 * name of attribute i (sorted).  Readers only; local. */
H5CKPT_API size_t h5ckpt_attr_count(const h5ckpt *ck, const char *obj);
H5CKPT_API const char *h5ckpt_attr_name(const h5ckpt *ck, const char *obj,
                                        size_t i);
/*
 * Type and count (0 = scalar) of attribute `name` on `obj`.  Any out pointer
 * may be NULL.  Readers; local.  Errors: H5CKPT_ENOTFOUND, H5CKPT_EMODE.
 */
H5CKPT_API int h5ckpt_attr_info(const h5ckpt *ck, const char *obj,
                                const char *name, h5ckpt_attr_type *type,
                                size_t *count);
/*
 * Copy the values of an attribute into `values`, which holds `capacity`
 * elements (int64_t, double, int, or `const char *` pointing into the handle).
 * Readers; local.  Errors: H5CKPT_ENOTFOUND, H5CKPT_EDTYPE (type differs),
 * H5CKPT_EINVAL (capacity too small), H5CKPT_EMODE.
 */
H5CKPT_API int h5ckpt_attr_get(const h5ckpt *ck, const char *obj,
                               const char *name, h5ckpt_attr_type type,
                               size_t capacity, void *values);
H5CKPT_API int h5ckpt_attr_get_int64(const h5ckpt *ck, const char *obj,
                                     const char *name, int64_t *out);
H5CKPT_API int h5ckpt_attr_get_float64(const h5ckpt *ck, const char *obj,
                                       const char *name, double *out);
/* `*out` points into the handle. */
H5CKPT_API int h5ckpt_attr_get_string(const h5ckpt *ck, const char *obj,
                                      const char *name, const char **out);
H5CKPT_API int h5ckpt_attr_get_bool(const h5ckpt *ck, const char *obj,
                                    const char *name, int *out);

/* ------------------------------------------------------------------------ */
/* File-level information (readers; local)                                   */
/* ------------------------------------------------------------------------ */

/* Write and read format versions stored in the file. */
H5CKPT_API int h5ckpt_format_versions(const h5ckpt *ck, int64_t *write_version,
                                      int64_t *read_version);
/* Writer mesh shape: `*ndim` and up to H5CKPT_MAX_NDIM sizes. */
H5CKPT_API int h5ckpt_writer_mesh(const h5ckpt *ck, int *ndim, int64_t *shape);

/* ------------------------------------------------------------------------ */
/* Limits and malformed files (no new functions)                             */
/* ------------------------------------------------------------------------ */

/*
 * - h5ckpt_open() refuses a malformed file with H5CKPT_ECORRUPT on every
 *   rank: see format-spec/FORMAT.md, "Limits and malformed files" (objects
 *   linked twice, virtual or external datasets, storage that does not hold
 *   the shape, inconsistent writer mesh, oversized attributes or names).
 *   Attributes the format cannot represent exactly (null dataspace, more
 *   than one dimension, integers beyond int64) are not listed.
 * - h5ckpt_create() and h5ckpt_open() return H5CKPT_EINVAL for a path whose
 *   base name leaves no room for the temporary name (over NAME_MAX - 29
 *   bytes) and, with Open MPI 4.x, for paths MPI-IO would abort on (over 244
 *   bytes, or base names over 205 bytes).
 * - A NULL `out`, path or bad options version on some ranks only fails every
 *   rank alike (H5CKPT_EINVAL), as does a NULL `out` in h5ckpt_mesh_create().
 *   NULL options and H5CKPT_OPTIONS_INIT are the same options.
 */

#ifdef __cplusplus
}
#endif

#endif /* H5CKPT_H */
