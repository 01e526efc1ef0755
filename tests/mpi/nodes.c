/* Which node each rank runs on (see nodes.h). */
#include "nodes.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static t_nodes nodes;
static int ready;

const t_nodes *t_nodes_get(void)
{
    char mine[MPI_MAX_PROCESSOR_NAME] = "", *all;
    pid_t pid = getpid();
    int len = 0, r, q;

    if (ready)
        return &nodes;
    MPI_Get_processor_name(mine, &len);
    all = calloc((size_t)T_size, MPI_MAX_PROCESSOR_NAME);
    nodes.node_of = calloc((size_t)T_size, sizeof *nodes.node_of);
    nodes.pid_of = calloc((size_t)T_size, sizeof *nodes.pid_of);
    T_ALL(all && nodes.node_of && nodes.pid_of, "out of memory");
    MPI_Allgather(mine, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME,
                  MPI_CHAR, MPI_COMM_WORLD);
    MPI_Allgather(&pid, (int)sizeof pid, MPI_BYTE, nodes.pid_of, (int)sizeof pid,
                  MPI_BYTE, MPI_COMM_WORLD);
    for (r = 0; r < T_size; r++) {
        const char *name = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        for (q = 0; q < r && strcmp(name, all + (size_t)q * MPI_MAX_PROCESSOR_NAME); q++)
            ;
        nodes.node_of[r] = q < r ? nodes.node_of[q] : nodes.count++;
    }
    free(all);
    nodes.node = nodes.node_of[T_rank];
    for (r = 0; r < T_size; r++) {
        nodes.node_rank += r < T_rank && nodes.node_of[r] == nodes.node;
        nodes.node_size += nodes.node_of[r] == nodes.node;
    }
    nodes.regular = T_size % nodes.count == 0;
    for (r = 0; r < T_size; r++)
        nodes.regular = nodes.regular && nodes.node_of[r] == r / (T_size / nodes.count);
    MPI_Comm_split(MPI_COMM_WORLD, nodes.node, T_rank, &nodes.comm);
    ready = 1;
    return &nodes;
}

int t_node_of_pid(pid_t pid)
{
    int r;

    for (r = 0; ready && r < T_size; r++)
        if (nodes.pid_of[r] == pid)
            return nodes.node_of[r];
    return -1;
}
