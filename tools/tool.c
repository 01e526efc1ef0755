/* Helpers shared by the data subcommands (see tool.h). */
#include "tool.h"
#include "sandbox.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The file of each open reader (a diff has two), for sandbox_note(). */
static struct {
    const h5ckpt *ck;
    const char *path;
} opened[4];

static void note_handle(const h5ckpt *ck)
{
    size_t i;

    for (i = 0; i < sizeof opened / sizeof *opened; i++)
        if (opened[i].ck == ck && ck) {
            sandbox_note(opened[i].path);
            return;
        }
}

int tool_open(const cli_cmd *cmd, const char *path, h5ckpt **out)
{
    h5ckpt_error err = {0};
    int rc;
    size_t i;

    sandbox_note(path); /* HDF5 parses it now */
    rc = h5ckpt_open(out, path, MPI_COMM_WORLD, NULL, &err);
    if (rc == 0) {
        for (i = 0; i < sizeof opened / sizeof *opened - 1 && opened[i].ck && opened[i].ck != *out; i++)
            ;
        opened[i].ck = *out;
        opened[i].path = path;
        return CLI_OK;
    }
    return cli_error(cmd, rc == H5CKPT_ENOENT || rc == H5CKPT_EISDIR || rc == H5CKPT_EIO
                              ? CLI_USAGE : CLI_FAIL,
                     "%s", err.message);
}

int tool_selected(const char *path, int npat, char *const *pats)
{
    int i;

    if (npat == 0)
        return 1;
    for (i = 0; i < npat; i++)
        if (fnmatch(pats[i], path, 0) == 0)
            return 1;
    return 0;
}

uint64_t tool_nelems(int ndim, const uint64_t *shape)
{
    uint64_t n = 1;
    int i;

    for (i = 0; i < ndim; i++)
        n *= shape[i]; /* the library refuses shapes that overflow */
    return n;
}

int tool_read_range(h5ckpt *ck, const char *path, h5ckpt_dtype dt, int ndim,
                    const uint64_t *shape, uint64_t start, uint64_t end, void *buf)
{
    h5ckpt_layout *l = NULL;
    int rc = h5ckpt_layout_range(&l, ndim, shape, start, end, NULL);

    note_handle(ck); /* data of a chunked dataset is HDF5's to decode */
    if (rc == 0)
        rc = h5ckpt_tensor_get(ck, path, dt, l, buf, NULL);
    /* flush even after a local failure: it is collective and reports it */
    {
        int frc = h5ckpt_flush(ck);
        if (rc == 0)
            rc = frc;
    }
    h5ckpt_layout_free(l);
    return rc;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                : ldexp(m + 1024, e - 25);
    return h >> 15 ? -v : v;
}

static double e4m3_to_double(uint8_t b)
{
    int e = (b >> 3) & 15, m = b & 7;
    double v = (e == 15 && m == 7) ? NAN : e == 0 ? ldexp(m, -9) : ldexp(m + 8, e - 10);
    return b >> 7 ? -v : v;
}

double tool_to_double(h5ckpt_dtype dt, const void *p)
{
    union { int8_t i8; int16_t i16; int32_t i32; int64_t i64; uint8_t u8; uint16_t u16;
            uint32_t u32; uint64_t u64; float f; double d; } u;
    uint32_t w;

    memcpy(&u, p, h5ckpt_dtype_size(dt));
    switch (dt) {
    case H5CKPT_BOOL: return u.u8 != 0;
    case H5CKPT_INT8: return u.i8;
    case H5CKPT_INT16: return u.i16;
    case H5CKPT_INT32: return u.i32;
    case H5CKPT_INT64: return (double)u.i64;
    case H5CKPT_UINT8: return u.u8;
    case H5CKPT_UINT16: return u.u16;
    case H5CKPT_UINT32: return u.u32;
    case H5CKPT_UINT64: return (double)u.u64;
    case H5CKPT_FLOAT16: return half_to_double(u.u16);
    case H5CKPT_BFLOAT16:
        w = (uint32_t)u.u16 << 16;
        memcpy(&u.f, &w, 4);
        return u.f;
    case H5CKPT_FLOAT32: return u.f;
    case H5CKPT_FLOAT64: return u.d;
    case H5CKPT_FLOAT8_E4M3FN: return e4m3_to_double(u.u8);
    case H5CKPT_FLOAT8_E5M2: return half_to_double((uint16_t)(u.u8 << 8));
    default: return NAN;
    }
}

static const char *const type_names[] = {"int64", "float64", "string", "bool"};

static json_t *real_json(double d)
{
    if (isnan(d))
        return json_string("nan");
    if (isinf(d))
        return json_string(d > 0 ? "inf" : "-inf");
    return json_real(d);
}

json_t *tool_attr_json(const h5ckpt *ck, const char *obj, const char *name)
{
    h5ckpt_attr_type t;
    size_t count, n, i, es[4] = {sizeof(int64_t), sizeof(double), sizeof(char *),
                                 sizeof(int)};
    json_t *o = NULL, *vals = NULL;
    void *v = NULL;

    if (h5ckpt_attr_info(ck, obj, name, &t, &count) != 0 || (unsigned)t > 3)
        return NULL;
    n = count ? count : 1;
    if (!(v = calloc(n, es[t])) || h5ckpt_attr_get(ck, obj, name, t, n, v) != 0 ||
        !(vals = json_array()))
        goto done;
    for (i = 0; i < n; i++) {
        json_t *e = t == H5CKPT_ATTR_INT64 ? json_integer(((int64_t *)v)[i])
                  : t == H5CKPT_ATTR_FLOAT64 ? real_json(((double *)v)[i])
                  : t == H5CKPT_ATTR_STRING ? json_string(((const char **)v)[i])
                  : json_boolean(((int *)v)[i]);
        json_array_append_new(vals, e);
    }
    o = json_pack("{s:s, s:O}", "type", type_names[t], "value",
                  count ? vals : json_array_get(vals, 0));
done:
    json_decref(vals);
    free(v);
    return o;
}

static int json_double(const json_t *e, double *d)
{
    const char *s = json_string_value(e);

    if (json_is_number(e)) {
        *d = json_number_value(e);
        return 0;
    }
    if (!s)
        return -1;
    if (!strcmp(s, "nan"))
        *d = NAN;
    else if (!strcmp(s, "inf"))
        *d = INFINITY;
    else if (!strcmp(s, "-inf"))
        *d = -INFINITY;
    else
        return -1;
    return 0;
}

int tool_attr_put_json(h5ckpt *ck, const char *obj, const char *name, const json_t *v,
                       char *msg, size_t msgsize)
{
    const char *ts = json_string_value(json_object_get(v, "type"));
    const json_t *val = json_object_get(v, "value");
    int t, rc = 0, vector = json_is_array(val);
    size_t n = vector ? json_array_size(val) : 1, i, es[4] = {sizeof(int64_t),
                        sizeof(double), sizeof(char *), sizeof(int)};
    void *buf = NULL;

    for (t = 0; t < 4 && (!ts || strcmp(ts, type_names[t])); t++)
        ;
    if (t == 4 || !val || (vector && n == 0) || n > (1u << 20)) {
        snprintf(msg, msgsize, "attribute '%s' of '%s': bad JSON form", name, obj);
        return H5CKPT_EINVAL;
    }
    if (!(buf = calloc(n, es[t]))) {
        snprintf(msg, msgsize, "out of memory");
        return H5CKPT_ENOMEM;
    }
    for (i = 0; i < n && rc == 0; i++) {
        const json_t *e = vector ? json_array_get(val, i) : val;
        if (t == H5CKPT_ATTR_INT64 && json_is_integer(e))
            ((int64_t *)buf)[i] = json_integer_value(e);
        else if (t == H5CKPT_ATTR_FLOAT64 && json_double(e, &((double *)buf)[i]) == 0)
            ;
        else if (t == H5CKPT_ATTR_STRING && json_is_string(e))
            ((const char **)buf)[i] = json_string_value(e);
        else if (t == H5CKPT_ATTR_BOOL && json_is_boolean(e))
            ((int *)buf)[i] = json_is_true(e);
        else
            rc = H5CKPT_EINVAL;
    }
    if (rc == 0)
        rc = h5ckpt_attr_put(ck, obj, name, (h5ckpt_attr_type)t, vector ? n : 0, buf);
    if (rc)
        snprintf(msg, msgsize, "attribute '%s' of '%s': %s", name, *obj ? obj : "/",
                 h5ckpt_strerror(rc));
    free(buf);
    return rc;
}

void tool_shape_text(int ndim, const uint64_t *shape, char *buf, size_t size)
{
    size_t len = 0;
    int i;

    len += (size_t)snprintf(buf, size, "(");
    for (i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%llu", i ? ", " : "",
                                (unsigned long long)shape[i]);
    if (len < size)
        snprintf(buf + len, size - len, "%s)", ndim == 1 ? "," : "");
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void tool_progress_start(tool_progress *p, const char *what, uint64_t total, int quiet)
{
    p->what = what;
    p->done = 0;
    p->total = total;
    p->last = 0;
    p->on = !quiet && cli_rank == 0 && isatty(2);
}

void tool_progress_add(tool_progress *p, uint64_t n)
{
    double t;

    p->done += n;
    if (!p->on || (t = now()) - p->last < 0.2)
        return;
    p->last = t;
    fprintf(stderr, "\r%s: %.1f of %.1f MiB (%3.0f%%)", p->what, p->done / 1048576.0,
            p->total / 1048576.0, p->total ? 100.0 * p->done / p->total : 100.0);
}

void tool_progress_end(tool_progress *p)
{
    if (p->on && p->last > 0)
        fprintf(stderr, "\r%s: %.1f MiB done%20s\n", p->what, p->done / 1048576.0, "");
}

static const char *const st_codes[H5CKPT_DTYPE_COUNT] = {
    [H5CKPT_BOOL] = "BOOL",      [H5CKPT_INT8] = "I8",        [H5CKPT_INT16] = "I16",
    [H5CKPT_INT32] = "I32",      [H5CKPT_INT64] = "I64",      [H5CKPT_UINT8] = "U8",
    [H5CKPT_UINT16] = "U16",     [H5CKPT_UINT32] = "U32",     [H5CKPT_UINT64] = "U64",
    [H5CKPT_FLOAT16] = "F16",    [H5CKPT_BFLOAT16] = "BF16",  [H5CKPT_FLOAT32] = "F32",
    [H5CKPT_FLOAT64] = "F64",    [H5CKPT_FLOAT8_E4M3FN] = "F8_E4M3",
    [H5CKPT_FLOAT8_E5M2] = "F8_E5M2"};

const char *tool_st_dtype(h5ckpt_dtype dt)
{
    return (unsigned)dt < H5CKPT_DTYPE_COUNT ? st_codes[dt] : NULL;
}

int tool_st_parse(const char *code, h5ckpt_dtype *out)
{
    int i;

    for (i = 0; code && i < H5CKPT_DTYPE_COUNT; i++)
        if (!strcmp(code, st_codes[i])) {
            *out = (h5ckpt_dtype)i;
            return 0;
        }
    return -1;
}

int tool_all_ok(int ok)
{
    int mine = ok != 0, all = 0;

    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}
