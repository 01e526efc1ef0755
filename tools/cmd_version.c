/* h5ckpt version: library version and build configuration. */
#include "cli.h"

static const cli_opt opts[] = {{NULL, 0, NULL, NULL}};

static int run(const cli_cmd *self, int argc, char **argv)
{
    const char *arg;
    int c, first;

    if ((c = cli_next_opt(self, argc, argv, &arg, &first)) != -1)
        return c == 'h' ? CLI_OK : CLI_USAGE; /* no options but --help */
    if (first < argc)
        return cli_usage_error(self, "unexpected argument '%s'", argv[first]);
    cli_out("h5ckpt %s (format write version 1, read version 1)\n", h5ckpt_version());
    return CLI_OK;
}

const cli_cmd cmd_version = {"version", run, "", "print the library version", opts};
