/*
 * Checksums: every written piece has a checksum of its stored bytes; the
 * whole-file verify (h5ckpt__verify_checksums, for tools) and a verifying
 * load both find a single flipped bit anywhere, name the tensor and box, and
 * never crash on a malformed table; files without a table still load.
 *
 * Files are corrupted by rank 0 with pwrite() at the byte offset HDF5 gives
 * for the element (contiguous datasets), as `dd` would.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "format/format.h"
#include "handle/handle.h"

enum { NT = 6 };
/* Tensors of the reference file, written on the world mesh. */
static const char *paths[NT] = {"a/sharded", "a/replicated", "scalar",
                                "a/range", "a/strided", "big/rows"};
static const h5ckpt_dtype dts[NT] = {H5CKPT_FLOAT32, H5CKPT_INT64,
                                     H5CKPT_FLOAT64, H5CKPT_INT16,
                                     H5CKPT_UINT8, H5CKPT_UINT8};
static const int nds[NT] = {2, 1, 0, 2, 2, 2};
/* big/rows: rows longer than the slice the tests set (SLICE), so hashing
 * from the file slices inside a row. */
#define BIGROW ((uint64_t)1003)
#define SLICE 64
static const uint64_t shapes[NT][2] = {{7, 5}, {6, 0}, {0, 0},
                                       {4, 6}, {5, 3}, {2, BIGROW}};

/* Byte b of element g of tensor t (any function that varies). */
static unsigned char byte_of(int t, uint64_t g, size_t b)
{
    return (unsigned char)(t * 37 + g * 11 + b * 101 + (g >> 8));
}

typedef struct {
    h5ckpt_layout *l[NT];
    unsigned char *buf[NT];
    int64_t strides[2];
} state;

static h5ckpt_mesh *world_mesh(void)
{
    h5ckpt_mesh *m = NULL;
    h5ckpt_error err = {0, ""};

    T_ALL(h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 1, &T_size, NULL, &err) == 0,
          "mesh_create: %s", err.message);
    return m;
}

/* Even split of n elements at rank k of T (k = T gives n). */
static uint64_t cut(uint64_t n, int k) { return (uint64_t)k * n / (uint64_t)T_size; }

/* Writer layouts: sharded dim 0, replicated, scalar, a flat range, a
 * strided buffer sharded on dim 1, and replicated big rows. */
static void writer_layouts(state *s, h5ckpt_mesh *m)
{
    const int sh0[1] = {H5CKPT_SHARD(0)}, rep[1] = {H5CKPT_REPLICATE},
              sh1[1] = {H5CKPT_SHARD(1)};
    uint64_t n3 = shapes[3][0] * shapes[3][1];

    T_ALL(h5ckpt_layout_sharded(&s->l[0], m, 2, shapes[0], sh0, NULL) == 0, "l0");
    T_ALL(h5ckpt_layout_sharded(&s->l[1], m, 1, shapes[1], rep, NULL) == 0, "l1");
    T_ALL(h5ckpt_layout_sharded(&s->l[2], m, 0, shapes[2], rep, NULL) == 0, "l2");
    T_ALL(h5ckpt_layout_range(&s->l[3], 2, shapes[3], cut(n3, T_rank),
                              cut(n3, T_rank + 1), NULL) == 0, "l3");
    T_ALL(h5ckpt_layout_sharded(&s->l[4], m, 2, shapes[4], sh1, NULL) == 0, "l4");
    T_ALL(h5ckpt_layout_sharded(&s->l[5], m, 2, shapes[5], rep, NULL) == 0, "l5");
}

/* Visit every local element of layout l (packed order) with its global
 * flat index; `fn` fills or checks it. */
static long walk(int t, const h5ckpt_layout *l, unsigned char *buf,
                 const int64_t *strides, int check)
{
    size_t es = h5ckpt_dtype_size(dts[t]), nb = h5ckpt_layout_box_count(l), k, b;
    int nd = nds[t];
    uint64_t off[2] = {0, 0}, cnt[2] = {1, 1}, i, j, pos = 0, cols;
    long bad = 0;

    cols = nd == 2 ? shapes[t][1] : 1;
    for (k = 0; k < nb; k++) {
        h5ckpt_layout_box_at(l, k, off, cnt);
        if (nd < 2) {
            off[1] = 0;
            cnt[1] = 1;
        }
        if (nd == 0)
            off[0] = 0, cnt[0] = 1;
        for (i = 0; i < cnt[0]; i++)
            for (j = 0; j < cnt[1]; j++, pos++) {
                uint64_t g = (off[0] + i) * cols + off[1] + j;
                uint64_t at = strides ? i * (uint64_t)strides[0] + j * (uint64_t)strides[1] : pos;
                for (b = 0; b < es; b++) {
                    unsigned char *p = buf + at * es + b;
                    if (check)
                        bad += *p != byte_of(t, g, b);
                    else
                        *p = byte_of(t, g, b);
                }
            }
    }
    return bad;
}

/* Write the reference file at `path`; *npieces receives the number of
 * pieces written (non-empty boxes of owners), counted independently. */
static void write_reference(const char *path, uint64_t *npieces)
{
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_buffer sb = H5CKPT_BUFFER_INIT;
    h5ckpt *ck = NULL;
    state s;
    uint64_t lshape[H5CKPT_MAX_NDIM], mine = 0, chunk;
    int t, lnd;

    memset(&s, 0, sizeof s);
    writer_layouts(&s, m);
    o.mesh = m;
    T_PASS(ck, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (t = 0; t < NT; t++) {
        const int64_t *st = NULL;
        uint64_t n = h5ckpt_layout_local_count(s.l[t]);
        h5ckpt_layout_local_shape(s.l[t], &lnd, lshape);
        if (t == 4) { /* rows padded by 2 elements */
            s.strides[0] = (int64_t)lshape[1] + 2;
            s.strides[1] = 1;
            n = lshape[0] * (uint64_t)s.strides[0];
            st = s.strides;
            sb.strides = s.strides;
        }
        s.buf[t] = calloc(n + 1, h5ckpt_dtype_size(dts[t]));
        walk(t, s.l[t], s.buf[t], st, 0);
        T_PASS(ck, h5ckpt_tensor_put(ck, paths[t], dts[t], s.l[t], s.buf[t],
                                     t == 4 ? &sb : NULL));
        if (t == 1)
            T_PASS(ck, h5ckpt_flush(ck)); /* rows from several flushes */
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    /* Expected pieces: sharded 7 rows: ranks with a non-empty chunk;
     * replicated, scalar and big rows: one each; range: each rank's
     * non-empty boxes; strided on dim 1 (3 columns): non-empty chunks. */
    chunk = (7 + (uint64_t)T_size - 1) / (uint64_t)T_size;
    mine = (uint64_t)T_rank * chunk < 7;
    mine += (uint64_t)T_rank * ((3 + (uint64_t)T_size - 1) / (uint64_t)T_size) < 3;
    {
        size_t k;
        uint64_t off[2], cnt[2];
        for (k = 0; k < h5ckpt_layout_box_count(s.l[3]); k++) {
            h5ckpt_layout_box_at(s.l[3], k, off, cnt);
            mine += cnt[0] * cnt[1] > 0;
        }
    }
    MPI_Allreduce(&mine, npieces, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    *npieces += 3;
    for (t = 0; t < NT; t++) {
        h5ckpt_layout_free(s.l[t]);
        free(s.buf[t]);
    }
    h5ckpt_mesh_free(m);
}

/* ---- helpers on files (rank 0) ------------------------------------------ */

/* Byte offset in the file of element `elem` of contiguous dataset `path`. */
static long long elem_offset(const char *file, const char *path, uint64_t elem)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), d;
    haddr_t a = HADDR_UNDEF;

    if (f < 0)
        return -1;
    if ((d = H5Dopen2(f, path, H5P_DEFAULT)) >= 0) {
        a = H5Dget_offset(d);
        H5Dclose(d);
    }
    H5Fclose(f);
    return a == HADDR_UNDEF ? -1 : (long long)a + (long long)elem;
}

/* Flip bit `bit` of the byte at `off` (as dd conv=notrunc would). */
static int flip_bit(const char *file, long long off, int bit)
{
    unsigned char c;
    int fd = open(file, O_RDWR), ok;

    ok = fd >= 0 && pread(fd, &c, 1, off) == 1;
    c ^= (unsigned char)(1u << bit);
    ok = ok && pwrite(fd, &c, 1, off) == 1;
    if (fd >= 0)
        close(fd);
    return ok;
}

typedef struct {
    int n;
    char object[8][128];
    char message[8][H5CKPT_MSG_MAX];
} reports;

static void collect(void *ctx, const char *object, const char *message)
{
    reports *r = ctx;

    if (r->n < 8) {
        snprintf(r->object[r->n], sizeof r->object[0], "%s", object);
        snprintf(r->message[r->n], sizeof r->message[0], "%s", message);
    }
    r->n++;
}

/* Rank 0's value of an object, on every rank. */
#define SHARE(x) MPI_Bcast(&(x), (int)sizeof(x), MPI_BYTE, 0, MPI_COMM_WORLD)

/* Collective: rank 0 verifies `file` as a tool would (serial open); every
 * rank receives the code, the reports and the count. */
static int verify_file(const char *file, reports *r, size_t *nchecked)
{
    hid_t f;
    int rc = -999;

    memset(r, 0, sizeof *r);
    *nchecked = 0;
    if (T_rank == 0 && (f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0) {
        rc = h5ckpt__verify_checksums(f, collect, r, nchecked);
        H5Fclose(f);
    }
    SHARE(rc);
    SHARE(*r);
    SHARE(*nchecked);
    return rc;
}

/* Message of the last failed load_whole on this rank. */
static char load_msg[H5CKPT_MSG_MAX];

/* Collective: read every tensor whole on every rank from `file`, with or
 * without verification; returns the code of the open or of the flush. */
static int load_whole(const char *file, int verify, long *bad)
{
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_layout *l[NT];
    unsigned char *buf[NT];
    h5ckpt *ck = NULL;
    int t, rc;

    o.verify_checksums = verify;
    *bad = 0;
    if ((rc = h5ckpt_open(&ck, file, MPI_COMM_WORLD, &o, NULL)) != 0)
        return rc;
    for (t = 0; t < NT; t++) {
        T_ALL(h5ckpt_layout_whole(&l[t], nds[t], shapes[t], NULL) == 0, "whole");
        buf[t] = calloc(h5ckpt_layout_local_count(l[t]) + 1, h5ckpt_dtype_size(dts[t]));
        T_PASS(ck, h5ckpt_tensor_get(ck, paths[t], dts[t], l[t], buf[t], NULL));
    }
    rc = h5ckpt_flush(ck);
    for (t = 0; t < NT; t++) {
        *bad += walk(t, l[t], buf[t], NULL, 1);
        h5ckpt_layout_free(l[t]);
        free(buf[t]);
    }
    snprintf(load_msg, sizeof load_msg, "%s", rc ? h5ckpt_errmsg(ck) : "");
    T_PASS(ck, h5ckpt_close(ck));
    return rc;
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(verify_checks_every_written_piece_of_a_fresh_checkpoint)
{
    const char *f = t_path("fresh.h5");
    uint64_t npieces = 0;
    size_t nchecked = 0;
    reports r;
    int rc = 0;

    write_reference(f, &npieces);
    rc = verify_file(f, &r, &nchecked);
    T_ALL(rc == 0 && nchecked == npieces, "verify -> %s, %zu pieces checked of %llu: %s",
          h5ckpt_errname(rc), nchecked, (unsigned long long)npieces, r.n ? r.message[0] : "");
}
END_TEST

START_TEST(a_piece_checksum_is_xxh3_of_the_stored_bytes)
{
    const char *f = t_path("bytes.h5");
    uint64_t npieces, row[3 + 2 * 2], stored = 0, computed = 1;
    unsigned char raw[8];
    size_t i;

    write_reference(f, &npieces);
    if (T_rank == 0) {
        /* The scalar's row, found by its path hash; its bytes by pread. */
        hid_t h = H5Fopen(f, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = H5Dopen2(h, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT);
        hid_t sp = H5Dget_space(d);
        hsize_t dims[2], start[2] = {0, 0}, count[2] = {1, 0}, m;
        long long off = elem_offset(f, "scalar", 0);
        int fd = open(f, O_RDONLY);
        H5Sget_simple_extent_dims(sp, dims, NULL);
        count[1] = dims[1];
        m = dims[1];
        for (i = 0; i < dims[0]; i++) {
            hid_t ms = H5Screate_simple(1, &m, NULL);
            start[0] = i;
            H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
            H5Dread(d, H5T_NATIVE_UINT64, ms, sp, H5P_DEFAULT, row);
            H5Sclose(ms);
            if (row[0] == XXH3_64bits("scalar", 6))
                stored = row[1];
        }
        if (fd >= 0 && pread(fd, raw, 8, off) == 8)
            computed = XXH3_64bits(raw, 8);
        if (fd >= 0)
            close(fd);
        H5Sclose(sp);
        H5Dclose(d);
        H5Fclose(h);
    }
    SHARE(stored);
    SHARE(computed);
    T_ALL(stored == computed, "stored %016llx, xxh3 of the file's bytes %016llx",
          (unsigned long long)stored, (unsigned long long)computed);
}
END_TEST

START_TEST(a_verifying_load_passes_on_aligned_and_misaligned_layouts)
{
    const char *f = t_path("load.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt *ck = NULL;
    state s;
    h5ckpt_layout *shifted = NULL;
    unsigned char *sbuf;
    uint64_t npieces, n = shapes[0][0] * shapes[0][1], a, b, want;
    long bad = 0;
    int t;

    write_reference(f, &npieces);
    /* Whole tensors on every rank: every piece lies inside the box. */
    T_ALL(load_whole(f, 1, &bad) == 0 && bad == 0, "whole load, %ld bad", bad);
    /* The writer's own layouts (pieces equal boxes), plus a range of
     * a/sharded shifted off the written row boundaries (extra reads). */
    memset(&s, 0, sizeof s);
    writer_layouts(&s, m);
    o.verify_checksums = 1;
    T_PASS(ck, h5ckpt_open(&ck, f, MPI_COMM_WORLD, &o, NULL));
    for (t = 0; t < NT; t++) {
        if (t == 4)
            continue; /* its strided writer buffer is covered by the load above */
        s.buf[t] = calloc(h5ckpt_layout_local_count(s.l[t]) + 1, h5ckpt_dtype_size(dts[t]));
        T_PASS(ck, h5ckpt_tensor_get(ck, paths[t], dts[t], s.l[t], s.buf[t], NULL));
    }
    a = T_rank == 0 ? 0 : cut(n, T_rank) + 2;
    b = T_rank == T_size - 1 ? n : cut(n, T_rank + 1) + 2;
    T_ALL(h5ckpt_layout_range(&shifted, 2, shapes[0], a, b, NULL) == 0, "range");
    sbuf = calloc(b - a + 1, 4);
    T_PASS(ck, h5ckpt_tensor_get(ck, "a/sharded", H5CKPT_FLOAT32, shifted, sbuf, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    for (t = 0; t < NT; t++)
        if (t != 4)
            bad += walk(t, s.l[t], s.buf[t], NULL, 1);
    bad += walk(0, shifted, sbuf, NULL, 1);
    T_ALL(bad == 0, "%ld bad elements", bad);
    want = 0;
    for (t = 0; t < NT; t++)
        if (t != 4)
            want += h5ckpt_layout_local_count(s.l[t]) * h5ckpt_dtype_size(dts[t]);
    want += (b - a) * 4;
    /* Ranks whose shifted range cuts a written piece read it again. */
    T_ALL(h5ckpt_bytes_read(ck) >= want, "read %llu bytes, asked for %llu",
          (unsigned long long)h5ckpt_bytes_read(ck), (unsigned long long)want);
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(shifted);
    free(sbuf);
    for (t = 0; t < NT; t++) {
        h5ckpt_layout_free(s.l[t]);
        free(s.buf[t]);
    }
    h5ckpt_mesh_free(m);
}
END_TEST

/* One flipped bit: verify reports exactly that tensor and box, a verifying
 * load fails with ECHECKSUM on every rank, a plain load does not notice. */
static void flip_and_detect(const char *ref, int t, uint64_t elem, size_t byte,
                            int bit, const char *want_box)
{
    const char *g = t_path("flipped.h5");
    size_t es = h5ckpt_dtype_size(dts[t]), nchecked = 0;
    reports r;
    long bad = 0;
    int rc = 0, ok = 1;

    memset(&r, 0, sizeof r);
    if (T_rank == 0) {
        t_copy_file(ref, g);
        ok = flip_bit(g, elem_offset(g, paths[t], elem * es + byte), bit);
    }
    SHARE(ok);
    rc = verify_file(g, &r, &nchecked);
    T_ALL(ok, "cannot flip a bit of %s", paths[t]);
    T_ALL(rc == H5CKPT_ECHECKSUM && r.n == 1 && !strcmp(r.object[0], paths[t]) &&
              strstr(r.message[0], "checksum mismatch") &&
              (!want_box || strstr(r.message[0], want_box)),
          "verify of %s element %llu -> %s, %d reports, first: '%s': %s", paths[t],
          (unsigned long long)elem, h5ckpt_errname(rc), r.n, r.object[0], r.message[0]);
    T_CODE(H5CKPT_ECHECKSUM, load_whole(g, 1, &bad));
    T_ALL(strstr(load_msg, paths[t]) && strstr(load_msg, "checksum mismatch in the piece ["),
          "the load's message names no tensor and box: %s", load_msg);
    T_CODE(0, load_whole(g, 0, &bad));
    T_ALL(bad == 1, "a plain load delivers the flipped element (%ld bad)", bad);
}

START_TEST(one_flipped_bit_in_any_tensor_is_found_by_verify_and_by_a_verifying_load)
{
    const char *f = t_path("ref.h5");
    uint64_t npieces, c = (7 + (uint64_t)T_size - 1) / (uint64_t)T_size, row;
    char box[64];

    write_reference(f, &npieces);
    /* a/sharded: first byte, and the last bit of the last element */
    snprintf(box, sizeof box, "[0:%llu, 0:5]", (unsigned long long)(c < 7 ? c : 7));
    flip_and_detect(f, 0, 0, 0, 0, box);
    row = 6 / c * c;
    snprintf(box, sizeof box, "[%llu:7, 0:5]", (unsigned long long)row);
    flip_and_detect(f, 0, 34, 3, 7, box);
    flip_and_detect(f, 1, 3, 5, 2, "[0:6]");      /* replicated */
    flip_and_detect(f, 2, 0, 7, 6, "[]");         /* 0-d */
    flip_and_detect(f, 3, 13, 1, 4, NULL);        /* flat range */
    flip_and_detect(f, 4, 14, 0, 1, NULL);        /* written from a strided buffer */
    flip_and_detect(f, 5, 2 * BIGROW - 1, 0, 3, "[0:2, 0:1003]"); /* end of big rows */
}
END_TEST

START_TEST(files_without_checksums_load_and_verify_says_no_checksums)
{
    const char *f = t_path("old-ref.h5"), *g = t_path("old.h5");
    uint64_t npieces;
    size_t nchecked = 7;
    reports r;
    long bad = 0;
    int rc = 0, ok = 1;

    write_reference(f, &npieces);
    memset(&r, 0, sizeof r);
    if (T_rank == 0) { /* what a writer before checksums left */
        hid_t h;
        t_copy_file(f, g);
        h = H5Fopen(g, H5F_ACC_RDWR, H5P_DEFAULT);
        ok = h >= 0 && H5Adelete(h, H5CKPT_A_CHECKSUM_ALGO) >= 0 &&
             H5Ldelete(h, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT) >= 0;
        H5Fclose(h);
    }
    SHARE(ok);
    rc = verify_file(g, &r, &nchecked);
    T_ALL(ok, "cannot strip the checksums");
    T_ALL(rc == H5CKPT_ENOTFOUND && r.n == 1 && strstr(r.message[0], "no checksums") &&
              nchecked == 0,
          "verify -> %s, %d reports: %s", h5ckpt_errname(rc), r.n, r.message[0]);
    T_CODE(0, load_whole(g, 1, &bad));
    T_ALL(bad == 0, "%ld bad", bad);
}
END_TEST

START_TEST(a_reader_that_ignores_checksums_sees_the_table_as_a_uint64_tensor)
{
    const char *f = t_path("compat-ref.h5"), *g = t_path("compat.h5");
    h5ckpt *ck = NULL;
    h5ckpt_dtype dt = H5CKPT_BOOL;
    uint64_t npieces, shape[H5CKPT_MAX_NDIM] = {0};
    int ok = 1, nd = 0;

    write_reference(f, &npieces);
    /* A v1 reader treats every dataset as a tensor: simulate it by removing
     * the attribute that tells this reader to hide the table. */
    if (T_rank == 0) {
        hid_t h;
        t_copy_file(f, g);
        h = H5Fopen(g, H5F_ACC_RDWR, H5P_DEFAULT);
        ok = h >= 0 && H5Adelete(h, H5CKPT_A_CHECKSUM_ALGO) >= 0;
        H5Fclose(h);
    }
    SHARE(ok);
    T_ALL(ok, "cannot remove the attribute");
    T_PASS(ck, h5ckpt_open(&ck, f, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == NT, "the table is hidden: %zu tensors",
          h5ckpt_tensor_count(ck));
    T_PASS(ck, h5ckpt_close(ck));
    T_PASS(ck, h5ckpt_open(&ck, g, MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_tensor_count(ck) == NT + 1, "%zu tensors", h5ckpt_tensor_count(ck));
    T_PASS(ck, h5ckpt_tensor_info(ck, H5CKPT_CHECKSUM_TABLE, &dt, &nd, shape));
    T_ALL(dt == H5CKPT_UINT64 && nd == 2 && shape[0] == npieces && shape[1] == 3 + 2 * 2,
          "table %s %d-d [%llu, %llu]", h5ckpt_dtype_name(dt), nd,
          (unsigned long long)shape[0], (unsigned long long)shape[1]);
    T_PASS(ck, h5ckpt_close(ck));
}
END_TEST

/* Overwrite row `r` column `c` of the table of `file` with v (rank 0). */
static int poke(const char *file, hsize_t r, hsize_t c, uint64_t v)
{
    hid_t h = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT), d = -1, sp = -1, ms = -1;
    hsize_t start[2] = {r, c}, one[2] = {1, 1}, m = 1;
    int ok;

    ok = h >= 0 && (d = H5Dopen2(h, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT)) >= 0 &&
         (sp = H5Dget_space(d)) >= 0 && (ms = H5Screate_simple(1, &m, NULL)) >= 0 &&
         H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, one, NULL) >= 0 &&
         H5Dwrite(d, H5T_NATIVE_UINT64, ms, sp, H5P_DEFAULT, &v) >= 0;
    if (ms >= 0) H5Sclose(ms);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (h >= 0) H5Fclose(h);
    return ok;
}

START_TEST(a_malformed_checksum_table_is_reported_and_never_crashes)
{
    const char *f = t_path("bad-ref.h5"), *g = t_path("bad.h5");
    static const struct { hsize_t col; uint64_t v; const char *what; } cases[] = {
        {H5CKPT__SUM_NDIM, 40, "dimensions"},
        {H5CKPT__SUM_BOX + 2, UINT64_MAX, "outside"},  /* a count */
        {H5CKPT__SUM_BOX + 0, UINT64_MAX - 1, "outside"}, /* an offset */
        {H5CKPT__SUM_PATH, 12345, "names no tensor"},
    };
    uint64_t npieces;
    size_t i, nchecked;
    long bad;
    reports r;

    write_reference(f, &npieces);
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = 0, ok = 1, lrc;
        if (T_rank == 0) {
            t_copy_file(f, g);
            ok = poke(g, 0, cases[i].col, cases[i].v);
        }
        SHARE(ok);
        rc = verify_file(g, &r, &nchecked);
        T_ALL(ok, "poke");
        T_ALL(rc == H5CKPT_ECORRUPT && r.n >= 1 && strstr(r.message[0], cases[i].what),
              "case %zu: verify -> %s, %d reports, first: %s", i, h5ckpt_errname(rc), r.n,
              r.n ? r.message[0] : "");
        lrc = load_whole(g, 1, &bad);
        T_ALL(lrc == H5CKPT_ECORRUPT || lrc == H5CKPT_ECHECKSUM,
              "case %zu: verifying load -> %s", i, h5ckpt_errname(lrc));
    }
    /* A table of the wrong type. */
    {
        int rc = 0;
        if (T_rank == 0) {
            hid_t h, sp, d;
            hsize_t dims[2] = {2, 7};
            t_copy_file(f, g);
            h = H5Fopen(g, H5F_ACC_RDWR, H5P_DEFAULT);
            H5Ldelete(h, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT);
            sp = H5Screate_simple(2, dims, NULL);
            d = H5Dcreate2(h, H5CKPT_CHECKSUM_TABLE, H5T_IEEE_F32LE, sp, H5P_DEFAULT,
                           H5P_DEFAULT, H5P_DEFAULT);
            H5Dclose(d);
            H5Sclose(sp);
            H5Fclose(h);
        }
        rc = verify_file(g, &r, &nchecked);
        T_ALL(rc == H5CKPT_ECORRUPT && r.n == 1 && strstr(r.message[0], "malformed"),
              "float table: verify -> %s: %s", h5ckpt_errname(rc), r.n ? r.message[0] : "");
        {
            h5ckpt_options o = H5CKPT_OPTIONS_INIT;
            h5ckpt *ck = NULL;
            o.verify_checksums = 1;
            T_CODE(H5CKPT_ECORRUPT, h5ckpt_open(&ck, g, MPI_COMM_WORLD, &o, NULL));
        }
    }
}
END_TEST

START_TEST(tensors_cannot_take_the_checksum_table_name)
{
    h5ckpt *ck = NULL;
    h5ckpt_layout *l = NULL;
    const uint64_t shape[1] = {2};
    int64_t v[2] = {1, 2};

    T_PASS(ck, h5ckpt_create(&ck, t_path("reserved.h5"), MPI_COMM_WORLD, NULL, NULL));
    T_ALL(h5ckpt_layout_whole(&l, 1, shape, NULL) == 0, "layout");
    T_CODE(H5CKPT_ENAME, h5ckpt_tensor_put(ck, H5CKPT_CHECKSUM_TABLE, H5CKPT_INT64, l,
                                           v, NULL));
    T_CODE(H5CKPT_ENAME, h5ckpt_tensor_put(ck, H5CKPT_CHECKSUM_TABLE "/x", H5CKPT_INT64,
                                           l, v, NULL));
    T_CODE(H5CKPT_ENAME, h5ckpt_flush(ck));
    T_PASS(ck, h5ckpt_close(ck));
    h5ckpt_layout_free(l);
}
END_TEST

/* The table holds exactly one row per piece, every rank's rows in rank
 * order and in the order each rank wrote its pieces (each rank writes its
 * own rows at its offset: rank 0 never gathers them). */
START_TEST(the_table_holds_each_rank_rows_at_its_offset_in_rank_order)
{
    enum { ROWS = 3, COLS = 4, W = 3 + 2 * 2 };
    const char *f = t_path("order.h5"), *names[2] = {"t/first", "t/second"};
    const uint64_t shape[2] = {(uint64_t)ROWS * (uint64_t)T_size, COLS};
    const int sh0[1] = {H5CKPT_SHARD(0)};
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_layout *l = NULL;
    h5ckpt *ck = NULL;
    int32_t v[2][ROWS * COLS];
    uint64_t *want = NULL, *got = NULL, mine[2][W];
    hsize_t dims[2] = {0, 0};
    int t, i, ok = 1;

    T_ALL(h5ckpt_layout_sharded(&l, m, 2, shape, sh0, NULL) == 0, "layout");
    T_PASS(ck, h5ckpt_create(&ck, f, MPI_COMM_WORLD, NULL, NULL));
    for (t = 0; t < 2; t++) {
        for (i = 0; i < ROWS * COLS; i++)
            v[t][i] = (int32_t)(1000 * t + 100 * T_rank + i);
        T_PASS(ck, h5ckpt_tensor_put(ck, names[t], H5CKPT_INT32, l, v[t], NULL));
        if (t == 0)
            T_PASS(ck, h5ckpt_flush(ck)); /* rows from two flushes */
        mine[t][0] = XXH3_64bits(names[t], strlen(names[t]));
        mine[t][1] = XXH3_64bits(v[t], sizeof v[t]);
        mine[t][2] = 2;
        mine[t][3] = (uint64_t)ROWS * (uint64_t)T_rank;
        mine[t][4] = 0;
        mine[t][5] = ROWS;
        mine[t][6] = COLS;
    }
    T_PASS(ck, h5ckpt_commit(ck));
    T_PASS(ck, h5ckpt_close(ck));
    want = calloc(2 * W * (size_t)T_size, sizeof *want);
    got = calloc(2 * W * (size_t)T_size, sizeof *got);
    MPI_Gather(mine, 2 * W, MPI_UINT64_T, want, 2 * W, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (T_rank == 0) {
        hid_t h = H5Fopen(f, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = H5Dopen2(h, H5CKPT_CHECKSUM_TABLE, H5P_DEFAULT);
        hid_t sp = H5Dget_space(d);
        H5Sget_simple_extent_dims(sp, dims, NULL);
        ok = dims[0] == 2 * (hsize_t)T_size && dims[1] == W &&
             H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0 &&
             memcmp(got, want, 2 * W * (size_t)T_size * sizeof *got) == 0;
        H5Sclose(sp);
        H5Dclose(d);
        H5Fclose(h);
    }
    SHARE(ok);
    SHARE(dims);
    T_ALL(ok, "table of %llu x %llu rows differs from every rank's rows in rank order",
          (unsigned long long)dims[0], (unsigned long long)dims[1]);
    free(want);
    free(got);
    h5ckpt_layout_free(l);
    h5ckpt_mesh_free(m);
}
END_TEST

/* A verifying reader keeps the table in the file: no rank holds its rows
 * after open (they were broadcast whole to every rank before), and each
 * flush fetches only the rows its reads touch; a flipped bit in a piece
 * that no rank reads is not noticed, one in a piece read is. */
START_TEST(a_verifying_reader_fetches_only_the_rows_its_reads_touch)
{
    const char *f = t_path("lazy.h5"), *g = t_path("lazy-bad.h5");
    const int sh0[1] = {H5CKPT_SHARD(0)};
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    h5ckpt_mesh *m = world_mesh();
    h5ckpt_layout *l = NULL, *one = NULL;
    h5ckpt *ck = NULL;
    uint64_t npieces, off[2] = {0, 0}, cnt[2] = {1, 5};
    unsigned char *buf;
    size_t held = 1;
    int ok = 1;

    write_reference(f, &npieces);
    o.verify_checksums = 1;
    T_PASS(ck, h5ckpt_open(&ck, f, MPI_COMM_WORLD, &o, NULL));
    held = ck->file.sums.npieces;
    T_ALL(ck->file.sums.lazy == 1 && held == 0, "after open: lazy %d, %zu rows held",
          ck->file.sums.lazy, held);
    T_ALL(h5ckpt_layout_sharded(&l, m, 2, shapes[0], sh0, NULL) == 0, "layout");
    buf = calloc(h5ckpt_layout_local_count(l) + 1, 4);
    T_PASS(ck, h5ckpt_tensor_get(ck, paths[0], dts[0], l, buf, NULL));
    T_PASS(ck, h5ckpt_flush(ck));
    T_ALL(walk(0, l, buf, NULL, 1) == 0, "values");
    T_ALL(ck->file.sums.npieces == 0, "%zu rows held after the flush", ck->file.sums.npieces);
    T_PASS(ck, h5ckpt_close(ck));
    /* row 6 (the last) of a/sharded flipped: only a read of it notices */
    if (T_rank == 0) {
        long long at = elem_offset(f, paths[0], 6 * 5 * 4); /* bytes */
        t_copy_file(f, g);
        ok = at >= 0 && flip_bit(g, at, 3);
    }
    SHARE(ok);
    T_ALL(ok, "flip");
    T_PASS(ck, h5ckpt_open(&ck, g, MPI_COMM_WORLD, &o, NULL));
    T_ALL(h5ckpt_layout_box(&one, 2, shapes[0], off, cnt, NULL) == 0, "row 0");
    T_PASS(ck, h5ckpt_tensor_get(ck, paths[0], dts[0], one, buf, NULL));
    if (T_size > 1)
        T_PASS(ck, h5ckpt_flush(ck)); /* row 0 lies in a piece without the flip */
    else
        T_CODE(H5CKPT_ECHECKSUM, h5ckpt_flush(ck)); /* one piece: the whole tensor */
    T_PASS(ck, h5ckpt_tensor_get(ck, paths[0], dts[0], l, buf, NULL));
    T_CODE(H5CKPT_ECHECKSUM, h5ckpt_flush(ck));
    T_ALL(strstr(h5ckpt_errmsg(ck), "checksum mismatch in the piece") != NULL, "%s",
          h5ckpt_errmsg(ck));
    T_PASS(ck, h5ckpt_close(ck));
    free(buf);
    h5ckpt_layout_free(l);
    h5ckpt_layout_free(one);
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("checksums");
    TCase *tc = tcase_create("checksums");
    h5ckpt__knobs k = *h5ckpt__knobs_get();

    k.slice_bytes = SLICE; /* pieces are hashed from the file in slices */
    h5ckpt__knobs_set(&k);

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, verify_checks_every_written_piece_of_a_fresh_checkpoint);
    tcase_add_test(tc, a_piece_checksum_is_xxh3_of_the_stored_bytes);
    tcase_add_test(tc, a_verifying_load_passes_on_aligned_and_misaligned_layouts);
    tcase_add_test(tc, one_flipped_bit_in_any_tensor_is_found_by_verify_and_by_a_verifying_load);
    tcase_add_test(tc, files_without_checksums_load_and_verify_says_no_checksums);
    tcase_add_test(tc, a_reader_that_ignores_checksums_sees_the_table_as_a_uint64_tensor);
    tcase_add_test(tc, a_malformed_checksum_table_is_reported_and_never_crashes);
    tcase_add_test(tc, tensors_cannot_take_the_checksum_table_name);
    tcase_add_test(tc, the_table_holds_each_rank_rows_at_its_offset_in_rank_order);
    tcase_add_test(tc, a_verifying_reader_fetches_only_the_rows_its_reads_touch);
    suite_add_tcase(s, tc);
    return s;
}
