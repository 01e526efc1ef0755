/*
 * The plain executor: creates groups and datasets, then one collective
 * H5Dwrite/H5Dread per tensor with this rank's boxes as a hyperslab union.
 * It is the reference that faster executors are tested against.
 */
#include "h5ckpt_private.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Create the groups above `path` (and `path` itself when `self`). */
static int make_groups(h5ckpt *ck, const char *path, int self)
{
    char *p = h5ckpt__strdup(path), *s;
    int rc = 0;

    if (!p)
        return h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    for (s = p;; s++) {
        if (*s == '/' || (*s == '\0' && self && *p)) {
            char c = *s;
            *s = '\0';
            if (h5ckpt__strmap_get(&ck->created, p) < 0) {
                hid_t g = H5Gcreate2(ck->fid, p, H5P_DEFAULT, H5P_DEFAULT,
                                     H5P_DEFAULT);
                if (g < 0) {
                    rc = h5ckpt__set(ck, H5CKPT_EIO, "cannot create group '%s'", p);
                    h5ckpt__append_h5err(ck->errmsg);
                    break;
                }
                H5Gclose(g);
                if (h5ckpt__strmap_put(&ck->created, p, 1) != 0) {
                    rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
                    break;
                }
            }
            *s = c;
        }
        if (*s == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Creation properties shared by every tensor dataset (format spec:
 * contiguous, fill never, early allocation); made once per flush, since
 * creating and closing a property list per dataset was ~7% of rank 0's
 * work for 10,000 tensors. */
static hid_t tensor_dcpl(void)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);

    if (dcpl >= 0 && (H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
                      H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0 ||
                      H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0)) {
        H5Pclose(dcpl);
        dcpl = H5I_INVALID_HID;
    }
    return dcpl;
}

static int create_dataset(h5ckpt *ck, h5ckpt__op *op, hid_t dcpl)
{
    const h5ckpt_layout *l = &op->layout;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID;
    hsize_t dims[H5CKPT_MAX_NDIM];
    char placements[1024];
    int i, rc;

    if ((rc = make_groups(ck, op->path, 0)) != 0)
        return rc;
    for (i = 0; i < l->ndim; i++)
        dims[i] = l->shape[i];
    type = h5ckpt__h5type(op->dtype);
    space = l->ndim ? H5Screate_simple(l->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    if (type < 0 || space < 0 ||
        (d = H5Dcreate2(ck->fid, op->path, type, space, H5P_DEFAULT, dcpl,
                        H5P_DEFAULT)) < 0) {
        rc = h5ckpt__set(ck, H5CKPT_EIO, "cannot create tensor '%s'", op->path);
        h5ckpt__append_h5err(ck->errmsg);
        goto done;
    }
    {
        haddr_t off = H5Dget_offset(d); /* early allocation: known now */
        op->offset = off == HADDR_UNDEF ? -1 : (int64_t)off;
    }
    h5ckpt__placements_text(l, placements, sizeof placements);
    if ((rc = h5ckpt__attr_write_string(d, H5CKPT_A_DTYPE,
                                        h5ckpt_dtype_name(op->dtype), ck->errmsg)) ||
        (rc = h5ckpt__attr_write_string(d, H5CKPT_A_PLACEMENTS, placements,
                                        ck->errmsg)))
        goto done;
done:
    if (d >= 0)
        H5Dclose(d);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

static int write_attr(h5ckpt *ck, const h5ckpt__attr *a)
{
    hid_t obj;
    int rc;

    if (*a->obj && h5ckpt__strmap_get(&ck->names, a->obj) != 2 &&
        (rc = make_groups(ck, a->obj, 1)) != 0)
        return rc;
    if ((obj = H5Oopen(ck->fid, *a->obj ? a->obj : "/", H5P_DEFAULT)) < 0) {
        rc = h5ckpt__set(ck, H5CKPT_EIO, "cannot open '%s'", a->obj);
        h5ckpt__append_h5err(ck->errmsg);
        return rc;
    }
    rc = h5ckpt__attr_write(obj, a, ck->errmsg);
    H5Oclose(obj);
    return rc;
}

int h5ckpt__create_objects(h5ckpt *ck)
{
    hid_t dcpl = H5I_INVALID_HID;
    size_t i;
    int rc = 0;

    /* Structural calls are collective: every rank that holds the file
     * (meta.c) makes them in the same order with the same arguments
     * (agreement was checked by the planner). */
    if (h5ckpt__meta_mine(ck) && ck->nops && (dcpl = tensor_dcpl()) < 0)
        rc = h5ckpt__set(ck, H5CKPT_EIO, "cannot make dataset creation properties");
    for (i = 0; h5ckpt__meta_mine(ck) && rc == 0 && i < ck->nops; i++)
        if ((rc = create_dataset(ck, &ck->ops[i], dcpl)) == 0 &&
            (i + 1) % H5CKPT__TRIM_EVERY == 0)
            rc = h5ckpt__meta_trim(ck); /* bounds rank 0's memory */
    if (dcpl >= 0)
        H5Pclose(dcpl);
    for (i = 0; h5ckpt__meta_mine(ck) && rc == 0 && i < ck->nattrs; i++)
        rc = write_attr(ck, &ck->attrs[i]);
    h5ckpt__meta_wait(ck);
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) != 0)
        return rc;
    return h5ckpt__meta_share_offsets(ck);
}

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
    size_t k;
    int d;

    if ((*fsp = H5Dget_space(dset)) < 0 ||
        (*msp = H5Screate_simple(1, &mdim, NULL)) < 0)
        return -1;
    if (t->nsel == 0 || (only >= 0 && (size_t)only >= t->nsel))
        return H5Sselect_none(*fsp) < 0 || H5Sselect_none(*msp) < 0 ? -1 : 0;
    if (H5Sselect_none(*msp) < 0)
        return -1;
    if (ndim == 0) {
        hsize_t z = 0, one = 1;
        return H5Sselect_all(*fsp) < 0 ||
               H5Sselect_hyperslab(*msp, H5S_SELECT_SET, &z, NULL, &one, NULL) < 0
                   ? -1 : 0;
    }
    for (k = only < 0 ? 0 : (size_t)only; k < (only < 0 ? t->nsel : (size_t)only + 1); k++) {
        const uint64_t *b = t->sel + k * 2 * (size_t)ndim;
        hsize_t moff = t->memoff[k], mcnt = h5ckpt__volume(ndim, b + ndim, NULL);
        for (d = 0; d < ndim; d++) {
            start[d] = b[d];
            count[d] = b[ndim + d];
        }
        if (H5Sselect_hyperslab(*fsp, k != (only < 0 ? 0 : (size_t)only)
                                          ? H5S_SELECT_OR : H5S_SELECT_SET, start,
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
    uint64_t stride[H5CKPT_MAX_NDIM], prev_last = 0;
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
                      t->memoff[k] < t->memoff[k - 1] +
                                         h5ckpt__volume(ndim, b - 2 * (size_t)ndim + ndim, NULL)))
            return 0;
        prev_last = last;
    }
    return 1;
}

/* Collective: the number of transfers of each task, the same on every rank
 * (1, or the most boxes any rank selects when a rank's are not in_order).
 * Returns 0 or an error (agreed); *out is malloc'd. */
static int transfer_rounds(h5ckpt *ck, const h5ckpt__plan *plan, int **out)
{
    int *mine = malloc((plan->ntasks + 1) * sizeof *mine);
    int *all = malloc((plan->ntasks + 1) * sizeof *all), rc = 0;
    size_t i;

    *out = NULL;
    if (!mine || !all || plan->ntasks > INT_MAX)
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ck->comm, rc, ck->errmsg)) == 0) {
        for (i = 0; i < plan->ntasks; i++)
            mine[i] = in_order(&plan->tasks[i])
                          ? 1 : (int)(plan->tasks[i].nsel < INT_MAX
                                          ? plan->tasks[i].nsel : INT_MAX);
        if (plan->ntasks > 0 &&
            MPI_Allreduce(mine, all, (int)plan->ntasks, MPI_INT, MPI_MAX,
                          ck->comm) != MPI_SUCCESS)
            rc = h5ckpt__set(ck, H5CKPT_EMPI, "MPI_Allreduce failed");
        rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
    }
    free(mine);
    if (rc)
        free(all);
    else
        *out = all;
    return rc;
}

static int transfer(h5ckpt *ck, const h5ckpt__plan *plan, int writing)
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
    if (dxpl < 0 || H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0)
        rc = h5ckpt__set(ck, H5CKPT_EIO, "cannot set up collective transfers");
    else if (need && !(pack = malloc(need)))
        rc = h5ckpt__set(ck, H5CKPT_ENOMEM,
                         "cannot allocate %llu bytes to pack strided buffers",
                         (unsigned long long)need);
    rc = h5ckpt__agree(ck->comm, rc, ck->errmsg);
    if (rc == 0)
        rc = transfer_rounds(ck, plan, &rounds);
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
        if ((d = H5Dopen2(ck->fid, op->path, H5P_DEFAULT)) < 0 || type < 0)
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
            rc = h5ckpt__set(ck, H5CKPT_EIO, "cannot %s tensor '%s'",
                             writing ? "write" : "read", op->path);
            h5ckpt__append_h5err(ck->errmsg);
        } else if (writing) {
            ck->bytes_written += t->nelems * es;
        } else {
            ck->bytes_read += t->nelems * es;
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
    return h5ckpt__agree(ck->comm, rc, ck->errmsg);
}

int h5ckpt__exec_plain_write(h5ckpt *ck, const h5ckpt__plan *plan)
{
    return transfer(ck, plan, 1);
}

int h5ckpt__exec_plain_read(h5ckpt *ck, const h5ckpt__plan *plan)
{
    return transfer(ck, plan, 0);
}
