/*
 * Checkpoints across nodes.  run-test.sh runs this suite on one node at
 * 1-4 ranks and, through tests/cluster/nodes.cluster, on the simulated
 * cluster (tests/cluster/mpirun-nodes) of 2 nodes x 2 ranks, 3 x 1 and
 * 2 x 3, where it checks that the ranks really sit on the nodes the
 * launcher named, that replicated data is written by every node in turn
 * (the owner rule of format-spec/FORMAT.md, "Writing in parallel"), and
 * that the fast writer's ranks on other nodes store their shards at the
 * offsets rank 0 broadcast.  Node-local reads are test_exchange's.
 */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nodes.h"
#include "values.h"

/* The layout mpirun-nodes announces (0 when not launched by it). */
static int env_int(const char *name)
{
    const char *e = getenv(name);
    return e ? atoi(e) : 0;
}

START_TEST(ranks_run_on_the_nodes_the_launcher_named)
{
    const t_nodes *n = t_nodes_get();
    int nodes = env_int("H5CKPT_CLUSTER_NODES"), per = env_int("H5CKPT_CLUSTER_RANKS_PER_NODE");
    char name[MPI_MAX_PROCESSOR_NAME] = "", want[64];
    int len = 0, lo = 0, hi = 0, size = 0;
    MPI_Comm shared;

    MPI_Get_processor_name(name, &len);
    if (nodes > 0) { /* simnode1 holds ranks 0..per-1, simnode2 the next, ... */
        snprintf(want, sizeof want, "simnode%d", T_rank / per + 1);
        T_ALL(nodes * per == T_size && n->count == nodes && n->regular &&
                  n->node_size == per && strcmp(name, want) == 0,
              "rank %d on %s (node %d of %d, %d ranks there), expected %s of %d nodes",
              T_rank, name, n->node, n->count, n->node_size, want, nodes);
    }
    /* What the library groups by (MPI_COMM_TYPE_SHARED) is the node. */
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, T_rank, MPI_INFO_NULL, &shared);
    MPI_Comm_size(shared, &size);
    MPI_Allreduce(&n->node, &lo, 1, MPI_INT, MPI_MIN, shared);
    MPI_Allreduce(&n->node, &hi, 1, MPI_INT, MPI_MAX, shared);
    MPI_Comm_free(&shared);
    T_ALL(lo == n->node && hi == n->node && size == n->node_size,
          "rank %d: shared-memory group of %d ranks on nodes %d..%d, node %d has %d",
          T_rank, size, lo, hi, n->node, n->node_size);
}
END_TEST

/*
 * Mesh (nodes, ranks per node), every tensor [Replicate, Shard(0)]: the
 * replicas of a shard are one rank per node, and the owner of shard s of
 * the tensor queued q-th is the replica (q + s) mod nodes.  Every rank must
 * have written exactly the shards that rule gives it, so each node writes
 * the same share; every rank then reads every tensor whole.
 */
START_TEST(replicated_tensors_are_written_by_every_node_in_turn)
{
    const t_nodes *n = t_nodes_get();
    int mshape[2], place[2] = {H5CKPT_REPLICATE, H5CKPT_SHARD(0)}, q, nq, s;
    uint64_t shape[2], mine, want = 0, node_bytes = 0, bad = 0;
    const char *path = t_path("owners.h5");
    h5ckpt_mesh *m = NULL;
    h5ckpt *ck = NULL;
    tensor *t;

    if (!n->regular) /* a mesh over nodes needs equal, consecutive nodes */
        return;
    mshape[0] = n->count;
    mshape[1] = n->node_size;
    shape[0] = 2 * (uint64_t)n->node_size;
    shape[1] = 3;
    nq = 2 * n->count;
    t = calloc((size_t)nq, sizeof *t);
    T_ALL(t != NULL, "out of memory");
    T_PASS(NULL, h5ckpt_mesh_create(&m, MPI_COMM_WORLD, 2, mshape, NULL, NULL));
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (q = 0; q < nq; q++) {
        tensor_init(&t[q], H5CKPT_FLOAT32, 300 + (uint64_t)q, 2, shape, "rep/t%d", q);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[q].l, m, 2, shape, place, NULL));
        T_PASS(ck, tensor_put(ck, &t[q]));
    }
    T_PASS(ck, h5ckpt_commit(ck));
    mine = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    s = n->node_rank; /* the shard index: mesh coordinate 1 */
    for (q = 0; q < nq; q++)
        if ((q + s) % n->count == n->node)
            want += 2 * 3 * 4;
    T_ALL(mine == want, "rank %d (node %d, shard %d) wrote %llu bytes, the owner rule gives %llu",
          T_rank, n->node, s, (unsigned long long)mine, (unsigned long long)want);
    MPI_Allreduce(&mine, &node_bytes, 1, MPI_UINT64_T, MPI_SUM, n->comm);
    T_ALL(node_bytes * (uint64_t)n->count == (uint64_t)nq * tensor_bytes(&t[0]),
          "node %d wrote %llu of %llu bytes", n->node, (unsigned long long)node_bytes,
          (unsigned long long)((uint64_t)nq * tensor_bytes(&t[0])));
    T_PASS(NULL, h5ckpt_open(&ck, path, MPI_COMM_WORLD, NULL, NULL));
    for (q = 0; q < nq; q++) {
        h5ckpt_layout_free(t[q].l);
        t[q].l = NULL;
        T_PASS(NULL, h5ckpt_layout_whole(&t[q].l, 2, shape, NULL));
        T_PASS(ck, tensor_get(ck, &t[q]));
    }
    T_PASS(ck, h5ckpt_flush(ck));
    for (q = 0; q < nq; q++) {
        bad += tensor_bad(&t[q]);
        tensor_release(&t[q]);
    }
    T_CHECK(bad);
    T_PASS(NULL, h5ckpt_close(ck));
    free(t);
    h5ckpt_mesh_free(m);
}
END_TEST

/*
 * The fast writer: rank 0 alone creates every dataset (serial HDF5) and
 * broadcasts their offsets; every rank pwrites its Shard(0) part there.
 * Each rank must have written exactly its own part (so every node wrote),
 * and the file must read back whole through HDF5 (the plain reader, which
 * does not use the offsets; rank 0 alone, so as not to pay 530 collective
 * reads across nodes) and verify.  More tensors than rank 0 creates
 * between two reopens of its file (512), with uneven shards.
 */
START_TEST(fast_writers_on_every_node_store_at_rank0s_offsets)
{
    enum { NT = 530 };
    h5ckpt_options o = H5CKPT_OPTIONS_INIT;
    const uint64_t shape[1] = {3 * (uint64_t)T_size - 1}; /* the last shard short */
    const char *path = t_path("offsets.h5");
    h5ckpt_mesh *m = world_mesh();
    h5ckpt *ck = NULL;
    tensor *t = calloc(NT, sizeof *t);
    uint64_t mine = 0, bad = 0, wrote;
    size_t problems = 99;
    int i, rc = 0, p = H5CKPT_SHARD(0);

    T_ALL(t != NULL, "out of memory");
    o.executor = H5CKPT_EXECUTOR_FAST;
    T_PASS(NULL, h5ckpt_create(&ck, path, MPI_COMM_WORLD, &o, NULL));
    for (i = 0; i < NT; i++) {
        tensor_init(&t[i], H5CKPT_INT32, 500 + (uint64_t)i, 1, shape, "off/%d/t%d", i / 100, i);
        T_PASS(NULL, h5ckpt_layout_sharded(&t[i].l, m, 1, shape, &p, NULL));
        T_PASS(ck, tensor_put(ck, &t[i]));
        mine += h5ckpt_layout_local_count(t[i].l) * 4;
    }
    T_PASS(ck, h5ckpt_commit(ck));
    wrote = h5ckpt_bytes_written(ck);
    T_PASS(NULL, h5ckpt_close(ck));
    T_ALL(wrote == mine && mine > 0, "rank %d wrote %llu bytes, its shards hold %llu",
          T_rank, (unsigned long long)wrote, (unsigned long long)mine);
    o.executor = H5CKPT_EXECUTOR_PLAIN;
    if (T_rank == 0) {
        if ((rc = h5ckpt_open(&ck, path, MPI_COMM_SELF, &o, NULL)) == 0) {
            for (i = 0; rc == 0 && i < NT; i++) {
                h5ckpt_layout_free(t[i].l);
                t[i].l = NULL;
                if ((rc = h5ckpt_layout_whole(&t[i].l, 1, shape, NULL)) == 0)
                    rc = tensor_get(ck, &t[i]);
            }
            rc = rc ? rc : h5ckpt_flush(ck);
            for (i = 0; rc == 0 && i < NT; i++)
                bad += tensor_bad(&t[i]);
            h5ckpt_close(ck);
        }
    }
    T_ALL(rc == 0, "rank 0 reading alone: %s", h5ckpt_errname(rc));
    T_CHECK(bad);
    for (i = 0; i < NT; i++)
        tensor_release(&t[i]);
    T_PASS(NULL, h5ckpt_verify(path, MPI_COMM_WORLD, NULL, NULL, &problems, NULL));
    T_ALL(problems == 0, "verify found %zu problems", problems);
    free(t);
    h5ckpt_mesh_free(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("nodes");
    TCase *tc = tcase_create("nodes");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ranks_run_on_the_nodes_the_launcher_named);
    tcase_add_test(tc, replicated_tensors_are_written_by_every_node_in_turn);
    tcase_add_test(tc, fast_writers_on_every_node_store_at_rank0s_offsets);
    suite_add_tcase(s, tc);
    return s;
}
