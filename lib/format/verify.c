/*
 * Verification of a file against format-spec/FORMAT.md: rank 0 walks the file
 * serially with plain HDF5 (read-only, default file driver), reports every
 * problem it finds instead of stopping at the first, and the list is shared
 * so that every rank reports the same problems.
 */
#include "format/format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    h5ckpt__buf out;   /* pairs of strings: object, message */
    size_t n;
    int64_t write_version;
} vctx;

static void problem(vctx *v, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(vctx *v, const char *object, const char *fmt, ...)
{
    char msg[H5CKPT_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h5ckpt__buf_str(&v->out, *object ? object : "/");
    h5ckpt__buf_str(&v->out, msg);
    v->n++;
}

/* Adapter for a checksum verifier that reports through a callback. */
static void report_cb(void *ctx, const char *object, const char *message)
{
    problem(ctx, object ? object : "/", "%s", message);
}

/* Reserved names this version knows, and where they belong. */
static const char *const root_reserved[] = {
    H5CKPT_A_FORMAT,   H5CKPT_A_WRITE_VERSION, H5CKPT_A_READ_VERSION,
    H5CKPT_A_LIBVERSION, H5CKPT_A_CREATED,     H5CKPT_A_NRANKS,
    H5CKPT_A_MESH_SHAPE, H5CKPT_A_MESH_DIMS,   H5CKPT_A_COMMITTED,
    H5CKPT_A_CHECKSUM_ALGO, NULL};
static const char *const dataset_reserved[] = {H5CKPT_A_DTYPE, H5CKPT_A_PLACEMENTS,
                                               NULL};

static int in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (!strcmp(*list, name))
            return 1;
    return 0;
}

enum { K_INT64, K_STRING };

/*
 * Check that attribute `name` of `obj` exists with the given kind and
 * dataspace (scalar when `vector` is 0, 1-D of length >= 1 otherwise).
 * Returns 1 if it is well formed, 0 otherwise (problem reported unless
 * missing and `optional`).
 */
static int check_attr(vctx *v, hid_t obj, const char *objname, const char *name,
                      int kind, int vector, int optional, size_t *len)
{
    hid_t at = H5I_INVALID_HID, ft = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hid_t want = H5I_INVALID_HID;
    hsize_t dim = 0;
    int ok = 0, nd;

    if (H5Aexists(obj, name) <= 0) {
        if (!optional)
            problem(v, objname, "required attribute '%s' is missing", name);
        return 0;
    }
    if ((at = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (ft = H5Aget_type(at)) < 0 ||
        (sp = H5Aget_space(at)) < 0) {
        problem(v, objname, "attribute '%s' cannot be opened", name);
        goto done;
    }
    if (kind == K_INT64) {
        want = H5Tcopy(H5T_STD_I64LE);
        if (H5Tequal(ft, want) <= 0) {
            problem(v, objname, "attribute '%s' is not H5T_STD_I64LE", name);
            goto done;
        }
    } else if (H5Tget_class(ft) != H5T_STRING) {
        problem(v, objname, "attribute '%s' is not a string", name);
        goto done;
    }
    nd = H5Sget_simple_extent_ndims(sp);
    if (!vector && nd != 0) {
        problem(v, objname, "attribute '%s' is not a scalar", name);
        goto done;
    }
    if (vector && (nd != 1 || H5Sget_simple_extent_dims(sp, &dim, NULL) != 1 ||
                   dim < 1 || dim > H5CKPT_MAX_NDIM)) {
        problem(v, objname, "attribute '%s' is not 1-D with 1..%d elements", name,
                H5CKPT_MAX_NDIM);
        goto done;
    }
    if (len)
        *len = (size_t)dim;
    ok = 1;
done:
    if (want >= 0)
        H5Tclose(want);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (at >= 0)
        H5Aclose(at);
    return ok;
}

/* Read a well-formed attribute through the core reader (values in `a`). */
static int read_ok(hid_t obj, const char *name, h5ckpt__attr *a)
{
    char msg[H5CKPT_MSG_MAX];

    return h5ckpt__attr_read(obj, name, a, msg) == 0;
}

/* Adapter: the validator's problems are verify's. */
static void report_root(void *ctx, int code, const char *object, const char *message)
{
    (void)code;
    problem(ctx, object, "%s", message);
}

/* Root group through the one validator (validate.c), every problem
 * reported, strict checks included.  Returns 0 if the file is an h5ckpt
 * file at all, else -1 (nothing further is checked). */
static int check_root(vctx *v, hid_t fid, const char *path)
{
    h5ckpt__check c = {0};
    h5ckpt__root r = {0};
    int rc;

    c.strict = 1;
    c.report = report_root;
    c.ctx = v;
    rc = h5ckpt__root_check(fid, &c, &r);
    v->write_version = r.write_version;
    h5ckpt__root_clear(&r);
    return rc == H5CKPT_ENOTCKPT ? -1 : 0;
}

typedef struct {
    vctx *v;
    const char *obj;
    int kind; /* 0 root, 1 group, 2 dataset */
} actx;

/* Attribute names: valid, and reserved ones only where the spec puts them. */
static herr_t on_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    actx *c = data;
    char msg[H5CKPT_MSG_MAX];
    int reserved = !strncmp(name, H5CKPT_RESERVED_PREFIX, strlen(H5CKPT_RESERVED_PREFIX));

    if (h5ckpt__check_attr_name(name, 1, msg) != 0)
        problem(c->v, c->obj, "attribute name is invalid: %s", msg);
    if (!reserved)
        return 0;
    if (in_list(root_reserved, name) && c->kind != 0)
        problem(c->v, c->obj, "reserved root attribute '%s' on a %s", name,
                c->kind == 1 ? "group" : "dataset");
    else if (in_list(dataset_reserved, name) && c->kind != 2)
        problem(c->v, c->obj, "reserved dataset attribute '%s' on a group", name);
    else if (!in_list(root_reserved, name) && !in_list(dataset_reserved, name) &&
             c->v->write_version <= H5CKPT_FORMAT_WRITE_VERSION)
        /* A newer writer may add reserved names; version 1 defines no others. */
        problem(c->v, c->obj, "unknown reserved attribute '%s' in a write version %lld file",
                name, (long long)c->v->write_version);
    return 0;
}

static void check_attrs(vctx *v, hid_t obj, const char *objname, int kind)
{
    actx c = {v, objname, kind};
    hsize_t idx = 0;

    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, on_attr, &c) < 0)
        problem(v, objname, "cannot list its attributes");
}

/* Virtual datasets and external storage would make a reader read other
 * files (format-spec, "Limits and malformed files"). */
static void check_storage(vctx *v, hid_t d, const char *path)
{
    hid_t dcpl = H5Dget_create_plist(d);
    H5D_layout_t layout;
    int next;

    if (dcpl < 0) {
        problem(v, path, "its creation properties cannot be read");
        return;
    }
    if ((layout = H5Pget_layout(dcpl)) == H5D_VIRTUAL)
        problem(v, path, "is a virtual dataset (not allowed)");
    else if (layout < 0)
        problem(v, path, "its storage layout cannot be read");
    if ((next = H5Pget_external_count(dcpl)) > 0)
        problem(v, path, "stores its data in %d external file(s) (not allowed)", next);
    H5Pclose(dcpl);
}

static void check_dataset(vctx *v, hid_t d, const char *path, off_t fsize)
{
    h5ckpt__attr a = {0};
    h5ckpt_dtype dt = H5CKPT_DTYPE_COUNT;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dims[H5CKPT_MAX_NDIM], maxd[H5CKPT_MAX_NDIM];
    uint64_t shape[H5CKPT_MAX_NDIM], nelem = 0;
    H5S_class_t cls;
    int nd = -1, i, overflow = 0;

    if (check_attr(v, d, path, H5CKPT_A_DTYPE, K_STRING, 0, 0, NULL) &&
        read_ok(d, H5CKPT_A_DTYPE, &a) &&
        h5ckpt_dtype_from_name(&dt, ((char **)a.values)[0], NULL) != 0) {
        problem(v, path, "'%s' is '%s', not a dtype of the format", H5CKPT_A_DTYPE,
                ((char **)a.values)[0]);
        dt = H5CKPT_DTYPE_COUNT;
    }
    h5ckpt__attr_clear(&a);
    check_attr(v, d, path, H5CKPT_A_PLACEMENTS, K_STRING, 0, 0, NULL);
    check_storage(v, d, path);
    if ((type = H5Dget_type(d)) < 0)
        problem(v, path, "its datatype cannot be read");
    else if (dt != H5CKPT_DTYPE_COUNT && !h5ckpt__h5type_matches(type, dt))
        problem(v, path, "its HDF5 type is not the one the format mandates for %s",
                h5ckpt_dtype_name(dt));
    if ((space = H5Dget_space(d)) < 0 || (cls = H5Sget_simple_extent_type(space)) < 0 ||
        (nd = H5Sget_simple_extent_ndims(space)) < 0) {
        problem(v, path, "its dataspace cannot be read");
        goto done;
    }
    if (cls == H5S_NULL || (cls == H5S_SIMPLE && (nd < 1 || nd > H5CKPT_MAX_NDIM))) {
        problem(v, path, "dataspace is neither scalar nor simple with 1..%d dimensions",
                H5CKPT_MAX_NDIM);
        goto done;
    }
    if (nd > 0 && H5Sget_simple_extent_dims(space, dims, maxd) < 0) {
        problem(v, path, "its dataspace cannot be read");
        goto done;
    }
    for (i = 0; i < nd; i++) {
        shape[i] = dims[i];
        if (maxd[i] != dims[i]) {
            problem(v, path, "dimension %d: maximum extent differs from current", i);
            break;
        }
    }
    nelem = h5ckpt__volume(nd, shape, &overflow);
    if (overflow) {
        problem(v, path, "its element count overflows 64 bits");
        goto done;
    }
    if (dt != H5CKPT_DTYPE_COUNT) {
        /* Contiguous data must lie inside the file (a truncated copy). */
        haddr_t off = H5Dget_offset(d);
        uint64_t bytes = nelem * h5ckpt_dtype_size(dt);
        if (off != HADDR_UNDEF && bytes / h5ckpt_dtype_size(dt) == nelem &&
            (off > (uint64_t)fsize || bytes > (uint64_t)fsize - off))
            problem(v, path, "its data (%llu bytes at offset %llu) extends past the "
                    "end of the file (%lld bytes): truncated?",
                    (unsigned long long)bytes, (unsigned long long)off,
                    (long long)fsize);
    }
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
}

typedef struct {
    vctx *v;
    off_t fsize;
    h5ckpt__strmap seen; /* object address (hex) -> 1 */
} wctx;

/* Each object has exactly one path: report a second link to it (a hard
 * link under another name, or a group linked into itself). */
static int seen_before(wctx *w, haddr_t addr, const char *name)
{
    char key[32];

    snprintf(key, sizeof key, "%llx", (unsigned long long)addr);
    if (h5ckpt__strmap_get(&w->seen, key) >= 0) {
        problem(w->v, name, "is a second link to an object already linked "
                "elsewhere (each object must have one path)");
        return 1;
    }
    if (h5ckpt__strmap_put(&w->seen, key, 1) != 0)
        problem(w->v, name, "out of memory tracking objects");
    return 0;
}

static herr_t on_link(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    wctx *w = data;
    char msg[H5CKPT_MSG_MAX];
    H5O_info_t oi;
    hid_t obj;

    if (info->type != H5L_TYPE_HARD) {
        problem(w->v, name, "is a soft or external link (not allowed)");
        return 0;
    }
    if (h5ckpt__check_path(name, 0, msg) != 0)
        problem(w->v, name, "object name is invalid: %s", msg);
    if (H5Oget_info_by_name(root, name, &oi, H5P_DEFAULT) < 0 ||
        (obj = H5Oopen(root, name, H5P_DEFAULT)) < 0) {
        problem(w->v, name, "cannot be opened");
        return 0;
    }
    if (seen_before(w, oi.addr, name)) {
        H5Oclose(obj);
        return 0;
    }
    if (oi.type == H5O_TYPE_GROUP) {
        check_attrs(w->v, obj, name, 1);
    } else if (oi.type == H5O_TYPE_DATASET) {
        check_attrs(w->v, obj, name, 2);
        check_dataset(w->v, obj, name, w->fsize);
    } else {
        problem(w->v, name, "is neither a group nor a dataset (named datatypes are "
                "not allowed)");
    }
    H5Oclose(obj);
    return 0;
}

/* A name of the commit protocol's temporary files: .<base>.h5ckpt-tmp-<16 hex>. */
static int temporary_name(const char *path)
{
    const char *base = strrchr(path, '/'), *p;
    size_t i;

    base = base ? base + 1 : path;
    if (base[0] != '.' || !(p = strstr(base, H5CKPT_TMP_INFIX)))
        return 0;
    p += strlen(H5CKPT_TMP_INFIX);
    for (i = 0; i < 16; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return p[16] == '\0';
}

/* Rank 0: the whole check.  Returns 0 or an error that prevents checking. */
static int scan(const char *path, vctx *v, char *msg)
{
    struct stat st;
    hid_t fapl = H5I_INVALID_HID, fid = H5I_INVALID_HID;
    wctx w = {v, 0, {0}};
    H5O_info_t root;

    if (stat(path, &st) != 0)
        return h5ckpt__fail(msg, errno == ENOENT || errno == ENOTDIR ? H5CKPT_ENOENT
                                                                     : H5CKPT_EIO,
                            "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return h5ckpt__fail(msg, H5CKPT_EISDIR, "'%s' is a directory", path);
    if (temporary_name(path))
        problem(v, "/", "the file name is a temporary name of the commit protocol "
                "(an interrupted save)");
    if (H5Fis_hdf5(path) <= 0) {
        problem(v, "/", "not an HDF5 file");
        return 0;
    }
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_sec2(fapl) < 0 ||
        (fid = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0) {
        char h5[H5CKPT_MSG_MAX] = "";
        h5ckpt__append_h5err(h5);
        problem(v, "/", "HDF5 cannot open the file%s (truncated or damaged?)", h5);
        goto done;
    }
    w.fsize = st.st_size;
    if (check_root(v, fid, path) != 0)
        goto done;
    check_attrs(v, fid, "/", 0);
    if (H5Oget_info(fid, &root) < 0)
        problem(v, "/", "cannot inspect the root group");
    else
        seen_before(&w, root.addr, "/");
    if (H5Lvisit(fid, H5_INDEX_NAME, H5_ITER_INC, on_link, &w) < 0)
        problem(v, "/", "cannot walk the groups of the file");
    /* Every piece's checksum (format-spec "Checksums").  A file of write
     * version 1 predates the table; a version-2 writer always stores one;
     * what a newer version does is not ours to judge. */
    {
        size_t nchecked = 0;
        htri_t has = H5Lexists(fid, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT);
        if (has > 0)
            h5ckpt__verify_checksums(fid, report_cb, v, &nchecked); /* reports each */
        else if (has < 0)
            problem(v, "/", "cannot look up the checksum table");
        else if (v->write_version == 2)
            problem(v, "/", "the checksum table '%s' is missing (write version %lld)",
                    H5CKPT_CHECKSUM_TABLE, (long long)v->write_version);
    }
done:
    h5ckpt__strmap_free(&w.seen);
    if (fid >= 0)
        H5Fclose(fid);
    if (fapl >= 0)
        H5Pclose(fapl);
    return 0;
}

int h5ckpt_verify(const char *path, MPI_Comm comm, h5ckpt_problem_fn fn, void *ctx,
                  size_t *nproblems, h5ckpt_error *err)
{
    char msg[H5CKPT_MSG_MAX] = "";
    h5ckpt__h5quiet q;
    MPI_Comm dup = MPI_COMM_NULL;
    vctx v;
    size_t i, n = 0;
    int rc = 0, rank = 0, flag = 0;

    memset(&v, 0, sizeof v);
    h5ckpt__h5quiet_begin(&q);
    if (nproblems)
        *nproblems = 0;
    if (comm == MPI_COMM_NULL || MPI_Initialized(&flag) != MPI_SUCCESS || !flag) {
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "invalid communicator");
        goto done;
    }
    /* everything below on a duplicate that returns MPI errors */
    if ((rc = h5ckpt__comm_dup(comm, &dup, msg)) != 0 ||
        (rc = h5ckpt__mpi(MPI_Comm_rank(dup, &rank), "MPI_Comm_rank", msg)) != 0)
        goto done;
    comm = dup;
    if (!path || !*path)
        rc = h5ckpt__fail(msg, H5CKPT_EINVAL, "no path given");
    else if (rank == 0)
        rc = scan(path, &v, msg);
    if (rc == 0 && v.out.err)
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    h5ckpt__buf_u64(&v.out, v.n); /* trailer: the count */
    if ((rc = h5ckpt__buf_bcast(&v.out, 0, comm)) != 0 || v.out.len < 8)
        rc = h5ckpt__fail(msg, rc ? rc : H5CKPT_EMPI, "cannot share the problems");
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    /* The count sits at the end; the pairs are read from the start. */
    v.out.pos = v.out.len - 8;
    n = (size_t)h5ckpt__buf_get_u64(&v.out);
    v.out.pos = 0;
    for (i = 0; i < n; i++) {
        const char *o = h5ckpt__buf_get_str(&v.out), *m = h5ckpt__buf_get_str(&v.out);
        if (!o || !m)
            break;
        if (fn)
            fn(ctx, o, m);
    }
    if (nproblems)
        *nproblems = n;
done:
    h5ckpt__comm_free(&dup);
    h5ckpt__buf_free(&v.out);
    h5ckpt__h5quiet_end(&q);
    h5ckpt__seterror(err, rc, msg);
    return rc;
}
