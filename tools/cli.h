/*
 * Shared machinery of the `h5ckpt` command-line tool: the subcommand table,
 * option tables that drive both getopt_long and --help, exit codes, and
 * rank-0-only output.
 */
#ifndef H5CKPT_CLI_H
#define H5CKPT_CLI_H

#include <stdio.h>
#include <mpi.h>

#include "h5ckpt.h"

/* Fixed exit codes of every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* One option: long name, short letter (or a value >= 256 for long-only
 * options), argument name for --help (NULL: a flag), one-line help. */
typedef struct {
    const char *name;
    int key;
    const char *arg;
    const char *help;
} cli_opt;

typedef struct cli_cmd {
    const char *name;
    int (*fn)(const struct cli_cmd *self, int argc, char **argv);
    const char *usage;   /* "FILE [PATTERN...]" */
    const char *summary; /* one line */
    const cli_opt *opts; /* terminated by an entry with name NULL */
} cli_cmd;

/* Rank and size in MPI_COMM_WORLD, and the tool's own argument vector
 * (set by main). */
extern int cli_rank, cli_size;
extern char **cli_argv;

/*
 * getopt_long over the command's option table.  Returns the key of the next
 * option (with its argument in *arg), -1 at the end of the options (then
 * *optind_out is the index of the first operand), or '?' after printing a
 * usage error on rank 0.  -h/--help prints the help and returns 'h'.
 */
int cli_next_opt(const cli_cmd *cmd, int argc, char **argv, const char **arg,
                 int *optind_out);
/* Print the command's help (usage, summary, options) to `f` on rank 0. */
void cli_help(const cli_cmd *cmd, FILE *f);
/* A usage error: one line on stderr (rank 0), then a hint.  Returns
 * CLI_USAGE. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An operational error: "h5ckpt CMD: message" on stderr (rank 0).  Returns
 * `code`. */
int cli_error(const cli_cmd *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* printf on stdout from rank 0 only. */
void cli_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a non-negative number with an optional K/M/G (binary) suffix.
 * Returns 0 or -1. */
int cli_parse_size(const char *s, unsigned long long *out);

#endif
