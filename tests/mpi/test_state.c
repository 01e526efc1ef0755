/*
 * The training-state object: model name collisions, strict and non-strict
 * loads with key reports, shape and dtype mismatches, weights-only files,
 * distributed and plain models mixed, loading on another layout.  Each
 * error case asserts the exact code on every rank.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void same_message(const char *msg)
{
    char root[512];

    snprintf(root, sizeof root, "%s", msg);
    MPI_Bcast(root, sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    T_ALL(msg[0] != '\0' && strcmp(root, msg) == 0, "message '%s' vs rank 0 '%s'", msg, root);
}

/* Rows of a (T_size + 3) x 2 float32 matrix, Shard(0) on a 1-D mesh of all
 * ranks (uneven at 2 and 4 ranks), or whole on every rank. */
enum { COLS = 2 };
static uint64_t rows(void) { return (uint64_t)T_size + 3; }

typedef struct {
    h5ckpt_mesh *mesh;
    h5ckpt_layout *sharded, *whole, *scalar, *vec;
    uint64_t row0, nrows;
} fixture;

static void fixture_init(fixture *f)
{
    uint64_t shape[2] = {rows(), COLS}, off[2] = {0, 0}, cnt[2] = {0, 0}, four = 4;
    int shard0 = H5CKPT_SHARD(0);

    T_PASS(NULL, h5ckpt_mesh_create(&f->mesh, MPI_COMM_WORLD, 1, &T_size, NULL, NULL));
    T_PASS(NULL, h5ckpt_layout_sharded(&f->sharded, f->mesh, 2, shape, &shard0, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&f->whole, 2, shape, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&f->scalar, 0, NULL, NULL));
    T_PASS(NULL, h5ckpt_layout_whole(&f->vec, 1, &four, NULL));
    h5ckpt_layout_box_at(f->sharded, 0, off, cnt);
    f->row0 = off[0];
    f->nrows = cnt[0];
}

static void fixture_free(fixture *f)
{
    h5ckpt_layout_free(f->sharded);
    h5ckpt_layout_free(f->whole);
    h5ckpt_layout_free(f->scalar);
    h5ckpt_layout_free(f->vec);
    h5ckpt_mesh_free(f->mesh);
}

/* Element i of tensor `t` (row-major global index). */
static float val(int t, uint64_t i) { return (float)(t * 100) + (float)i; }

static void fill(float *buf, int t, uint64_t first, uint64_t n)
{
    uint64_t i;
    for (i = 0; i < n; i++)
        buf[i] = val(t, first + i);
}

static int check(const float *buf, int t, uint64_t first, uint64_t n)
{
    uint64_t i;
    for (i = 0; i < n; i++)
        if (buf[i] != val(t, first + i))
            return 0;
    return 1;
}

static void write_state(h5ckpt_state *st, const char *path, const h5ckpt_mesh *mesh)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt *ck = NULL;

    o.mesh = mesh;
    o.no_fsync = 1;
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    T_PASS(ck, h5ckpt_state_save(st, ck));
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
}

static int load_state(h5ckpt_state *st, const char *path, unsigned flags)
{
    h5ckpt *ck = NULL;
    int rc;

    T_PASS(ck, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    rc = h5ckpt_state_load(st, ck, flags);
    T_PASS(ck, h5ckpt_close(ck));
    return rc;
}

/* A full training checkpoint: model "net" (w sharded, b plain), a plain
 * model "ema" (w whole), Adam state of net/w (sharded) with a 0-d step,
 * param group, scheduler, scaler, nested metadata, root step and epoch. */
typedef struct {
    float w[64], b[4], ema[64], m[64];
    int64_t step, gstep, epoch, last_epoch;
    double lr, betas[2], scale;
    const char *params[2], *run;
    int amsgrad;
} full_state;

static h5ckpt_state *full(fixture *f, full_state *s, int whole_net)
{
    h5ckpt_layout *wl = whole_net ? f->whole : f->sharded;
    h5ckpt_state *st;
    int net, ema;

    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "net", &net));
    T_PASS(NULL, h5ckpt_state_add_model(st, "ema", &ema));
    T_PASS(NULL, h5ckpt_state_add_param(st, net, "layer/w", H5CKPT_FLOAT32, wl, s->w));
    T_PASS(NULL, h5ckpt_state_add_param(st, net, "b", H5CKPT_FLOAT32, f->vec, s->b));
    T_PASS(NULL, h5ckpt_state_add_param(st, ema, "layer/w", H5CKPT_FLOAT32, f->whole, s->ema));
    T_PASS(NULL, h5ckpt_state_add_optim(st, net, "layer/w", "exp_avg", H5CKPT_FLOAT32, wl, s->m));
    T_PASS(NULL, h5ckpt_state_add_optim(st, net, "layer/w", "step", H5CKPT_INT64, f->scalar, &s->step));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "", "step", H5CKPT_ATTR_INT64, 0, &s->gstep));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "", "epoch", H5CKPT_ATTR_INT64, 0, &s->epoch));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "optimizer/param_groups/0", "lr", H5CKPT_ATTR_FLOAT64, 0, &s->lr));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "optimizer/param_groups/0", "betas", H5CKPT_ATTR_FLOAT64, 2, s->betas));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "optimizer/param_groups/0", "params", H5CKPT_ATTR_STRING, 2, s->params));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "optimizer/param_groups/0", "amsgrad", H5CKPT_ATTR_BOOL, 0, &s->amsgrad));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "scheduler", "last_epoch", H5CKPT_ATTR_INT64, 0, &s->last_epoch));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "scaler", "scale", H5CKPT_ATTR_FLOAT64, 0, &s->scale));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "metadata/run/config", "name", H5CKPT_ATTR_STRING, 0, &s->run));
    return st;
}

static void full_values(fixture *f, full_state *s)
{
    memset(s, 0, sizeof *s);
    fill(s->w, 1, f->row0 * COLS, f->nrows * COLS);
    fill(s->b, 2, 0, 4);
    fill(s->ema, 3, 0, rows() * COLS);
    fill(s->m, 4, f->row0 * COLS, f->nrows * COLS);
    s->step = 17;
    s->gstep = 1700;
    s->epoch = 3;
    s->last_epoch = 1699;
    s->lr = 0.125;
    s->betas[0] = 0.9;
    s->betas[1] = 0.999;
    s->params[0] = "net/layer/w";
    s->params[1] = "net/b";
    s->amsgrad = 1;
    s->scale = 1024.0;
    s->run = "unit";
}

START_TEST(models_that_share_a_name_get_numbered_suffixes)
{
    h5ckpt_state *st;
    fixture f;
    float a[64], b[64], c[64];
    h5ckpt *ck = NULL;
    int m0, m1, m2, m3;

    fixture_init(&f);
    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "MLP", &m0));
    T_ALL(strcmp(h5ckpt_state_model_name(st, m0), "MLP") == 0, "single name kept");
    T_PASS(NULL, h5ckpt_state_add_model(st, "MLP1", &m1));
    T_PASS(NULL, h5ckpt_state_add_model(st, "MLP", &m2));
    T_PASS(NULL, h5ckpt_state_add_model(st, "Head", &m3));
    T_ALL(strcmp(h5ckpt_state_model_name(st, m0), "MLP0") == 0 &&
              strcmp(h5ckpt_state_model_name(st, m1), "MLP1") == 0 &&
              strcmp(h5ckpt_state_model_name(st, m2), "MLP2") == 0 &&
              strcmp(h5ckpt_state_model_name(st, m3), "Head") == 0 &&
              h5ckpt_state_model_name(st, 4) == NULL,
          "names %s %s %s %s", h5ckpt_state_model_name(st, m0), h5ckpt_state_model_name(st, m1),
          h5ckpt_state_model_name(st, m2), h5ckpt_state_model_name(st, m3));
    T_CODE(H5CKPT_ENAME, h5ckpt_state_add_model(st, "a/b", &m3));
    fill(a, 1, f.row0 * COLS, f.nrows * COLS);
    fill(b, 2, f.row0 * COLS, f.nrows * COLS);
    fill(c, 3, f.row0 * COLS, f.nrows * COLS);
    T_PASS(NULL, h5ckpt_state_add_param(st, m0, "w", H5CKPT_FLOAT32, f.sharded, a));
    T_PASS(NULL, h5ckpt_state_add_param(st, m1, "w", H5CKPT_FLOAT32, f.sharded, b));
    T_PASS(NULL, h5ckpt_state_add_param(st, m2, "w", H5CKPT_FLOAT32, f.sharded, c));
    T_CODE(H5CKPT_EEXIST, h5ckpt_state_add_param(st, m2, "w", H5CKPT_FLOAT32, f.sharded, c));
    write_state(st, t_path("names.h5"), f.mesh);
    T_PASS(ck, h5ckpt_open(&ck, t_path("names.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == 3 && strcmp(h5ckpt_tensor_at(ck, 0), "model/MLP0/w") == 0 &&
              strcmp(h5ckpt_tensor_at(ck, 1), "model/MLP1/w") == 0 &&
              strcmp(h5ckpt_tensor_at(ck, 2), "model/MLP2/w") == 0,
          "tensors in the file");
    T_PASS(ck, h5ckpt_close(ck));
    memset(c, 0, sizeof c);
    T_PASS(NULL, load_state(st, t_path("names.h5"), H5CKPT_LOAD_STRICT));
    T_ALL(check(c, 3, f.row0 * COLS, f.nrows * COLS), "third model's values");
    h5ckpt_state_free(st);
    fixture_free(&f);
}
END_TEST

START_TEST(strict_load_on_another_layout_restores_everything)
{
    full_state s, r;
    h5ckpt_state *st, *lt;
    fixture f;

    fixture_init(&f);
    full_values(&f, &s);
    st = full(&f, &s, 0);
    write_state(st, t_path("full.h5"), f.mesh);
    /* Load with the net's weight and its Adam state whole on every rank. */
    memset(&r, 0, sizeof r);
    lt = full(&f, &r, 1);
    T_PASS(NULL, load_state(lt, t_path("full.h5"), H5CKPT_LOAD_STRICT));
    T_ALL(h5ckpt_state_has_training_state(lt) == 1 && h5ckpt_state_missing_count(lt) == 0 &&
              h5ckpt_state_unexpected_count(lt) == 0,
          "report: training %d missing %zu unexpected %zu", h5ckpt_state_has_training_state(lt),
          h5ckpt_state_missing_count(lt), h5ckpt_state_unexpected_count(lt));
    T_ALL(check(r.w, 1, 0, rows() * COLS) && check(r.b, 2, 0, 4) && check(r.ema, 3, 0, rows() * COLS) &&
              check(r.m, 4, 0, rows() * COLS),
          "tensor values");
    T_ALL(r.step == 17 && r.gstep == 1700 && r.epoch == 3 && r.last_epoch == 1699 && r.lr == 0.125 &&
              r.betas[0] == 0.9 && r.betas[1] == 0.999 && r.amsgrad == 1 && r.scale == 1024.0,
          "scalars");
    T_ALL(r.params[0] && strcmp(r.params[0], "net/layer/w") == 0 && strcmp(r.params[1], "net/b") == 0 &&
              strcmp(r.run, "unit") == 0,
          "strings");
    h5ckpt_state_free(st);
    h5ckpt_state_free(lt);
    fixture_free(&f);
}
END_TEST

/* File: model/m/a, model/m/b, root attr "step".  State: model/m/a,
 * model/m/c, root attrs "step" and "epoch". */
static h5ckpt_state *keys_state(fixture *f, float *a, float *bc, int64_t *step, int64_t *epoch, int saving)
{
    h5ckpt_state *st;
    int m;

    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "m", &m));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, "a", H5CKPT_FLOAT32, f->sharded, a));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, saving ? "b" : "c", H5CKPT_FLOAT32, f->sharded, bc));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "", "step", H5CKPT_ATTR_INT64, 0, step));
    if (!saving)
        T_PASS(NULL, h5ckpt_state_add_attr(st, "", "epoch", H5CKPT_ATTR_INT64, 0, epoch));
    else /* training state present, so root attributes are compared */
        T_PASS(NULL, h5ckpt_state_add_attr(st, "scheduler", "last_epoch", H5CKPT_ATTR_INT64, 0, epoch));
    return st;
}

static void write_keys_file(fixture *f, const char *path)
{
    float a[64], b[64];
    int64_t step = 5, le = 4;
    h5ckpt_state *st;

    fill(a, 1, f->row0 * COLS, f->nrows * COLS);
    fill(b, 2, f->row0 * COLS, f->nrows * COLS);
    st = keys_state(f, a, b, &step, &le, 1);
    write_state(st, path, f->mesh);
    h5ckpt_state_free(st);
}

START_TEST(non_strict_load_reports_missing_and_unexpected_keys)
{
    float a[64] = {0}, c[64];
    int64_t step = 0, epoch = -3;
    h5ckpt_state *st;
    fixture f;

    fixture_init(&f);
    write_keys_file(&f, t_path("keys.h5"));
    fill(c, 9, 0, 64);
    st = keys_state(&f, a, c, &step, &epoch, 0);
    T_PASS(NULL, load_state(st, t_path("keys.h5"), 0));
    T_ALL(h5ckpt_state_missing_count(st) == 2 &&
              strcmp(h5ckpt_state_missing_at(st, 0), "@epoch") == 0 &&
              strcmp(h5ckpt_state_missing_at(st, 1), "model/m/c") == 0 &&
              h5ckpt_state_missing_at(st, 2) == NULL,
          "missing %zu: %s", h5ckpt_state_missing_count(st), h5ckpt_state_missing_at(st, 0));
    T_ALL(h5ckpt_state_unexpected_count(st) == 1 &&
              strcmp(h5ckpt_state_unexpected_at(st, 0), "model/m/b") == 0,
          "unexpected %zu: %s", h5ckpt_state_unexpected_count(st), h5ckpt_state_unexpected_at(st, 0));
    T_ALL(check(a, 1, f.row0 * COLS, f.nrows * COLS) && step == 5, "present entries loaded");
    T_ALL(check(c, 9, 0, 64) && epoch == -3, "missing entries untouched");
    h5ckpt_state_free(st);
    fixture_free(&f);
}
END_TEST

START_TEST(strict_load_fails_with_both_key_lists_in_the_message)
{
    float a[64] = {0}, c[64] = {0};
    int64_t step = 0, epoch = 0;
    h5ckpt_state *st;
    const char *msg;
    fixture f;

    fixture_init(&f);
    write_keys_file(&f, t_path("keys_strict.h5"));
    st = keys_state(&f, a, c, &step, &epoch, 0);
    T_CODE(H5CKPT_ENOTFOUND, load_state(st, t_path("keys_strict.h5"), H5CKPT_LOAD_STRICT));
    msg = h5ckpt_state_errmsg(st);
    T_ALL(strstr(msg, "missing keys (2): @epoch, model/m/c") &&
              strstr(msg, "unexpected keys (1): model/m/b"),
          "message '%s'", msg);
    same_message(msg);
    T_ALL(step == 0 && a[0] == 0, "strict failure read data");
    T_ALL(h5ckpt_state_missing_count(st) == 2 && h5ckpt_state_unexpected_count(st) == 1, "lists");
    h5ckpt_state_free(st);
    fixture_free(&f);
}
END_TEST

START_TEST(shape_mismatch_is_an_error_naming_the_tensor)
{
    uint64_t shape[2] = {rows() + 1, COLS};
    float a[64], buf[64];
    int64_t step = 0, le = 0;
    h5ckpt_layout *wrong;
    h5ckpt_state *st;
    fixture f;
    int m;

    fixture_init(&f);
    write_keys_file(&f, t_path("shape.h5"));
    T_PASS(NULL, h5ckpt_layout_whole(&wrong, 2, shape, NULL));
    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "m", &m));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, "a", H5CKPT_FLOAT32, f.sharded, a));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, "b", H5CKPT_FLOAT32, wrong, buf));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "", "step", H5CKPT_ATTR_INT64, 0, &step));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "scheduler", "last_epoch", H5CKPT_ATTR_INT64, 0, &le));
    T_CODE(H5CKPT_ESHAPE, load_state(st, t_path("shape.h5"), 0));
    T_ALL(strstr(h5ckpt_state_errmsg(st), "'model/m/b'") != NULL, "message '%s'", h5ckpt_state_errmsg(st));
    same_message(h5ckpt_state_errmsg(st));
    h5ckpt_state_free(st);
    h5ckpt_layout_free(wrong);
    fixture_free(&f);
}
END_TEST

START_TEST(dtype_mismatch_is_an_error_naming_the_tensor)
{
    double a[64];
    float b[64];
    int64_t step = 0, le = 0;
    h5ckpt_state *st;
    fixture f;
    int m;

    fixture_init(&f);
    write_keys_file(&f, t_path("dtype.h5"));
    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "m", &m));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, "a", H5CKPT_FLOAT64, f.sharded, a));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, "b", H5CKPT_FLOAT32, f.sharded, b));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "", "step", H5CKPT_ATTR_INT64, 0, &step));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "scheduler", "last_epoch", H5CKPT_ATTR_INT64, 0, &le));
    T_CODE(H5CKPT_EDTYPE, load_state(st, t_path("dtype.h5"), 0));
    T_ALL(strstr(h5ckpt_state_errmsg(st), "'model/m/a' is float32 in the file, float64 requested") != NULL,
          "message '%s'", h5ckpt_state_errmsg(st));
    same_message(h5ckpt_state_errmsg(st));
    h5ckpt_state_free(st);
    fixture_free(&f);
}
END_TEST

START_TEST(attribute_type_mismatch_is_an_error_naming_it)
{
    float a[64], b[64];
    double step = 0;
    int64_t le = 0;
    h5ckpt_state *st;
    fixture f;
    int m;

    fixture_init(&f);
    write_keys_file(&f, t_path("atype.h5"));
    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "m", &m));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, "a", H5CKPT_FLOAT32, f.sharded, a));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, "b", H5CKPT_FLOAT32, f.sharded, b));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "", "step", H5CKPT_ATTR_FLOAT64, 0, &step));
    T_PASS(NULL, h5ckpt_state_add_attr(st, "scheduler", "last_epoch", H5CKPT_ATTR_INT64, 0, &le));
    T_CODE(H5CKPT_EDTYPE, load_state(st, t_path("atype.h5"), H5CKPT_LOAD_STRICT));
    T_ALL(strstr(h5ckpt_state_errmsg(st), "'@step'") != NULL, "message '%s'", h5ckpt_state_errmsg(st));
    h5ckpt_state_free(st);
    fixture_free(&f);
}
END_TEST

START_TEST(weights_only_file_loads_the_model_and_reports_no_training_state)
{
    full_state s, r;
    h5ckpt_state *st, *lt;
    fixture f;
    int net, ema;

    fixture_init(&f);
    full_values(&f, &s);
    /* A weights-only export: the same models, nothing else. */
    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "net", &net));
    T_PASS(NULL, h5ckpt_state_add_model(st, "ema", &ema));
    T_PASS(NULL, h5ckpt_state_add_param(st, net, "layer/w", H5CKPT_FLOAT32, f.sharded, s.w));
    T_PASS(NULL, h5ckpt_state_add_param(st, net, "b", H5CKPT_FLOAT32, f.vec, s.b));
    T_PASS(NULL, h5ckpt_state_add_param(st, ema, "layer/w", H5CKPT_FLOAT32, f.whole, s.ema));
    write_state(st, t_path("weights.h5"), f.mesh);
    /* The full training state, on another layout, strict. */
    memset(&r, 0, sizeof r);
    r.step = -1;
    r.gstep = -2;
    r.m[0] = 42.0f;
    lt = full(&f, &r, 1);
    T_PASS(NULL, h5ckpt_state_load_file(lt, t_path("weights.h5"), MPI_COMM_WORLD, H5CKPT_LOAD_STRICT));
    T_ALL(h5ckpt_state_has_training_state(lt) == 0 && h5ckpt_state_missing_count(lt) == 0 &&
              h5ckpt_state_unexpected_count(lt) == 0,
          "report: training %d missing %zu", h5ckpt_state_has_training_state(lt),
          h5ckpt_state_missing_count(lt));
    T_ALL(check(r.w, 1, 0, rows() * COLS) && check(r.b, 2, 0, 4) && check(r.ema, 3, 0, rows() * COLS),
          "model values");
    T_ALL(r.step == -1 && r.gstep == -2 && r.m[0] == 42.0f, "training entries were touched");
    h5ckpt_state_free(st);
    h5ckpt_state_free(lt);
    fixture_free(&f);
}
END_TEST

START_TEST(load_fails_when_ranks_register_different_entries)
{
    float a[64] = {0};
    h5ckpt_state *st;
    fixture f;
    int m;

    fixture_init(&f);
    write_keys_file(&f, t_path("disagree.h5"));
    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(NULL, h5ckpt_state_add_model(st, "m", &m));
    T_PASS(NULL, h5ckpt_state_add_param(st, m, T_rank == T_size - 1 ? "b" : "a", H5CKPT_FLOAT32, f.sharded, a));
    T_CODE(T_size > 1 ? H5CKPT_EDISAGREE : 0, load_state(st, t_path("disagree.h5"), 0));
    h5ckpt_state_free(st);
    fixture_free(&f);
}
END_TEST

START_TEST(load_file_of_a_missing_file_fails_with_enoent)
{
    h5ckpt_state *st;

    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_CODE(H5CKPT_ENOENT, h5ckpt_state_load_file(st, t_path("nowhere.h5"), MPI_COMM_WORLD, 0));
    same_message(h5ckpt_state_errmsg(st));
    h5ckpt_state_free(st);
}
END_TEST

START_TEST(load_into_a_writer_fails_with_emode)
{
    h5ckpt_state *st;
    h5ckpt *ck = NULL;

    T_PASS(NULL, h5ckpt_state_create(&st, NULL));
    T_PASS(ck, h5ckpt_create(&ck, t_path("writer.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_CODE(H5CKPT_EMODE, h5ckpt_state_load(st, ck, 0));
    same_message(h5ckpt_state_errmsg(st));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_state_free(st);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, models_that_share_a_name_get_numbered_suffixes);
    tcase_add_test(tc, strict_load_on_another_layout_restores_everything);
    tcase_add_test(tc, non_strict_load_reports_missing_and_unexpected_keys);
    tcase_add_test(tc, strict_load_fails_with_both_key_lists_in_the_message);
    tcase_add_test(tc, shape_mismatch_is_an_error_naming_the_tensor);
    tcase_add_test(tc, dtype_mismatch_is_an_error_naming_the_tensor);
    tcase_add_test(tc, attribute_type_mismatch_is_an_error_naming_it);
    tcase_add_test(tc, weights_only_file_loads_the_model_and_reports_no_training_state);
    tcase_add_test(tc, load_fails_when_ranks_register_different_entries);
    tcase_add_test(tc, load_into_a_writer_fails_with_emode);
    tcase_add_test(tc, load_file_of_a_missing_file_fails_with_enoent);
    suite_add_tcase(s, tc);
    return s;
}
