/* Small containers: a string map, a serialisation buffer, hashing, a clock. */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

uint64_t h5ckpt__hash(const void *p, size_t n) { return XXH3_64bits(p, n); }

int64_t h5ckpt__now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *h5ckpt__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

/* Open addressing with linear probing; capacity a power of two, load < 1/2. */
static size_t slot(const h5ckpt__strmap *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h5ckpt__hash(key, strlen(key)) & mask;

    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

int h5ckpt__strmap_get(const h5ckpt__strmap *m, const char *key)
{
    size_t i;

    if (m->cap == 0)
        return -1;
    i = slot(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

static int grow(h5ckpt__strmap *m)
{
    h5ckpt__strmap n = {0};
    size_t i;

    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = calloc(n.cap, sizeof *n.keys);
    n.vals = calloc(n.cap, sizeof *n.vals);
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return H5CKPT_ENOMEM;
    }
    for (i = 0; i < m->cap; i++) {
        if (m->keys[i]) {
            size_t j = slot(&n, m->keys[i]);
            n.keys[j] = m->keys[i];
            n.vals[j] = m->vals[i];
        }
    }
    n.len = m->len;
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

int h5ckpt__strmap_put(h5ckpt__strmap *m, const char *key, int val)
{
    size_t i;

    if ((m->len + 1) * 2 > m->cap && grow(m) != 0)
        return H5CKPT_ENOMEM;
    i = slot(m, key);
    if (!m->keys[i]) {
        if (!(m->keys[i] = h5ckpt__strdup(key)))
            return H5CKPT_ENOMEM;
        m->len++;
    }
    m->vals[i] = val;
    return 0;
}

void h5ckpt__strmap_free(h5ckpt__strmap *m)
{
    size_t i;

    for (i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int reserve(h5ckpt__buf *b, size_t n)
{
    size_t cap;
    unsigned char *p;

    if (b->err)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    if (!(p = realloc(b->data, cap))) {
        b->err = H5CKPT_ENOMEM;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void h5ckpt__buf_bytes(h5ckpt__buf *b, const void *p, size_t n)
{
    if (n == 0 || reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void h5ckpt__buf_u64(h5ckpt__buf *b, uint64_t v)
{
    h5ckpt__buf_bytes(b, &v, sizeof v);
}

void h5ckpt__buf_str(h5ckpt__buf *b, const char *s)
{
    size_t n = strlen(s);

    h5ckpt__buf_u64(b, n);
    h5ckpt__buf_bytes(b, s, n + 1);
}

const void *h5ckpt__buf_get_bytes(h5ckpt__buf *b, size_t n)
{
    const void *p;

    if (b->err || n > b->len - b->pos) {
        b->err = H5CKPT_ECORRUPT;
        return NULL;
    }
    p = b->data + b->pos;
    b->pos += n;
    return p;
}

uint64_t h5ckpt__buf_get_u64(h5ckpt__buf *b)
{
    uint64_t v = 0;
    const void *p = h5ckpt__buf_get_bytes(b, sizeof v);

    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}

const char *h5ckpt__buf_get_str(h5ckpt__buf *b)
{
    uint64_t n = h5ckpt__buf_get_u64(b);
    const char *s;

    if (b->err || n >= b->len - b->pos) {
        b->err = H5CKPT_ECORRUPT;
        return NULL;
    }
    s = h5ckpt__buf_get_bytes(b, n + 1);
    if (s && s[n] != '\0') {
        b->err = H5CKPT_ECORRUPT;
        return NULL;
    }
    return s;
}

void h5ckpt__buf_free(h5ckpt__buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int h5ckpt__buf_bcast(h5ckpt__buf *b, int root, MPI_Comm comm)
{
    enum { CHUNK = 1 << 22 };
    /* where a rank that could not allocate receives (and drops) the bytes:
     * written, never read, so it holds no state */
    static unsigned char scratch[CHUNK];
    uint64_t len = b->len;
    int rank, failed = 0;
    size_t off;

    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Bcast(&len, 1, MPI_UINT64_T, root, comm) != MPI_SUCCESS)
        return H5CKPT_EMPI;
    if (rank != root) {
        b->len = 0;
        b->pos = 0;
        failed = reserve(b, len) != 0;
        b->len = failed ? 0 : len;
    }
    /* Same chunk sizes on every rank, whether or not this rank could
     * allocate: a failed rank still takes part, then reports ENOMEM. */
    for (off = 0; off < len; off += CHUNK) {
        int n = len - off > CHUNK ? CHUNK : (int)(len - off);
        void *dst = failed ? (void *)scratch : (void *)(b->data + off);
        if (MPI_Bcast(dst, n, MPI_BYTE, root, comm) != MPI_SUCCESS)
            return H5CKPT_EMPI;
    }
    return failed || b->err ? H5CKPT_ENOMEM : 0;
}
