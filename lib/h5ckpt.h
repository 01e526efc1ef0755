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
    X(ENOTSUP, -19, "not supported by this build")                           \
    X(ENOCKPT, -20, "nothing to load: no committed checkpoint")              \
    X(ECHECKSUM, -21, "checksum mismatch: the data read is not the data written") \
    X(EDEVICE, -22, "device error (CUDA or NCCL)")

typedef enum {
#define H5CKPT__ERR_ENUM(name, value, desc) H5CKPT_##name = (value),
    H5CKPT_ERRNO_MAP(H5CKPT__ERR_ENUM)
#undef H5CKPT__ERR_ENUM
} h5ckpt_errcode;

/* Description of an error code ("invalid layout"); never NULL.  Local. */
H5CKPT_API const char *h5ckpt_strerror(int code);
/* Symbolic name of an error code ("H5CKPT_ELAYOUT"); never NULL.  Local. */
H5CKPT_API const char *h5ckpt_errname(int code);

/*
 * Messages: one channel per kind of function.  Functions on a handle
 * (h5ckpt, h5ckpt_state, h5ckpt_ckdir) keep the last message on it
 * (h5ckpt_errmsg() and its kin).  Functions without a handle, or that make
 * one (create, open, mesh and layout constructors, h5ckpt_state_create,
 * h5ckpt_ckdir_open, h5ckpt_verify, h5ckpt_dtype_from_name), fill an
 * optional h5ckpt_error.  Pass NULL if not wanted.
 */
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
/* Parse a dtype name.  Returns 0, or H5CKPT_EINVAL for an unknown name
 * (message in `err`, may be NULL).  Local. */
H5CKPT_API int h5ckpt_dtype_from_name(h5ckpt_dtype *out, const char *name,
                                      h5ckpt_error *err);

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

/*
 * Every constructor below fills `err` (may be NULL) with the code and a
 * one-line message on failure, and sets *out to NULL.
 */

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
                                     const int *placements, h5ckpt_error *err);
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
                                 const uint64_t *count, h5ckpt_error *err);
/*
 * The whole tensor (a plain, non-distributed tensor; or one rank reading
 * everything).  Same as a box with offset 0 and count = shape.  Local.
 */
H5CKPT_API int h5ckpt_layout_whole(h5ckpt_layout **out, int ndim,
                                   const uint64_t *shape, h5ckpt_error *err);
/*
 * Nothing of the tensor (a rank that takes part in a collective call but
 * holds or wants no data).  Local.
 */
H5CKPT_API int h5ckpt_layout_none(h5ckpt_layout **out, int ndim,
                                  const uint64_t *shape, h5ckpt_error *err);
/*
 * Elements [start, end) of the row-major flattening of the tensor (FSDP1 flat
 * parameters, ZeRO partitions).  The local buffer is 1-D, end - start
 * elements, and never strided.  Internally at most 2*ndim-1 boxes.  Local.
 * Errors: H5CKPT_EINVAL (start > end, end > number of elements).
 */
H5CKPT_API int h5ckpt_layout_range(h5ckpt_layout **out, int ndim,
                                   const uint64_t *shape, uint64_t start,
                                   uint64_t end, h5ckpt_error *err);
/*
 * Several boxes of one tensor held by the calling rank (a rank holding
 * several chunks: PyTorch DCP plans, hand-made shardings): box i has
 * `offsets[i*ndim .. i*ndim+ndim-1]` and the same entries of `counts`.
 * The local buffer is 1-D: the elements of box 0 in row-major order, then
 * those of box 1, and so on (h5ckpt_layout_local_shape() gives the total);
 * it is never strided.  The boxes of one layout must not overlap one
 * another; across ranks the rules of h5ckpt_layout_box() apply to every
 * box (identical boxes are replicas, owned once; otherwise no overlap, and
 * a written tensor is covered).  Empty boxes are allowed and hold nothing.
 * nboxes = 0 is the same as h5ckpt_layout_none(); a 0-d tensor has at most
 * one box (offsets and counts unused).  Works with both executors and with
 * device buffers, for puts and gets.
 *
 * Local.  Errors: H5CKPT_EINVAL (bad ndim or shape, NULL offsets or counts
 * with nboxes > 0, a box outside the shape, two boxes overlapping),
 * H5CKPT_ENOMEM.  On failure *out is NULL and `err` (may be NULL) holds
 * the message.
 */
H5CKPT_API int h5ckpt_layout_boxes(h5ckpt_layout **out, int ndim,
                                   const uint64_t *shape, size_t nboxes,
                                   const uint64_t *offsets,
                                   const uint64_t *counts, h5ckpt_error *err);
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
H5CKPT_API size_t h5ckpt_layout_box_count(const h5ckpt_layout *layout);
H5CKPT_API int h5ckpt_layout_box_at(const h5ckpt_layout *layout, size_t i,
                                     uint64_t *offset, uint64_t *count);

/* ------------------------------------------------------------------------ */
/* Checkpoint handles                                                        */
/* ------------------------------------------------------------------------ */

typedef struct h5ckpt h5ckpt;
/* Reusable snapshot memory of one rank for asynchronous commits (section
 * "Asynchronous commits"). */
typedef struct h5ckpt_snapshot h5ckpt_snapshot;

typedef enum {
    H5CKPT_EXECUTOR_DEFAULT = 0, /* fast, unless $H5CKPT_EXECUTOR says otherwise */
    H5CKPT_EXECUTOR_PLAIN = 1,   /* one collective H5Dwrite, one independent
                                    H5Dread per tensor */
    H5CKPT_EXECUTOR_FAST = 2     /* pwrite/pread at the datasets' offsets */
} h5ckpt_executor;

/*
 * Options for create and open.  A zeroed struct (or NULL options) means the
 * defaults, so every field's zero is its default; h5ckpt_options_init() and
 * H5CKPT_OPTIONS_INIT give the same.  New fields are only ever appended.
 *
 * Environment overrides, read in one place (where create and open resolve
 * their options) and nowhere else:
 *  - H5CKPT_EXECUTOR=plain|fast sets the executor when `executor` is
 *    H5CKPT_EXECUTOR_DEFAULT (another value fails with H5CKPT_EINVAL);
 *  - H5CKPT_EXCHANGE=0 sets `no_exchange`;
 *  - H5CKPT_DIRECT=0 sets `no_direct`.
 * Options are agreed: ranks whose resolved options differ (no_exchange and
 * no_direct aside: one rank's 1 sets them on every rank; and the snapshot
 * pointer) fail create or open with H5CKPT_EDISAGREE on every rank.
 */
typedef struct {
    unsigned version;          /* 0 or H5CKPT_OPTIONS_VERSION */
    const h5ckpt_mesh *mesh;   /* create: recorded as the writer mesh; NULL:
                                  a 1-D mesh of the communicator's size */
    h5ckpt_executor executor;  /* I/O strategy (see "Executors" below) */
    int no_fsync;              /* create: 1 skips the fsync of the file and
                                  its directory at commit (tests, scratch) */
    int no_file_locking;       /* 1 disables HDF5 file locking (NFS, Lustre
                                  mounts without locks) */
    uint64_t alignment;        /* H5Pset_alignment threshold=alignment; 0: off */
    int verify_checksums;      /* open: check the checksum of every written
                                  piece a read touches (section "Checksums") */
    uint64_t staging_bytes;    /* pinned host staging per rank for device
                                  buffers with the fast executor, split in
                                  two halves (section "Device buffers");
                                  0: 256 MiB; less than 64 KiB: 64 KiB */
    int no_exchange;           /* create, open, fast executor: 1 turns the
                                  node-local exchange of fragmented reads
                                  and writes off; one rank's 1 turns it off
                                  on every rank (not compared) */
    int no_direct;             /* create, fast executor: 1 writes through
                                  the page cache only, never with O_DIRECT
                                  (section "Executors"); one rank's 1 turns
                                  it off on every rank (agreed, not
                                  compared) */
    uint64_t snapshot_bytes;   /* create, h5ckpt_commit_start: this rank's
                                  snapshot memory budget (section
                                  "Asynchronous commits"); 0: the rank's own
                                  bytes of the save; less than 64 KiB:
                                  64 KiB */
    h5ckpt_snapshot *snapshot; /* create, h5ckpt_commit_start: reusable
                                  snapshot memory, each rank its own (not
                                  compared); NULL: memory of the save's
                                  own, freed when the save ends */
} h5ckpt_options;

#define H5CKPT_OPTIONS_VERSION 1
#define H5CKPT_OPTIONS_INIT                                                   \
    { H5CKPT_OPTIONS_VERSION, NULL, H5CKPT_EXECUTOR_DEFAULT, 0, 0, 0, 0, 0, 0, \
      0, 0, NULL }

/* Set `*opts` to the defaults (every field zero, version current).  Local. */
H5CKPT_API void h5ckpt_options_init(h5ckpt_options *opts);

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
 * sees the same listing.  The handle reads the file it opened until it is
 * closed, even if another checkpoint is renamed over `path` meanwhile (each
 * rank holds a descriptor on it, and every later read, HDF5's included,
 * goes through it); a replacement during the open itself fails with
 * H5CKPT_EIO ("open it again") on every rank, a file deleted during the
 * open with H5CKPT_ENOENT ("deleted while it was being opened").
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
 * A file system without room for the file: H5CKPT_EIO, the message naming
 * it ("No space left on device"); the space is reserved (fallocate) before
 * the writes HDF5 and MPI-IO do not survive failing (docs/WORKAROUNDS.md).
 * Errors: those of h5ckpt_flush(), H5CKPT_EIO, H5CKPT_EISDIR (the target
 * became a directory), H5CKPT_EMODE (reader handle).
 * h5ckpt_commit is h5ckpt_commit_start followed by h5ckpt_commit_wait,
 * except that it writes from the caller's buffers on the caller's thread:
 * no snapshot, no thread, any MPI thread level.
 */
H5CKPT_API int h5ckpt_commit(h5ckpt *ck);
/*
 * The same commit in two halves, so that training goes on while the file is
 * written (section "Asynchronous commits" says how, with which memory, and
 * what the thread level must be).
 *
 * h5ckpt_commit_start: execute every queued put and attribute up to a
 * snapshot: ranks agree, plan, rank 0 creates the objects, then each rank
 * copies the pieces it writes into snapshot memory and a background thread
 * of its own writes and hashes them.  When it returns 0, the caller may
 * change or free every buffer it passed to h5ckpt_tensor_put (and every
 * state buffer h5ckpt_state_save queued); the handle then only accepts
 * h5ckpt_commit_test, h5ckpt_commit_wait and h5ckpt_close.  Collective.
 * Errors: those of h5ckpt_flush() (the writer can then only be closed);
 * H5CKPT_ENOTSUP when MPI does not provide MPI_THREAD_FUNNELED or more
 * (nothing was done: h5ckpt_commit() still works); H5CKPT_EMODE (a
 * reader, a writer committed, failed or already committing, or options'
 * snapshot memory in use by another save in flight); H5CKPT_ENOMEM.
 */
H5CKPT_API int h5ckpt_commit_start(h5ckpt *ck);
/*
 * Is the background write of a started commit finished?  *done = 1 when it
 * is (h5ckpt_commit_wait will then not wait for it; whether it succeeded is
 * what wait says), else 0.  Local: no communication, never blocks.
 * Errors: H5CKPT_EINVAL (NULL), H5CKPT_EMODE (no commit in flight: start
 * was not called or failed, or wait already returned).
 */
H5CKPT_API int h5ckpt_commit_test(h5ckpt *ck, int *done);
/*
 * Finish a started commit: wait for this rank's background writer, agree on
 * every rank's outcome, then write the checksum table and the commit
 * marker, close, fsync, rename to the final path and fsync the directory,
 * as h5ckpt_commit() does.  Collective; the same code and message on every
 * rank.  On an error the temporary file is removed at once and the
 * previous file at the path is untouched; the writer can only be closed.
 * Errors: H5CKPT_EIO (a background write failed: disk full, I/O error; the
 * message names the lowest failing rank and the file, "rank 1: writing
 * '<dir>/.<name>.h5ckpt-tmp-<hex>' in the background failed: No space left
 * on device"), those of h5ckpt_commit(), H5CKPT_EMODE (no commit in
 * flight).
 */
H5CKPT_API int h5ckpt_commit_wait(h5ckpt *ck);
/*
 * Close and free a handle.  A writer that was not committed is aborted: its
 * temporary file is removed and nothing at the target path changes; its
 * HDF5 file is closed without writing to disk, so the close returns and
 * releases every HDF5 identifier whatever made the commit fail (a full
 * file system included).  A writer whose commit was started and not waited
 * for is aborted too: its background writer is stopped (pieces not yet
 * written are dropped) and joined, its snapshot memory returned, its
 * temporary file removed; the checkpoint is not published.  Collective
 * (HDF5 closes collectively).  Accepts NULL.  Returns 0 or H5CKPT_EIO.
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
    H5CKPT_MEM_CUDA = 1 /* CUDA device memory of the calling thread's
                           current device; needs a CUDA build (section
                           "Device buffers") */
} h5ckpt_memkind;

typedef struct {
    unsigned version;       /* 0 or H5CKPT_BUFFER_VERSION (zeroed: host,
                               row-major) */
    h5ckpt_memkind kind;    /* where the buffer lives */
    const int64_t *strides; /* elements between neighbours along each local
                               dimension (> 0), or NULL for row-major */
} h5ckpt_buffer;

#define H5CKPT_BUFFER_VERSION 1
#define H5CKPT_BUFFER_INIT { H5CKPT_BUFFER_VERSION, H5CKPT_MEM_HOST, NULL }

/*
 * Queue the calling rank's part of tensor `path` for writing.  Nothing is
 * written until h5ckpt_flush(), h5ckpt_commit() or h5ckpt_commit_start();
 * `data` (and the strides array) must stay valid and unchanged until that
 * call returns.  `layout` is copied.
 *
 * Local, but every rank must queue the same tensors (path, dtype, global
 * shape) in the same order; the next flush fails with H5CKPT_EDISAGREE on
 * every rank otherwise.
 * Errors: H5CKPT_ENAME (invalid path), H5CKPT_EEXIST (path already used,
 * or it lies inside a tensor, or a tensor would contain it: "a" then "a/b"),
 * H5CKPT_EINVAL (NULL data for a non-empty part, bad strides, bad dtype,
 * a host pointer declared CUDA), H5CKPT_EMODE (reader handle or committed
 * writer), H5CKPT_ENOTSUP (CUDA buffers without a usable device; section
 * "Device buffers").
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
 * H5CKPT_ENAME, H5CKPT_EINVAL, H5CKPT_EMODE, H5CKPT_ENOTSUP (as put).  An
 * error is also remembered and returned by the next flush on every rank.
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
 * cover a tensor), any error remembered from put/get, H5CKPT_EIO, H5CKPT_EMPI,
 * H5CKPT_EDEVICE (a CUDA or NCCL error; section "Device buffers").
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
H5CKPT_API const char *h5ckpt_tensor_at(const h5ckpt *ck, size_t i);
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
H5CKPT_API const char *h5ckpt_group_at(const h5ckpt *ck, size_t i);

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
H5CKPT_API const char *h5ckpt_attr_at(const h5ckpt *ck, const char *obj,
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
/* Training state: models, optimizer, scheduler, scaler, metadata            */
/* (format-spec/FORMAT.md, section "Training-state profile")                 */
/* ------------------------------------------------------------------------ */

/*
 * A state is the set of named tensors and typed attributes that make up what
 * a training program saves: models (`model/<name>/<param>`), optimizer state
 * (`optimizer/state/<name>/<param>/<key>`, `optimizer/param_groups/<i>`),
 * scheduler and scaler attributes, `metadata/` and the root `step`/`epoch`.
 * Entries *borrow* the caller's buffers: h5ckpt_state_save() reads them (at
 * the writer's next flush or commit) and h5ckpt_state_load() fills them.
 * Every rank builds the same entries (keys, dtypes, global shapes, attribute
 * types and counts) in the same order; layouts and buffers are per rank, so
 * a state saved on one mesh loads on any other.
 */
typedef struct h5ckpt_state h5ckpt_state;

/* Create an empty state.  Local.  Errors: H5CKPT_EINVAL, H5CKPT_ENOMEM
 * (message in `err`, may be NULL). */
H5CKPT_API int h5ckpt_state_create(h5ckpt_state **out, h5ckpt_error *err);
/* Free a state and everything it owns (reports, loaded strings).  Accepts
 * NULL.  Local. */
H5CKPT_API void h5ckpt_state_free(h5ckpt_state *st);
/* Last error message recorded on the state ("" if none).  Local. */
H5CKPT_API const char *h5ckpt_state_errmsg(const h5ckpt_state *st);

/*
 * Register a model called `name` (one path component) and return its id
 * (0, 1, ... in registration order) in *out.  When several models share a
 * name, they are stored as `<name>0`, `<name>1`, ... in registration order
 * (skipping names another model already uses).  Local.
 * Errors: H5CKPT_ENAME (empty name or one containing '/'), H5CKPT_ENOMEM.
 */
H5CKPT_API int h5ckpt_state_add_model(h5ckpt_state *st, const char *name,
                                      int *out);
/* The name model `model` is stored under (after collision suffixes), or
 * NULL if there is no such model.  Owned by the state; valid until the next
 * add_model or free.  Local. */
H5CKPT_API const char *h5ckpt_state_model_name(h5ckpt_state *st, int model);

/*
 * A parameter or buffer of model `model`: tensor
 * `model/<model name>/<param>`.  `param` may contain '/' (nested modules)
 * and '.'.  `layout` is copied; `data` is borrowed (see above); a plain
 * (non-distributed) tensor uses h5ckpt_layout_whole() on every rank.
 * Local.  Errors: H5CKPT_EINVAL (unknown model, bad dtype, NULL layout),
 * H5CKPT_ENAME, H5CKPT_EEXIST (the same key twice), H5CKPT_ENOMEM.
 */
H5CKPT_API int h5ckpt_state_add_param(h5ckpt_state *st, int model,
                                      const char *param, h5ckpt_dtype dtype,
                                      const h5ckpt_layout *layout, void *data);
/*
 * Per-parameter optimizer state: tensor
 * `optimizer/state/<model name>/<param>/<key>` (key "exp_avg",
 * "exp_avg_sq", "momentum_buffer", "step", ...).  Usually the parameter's
 * own layout; a 0-d layout for scalar state such as "step".  Local.
 * Errors: as h5ckpt_state_add_param().
 */
H5CKPT_API int h5ckpt_state_add_optim(h5ckpt_state *st, int model,
                                      const char *param, const char *key,
                                      h5ckpt_dtype dtype,
                                      const h5ckpt_layout *layout, void *data);
/*
 * Any other tensor, at its full path (e.g. "metadata/rng/state").  Local.
 * Errors: as h5ckpt_state_add_param().
 */
H5CKPT_API int h5ckpt_state_add_tensor(h5ckpt_state *st, const char *path,
                                       h5ckpt_dtype dtype,
                                       const h5ckpt_layout *layout,
                                       void *data);
/*
 * A typed attribute `name` on group `obj` ("" = the root), e.g.
 * ("", "step"), ("optimizer/param_groups/0", "lr"),
 * ("scaler", "scale"), ("metadata/run", "name").  `values` is borrowed:
 * `count` elements (0 = scalar, one element) of int64_t, double, int (bool)
 * or `const char *` (string).  On save they are copied at
 * h5ckpt_state_save(); on load they are overwritten, strings with pointers
 * owned by the state (valid until its next load or free).  Local.
 * Errors: H5CKPT_ENAME, H5CKPT_EINVAL, H5CKPT_EEXIST, H5CKPT_ENOMEM.
 */
H5CKPT_API int h5ckpt_state_add_attr(h5ckpt_state *st, const char *obj,
                                     const char *name, h5ckpt_attr_type type,
                                     size_t count, void *values);

/*
 * Queue every entry of the state on writer `ck` (tensor puts and attribute
 * puts).  Nothing is written until h5ckpt_flush(), h5ckpt_commit() or
 * h5ckpt_commit_start() (directly or through a checkpoint directory), so the
 * tensor buffers must stay valid and unchanged until that call returns; after
 * h5ckpt_commit_start() training may change them at once.  Local, with the ordering rule
 * of h5ckpt_tensor_put(); errors are also returned by the next flush on
 * every rank.  Errors: those of h5ckpt_tensor_put() and h5ckpt_attr_put()
 * (the message is on the writer and on the state).
 */
H5CKPT_API int h5ckpt_state_save(h5ckpt_state *st, h5ckpt *ck);

/* Flags of h5ckpt_state_load(). */
#define H5CKPT_LOAD_STRICT 1u /* missing or unexpected keys are an error */

/*
 * Read every entry of the state from reader `ck` into the borrowed buffers.
 *
 * Keys: a tensor's key is its path; an attribute's key is "<obj>@<name>"
 * ("@step" at the root).  A key is *missing* when the state has it and the
 * file does not; *unexpected* when the file has it under a top-level group
 * (or, for attributes, at the root) where the state has at least one entry
 * and the state does not.  Missing entries are left untouched.
 *
 * Training state is everything outside `model/` (optimizer, scheduler,
 * scaler, metadata, other tensors, root attributes).  When the file holds
 * none (no group or tensor outside `model/`: a weights-only file), the
 * state's entries outside `model/` are skipped without being reported
 * missing, the load succeeds, and h5ckpt_state_has_training_state() returns
 * 0 on every rank.
 *
 * Non-strict (flags 0): the load succeeds with the key lists available from
 * h5ckpt_state_missing_*() / h5ckpt_state_unexpected_*().  Strict
 * (H5CKPT_LOAD_STRICT): if either list is not empty, nothing is read and
 * H5CKPT_ENOTFOUND is returned with both lists in the message.  A dtype or
 * shape that differs from the file's is always an error naming the tensor
 * or attribute.
 *
 * Collective over the reader's communicator; the same code and message on
 * every rank.  Errors: H5CKPT_ENOTFOUND (strict), H5CKPT_EDTYPE,
 * H5CKPT_ESHAPE, H5CKPT_EDISAGREE (ranks registered different entries),
 * H5CKPT_EMODE (not a reader), those of h5ckpt_flush().
 */
H5CKPT_API int h5ckpt_state_load(h5ckpt_state *st, h5ckpt *ck,
                                 unsigned flags);
/*
 * Convenience: open the checkpoint file `path` on `comm` (h5ckpt_open with
 * default options), h5ckpt_state_load() it with `flags`, close it.  For
 * weights-only loads from a single file into any layout.  Collective.
 * Errors: those of h5ckpt_open() and h5ckpt_state_load(); the message is
 * on the state.
 */
H5CKPT_API int h5ckpt_state_load_file(h5ckpt_state *st, const char *path,
                                      MPI_Comm comm, unsigned flags);
/* After a load: 1 if the file held training state (see above), else 0.
 * Local. */
H5CKPT_API int h5ckpt_state_has_training_state(const h5ckpt_state *st);
/* After a load: the missing and unexpected keys (sorted), owned by the
 * state until its next load or free.  Local. */
H5CKPT_API size_t h5ckpt_state_missing_count(const h5ckpt_state *st);
H5CKPT_API const char *h5ckpt_state_missing_at(const h5ckpt_state *st,
                                                size_t i);
H5CKPT_API size_t h5ckpt_state_unexpected_count(const h5ckpt_state *st);
H5CKPT_API const char *h5ckpt_state_unexpected_at(const h5ckpt_state *st,
                                                   size_t i);

/* ------------------------------------------------------------------------ */
/* Checkpoint directories: numbered checkpoints, latest, retention           */
/* (format-spec/FORMAT.md, section "Checkpoint directories")                 */
/* ------------------------------------------------------------------------ */

/*
 * A directory of numbered checkpoints `ckpt-<index, 9+ digits>.h5`.  Only
 * rank 0 of the communicator touches the file system; what it finds (the
 * committed indices) is broadcast, so ranks never disagree because of
 * file-system caching.  One program saves into a directory at a time.
 */
typedef struct h5ckpt_ckdir h5ckpt_ckdir;

typedef struct {
    unsigned version; /* 0 or H5CKPT_CKDIR_OPTIONS_VERSION (zeroed
                         options are the defaults) */
    int keep_last;    /* after a save keep the newest N (0: keep all) */
    int keep_every;   /* also keep indices divisible by K (0: none) */
} h5ckpt_ckdir_options;

#define H5CKPT_CKDIR_OPTIONS_VERSION 1
#define H5CKPT_CKDIR_OPTIONS_INIT { H5CKPT_CKDIR_OPTIONS_VERSION, 0, 0 }

/* Index arguments: the next free index (save) and the latest committed
 * checkpoint (load). */
#define H5CKPT_CKDIR_NEXT (-1)
#define H5CKPT_CKDIR_LATEST (-2)
/* Largest index a checkpoint may have. */
#define H5CKPT_CKDIR_MAX_INDEX INT64_C(999999999999999999)

/*
 * Open checkpoint directory `path` and list its committed checkpoints.  A
 * directory that does not exist is accepted and lists nothing (a save
 * creates it; its parent must exist).  Collective over `comm` (duplicated).
 * `opts` may be NULL.  Errors: H5CKPT_ENOENT (`path` exists and is not a
 * directory), H5CKPT_EIO (cannot read it), H5CKPT_EINVAL, H5CKPT_EDISAGREE,
 * H5CKPT_ENOMEM, H5CKPT_EMPI; message in `err`, the same on every rank.
 */
H5CKPT_API int h5ckpt_ckdir_open(h5ckpt_ckdir **out, const char *path,
                                 MPI_Comm comm,
                                 const h5ckpt_ckdir_options *opts,
                                 h5ckpt_error *err);
/* Free a directory handle and its snapshot memory.  Accepts NULL.  Local
 * (call on every rank).  A save still in flight goes on; only
 * h5ckpt_commit_wait() or h5ckpt_close() on its writer end it then (no
 * retention). */
H5CKPT_API void h5ckpt_ckdir_free(h5ckpt_ckdir *d);
/* Last error message ("" if none).  Local. */
H5CKPT_API const char *h5ckpt_ckdir_errmsg(const h5ckpt_ckdir *d);
/* Rescan the directory.  Collective.  Errors: as h5ckpt_ckdir_open(). */
H5CKPT_API int h5ckpt_ckdir_refresh(h5ckpt_ckdir *d);

/* Number of committed checkpoints and the i-th index (ascending), or -1 if
 * out of range.  Local. */
H5CKPT_API size_t h5ckpt_ckdir_count(const h5ckpt_ckdir *d);
H5CKPT_API int64_t h5ckpt_ckdir_at(const h5ckpt_ckdir *d, size_t i);
/* Latest committed index.  Local.  Errors: H5CKPT_ENOCKPT (none; *out is
 * -1). */
H5CKPT_API int h5ckpt_ckdir_latest(const h5ckpt_ckdir *d, int64_t *out);
/* Next free index: latest + 1, or 0 in an empty directory.  Local. */
H5CKPT_API int64_t h5ckpt_ckdir_next(const h5ckpt_ckdir *d);
/* File path of checkpoint `index` (whether or not it exists) into `buf` of
 * `size` bytes.  Local.  Errors: H5CKPT_EINVAL (bad index, small buffer). */
H5CKPT_API int h5ckpt_ckdir_path(const h5ckpt_ckdir *d, int64_t index,
                                 char *buf, size_t size);

/*
 * Start saving checkpoint `index` (or H5CKPT_CKDIR_NEXT): first waits for
 * the directory's save in flight, if any (h5ckpt_ckdir_commit_start), then
 * creates the directory if needed, removes temporary files that interrupted
 * saves left (`.ckpt-*.h5.h5ckpt-tmp-*`), and creates writer *out as
 * h5ckpt_create() does (`opts` may be NULL; unless it gives
 * `snapshot`, the directory's own snapshot memory is used, kept until
 * h5ckpt_ckdir_free).  Queue the data on *out, then call
 * h5ckpt_ckdir_commit() or h5ckpt_ckdir_commit_start().  Collective.
 * Errors: H5CKPT_EINVAL (bad index), H5CKPT_ENOENT (parent missing or
 * `path` is a file), H5CKPT_EIO, those of h5ckpt_create().
 */
H5CKPT_API int h5ckpt_ckdir_save(h5ckpt_ckdir *d, int64_t index, h5ckpt **out,
                                 const h5ckpt_options *opts);
/*
 * Commit writer `ck` made by h5ckpt_ckdir_save(), then apply retention:
 * only once the new checkpoint is in place are older ones beyond keep_last
 * (and not multiples of keep_every) removed.  The listing is refreshed.  The
 * caller still closes `ck`.  Collective.
 * Errors: those of h5ckpt_commit() (previous checkpoints are then all kept),
 * H5CKPT_EIO (retention could not remove a file).
 */
H5CKPT_API int h5ckpt_ckdir_commit(h5ckpt_ckdir *d, h5ckpt *ck);
/*
 * The asynchronous form: h5ckpt_commit_start(ck) (section "Asynchronous
 * commits"), then training goes on; h5ckpt_ckdir_commit_wait(d, ck)
 * finishes it with h5ckpt_commit_wait(ck) and then applies retention as
 * h5ckpt_ckdir_commit() does.  Retention runs only there, after the new
 * checkpoint is in place, and never removes the checkpoint being written
 * (a temporary file until then).  At most one save is in flight per
 * directory: h5ckpt_ckdir_save(), h5ckpt_ckdir_commit() and
 * h5ckpt_ckdir_commit_start() of another writer first wait for the one in
 * flight (wait and retention); its outcome is kept and returned, without
 * communication, by its own h5ckpt_ckdir_commit_wait (until a later save
 * in flight is waited for the same way).  The caller still closes `ck`;
 * closing it before its wait aborts the save.  h5ckpt_ckdir_load() does
 * not wait: it sees the checkpoints committed so far.  Collective.
 * Errors: start: those of h5ckpt_commit_start(); wait: those of
 * h5ckpt_commit_wait() (previous checkpoints are then all kept),
 * H5CKPT_EIO (retention could not remove a file), H5CKPT_EINVAL (`ck` has
 * no save in flight in this directory).
 */
H5CKPT_API int h5ckpt_ckdir_commit_start(h5ckpt_ckdir *d, h5ckpt *ck);
H5CKPT_API int h5ckpt_ckdir_commit_wait(h5ckpt_ckdir *d, h5ckpt *ck);
/*
 * Open checkpoint `index` (or H5CKPT_CKDIR_LATEST, which rescans the
 * directory first) for reading, as h5ckpt_open() does.  When the latest
 * checkpoint is deleted while it is being opened (the retention of a save
 * running beside the load), LATEST rescans and opens the next latest, once.
 * Collective.
 * Errors: H5CKPT_ENOCKPT (LATEST and the directory holds no committed
 * checkpoint, or does not exist), H5CKPT_ENOENT (no checkpoint `index`; or
 * with LATEST, the latest and then the next latest vanished: the message
 * names both), those of h5ckpt_open().
 */
H5CKPT_API int h5ckpt_ckdir_load(h5ckpt_ckdir *d, int64_t index, h5ckpt **out,
                                 const h5ckpt_options *opts);

/* ------------------------------------------------------------------------ */
/* Verification and root information (tools)                                 */
/* ------------------------------------------------------------------------ */

/* Called once per problem found by h5ckpt_verify(): `object` is the path of
 * the group, dataset or attribute owner ("/" for the root or the file as a
 * whole), `message` one line.  Both strings are valid during the call only. */
typedef void (*h5ckpt_problem_fn)(void *ctx, const char *object,
                                  const char *message);

/*
 * Check the file at `path` against the format specification: the file is
 * HDF5 and not a temporary name, required root and dataset attributes are
 * present and well typed, versions are supported, the file was committed,
 * dataset types match their h5ckpt_dtype, dataspaces are valid, data lies
 * inside the file, links are hard, object and attribute names are valid and
 * reserved names are used only where the format puts them.  Every problem is
 * reported through `fn` (may be NULL), in the same order on every rank; the
 * count goes to `*nproblems` (may be NULL).  A malformed file is not an error:
 * its problems are.  The file is opened read-only by rank 0 only.
 *
 * Collective over `comm`.  Returns 0 when the check ran (whatever it found),
 * or an error when it could not: H5CKPT_ENOENT, H5CKPT_EISDIR, H5CKPT_EIO,
 * H5CKPT_EINVAL, H5CKPT_ENOMEM, H5CKPT_EMPI (`err` holds the message).
 */
H5CKPT_API int h5ckpt_verify(const char *path, MPI_Comm comm,
                             h5ckpt_problem_fn fn, void *ctx,
                             size_t *nproblems, h5ckpt_error *err);

/*
 * A reserved root attribute of a reader as text, for display: "created",
 * "library_version", "writer_nranks" or "writer_mesh_dim_names" (the names
 * of format-spec/FORMAT.md without the "h5ckpt_" prefix).  Arrays are joined
 * with ",".  The value is what h5ckpt_open() read and validated, so it
 * describes the file the handle opened whatever happened at its path since.
 * Local; the message is on the handle.  Errors: H5CKPT_ENOTFOUND (unknown
 * key, or the optional attribute is absent), H5CKPT_EINVAL (buffer too
 * small), H5CKPT_EMODE (writer handle), H5CKPT_ECORRUPT (the mesh dimension
 * names are not strings).
 */
H5CKPT_API int h5ckpt_root_info(const h5ckpt *ck, const char *key, char *buf,
                                size_t size);

/* ------------------------------------------------------------------------ */
/* Checksums                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Every writer stores an XXH3-64 checksum of each piece of tensor data it
 * writes (the box one owner rank writes, hashed as the little-endian element
 * bytes in row-major order of the box), in one table per file (format
 * specification, section "Checksums").  Nothing needs to be enabled.
 *
 * Readers: with `verify_checksums = 1` in the options given to h5ckpt_open(),
 * every flush checks the checksum of each written piece that its reads touch.
 * A piece that lies inside a box the rank reads is hashed from the caller's
 * buffer; a piece that a box only partly covers is read from the file once
 * more, whole (the extra bytes of a verifying load), hashed, and the part
 * the box covers compared with what the read delivered.  A mismatch, or data
 * that no checksum covers, makes that flush return H5CKPT_ECHECKSUM on every
 * rank, naming the tensor and the box.  The data has then been delivered and
 * must not be trusted.  Files written before checksums existed have no
 * table: they open and load, unverified.  Off by default (see README for the
 * measured cost).  The open checks the table's shape and place; its rows
 * stay in the file (when it is contiguous, as h5ckpt writes it) and each
 * checking flush fetches those its reads touch, so a malformed row is
 * reported by the flush that meets it (H5CKPT_ECORRUPT), and no rank holds
 * the whole table (docs/SCALING.md).
 */

/* ------------------------------------------------------------------------ */
/* Executors                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * h5ckpt_options.executor chooses how a flush moves tensor bytes; the file
 * is the same either way (format-spec/FORMAT.md), and either executor reads
 * files written by the other.
 *  - H5CKPT_EXECUTOR_PLAIN: one collective H5Dwrite per tensor, one
 *    independent H5Dread (collective reads of selections that overlap
 *    across ranks return wrong data with Open MPI 4.1's OMPIO:
 *    docs/WORKAROUNDS.md).  The reference implementation.
 *  - H5CKPT_EXECUTOR_FAST: creates the same datasets, then moves each rank's
 *    pieces with POSIX pwrite/pread on its own descriptor at the datasets'
 *    file offsets.  Needs a file system where bytes written through one
 *    descriptor are seen by other processes after close (any local or
 *    POSIX-coherent parallel file system).  Tensors stored without a
 *    contiguous extent (written by other tools) are read the plain way.
 *    Reading, the ranks of one node share fragmented reads (a Shard(1)
 *    part of a row-major tensor: one short segment per row): each 1 MiB
 *    of such a tensor is read once, by whichever rank of the node claims
 *    it, and copied into every rank's buffer that wants it (Linux
 *    process_vm_writev; host buffers without strides).  It turns itself
 *    off where cross-memory attach is refused (process_vm_writev, probed
 *    once per handle);
 *    `no_exchange` (or H5CKPT_EXCHANGE=0) on any rank turns it off for
 *    every rank of the handle (agreed, not compared).  A caller's
 *    buffers must therefore be writable memory of its own process.
 *    Writing, the same in reverse for a tensor whose span the node's
 *    ranks write entirely (a Shard(1) tensor on one node): each 4 MiB of
 *    it is gathered from its owners' buffers (process_vm_readv, probed as
 *    well) by whichever rank claims it and written with one call; so
 *    during h5ckpt_flush and h5ckpt_commit other ranks of the node read
 *    the buffers given to h5ckpt_tensor_put.  Writing, the page-aligned middle of every piece of 1 MiB or more goes
 *    to the file with O_DIRECT (through two 8 MiB bounce buffers per rank
 *    and a helper thread that makes no MPI call), after rank 0 has
 *    allocated the data region with fallocate: no page-cache pages are
 *    allocated for it and the ranks of one file write side by side.  Such
 *    bytes are not in the page cache after the commit.  Where O_DIRECT is
 *    refused, writes are buffered; `no_direct` (or H5CKPT_DIRECT=0) on any
 *    rank makes every rank's writes buffered (and skips the fallocate).
 *  - H5CKPT_EXECUTOR_DEFAULT (what zeroed and NULL options give): the
 *    environment variable H5CKPT_EXECUTOR ("plain" or "fast")
 *    when set, else fast.  create and open fail with H5CKPT_EINVAL for
 *    another value, and with H5CKPT_EDISAGREE on every rank when ranks
 *    resolve to different executors.
 * docs/PERFORMANCE.md has the measurements; `h5ckpt bench` reruns them.
 */

/* ------------------------------------------------------------------------ */
/* Asynchronous commits                                                      */
/* ------------------------------------------------------------------------ */

/*
 * h5ckpt_commit_start, h5ckpt_commit_test and h5ckpt_commit_wait split a
 * commit so that the caller blocks only while its state is copied aside;
 * the file is written meanwhile and committed collectively at wait.
 *
 * Threads.  With the fast executor every rank runs one background thread
 * per commit in flight, which writes the snapshot with pwrite and hashes it
 * (the checksum rows).  It makes no MPI call and no HDF5 call, and takes no
 * signal.  Every MPI and HDF5 call (agreement, planning, object creation,
 * offsets, checksum table, commit marker, close, rename) is made on the
 * thread that calls start and wait, which must be the one that called
 * MPI_Init_thread.  As a library thread exists beside the caller's MPI
 * calls, h5ckpt_commit_start needs MPI_THREAD_FUNNELED or more
 * (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided); checked
 * with MPI_Query_thread); with less it returns H5CKPT_ENOTSUP on every rank,
 * "h5ckpt_commit_start needs MPI_THREAD_FUNNELED or more; MPI provides
 * MPI_THREAD_SINGLE", and changes nothing (h5ckpt_commit still works).
 *
 * The plain executor writes with collective HDF5 calls, which cannot leave
 * the caller's thread: with it, h5ckpt_commit_start writes everything
 * before it returns (as h5ckpt_flush), h5ckpt_commit_test reports done at
 * once and h5ckpt_commit_wait does the rest.  The thread level is checked
 * all the same, so a program behaves alike with either executor.
 *
 * Memory.  Each rank copies the pieces it writes (its own bytes of the
 * save, replicated parts by their owner only) into a ring of
 *     R = min(B, N),  B = snapshot_bytes (0: N; at least 64 KiB)
 * bytes of snapshot memory, where N is the rank's own bytes plus, for each
 * of its boxes that is one contiguous extent of at least 1 MiB in the file,
 * the direct-I/O alignment less one byte (4095 on most file systems): such
 * a box is placed in the ring at the file's alignment and written from it
 * with O_DIRECT, without a further copy.  The rule when the state is larger than R:
 * start copies the boxes in the order their tensors were put, in pieces of
 * at most 16 MiB, as long as the ring has room; when it is full, start
 * waits until the background writer has written the oldest bytes, copies
 * on into the room they leave, and returns once every byte is copied.  With
 * the default budget start never waits for the file; with a smaller one it
 * waits for about (N - R) of writing.  The background writer
 * starts once start has copied every byte, or once the ring is full, so
 * that the copy does not share the CPU with the file writes.  Device
 * buffers are copied device to host (on a stream of the library's own)
 * into pinned snapshot memory; strided device buffers are packed on the
 * device first, through a device temporary as large as the largest of
 * them, freed before start returns.  At peak a rank holds, beside its own
 * state: R bytes of snapshot memory (pinned when the save has device
 * buffers; more if its h5ckpt_snapshot grew larger for an earlier save),
 * 64 bytes per piece queued and 8 bytes per box it writes; during start,
 * the device temporary.
 *
 * Reuse.  Snapshot memory lives in an h5ckpt_snapshot.  One given in the
 * options (h5ckpt_options.snapshot) is kept between saves and grows to the
 * largest ring a save needed (pinned once a save had device buffers), so
 * later saves allocate nothing; h5ckpt_snapshot_free() releases it.  With
 * none, a save allocates its own and frees it when it ends (wait or close).
 * A checkpoint directory keeps one of its own (h5ckpt_ckdir_commit_start).
 * One save in flight at a time may use a given h5ckpt_snapshot.
 *
 * Failures.  A failed background write (ENOSPC, EIO) is returned by
 * h5ckpt_commit_wait as H5CKPT_EIO on every rank with the lowest failing
 * rank's message, which names the rank and the file; the temporary file is
 * removed and the previous checkpoint at the path is untouched.  A process
 * killed during the background write leaves a temporary file only, which
 * never opens as a checkpoint and which the next save of that path removes.
 * h5ckpt_close() with a commit in flight aborts it.  The background thread
 * never outlives the handle, so MPI_Finalize after h5ckpt_close is safe.
 */

/* A holder of snapshot memory, empty until a save uses it.  Local.
 * Errors: H5CKPT_EINVAL (NULL out), H5CKPT_ENOMEM. */
H5CKPT_API int h5ckpt_snapshot_create(h5ckpt_snapshot **out);
/* Release the memory and free the holder.  Accepts NULL.  Local.  When a
 * save in flight uses it, the memory is released as that save ends (wait
 * or close); the pointer must not be used again either way. */
H5CKPT_API void h5ckpt_snapshot_free(h5ckpt_snapshot *s);
/* Bytes of snapshot memory held now.  Local. */
H5CKPT_API uint64_t h5ckpt_snapshot_bytes(const h5ckpt_snapshot *s);

/* ------------------------------------------------------------------------ */
/* Device buffers                                                            */
/* ------------------------------------------------------------------------ */

/*
 * A put or get may name CUDA device memory; it is then written and read like
 * a host buffer, with the same file (the file format does not change).
 *
 * Which buffers are device buffers:
 *  - declared: h5ckpt_buffer.kind = H5CKPT_MEM_CUDA.  The put/get fails with
 *    H5CKPT_ENOTSUP in a build without CUDA ("CUDA buffers need a CUDA
 *    build") or when no device can be used (the reason, e.g. "no CUDA
 *    device: ..."), and with H5CKPT_EINVAL when the pointer is not device
 *    memory (a host, registered or managed pointer);
 *  - detected: a NULL `buf` or kind H5CKPT_MEM_HOST whose pointer the CUDA
 *    runtime reports as device memory (cudaPointerGetAttributes) is a device
 *    buffer too.  Managed and registered host memory stay host buffers.
 * Strides are allowed on device buffers (not with range layouts).
 *
 * How bytes move:
 *  - H5CKPT_EXECUTOR_FAST (the real path): through pinned host staging of
 *    `staging_bytes` per rank (0: 256 MiB; less than 64 KiB: 64 KiB; but no
 *    half larger than the largest device buffer of the flush), allocated
 *    once per flush that has device tensors and split into two halves used
 *    alternately on one CUDA stream of the library's own (never the default
 *    stream), with events between them: device-to-host copies of the next
 *    segment overlap the pwrite of the previous one, and the pread of the
 *    next segment overlaps the host-to-device copy of the previous one.
 *    Strided device buffers are packed (written) or unpacked (read) on the
 *    device through a device temporary as large as the largest strided
 *    device buffer.  Writers hash each piece from the staged bytes as it
 *    passes, so checksums are the same as for host buffers.  Tensors stored
 *    without a contiguous extent go through host mirrors, as below.
 *  - H5CKPT_EXECUTOR_PLAIN (the reference): each device buffer is copied to
 *    a host mirror (pinned, as large as the rank's part of the tensor)
 *    before the write, or read into one and copied to the device after the
 *    read; host memory use is then the rank's local shard bytes of every
 *    device tensor of the flush.
 *  - Replicated reads (fast executor): in a build with NCCL, when every
 *    rank of the handle uses a distinct GPU (device ids compared once per
 *    handle), ranks that read an identical non-empty part of a tensor into
 *    device buffers form a replica group: one of them reads it from the
 *    file and an NCCL broadcast over the group delivers it to the others.
 *    The groups' communicators are made on first use (MPI_Comm_split, one
 *    NCCL communicator per distinct grouping), kept on the handle and freed
 *    by h5ckpt_close().  h5ckpt_bytes_read() counts file bytes only.  In
 *    other cases every rank reads its part from the file.
 *  - With verify_checksums, pieces read into device buffers are checked by
 *    hashing them from the file (the host never reads device memory), which
 *    adds that many bytes to the reads.
 *
 * Errors: every CUDA or NCCL error is returned as H5CKPT_EDEVICE with the
 * call and the library's message ("cudaMemcpyAsync: invalid argument
 * (cudaErrorInvalidValue)"), the same code and message on every rank.  The
 * flush then fails like any other: a writer can only be closed and the
 * previous file at its path stays as it was.
 *
 * Threads and streams: device buffers belong to the calling thread's
 * current device and must not change until the flush (or commit, or
 * h5ckpt_commit_start) returns;
 * the library orders its work on its own stream and synchronises it before
 * returning, so work the caller queued on other streams must be complete
 * (e.g. cudaStreamSynchronize) before the flush.  Not thread-safe, like
 * the rest of the library.
 */

/* ------------------------------------------------------------------------ */
/* Language bindings: communicators as MPI_Fint                              */
/* ------------------------------------------------------------------------ */

/*
 * The same as h5ckpt_mesh_create(), h5ckpt_create(), h5ckpt_open(),
 * h5ckpt_ckdir_open() and h5ckpt_verify(), with the communicator passed as
 * its Fortran handle (MPI_Comm_c2f(comm); mpi4py: comm.py2f()) and
 * converted with MPI_Comm_f2c.  MPI_Comm is a pointer in Open MPI and an
 * int in MPICH; MPI_Fint is an integer in both, so bindings without a
 * compile step (Python ctypes) can pass any communicator, split ones
 * included.  Contracts, collectiveness and errors are those of the
 * functions they wrap, plus H5CKPT_EINVAL ("MPI is not initialised", or
 * the handle converts to MPI_COMM_NULL) on the calling rank, before any
 * communication.
 */
H5CKPT_API int h5ckpt_mesh_create_f(h5ckpt_mesh **out, MPI_Fint comm, int ndim,
                                    const int *shape,
                                    const char *const *dim_names,
                                    h5ckpt_error *err);
H5CKPT_API int h5ckpt_create_f(h5ckpt **out, const char *path, MPI_Fint comm,
                               const h5ckpt_options *opts, h5ckpt_error *err);
H5CKPT_API int h5ckpt_open_f(h5ckpt **out, const char *path, MPI_Fint comm,
                             const h5ckpt_options *opts, h5ckpt_error *err);
H5CKPT_API int h5ckpt_ckdir_open_f(h5ckpt_ckdir **out, const char *path,
                                   MPI_Fint comm,
                                   const h5ckpt_ckdir_options *opts,
                                   h5ckpt_error *err);
H5CKPT_API int h5ckpt_verify_f(const char *path, MPI_Fint comm,
                               h5ckpt_problem_fn fn, void *ctx,
                               size_t *nproblems, h5ckpt_error *err);
/*
 * Whether buffers of memory kind `kind` can be passed to put and get in
 * this process: 0 for H5CKPT_MEM_HOST; for H5CKPT_MEM_CUDA, 0 when the
 * library was built with CUDA and a device can be used, else
 * H5CKPT_ENOTSUP with the reason in `err` ("CUDA buffers need a CUDA
 * build", "no CUDA device: ...").  Bindings use it to pass device memory
 * directly or stage it through host memory.  Local.  Errors:
 * H5CKPT_ENOTSUP, H5CKPT_EINVAL (unknown kind).
 */
H5CKPT_API int h5ckpt_memkind_usable(h5ckpt_memkind kind, h5ckpt_error *err);

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
 *   bytes) and, with Open MPI 4.x, for paths MPI-IO would abort or hang on
 *   (over 244 bytes; base names over 202 bytes for create, over 231 for
 *   open).
 * - A NULL `out`, path or bad options version on some ranks only fails every
 *   rank alike (H5CKPT_EINVAL), as does a NULL `out` in h5ckpt_mesh_create().
 *   NULL options, zeroed options and H5CKPT_OPTIONS_INIT are the same
 *   options.
 *
 * Untrusted files.  h5ckpt checks every number HDF5 gives it against the
 * format and the file's size before using it, but it cannot read a file
 * without HDF5, and HDF5 1.10.8 trusts some metadata it decodes: a damaged
 * global heap (where variable-length strings live) or object header can
 * make it write out of bounds (SIGSEGV), spin forever, or try a huge
 * allocation (tests/corpus/hdf5-bugs has six such files).  So:
 * - Only as safe as HDF5 (may crash or hang the calling process on a
 *   hostile file): h5ckpt_open() (rank 0 walks every object, attribute and
 *   string), h5ckpt_verify(), and what opens a file through them:
 *   h5ckpt_ckdir_load(), h5ckpt_state_load_file(); a verifying open's read
 *   of the checksum table; reads of tensors that have no contiguous storage
 *   (chunked or compact datasets, which only other tools write: HDF5
 *   decodes their index and filters); every read with the plain executor.
 * - Safe whatever the file holds, once h5ckpt_open() returned: every
 *   listing and attribute getter (they read the index h5ckpt_open() built
 *   and validated, in memory), and the fast executor's reads of contiguous
 *   tensors (pread at offsets checked to lie inside the file: a file that
 *   shrinks later gives H5CKPT_EIO, never SIGBUS).  Writers (create, put,
 *   commit) never parse an existing file.
 * A program that opens files it does not trust should parse them in a
 * separate process, as the h5ckpt tool does (docs/h5ckpt.md, "Hostile
 * files"): the crash or hang is then a clean error in the parent.
 */

#ifdef __cplusplus
}
#endif

#endif /* H5CKPT_H */
