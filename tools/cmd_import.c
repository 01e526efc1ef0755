/*
 * h5ckpt import: a safetensors file becomes an h5ckpt checkpoint.  The
 * header is validated completely before anything is written (sizes, dtype
 * codes, shapes, offsets inside the data section, no overlaps or gaps), as
 * the reference implementation does.  Every rank takes part: each tensor is
 * split into flat ranges over the ranks, so one tensor at a time is held in
 * memory, divided among them.
 */
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation's limit on the header (100 MB). */
#define MAX_HEADER 100000000ull

enum { OPT_QUIET = 'q' };

static const cli_opt opts[] = {
    {"quiet", OPT_QUIET, NULL, "no progress on stderr"},
    {NULL, 0, NULL, NULL}};

typedef struct {
    const char *name;
    h5ckpt_dtype dt;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    uint64_t begin, end;
} entry;

/* pread all of `len` bytes (Linux transfers at most ~2 GiB per call). */
static int read_all(int fd, void *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t r = pread(fd, buf, len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf = (char *)buf + r;
        len -= (size_t)r;
        off += r;
    }
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const entry *x = a, *y = b;

    return x->begin != y->begin ? (x->begin < y->begin ? -1 : 1)
                                : (x->end < y->end ? -1 : x->end > y->end);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static int fail(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *msg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, 1024, fmt, ap);
    va_end(ap);
    return -1;
}

static int u64_of(const json_t *j, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(j);
    return 0;
}

/* Validate one tensor entry of the header. */
static int parse_entry(const char *name, const json_t *v, uint64_t datalen, entry *e,
                       char *msg)
{
    const json_t *sh = json_object_get(v, "shape"), *off = json_object_get(v, "data_offsets");
    uint64_t n = 1;
    size_t i;

    e->name = name;
    if (!json_is_object(v) || json_object_size(v) != 3 || !sh || !off)
        return fail(msg, "tensor '%s': needs exactly dtype, shape and data_offsets", name);
    if (tool_st_parse(json_string_value(json_object_get(v, "dtype")), &e->dt))
        return fail(msg, "tensor '%s': unknown dtype", name);
    if (!json_is_array(sh) || json_array_size(sh) > H5CKPT_MAX_NDIM)
        return fail(msg, "tensor '%s': shape is not a list of at most %d sizes", name,
                    H5CKPT_MAX_NDIM);
    e->ndim = (int)json_array_size(sh);
    for (i = 0; i < json_array_size(sh); i++) {
        if (u64_of(json_array_get(sh, i), &e->shape[i]))
            return fail(msg, "tensor '%s': shape holds a negative or non-integer size", name);
        if (e->shape[i] && n > UINT64_MAX / e->shape[i])
            return fail(msg, "tensor '%s': shape overflows 64 bits", name);
        n *= e->shape[i];
    }
    if (!json_is_array(off) || json_array_size(off) != 2 ||
        u64_of(json_array_get(off, 0), &e->begin) || u64_of(json_array_get(off, 1), &e->end))
        return fail(msg, "tensor '%s': data_offsets is not [begin, end]", name);
    if (e->begin > e->end || e->end > datalen)
        return fail(msg, "tensor '%s': data_offsets [%llu, %llu] lie outside the %llu "
                    "data bytes", name, (unsigned long long)e->begin,
                    (unsigned long long)e->end, (unsigned long long)datalen);
    if (n > UINT64_MAX / h5ckpt_dtype_size(e->dt) ||
        e->end - e->begin != n * h5ckpt_dtype_size(e->dt))
        return fail(msg, "tensor '%s': %llu data bytes for %llu elements of %s", name,
                    (unsigned long long)(e->end - e->begin), (unsigned long long)n,
                    h5ckpt_dtype_name(e->dt));
    return 0;
}

/* Read and validate the file: header into *hdr, entries sorted by name. */
static int parse(int fd, json_t **hdr, entry **out, size_t *count, uint64_t *datastart,
                 char *msg)
{
    unsigned char le[8];
    struct stat st;
    uint64_t hlen = 0, datalen, pos = 0;
    char *text = NULL;
    json_error_t jerr;
    const char *key;
    json_t *v;
    entry *e = NULL;
    size_t n = 0, i;
    int b, rc = -1;

    if (fstat(fd, &st) != 0 || pread(fd, le, 8, 0) != 8) {
        fail(msg, "shorter than the 8-byte header length");
        goto done;
    }
    for (b = 7; b >= 0; b--)
        hlen = hlen << 8 | le[b];
    if (hlen > MAX_HEADER || hlen > (uint64_t)st.st_size - 8) {
        fail(msg, "header length %llu exceeds the file (%lld bytes) or the 100 MB limit",
             (unsigned long long)hlen, (long long)st.st_size);
        goto done;
    }
    if (!(text = malloc(hlen + 1)) || read_all(fd, text, hlen, 8) != 0) {
        fail(msg, "cannot read the %llu-byte header", (unsigned long long)hlen);
        goto done;
    }
    if (hlen == 0 || text[0] != '{') {
        fail(msg, "the header does not start with '{'");
        goto done;
    }
    if (!(*hdr = json_loadb(text, hlen, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(*hdr)) {
        fail(msg, "the header is not a JSON object: %s", *hdr ? "" : jerr.text);
        goto done;
    }
    *datastart = 8 + hlen;
    datalen = (uint64_t)st.st_size - *datastart;
    if (!(e = calloc(json_object_size(*hdr) + 1, sizeof *e))) {
        fail(msg, "out of memory");
        goto done;
    }
    json_object_foreach(*hdr, key, v) {
        if (!strcmp(key, "__metadata__")) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v)) {
                fail(msg, "__metadata__ is not an object");
                goto done;
            }
            json_object_foreach(v, k2, v2) if (!json_is_string(v2)) {
                fail(msg, "__metadata__ value of '%s' is not a string", k2);
                goto done;
            }
            continue;
        }
        if (parse_entry(key, v, datalen, &e[n], msg))
            goto done;
        n++;
    }
    if (n)
        qsort(e, n, sizeof *e, cmp_begin);
    for (i = 0; i < n; i++) {
        if (e[i].begin < pos) {
            fail(msg, "tensor '%s' overlaps the one before it", e[i].name);
            goto done;
        }
        if (e[i].begin > pos) {
            fail(msg, "a gap of %llu bytes before tensor '%s'",
                 (unsigned long long)(e[i].begin - pos), e[i].name);
            goto done;
        }
        pos = e[i].end;
    }
    if (pos != datalen) {
        fail(msg, "the tensors cover %llu of the %llu data bytes", (unsigned long long)pos,
             (unsigned long long)datalen);
        goto done;
    }
    if (n)
        qsort(e, n, sizeof *e, cmp_name);
    *out = e;
    *count = n;
    e = NULL;
    rc = 0;
done:
    free(e);
    free(text);
    return rc;
}

/* Metadata: "h5ckpt.attr:*" entries become typed attributes, "format" (the
 * framework marker) is dropped, any other key becomes a string attribute of
 * group "metadata". */
static int put_metadata(h5ckpt *ck, const json_t *meta, char *msg)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)meta, key, v) {
        const char *s = json_string_value(v);
        int rc;
        if (!strcmp(key, "format"))
            continue;
        if (!strncmp(key, "h5ckpt.attr:", 12)) {
            json_t *a = json_loads(s, 0, NULL);
            const char *obj = json_string_value(json_object_get(a, "object"));
            const char *name = json_string_value(json_object_get(a, "name"));
            rc = obj && name ? tool_attr_put_json(ck, obj, name, a, msg, 1024) : -1;
            if (!obj || !name)
                fail(msg, "metadata '%s' is not an h5ckpt attribute", key);
            json_decref(a);
        } else {
            rc = h5ckpt_attr_put_string(ck, "metadata", key, s);
            if (rc)
                fail(msg, "metadata '%s': %s", key, h5ckpt_errmsg(ck));
        }
        if (rc)
            return -1;
    }
    return 0;
}

static int run(const cli_cmd *self, int argc, char **argv)
{
    const char *arg;
    h5ckpt_error err = {0};
    h5ckpt *ck = NULL;
    json_t *hdr = NULL;
    entry *e = NULL;
    size_t n = 0, i;
    uint64_t datastart = 0, total = 0;
    tool_progress pr;
    char msg[1024] = "";
    void *buf = NULL;
    int c, first, quiet = 0, rc = CLI_FAIL, fd = -1, ok;

    while ((c = cli_next_opt(self, argc, argv, &arg, &first)) != -1) {
        if (c == 'h')
            return CLI_OK;
        if (c == '?')
            return CLI_USAGE;
        if (c == OPT_QUIET)
            quiet = 1;
    }
    if (argc - first != 2)
        return cli_usage_error(self, "expected IN.safetensors and OUT.h5");
    if ((fd = open(argv[first], O_RDONLY)) < 0) {
        ok = tool_all_ok(0);
        return cli_error(self, CLI_USAGE, "cannot open '%s': %s", argv[first], strerror(errno));
    }
    ok = parse(fd, &hdr, &e, &n, &datastart, msg) == 0;
    if (!tool_all_ok(ok)) {
        rc = cli_error(self, CLI_FAIL, "'%s' is not a valid safetensors file: %s", argv[first],
                       *msg ? msg : "(on another rank)");
        goto done;
    }
    if ((rc = h5ckpt_create(&ck, argv[first + 1], MPI_COMM_WORLD, NULL, &err)) != 0) {
        rc = cli_error(self, rc == H5CKPT_EINVAL ? CLI_FAIL : CLI_USAGE, "%s", err.message);
        goto done;
    }
    for (i = 0; i < n; i++)
        total += e[i].end - e[i].begin;
    tool_progress_start(&pr, "import", total, quiet);
    for (i = 0; i < n; i++) {
        size_t es = h5ckpt_dtype_size(e[i].dt);
        uint64_t ne = tool_nelems(e[i].ndim, e[i].shape);
        uint64_t chunk = (ne + (uint64_t)cli_size - 1) / (uint64_t)cli_size;
        uint64_t s = chunk * (uint64_t)cli_rank > ne ? ne : chunk * (uint64_t)cli_rank;
        uint64_t t = s + chunk > ne ? ne : s + chunk;
        h5ckpt_layout *l = NULL;
        size_t len = (size_t)((t - s) * es);
        int prc;

        ok = (buf = malloc(len + 1)) != NULL &&
             read_all(fd, buf, len, (off_t)(datastart + e[i].begin + s * es)) == 0;
        if (!tool_all_ok(ok)) {
            rc = cli_error(self, CLI_USAGE, "cannot read tensor '%s' from '%s'", e[i].name,
                           argv[first]);
            goto done;
        }
        prc = h5ckpt_layout_range(&l, e[i].ndim, e[i].shape, s, t, NULL);
        if (prc == 0)
            prc = h5ckpt_tensor_put(ck, e[i].name, e[i].dt, l, buf, NULL);
        if (prc)
            snprintf(msg, sizeof msg, "tensor '%s': %s", e[i].name, h5ckpt_errmsg(ck));
        if (h5ckpt_flush(ck) != 0 || prc) {
            rc = cli_error(self, CLI_FAIL, "%s", prc ? msg : h5ckpt_errmsg(ck));
            h5ckpt_layout_free(l);
            goto done;
        }
        h5ckpt_layout_free(l);
        free(buf);
        buf = NULL;
        tool_progress_add(&pr, e[i].end - e[i].begin);
    }
    tool_progress_end(&pr);
    ok = put_metadata(ck, json_object_get(hdr, "__metadata__"), msg) == 0;
    if (!tool_all_ok(ok)) {
        rc = cli_error(self, CLI_FAIL, "%s", *msg ? msg : "bad metadata on another rank");
        goto done;
    }
    if ((rc = h5ckpt_commit(ck)) != 0) {
        rc = cli_error(self, CLI_FAIL, "cannot commit '%s': %s", argv[first + 1],
                       h5ckpt_errmsg(ck));
        goto done;
    }
    rc = CLI_OK;
done:
    h5ckpt_close(ck);
    free(buf);
    free(e);
    json_decref(hdr);
    if (fd >= 0)
        close(fd);
    return rc;
}

const cli_cmd cmd_import = {"import", run, "[--quiet] IN.safetensors OUT.h5",
                            "write a safetensors file as an h5ckpt checkpoint", opts};
