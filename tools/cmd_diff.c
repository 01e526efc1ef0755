/*
 * h5ckpt diff: compare two checkpoints - tensors only in one, dtype or shape
 * changes, element differences within a tolerance, attribute differences.
 * Tensor data is streamed in blocks of TOOL_BLOCK_BYTES per file and rank;
 * under mpirun the blocks are spread over the ranks and the statistics
 * reduced.
 */
#include "sandbox.h"
#include "tool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_RTOL = 'r', OPT_ATOL = 'a', OPT_JSON = 256, OPT_QUIET = 'q' };

static const cli_opt opts[] = {
    {"rtol", OPT_RTOL, "R", "relative tolerance (default 0): equal if |a-b| <= atol + rtol*|b|"},
    {"atol", OPT_ATOL, "A", "absolute tolerance (default 0)"},
    {"json", OPT_JSON, NULL, "machine-readable output (schema in docs/h5ckpt-diff.md)"},
    {"quiet", OPT_QUIET, NULL, "no progress on stderr"},
    {NULL, 0, NULL, NULL}};

typedef struct {
    double maxabs, maxrel;
    unsigned long long count;
} stats;

static int is_int(h5ckpt_dtype dt)
{
    return dt <= H5CKPT_UINT64; /* bool and the integer types come first */
}

static void compare(h5ckpt_dtype dt, const unsigned char *a, const unsigned char *b,
                    uint64_t n, double rtol, double atol, stats *st)
{
    size_t es = h5ckpt_dtype_size(dt);
    uint64_t i;

    for (i = 0; i < n; i++, a += es, b += es) {
        double x, y, d;
        if (!memcmp(a, b, es))
            continue;
        x = tool_to_double(dt, a);
        y = tool_to_double(dt, b);
        if (isnan(x) && isnan(y))
            continue;
        if (isnan(x) || isnan(y)) {
            st->count++; /* counted, but no finite difference to report */
            continue;
        }
        if (!is_int(dt) && x == y)
            continue; /* +0 and -0 */
        d = fabs(x - y);
        if (is_int(dt) && d < 1)
            d = 1; /* distinct integers rounded to one double */
        if (isnan(d))
            d = INFINITY;
        if (d > st->maxabs)
            st->maxabs = d;
        if ((y != 0 ? d / fabs(y) : INFINITY) > st->maxrel)
            st->maxrel = y != 0 ? d / fabs(y) : INFINITY;
        if (!(d <= atol + rtol * fabs(y)))
            st->count++;
    }
}

static int strcmp_ptr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static json_t *num(double d)
{
    return isfinite(d) ? json_real(d) : json_string(isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
}

/* Collective: element statistics of one tensor in both files. */
static int diff_data(h5ckpt *a, h5ckpt *b, const char *p, h5ckpt_dtype dt, int nd,
                     const uint64_t *sh, double rtol, double atol, void *ba, void *bb,
                     stats *out, tool_progress *pr)
{
    size_t es = h5ckpt_dtype_size(dt);
    uint64_t n = tool_nelems(nd, sh), blk = TOOL_BLOCK_BYTES / es;
    uint64_t nblocks = (n + blk - 1) / blk, r, rounds = (nblocks + cli_size - 1) / cli_size;
    stats st = {0, 0, 0};
    int rc = 0;

    for (r = 0; r < rounds && rc == 0; r++) {
        uint64_t k = r * (uint64_t)cli_size + (uint64_t)cli_rank;
        uint64_t s = k < nblocks ? k * blk : 0, e = k < nblocks ? (s + blk < n ? s + blk : n) : 0;
        if ((rc = tool_read_range(a, p, dt, nd, sh, s, e, ba)) != 0 ||
            (rc = tool_read_range(b, p, dt, nd, sh, s, e, bb)) != 0)
            break;
        compare(dt, ba, bb, e - s, rtol, atol, &st);
        {   /* this round covered elements [r*size*blk, min(n, (r+1)*size*blk)) */
            uint64_t lo = r * (uint64_t)cli_size * blk, hi = lo + (uint64_t)cli_size * blk;
            tool_progress_add(pr, ((hi < n ? hi : n) - lo) * es * 2);
        }
    }
    MPI_Allreduce(&st.maxabs, &out->maxabs, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&st.maxrel, &out->maxrel, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&st.count, &out->count, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    return rc;
}

/* Union of two sorted name lists, calling fn for each name. */
typedef const char *(*nth_fn)(const h5ckpt *, size_t);

static json_t *union_names(const h5ckpt *a, const h5ckpt *b, size_t na, size_t nb, nth_fn nth)
{
    json_t *o = json_object();
    size_t i;

    for (i = 0; i < na; i++)
        json_object_set_new(o, nth(a, i), json_true());
    for (i = 0; i < nb; i++)
        json_object_set_new(o, nth(b, i), json_true());
    return o;
}

static const char *group_nth(const h5ckpt *c, size_t i) { return h5ckpt_group_at(c, i); }
static const char *tensor_nth(const h5ckpt *c, size_t i) { return h5ckpt_tensor_at(c, i); }

static void diff_attrs(const h5ckpt *a, const h5ckpt *b, const char *obj, json_t *out)
{
    json_t *names = json_object(), *x, *y, *v;
    const char *name;
    size_t i;

    for (i = 0; i < h5ckpt_attr_count(a, obj); i++)
        json_object_set_new(names, h5ckpt_attr_at(a, obj, i), json_true());
    for (i = 0; i < h5ckpt_attr_count(b, obj); i++)
        json_object_set_new(names, h5ckpt_attr_at(b, obj, i), json_true());
    json_object_foreach(names, name, v) {
        x = tool_attr_json(a, obj, name);
        y = tool_attr_json(b, obj, name);
        if (!json_equal(x, y))
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o, s:o}", "object", obj,
                                                 "name", name, "status",
                                                 !x ? "only_in_b" : !y ? "only_in_a" : "different",
                                                 "a", x ? x : json_null(), "b", y ? y : json_null()));
        else {
            json_decref(x);
            json_decref(y);
        }
    }
    json_decref(names);
}

static void print_text(const json_t *r)
{
    const json_t *t, *x;
    size_t i;
    char *va, *vb;

    json_array_foreach(json_object_get(r, "only_in_a"), i, x)
        cli_out("only in A: %s\n", json_string_value(x));
    json_array_foreach(json_object_get(r, "only_in_b"), i, x)
        cli_out("only in B: %s\n", json_string_value(x));
    json_array_foreach(json_object_get(r, "tensors"), i, t) {
        const char *st = json_string_value(json_object_get(t, "status"));
        const char *p = json_string_value(json_object_get(t, "path"));
        if (!strcmp(st, "equal"))
            continue;
        if (!strcmp(st, "different")) {
            va = json_dumps(json_object_get(t, "max_abs"), JSON_ENCODE_ANY);
            vb = json_dumps(json_object_get(t, "max_rel"), JSON_ENCODE_ANY);
            cli_out("differs: %s: %lld of %lld elements, max abs %s, max rel %s\n", p,
                    (long long)json_integer_value(json_object_get(t, "differing")),
                    (long long)json_integer_value(json_object_get(t, "elements")), va, vb);
            free(va);
            free(vb);
        } else {
            va = json_dumps(json_object_get(t, "a"), JSON_ENCODE_ANY | JSON_COMPACT);
            vb = json_dumps(json_object_get(t, "b"), JSON_ENCODE_ANY | JSON_COMPACT);
            cli_out("%s differs: %s: %s vs %s\n", st, p, va, vb);
            free(va);
            free(vb);
        }
    }
    json_array_foreach(json_object_get(r, "attributes"), i, t) {
        const char *o = json_string_value(json_object_get(t, "object"));
        va = json_dumps(json_object_get(t, "a"), JSON_ENCODE_ANY | JSON_COMPACT);
        vb = json_dumps(json_object_get(t, "b"), JSON_ENCODE_ANY | JSON_COMPACT);
        cli_out("attribute %s: %s@%s: %s vs %s\n",
                json_string_value(json_object_get(t, "status")), *o ? o : "/",
                json_string_value(json_object_get(t, "name")), va, vb);
        free(va);
        free(vb);
    }
    cli_out("%s\n", json_is_true(json_object_get(r, "equal")) ? "equal" : "different");
}

static int parse_tol(const char *s, double *out)
{
    char *end;

    *out = strtod(s, &end);
    return *end || end == s || !(*out >= 0) || isinf(*out) ? -1 : 0;
}

static int run(const cli_cmd *self, int argc, char **argv)
{
    const char *arg, *key;
    double rtol = 0, atol = 0;
    h5ckpt *a = NULL, *b = NULL;
    json_t *r = NULL, *names = NULL, *v;
    void *ba = NULL, *bb = NULL;
    tool_progress pr;
    uint64_t total = 0;
    int c, first, js = 0, quiet = 0, rc, equal = 1;
    size_t i;

    while ((c = cli_next_opt(self, argc, argv, &arg, &first)) != -1) {
        if (c == 'h')
            return CLI_OK;
        if (c == '?')
            return CLI_USAGE;
        if ((c == OPT_RTOL && parse_tol(arg, &rtol)) || (c == OPT_ATOL && parse_tol(arg, &atol)))
            return cli_usage_error(self, "tolerance '%s' is not a number >= 0", arg);
        if (c == OPT_JSON)
            js = 1;
        else if (c == OPT_QUIET)
            quiet = 1;
    }
    if (argc - first != 2)
        return cli_usage_error(self, "expected two files A and B");
    /* diff: any error is 2, "different" is 1 (a malformed file too) */
    if ((rc = sandbox_run(self, cli_size == 1, CLI_USAGE)) >= 0)
        return rc;
    if (tool_open(self, argv[first], &a) != CLI_OK || tool_open(self, argv[first + 1], &b) != CLI_OK) {
        rc = CLI_USAGE;
        goto done;
    }
    sandbox_parsed();
    ba = malloc(TOOL_BLOCK_BYTES);
    bb = malloc(TOOL_BLOCK_BYTES);
    if (!tool_all_ok(ba && bb)) {
        rc = cli_error(self, CLI_USAGE, "out of memory");
        goto done;
    }
    r = json_pack("{s:s, s:s, s:s, s:f, s:f, s:[], s:[], s:[], s:[]}", "schema", "h5ckpt-diff/1",
                  "a", argv[first], "b", argv[first + 1], "rtol", rtol, "atol", atol,
                  "only_in_a", "only_in_b", "tensors", "attributes");
    names = union_names(a, b, h5ckpt_tensor_count(a), h5ckpt_tensor_count(b), tensor_nth);
    for (i = 0; i < h5ckpt_tensor_count(a); i++) {
        uint64_t sh[H5CKPT_MAX_NDIM];
        h5ckpt_dtype dt;
        int nd;
        h5ckpt_tensor_info(a, h5ckpt_tensor_at(a, i), &dt, &nd, sh);
        total += tool_nelems(nd, sh) * h5ckpt_dtype_size(dt) * 2;
    }
    tool_progress_start(&pr, "diff", total, quiet);
    /* jansson keeps insertion order; the union is inserted A first, so
     * sort the keys for a stable order */
    {
        const char **keys = calloc(json_object_size(names) + 1, sizeof *keys);
        size_t nk = 0, k;
        json_object_foreach(names, key, v) keys[nk++] = key;
        qsort(keys, nk, sizeof *keys, strcmp_ptr);
        for (k = 0; k < nk; k++) {
            const char *p = keys[k];
            h5ckpt_dtype da, db;
            uint64_t sa[H5CKPT_MAX_NDIM], sb[H5CKPT_MAX_NDIM];
            int na, nb, d, same = 1;
            stats st;
            int ia = h5ckpt_tensor_info(a, p, &da, &na, sa) == 0;
            int ib = h5ckpt_tensor_info(b, p, &db, &nb, sb) == 0;
            if (!ia || !ib) {
                json_array_append_new(json_object_get(r, ia ? "only_in_a" : "only_in_b"),
                                      json_string(p));
                equal = 0;
                continue;
            }
            if (da != db) {
                json_array_append_new(json_object_get(r, "tensors"),
                                      json_pack("{s:s, s:s, s:s, s:s}", "path", p, "status", "dtype",
                                                "a", h5ckpt_dtype_name(da), "b", h5ckpt_dtype_name(db)));
                equal = 0;
                continue;
            }
            same = na == nb;
            for (d = 0; same && d < na; d++)
                same = sa[d] == sb[d];
            if (!same) {
                char ta[1100], tb[1100];
                tool_shape_text(na, sa, ta, sizeof ta);
                tool_shape_text(nb, sb, tb, sizeof tb);
                json_array_append_new(json_object_get(r, "tensors"),
                                      json_pack("{s:s, s:s, s:s, s:s}", "path", p, "status", "shape",
                                                "a", ta, "b", tb));
                equal = 0;
                continue;
            }
            if ((rc = diff_data(a, b, p, da, na, sa, rtol, atol, ba, bb, &st, &pr)) != 0) {
                rc = cli_error(self, CLI_USAGE, "cannot read '%s': %s", p, h5ckpt_errmsg(a));
                free(keys);
                goto done;
            }
            if (st.count)
                equal = 0;
            json_array_append_new(json_object_get(r, "tensors"),
                                  json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "path", p, "status",
                                            st.count ? "different" : "equal", "elements",
                                            (json_int_t)tool_nelems(na, sa), "differing",
                                            (json_int_t)st.count, "max_abs", num(st.maxabs),
                                            "max_rel", num(st.maxrel)));
        }
        free(keys);
    }
    tool_progress_end(&pr);
    /* attributes of the root, every group and every tensor of either file */
    diff_attrs(a, b, "", json_object_get(r, "attributes"));
    json_decref(names);
    names = union_names(a, b, h5ckpt_group_count(a), h5ckpt_group_count(b), group_nth);
    {
        json_t *t = union_names(a, b, h5ckpt_tensor_count(a), h5ckpt_tensor_count(b), tensor_nth);
        json_object_update(names, t);
        json_decref(t);
    }
    {
        const char **keys = calloc(json_object_size(names) + 1, sizeof *keys);
        size_t nk = 0, k;
        json_object_foreach(names, key, v) keys[nk++] = key;
        qsort(keys, nk, sizeof *keys, strcmp_ptr);
        for (k = 0; k < nk; k++)
            diff_attrs(a, b, keys[k], json_object_get(r, "attributes"));
        free(keys);
    }
    if (json_array_size(json_object_get(r, "attributes")))
        equal = 0;
    json_object_set_new(r, "equal", json_boolean(equal));
    if (js) {
        char *s = json_dumps(r, JSON_INDENT(2));
        cli_out("%s\n", s ? s : "null");
        free(s);
    } else {
        print_text(r);
    }
    rc = equal ? CLI_OK : CLI_FAIL;
done:
    json_decref(names);
    json_decref(r);
    free(ba);
    free(bb);
    h5ckpt_close(a);
    h5ckpt_close(b);
    return rc;
}

const cli_cmd cmd_diff = {"diff", run, "[--rtol R] [--atol A] [--json] A B",
                          "compare two checkpoints: tensors, values within a tolerance, "
                          "attributes (exit 0 equal, 1 different, 2 error)", opts};
