/*
 * Typed attributes, the public API: queueing on a writer (written by the
 * next flush or commit, lib/io/objects.c), lookup in a reader's index.
 */
#include "handle/handle.h"

#include <stdlib.h>
#include <string.h>

static size_t nvals(const h5ckpt__attr *a) { return a->count ? a->count : 1; }


static char *attr_key(const char *obj, const char *name)
{
    size_t a = strlen(obj), b = strlen(name);
    char *k = malloc(a + b + 3);

    if (k) {
        k[0] = '\x01';
        memcpy(k + 1, obj, a);
        k[a + 1] = '\x01';
        memcpy(k + a + 2, name, b + 1);
    }
    return k;
}

int h5ckpt_attr_put(h5ckpt *ck, const char *obj, const char *name,
                    h5ckpt_attr_type type, size_t count, const void *values)
{
    h5ckpt__attr a = {0};
    char *key = NULL;
    size_t i, n = count ? count : 1;
    int rc;

    if (!ck)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__WRITER || ck->state != H5CKPT__OPEN)
        return h5ckpt__set(&ck->ctx, H5CKPT_EMODE,
                           "attributes can only be added to an open writer");
    if ((rc = h5ckpt__check_path(obj, 1, ck->ctx.errmsg)) != 0 ||
        (rc = h5ckpt__check_attr_name(name, 0, ck->ctx.errmsg)) != 0)
        goto fail;
    if ((int)type < 0 || type > H5CKPT_ATTR_BOOL || !values ||
        count > H5CKPT_MAX_ATTR_ELEMS) {
        rc = h5ckpt__set(&ck->ctx, H5CKPT_EINVAL,
                         "attribute '%s': bad type, count or NULL values", name);
        goto fail;
    }
    if (type == H5CKPT_ATTR_STRING)
        for (i = 0; i < n; i++)
            if (!((const char *const *)values)[i]) {
                rc = h5ckpt__set(&ck->ctx, H5CKPT_EINVAL,
                                 "attribute '%s': string %zu is NULL", name, i);
                goto fail;
            }
    if (!(key = attr_key(obj, name))) {
        rc = h5ckpt__set(&ck->ctx, H5CKPT_ENOMEM, "out of memory");
        goto fail;
    }
    if (h5ckpt__strmap_get(&ck->queue.names, key) >= 0) {
        rc = h5ckpt__set(&ck->ctx, H5CKPT_EEXIST,
                         "attribute '%s' on '%s' is already set", name, obj);
        goto fail;
    }
    if ((rc = h5ckpt__declare(ck, obj, 1)) != 0)
        goto fail;
    a.type = type;
    a.count = count;
    a.obj = h5ckpt__strdup(obj);
    a.name = h5ckpt__strdup(name);
    a.values = calloc(n, h5ckpt__attr_elem_size(type));
    if (!a.obj || !a.name || !a.values)
        goto nomem;
    if (type == H5CKPT_ATTR_STRING) {
        for (i = 0; i < n; i++)
            if (!(((char **)a.values)[i] =
                      h5ckpt__strdup(((const char *const *)values)[i])))
                goto nomem;
    } else if (type == H5CKPT_ATTR_BOOL) {
        for (i = 0; i < n; i++)
            ((int *)a.values)[i] = ((const int *)values)[i] != 0;
    } else {
        memcpy(a.values, values, n * h5ckpt__attr_elem_size(type));
    }
    if (ck->queue.nattrs == ck->queue.capattrs) {
        size_t cap = ck->queue.capattrs ? ck->queue.capattrs * 2 : 16;
        h5ckpt__attr *p = realloc(ck->queue.attrs, cap * sizeof *p);
        if (!p)
            goto nomem;
        ck->queue.attrs = p;
        ck->queue.capattrs = cap;
    }
    if (h5ckpt__strmap_put(&ck->queue.names, key, 3) != 0)
        goto nomem;
    ck->queue.attrs[ck->queue.nattrs++] = a;
    free(key);
    return 0;
nomem:
    rc = h5ckpt__set(&ck->ctx, H5CKPT_ENOMEM, "out of memory");
fail:
    h5ckpt__attr_clear(&a);
    free(key);
    return h5ckpt__queue_remember(ck, rc);
}

int h5ckpt_attr_put_int64(h5ckpt *ck, const char *obj, const char *name,
                          int64_t v)
{
    return h5ckpt_attr_put(ck, obj, name, H5CKPT_ATTR_INT64, 0, &v);
}

int h5ckpt_attr_put_float64(h5ckpt *ck, const char *obj, const char *name,
                            double v)
{
    return h5ckpt_attr_put(ck, obj, name, H5CKPT_ATTR_FLOAT64, 0, &v);
}

int h5ckpt_attr_put_string(h5ckpt *ck, const char *obj, const char *name,
                           const char *v)
{
    return h5ckpt_attr_put(ck, obj, name, H5CKPT_ATTR_STRING, 0, &v);
}

int h5ckpt_attr_put_bool(h5ckpt *ck, const char *obj, const char *name, int v)
{
    return h5ckpt_attr_put(ck, obj, name, H5CKPT_ATTR_BOOL, 0, &v);
}

/* ---- public: reading from the index -------------------------------------- */

static const h5ckpt__attr *find(const h5ckpt *ck, const char *obj,
                                const char *name)
{
    return ck && obj && name ? h5ckpt__index_attr(&ck->file.index, obj, name)
                             : NULL;
}

size_t h5ckpt_attr_count(const h5ckpt *ck, const char *obj)
{
    size_t i, n = 0;

    if (!ck || !obj || ck->mode != H5CKPT__READER)
        return 0;
    for (i = h5ckpt__index_first_attr(&ck->file.index, obj);
         i < ck->file.index.nattrs && !strcmp(ck->file.index.attrs[i].obj, obj); i++)
        n++;
    return n;
}

const char *h5ckpt_attr_at(const h5ckpt *ck, const char *obj, size_t i)
{
    if (!ck || !obj || ck->mode != H5CKPT__READER || i >= h5ckpt_attr_count(ck, obj))
        return NULL;
    return ck->file.index.attrs[h5ckpt__index_first_attr(&ck->file.index, obj) + i].name;
}

int h5ckpt_attr_info(const h5ckpt *ck, const char *obj, const char *name,
                     h5ckpt_attr_type *type, size_t *count)
{
    const h5ckpt__attr *a;

    if (!ck)
        return H5CKPT_EINVAL;
    if (ck->mode != H5CKPT__READER)
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_EMODE,
                           "attributes can only be read from a reader");
    if (!(a = find(ck, obj, name)))
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_ENOTFOUND,
                           "no attribute '%s' on '%s'", name ? name : "(null)",
                           obj ? obj : "(null)");
    if (type)
        *type = a->type;
    if (count)
        *count = a->count;
    return 0;
}

int h5ckpt_attr_get(const h5ckpt *ck, const char *obj, const char *name,
                    h5ckpt_attr_type type, size_t capacity, void *values)
{
    const h5ckpt__attr *a;
    int rc;

    if ((rc = h5ckpt_attr_info(ck, obj, name, NULL, NULL)) != 0)
        return rc;
    a = find(ck, obj, name);
    if (a->type != type)
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_EDTYPE,
                           "attribute '%s' on '%s' has another type", name, obj);
    if (!values || capacity < nvals(a))
        return h5ckpt__set((h5ckpt__ctx *)&ck->ctx, H5CKPT_EINVAL,
                           "attribute '%s' on '%s' has %zu values; capacity %zu",
                           name, obj, nvals(a), capacity);
    memcpy(values, a->values, nvals(a) * h5ckpt__attr_elem_size(type));
    return 0;
}

int h5ckpt_attr_get_int64(const h5ckpt *ck, const char *obj, const char *name,
                          int64_t *out)
{
    return h5ckpt_attr_get(ck, obj, name, H5CKPT_ATTR_INT64, 1, out);
}

int h5ckpt_attr_get_float64(const h5ckpt *ck, const char *obj,
                            const char *name, double *out)
{
    return h5ckpt_attr_get(ck, obj, name, H5CKPT_ATTR_FLOAT64, 1, out);
}

int h5ckpt_attr_get_string(const h5ckpt *ck, const char *obj,
                           const char *name, const char **out)
{
    return h5ckpt_attr_get(ck, obj, name, H5CKPT_ATTR_STRING, 1, (void *)out);
}

int h5ckpt_attr_get_bool(const h5ckpt *ck, const char *obj, const char *name,
                         int *out)
{
    return h5ckpt_attr_get(ck, obj, name, H5CKPT_ATTR_BOOL, 1, out);
}
