/*
 * The plain executor: one collective H5Dwrite (one independent H5Dread)
 * per tensor with this rank's boxes as a hyperslab union, or one per box
 * where a rank's boxes cannot be one transfer (in_order); the objects exist
 * already (objects.c).  It is the reference that faster executors are
 * tested against.
 */
#include "io/exec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* File and memory selections of a task (`only` < 0), or of its box `only`
 * alone (none when the task has no such box).  The memory buffer is the
 * packed local buffer; box k's elements start at memoff[k]. */
static int selections(const h5ckpt__task *t, long only, hid_t dset, hid_t *fsp,
                      hid_t *msp)
{
    const h5ckpt_layout *l = &t->op->layout;
    int ndim = l->ndim;
    hsize_t start[H5CKPT_MAX_NDIM], count[H5CKPT_MAX_NDIM];
    hsize_t mdim = l->local_count ? l->local_count : 1;
    size_t k, first = only < 0 ? 0 : (size_t)only;
    size_t end = only < 0 ? t->nsel : (size_t)only + 1;
    int d;

    if ((*fsp = H5Dget_space(dset)) < 0 ||
        (*msp = H5Screate_simple(1, &mdim, NULL)) < 0)
        return -1;
    if (t->nsel == 0 || first >= t->nsel)
        return H5Sselect_none(*fsp) < 0 || H5Sselect_none(*msp) < 0 ? -1 : 0;
    if (H5Sselect_none(*msp) < 0)
        return -1;
    if (ndim == 0) {
        hsize_t z = 0, one = 1;
        return H5Sselect_all(*fsp) < 0 ||
               H5Sselect_hyperslab(*msp, H5S_SELECT_SET, &z, NULL, &one, NULL) < 0
                   ? -1 : 0;
    }
    for (k = first; k < end; k++) {
        const uint64_t *b = t->sel + k * 2 * (size_t)ndim;
        hsize_t moff = t->memoff[k], mcnt = h5ckpt__volume(ndim, b + ndim, NULL);
        for (d = 0; d < ndim; d++) {
            start[d] = b[d];
            count[d] = b[ndim + d];
        }
        if (H5Sselect_hyperslab(*fsp, k > first ? H5S_SELECT_OR : H5S_SELECT_SET, start,
                                NULL, count, NULL) < 0 ||
            H5Sselect_hyperslab(*msp, H5S_SELECT_OR, &moff, NULL, &mcnt, NULL) < 0)
            return -1;
    }
    return 0;
}

/*
 * HDF5 pairs the elements of a file selection, visited in the dataset's
 * row-major order, with those of the memory selection, visited in memory
 * order.  A union of boxes is therefore one transfer only when every box
 * lies wholly before the next one in both orders (range layouts, single
 * boxes).  Otherwise (several boxes of h5ckpt_layout_boxes side by side in
 * a row, or given out of file order) each box is a transfer of its own.
 */
static int in_order(const h5ckpt__task *t)
{
    const h5ckpt_layout *l = &t->op->layout;
    uint64_t stride[H5CKPT_MAX_NDIM], prev_last = 0, prev_count = 0;
    int ndim = l->ndim, d;
    size_t k;

    if (t->nsel <= 1 || ndim == 0)
        return 1;
    stride[ndim - 1] = 1;
    for (d = ndim - 1; d > 0; d--)
        stride[d - 1] = stride[d] * l->shape[d];
    for (k = 0; k < t->nsel; k++) {
        const uint64_t *b = t->sel + k * 2 * (size_t)ndim;
        uint64_t first = 0, last = 0;
        for (d = 0; d < ndim; d++) {
            first += b[d] * stride[d];
            last += (b[d] + b[ndim + d] - 1) * stride[d];
        }
        if (k > 0 && (first <= prev_last ||
                      t->memoff[k] < t->memoff[k - 1] + prev_count))
            return 0;
        prev_last = last;
        prev_count = h5ckpt__volume(ndim, b + ndim, NULL);
    }
    return 1;
}

/* Collective: the number of transfers of each task, the same on every rank
 * (1, or the most boxes any rank selects when a rank's are not in_order),
 * so that collective writes pair up.  Returns 0 or an error (agreed); *out
 * is malloc'd. */
static int transfer_rounds(h5ckpt__io *io, const h5ckpt__plan *plan, int **out)
{
    int *mine = malloc((plan->ntasks + 1) * sizeof *mine);
    int *all = malloc((plan->ntasks + 1) * sizeof *all), rc = 0;
    size_t i;

    *out = NULL;
    if (!mine || !all || plan->ntasks > INT_MAX)
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg)) == 0) {
        for (i = 0; i < plan->ntasks; i++)
            mine[i] = in_order(&plan->tasks[i])
                          ? 1 : (int)(plan->tasks[i].nsel < INT_MAX
                                          ? plan->tasks[i].nsel : INT_MAX);
        if (plan->ntasks > 0)
            rc = h5ckpt__mpi(MPI_Allreduce(mine, all, (int)plan->ntasks, MPI_INT,
                                           MPI_MAX, io->ctx->comm),
                             "MPI_Allreduce", io->ctx->errmsg);
        rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
    }
    free(mine);
    if (rc)
        free(all);
    else
        *out = all;
    return rc;
}

/*
 * How a transfer moves data.  Writes are collective: their selections never
 * overlap (the planner gives every element one owner).  Reads are
 * independent: with Open MPI 4.1's OMPIO (fcoll vulcan, dynamic,
 * dynamic_gen2) and HDF5 1.10.8, a collective H5Dread of selections that
 * overlap across ranks without being identical returns wrong data without
 * an error (issue 13), and readers' selections overlap as they like.
 * Independent reads measured faster on every workload here
 * (docs/WORKAROUNDS.md).  The plain_collective_reads knob restores
 * collective reads, for the benchmark that compares the two.
 */
static H5FD_mpio_xfer_t xfer_mode(int writing)
{
    return writing || h5ckpt__knobs_get()->plain_collective_reads ? H5FD_MPIO_COLLECTIVE
                                                                  : H5FD_MPIO_INDEPENDENT;
}

static int transfer(h5ckpt__io *io, const h5ckpt__plan *plan, int writing)
{
    static char dummy[16];
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    uint64_t need = 0;
    void *pack = NULL;
    int *rounds = NULL;
    size_t i;
    int rc = 0;

    /* Every local resource is acquired, and agreed on, before the first
     * collective transfer: a rank must never drop out of the loop alone. */
    for (i = 0; i < plan->ntasks; i++) {
        const h5ckpt__op *op = plan->tasks[i].op;
        uint64_t b = op->layout.local_count * h5ckpt_dtype_size(op->dtype);
        if (op->strided && b > need)
            need = b;
    }
    if (dxpl < 0 || H5Pset_dxpl_mpio(dxpl, xfer_mode(writing)) < 0)
        rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "cannot set up the transfers");
    else if (need && !(pack = malloc(need)))
        rc = h5ckpt__set(io->ctx, H5CKPT_ENOMEM,
                         "cannot allocate %llu bytes to pack strided buffers",
                         (unsigned long long)need);
    rc = h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
    if (rc == 0)
        rc = transfer_rounds(io, plan, &rounds);
    for (i = 0; rc == 0 && i < plan->ntasks; i++) {
        const h5ckpt__task *t = &plan->tasks[i];
        const h5ckpt__op *op = t->op;
        const h5ckpt_layout *l = &op->layout;
        size_t es = h5ckpt_dtype_size(op->dtype);
        hid_t d = H5I_INVALID_HID, fsp = H5I_INVALID_HID, msp = H5I_INVALID_HID;
        hid_t type = H5I_INVALID_HID;
        void *tmp = NULL, *buf = op->data ? op->data : dummy;
        herr_t st = 0;
        int r;

        if (h5ckpt__volume(l->ndim, l->shape, NULL) == 0)
            continue; /* empty tensor: nothing to move, on every rank */
        if (op->strided && t->nelems > 0) {
            tmp = pack;
            if (writing)
                h5ckpt__pack(tmp, op->data, l->local_ndim, l->local_shape,
                             op->strides, es);
            buf = tmp;
        }
        type = h5ckpt__h5type(op->dtype);
        if ((d = H5Dopen2(io->file->fid, op->path, H5P_DEFAULT)) < 0 || type < 0)
            st = -1;
        for (r = 0; st >= 0 && r < rounds[i]; r++) {
            if (selections(t, rounds[i] > 1 ? r : -1, d, &fsp, &msp) < 0)
                st = -1;
            else if (writing)
                st = H5Dwrite(d, type, msp, fsp, dxpl, buf);
            else
                st = H5Dread(d, type, msp, fsp, dxpl, buf);
            if (r + 1 < rounds[i]) {
                if (msp >= 0)
                    H5Sclose(msp);
                if (fsp >= 0)
                    H5Sclose(fsp);
                msp = fsp = H5I_INVALID_HID;
            }
        }
        if (st < 0) {
            rc = h5ckpt__set(io->ctx, H5CKPT_EIO, "cannot %s tensor '%s'",
                             writing ? "write" : "read", op->path);
            h5ckpt__append_h5err(io->ctx->errmsg);
        } else if (writing) {
            io->bytes_written += t->nelems * es;
        } else {
            io->bytes_read += t->nelems * es;
            if (tmp)
                h5ckpt__unpack(op->data, tmp, l->local_ndim, l->local_shape,
                               op->strides, es);
        }
        if (msp >= 0)
            H5Sclose(msp);
        if (fsp >= 0)
            H5Sclose(fsp);
        if (d >= 0)
            H5Dclose(d);
        if (type >= 0)
            H5Tclose(type);
    }
    free(pack);
    free(rounds);
    if (dxpl >= 0)
        H5Pclose(dxpl);
    return h5ckpt__agree(io->ctx->comm, rc, io->ctx->errmsg);
}

int h5ckpt__exec_plain_write(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    return transfer(io, plan, 1);
}

int h5ckpt__exec_plain_read(h5ckpt__io *io, const h5ckpt__plan *plan)
{
    return transfer(io, plan, 0);
}
