/*
 * The reader's index: rank 0 validates the file against the format and lists
 * its tensors, groups and attributes; every rank receives the same copy, so
 * listings and checks never differ between ranks.
 */
#include "format/format.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    h5ckpt__ctx *ctx;
    h5ckpt__file *f;
    h5ckpt__index *ix;
    int rc;
    size_t captensors, capgroups, capattrs;
    int has_sums; /* the root declares a checksum table: not a tensor */
    h5ckpt__strmap addrs; /* file address (hex) of every object seen */
    hid_t fid;            /* rank 0's own serial view of the file */
} walk;

/* Remember the object at `addr`; ECORRUPT when it was seen before (one
 * object hard-linked under two names, or a group linked into its own
 * subtree). */
static int seen_once(walk *w, haddr_t addr, const char *name)
{
    char key[32];

    snprintf(key, sizeof key, "%llx", (unsigned long long)addr);
    if (h5ckpt__strmap_get(&w->addrs, key) >= 0)
        return h5ckpt__set(w->ctx, H5CKPT_ECORRUPT,
                           "'%s' is a second hard link to an object already "
                           "listed (not allowed)",
                           name);
    if (h5ckpt__strmap_put(&w->addrs, key, 1) != 0)
        return h5ckpt__set(w->ctx, H5CKPT_ENOMEM, "out of memory");
    return 0;
}

/* The root, through the one validator (validate.c), stopping at the first
 * problem: its code and message are the open's. */
static int read_root(h5ckpt__ctx *ctx, const h5ckpt__file *f, h5ckpt__index *ix,
                     hid_t fid)
{
    h5ckpt__check c = {0};
    int rc;

    c.stop = 1;
    if ((rc = h5ckpt__root_check(fid, &c, &ix->root)) != 0)
        h5ckpt__set(ctx, rc, "'%s': %s", f->path, c.msg);
    return rc;
}

static int push_attr(walk *w, const char *obj, h5ckpt__attr *a)
{
    h5ckpt__index *ix = w->ix;

    if (ix->nattrs == w->capattrs) {
        size_t cap = w->capattrs ? w->capattrs * 2 : 32;
        h5ckpt__attr *p = realloc(ix->attrs, cap * sizeof *p);
        if (!p)
            return H5CKPT_ENOMEM;
        ix->attrs = p;
        w->capattrs = cap;
    }
    if (!(a->obj = h5ckpt__strdup(obj)))
        return H5CKPT_ENOMEM;
    ix->attrs[ix->nattrs++] = *a;
    memset(a, 0, sizeof *a);
    return 0;
}

typedef struct {
    walk *w;
    const char *obj;
} attr_ctx;

static herr_t on_attr(hid_t loc, const char *name, const H5A_info_t *info,
                      void *data)
{
    attr_ctx *c = data;
    h5ckpt__attr a = {0};
    int rc;

    if (strncmp(name, H5CKPT_RESERVED_PREFIX, strlen(H5CKPT_RESERVED_PREFIX)) == 0)
        return 0; /* reserved: read where needed, never listed */
    if (h5ckpt__check_attr_name(name, 1, c->w->ctx->errmsg) != 0) {
        c->w->rc = h5ckpt__set(c->w->ctx, H5CKPT_ECORRUPT,
                               "an attribute of '%s' has an invalid name",
                               *c->obj ? c->obj : "/");
        return -1;
    }
    rc = h5ckpt__attr_read(loc, name, &a, c->w->ctx->errmsg);
    if (rc == 0 && !(a.name = h5ckpt__strdup(name)))
        rc = H5CKPT_ENOMEM;
    if (rc == 0)
        rc = push_attr(c->w, c->obj, &a);
    h5ckpt__attr_clear(&a);
    if (rc < 0) {
        c->w->rc = rc == H5CKPT_ENOMEM
                       ? h5ckpt__set(c->w->ctx, rc, "out of memory")
                       : h5ckpt__set(c->w->ctx, rc,
                                     "attribute '%s' of '%s' is unreadable",
                                     name, *c->obj ? c->obj : "/");
        return -1;
    }
    return 0;
}

static int read_attrs(walk *w, hid_t obj, const char *path)
{
    attr_ctx c = {w, path};
    hsize_t idx = 0;

    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, on_attr, &c) < 0 &&
        w->rc == 0)
        w->rc = h5ckpt__set(w->ctx, H5CKPT_ECORRUPT,
                            "cannot list the attributes of '%s'", *path ? path : "/");
    return w->rc;
}

/*
 * Storage checks: virtual datasets and external storage would make a reader
 * read other files (forbidden); contiguous storage must hold exactly `bytes`
 * (the declared shape) and lie inside the file, or HDF5 would read past it
 * (unallocated storage, size 0, reads as fill values and is accepted).
 */
static int check_storage(h5ckpt__ctx *ctx, hid_t fid, hid_t d, const char *path,
                         uint64_t bytes)
{
    hid_t dcpl;
    H5D_layout_t layout;
    hsize_t stored, fsize = 0;
    haddr_t addr = H5Dget_offset(d);
    int rc = 0;

    /* A defined offset means contiguous storage in this file: HDF5 gives
     * none for chunked, compact, virtual and external datasets.  That
     * spares copying the creation properties, ~10% of the scan. */
    if (addr != HADDR_UNDEF) {
        stored = H5Dget_storage_size(d);
        if (stored != bytes || H5Fget_filesize(fid, &fsize) < 0 ||
            addr > fsize || fsize - addr < stored)
            goto bad_storage;
        return 0;
    }
    if ((dcpl = H5Dget_create_plist(d)) < 0)
        return h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                           "dataset '%s': cannot read its creation properties", path);
    layout = H5Pget_layout(dcpl);
    if (layout == H5D_VIRTUAL) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                         "dataset '%s' is a virtual dataset (not allowed)", path);
    } else if (H5Pget_external_count(dcpl) != 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                         "dataset '%s' uses external storage (not allowed)", path);
    } else if (layout == H5D_CONTIGUOUS && (stored = H5Dget_storage_size(d)) != 0) {
        H5Pclose(dcpl);
        goto bad_storage; /* data said to be stored, but at no offset */
    }
    H5Pclose(dcpl);
    return rc;
bad_storage:
    return h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                       "dataset '%s': its storage (%llu bytes) does not "
                       "hold its shape (%llu bytes) inside the file",
                       path, (unsigned long long)stored,
                       (unsigned long long)bytes);
}

static int read_dataset(walk *w, hid_t d, const char *path)
{
    h5ckpt__ctx *ctx = w->ctx;
    h5ckpt__index *ix = w->ix;
    h5ckpt__tensor t = {0};
    h5ckpt__attr a = {0}, p = {0};
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dims[H5CKPT_MAX_NDIM];
    uint64_t bytes;
    int rc = 0, ndim, i, overflow = 0;

    if (H5Aexists(d, H5CKPT_A_DTYPE) <= 0 ||
        h5ckpt__attr_read(d, H5CKPT_A_DTYPE, &a, ctx->errmsg) != 0 ||
        a.type != H5CKPT_ATTR_STRING || a.count != 0 ||
        h5ckpt_dtype_from_name(&t.dtype, ((char **)a.values)[0], NULL) != 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                         "dataset '%s' has no valid '" H5CKPT_A_DTYPE "' attribute",
                         path);
        goto done;
    }
    if ((type = H5Dget_type(d)) < 0 || !h5ckpt__h5type_matches(type, t.dtype)) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                         "dataset '%s': its HDF5 type is not the one the format "
                         "mandates for %s",
                         path, h5ckpt_dtype_name(t.dtype));
        goto done;
    }
    if (H5Aexists(d, H5CKPT_A_PLACEMENTS) <= 0 ||
        h5ckpt__attr_read(d, H5CKPT_A_PLACEMENTS, &p, ctx->errmsg) != 0 ||
        p.type != H5CKPT_ATTR_STRING || p.count != 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                         "dataset '%s' has no valid '" H5CKPT_A_PLACEMENTS
                         "' attribute",
                         path);
        goto done;
    }
    if ((space = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_type(space) == H5S_NULL ||
        (ndim = H5Sget_simple_extent_ndims(space)) < 0 || ndim > H5CKPT_MAX_NDIM ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT, "dataset '%s' has a bad dataspace",
                         path);
        goto done;
    }
    t.ndim = ndim;
    for (i = 0; i < ndim; i++)
        t.shape[i] = dims[i];
    bytes = h5ckpt__volume(ndim, t.shape, &overflow);
    if (overflow || bytes > UINT64_MAX / h5ckpt_dtype_size(t.dtype)) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                         "dataset '%s': shape overflows 64 bits", path);
        goto done;
    }
    bytes *= h5ckpt_dtype_size(t.dtype);
    if ((rc = check_storage(ctx, w->fid, d, path, bytes)) != 0)
        goto done;
    {
        haddr_t off = H5Dget_offset(d);
        t.offset = off == HADDR_UNDEF ? -1 : (int64_t)off;
    }
    if (!(t.path = h5ckpt__strdup(path))) {
        rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory");
        goto done;
    }
    t.placements = ((char **)p.values)[0];
    ((char **)p.values)[0] = NULL;
    if (ix->ntensors == w->captensors) {
        size_t cap = w->captensors ? w->captensors * 2 : 64;
        h5ckpt__tensor *n = realloc(ix->tensors, cap * sizeof *n);
        if (!n) {
            free(t.path);
            free(t.placements);
            rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory");
            goto done;
        }
        ix->tensors = n;
        w->captensors = cap;
    }
    ix->tensors[ix->ntensors++] = t;
    rc = read_attrs(w, d, path);
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    h5ckpt__attr_clear(&a);
    h5ckpt__attr_clear(&p);
    return rc;
}

static int push_group(walk *w, const char *path)
{
    h5ckpt__index *ix = w->ix;

    if (ix->ngroups == w->capgroups) {
        size_t cap = w->capgroups ? w->capgroups * 2 : 32;
        char **p = realloc(ix->groups, cap * sizeof *p);
        if (!p)
            return H5CKPT_ENOMEM;
        ix->groups = p;
        w->capgroups = cap;
    }
    if (!(ix->groups[ix->ngroups] = h5ckpt__strdup(path)))
        return H5CKPT_ENOMEM;
    ix->ngroups++;
    return 0;
}

static herr_t on_link(hid_t root, const char *name, const H5L_info_t *info,
                      void *data)
{
    walk *w = data;
    h5ckpt__ctx *ctx = w->ctx;
    H5I_type_t kind;
    hid_t obj;
    int rc = 0;

    if (w->has_sums && !strcmp(name, H5CKPT_CHECKSUM_TABLE))
        return 0; /* the checksum table (format spec, "Checksums") */
    if (info->type != H5L_TYPE_HARD) {
        w->rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                            "'%s' is a soft or external link (not allowed)", name);
        return -1;
    }
    if (h5ckpt__check_path(name, 0, ctx->errmsg) != 0) {
        w->rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT, "object name is invalid: %s",
                            ctx->errmsg);
        return -1;
    }
    /* The link gives the address and the open object its kind: no
     * H5Oget_info, whose default fields cost a second lookup of the name
     * and a walk of the attributes (a third of the scan of 10,000 tensors). */
    if ((obj = H5Oopen(root, name, H5P_DEFAULT)) < 0) {
        w->rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT, "cannot open object '%s'", name);
        return -1;
    }
    kind = H5Iget_type(obj);
    if ((rc = seen_once(w, info->u.address, name)) != 0) {
        w->rc = rc;
    } else if (kind == H5I_GROUP) {
        if ((rc = push_group(w, name)) != 0)
            w->rc = h5ckpt__set(ctx, rc, "out of memory");
        else
            rc = read_attrs(w, obj, name);
    } else if (kind == H5I_DATASET) {
        rc = read_dataset(w, obj, name);
        if (rc)
            w->rc = rc;
    } else {
        w->rc = rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT,
                                 "'%s' is neither a group nor a dataset", name);
    }
    H5Oclose(obj);
    return rc ? -1 : 0;
}

static int cmp_tensor(const void *a, const void *b)
{
    return strcmp(((const h5ckpt__tensor *)a)->path, ((const h5ckpt__tensor *)b)->path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_attr(const void *a, const void *b)
{
    const h5ckpt__attr *x = a, *y = b;
    int c = strcmp(x->obj, y->obj);

    return c ? c : strcmp(x->name, y->name);
}

/*
 * A metadata cache of SCAN_CACHE bytes for the scan.  The walk visits each
 * object once, read-only, so evicting is only freeing; with HDF5's default
 * (up to 32 MiB of on-disk sizes, several times that decoded) a file of
 * 10,000 tensors cost rank 0 ~40 MiB of heap, measured with massif.
 */
#define SCAN_CACHE ((size_t)256 << 10)
static int small_cache(hid_t fapl)
{
    H5AC_cache_config_t c;

    c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if (H5Pget_mdc_config(fapl, &c) < 0)
        return -1;
    c.set_initial_size = 1;
    c.initial_size = c.max_size = SCAN_CACHE;
    if (c.min_size > SCAN_CACHE)
        c.min_size = SCAN_CACHE;
    c.incr_mode = H5C_incr__off;
    c.flash_incr_mode = H5C_flash_incr__off;
    c.decr_mode = H5C_decr__off;
    return H5Pset_mdc_config(fapl, &c) < 0 ? -1 : 0;
}

/*
 * Rank 0: validate and read everything, through its own serial (POSIX)
 * handle on the file.  HDF5 may make MPI calls on the communicator of an
 * MPI-IO file while opening some objects (a virtual dataset duplicates it),
 * which would hang the ranks that are not scanning; a serial handle never
 * does.
 */
static int scan(h5ckpt__ctx *ctx, h5ckpt__file *f, const h5ckpt_options *opts)
{
    h5ckpt__index *ix = &f->index;
    walk w = {0};
    H5O_info_t oi;
    hid_t fapl;
    int rc;

    w.ctx = ctx;
    w.f = f;
    w.ix = ix;
    w.fid = H5I_INVALID_HID;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_sec2(fapl) < 0 ||
        H5Pset_file_locking(fapl, opts->no_file_locking ? 0 : 1, 1) < 0 ||
        small_cache(fapl) < 0 ||
        (w.fid = h5ckpt__file_open_serial(f, fapl)) < 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ENOTCKPT, "cannot open '%s' as HDF5", f->path);
        h5ckpt__append_h5err(ctx->errmsg);
        goto done;
    }
    w.has_sums = H5Aexists(w.fid, H5CKPT_A_CHECKSUM_ALGO) > 0;
    if ((rc = read_root(ctx, f, ix, w.fid)) != 0 ||
        (rc = read_attrs(&w, w.fid, "")) != 0)
        goto done;
    if (H5Oget_info(w.fid, &oi) < 0) {
        rc = h5ckpt__set(ctx, H5CKPT_ECORRUPT, "cannot inspect the root group");
        goto done;
    }
    if ((rc = seen_once(&w, oi.addr, "/")) != 0)
        goto done;
    if (H5Lvisit(w.fid, H5_INDEX_NAME, H5_ITER_INC, on_link, &w) < 0 || w.rc) {
        rc = w.rc ? w.rc
                  : h5ckpt__set(ctx, H5CKPT_ECORRUPT, "cannot walk the groups of '%s'",
                                f->path);
        goto done;
    }
    /* qsort needs a valid base even for zero elements */
    if (ix->ntensors)
        qsort(ix->tensors, ix->ntensors, sizeof *ix->tensors, cmp_tensor);
    if (ix->ngroups)
        qsort(ix->groups, ix->ngroups, sizeof *ix->groups, cmp_str);
    if (ix->nattrs)
        qsort(ix->attrs, ix->nattrs, sizeof *ix->attrs, cmp_attr);
done:
    if (w.fid >= 0 && H5Fclose(w.fid) < 0 && rc == 0)
        rc = h5ckpt__set(ctx, H5CKPT_EIO, "closing '%s' failed", f->path);
    if (fapl >= 0)
        H5Pclose(fapl);
    h5ckpt__strmap_free(&w.addrs);
    return rc;
}

static void serialize(const h5ckpt__index *ix, h5ckpt__buf *b)
{
    size_t i;
    int d;

    h5ckpt__buf_u64(b, (uint64_t)ix->root.write_version);
    h5ckpt__buf_u64(b, (uint64_t)ix->root.read_version);
    h5ckpt__buf_u64(b, (uint64_t)ix->root.nranks);
    h5ckpt__buf_str(b, ix->root.created ? ix->root.created : "");
    h5ckpt__buf_str(b, ix->root.library_version ? ix->root.library_version : "");
    h5ckpt__buf_u64(b, (uint64_t)ix->root.mesh_dims_bad);
    h5ckpt__buf_u64(b, ix->root.mesh_dim_names != NULL);
    h5ckpt__buf_str(b, ix->root.mesh_dim_names ? ix->root.mesh_dim_names : "");
    h5ckpt__buf_u64(b, (uint64_t)ix->root.mesh_ndim);
    for (d = 0; d < ix->root.mesh_ndim; d++)
        h5ckpt__buf_u64(b, (uint64_t)ix->root.mesh_shape[d]);
    h5ckpt__buf_u64(b, ix->ntensors);
    for (i = 0; i < ix->ntensors; i++) {
        const h5ckpt__tensor *t = &ix->tensors[i];
        h5ckpt__buf_str(b, t->path);
        h5ckpt__buf_str(b, t->placements);
        h5ckpt__buf_u64(b, (uint64_t)t->dtype);
        h5ckpt__buf_u64(b, (uint64_t)t->offset);
        h5ckpt__buf_u64(b, (uint64_t)t->ndim);
        for (d = 0; d < t->ndim; d++)
            h5ckpt__buf_u64(b, t->shape[d]);
    }
    h5ckpt__buf_u64(b, ix->ngroups);
    for (i = 0; i < ix->ngroups; i++)
        h5ckpt__buf_str(b, ix->groups[i]);
    h5ckpt__buf_u64(b, ix->nattrs);
    for (i = 0; i < ix->nattrs; i++)
        h5ckpt__attr_serialize(&ix->attrs[i], b);
}

static int deserialize(h5ckpt__index *ix, h5ckpt__buf *b)
{
    const char *text;
    uint64_t n;
    size_t i;
    int d, has;

    ix->root.write_version = (int64_t)h5ckpt__buf_get_u64(b);
    ix->root.read_version = (int64_t)h5ckpt__buf_get_u64(b);
    ix->root.nranks = (int64_t)h5ckpt__buf_get_u64(b);
    if (!(text = h5ckpt__buf_get_str(b)) || !(ix->root.created = h5ckpt__strdup(text)) ||
        !(text = h5ckpt__buf_get_str(b)) ||
        !(ix->root.library_version = h5ckpt__strdup(text)))
        return H5CKPT_ENOMEM;
    ix->root.mesh_dims_bad = (int)h5ckpt__buf_get_u64(b);
    has = (int)h5ckpt__buf_get_u64(b);
    if (!(text = h5ckpt__buf_get_str(b)) ||
        (has && !(ix->root.mesh_dim_names = h5ckpt__strdup(text))))
        return H5CKPT_ENOMEM;
    ix->root.mesh_ndim = (int)h5ckpt__buf_get_u64(b);
    if (b->err || ix->root.mesh_ndim > H5CKPT_MAX_NDIM)
        return H5CKPT_ECORRUPT;
    for (d = 0; d < ix->root.mesh_ndim; d++)
        ix->root.mesh_shape[d] = (int64_t)h5ckpt__buf_get_u64(b);
    n = h5ckpt__buf_get_u64(b);
    if (b->err || n > b->len || !(ix->tensors = calloc(n + 1, sizeof *ix->tensors)))
        return H5CKPT_ENOMEM;
    for (i = 0; i < n; i++) {
        h5ckpt__tensor *t = &ix->tensors[i];
        const char *path = h5ckpt__buf_get_str(b), *pl = h5ckpt__buf_get_str(b);
        if (!path || !pl)
            return H5CKPT_ECORRUPT;
        t->path = h5ckpt__strdup(path);
        t->placements = h5ckpt__strdup(pl);
        ix->ntensors++;
        t->dtype = (h5ckpt_dtype)h5ckpt__buf_get_u64(b);
        t->offset = (int64_t)h5ckpt__buf_get_u64(b);
        t->ndim = (int)h5ckpt__buf_get_u64(b);
        if (!t->path || !t->placements || t->ndim > H5CKPT_MAX_NDIM)
            return H5CKPT_ENOMEM;
        for (d = 0; d < t->ndim; d++)
            t->shape[d] = h5ckpt__buf_get_u64(b);
    }
    n = h5ckpt__buf_get_u64(b);
    if (b->err || n > b->len || !(ix->groups = calloc(n + 1, sizeof *ix->groups)))
        return H5CKPT_ENOMEM;
    for (i = 0; i < n; i++) {
        const char *g = h5ckpt__buf_get_str(b);
        if (!g || !(ix->groups[i] = h5ckpt__strdup(g)))
            return H5CKPT_ENOMEM;
        ix->ngroups++;
    }
    n = h5ckpt__buf_get_u64(b);
    if (b->err || n > b->len || !(ix->attrs = calloc(n + 1, sizeof *ix->attrs)))
        return H5CKPT_ENOMEM;
    for (i = 0; i < n; i++) {
        if (h5ckpt__attr_deserialize(&ix->attrs[i], b) != 0) {
            h5ckpt__attr_clear(&ix->attrs[i]);
            return H5CKPT_ENOMEM;
        }
        ix->nattrs++;
    }
    return b->err;
}

int h5ckpt__index_load(h5ckpt__ctx *ctx, h5ckpt__file *f,
                       const h5ckpt_options *opts)
{
    h5ckpt__buf b = {0};
    int rc = 0;

    if (ctx->rank == 0) {
        rc = scan(ctx, f, opts);
        if (rc == 0) {
            serialize(&f->index, &b);
            if (b.err)
                rc = h5ckpt__set(ctx, H5CKPT_ENOMEM, "out of memory");
        }
    }
    /* the walk is rank 0's alone: the others wait asleep */
    rc = h5ckpt__wait_asleep(ctx->comm, rc, ctx->errmsg);
    if ((rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg)) != 0)
        goto done;
    if ((rc = h5ckpt__buf_bcast(&b, 0, ctx->comm)) == 0 && ctx->rank != 0) {
        rc = deserialize(&f->index, &b);
        if (rc)
            h5ckpt__set(ctx, rc, "cannot receive the checkpoint index");
    } else if (rc) {
        h5ckpt__set(ctx, rc, "cannot receive the checkpoint index");
    }
    rc = h5ckpt__agree(ctx->comm, rc, ctx->errmsg);
done:
    h5ckpt__buf_free(&b);
    return rc;
}

void h5ckpt__index_free(h5ckpt__index *ix)
{
    size_t i;

    for (i = 0; i < ix->ntensors; i++) {
        free(ix->tensors[i].path);
        free(ix->tensors[i].placements);
    }
    for (i = 0; i < ix->ngroups; i++)
        free(ix->groups[i]);
    for (i = 0; i < ix->nattrs; i++)
        h5ckpt__attr_clear(&ix->attrs[i]);
    free(ix->tensors);
    free(ix->groups);
    free(ix->attrs);
    h5ckpt__root_clear(&ix->root);
    memset(ix, 0, sizeof *ix);
}

const h5ckpt__tensor *h5ckpt__index_tensor(const h5ckpt__index *ix,
                                           const char *path)
{
    h5ckpt__tensor key;

    if (!path || !ix->tensors)
        return NULL;
    key.path = (char *)path;
    return bsearch(&key, ix->tensors, ix->ntensors, sizeof key, cmp_tensor);
}

const h5ckpt__attr *h5ckpt__index_attr(const h5ckpt__index *ix, const char *obj,
                                       const char *name)
{
    h5ckpt__attr key;

    if (!ix->attrs)
        return NULL;
    key.obj = (char *)obj;
    key.name = (char *)name;
    return bsearch(&key, ix->attrs, ix->nattrs, sizeof key, cmp_attr);
}

size_t h5ckpt__index_first_attr(const h5ckpt__index *ix, const char *obj)
{
    size_t lo = 0, hi = ix->nattrs;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(ix->attrs[mid].obj, obj) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
