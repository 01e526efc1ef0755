/*
 * Checksums, writer side: every owner rank hashes the pieces it writes
 * (XXH3-64 of the little-endian element bytes in row-major order of the box,
 * so independent of the caller's memory layout and of the executor: the io
 * layer does that, lib/io/sums.c), keeps one row per piece here, and at
 * commit all rows go into one table dataset, each rank writing its rows at
 * its offset (one collective write) or rank 0 writing all of them when it
 * alone holds the file.  Format specification, section "Checksums".
 */
#include "format/format.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

uint64_t h5ckpt__path_hash(const char *path)
{
    return XXH3_64bits(path, strlen(path));
}

/* 1 if `strides` are the row-major strides of `count` (or NULL). */
static int row_major(int ndim, const uint64_t *count, const int64_t *strides)
{
    uint64_t s = 1;
    int d;

    if (!strides)
        return 1;
    for (d = ndim - 1; d >= 0; d--) {
        if (count[d] > 1 && (uint64_t)strides[d] != s)
            return 0;
        s *= count[d];
    }
    return 1;
}

uint64_t h5ckpt__hash_strided(const void *base, int ndim, const uint64_t *count,
                              const int64_t *strides, size_t elsize)
{
    int64_t rm[H5CKPT_MAX_NDIM];
    uint64_t idx[H5CKPT_MAX_NDIM] = {0}, n = h5ckpt__volume(ndim, count, NULL);
    const unsigned char *p = base;
    XXH3_state_t *st;
    uint64_t h, i;
    int d, last = ndim - 1;

    if (ndim == 0 || row_major(ndim, count, strides))
        return XXH3_64bits(base, (ndim ? n : 1) * elsize);
    if (!strides) {
        rm[last] = 1;
        for (d = last - 1; d >= 0; d--)
            rm[d] = rm[d + 1] * (int64_t)count[d + 1];
        strides = rm;
    }
    if (!(st = XXH3_createState()))
        return 0; /* cannot happen in practice; a mismatch shows it */
    XXH3_64bits_reset(st);
    if (n > 0) {
        for (;;) {
            const unsigned char *row = p;
            for (d = 0; d < last; d++)
                row += (int64_t)idx[d] * strides[d] * (int64_t)elsize;
            if (strides[last] == 1)
                XXH3_64bits_update(st, row, count[last] * elsize);
            else
                for (i = 0; i < count[last]; i++)
                    XXH3_64bits_update(st, row + (int64_t)i * strides[last] *
                                                     (int64_t)elsize,
                                       elsize);
            for (d = last - 1; d >= 0; d--) {
                if (++idx[d] < count[d])
                    break;
                idx[d] = 0;
            }
            if (d < 0)
                break;
        }
    }
    h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

void h5ckpt__sums_row(h5ckpt__sums *s, const char *path, int ndim,
                      const uint64_t *box, uint64_t h)
{
    int d;

    h5ckpt__buf_u64(&s->rows, h5ckpt__path_hash(path));
    h5ckpt__buf_u64(&s->rows, h);
    h5ckpt__buf_u64(&s->rows, (uint64_t)ndim);
    for (d = 0; d < 2 * ndim; d++)
        h5ckpt__buf_u64(&s->rows, box[d]);
    s->nrows++;
}

/* This rank's rows at the table's fixed width. */
static uint64_t *fixed_rows(h5ckpt__sums *s, size_t w)
{
    uint64_t *rows = calloc(s->nrows * w + 1, sizeof *rows);
    h5ckpt__buf *b = &s->rows;
    uint64_t r, v[3];
    int nd, d;

    if (!rows)
        return NULL;
    b->pos = 0;
    for (r = 0; r < s->nrows; r++) {
        uint64_t *row = rows + r * w;
        for (d = 0; d < 3; d++)
            v[d] = h5ckpt__buf_get_u64(b);
        nd = (int)v[2];
        row[H5CKPT__SUM_PATH] = v[0];
        row[H5CKPT__SUM_HASH] = v[1];
        row[H5CKPT__SUM_NDIM] = v[2];
        for (d = 0; d < nd; d++)
            row[H5CKPT__SUM_BOX + d] = h5ckpt__buf_get_u64(b);
        for (d = 0; d < nd; d++)
            row[H5CKPT__SUM_BOX + s->maxnd + d] = h5ckpt__buf_get_u64(b);
    }
    return rows;
}

/* Collective over the ranks that hold the file (meta.c): create the table
 * dataset [total, w] and write the `n` rows at `rows` at row `first`. */
static int write_table(h5ckpt__ctx *ctx, h5ckpt__file *f, const uint64_t *rows,
                       uint64_t first,
                       uint64_t n, uint64_t total, size_t w)
{
    hsize_t dims[2] = {total, w}, start[2] = {first, 0};
    hsize_t count[2] = {n, w}, mdim = n * w + 1;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hid_t msp = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
    int rc = 0;

    space = H5Screate_simple(2, dims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0 ||
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
        (d = H5Dcreate2(f->fid, H5CKPT_CHECKSUM_TABLE, H5T_STD_U64LE, space,
                        H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0) {
        rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot create the checksum table");
        h5ckpt__append_h5err(ctx->errmsg);
    }
    /* A valid uint64 tensor to readers that do not know checksums. */
    if (rc == 0)
        rc = h5ckpt__attr_write_string(d, H5CKPT_A_DTYPE, "uint64", ctx->errmsg);
    if (rc == 0)
        rc = h5ckpt__attr_write_string(d, H5CKPT_A_PLACEMENTS, "explicit",
                                       ctx->errmsg);
    /* the table's extent exists: its space before the (collective) write
     * (space.c) */
    if (rc == 0) {
        haddr_t at = H5Dget_offset(d);
        rc = h5ckpt__file_reserve(ctx, f, at == HADDR_UNDEF ? 0 : (uint64_t)at + total * w * 8);
    }
    /* every rank reaches this agreement, whatever failed above */
    if ((rc = h5ckpt__agree(h5ckpt__file_comm(ctx, f), rc, ctx->errmsg)) != 0 ||
        total == 0)
        goto done;
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    msp = H5Screate_simple(1, &mdim, NULL);
    if (dxpl < 0 || msp < 0 ||
        (!f->serial && H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0))
        rc = -1;
    else if (n == 0)
        rc = H5Sselect_none(space) < 0 || H5Sselect_none(msp) < 0 ? -1 : 0;
    else {
        hsize_t z = 0, nw = n * w;
        rc = H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count,
                                 NULL) < 0 ||
                     H5Sselect_hyperslab(msp, H5S_SELECT_SET, &z, NULL, &nw,
                                         NULL) < 0
                 ? -1 : 0;
    }
    if (rc == 0 && H5Dwrite(d, H5T_NATIVE_UINT64, msp, space, dxpl, rows) < 0)
        rc = -1;
    if (rc) {
        rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot write the checksum table");
        h5ckpt__append_h5err(ctx->errmsg);
    }
done:
    if (msp >= 0)
        H5Sclose(msp);
    if (dxpl >= 0)
        H5Pclose(dxpl);
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

/* Collective: when rank 0 alone holds the file (meta.c) and the table has
 * no extent to pwrite into (write_rows_raw), bring every rank's rows to it
 * in rank order; *rows and *n become rank 0's table, in which every other
 * rank's rows start at its row `first`. */
static int gather_rows(h5ckpt__ctx *ctx, const h5ckpt__file *f, uint64_t **rows,
                       uint64_t *n, uint64_t total,
                       size_t w)
{
    MPI_Datatype row = MPI_DATATYPE_NULL;
    int *counts = NULL, *displs = NULL, mine = (int)*n, wi = 0, i, rc = 0;
    uint64_t *all = NULL;

    if (!f->serial || ctx->size == 1)
        return 0;
    /* counts and displacements are rows (of a row datatype): int */
    if ((rc = h5ckpt__mpi_count((size_t)total, &i, "checksum rows", ctx->errmsg)) == 0)
        rc = h5ckpt__mpi_count(w, &wi, "checksum row width", ctx->errmsg);
    if (rc == 0 && ctx->rank == 0 &&
             (!(counts = malloc((size_t)ctx->size * sizeof *counts)) ||
              !(displs = malloc((size_t)ctx->size * sizeof *displs)) ||
              !(all = malloc((total * w + 1) * sizeof *all))))
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for checksums");
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        goto done;
    if ((rc = h5ckpt__mpi(MPI_Type_contiguous(wi, MPI_UINT64_T, &row),
                          "MPI_Type_contiguous", ctx->errmsg)) == 0 &&
        (rc = h5ckpt__mpi(MPI_Type_commit(&row), "MPI_Type_commit", ctx->errmsg)) == 0)
        rc = h5ckpt__mpi(MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, ctx->comm),
                         "MPI_Gather of checksum row counts", ctx->errmsg);
    for (i = 0; rc == 0 && ctx->rank == 0 && i < ctx->size; i++)
        displs[i] = i ? displs[i - 1] + counts[i - 1] : 0;
    if (rc == 0)
        rc = h5ckpt__mpi(MPI_Gatherv(*rows, mine, row, all, counts, displs, row, 0,
                                     ctx->comm),
                         "MPI_Gatherv of checksum rows", ctx->errmsg);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) == 0 && ctx->rank == 0) {
        free(*rows);
        *rows = all;
        all = NULL;
        *n = total;
    }
done:
    if (row != MPI_DATATYPE_NULL)
        MPI_Type_free(&row);
    free(all);
    free(displs);
    free(counts);
    return rc;
}

/* Rank 0 (alone holding the file): the byte offset of the table's
 * contiguous extent, -1 when it has none. */
static int64_t table_offset(const h5ckpt__file *f)
{
    hid_t d = H5Dopen2(f->fid, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT);
    haddr_t a = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;

    if (d >= 0)
        H5Dclose(d);
    return a == HADDR_UNDEF ? -1 : (int64_t)a;
}

/*
 * Collective, when rank 0 alone holds the file (f->serial): rank 0 creates
 * the table, and every rank writes its own `n` rows at row `first` of its
 * extent with pwrite, as the fast executor writes tensors (the extent is
 * allocated early, HDF5 never writes inside it), fsyncing them when
 * `durable`.  Rank 0 thus receives 8 bytes, not every rank's rows
 * (docs/SCALING.md).  *done is 0 (nothing written, identical on every
 * rank) when the table has no extent: the caller then gathers the rows
 * instead.  Agreed.
 */
static int write_rows_raw(h5ckpt__ctx *ctx, h5ckpt__file *f, const uint64_t *rows,
                          uint64_t first, uint64_t n, uint64_t total, size_t w,
                          int durable, int *done)
{
    int64_t off = -1;
    int fd = -1, rc = 0;

    *done = 0;
    if (ctx->rank == 0 && (rc = write_table(ctx, f, rows, 0, 0, total, w)) == 0 &&
        total > 0)
        off = table_offset(f);
    rc = h5ckpt__file_wait(ctx, f, rc);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        return rc;
    rc = h5ckpt__mpi(MPI_Bcast(&off, 1, MPI_INT64_T, 0, ctx->comm),
                     "MPI_Bcast of the checksum table's offset", ctx->errmsg);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0 || (total > 0 && off < 0))
        return rc;
    *done = 1;
    if (n > 0) {
        const unsigned char *p = (const unsigned char *)rows;
        uint64_t len = n * w * sizeof *rows, at = (uint64_t)off + first * w * sizeof *rows;
        if ((fd = open(f->tmp_path, O_WRONLY)) < 0)
            rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot open '%s' to write checksums: %s",
                             f->tmp_path, strerror(errno));
        while (rc == 0 && len > 0) {
            ssize_t k = pwrite(fd, p, len > (1u << 30) ? (1u << 30) : (size_t)len,
                               (off_t)at);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                rc = h5ckpt__set(ctx, H5CKPT_EIO, "cannot write checksums to '%s': %s",
                                 f->tmp_path, strerror(k < 0 ? errno : EIO));
            else
                p += k, len -= (uint64_t)k, at += (uint64_t)k;
        }
        /* every rank makes its own rows durable, as its tensor bytes */
        if (rc == 0 && durable && fsync(fd) != 0)
            rc = h5ckpt__set(ctx, H5CKPT_EIO, "fsync of '%s' failed: %s", f->tmp_path,
                             strerror(errno));
        if (fd >= 0 && close(fd) != 0 && rc == 0)
            rc = h5ckpt__set(ctx, H5CKPT_EIO, "closing '%s' failed: %s", f->tmp_path,
                             strerror(errno));
    }
    return h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
}

int h5ckpt__sums_write(h5ckpt__ctx *ctx, h5ckpt__file *f, int durable)
{
    h5ckpt__sums *s = &f->sums;
    size_t w = H5CKPT__SUM_WIDTH(s->maxnd);
    uint64_t *rows = NULL, mine = s->nrows, first = 0, total = 0;
    int rc = 0, raw = 0;

    if (h5ckpt__knobs_get()->checksums_off)
        return 0; /* identical on every rank (benchmarks) */
    if (!(rows = fixed_rows(s, w)))
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory for checksums");
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        goto done;
    if ((rc = h5ckpt__mpi(MPI_Exscan(&mine, &first, 1, MPI_UINT64_T, MPI_SUM,
                                     ctx->comm),
                          "MPI_Exscan", ctx->errmsg)) == 0)
        rc = h5ckpt__mpi(MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM,
                                       ctx->comm),
                         "MPI_Allreduce", ctx->errmsg);
    if (ctx->rank == 0)
        first = 0; /* MPI_Exscan leaves rank 0's result undefined */
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        goto done;
    if (f->serial && ctx->size > 1 &&
        ((rc = write_rows_raw(ctx, f, rows, first, mine, total, w, durable, &raw)) != 0 ||
         raw))
        goto attr;
    if ((rc = gather_rows(ctx, f, &rows, &mine, total, w)) != 0)
        goto done;
    if (h5ckpt__file_mine(ctx, f))
        rc = write_table(ctx, f, rows, first, mine, total, w);
    rc = h5ckpt__file_wait(ctx, f, rc);
attr:
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) == 0 &&
        h5ckpt__file_mine(ctx, f))
        rc = h5ckpt__attr_write_string(f->fid, H5CKPT_A_CHECKSUM_ALGO,
                                       H5CKPT_CHECKSUM_ALGO, ctx->errmsg);
    rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
done:
    free(rows);
    return rc;
}

void h5ckpt__sums_free(h5ckpt__sums *s)
{
    h5ckpt__buf_free(&s->rows);
    free(s->pieces);
    free(s->tab);
    memset(s, 0, sizeof *s);
}
