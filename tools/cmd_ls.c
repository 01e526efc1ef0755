/* h5ckpt ls: root information and the tree of a checkpoint. */
#include "sandbox.h"
#include "tool.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_LONG = 'l', OPT_JSON = 256 };

static const cli_opt opts[] = {
    {"long", OPT_LONG, NULL, "per-tensor detail: elements, placements, attributes"},
    {"json", OPT_JSON, NULL, "machine-readable output (schema in docs/h5ckpt-ls.md)"},
    {NULL, 0, NULL, NULL}};

static json_t *attrs_json(const h5ckpt *ck, const char *obj)
{
    json_t *o = json_object();
    size_t i, n = h5ckpt_attr_count(ck, obj);

    for (i = 0; i < n; i++) {
        const char *name = h5ckpt_attr_at(ck, obj, i);
        json_object_set_new(o, name, tool_attr_json(ck, obj, name));
    }
    return o;
}

static json_t *info_json(const h5ckpt *ck, const char *key)
{
    char buf[1024];

    return h5ckpt_root_info(ck, key, buf, sizeof buf) == 0 ? json_string(buf) : json_null();
}

/* The whole listing as JSON (also the model for the text output). */
static json_t *listing(const h5ckpt *ck, const char *file, int npat, char *const *pats)
{
    json_t *root, *mesh = json_array(), *groups = json_array(), *tensors = json_array();
    json_t *names = json_null(), *nranks;
    int64_t wv = 0, rv = 0, shape[H5CKPT_MAX_NDIM], v;
    int ndim = 0, i;
    size_t k;
    char buf[1024];

    h5ckpt_format_versions(ck, &wv, &rv);
    h5ckpt_writer_mesh(ck, &ndim, shape);
    for (i = 0; i < ndim; i++)
        json_array_append_new(mesh, json_integer(shape[i]));
    if (h5ckpt_root_info(ck, "writer_mesh_dim_names", buf, sizeof buf) == 0) {
        char *s = buf, *tok;
        names = json_array();
        while ((tok = strsep(&s, ",")))
            json_array_append_new(names, json_string(tok));
    }
    nranks = h5ckpt_root_info(ck, "writer_nranks", buf, sizeof buf) == 0
                 ? json_integer(strtoll(buf, NULL, 10)) : json_null();
    root = json_pack("{s:s, s:s, s:{s:I, s:I, s:o}, s:o, s:b, s:{s:o, s:o, s:o}}",
                     "schema", "h5ckpt-ls/1", "file", file, "format", "write_version",
                     (json_int_t)wv, "read_version", (json_int_t)rv, "library_version",
                     info_json(ck, "library_version"), "created", info_json(ck, "created"),
                     "committed", 1, "writer", "nranks", nranks, "mesh_shape", mesh,
                     "mesh_dim_names", names);
    if (h5ckpt_attr_get_int64(ck, "", "step", &v) == 0)
        json_object_set_new(root, "step", json_integer(v));
    if (h5ckpt_attr_get_int64(ck, "", "epoch", &v) == 0)
        json_object_set_new(root, "epoch", json_integer(v));
    if (npat == 0) {
        json_array_append_new(groups, json_pack("{s:s, s:o}", "path", "", "attributes",
                                                attrs_json(ck, "")));
        for (k = 0; k < h5ckpt_group_count(ck); k++) {
            const char *g = h5ckpt_group_at(ck, k);
            json_array_append_new(groups, json_pack("{s:s, s:o}", "path", g, "attributes",
                                                    attrs_json(ck, g)));
        }
    }
    for (k = 0; k < h5ckpt_tensor_count(ck); k++) {
        const char *p = h5ckpt_tensor_at(ck, k);
        uint64_t sh[H5CKPT_MAX_NDIM], n;
        h5ckpt_dtype dt;
        json_t *js = json_array();
        int nd;

        if (!tool_selected(p, npat, pats))
            continue;
        h5ckpt_tensor_info(ck, p, &dt, &nd, sh);
        for (i = 0; i < nd; i++)
            json_array_append_new(js, json_integer((json_int_t)sh[i]));
        n = tool_nelems(nd, sh);
        json_array_append_new(tensors, json_pack(
            "{s:s, s:s, s:o, s:I, s:I, s:s, s:o}", "path", p, "dtype",
            h5ckpt_dtype_name(dt), "shape", js, "elements", (json_int_t)n, "bytes",
            (json_int_t)(n * h5ckpt_dtype_size(dt)), "placements",
            h5ckpt_tensor_placements(ck, p), "attributes", attrs_json(ck, p)));
    }
    json_object_set_new(root, "groups", groups);
    json_object_set_new(root, "tensors", tensors);
    return root;
}

static void print_attrs(const json_t *attrs, const char *indent)
{
    const char *name;
    json_t *a;

    json_object_foreach((json_t *)attrs, name, a) {
        char *val = json_dumps(json_object_get(a, "value"), JSON_ENCODE_ANY | JSON_COMPACT);
        cli_out("%s@%s = %s  (%s)\n", indent, name, val ? val : "?",
                json_string_value(json_object_get(a, "type")));
        free(val);
    }
}

static void print_text(const json_t *l, int lng)
{
    const json_t *fmt = json_object_get(l, "format"), *w = json_object_get(l, "writer");
    const json_t *g, *t, *v;
    char *mesh = json_dumps(json_object_get(w, "mesh_shape"), JSON_COMPACT);
    char *names = json_dumps(json_object_get(w, "mesh_dim_names"), JSON_ENCODE_ANY | JSON_COMPACT);
    uint64_t total = 0;
    size_t i;

    cli_out("file:       %s\n", json_string_value(json_object_get(l, "file")));
    cli_out("format:     h5ckpt write version %lld, read version %lld (library %s)\n",
            (long long)json_integer_value(json_object_get(fmt, "write_version")),
            (long long)json_integer_value(json_object_get(fmt, "read_version")),
            json_string_value(json_object_get(fmt, "library_version")));
    cli_out("created:    %s\n", json_string_value(json_object_get(l, "created")));
    cli_out("committed:  yes\n");
    cli_out("writer:     %lld ranks, mesh shape %s%s%s\n",
            (long long)json_integer_value(json_object_get(w, "nranks")), mesh,
            json_is_null(json_object_get(w, "mesh_dim_names")) ? "" : " named ",
            json_is_null(json_object_get(w, "mesh_dim_names")) ? "" : names);
    if ((v = json_object_get(l, "step")))
        cli_out("step:       %lld\n", (long long)json_integer_value(v));
    if ((v = json_object_get(l, "epoch")))
        cli_out("epoch:      %lld\n", (long long)json_integer_value(v));
    json_array_foreach(json_object_get(l, "tensors"), i, t)
        total += (uint64_t)json_integer_value(json_object_get(t, "bytes"));
    cli_out("tensors:    %zu (%llu bytes)\n", json_array_size(json_object_get(l, "tensors")),
            (unsigned long long)total);
    free(mesh);
    free(names);
    json_array_foreach(json_object_get(l, "groups"), i, g) {
        const char *p = json_string_value(json_object_get(g, "path"));
        if (!*p && json_object_size(json_object_get(g, "attributes")) == 0)
            continue;
        cli_out("%s/\n", p);
        print_attrs(json_object_get(g, "attributes"), "    ");
    }
    json_array_foreach(json_object_get(l, "tensors"), i, t) {
        const json_t *sh = json_object_get(t, "shape"), *d;
        char shape[1100] = "(";
        size_t k, len = 1;
        json_array_foreach(sh, k, d)
            len += (size_t)snprintf(shape + len, sizeof shape - len > 0 ? sizeof shape - len : 0,
                                    "%s%lld", k ? ", " : "", (long long)json_integer_value(d));
        snprintf(shape + len, sizeof shape - len, "%s)", json_array_size(sh) == 1 ? "," : "");
        cli_out("%-40s %-13s %-16s %llu B\n", json_string_value(json_object_get(t, "path")),
                json_string_value(json_object_get(t, "dtype")), shape,
                (unsigned long long)json_integer_value(json_object_get(t, "bytes")));
        if (lng) {
            cli_out("    elements:   %lld\n",
                    (long long)json_integer_value(json_object_get(t, "elements")));
            cli_out("    placements: %s\n",
                    json_string_value(json_object_get(t, "placements")));
        }
        print_attrs(json_object_get(t, "attributes"), "    ");
    }
}

static int run(const cli_cmd *self, int argc, char **argv)
{
    const char *arg;
    h5ckpt *ck = NULL;
    json_t *l = NULL;
    int c, first, lng = 0, js = 0, rc;

    while ((c = cli_next_opt(self, argc, argv, &arg, &first)) != -1) {
        if (c == 'h')
            return CLI_OK;
        if (c == '?')
            return CLI_USAGE;
        if (c == OPT_LONG)
            lng = 1;
        else if (c == OPT_JSON)
            js = 1;
    }
    if (argc - first < 1)
        return cli_usage_error(self, "expected FILE");
    if ((rc = sandbox_run(self, 1, CLI_FAIL)) >= 0)
        return rc;
    if ((rc = tool_open(self, argv[first], &ck)) != CLI_OK)
        return rc;
    l = listing(ck, argv[first], argc - first - 1, argv + first + 1);
    if (!l) {
        rc = cli_error(self, CLI_FAIL, "out of memory");
    } else if (js) {
        char *s = json_dumps(l, JSON_INDENT(2));
        cli_out("%s\n", s ? s : "null");
        free(s);
    } else {
        print_text(l, lng);
    }
    json_decref(l);
    h5ckpt_close(ck);
    return rc;
}

const cli_cmd cmd_ls = {"ls", run, "[-l] [--json] FILE [PATTERN...]",
                        "show a checkpoint: root information, groups, tensors, "
                        "attributes", opts};
