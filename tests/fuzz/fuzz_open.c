/*
 * libFuzzer target: treat the input as the bytes of a checkpoint file, then
 * open it, list everything and read every tensor whole, as a user would.
 * Any outcome but a crash, a sanitizer report or a hang is fine; the library
 * must return an error code for whatever it cannot read.
 *
 * h5ckpt_open takes a path and reads through MPI-IO, so each input is written
 * to a file on /dev/shm (memory-backed) first.  MPI is initialised once, as a
 * singleton, in LLVMFuzzerInitialize.  Built by scripts/fuzz.sh.
 */
#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5ckpt.h"

static char image_path[64];

static void at_exit(void)
{
    unlink(image_path);
    MPI_Finalize();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    snprintf(image_path, sizeof image_path, "/dev/shm/h5ckpt-fuzz-%d.h5",
             (int)getpid());
    atexit(at_exit);
    return 0;
}

static int write_image(const uint8_t *data, size_t size)
{
    FILE *f = fopen(image_path, "wb");
    int ok;

    if (!f)
        return -1;
    ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Read tensor i whole; the buffer is sized by the index, which the library
 * has checked (element counts fit 64 bits).  Skip tensors above 64 MiB. */
static void read_tensor(h5ckpt *ck, size_t i)
{
    const char *path = h5ckpt_tensor_at(ck, i);
    uint64_t shape[H5CKPT_MAX_NDIM], bytes;
    h5ckpt_layout *l = NULL;
    h5ckpt_dtype dt;
    void *buf = NULL;
    int ndim, d;

    if (!path || h5ckpt_tensor_info(ck, path, &dt, &ndim, shape) != 0)
        abort(); /* the listing must be self-consistent */
    bytes = h5ckpt_dtype_size(dt);
    for (d = 0; d < ndim; d++) {
        if (shape[d] && bytes > (64u << 20) / shape[d])
            return;
        bytes *= shape[d];
    }
    if (h5ckpt_layout_whole(&l, ndim, shape, NULL) != 0)
        abort();
    buf = malloc(bytes ? bytes : 1);
    if (buf && h5ckpt_tensor_get(ck, path, dt, l, buf, NULL) == 0)
        (void)h5ckpt_flush(ck);
    free(buf);
    h5ckpt_layout_free(l);
}

static void list_attrs(h5ckpt *ck, const char *obj)
{
    size_t n = h5ckpt_attr_count(ck, obj), i, count;
    h5ckpt_attr_type type;

    for (i = 0; i < n; i++) {
        const char *name = h5ckpt_attr_at(ck, obj, i);
        if (!name || h5ckpt_attr_info(ck, obj, name, &type, &count) != 0)
            abort();
        if (type == H5CKPT_ATTR_STRING) {
            const char **v = calloc(count ? count : 1, sizeof *v);
            if (v && h5ckpt_attr_get(ck, obj, name, type, count ? count : 1, v) == 0)
                for (size_t k = 0; k < (count ? count : 1); k++)
                    if (!v[k])
                        abort();
            free(v);
        }
    }
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/*
 * 1 if every global heap collection ("GCOL") in the image is well formed:
 * version 1, inside the image, objects inside the collection.  HDF5 1.10.8
 * does not check these (they carry no checksum) and reads out of bounds or
 * loops forever on broken ones when it reads a variable-length string, as
 * every h5ckpt reader must.  Those inputs are a known HDF5 bug class (see
 * tests/corpus/hdf5-bugs/README); skipping them lets the fuzzer look for
 * bugs elsewhere.  Layout: "GCOL", version, 3 reserved, size (8 bytes,
 * header included), then objects: index (2), refcount (2), reserved (4),
 * size (8), data padded to 8 bytes; index 0 is the free space.
 */
static int heaps_well_formed(const uint8_t *data, size_t size)
{
    size_t at;

    for (at = 0; at + 16 <= size; at++) {
        uint64_t csize, p, end;
        if (memcmp(data + at, "GCOL", 4) != 0)
            continue;
        csize = le64(data + at + 8);
        if (data[at + 4] != 1 || csize < 16 || csize > size - at)
            return 0;
        end = at + csize;
        /* as HDF5 walks it: an object needs its header plus its data
         * rounded up to 8 bytes; the free-space object (index 0) needs
         * exactly its size (header included), which HDF5 does not check to be
         * at least 16 */
        for (p = at + 16; p + 16 <= end;) {
            unsigned idx = data[p] | data[p + 1] << 8;
            uint64_t osize = le64(data + p + 8), need;
            if (idx && osize > end - p - 16)
                return 0;
            need = idx ? 16 + ((osize + 7) & ~(uint64_t)7) : osize;
            if (need < 16 || need > end - p)
                return 0;
            p += need;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h5ckpt *ck = NULL;
    size_t i;

    if (!heaps_well_formed(data, size) || write_image(data, size) != 0)
        return 0;
    if (h5ckpt_open(&ck, image_path, MPI_COMM_SELF, NULL, NULL) == 0) {
        list_attrs(ck, "");
        for (i = 0; i < h5ckpt_group_count(ck); i++)
            list_attrs(ck, h5ckpt_group_at(ck, i));
        for (i = 0; i < h5ckpt_tensor_count(ck); i++) {
            (void)h5ckpt_tensor_placements(ck, h5ckpt_tensor_at(ck, i));
            list_attrs(ck, h5ckpt_tensor_at(ck, i));
            read_tensor(ck, i);
        }
    } else if (ck) {
        abort(); /* a failed open must leave *out NULL */
    }
    h5ckpt_close(ck);
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
        abort(); /* a closed handle leaves no HDF5 identifier open */
    return 0;
}
