/* Validation of tensor, group and attribute names (format-spec, "Names"). */
#include "base/base.h"

#include <string.h>

static int is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

int h5ckpt__check_path(const char *path, int allow_root, char *msg)
{
    const char *p, *start;
    size_t len;

    if (!path)
        return h5ckpt__fail(msg, H5CKPT_ENAME, "name is NULL");
    len = strlen(path);
    if (len == 0)
        return allow_root ? 0
                          : h5ckpt__fail(msg, H5CKPT_ENAME, "name is empty");
    if (len > H5CKPT_MAX_NAME)
        return h5ckpt__fail(msg, H5CKPT_ENAME,
                            "name is %zu bytes long (at most %d)", len,
                            H5CKPT_MAX_NAME);
    for (start = p = path;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - start);
            if (n == 0)
                return h5ckpt__fail(msg, H5CKPT_ENAME,
                                    "name '%s' has an empty component", path);
            if ((n == 1 && start[0] == '.') ||
                (n == 2 && start[0] == '.' && start[1] == '.'))
                return h5ckpt__fail(msg, H5CKPT_ENAME,
                                    "name '%s' has a '.' or '..' component",
                                    path);
            if (*p == '\0')
                break;
            start = p + 1;
        } else if (is_control((unsigned char)*p)) {
            return h5ckpt__fail(msg, H5CKPT_ENAME,
                                "name has a control character (0x%02x) at "
                                "byte %zu",
                                (unsigned char)*p, (size_t)(p - path));
        }
    }
    return 0;
}

int h5ckpt__check_attr_name(const char *name, int reserved_ok, char *msg)
{
    const char *p;

    if (!name || !*name)
        return h5ckpt__fail(msg, H5CKPT_ENAME, "attribute name is empty");
    if (strlen(name) > 255)
        return h5ckpt__fail(msg, H5CKPT_ENAME,
                            "attribute name is longer than 255 bytes");
    for (p = name; *p; p++)
        if (*p == '/' || is_control((unsigned char)*p))
            return h5ckpt__fail(msg, H5CKPT_ENAME,
                                "attribute name '%.64s' contains '/' or a "
                                "control character",
                                name);
    if (!reserved_ok && strncmp(name, H5CKPT_RESERVED_PREFIX,
                                strlen(H5CKPT_RESERVED_PREFIX)) == 0)
        return h5ckpt__fail(msg, H5CKPT_ENAME,
                            "attribute name '%s' uses the reserved prefix "
                            "'" H5CKPT_RESERVED_PREFIX "'",
                            name);
    return 0;
}
