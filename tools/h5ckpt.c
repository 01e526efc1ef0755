/*
 * h5ckpt: one binary, one subcommand per file (cmd_<name>.c).  Runs alone or
 * under mpirun; only rank 0 prints.  Exit codes: 0 ok, 1 failure (or
 * difference), 2 usage or I/O error.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "sandbox.h"

static const cli_cmd *const commands[] = {
#define H5CKPT__CMD(name) &cmd_##name,
    H5CKPT_COMMANDS(H5CKPT__CMD)
#undef H5CKPT__CMD
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    size_t i;

    if (cli_rank != 0)
        return;
    fprintf(f, "usage: h5ckpt COMMAND [OPTIONS] [ARGS]\n\n"
               "Inspect, check and convert h5ckpt checkpoints.\n\ncommands:\n");
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n'h5ckpt COMMAND --help' describes a command; "
               "'h5ckpt --version' prints the library version.\n"
               "Exit status: 0 success, 1 failure or difference, 2 usage or I/O error.\n");
}

int main(int argc, char **argv)
{
    const cli_cmd *cmd = NULL;
    size_t i;
    int rc, provided;

    cli_argv = argv;
    sandbox_child_setup(); /* limits of a child (sandbox.c), before MPI */
    /* bench --async starts the library's background writer thread */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &cli_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &cli_size);
    if (argc < 2) {
        usage(stderr);
        rc = CLI_USAGE;
        goto done;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        rc = CLI_OK;
        goto done;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        cli_out("h5ckpt %s\n", h5ckpt_version());
        rc = CLI_OK;
        goto done;
    }
    for (i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i]->name))
            cmd = commands[i];
    if (!cmd) {
        if (cli_rank == 0)
            fprintf(stderr, "h5ckpt: unknown command '%s' (h5ckpt --help lists them)\n",
                    argv[1]);
        rc = CLI_USAGE;
        goto done;
    }
    rc = cmd->fn(cmd, argc - 1, argv + 1);
done:
    return sandbox_finalize(rc); /* MPI_Finalize */
}
