/*
 * Device broadcast groups of the CUDA backend, on NCCL (built only with
 * configure --with-nccl; device_nonccl.c otherwise).
 *
 * group_create must not leave ranks waiting for one that failed: NCCL's
 * initialisation is collective and a rank that never arrives blocks the
 * others in it.  So every step that can fail locally happens first and is
 * agreed on with MPI (h5ckpt__agree: every rank returns the error and
 * message of the lowest failing rank): each rank's CUDA device, then that
 * the devices are distinct (NCCL refuses two ranks on one device), then
 * rank 0's ncclGetUniqueId.  Only then does every rank enter
 * ncclCommInitRank, whose outcome is agreed on again; a rank whose
 * communicator was created while another failed aborts it.
 */
#include <nccl.h>

#include "device/device_cuda.h"

#include <stdlib.h>
#include <string.h>

struct h5ckpt__dgroup {
    ncclComm_t comm;
    int size;
};

/* "call: NCCL's message (its last error text)" as H5CKPT_EDEVICE. */
static int nccl_fail(char *msg, const char *call, ncclResult_t r,
                     ncclComm_t comm)
{
    const char *last = ncclGetLastError(comm);
    char *nl;

    h5ckpt__fail(msg, H5CKPT_EDEVICE, "%s: %s%s%s%s", call,
                 ncclGetErrorString(r), last && *last ? " (" : "",
                 last && *last ? last : "", last && *last ? ")" : "");
    while (msg && (nl = strchr(msg, '\n')) != NULL) /* one line */
        *nl = ' ';
    return H5CKPT_EDEVICE;
}

/* This rank's device as a PCI bus id (local). */
static int local_device(char *bus, size_t size, char *msg)
{
    cudaError_t e;
    int dev;

    if ((e = cudaGetDevice(&dev)) != cudaSuccess)
        return h5ckpt__cuda_fail(msg, "cudaGetDevice", e);
    if ((e = cudaDeviceGetPCIBusId(bus, (int)size, dev)) != cudaSuccess)
        return h5ckpt__cuda_fail(msg, "cudaDeviceGetPCIBusId", e);
    return 0;
}

/* Collective: H5CKPT_ENOTSUP on every rank if two ranks share a device. */
static int distinct_devices(MPI_Comm comm, const char *bus, int size,
                            char *msg)
{
    char *all = calloc((size_t)size, 64);
    int i, j, rc = 0;

    if (!all)
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory (device ids)");
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    if (MPI_Allgather(bus, 64, MPI_CHAR, all, 64, MPI_CHAR, comm) !=
        MPI_SUCCESS) {
        rc = h5ckpt__fail(msg, H5CKPT_EMPI, "MPI_Allgather of device ids");
        goto done;
    }
    for (i = 0; i < size && !rc; i++)
        for (j = i + 1; j < size && !rc; j++)
            if (!strncmp(all + 64 * i, all + 64 * j, 64))
                rc = h5ckpt__fail(msg, H5CKPT_ENOTSUP,
                                  "NCCL group: ranks %d and %d share device "
                                  "%.64s (NCCL needs one device per rank)",
                                  i, j, all + 64 * i);
done:
    free(all);
    return rc;
}

static int nccl_group_create(h5ckpt__dgroup **out, MPI_Comm comm, char *msg)
{
    h5ckpt__dgroup *g = NULL;
    ncclUniqueId id;
    ncclComm_t c = NULL;
    ncclResult_t r;
    char bus[64] = "";
    int rank, size, rc = 0;

    *out = NULL;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(comm, &size) != MPI_SUCCESS)
        return h5ckpt__fail(msg, H5CKPT_EMPI, "invalid communicator");
    rc = local_device(bus, sizeof bus, msg);
    if (!rc && !(g = calloc(1, sizeof *g)))
        rc = h5ckpt__fail(msg, H5CKPT_ENOMEM, "out of memory (group)");
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0 ||
        (rc = distinct_devices(comm, bus, size, msg)) != 0)
        goto done;
    memset(&id, 0, sizeof id);
    if (rank == 0 && (r = ncclGetUniqueId(&id)) != ncclSuccess)
        rc = nccl_fail(msg, "ncclGetUniqueId", r, NULL);
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    if (MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, comm) != MPI_SUCCESS)
        rc = h5ckpt__fail(msg, H5CKPT_EMPI, "MPI_Bcast of the NCCL id");
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    if ((r = ncclCommInitRank(&c, size, id, rank)) != ncclSuccess) {
        rc = nccl_fail(msg, "ncclCommInitRank", r, NULL);
        c = NULL;
    }
    if ((rc = h5ckpt__agree(comm, rc, msg)) != 0)
        goto done;
    g->comm = c;
    g->size = size;
    *out = g;
    g = NULL;
    c = NULL;
done:
    if (c)
        (void)ncclCommAbort(c); /* created here, failed elsewhere */
    free(g);
    return rc;
}

/* Every member frees the group at the same point of its work: NCCL may wait
 * there for the others to be quiescent. */
static void nccl_group_free(h5ckpt__dgroup *g)
{
    if (!g)
        return;
    (void)ncclCommDestroy(g->comm); /* void: nothing to report to */
    free(g);
}

static void nccl_group_abort(h5ckpt__dgroup *g)
{
    if (!g)
        return;
    (void)ncclCommAbort(g->comm); /* ends its uncompleted operations */
    free(g);
}

static int nccl_group_bcast(h5ckpt__dgroup *g, h5ckpt__stream *s, void *buf,
                            size_t n, int root, char *msg)
{
    ncclResult_t r;

    if (root < 0 || root >= g->size)
        return h5ckpt__fail(msg, H5CKPT_EINVAL,
                            "broadcast root %d outside a group of %d", root,
                            g->size);
    r = ncclBroadcast(buf, buf, n, ncclUint8, root, g->comm, s->st);
    return r == ncclSuccess ? 0 : nccl_fail(msg, "ncclBroadcast", r, g->comm);
}

static int nccl_group_begin(char *msg)
{
    ncclResult_t r = ncclGroupStart();
    return r == ncclSuccess ? 0 : nccl_fail(msg, "ncclGroupStart", r, NULL);
}

static int nccl_group_end(char *msg)
{
    ncclResult_t r = ncclGroupEnd();
    return r == ncclSuccess ? 0 : nccl_fail(msg, "ncclGroupEnd", r, NULL);
}

void h5ckpt__nccl_fill(h5ckpt__devops *ops)
{
    ops->group_create = nccl_group_create;
    ops->group_free = nccl_group_free;
    ops->group_bcast = nccl_group_bcast;
    ops->group_begin = nccl_group_begin;
    ops->group_end = nccl_group_end;
    ops->group_abort = nccl_group_abort;
}
