/*
 * The one validator of what a file says about itself (format-spec/FORMAT.md,
 * "Root group" and "Checksums"): the root attributes and the checksum
 * table's shape.  h5ckpt_open stops at the first problem and fails with its
 * code (index.c, checksum_read.c); h5ckpt_verify reports every problem
 * (verify.c, verify_checksums.c) and adds the strict checks, which the
 * reader leaves out on purpose (the reader takes any integer type for an
 * int64 root attribute; verify wants H5T_STD_I64LE, as the format says a
 * writer uses).
 *
 * The order of the checks is the order of the codes a reader sees: a file
 * that is not h5ckpt (ENOTCKPT) before missing versions (ECORRUPT) before
 * an unsupported read version (EVERSION) before an uncommitted file
 * (ENOTCOMMITTED) before the remaining attributes (ECORRUPT).
 */
#include "format/format.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h5ckpt__root_clear(h5ckpt__root *r)
{
    free(r->created);
    free(r->library_version);
    free(r->mesh_dim_names);
    r->created = r->library_version = r->mesh_dim_names = NULL;
}

/* Record a problem: the first one's code and message stay in `c`, the
 * callback hears each.  Strict-only problems exist only for verify.
 * Returns the code when the caller must stop (stopping at the first), else
 * 0. */
static int problem(h5ckpt__check *c, int code, int strict_only, const char *object,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int problem(h5ckpt__check *c, int code, int strict_only, const char *object,
                   const char *fmt, ...)
{
    char msg[H5CKPT_MSG_MAX];
    va_list ap;

    if (strict_only && !c->strict)
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->code == 0) {
        c->code = code;
        memcpy(c->msg, msg, sizeof msg);
    }
    if (c->report)
        c->report(c->ctx, code, object, msg);
    return c->stop ? code : 0;
}

/*
 * Verify's exact check of root attribute `name`, in its order: the file
 * type (H5T_STD_I64LE for int64: the reader takes any integer type, the
 * format says writers use that one; a string class for strings), then the
 * dataspace (scalar, or 1-D with 1..32 elements).  Returns 0 when it
 * passes, -1 with the message in c->scratch when it does not.
 */
static int strict_shape(hid_t fid, h5ckpt__check *c, const char *name,
                        h5ckpt_attr_type type, int vector)
{
    hid_t at = H5Aopen(fid, name, H5P_DEFAULT), ft = H5I_INVALID_HID;
    hid_t sp = H5I_INVALID_HID;
    hsize_t dim = 0;
    int nd, rc = -1;

    if (at < 0 || (ft = H5Aget_type(at)) < 0 || (sp = H5Aget_space(at)) < 0)
        snprintf(c->scratch, sizeof c->scratch, "attribute '%s' cannot be opened",
                 name);
    else if (type == H5CKPT_ATTR_INT64 ? H5Tequal(ft, H5T_STD_I64LE) <= 0
                                       : H5Tget_class(ft) != H5T_STRING)
        snprintf(c->scratch, sizeof c->scratch, "attribute '%s' is not %s", name,
                 type == H5CKPT_ATTR_INT64 ? "H5T_STD_I64LE" : "a string");
    else if ((nd = H5Sget_simple_extent_ndims(sp)) != (vector ? 1 : 0) ||
             (vector && (H5Sget_simple_extent_dims(sp, &dim, NULL) != 1 || dim < 1 ||
                         dim > H5CKPT_MAX_NDIM)))
        snprintf(c->scratch, sizeof c->scratch,
                 vector ? "attribute '%s' is not 1-D with 1..32 elements"
                        : "attribute '%s' is not a scalar",
                 name);
    else
        rc = 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (at >= 0)
        H5Aclose(at);
    return rc;
}

/*
 * Root attribute `name`, read through the attribute codec into `a`.
 * Returns 0 with *ok = 1 when it is present with `type` and the count rule
 * (`vector` 0: a scalar; 1: 1..H5CKPT_MAX_NDIM values), *ok = 0 otherwise
 * (a missing one reported only when `required`); or the stopping code.
 */
static int root_attr(hid_t fid, h5ckpt__check *c, const char *name,
                     h5ckpt_attr_type type, int vector, int required,
                     h5ckpt__attr *a, int *ok)
{
    char msg[H5CKPT_MSG_MAX];
    int rc;

    *ok = 0;
    if (H5Aexists(fid, name) <= 0)
        return required ? problem(c, H5CKPT_ECORRUPT, 0, "/",
                                  "required attribute '%s' is missing", name)
                        : 0;
    if (c->strict && (rc = strict_shape(fid, c, name, type, vector)) != 0)
        return rc > 0 ? 0 : problem(c, H5CKPT_ECORRUPT, 0, "/", "%s", c->scratch);
    rc = h5ckpt__attr_read(fid, name, a, msg);
    if (rc != 0 || a->type != type ||
        (vector ? a->count < 1 || a->count > H5CKPT_MAX_NDIM : a->count != 0))
        return problem(c, H5CKPT_ECORRUPT, 0, "/", "root attribute '%s' is not %s",
                       name,
                       type == H5CKPT_ATTR_STRING
                           ? (vector ? "a 1-D array of 1..32 strings" : "a string")
                           : (vector ? "a 1-D array of 1..32 int64 values"
                                     : "an int64 scalar"));
    *ok = 1;
    return 0;
}

static int root_int(hid_t fid, h5ckpt__check *c, const char *name, int required,
                    int64_t *v, int *ok)
{
    h5ckpt__attr a = {0};
    int rc = root_attr(fid, c, name, H5CKPT_ATTR_INT64, 0, required, &a, ok);

    if (*ok)
        *v = *(int64_t *)a.values;
    h5ckpt__attr_clear(&a);
    return rc;
}

static int iso_utc(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
    size_t i;

    if (strlen(s) != sizeof pat - 1)
        return 0;
    for (i = 0; pat[i]; i++)
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return 0;
    return 1;
}

/* A required string root attribute, kept in *out (owned). */
static int root_string(hid_t fid, h5ckpt__check *c, const char *name, char **out)
{
    h5ckpt__attr a = {0};
    int ok, rc = root_attr(fid, c, name, H5CKPT_ATTR_STRING, 0, 1, &a, &ok);

    if (ok && !(*out = h5ckpt__strdup(((char **)a.values)[0])))
        rc = problem(c, H5CKPT_ENOMEM, 0, "/", "out of memory");
    h5ckpt__attr_clear(&a);
    return rc;
}

/* The optional mesh dimension names: display text for h5ckpt_root_info
 * (joined with ","), and verify's checks. */
static int mesh_names(hid_t fid, h5ckpt__check *c, h5ckpt__root *r, int mesh_ok)
{
    char msg[H5CKPT_MSG_MAX], num[32];
    h5ckpt__attr a = {0};
    h5ckpt__buf b = {0};
    size_t i;
    int rc = 0;

    if (H5Aexists(fid, H5CKPT_A_MESH_DIMS) <= 0)
        return 0;
    if (h5ckpt__attr_read(fid, H5CKPT_A_MESH_DIMS, &a, msg) != 0 ||
        (a.type != H5CKPT_ATTR_STRING && a.type != H5CKPT_ATTR_INT64)) {
        r->mesh_dims_bad = 1; /* the reader ignores it; root_info says so */
        rc = problem(c, H5CKPT_ECORRUPT, 1, "/",
                     "root attribute '%s' is not a 1-D array of strings",
                     H5CKPT_A_MESH_DIMS);
        goto done;
    }
    for (i = 0; i < (a.count ? a.count : 1); i++) {
        const char *t = num;
        if (a.type == H5CKPT_ATTR_STRING)
            t = ((char **)a.values)[i];
        else
            snprintf(num, sizeof num, "%lld", (long long)((int64_t *)a.values)[i]);
        if (i)
            h5ckpt__buf_bytes(&b, ",", 1);
        h5ckpt__buf_bytes(&b, t, strlen(t));
    }
    h5ckpt__buf_bytes(&b, "", 1);
    if (b.err) {
        rc = problem(c, H5CKPT_ENOMEM, 0, "/", "out of memory");
        goto done;
    }
    r->mesh_dim_names = (char *)b.data;
    b.data = NULL;
    if (a.type != H5CKPT_ATTR_STRING || a.count < 1 || a.count > H5CKPT_MAX_NDIM)
        rc = problem(c, H5CKPT_ECORRUPT, 1, "/",
                     "root attribute '%s' is not a 1-D array of 1..32 strings",
                     H5CKPT_A_MESH_DIMS);
    else if (mesh_ok && a.count != (size_t)r->mesh_ndim)
        rc = problem(c, H5CKPT_ECORRUPT, 1, "/",
                     "'%s' has %zu names for %d mesh dimensions",
                     H5CKPT_A_MESH_DIMS, a.count, r->mesh_ndim);
done:
    h5ckpt__attr_clear(&a);
    h5ckpt__buf_free(&b);
    return rc;
}

/* Everything after the versions and the commit marker. */
static int root_rest(hid_t fid, h5ckpt__check *c, h5ckpt__root *r)
{
    h5ckpt__attr a = {0};
    int64_t prod = 1;
    int ok, rc, mesh_ok;
    size_t i;

    if ((rc = root_int(fid, c, H5CKPT_A_NRANKS, 1, &r->nranks, &ok)) != 0)
        return rc;
    if (ok && r->nranks < 1 &&
        (rc = problem(c, H5CKPT_ECORRUPT, 0, "/", "'%s' is %lld (must be >= 1)",
                      H5CKPT_A_NRANKS, (long long)r->nranks)) != 0)
        return rc;
    if ((rc = root_string(fid, c, H5CKPT_A_LIBVERSION, &r->library_version)) != 0 ||
        (rc = root_string(fid, c, H5CKPT_A_CREATED, &r->created)) != 0)
        return rc;
    if (r->created && !iso_utc(r->created) &&
        (rc = problem(c, H5CKPT_ECORRUPT, 1, "/",
                      "'%s' is '%s', not ISO 8601 UTC YYYY-MM-DDTHH:MM:SSZ",
                      H5CKPT_A_CREATED, r->created)) != 0)
        return rc;
    if ((rc = root_attr(fid, c, H5CKPT_A_MESH_SHAPE, H5CKPT_ATTR_INT64, 1, 1, &a,
                        &mesh_ok)) != 0)
        goto done;
    for (i = 0; mesh_ok && i < a.count; i++) {
        int64_t s = ((int64_t *)a.values)[i];
        /* a mesh has at most INT_MAX ranks (an MPI communicator's size) */
        if (s < 1 || s > INT_MAX || (prod *= s) > INT_MAX) {
            mesh_ok = 0;
            rc = s < 1 ? problem(c, H5CKPT_ECORRUPT, 0, "/", "'%s' has a size %lld < 1",
                                 H5CKPT_A_MESH_SHAPE, (long long)s)
                       : problem(c, H5CKPT_ECORRUPT, 0, "/",
                                 "the product of '%s' exceeds %d ranks",
                                 H5CKPT_A_MESH_SHAPE, INT_MAX);
            if (rc)
                goto done;
        } else {
            r->mesh_shape[i] = s;
        }
    }
    if (mesh_ok)
        r->mesh_ndim = (int)a.count;
    if (mesh_ok && ok && r->nranks >= 1 && prod != r->nranks &&
        (rc = problem(c, H5CKPT_ECORRUPT, 0, "/",
                      "the writer mesh shape multiplies to %lld ranks, but '%s' "
                      "is %lld",
                      (long long)prod, H5CKPT_A_NRANKS, (long long)r->nranks)) != 0)
        goto done;
    rc = mesh_names(fid, c, r, mesh_ok);
done:
    h5ckpt__attr_clear(&a);
    return rc;
}

int h5ckpt__root_check(hid_t fid, h5ckpt__check *c,
                       h5ckpt__root *r)
{
    h5ckpt__attr a = {0};
    int64_t committed = 0;
    int rc = 0, ok = 0, rv_ok, wv_ok;

    r->write_version = r->read_version = -1;
    /* Not h5ckpt at all: nothing further is checked, in either mode. */
    if (H5Aexists(fid, H5CKPT_A_FORMAT) > 0)
        root_attr(fid, &(h5ckpt__check){0}, H5CKPT_A_FORMAT, H5CKPT_ATTR_STRING, 0,
                  1, &a, &ok);
    if (!ok || strcmp(((char **)a.values)[0], H5CKPT_FORMAT_NAME) != 0) {
        h5ckpt__attr_clear(&a);
        problem(c, H5CKPT_ENOTCKPT, 0, "/",
                "not an h5ckpt checkpoint (no '%s' = '%s' attribute)",
                H5CKPT_A_FORMAT, H5CKPT_FORMAT_NAME);
        return H5CKPT_ENOTCKPT;
    }
    h5ckpt__attr_clear(&a);
    r->has_sums = H5Aexists(fid, H5CKPT_A_CHECKSUM_ALGO) > 0;
    /* Versions: both present and int64 first, then the read version. */
    if ((rc = root_int(fid, c, H5CKPT_A_READ_VERSION, 1, &r->read_version,
                       &rv_ok)) != 0 ||
        (rc = root_int(fid, c, H5CKPT_A_WRITE_VERSION, 1, &r->write_version,
                       &wv_ok)) != 0)
        goto done;
    if (rv_ok && r->read_version < 1 &&
        (rc = problem(c, H5CKPT_EVERSION, 0, "/", "'%s' is %lld (must be >= 1)",
                      H5CKPT_A_READ_VERSION, (long long)r->read_version)) != 0)
        goto done;
    if (rv_ok && r->read_version > H5CKPT_FORMAT_READ_VERSION &&
        (rc = problem(c, H5CKPT_EVERSION, 0, "/",
                      "needs a reader of format version %lld; this library reads "
                      "version %d",
                      (long long)r->read_version, H5CKPT_FORMAT_READ_VERSION)) != 0)
        goto done;
    if (wv_ok && r->write_version < 1 &&
        (rc = problem(c, H5CKPT_ECORRUPT, 1, "/", "'%s' is %lld (must be >= 1)",
                      H5CKPT_A_WRITE_VERSION, (long long)r->write_version)) != 0)
        goto done;
    if (rv_ok && wv_ok && r->write_version >= 1 && r->read_version >= 1 &&
        r->read_version <= H5CKPT_FORMAT_READ_VERSION &&
        r->read_version > r->write_version &&
        (rc = problem(c, H5CKPT_ECORRUPT, 1, "/",
                      "read version %lld is newer than write version %lld",
                      (long long)r->read_version, (long long)r->write_version)) != 0)
        goto done;
    /* The commit marker: absent or not 1 is an interrupted save. */
    if (H5Aexists(fid, H5CKPT_A_COMMITTED) <= 0) {
        rc = problem(c, H5CKPT_ENOTCOMMITTED, 0, "/",
                     "never committed: no '%s' attribute (an interrupted save?)",
                     H5CKPT_A_COMMITTED);
    } else if ((rc = root_int(fid, c, H5CKPT_A_COMMITTED, 1, &committed, &ok)) == 0 &&
               ok && committed != 1) {
        rc = problem(c, H5CKPT_ENOTCOMMITTED, 0, "/",
                     "never committed: '%s' is %lld, not 1 (an interrupted save?)",
                     H5CKPT_A_COMMITTED, (long long)committed);
    }
    if (rc == 0)
        rc = root_rest(fid, c, r);
done:
    return rc ? rc : c->stop ? 0 : c->code;
}

int h5ckpt__sumtab_check(hid_t fid, h5ckpt__check *c, hid_t *dset, uint64_t *rows,
                         int *maxnd)
{
    h5ckpt__attr a = {0};
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, ty = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0}, fsize = 0;
    char msg[H5CKPT_MSG_MAX];
    int rc = 0, ok = 0;

    *dset = H5I_INVALID_HID;
    if (H5Aexists(fid, H5CKPT_A_CHECKSUM_ALGO) <= 0)
        return 0; /* no table: the caller says what that means */
    if (h5ckpt__attr_read(fid, H5CKPT_A_CHECKSUM_ALGO, &a, msg) != 0 ||
        a.type != H5CKPT_ATTR_STRING || a.count != 0) {
        rc = problem(c, H5CKPT_ECORRUPT, 0, "/", "root attribute '%s' is not a string",
                     H5CKPT_A_CHECKSUM_ALGO);
        goto done;
    }
    if (strcmp(((char **)a.values)[0], H5CKPT_CHECKSUM_ALGO) != 0) {
        rc = problem(c, H5CKPT_ENOTSUP, 0, "/", "unknown checksum algorithm '%.64s'",
                     ((char **)a.values)[0]);
        goto done;
    }
    /* 2-D unsigned 64-bit, width 3 + 2k with k <= 32, no more rows than the
     * file has bytes for (never allocate by an unchecked number) */
    if ((d = H5Dopen2(fid, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT)) >= 0 &&
        (sp = H5Dget_space(d)) >= 0 && (ty = H5Dget_type(d)) >= 0 &&
        H5Sget_simple_extent_ndims(sp) == 2 &&
        H5Sget_simple_extent_dims(sp, dims, NULL) == 2 &&
        H5Tget_class(ty) == H5T_INTEGER && H5Tget_size(ty) == 8 &&
        H5Tget_sign(ty) == H5T_SGN_NONE && dims[1] >= 3 && (dims[1] - 3) % 2 == 0 &&
        (dims[1] - 3) / 2 <= H5CKPT_MAX_NDIM && H5Fget_filesize(fid, &fsize) >= 0 &&
        dims[0] <= fsize / 8 / dims[1])
        ok = 1;
    if (!ok) {
        rc = problem(c, H5CKPT_ECORRUPT, 0, "/",
                     "the checksum table '/%s' is missing or malformed",
                     H5CKPT_CHECKSUM_TABLE);
        goto done;
    }
    *rows = dims[0];
    *maxnd = (int)((dims[1] - 3) / 2);
    *dset = d;
    d = H5I_INVALID_HID;
done:
    h5ckpt__attr_clear(&a);
    if (ty >= 0)
        H5Tclose(ty);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return rc ? rc : c->stop ? 0 : c->code;
}
