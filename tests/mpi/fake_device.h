/*
 * A fake device backend for the MPI tests (installed with
 * h5ckpt__devops_override), so the device paths run on machines without a
 * GPU and their mistakes show:
 *  - "device memory" is one region kept PROT_NONE except inside the fake's
 *    own copy, pack, unpack and broadcast functions and the test helpers
 *    below: a host dereference of a device pointer by the library crashes;
 *  - queued work is deferred until a wait or sync that covers it, so using
 *    a staging half before waiting for its marker, or refilling one before
 *    its copy to the device ran, gives wrong data;
 *  - errors are injected on request (the k-th copy of a direction fails
 *    with H5CKPT_EDEVICE and FAKE_ERRMSG);
 *  - device ids are "fake-<world rank>" (distinct) or one shared id;
 *  - group operations are MPI: a group is a communicator, a broadcast is
 *    MPI_Bcast on the region, queued like the rest (so a member that never
 *    queued its part leaves the others hanging at their wait, as NCCL
 *    would, unless they abort the group).
 */
#ifndef H5CKPT_TEST_FAKE_DEVICE_H
#define H5CKPT_TEST_FAKE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "device/device.h"
#include "layout/layout.h"

#define FAKE_ERRMSG "fakeMemcpyAsync: injected failure (fakeErrorInjected)"
#define FAKE_PROBE_MSG "no fake device: turned off by the test"
#define FAKE_BCAST_ERRMSG "fakeBroadcast: injected failure (fakeErrorInjected)"

typedef struct {
    int fail_dir;    /* H5CKPT__D2H / H5CKPT__H2D, or -1: no injection */
    long fail_at;    /* the fail_at-th copy (1-based) in that direction */
    int probe_fails; /* probe returns ENOTSUP with FAKE_PROBE_MSG */
    int shared_id;   /* every rank reports the same device id */
    int no_groups;   /* a table without group operations */
    int fail_bcast_rank; /* world rank whose group_bcast fails with
                            FAKE_BCAST_ERRMSG, queuing nothing; -1 none */
} fake_config;

typedef struct {
    uint64_t copies[3], bytes[3]; /* per direction */
    uint64_t packs, unpacks, bcasts, bcast_bytes, groups, aborts;
    uint64_t groups_made; /* group_create calls, ever */
    uint64_t host_live, host_peak; /* pinned bytes */
    long dev_live, streams_live, host_blocks_live;
} fake_stats;

extern fake_config fake_cfg;
extern fake_stats fake_st;

/* Install the fake (with fake_cfg as it is then); reset counters. */
void fake_install(void);
/* Restore the build's backend. */
void fake_uninstall(void);
/* Default configuration and zero counters. */
void fake_reset(void);

/* Test helpers: device buffers and host access to them. */
void *fake_dev_malloc(size_t n);
void fake_dev_free(void *p);
void fake_upload(void *dev, const void *host, size_t n);
void fake_download(void *host, const void *dev, size_t n);

#endif
