/*
 * h5ckpt demo: 4 ranks save a small model-like state on a 2x2 mesh with mixed
 * placements; then 3 ranks load it on a 1-D mesh and check every value.
 *
 *   mpirun -np 4 examples/demo demo.h5 && h5dump -H demo.h5
 */
#include <stdio.h>
#include <stdlib.h>

#include "h5ckpt.h"

#define CHECK(expr)                                                           \
    do {                                                                      \
        int rc_ = (expr);                                                     \
        if (rc_ != 0) {                                                       \
            fprintf(stderr, "rank %d: %s failed: %s (%s)\n", rank, #expr,     \
                    h5ckpt_errname(rc_), ck ? h5ckpt_errmsg(ck) : err.message); \
            MPI_Abort(MPI_COMM_WORLD, 1);                                     \
        }                                                                     \
    } while (0)

/* The value of element i of a tensor: the same function at save and load. */
static float value(int tensor, uint64_t i) { return (float)tensor * 1000.0f + (float)i; }

static const char *names[] = {"model/embed.weight", "model/layer.0.weight",
                              "model/layer.0.bias", "optimizer/state/layer.0.weight/exp_avg"};
static const uint64_t shapes[][2] = {{10, 6}, {7, 5}, {5, 1}, {7, 5}};
static const int ndims[] = {2, 2, 1, 2};
/* Placements on the (dp=2, tp=2) mesh: Shard(0) over dp, then per tensor. */
static const int placements[][2] = {{H5CKPT_SHARD(0), H5CKPT_SHARD(1)},
                                    {H5CKPT_REPLICATE, H5CKPT_SHARD(0)},
                                    {H5CKPT_REPLICATE, H5CKPT_REPLICATE},
                                    {H5CKPT_SHARD(0), H5CKPT_SHARD(0)}};

/* Fill (or check) the local part of tensor t described by layout l. */
static long fill_or_check(int t, const h5ckpt_layout *l, float *buf, int check)
{
    uint64_t off[2], cnt[2], i, j, k = 0;
    long bad = 0;

    if (h5ckpt_layout_box_count(l) == 0)
        return 0;
    h5ckpt_layout_box_at(l, 0, off, cnt);
    if (ndims[t] == 1) {
        off[1] = 0;
        cnt[1] = 1;
    }
    for (i = 0; i < cnt[0]; i++)
        for (j = 0; j < cnt[1]; j++, k++) {
            uint64_t g = (off[0] + i) * (ndims[t] == 2 ? shapes[t][1] : 1) + off[1] + j;
            if (check)
                bad += buf[k] != value(t, g);
            else
                buf[k] = value(t, g);
        }
    return bad;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "demo.h5";
    const int mesh_shape[2] = {2, 2};
    const char *dim_names[2] = {"dp", "tp"};
    h5ckpt_options opts = H5CKPT_OPTIONS_INIT;
    h5ckpt_error err = {0};
    h5ckpt_mesh *mesh = NULL;
    h5ckpt *ck = NULL;
    h5ckpt_layout *lay[4];
    float *bufs[4];
    long bad = 0, total_bad = 0;
    int rank, size, t;
    MPI_Comm readers;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 4) {
        if (rank == 0)
            fprintf(stderr, "run the demo with 4 ranks: mpirun -np 4 %s\n", argv[0]);
        MPI_Finalize();
        return 2;
    }

    /* Save on a (dp=2, tp=2) mesh. */
    CHECK(h5ckpt_mesh_create(&mesh, MPI_COMM_WORLD, 2, mesh_shape, dim_names, &err));
    opts.mesh = mesh;
    CHECK(h5ckpt_create(&ck, path, MPI_COMM_WORLD, &opts, &err));
    for (t = 0; t < 4; t++) {
        CHECK(h5ckpt_layout_sharded(&lay[t], mesh, ndims[t], shapes[t], placements[t], NULL));
        bufs[t] = malloc(h5ckpt_layout_local_count(lay[t]) * sizeof(float) + 1);
        fill_or_check(t, lay[t], bufs[t], 0);
        CHECK(h5ckpt_tensor_put(ck, names[t], H5CKPT_FLOAT32, lay[t], bufs[t], NULL));
    }
    CHECK(h5ckpt_attr_put_int64(ck, "", "step", 100));
    CHECK(h5ckpt_attr_put_float64(ck, "optimizer/param_groups/0", "lr", 1e-3));
    CHECK(h5ckpt_commit(ck));
    CHECK(h5ckpt_close(ck));
    ck = NULL;
    for (t = 0; t < 4; t++) {
        h5ckpt_layout_free(lay[t]);
        free(bufs[t]);
    }
    h5ckpt_mesh_free(mesh);
    if (rank == 0)
        printf("saved %s from 4 ranks on mesh (dp=2, tp=2)\n", path);

    /* Load on 3 ranks, a 1-D mesh, every tensor Shard(0). */
    MPI_Comm_split(MPI_COMM_WORLD, rank < 3 ? 0 : MPI_UNDEFINED, rank, &readers);
    if (readers != MPI_COMM_NULL) {
        const int shape1[1] = {3};
        const int shard0[1] = {H5CKPT_SHARD(0)};
        int64_t step = 0;

        CHECK(h5ckpt_mesh_create(&mesh, readers, 1, shape1, NULL, &err));
        CHECK(h5ckpt_open(&ck, path, readers, NULL, &err));
        for (t = 0; t < 4; t++) {
            CHECK(h5ckpt_layout_sharded(&lay[t], mesh, ndims[t], shapes[t], shard0, NULL));
            bufs[t] = malloc(h5ckpt_layout_local_count(lay[t]) * sizeof(float) + 1);
            CHECK(h5ckpt_tensor_get(ck, names[t], H5CKPT_FLOAT32, lay[t], bufs[t], NULL));
        }
        CHECK(h5ckpt_flush(ck));
        for (t = 0; t < 4; t++) {
            bad += fill_or_check(t, lay[t], bufs[t], 1);
            h5ckpt_layout_free(lay[t]);
            free(bufs[t]);
        }
        CHECK(h5ckpt_attr_get_int64(ck, "", "step", &step));
        bad += step != 100;
        CHECK(h5ckpt_close(ck));
        h5ckpt_mesh_free(mesh);
        MPI_Allreduce(&bad, &total_bad, 1, MPI_LONG, MPI_SUM, readers);
        if (rank == 0)
            printf("loaded on 3 ranks (1-D mesh): %s (%ld wrong values)\n",
                   total_bad ? "MISMATCH" : "every value correct", total_bad);
        MPI_Comm_free(&readers);
    }
    MPI_Bcast(&total_bad, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return total_bad ? 1 : 0;
}
