/*
 * Leftovers of crashed saves: after a successful commit, rank 0 removes the
 * temporary files of the same target that nobody has modified since before
 * this writer started (format specification, "Commit protocol").  A writer
 * still running on the same target keeps writing, so its file is newer and
 * stays.
 */
#include "format/format.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 1 if `name` is "<prefix><16 lowercase hex digits>". */
static int is_temp_of(const char *name, const char *prefix)
{
    size_t n = strlen(prefix), i;

    if (strncmp(name, prefix, n) != 0 || strlen(name + n) != 16)
        return 0;
    for (i = n; name[i]; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return 1;
}

int h5ckpt__is_temp_name(const char *path)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *infix = strstr(base, H5CKPT_TMP_INFIX), *next;

    if (base[0] != '.' || !infix)
        return 0;
    while ((next = strstr(infix + 1, H5CKPT_TMP_INFIX)) != NULL)
        infix = next; /* the last occurrence */
    return infix > base && is_temp_of(infix, H5CKPT_TMP_INFIX);
}

int h5ckpt__remove_leftovers(const char *path, int64_t before_ns)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    char *dir = h5ckpt__strdup(path), *prefix = NULL;
    struct dirent *e;
    struct stat st;
    DIR *dp = NULL;
    int removed = 0;

    if (!dir || !(prefix = malloc(strlen(base) + sizeof H5CKPT_TMP_INFIX + 2)))
        goto done;
    if (!slash)
        strcpy(dir, ".");
    else
        dir[slash == path ? 1 : slash - path] = '\0';
    sprintf(prefix, ".%s%s", base, H5CKPT_TMP_INFIX);
    if (!(dp = opendir(dir)))
        goto done;
    while ((e = readdir(dp)) != NULL) {
        int64_t mt;
        if (!is_temp_of(e->d_name, prefix) ||
            fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (mt < before_ns && unlinkat(dirfd(dp), e->d_name, 0) == 0)
            removed++;
    }
done:
    if (dp)
        closedir(dp);
    free(dir);
    free(prefix);
    return removed;
}
