/* Presets and element values of `h5ckpt bench` (see bench.h). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_policy_from_name(const char *name)
{
    static const char *const names[] = {"shard0", "shard1", "replicate", "alternate"};
    int i;

    for (i = 0; i < 4; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

/* A near-square 2-D shape of n elements: cols is the largest power of two
 * <= sqrt(n) that divides n. */
static void square_shape(uint64_t n, uint64_t *shape)
{
    uint64_t c = 1;

    while ((c * 2) * (c * 2) <= n && n % (c * 2) == 0)
        c *= 2;
    shape[0] = n / c;
    shape[1] = c;
}

static int generic(const bench_knobs *k, unsigned long long count,
                   unsigned long long size, bench_tensor **out, size_t *n,
                   char *msg, size_t msglen)
{
    h5ckpt_dtype dt = k->dtype >= 0 ? (h5ckpt_dtype)k->dtype : H5CKPT_FLOAT32;
    size_t es = h5ckpt_dtype_size(dt), i;
    int policy = k->policy >= 0 ? k->policy : BENCH_SHARD0;
    bench_tensor *t;

    if (k->count)
        count = k->count;
    if (k->size)
        size = k->size;
    if (size < es || size % es) {
        snprintf(msg, msglen, "--size %llu is not a positive multiple of %zu (%s)",
                 size, es, h5ckpt_dtype_name(dt));
        return -1;
    }
    if (!(t = calloc(count + 1, sizeof *t))) {
        snprintf(msg, msglen, "out of memory for %llu tensors", count);
        return -1;
    }
    for (i = 0; i < count; i++) {
        snprintf(t[i].path, sizeof t[i].path, "state/t%06zu", i);
        t[i].dtype = dt;
        t[i].ndim = 2;
        square_shape(size / es, t[i].shape);
        t[i].placement = policy == BENCH_ALTERNATE ? (int)(i % 2) : policy;
    }
    *out = t;
    *n = count;
    return 0;
}

static void add(bench_tensor *t, size_t *n, const char *group, const char *name,
                h5ckpt_dtype dt, int ndim, uint64_t a, uint64_t b, int placement)
{
    bench_tensor *x = &t[(*n)++];

    snprintf(x->path, sizeof x->path, "%s/%s", group, name);
    x->dtype = dt;
    x->ndim = ndim;
    x->shape[0] = a;
    x->shape[1] = b;
    x->placement = ndim == 2 ? placement : BENCH_REPLICATE;
}

/* A transformer-like state: bf16 weights in "model", fp32 Adam moments of
 * the same shapes and placements in "optim/exp_avg" and "optim/exp_avg_sq".
 * 2-D weights alternate Shard(0) / Shard(1); 1-D norms and biases are
 * replicated.  Embedding [8h, h]; per layer qkv [3h, h], out [h, h], up
 * [4h, h], down [h, 4h] with biases, two norms; a final norm. */
static int llm(const bench_knobs *k, bench_tensor **out, size_t *n, char *msg,
               size_t msglen)
{
    static const char *const group[3] = {"model", "optim/exp_avg", "optim/exp_avg_sq"};
    unsigned long long layers = k->count ? k->count : 8;
    uint64_t h = k->hidden ? k->hidden : 1024;
    size_t cap = (layers * 12 + 3) * 3, g, L;
    bench_tensor *t;
    char name[80];

    if (k->size || k->dtype >= 0 || k->policy >= 0 || layers > 100000) {
        snprintf(msg, msglen, "the llm preset takes only --count (layers) and --hidden");
        return -1;
    }
    if (!(t = calloc(cap, sizeof *t))) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    *n = 0;
    for (g = 0; g < 3; g++) {
        h5ckpt_dtype dt = g ? H5CKPT_FLOAT32 : H5CKPT_BFLOAT16;
        add(t, n, group[g], "embed.weight", dt, 2, 8 * h, h, BENCH_SHARD0);
        for (L = 0; L < layers; L++) {
#define LAYER(nm, nd, a, b, p)                                                \
    snprintf(name, sizeof name, "layers.%zu.%s", L, nm);                      \
    add(t, n, group[g], name, dt, nd, a, b, p)
            LAYER("attn.qkv.weight", 2, 3 * h, h, BENCH_SHARD0);
            LAYER("attn.qkv.bias", 1, 3 * h, 0, BENCH_REPLICATE);
            LAYER("attn.out.weight", 2, h, h, BENCH_SHARD1);
            LAYER("attn.out.bias", 1, h, 0, BENCH_REPLICATE);
            LAYER("mlp.up.weight", 2, 4 * h, h, BENCH_SHARD0);
            LAYER("mlp.up.bias", 1, 4 * h, 0, BENCH_REPLICATE);
            LAYER("mlp.down.weight", 2, h, 4 * h, BENCH_SHARD1);
            LAYER("mlp.down.bias", 1, h, 0, BENCH_REPLICATE);
            LAYER("ln1.weight", 1, h, 0, BENCH_REPLICATE);
            LAYER("ln1.bias", 1, h, 0, BENCH_REPLICATE);
            LAYER("ln2.weight", 1, h, 0, BENCH_REPLICATE);
            LAYER("ln2.bias", 1, h, 0, BENCH_REPLICATE);
#undef LAYER
        }
        add(t, n, group[g], "final_norm.weight", dt, 1, h, 0, BENCH_REPLICATE);
        add(t, n, group[g], "final_norm.bias", dt, 1, h, 0, BENCH_REPLICATE);
    }
    *out = t;
    return 0;
}

int bench_state_build(const char *preset, const bench_knobs *k,
                      bench_tensor **out, size_t *n, char *msg, size_t msglen)
{
    *out = NULL;
    *n = 0;
    if (!strcmp(preset, "big"))
        return generic(k, 8, 256ull << 20, out, n, msg, msglen);
    if (!strcmp(preset, "small"))
        return generic(k, 10000, 4096, out, n, msg, msglen);
    if (!strcmp(preset, "llm"))
        return llm(k, out, n, msg, msglen);
    snprintf(msg, msglen, "unknown preset '%s' (big, llm, small)", preset);
    return -1;
}

/* The value of element g of tensor id (a bit pattern; the low `es` bytes are
 * stored little-endian-as-the-host). */
static inline uint64_t value(uint64_t id, uint64_t g)
{
    uint64_t x = g * 0x9E3779B97F4A7C15ull + (id + 1) * 0xD1B54A32D192ED03ull;
    return x ^ (x >> 29);
}

#define BENCH_LOOP(T)                                                          \
    do {                                                                       \
        T *p = buf;                                                            \
        for (r = 0; r < rows; r++) {                                           \
            uint64_t g0 = ndim == 2 ? (off[0] + r) * shape[1] + off[1] : off[0]; \
            for (c = 0; c < cols; c++, p++) {                                  \
                T want = (T)value(id, g0 + c);                                 \
                if (!verify)                                                   \
                    *p = want;                                                 \
                else if (*p != want && bad++ == 0)                             \
                    snprintf(msg, msglen, "element %llu: expected 0x%llx, got 0x%llx", \
                             (unsigned long long)(g0 + c),                     \
                             (unsigned long long)want, (unsigned long long)*p); \
            }                                                                  \
        }                                                                      \
    } while (0)

uint64_t bench_values(void *buf, size_t es, int ndim, const uint64_t *shape,
                      const uint64_t *off, const uint64_t *cnt, uint64_t id,
                      int verify, char *msg, size_t msglen)
{
    uint64_t rows = ndim == 2 ? cnt[0] : 1, cols = ndim == 2 ? cnt[1] : cnt[0];
    uint64_t r, c, bad = 0;

    switch (es) {
    case 1: BENCH_LOOP(uint8_t); break;
    case 2: BENCH_LOOP(uint16_t); break;
    case 4: BENCH_LOOP(uint32_t); break;
    default: BENCH_LOOP(uint64_t); break;
    }
    return bad;
}
