/*
 * ckverify FILE: check every checksum of a checkpoint with the verifier the
 * `h5ckpt verify` tool uses (serial).  Prints each problem and a summary.
 * Exit 0: all pieces match; 1: mismatch or malformed table; 3: the file has
 * no checksums; 2: usage, or the file cannot be opened as HDF5.
 */
#include <stdio.h>

#include "h5ckpt_private.h"

static void print(void *ctx, const char *object, const char *message)
{
    (void)ctx;
    printf("%s%s%s\n", object, *object ? ": " : "", message);
}

int main(int argc, char **argv)
{
    size_t n = 0;
    hid_t f;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: ckverify FILE\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if ((f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        fprintf(stderr, "ckverify: cannot open '%s' as HDF5\n", argv[1]);
        return 2;
    }
    rc = h5ckpt__verify_checksums(f, print, NULL, &n);
    H5Fclose(f);
    printf("%s: %zu pieces checked: %s\n", argv[1], n, h5ckpt_errname(rc));
    return rc == 0 ? 0 : rc == H5CKPT_ENOTFOUND ? 3 : 1;
}
