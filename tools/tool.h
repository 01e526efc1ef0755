/*
 * Helpers shared by the data subcommands of the h5ckpt tool (ls, diff,
 * export, import): opening readers, tensor selection by glob, reading
 * tensors in bounded flat blocks, element decoding, attributes as JSON, and
 * progress on stderr.
 */
#ifndef H5CKPT_TOOL_H
#define H5CKPT_TOOL_H

#include <jansson.h>

#include "cli.h"

/* Bytes read or written per block: bounds the memory of diff/export. */
#define TOOL_BLOCK_BYTES (4u << 20)

/* Open a reader on MPI_COMM_WORLD.  On failure prints one line and returns
 * CLI_USAGE for I/O errors (no file, directory) or CLI_FAIL otherwise. */
int tool_open(const cli_cmd *cmd, const char *path, h5ckpt **out);
/* 1 if `path` matches one of the fnmatch(3) patterns (flags 0: '*' also
 * matches '/'), or if there are none. */
int tool_selected(const char *path, int npat, char *const *pats);
/* Number of elements of a tensor (1 for 0-d). */
uint64_t tool_nelems(int ndim, const uint64_t *shape);
/* Collective: read elements [start, end) of the row-major flattening of a
 * tensor into `buf` on the calling rank (start == end: nothing). */
int tool_read_range(h5ckpt *ck, const char *path, h5ckpt_dtype dt, int ndim,
                    const uint64_t *shape, uint64_t start, uint64_t end,
                    void *buf);
/* Value of one element as a double (bool 0/1; FP8 and 16-bit floats decoded
 * from their bits). */
double tool_to_double(h5ckpt_dtype dt, const void *p);
/* Attribute `name` of `obj` as {"type": ..., "value": ...}; non-finite
 * floats become the strings "nan", "inf", "-inf".  NULL on error. */
json_t *tool_attr_json(const h5ckpt *ck, const char *obj, const char *name);
/* Queue attribute `name` on `obj` of a writer from its JSON form. Returns 0
 * or an h5ckpt error code with a message in `msg` (H5CKPT_MSG_MAX). */
int tool_attr_put_json(h5ckpt *ck, const char *obj, const char *name,
                       const json_t *v, char *msg, size_t msgsize);
/* Shape as "(10, 6)" into buf. */
void tool_shape_text(int ndim, const uint64_t *shape, char *buf, size_t size);

/* Progress on stderr, rank 0, only when stderr is a terminal and not quiet. */
typedef struct {
    const char *what;
    uint64_t done, total;
    double last;
    int on;
} tool_progress;

void tool_progress_start(tool_progress *p, const char *what, uint64_t total,
                         int quiet);
void tool_progress_add(tool_progress *p, uint64_t n);
void tool_progress_end(tool_progress *p);



/* safetensors dtype code of a dtype ("BF16", "F8_E4M3", ...), and back
 * (returns 0 or -1 for an unknown code). */
const char *tool_st_dtype(h5ckpt_dtype dt);
int tool_st_parse(const char *code, h5ckpt_dtype *out);
/* Collective: 1 on every rank if `ok` is nonzero on every rank. */
int tool_all_ok(int ok);
#endif
