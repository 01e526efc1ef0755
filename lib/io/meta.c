/*
 * Who makes a writer's HDF5 calls.
 *
 * Collectively (the plain executor, which needs collective H5Dwrite): every
 * rank opens the temporary file through the MPI-IO driver and makes every
 * structural call with the same arguments in the same order.
 *
 * Rank 0 alone (the fast executor on a little-endian host): raw tensor
 * bytes move with pwrite (exec_fast.c), so HDF5 only ever writes metadata
 * and the checksum table.  Rank 0 opens the file with the serial sec2
 * driver and creates every group, dataset and attribute by itself, with no
 * communication per object; the other ranks hold no HDF5 handle and learn
 * each dataset's byte offset from one broadcast.  Every outcome is still
 * agreed on over the whole communicator.
 *
 * Why the other ranks' pwrites are safe next to rank 0's HDF5 handle:
 *  - every dataset is contiguous with early allocation and fill time
 *    "never", and rank 0 never calls H5Dwrite on a tensor: HDF5 reserves
 *    each extent at create time and never writes inside it (metadata,
 *    including what the cache flushes at H5Fclose, lives only in space HDF5
 *    allocated for metadata);
 *  - the offsets are broadcast after every dataset exists, so no pwrite
 *    starts before the extent it targets is allocated;
 *  - at H5Fclose the sec2 driver may set the file's size to its end of
 *    allocation (ftruncate), which lies at or beyond the end of every
 *    allocated extent: it can extend the file, never cut a tensor;
 *  - every rank finishes (and fsyncs, with the fsync option) its pwrites
 *    before the agreement that ends the flush; rank 0 writes the commit
 *    marker, closes, fsyncs and renames only after that.
 * A big-endian host makes the fast executor fall back to collective
 * H5Dwrite, so it keeps the collective path.
 *
 * Memory: HDF5 keeps the decoded header of every object it created in its
 * metadata cache until the file closes (about 4 KiB of heap per dataset
 * with its two attributes, against ~600 bytes on disk), so 10,000 tensors
 * cost rank 0 ~40 MiB.  Rank 0 therefore closes and reopens its file every
 * H5CKPT__TRIM_EVERY datasets (h5ckpt__meta_trim), which writes the
 * metadata out and frees it.  This is safe for the same reasons as above:
 * no other rank writes before the offsets are broadcast, and a close only
 * ever sets the file's size to its end of allocation.
 */
#include "io/exec.h"

#include <stdlib.h>
#include <string.h>

static int little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;

    memcpy(&b, &one, 1);
    return b == 1;
}

void h5ckpt__meta_choose(h5ckpt__io *io)
{
    io->file->serial = io->file->writer &&
                       io->opts->executor == H5CKPT_EXECUTOR_FAST && little_endian();
}

int h5ckpt__meta_trim(h5ckpt__io *io)
{
    h5ckpt__file *f = io->file;
    hid_t fapl;
    int rc = 0;

    if (!f->serial || io->ctx->rank != 0 || f->fid < 0 ||
        H5Fget_obj_count(f->fid, H5F_OBJ_ALL) != 1)
        return 0; /* only the file itself may be open */
    if ((fapl = H5Fget_access_plist(f->fid)) < 0)
        return 0; /* nothing closed: trimming is only an economy */
    /* A close whose flush fails (a full file system) frees the file but
     * keeps a broken identifier, which MPI_Finalize closes again: the room
     * first; without it the file stays open, to be aborted
     * (format/space.c). */
    if ((rc = h5ckpt__file_room_for_metadata(io->ctx, f)) != 0) {
        H5Pclose(fapl);
        return rc;
    }
    if (H5Fclose(f->fid) < 0 ||
        (f->fid = H5I_INVALID_HID,
         (f->fid = H5Fopen(f->tmp_path, H5F_ACC_RDWR, fapl)) < 0)) {
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "cannot reopen '%s'", f->tmp_path);
        h5ckpt__append_h5err(io->ctx->errmsg);
    }
    H5Pclose(fapl);
    return rc;
}

int h5ckpt__meta_share_offsets(h5ckpt__io *io, h5ckpt__batch *batch)
{
    h5ckpt__ctx *ctx = io->ctx;
    int64_t *off = NULL;
    size_t i;
    int n = 0, rc = 0;

    if (!io->file->serial || ctx->size == 1)
        return 0;
    if ((rc = h5ckpt__mpi_count(batch->nops, &n, "tensors in one flush",
                                ctx->errmsg)) == 0 &&
        !(off = malloc((batch->nops + 1) * sizeof *off)))
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        goto done;
    for (i = 0; ctx->rank == 0 && i < batch->nops; i++)
        off[i] = batch->ops[i].offset;
    /* nops is identical on every rank (the planner checked the ops agree) */
    rc = h5ckpt__mpi(MPI_Bcast(off, n, MPI_INT64_T, 0, ctx->comm),
                     "MPI_Bcast of dataset offsets", ctx->errmsg);
    for (i = 0; rc == 0 && i < batch->nops; i++)
        batch->ops[i].offset = off[i];
    rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
done:
    free(off);
    return rc;
}
