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
#include "h5ckpt_private.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;

    memcpy(&b, &one, 1);
    return b == 1;
}

void h5ckpt__meta_choose(h5ckpt *ck)
{
    ck->meta_root = ck->mode == H5CKPT__WRITER &&
                    ck->opts.executor == H5CKPT_EXECUTOR_FAST && little_endian();
}

int h5ckpt__meta_mine(const h5ckpt *ck)
{
    return !ck->meta_root || ck->rank == 0;
}

MPI_Comm h5ckpt__meta_comm(const h5ckpt *ck)
{
    return ck->meta_root ? MPI_COMM_SELF : ck->comm;
}

void h5ckpt__wait_asleep(MPI_Comm comm)
{
    const struct timespec nap = {0, 100000}; /* 0.1 ms */
    MPI_Request req;
    int done = 0, size = 1;

    MPI_Comm_size(comm, &size);
    /* A failure here shows in the agreement that follows (it blocks). */
    if (size == 1 || MPI_Ibarrier(comm, &req) != MPI_SUCCESS)
        return;
    while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
        nanosleep(&nap, NULL);
}

void h5ckpt__meta_wait(const h5ckpt *ck)
{
    if (ck->meta_root)
        h5ckpt__wait_asleep(ck->comm);
}

int h5ckpt__meta_trim(h5ckpt *ck)
{
    hid_t fapl;
    int rc = 0;

    if (!ck->meta_root || ck->rank != 0 || ck->fid < 0 ||
        H5Fget_obj_count(ck->fid, H5F_OBJ_ALL) != 1)
        return 0; /* only the file itself may be open */
    if ((fapl = H5Fget_access_plist(ck->fid)) < 0)
        return 0; /* nothing closed: trimming is only an economy */
    /* A close whose flush fails (a full file system) frees the file but
     * keeps a broken identifier, which MPI_Finalize closes again: the room
     * first; without it the file stays open, to be aborted (space.c). */
    if ((rc = h5ckpt__room_for_metadata(ck)) != 0) {
        H5Pclose(fapl);
        return rc;
    }
    if (H5Fclose(ck->fid) < 0 ||
        (ck->fid = H5I_INVALID_HID,
         (ck->fid = H5Fopen(ck->tmp_path, H5F_ACC_RDWR, fapl)) < 0)) {
        rc = h5ckpt__set(ck, H5CKPT_EIO, "cannot reopen '%s'", ck->tmp_path);
        h5ckpt__append_h5err(ck->errmsg);
    }
    H5Pclose(fapl);
    return rc;
}

int h5ckpt__meta_share_offsets(h5ckpt *ck)
{
    int64_t *off = NULL;
    size_t i;
    int rc = 0;

    if (!ck->meta_root || ck->size == 1)
        return 0;
    if (ck->nops > (size_t)INT_MAX)
        rc = h5ckpt__set(ck, H5CKPT_EINVAL, "too many tensors in one flush");
    else if (!(off = malloc((ck->nops + 1) * sizeof *off)))
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        goto done;
    for (i = 0; ck->rank == 0 && i < ck->nops; i++)
        off[i] = ck->ops[i].offset;
    /* nops is identical on every rank (the planner checked the ops agree) */
    if (MPI_Bcast(off, (int)ck->nops, MPI_INT64_T, 0, ck->comm) != MPI_SUCCESS)
        rc = h5ckpt__set(ck, H5CKPT_EMPI, "MPI_Bcast of dataset offsets failed");
    for (i = 0; rc == 0 && i < ck->nops; i++)
        ck->ops[i].offset = off[i];
    rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
done:
    free(off);
    return rc;
}
