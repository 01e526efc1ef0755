/*
 * Which node each rank runs on, for tests that check what the library does
 * across nodes (the simulated cluster of tests/cluster runs them on
 * several).  A node is a processor name (MPI_Get_processor_name): that is
 * how Open MPI tells nodes apart, and it is independent of
 * MPI_Comm_split_type, which the library itself uses.
 */
#ifndef H5CKPT_TEST_NODES_H
#define H5CKPT_TEST_NODES_H

#include <sys/types.h>

#include "harness.h"

typedef struct {
    int count;      /* distinct nodes */
    int node;       /* this rank's node: nodes numbered by their lowest rank */
    int node_rank;  /* this rank within its node */
    int node_size;  /* ranks on this rank's node */
    int *node_of;   /* per rank of MPI_COMM_WORLD */
    pid_t *pid_of;  /* per rank of MPI_COMM_WORLD */
    int regular;    /* every node holds node_size consecutive ranks */
    MPI_Comm comm;  /* the ranks of this rank's node */
} t_nodes;

/* Collective on MPI_COMM_WORLD the first time (then cached; freed at exit
 * by the harness's MPI_Finalize). */
const t_nodes *t_nodes_get(void);

/* Local: the node of the process `pid`, -1 when it is no rank of the job. */
int t_node_of_pid(pid_t pid);

#endif
