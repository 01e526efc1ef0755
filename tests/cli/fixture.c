/*
 * Writes a checkpoint with one tensor of every dtype (16 x 16 elements whose
 * bits are a function of the flat index, recomputed by read_exports.py), a
 * 0-d and an empty tensor, and attributes of every type, on any number of
 * ranks (rows sharded over the ranks).
 *   fixture FILE [--hostile]   (--hostile adds awkward tensor names)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5ckpt.h"

static void element(h5ckpt_dtype dt, uint64_t i, void *out)
{
    union { int8_t i8; int16_t i16; int32_t i32; int64_t i64; uint8_t u8; uint16_t u16;
            uint32_t u32; uint64_t u64; float f; double d; } u;

    memset(&u, 0, sizeof u);
    switch (dt) {
    case H5CKPT_BOOL: u.u8 = i % 3 == 0; break;
    case H5CKPT_INT8: u.i8 = (int8_t)((int)(i * 7 % 256) - 128); break;
    case H5CKPT_INT16: u.i16 = (int16_t)((int)i * 37 - 5000); break;
    case H5CKPT_INT32: u.i32 = (int32_t)i * 100003 - 7; break;
    case H5CKPT_INT64: u.i64 = i % 2 ? (int64_t)((1ull << 62) + i) : -(int64_t)(i * i); break;
    case H5CKPT_UINT8: u.u8 = (uint8_t)i; break;
    case H5CKPT_UINT16: u.u16 = (uint16_t)(i * 250); break;
    case H5CKPT_UINT32: u.u32 = (uint32_t)(i * 16777259u); break;
    case H5CKPT_UINT64: u.u64 = (1ull << 63) + i * 3; break;
    case H5CKPT_FLOAT16: u.u16 = (uint16_t)(i * 37 % 0x7c00); break;
    case H5CKPT_BFLOAT16: u.u16 = (uint16_t)(0x3f80 + i * 3); break;
    case H5CKPT_FLOAT32: u.f = (float)i * 0.25f - 10.0f; break;
    case H5CKPT_FLOAT64: u.d = (double)i / 3.0; break;
    default: u.u8 = (uint8_t)i; break; /* FP8: every bit pattern */
    }
    memcpy(out, &u, h5ckpt_dtype_size(dt));
}

#define CHECK(x)                                                                         \
    do {                                                                                 \
        int rc_ = (x);                                                                   \
        if (rc_) {                                                                       \
            fprintf(stderr, "fixture: %s: %s %s\n", #x, h5ckpt_errname(rc_),            \
                    ck ? h5ckpt_errmsg(ck) : err.message);                               \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                \
        }                                                                                \
    } while (0)

int main(int argc, char **argv)
{
    static const char *hostile[] = {"__metadata__", "we ird/n\xc3\xa4me \"q\"", ".../x", NULL};
    const uint64_t shape[2] = {16, 16}, eshape[2] = {0, 3};
    h5ckpt_error err = {0};
    h5ckpt_mesh *mesh = NULL;
    h5ckpt *ck = NULL;
    h5ckpt_layout *l[H5CKPT_DTYPE_COUNT + 8];
    unsigned char *buf[H5CKPT_DTYPE_COUNT + 8];
    const int pl[1] = {H5CKPT_SHARD(0)}, rep[1] = {H5CKPT_REPLICATE};
    int size, t, nl = 0, j;
    double scalar = 2.5, fl[3] = {0.5, -1.25, 1e300};
    const char *strs[2] = {"alpha", "b\xc3\xa9ta"};
    int bools[2] = {1, 0};

    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2) {
        fprintf(stderr, "usage: fixture FILE [--hostile]\n");
        MPI_Finalize();
        return 2;
    }
    CHECK(h5ckpt_mesh_create(&mesh, MPI_COMM_WORLD, 1, &size, NULL, &err));
    CHECK(h5ckpt_create(&ck, argv[1], MPI_COMM_WORLD, NULL, &err));
    for (t = 0; t < H5CKPT_DTYPE_COUNT; t++, nl++) {
        uint64_t off[2], cnt[2], r, c, k = 0;
        char name[64];
        size_t es = h5ckpt_dtype_size((h5ckpt_dtype)t);
        CHECK(h5ckpt_layout_sharded(&l[nl], mesh, 2, shape, pl, NULL));
        buf[nl] = malloc(256 * es);
        off[0] = off[1] = 0;
        cnt[0] = cnt[1] = 0;
        if (h5ckpt_layout_box_count(l[nl]))
            h5ckpt_layout_box_at(l[nl], 0, off, cnt);
        for (r = 0; r < cnt[0]; r++)
            for (c = 0; c < cnt[1]; c++, k++)
                element((h5ckpt_dtype)t, (off[0] + r) * 16 + off[1] + c, buf[nl] + k * es);
        snprintf(name, sizeof name, "dt/%s", h5ckpt_dtype_name((h5ckpt_dtype)t));
        CHECK(h5ckpt_tensor_put(ck, name, (h5ckpt_dtype)t, l[nl], buf[nl], NULL));
    }
    CHECK(h5ckpt_layout_sharded(&l[nl], mesh, 0, NULL, rep, NULL));
    buf[nl] = NULL;
    CHECK(h5ckpt_tensor_put(ck, "scalar", H5CKPT_FLOAT64, l[nl++], &scalar, NULL));
    CHECK(h5ckpt_layout_sharded(&l[nl], mesh, 2, eshape, pl, NULL));
    buf[nl] = NULL;
    CHECK(h5ckpt_tensor_put(ck, "empty", H5CKPT_FLOAT32, l[nl++], NULL, NULL));
    if (argc > 2 && !strcmp(argv[2], "--hostile"))
        for (j = 0; hostile[j]; j++, nl++) {
            CHECK(h5ckpt_layout_sharded(&l[nl], mesh, 0, NULL, rep, NULL));
            buf[nl] = NULL;
            CHECK(h5ckpt_tensor_put(ck, hostile[j], H5CKPT_FLOAT64, l[nl], &scalar, NULL));
        }
    CHECK(h5ckpt_attr_put_int64(ck, "", "step", 100));
    CHECK(h5ckpt_attr_put_int64(ck, "", "epoch", 3));
    CHECK(h5ckpt_attr_put(ck, "meta", "floats", H5CKPT_ATTR_FLOAT64, 3, fl));
    CHECK(h5ckpt_attr_put(ck, "meta", "names", H5CKPT_ATTR_STRING, 2, strs));
    CHECK(h5ckpt_attr_put(ck, "meta", "flags", H5CKPT_ATTR_BOOL, 2, bools));
    CHECK(h5ckpt_attr_put_string(ck, "meta", "note", "h5ckpt fixture"));
    CHECK(h5ckpt_attr_put_float64(ck, "dt/float32", "scale", 0.25));
    CHECK(h5ckpt_commit(ck));
    CHECK(h5ckpt_close(ck));
    for (t = 0; t < nl; t++) {
        h5ckpt_layout_free(l[t]);
        free(buf[t]);
    }
    h5ckpt_mesh_free(mesh);
    MPI_Finalize();
    return 0;
}
