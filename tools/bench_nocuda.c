/* `h5ckpt bench --device cuda` in a build without CUDA: refused. */
#include "bench.h"

#include <stdio.h>

static int none(char *msg)
{
    snprintf(msg, 512, "this build has no CUDA support");
    return -1;
}

int bench_dev_probe(char *msg) { return none(msg); }

int bench_dev_upload(void **out, const void *host, size_t n, char *msg)
{
    (void)host, (void)n;
    *out = NULL;
    return none(msg);
}

void bench_dev_free(void *dev) { (void)dev; }

int bench_dev_download(void *host, const void *dev, size_t n, char *msg)
{
    (void)host, (void)dev, (void)n;
    return none(msg);
}

int bench_dev_pinned(void **out, size_t n, char *msg)
{
    (void)n;
    *out = NULL;
    return none(msg);
}

void bench_dev_pinned_free(void *p) { (void)p; }

int bench_dev_copy(void *pin, size_t pin_bytes, void *const *dev,
                   const uint64_t *bytes, size_t count, uint64_t total,
                   int d2h, char *msg)
{
    (void)pin, (void)pin_bytes, (void)dev, (void)bytes, (void)count,
        (void)total, (void)d2h;
    return none(msg);
}
