/*
 * h5ckpt export: tensors to safetensors (one file) or .npy (one file per
 * tensor).  Rank 0 writes; tensors are streamed in blocks of
 * TOOL_BLOCK_BYTES, so memory stays bounded whatever the tensor size.
 */
#include "sandbox.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_FORMAT = 'f', OPT_QUIET = 'q' };

static const cli_opt opts[] = {
    {"format", OPT_FORMAT, "safetensors|npy", "output format (required)"},
    {"quiet", OPT_QUIET, NULL, "no progress on stderr"},
    {NULL, 0, NULL, NULL}};

typedef struct {
    const char *path;
    h5ckpt_dtype dt;
    int ndim;
    uint64_t shape[H5CKPT_MAX_NDIM];
    uint64_t bytes;
} item;

/* Larger elements first (so every tensor is aligned to its element size in
 * the data section, as the reference safetensors writer does), then by path. */
static int cmp_item(const void *a, const void *b)
{
    const item *x = a, *y = b;
    size_t sx = h5ckpt_dtype_size(x->dt), sy = h5ckpt_dtype_size(y->dt);

    return sx != sy ? (sx > sy ? -1 : 1) : strcmp(x->path, y->path);
}

/* Collective: stream one tensor to `fd` on rank 0.  Returns 0 or -1 (an
 * error message was printed). */
static int stream(const cli_cmd *self, h5ckpt *ck, const item *it, int fd, void *buf,
                  tool_progress *pr)
{
    size_t es = h5ckpt_dtype_size(it->dt);
    uint64_t n = tool_nelems(it->ndim, it->shape), blk = TOOL_BLOCK_BYTES / es, s;
    int ok = 1, rc;

    for (s = 0; s < n; s += blk) {
        uint64_t e = n - s > blk ? s + blk : n;
        rc = cli_rank == 0 ? tool_read_range(ck, it->path, it->dt, it->ndim, it->shape, s, e, buf)
                           : tool_read_range(ck, it->path, it->dt, it->ndim, it->shape, 0, 0, buf);
        if (rc) {
            cli_error(self, CLI_FAIL, "cannot read '%s': %s", it->path, h5ckpt_errmsg(ck));
            return -1;
        }
        if (cli_rank == 0 && ok) {
            size_t len = (size_t)((e - s) * es), off = 0;
            while (off < len) {
                ssize_t w = write(fd, (char *)buf + off, len - off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    cli_error(self, CLI_USAGE, "cannot write: %s", strerror(errno));
                    ok = 0;
                    break;
                }
                off += (size_t)w;
            }
            tool_progress_add(pr, len);
        }
        if (!tool_all_ok(ok))
            return -1;
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

/* Every user attribute of the file, as safetensors metadata strings. */
static void add_attr_meta(const h5ckpt *ck, const char *obj, json_t *meta)
{
    size_t i, n = h5ckpt_attr_count(ck, obj);

    for (i = 0; i < n; i++) {
        const char *name = h5ckpt_attr_at(ck, obj, i);
        json_t *a = tool_attr_json(ck, obj, name);
        char key[8192], *s;
        if (!a)
            continue;
        json_object_set_new(a, "object", json_string(obj));
        json_object_set_new(a, "name", json_string(name));
        snprintf(key, sizeof key, "h5ckpt.attr:%s@%s", obj, name);
        s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
        if (s)
            json_object_set_new(meta, key, json_string(s));
        free(s);
        json_decref(a);
    }
}

static int export_safetensors(const cli_cmd *self, h5ckpt *ck, item *it, size_t n,
                              const char *out, void *buf, tool_progress *pr)
{
    json_t *hdr = json_object(), *meta = json_object();
    char *text = NULL, tmp[4096];
    uint64_t off = 0, hlen;
    unsigned char le[8];
    size_t i, len = 0;
    int fd = -1, ok = 1, rc = CLI_FAIL, b;

    json_object_set_new(meta, "format", json_string("pt"));
    add_attr_meta(ck, "", meta);
    for (i = 0; i < h5ckpt_group_count(ck); i++)
        add_attr_meta(ck, h5ckpt_group_at(ck, i), meta);
    for (i = 0; i < n; i++)
        add_attr_meta(ck, it[i].path, meta);
    json_object_set_new(hdr, "__metadata__", meta);
    for (i = 0; i < n; i++) {
        json_t *sh = json_array();
        int d;
        if (!strcmp(it[i].path, "__metadata__")) {
            cli_error(self, CLI_FAIL, "tensor name '__metadata__' is reserved by safetensors");
            goto done;
        }
        for (d = 0; d < it[i].ndim; d++)
            json_array_append_new(sh, json_integer((json_int_t)it[i].shape[d]));
        json_object_set_new(hdr, it[i].path,
                            json_pack("{s:s, s:o, s:[I, I]}", "dtype", tool_st_dtype(it[i].dt),
                                      "shape", sh, "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + it[i].bytes)));
        off += it[i].bytes;
    }
    if (!(text = json_dumps(hdr, JSON_COMPACT))) {
        cli_error(self, CLI_FAIL, "cannot encode the header");
        goto done;
    }
    len = strlen(text);
    hlen = len + (8 - len % 8) % 8; /* spaces pad 8 + header to 8 bytes */
    snprintf(tmp, sizeof tmp, "%s.h5ckpt-export-%d", out, (int)getpid());
    if (cli_rank == 0) {
        for (b = 0; b < 8; b++)
            le[b] = (unsigned char)(hlen >> (8 * b));
        if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666)) < 0 ||
            write_all(fd, le, 8) || write_all(fd, text, len) ||
            write_all(fd, "        ", (size_t)(hlen - len))) {
            cli_error(self, CLI_USAGE, "cannot write '%s': %s", tmp, strerror(errno));
            ok = 0;
        }
    }
    if (!tool_all_ok(ok)) {
        rc = CLI_USAGE;
        goto done;
    }
    for (i = 0; i < n; i++)
        if (stream(self, ck, &it[i], fd, buf, pr))
            goto done;
    if (cli_rank == 0 && (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, out) != 0)) {
        cli_error(self, CLI_USAGE, "cannot finish '%s': %s", out, strerror(errno));
        ok = 0;
    }
    fd = -1;
    rc = tool_all_ok(ok) ? CLI_OK : CLI_USAGE;
done:
    if (fd >= 0)
        close(fd);
    if (rc != CLI_OK && cli_rank == 0)
        unlink(tmp);
    free(text);
    json_decref(hdr);
    return rc;
}

static const char *npy_descr(h5ckpt_dtype dt)
{
    switch (dt) {
    case H5CKPT_BOOL: return "|b1";
    case H5CKPT_INT8: return "|i1";
    case H5CKPT_INT16: return "<i2";
    case H5CKPT_INT32: return "<i4";
    case H5CKPT_INT64: return "<i8";
    case H5CKPT_UINT8: return "|u1";
    case H5CKPT_UINT16: return "<u2";
    case H5CKPT_UINT32: return "<u4";
    case H5CKPT_UINT64: return "<u8";
    case H5CKPT_FLOAT16: return "<f2";
    case H5CKPT_BFLOAT16: return "<u2"; /* raw bits: NumPy has no bfloat16 */
    case H5CKPT_FLOAT32: return "<f4";
    case H5CKPT_FLOAT64: return "<f8";
    default: return "|u1"; /* FP8: raw bits */
    }
}

/* Open OUT/<path>.npy for writing, creating the directories of the path
 * inside OUT; never follows a symbolic link, so nothing lands outside OUT. */
static int open_inside(int dirfd, const char *path, char *msg, size_t msgsize)
{
    char *copy = strdup(path), *s = copy, *comp, *next;
    int fd = dup(dirfd), nfd = -1;

    if (!copy || fd < 0)
        goto fail;
    for (comp = strsep(&s, "/"); comp; comp = next) {
        next = strsep(&s, "/");
        if (!*comp || !strcmp(comp, ".") || !strcmp(comp, "..") || strlen(comp) > 250) {
            errno = EINVAL;
            goto fail;
        }
        if (!next) {
            char file[256];
            snprintf(file, sizeof file, "%s.npy", comp);
            nfd = openat(fd, file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0666);
        } else {
            if (mkdirat(fd, comp, 0777) != 0 && errno != EEXIST)
                goto fail;
            nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        }
        close(fd);
        fd = nfd;
        if (fd < 0)
            goto fail;
    }
    free(copy);
    return fd;
fail:
    snprintf(msg, msgsize, "cannot create the file of tensor '%s': %s", path,
             strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return -1;
}

static int export_npy(const cli_cmd *self, h5ckpt *ck, item *it, size_t n, const char *out,
                      void *buf, tool_progress *pr)
{
    json_t *man = json_pack("{s:s, s:[]}", "schema", "h5ckpt-npy/1", "tensors");
    char msg[1024];
    int dirfd = -1, ok = 1, rc = CLI_USAGE, fd;
    size_t i;

    if (cli_rank == 0 && ((mkdir(out, 0777) != 0 && errno != EEXIST) ||
                          (dirfd = open(out, O_RDONLY | O_DIRECTORY)) < 0)) {
        cli_error(self, CLI_USAGE, "cannot use directory '%s': %s", out, strerror(errno));
        ok = 0;
    }
    if (!tool_all_ok(ok))
        goto done;
    for (i = 0; i < n; i++) {
        char hdr[4096], file[8192];
        size_t len, total;
        int d;
        fd = -1;
        if (cli_rank == 0) {
            char shape[2048];
            tool_shape_text(it[i].ndim, it[i].shape, shape, sizeof shape);
            len = (size_t)snprintf(hdr, sizeof hdr,
                                   "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                                   npy_descr(it[i].dt), shape);
            /* magic(6) + version(2) + length(2) + header + '\n': multiple of 64 */
            total = (10 + len + 1 + 63) / 64 * 64;
            memset(hdr + len, ' ', total - 10 - len - 1);
            hdr[total - 10 - 1] = '\n';
            if ((fd = open_inside(dirfd, it[i].path, msg, sizeof msg)) < 0) {
                cli_error(self, CLI_USAGE, "%s", msg);
                ok = 0;
            } else {
                unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                         (unsigned char)((total - 10) & 255),
                                         (unsigned char)((total - 10) >> 8)};
                if (write_all(fd, pre, 10) || write_all(fd, hdr, total - 10)) {
                    cli_error(self, CLI_USAGE, "cannot write '%s': %s", it[i].path,
                              strerror(errno));
                    ok = 0;
                }
            }
        }
        if (!tool_all_ok(ok) || stream(self, ck, &it[i], fd, buf, pr)) {
            if (fd >= 0)
                close(fd);
            goto done;
        }
        if (fd >= 0 && close(fd) != 0) {
            cli_error(self, CLI_USAGE, "cannot write '%s': %s", it[i].path, strerror(errno));
            goto done;
        }
        {
            json_t *sh = json_array();
            for (d = 0; d < it[i].ndim; d++)
                json_array_append_new(sh, json_integer((json_int_t)it[i].shape[d]));
            snprintf(file, sizeof file, "%s.npy", it[i].path);
            json_array_append_new(json_object_get(man, "tensors"),
                                  json_pack("{s:s, s:s, s:s, s:s, s:o}", "path", it[i].path,
                                            "file", file, "dtype", h5ckpt_dtype_name(it[i].dt),
                                            "npy_descr", npy_descr(it[i].dt), "shape", sh));
        }
    }
    if (cli_rank == 0) {
        char *s = json_dumps(man, JSON_INDENT(2));
        int mfd = s ? openat(dirfd, "h5ckpt-npy.json", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0666) : -1;
        if (mfd < 0 || write_all(mfd, s, strlen(s)) || write_all(mfd, "\n", 1)) {
            cli_error(self, CLI_USAGE, "cannot write the manifest: %s", strerror(errno));
            ok = 0;
        }
        if (mfd >= 0)
            close(mfd);
        free(s);
    }
    rc = tool_all_ok(ok) ? CLI_OK : CLI_USAGE;
done:
    if (dirfd >= 0)
        close(dirfd);
    json_decref(man);
    return rc;
}

static int run(const cli_cmd *self, int argc, char **argv)
{
    const char *arg, *format = NULL;
    h5ckpt *ck = NULL;
    item *it = NULL;
    void *buf = NULL;
    size_t i, n = 0;
    uint64_t total = 0;
    tool_progress pr;
    int c, first, quiet = 0, rc;

    while ((c = cli_next_opt(self, argc, argv, &arg, &first)) != -1) {
        if (c == 'h')
            return CLI_OK;
        if (c == '?')
            return CLI_USAGE;
        if (c == OPT_FORMAT)
            format = arg;
        else if (c == OPT_QUIET)
            quiet = 1;
    }
    if (argc - first < 2)
        return cli_usage_error(self, "expected FILE and OUT");
    if (!format || (strcmp(format, "safetensors") && strcmp(format, "npy")))
        return cli_usage_error(self, "--format must be safetensors or npy");
    if ((rc = sandbox_run(self, cli_size == 1, CLI_FAIL)) >= 0)
        return rc;
    if ((rc = tool_open(self, argv[first], &ck)) != CLI_OK)
        return rc;
    sandbox_parsed();
    it = calloc(h5ckpt_tensor_count(ck) + 1, sizeof *it);
    buf = malloc(TOOL_BLOCK_BYTES);
    if (!it || !buf) {
        rc = cli_error(self, CLI_FAIL, "out of memory");
        goto done;
    }
    for (i = 0; i < h5ckpt_tensor_count(ck); i++) {
        const char *p = h5ckpt_tensor_at(ck, i);
        if (!tool_selected(p, argc - first - 2, argv + first + 2))
            continue;
        it[n].path = p;
        h5ckpt_tensor_info(ck, p, &it[n].dt, &it[n].ndim, it[n].shape);
        it[n].bytes = tool_nelems(it[n].ndim, it[n].shape) * h5ckpt_dtype_size(it[n].dt);
        total += it[n].bytes;
        n++;
    }
    if (argc - first > 2 && n == 0) {
        rc = cli_error(self, CLI_FAIL, "no tensor matches the patterns");
        goto done;
    }
    qsort(it, n, sizeof *it, cmp_item);
    tool_progress_start(&pr, "export", total, quiet);
    rc = !strcmp(format, "npy") ? export_npy(self, ck, it, n, argv[first + 1], buf, &pr)
                                : export_safetensors(self, ck, it, n, argv[first + 1], buf, &pr);
    tool_progress_end(&pr);
done:
    free(buf);
    free(it);
    h5ckpt_close(ck);
    return rc;
}

const cli_cmd cmd_export = {"export", run,
                            "--format safetensors|npy FILE OUT [PATTERN...]",
                            "write tensors as safetensors or one .npy per tensor", opts};
