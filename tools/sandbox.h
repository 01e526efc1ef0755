/*
 * Hostile files never crash the tool: `ls`, `verify`, `diff` and `export`
 * let HDF5 parse the file in a child process (the tool itself, re-executed
 * with its own arguments), under a time limit and a memory limit.  A crash
 * or a hang of HDF5 becomes one clean line, "h5ckpt: FILE: malformed file
 * (HDF5 crashed: SIGSEGV)", and the command's exit status for a malformed
 * file.  See sandbox.c for the design and docs/h5ckpt.md for the settings.
 */
#ifndef H5CKPT_SANDBOX_H
#define H5CKPT_SANDBOX_H

#include "cli.h"

/*
 * Called by main() before MPI_Init: in the child, applies the limits the
 * parent chose (address space, no core file).  No effect elsewhere.
 */
void sandbox_child_setup(void);

/*
 * Collective over MPI_COMM_WORLD, at the start of a subcommand that parses
 * files, after its options were checked.  `whole` says the child may run
 * the whole command (its output is the command's output): ls and verify
 * always, diff and export when the tool runs on one rank; otherwise rank
 * 0's child only parses the files (the tool re-executed with the same
 * arguments stops when the command calls sandbox_parsed()), and every rank
 * then runs the command itself.  `fail` is the command's exit status for a
 * malformed file.
 *
 * Returns -1 when the caller must run the command itself (in the child, with
 * H5CKPT_TOOL_SANDBOX=0, when the child cannot be started, or after a
 * successful parse-only child), else the exit status to return: the whole
 * child's own, or `fail` after a crash or a hang (message printed by rank 0).
 */
int sandbox_run(const cli_cmd *cmd, int whole, int fail);

/* Called by main() to finish: MPI_Finalize, then return `rc`.  A child
 * finishes with its stderr closed and leaves without exit handlers: HDF5
 * shuts down inside MPI_Finalize and may complain there about the state a
 * malformed file left it in, after the command's own message. */
int sandbox_finalize(int rc);

/* In the child: HDF5 is about to work on `path` (a parse, or tensor data
 * of that file).  No effect elsewhere. */
void sandbox_note(const char *path);
/* In the child: every file is parsed.  A parse-only child exits here. */
void sandbox_parsed(void);

#endif
