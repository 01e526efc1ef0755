/*
 * The training state: named tensors and typed attributes of models,
 * optimizer, scheduler, scaler and metadata, saved onto a writer and loaded
 * from a reader with missing/unexpected key reports (format-spec/FORMAT.md,
 * "Training-state profile").
 */
#include "train/train.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ENTRY_PARAM = 1, ENTRY_OPTIM, ENTRY_TENSOR, ENTRY_ATTR };

typedef struct {
    int kind;
    int model;          /* PARAM, OPTIM */
    char *rel;          /* PARAM: param; OPTIM: param/key; TENSOR: path */
    char *key;          /* resolved tensor path or "<obj>@<name>" */
    h5ckpt_dtype dtype; /* tensors */
    h5ckpt_layout layout;
    void *data;
    char *obj, *name; /* ATTR */
    h5ckpt_attr_type atype;
    size_t count;
    void *values;
} entry;

typedef struct {
    char **v;
    size_t n, cap;
} strlist;

struct h5ckpt_state {
    char **models;   /* names as registered */
    char **resolved; /* names after collision suffixes */
    int nmodels;
    entry *e;
    size_t n, cap;
    strlist missing, unexpected, strings;
    int training;
    char errmsg[H5CKPT_MSG_MAX];
};

static int list_add(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return H5CKPT_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = h5ckpt__strdup(s)))
        return H5CKPT_ENOMEM;
    l->n++;
    return 0;
}

static void list_clear(strlist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int h5ckpt_state_create(h5ckpt_state **out, h5ckpt_error *err)
{
    if (!out)
        return h5ckpt__error(err, H5CKPT_EINVAL, "out is NULL");
    if (!(*out = calloc(1, sizeof **out)))
        return h5ckpt__error(err, H5CKPT_ENOMEM, "out of memory");
    return 0;
}

static void entry_clear(entry *e)
{
    free(e->rel);
    free(e->key);
    free(e->obj);
    free(e->name);
    h5ckpt__layout_clear(&e->layout);
}

void h5ckpt_state_free(h5ckpt_state *st)
{
    int i;
    size_t j;

    if (!st)
        return;
    for (i = 0; i < st->nmodels; i++) {
        free(st->models[i]);
        free(st->resolved[i]);
    }
    free(st->models);
    free(st->resolved);
    for (j = 0; j < st->n; j++)
        entry_clear(&st->e[j]);
    free(st->e);
    list_clear(&st->missing);
    list_clear(&st->unexpected);
    list_clear(&st->strings);
    free(st);
}

const char *h5ckpt_state_errmsg(const h5ckpt_state *st) { return st ? st->errmsg : ""; }

int h5ckpt_state_has_training_state(const h5ckpt_state *st) { return st ? st->training : 0; }

size_t h5ckpt_state_missing_count(const h5ckpt_state *st) { return st ? st->missing.n : 0; }

const char *h5ckpt_state_missing_at(const h5ckpt_state *st, size_t i)
{
    return st && i < st->missing.n ? st->missing.v[i] : NULL;
}

size_t h5ckpt_state_unexpected_count(const h5ckpt_state *st) { return st ? st->unexpected.n : 0; }

const char *h5ckpt_state_unexpected_at(const h5ckpt_state *st, size_t i)
{
    return st && i < st->unexpected.n ? st->unexpected.v[i] : NULL;
}

/* ---- models and their names ---------------------------------------------- */

/* Recompute every model's stored name: unique names stay, colliding ones
 * get 0, 1, ... in registration order, skipping names already taken. */
static int resolve_models(h5ckpt_state *st)
{
    h5ckpt__strmap taken = {0};
    char buf[H5CKPT_MAX_NAME + 24];
    int i, j, rc = 0;

    for (i = 0; i < st->nmodels; i++) {
        free(st->resolved[i]);
        st->resolved[i] = NULL;
    }
    for (i = 0; i < st->nmodels && rc == 0; i++) {
        int dup = 0;
        for (j = 0; j < st->nmodels; j++)
            dup += j != i && strcmp(st->models[i], st->models[j]) == 0;
        if (!dup)
            rc = h5ckpt__strmap_put(&taken, st->models[i], 1);
    }
    for (i = 0; i < st->nmodels && rc == 0; i++) {
        int k = 0, dup = 0;
        for (j = 0; j < st->nmodels; j++)
            dup += j != i && strcmp(st->models[i], st->models[j]) == 0;
        if (!dup) {
            if (!(st->resolved[i] = h5ckpt__strdup(st->models[i])))
                rc = H5CKPT_ENOMEM;
            continue;
        }
        /* The next free suffix after those earlier models of this name used. */
        for (j = 0; j < i; j++)
            k += strcmp(st->models[i], st->models[j]) == 0;
        for (;;) {
            snprintf(buf, sizeof buf, "%s%d", st->models[i], k);
            if (h5ckpt__strmap_get(&taken, buf) < 0)
                break;
            k++;
        }
        if ((rc = h5ckpt__strmap_put(&taken, buf, 2)) == 0 &&
            !(st->resolved[i] = h5ckpt__strdup(buf)))
            rc = H5CKPT_ENOMEM;
    }
    h5ckpt__strmap_free(&taken);
    return rc;
}

int h5ckpt_state_add_model(h5ckpt_state *st, const char *name, int *out)
{
    char **m, **r;

    if (!st || !out)
        return H5CKPT_EINVAL;
    if (!name || !*name || strchr(name, '/') ||
        h5ckpt__check_path(name, 0, st->errmsg) != 0)
        return h5ckpt__fail(st->errmsg, H5CKPT_ENAME,
                            "invalid model name '%s' (one path component)",
                            name ? name : "(null)");
    if (!(m = realloc(st->models, (st->nmodels + 1) * sizeof *m)))
        return H5CKPT_ENOMEM;
    st->models = m;
    if (!(r = realloc(st->resolved, (st->nmodels + 1) * sizeof *r)))
        return H5CKPT_ENOMEM;
    st->resolved = r;
    r[st->nmodels] = NULL;
    if (!(m[st->nmodels] = h5ckpt__strdup(name)))
        return H5CKPT_ENOMEM;
    *out = st->nmodels++;
    return resolve_models(st);
}

const char *h5ckpt_state_model_name(h5ckpt_state *st, int model)
{
    return st && model >= 0 && model < st->nmodels ? st->resolved[model] : NULL;
}

/* ---- entries -------------------------------------------------------------- */

static int push(h5ckpt_state *st, entry **out)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 32;
        entry *e = realloc(st->e, cap * sizeof *e);
        if (!e)
            return h5ckpt__fail(st->errmsg, H5CKPT_ENOMEM, "out of memory");
        st->e = e;
        st->cap = cap;
    }
    *out = &st->e[st->n];
    memset(*out, 0, sizeof **out);
    return 0;
}

/* Same (kind-class, model, rel) registered before? */
static int duplicate(const h5ckpt_state *st, int kind, int model,
                     const char *rel)
{
    size_t i;
    for (i = 0; i < st->n; i++)
        if (st->e[i].kind == kind && st->e[i].model == model &&
            strcmp(st->e[i].rel, rel) == 0)
            return 1;
    return 0;
}

static int add_tensor(h5ckpt_state *st, int kind, int model, const char *rel,
                      h5ckpt_dtype dtype, const h5ckpt_layout *layout,
                      void *data)
{
    entry *e;
    int rc;

    if ((kind != ENTRY_TENSOR && (model < 0 || model >= st->nmodels)) ||
        !layout || h5ckpt_dtype_size(dtype) == 0)
        return h5ckpt__fail(st->errmsg, H5CKPT_EINVAL,
                            "unknown model, bad dtype or NULL layout for '%s'",
                            rel ? rel : "(null)");
    if (!rel || (rc = h5ckpt__check_path(rel, 0, st->errmsg)) != 0)
        return h5ckpt__fail(st->errmsg, H5CKPT_ENAME, "invalid tensor name '%s'",
                            rel ? rel : "(null)");
    if (duplicate(st, kind, model, rel))
        return h5ckpt__fail(st->errmsg, H5CKPT_EEXIST, "'%s' registered twice",
                            rel);
    if ((rc = push(st, &e)) != 0)
        return rc;
    e->kind = kind;
    e->model = kind == ENTRY_TENSOR ? -1 : model;
    e->dtype = dtype;
    e->data = data;
    if (!(e->rel = h5ckpt__strdup(rel)) ||
        h5ckpt__layout_copy(&e->layout, layout) != 0) {
        entry_clear(e);
        return h5ckpt__fail(st->errmsg, H5CKPT_ENOMEM, "out of memory");
    }
    st->n++;
    return 0;
}

int h5ckpt_state_add_param(h5ckpt_state *st, int model, const char *param,
                           h5ckpt_dtype dtype, const h5ckpt_layout *layout,
                           void *data)
{
    if (!st)
        return H5CKPT_EINVAL;
    return add_tensor(st, ENTRY_PARAM, model, param, dtype, layout, data);
}

int h5ckpt_state_add_optim(h5ckpt_state *st, int model, const char *param,
                           const char *key, h5ckpt_dtype dtype,
                           const h5ckpt_layout *layout, void *data)
{
    char rel[H5CKPT_MAX_NAME + 2];

    if (!st)
        return H5CKPT_EINVAL;
    if (!param || !key || !*key || strchr(key, '/') ||
        (size_t)snprintf(rel, sizeof rel, "%s/%s", param, key) >= sizeof rel)
        return h5ckpt__fail(st->errmsg, H5CKPT_ENAME,
                            "invalid optimizer state name '%s' / '%s'",
                            param ? param : "(null)", key ? key : "(null)");
    return add_tensor(st, ENTRY_OPTIM, model, rel, dtype, layout, data);
}

int h5ckpt_state_add_tensor(h5ckpt_state *st, const char *path,
                            h5ckpt_dtype dtype, const h5ckpt_layout *layout,
                            void *data)
{
    if (!st)
        return H5CKPT_EINVAL;
    return add_tensor(st, ENTRY_TENSOR, -1, path, dtype, layout, data);
}

int h5ckpt_state_add_attr(h5ckpt_state *st, const char *obj, const char *name,
                          h5ckpt_attr_type type, size_t count, void *values)
{
    size_t i;
    entry *e;
    int rc;

    if (!st)
        return H5CKPT_EINVAL;
    if (!obj || !name || h5ckpt__check_path(obj, 1, st->errmsg) != 0 ||
        h5ckpt__check_attr_name(name, 0, st->errmsg) != 0)
        return h5ckpt__fail(st->errmsg, H5CKPT_ENAME,
                            "invalid attribute '%s' on '%s'",
                            name ? name : "(null)", obj ? obj : "(null)");
    if (type > H5CKPT_ATTR_BOOL || !values || count > H5CKPT_MAX_ATTR_ELEMS)
        return h5ckpt__fail(st->errmsg, H5CKPT_EINVAL,
                            "bad type, count or NULL values for attribute '%s'",
                            name);
    for (i = 0; i < st->n; i++)
        if (st->e[i].kind == ENTRY_ATTR && !strcmp(st->e[i].obj, obj) &&
            !strcmp(st->e[i].name, name))
            return h5ckpt__fail(st->errmsg, H5CKPT_EEXIST,
                                "attribute '%s' on '%s' registered twice", name,
                                obj);
    if ((rc = push(st, &e)) != 0)
        return rc;
    e->kind = ENTRY_ATTR;
    e->model = -1;
    e->atype = type;
    e->count = count;
    e->values = values;
    if (!(e->obj = h5ckpt__strdup(obj)) || !(e->name = h5ckpt__strdup(name)) ||
        !(e->rel = h5ckpt__strdup(name))) {
        entry_clear(e);
        return h5ckpt__fail(st->errmsg, H5CKPT_ENOMEM, "out of memory");
    }
    st->n++;
    return 0;
}

/* Compute every entry's key; H5CKPT_EEXIST when two collide. */
static int resolve_keys(h5ckpt_state *st)
{
    h5ckpt__strmap seen = {0};
    size_t i, len;
    int rc = 0;

    for (i = 0; i < st->n && rc == 0; i++) {
        entry *e = &st->e[i];
        const char *m = e->model >= 0 ? st->resolved[e->model] : "";
        len = strlen(e->rel) + strlen(m) + (e->obj ? strlen(e->obj) : 0) + 32;
        free(e->key);
        if (!(e->key = malloc(len))) {
            rc = h5ckpt__fail(st->errmsg, H5CKPT_ENOMEM, "out of memory");
            break;
        }
        if (e->kind == ENTRY_PARAM)
            snprintf(e->key, len, "model/%s/%s", m, e->rel);
        else if (e->kind == ENTRY_OPTIM)
            snprintf(e->key, len, "optimizer/state/%s/%s", m, e->rel);
        else if (e->kind == ENTRY_TENSOR)
            snprintf(e->key, len, "%s", e->rel);
        else
            snprintf(e->key, len, "%s@%s", e->obj, e->name);
        if (e->kind != ENTRY_ATTR &&
            (rc = h5ckpt__check_path(e->key, 0, st->errmsg)) != 0)
            break;
        if (h5ckpt__strmap_get(&seen, e->key) >= 0)
            rc = h5ckpt__fail(st->errmsg, H5CKPT_EEXIST,
                              "key '%s' is registered twice", e->key);
        else if (h5ckpt__strmap_put(&seen, e->key, 1) != 0)
            rc = h5ckpt__fail(st->errmsg, H5CKPT_ENOMEM, "out of memory");
    }
    h5ckpt__strmap_free(&seen);
    return rc;
}

int h5ckpt_state_save(h5ckpt_state *st, h5ckpt *ck)
{
    size_t i;
    int rc;

    if (!st || !ck)
        return H5CKPT_EINVAL;
    if ((rc = resolve_keys(st)) != 0)
        return rc;
    for (i = 0; i < st->n && rc == 0; i++) {
        entry *e = &st->e[i];
        if (e->kind == ENTRY_ATTR)
            rc = h5ckpt_attr_put(ck, e->obj, e->name, e->atype, e->count,
                                 e->values);
        else
            rc = h5ckpt_tensor_put(ck, e->key, e->dtype, &e->layout, e->data,
                                   NULL);
        if (rc)
            snprintf(st->errmsg, sizeof st->errmsg, "%s", h5ckpt_errmsg(ck));
    }
    return rc;
}

/* ---- load ----------------------------------------------------------------- */

/* Length of the first path component of a tensor key or attribute object. */
static size_t top_len(const char *path)
{
    const char *s = strchr(path, '/');
    return s ? (size_t)(s - path) : strlen(path);
}

static const char *entry_path(const entry *e)
{
    return e->kind == ENTRY_ATTR ? e->obj : e->key;
}

/* 1 if `path` lies outside model/ (the root "" included): training state. */
static int outside_model(const char *path)
{
    return !(top_len(path) == 5 && strncmp(path, "model", 5) == 0);
}

static int is_training(const entry *e) { return outside_model(entry_path(e)); }

/* A file holds training state when it has a group or tensor outside model/
 * (a weights-only file has model/ only). */
static int file_has_training_state(const h5ckpt *ck)
{
    size_t i;

    for (i = 0; i < h5ckpt_group_count(ck); i++)
        if (outside_model(h5ckpt_group_at(ck, i)))
            return 1;
    for (i = 0; i < h5ckpt_tensor_count(ck); i++)
        if (outside_model(h5ckpt_tensor_at(ck, i)))
            return 1;
    return 0;
}

/* Collective: every rank registered the same entries. */
static int check_same_entries(h5ckpt_state *st, MPI_Comm comm)
{
    h5ckpt__buf b = {0};
    uint64_t mine, root;
    size_t i;
    int d, rc = 0;

    for (i = 0; i < st->n; i++) {
        const entry *e = &st->e[i];
        h5ckpt__buf_str(&b, e->key);
        if (e->kind == ENTRY_ATTR) {
            h5ckpt__buf_u64(&b, e->atype);
            h5ckpt__buf_u64(&b, e->count);
            continue;
        }
        h5ckpt__buf_u64(&b, e->dtype);
        h5ckpt__buf_u64(&b, (uint64_t)e->layout.ndim);
        for (d = 0; d < e->layout.ndim; d++)
            h5ckpt__buf_u64(&b, e->layout.shape[d]);
    }
    mine = root = h5ckpt__hash(b.data, b.len);
    if (b.err)
        rc = h5ckpt__fail(st->errmsg, H5CKPT_ENOMEM, "out of memory");
    h5ckpt__buf_free(&b);
    if (rc == 0)
        rc = h5ckpt__mpi(MPI_Bcast(&root, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast",
                         st->errmsg);
    else
        h5ckpt__mpi(MPI_Bcast(&root, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast", NULL);
    if (rc == 0 && root != mine)
        rc = h5ckpt__fail(st->errmsg, H5CKPT_EDISAGREE,
                          "ranks registered different state entries (keys, "
                          "dtypes, shapes or attribute types)");
    return h5ckpt__agree(comm, rc, st->errmsg);
}

static void shape_text(char *buf, size_t size, int ndim, const uint64_t *s)
{
    size_t len = 0;
    int d;

    len += (size_t)snprintf(buf, size, "(");
    for (d = 0; d < ndim && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu64,
                                d ? ", " : "", s[d]);
    if (len < size)
        snprintf(buf + len, size - len, ")");
}

/* Check entry `e` against the file: 0 (present, matching), 1 (missing) or
 * an error naming it. */
static int check_entry(h5ckpt_state *st, const h5ckpt *ck, const entry *e)
{
    uint64_t shape[H5CKPT_MAX_NDIM];
    char a[256], b[256];
    h5ckpt_attr_type t;
    h5ckpt_dtype dt;
    size_t count;
    int nd, rc;

    if (e->kind == ENTRY_ATTR) {
        rc = h5ckpt_attr_info(ck, e->obj, e->name, &t, &count);
        if (rc == H5CKPT_ENOTFOUND)
            return 1;
        if (rc != 0)
            return h5ckpt__fail(st->errmsg, rc, "attribute '%s': %s", e->key,
                                h5ckpt_strerror(rc));
        if (t != e->atype)
            return h5ckpt__fail(st->errmsg, H5CKPT_EDTYPE,
                                "attribute '%s' has type %d in the file, %d "
                                "requested (0 int64, 1 float64, 2 string, 3 bool)",
                                e->key, (int)t, (int)e->atype);
        if (count != e->count)
            return h5ckpt__fail(st->errmsg, H5CKPT_ESHAPE,
                                "attribute '%s' has %zu values in the file "
                                "(0 = scalar), %zu requested",
                                e->key, count, e->count);
        return 0;
    }
    rc = h5ckpt_tensor_info(ck, e->key, &dt, &nd, shape);
    if (rc == H5CKPT_ENOTFOUND)
        return 1;
    if (rc != 0)
        return h5ckpt__fail(st->errmsg, rc, "tensor '%s': %s", e->key,
                            h5ckpt_strerror(rc));
    if (dt != e->dtype)
        return h5ckpt__fail(st->errmsg, H5CKPT_EDTYPE,
                            "tensor '%s' is %s in the file, %s requested", e->key,
                            h5ckpt_dtype_name(dt), h5ckpt_dtype_name(e->dtype));
    if (nd != e->layout.ndim ||
        memcmp(shape, e->layout.shape, (size_t)nd * sizeof *shape) != 0) {
        shape_text(a, sizeof a, nd, shape);
        shape_text(b, sizeof b, e->layout.ndim, e->layout.shape);
        return h5ckpt__fail(st->errmsg, H5CKPT_ESHAPE,
                            "tensor '%s' has shape %s in the file, %s requested",
                            e->key, a, b);
    }
    return 0;
}

/* Is the first component of `path` one the state asks about? */
static int in_scope(const h5ckpt__strmap *scopes, const char *path)
{
    char top[H5CKPT_MAX_NAME + 1];
    size_t n = top_len(path);

    memcpy(top, path, n);
    top[n] = '\0';
    return h5ckpt__strmap_get(scopes, top) >= 0;
}

/* File keys the state does not have, under the state's top-level groups. */
static int find_unexpected(h5ckpt_state *st, const h5ckpt *ck,
                           const h5ckpt__strmap *keys,
                           const h5ckpt__strmap *scopes)
{
    char key[2 * H5CKPT_MAX_NAME + 8];
    size_t i, j, ng = h5ckpt_group_count(ck);
    int rc = 0;

    for (i = 0; i < h5ckpt_tensor_count(ck) && rc == 0; i++) {
        const char *p = h5ckpt_tensor_at(ck, i);
        if (in_scope(scopes, p) && h5ckpt__strmap_get(keys, p) < 0)
            rc = list_add(&st->unexpected, p);
    }
    for (i = 0; i <= ng && rc == 0; i++) {
        const char *g = i == ng ? "" : h5ckpt_group_at(ck, i);
        if (!in_scope(scopes, g))
            continue;
        for (j = 0; j < h5ckpt_attr_count(ck, g) && rc == 0; j++) {
            snprintf(key, sizeof key, "%s@%s", g, h5ckpt_attr_at(ck, g, j));
            if (h5ckpt__strmap_get(keys, key) < 0)
                rc = list_add(&st->unexpected, key);
        }
    }
    return rc ? h5ckpt__fail(st->errmsg, rc, "out of memory") : 0;
}

/* "missing keys: a, b; unexpected keys: c" (truncated to a message). */
static void key_message(h5ckpt_state *st)
{
    char *m = st->errmsg;
    size_t len = 0, i;
    const strlist *l[2] = {&st->missing, &st->unexpected};
    const char *what[2] = {"missing keys", "unexpected keys"};
    int k;

    m[0] = '\0';
    len += (size_t)snprintf(m, H5CKPT_MSG_MAX, "strict load: ");
    for (k = 0; k < 2; k++) {
        if (!l[k]->n)
            continue;
        if (len < H5CKPT_MSG_MAX)
            len += (size_t)snprintf(m + len, H5CKPT_MSG_MAX - len, "%s%s (%zu): ",
                                    k && st->missing.n ? "; " : "", what[k],
                                    l[k]->n);
        for (i = 0; i < l[k]->n && len < H5CKPT_MSG_MAX; i++)
            len += (size_t)snprintf(m + len, H5CKPT_MSG_MAX - len, "%s%s",
                                    i ? ", " : "", l[k]->v[i]);
    }
    if (len >= H5CKPT_MSG_MAX)
        memcpy(m + H5CKPT_MSG_MAX - 4, "...", 4);
}

/* Copy the attribute values of present entries into the caller's buffers;
 * strings are copied into the state. */
static int read_attrs(h5ckpt_state *st, const h5ckpt *ck, const char *skip)
{
    size_t i, k;
    int rc = 0;

    for (i = 0; i < st->n && rc == 0; i++) {
        entry *e = &st->e[i];
        size_t n = e->count ? e->count : 1;
        if (e->kind != ENTRY_ATTR || skip[i])
            continue;
        if ((rc = h5ckpt_attr_get(ck, e->obj, e->name, e->atype, n, e->values)) != 0)
            break;
        if (e->atype != H5CKPT_ATTR_STRING)
            continue;
        for (k = 0; k < n && rc == 0; k++) {
            const char **v = e->values;
            if ((rc = list_add(&st->strings, v[k])) == 0)
                v[k] = st->strings.v[st->strings.n - 1];
        }
    }
    return rc ? h5ckpt__fail(st->errmsg, rc, "reading attributes failed") : 0;
}

int h5ckpt_state_load(h5ckpt_state *st, h5ckpt *ck, unsigned flags)
{
    h5ckpt__strmap keys = {0}, scopes = {0};
    char *skip = NULL; /* per entry: 1 skipped or missing */
    char top[H5CKPT_MAX_NAME + 1];
    size_t i;
    int rc = 0, r;

    if (!st || !ck)
        return H5CKPT_EINVAL;
    list_clear(&st->missing);
    list_clear(&st->unexpected);
    list_clear(&st->strings);
    st->training = 0;
    st->errmsg[0] = '\0';
    if (ck->mode != H5CKPT__READER)
        rc = h5ckpt__fail(st->errmsg, H5CKPT_EMODE, "loading needs a reader handle");
    else if (flags & ~H5CKPT_LOAD_STRICT)
        rc = h5ckpt__fail(st->errmsg, H5CKPT_EINVAL, "unknown load flags 0x%x", flags);
    else if ((rc = resolve_keys(st)) == 0 && !(skip = calloc(st->n + 1, 1)))
        rc = h5ckpt__fail(st->errmsg, H5CKPT_ENOMEM, "out of memory");
    if ((rc = h5ckpt__agree(ck->ctx.comm, rc, st->errmsg)) != 0 ||
        (rc = check_same_entries(st, ck->ctx.comm)) != 0)
        goto done;
    /* From here on every decision depends only on the entries (identical on
     * every rank) and the reader's index (identical on every rank). */
    st->training = file_has_training_state(ck);
    for (i = 0; i < st->n && rc == 0; i++) {
        const entry *e = &st->e[i];
        const char *p = entry_path(e);
        if (!st->training && is_training(e)) {
            skip[i] = 1;
            continue;
        }
        memcpy(top, p, top_len(p));
        top[top_len(p)] = '\0';
        if ((rc = h5ckpt__strmap_put(&scopes, top, 1)) != 0 ||
            (rc = h5ckpt__strmap_put(&keys, e->key, 1)) != 0)
            break;
        if ((r = check_entry(st, ck, e)) < 0)
            rc = r;
        else if (r == 1 && (skip[i] = 1) && (rc = list_add(&st->missing, e->key)) != 0)
            rc = h5ckpt__fail(st->errmsg, rc, "out of memory");
    }
    if (rc == 0)
        rc = find_unexpected(st, ck, &keys, &scopes);
    if (st->missing.n > 1)
        qsort(st->missing.v, st->missing.n, sizeof(char *), cmp_str);
    if (st->unexpected.n > 1)
        qsort(st->unexpected.v, st->unexpected.n, sizeof(char *), cmp_str);
    if (rc == 0 && (flags & H5CKPT_LOAD_STRICT) &&
        (st->missing.n || st->unexpected.n)) {
        key_message(st);
        rc = H5CKPT_ENOTFOUND;
    }
    if ((rc = h5ckpt__agree(ck->ctx.comm, rc, st->errmsg)) != 0)
        goto done;
    for (i = 0; i < st->n; i++) {
        entry *e = &st->e[i];
        if (e->kind == ENTRY_ATTR || skip[i])
            continue;
        if ((rc = h5ckpt_tensor_get(ck, e->key, e->dtype, &e->layout, e->data,
                                    NULL)) != 0)
            break; /* remembered: the flush fails on every rank */
    }
    if ((rc = h5ckpt_flush(ck)) != 0) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", h5ckpt_errmsg(ck));
        goto done;
    }
    rc = h5ckpt__agree(ck->ctx.comm, read_attrs(st, ck, skip), st->errmsg);
done:
    free(skip);
    h5ckpt__strmap_free(&keys);
    h5ckpt__strmap_free(&scopes);
    return rc;
}

int h5ckpt_state_load_file(h5ckpt_state *st, const char *path, MPI_Comm comm,
                           unsigned flags)
{
    h5ckpt_error err;
    h5ckpt *ck = NULL;
    int rc, crc;

    if (!st)
        return H5CKPT_EINVAL;
    if ((rc = h5ckpt_open(&ck, path, comm, NULL, &err)) != 0) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", err.message);
        return rc;
    }
    rc = h5ckpt_state_load(st, ck, flags);
    crc = h5ckpt_close(ck);
    if (rc == 0 && crc != 0)
        rc = h5ckpt__fail(st->errmsg, crc, "closing '%s' failed", path);
    return rc;
}
