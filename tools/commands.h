/* The subcommand table: one line per command, in the order `--help` lists
 * them.  Each cmd_<name>.c defines `const cli_cmd cmd_<name>`. */
#ifndef H5CKPT_COMMANDS_H
#define H5CKPT_COMMANDS_H

#include "cli.h"

#define H5CKPT_COMMANDS(X) \
    X(version) \
    X(ls) \
    X(verify) \
    X(diff) \
    X(export) \
    X(import) \
    X(bench)

#define H5CKPT__CMD_DECL(name) extern const cli_cmd cmd_##name;
H5CKPT_COMMANDS(H5CKPT__CMD_DECL)
#undef H5CKPT__CMD_DECL

#endif
