/* h5ckpt verify: check a file against the format specification. */
#include "cli.h"
#include "sandbox.h"

enum { OPT_QUIET = 'q' };

static const cli_opt opts[] = {
    {"quiet", OPT_QUIET, NULL, "print nothing; the exit status tells"},
    {NULL, 0, NULL, NULL}};

static void print_problem(void *ctx, const char *object, const char *message)
{
    if (!*(int *)ctx)
        cli_out("%s: %s\n", object, message);
}

static int run(const cli_cmd *self, int argc, char **argv)
{
    h5ckpt_error err = {0};
    const char *arg;
    size_t n = 0;
    int c, first, quiet = 0, rc;

    while ((c = cli_next_opt(self, argc, argv, &arg, &first)) != -1) {
        if (c == 'h')
            return CLI_OK;
        if (c == '?')
            return CLI_USAGE;
        if (c == OPT_QUIET)
            quiet = 1;
    }
    if (argc - first != 1)
        return cli_usage_error(self, "expected one FILE");
    if ((rc = sandbox_run(self, 1, CLI_FAIL)) >= 0)
        return rc;
    sandbox_note(argv[first]);
    rc = h5ckpt_verify(argv[first], MPI_COMM_WORLD, print_problem, &quiet, &n, &err);
    if (rc)
        return cli_error(self, CLI_USAGE, "%s", err.message);
    if (!quiet)
        cli_out("%s: %s (%zu problem%s)\n", argv[first], n ? "INVALID" : "ok", n,
                n == 1 ? "" : "s");
    return n ? CLI_FAIL : CLI_OK;
}

const cli_cmd cmd_verify = {"verify", run, "[--quiet] FILE",
                            "check a file against the format specification; "
                            "print every problem", opts};
