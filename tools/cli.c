/* Option tables, help and rank-0 output for the h5ckpt tool. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_rank = 0, cli_size = 1;
char **cli_argv;

static size_t nopts(const cli_cmd *cmd)
{
    size_t n = 0;
    while (cmd->opts && cmd->opts[n].name)
        n++;
    return n;
}

void cli_help(const cli_cmd *cmd, FILE *f)
{
    size_t i, n = nopts(cmd);

    if (cli_rank != 0)
        return;
    fprintf(f, "usage: h5ckpt %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    fprintf(f, "\noptions:\n");
    for (i = 0; i <= n; i++) {
        const cli_opt *o = i < n ? &cmd->opts[i] : NULL;
        const char *name = o ? o->name : "help";
        int key = o ? o->key : 'h';
        const char *arg = o ? o->arg : NULL;
        char left[96];

        if (key > 0 && key < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", key, name, arg ? " " : "",
                     arg ? arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", name, arg ? " " : "",
                     arg ? arg : "");
        fprintf(f, "  %-28s %s\n", left, o ? o->help : "show this help");
    }
}

int cli_next_opt(const cli_cmd *cmd, int argc, char **argv, const char **arg,
                 int *optind_out)
{
    static struct option lopts[64];
    static char sopts[3 * 64 + 4];
    static const cli_cmd *built;
    size_t i, n = nopts(cmd), k = 0;
    int c;

    if (built != cmd) {
        /* First call for this command: build the tables, restart getopt. */
        sopts[k++] = ':'; /* report a missing argument as ':' */
        for (i = 0; i < n && i < 62; i++) {
            const cli_opt *o = &cmd->opts[i];
            lopts[i].name = o->name;
            lopts[i].has_arg = o->arg ? required_argument : no_argument;
            lopts[i].flag = NULL;
            lopts[i].val = o->key;
            if (o->key > 0 && o->key < 256) {
                sopts[k++] = (char)o->key;
                if (o->arg)
                    sopts[k++] = ':';
            }
        }
        lopts[i].name = "help";
        lopts[i].has_arg = no_argument;
        lopts[i].flag = NULL;
        lopts[i].val = 'h';
        memset(&lopts[i + 1], 0, sizeof lopts[i + 1]);
        sopts[k++] = 'h';
        sopts[k] = '\0';
        built = cmd;
        optind = 0; /* glibc: full reinitialisation */
    }
    opterr = 0;
    c = getopt_long(argc, argv, sopts, lopts, NULL);
    *arg = optarg;
    *optind_out = optind;
    if (c == 'h') {
        cli_help(cmd, stdout);
        return 'h';
    }
    if (c == '?' || c == ':') {
        const char *bad = argv[optind - 1];
        if (c == ':')
            cli_usage_error(cmd, "option '%s' needs an argument", bad);
        else if (optopt && optopt < 256)
            cli_usage_error(cmd, "unknown option '-%c'", optopt);
        else
            cli_usage_error(cmd, "unknown option '%s'", bad);
        return '?';
    }
    return c;
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    if (cli_rank == 0) {
        fprintf(stderr, "h5ckpt %s: ", cmd->name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nusage: h5ckpt %s %s  (h5ckpt %s --help)\n", cmd->name,
                cmd->usage, cmd->name);
    }
    return CLI_USAGE;
}

int cli_error(const cli_cmd *cmd, int code, const char *fmt, ...)
{
    va_list ap;

    if (cli_rank == 0) {
        fprintf(stderr, "h5ckpt %s: ", cmd->name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return code;
}

void cli_out(const char *fmt, ...)
{
    va_list ap;

    if (cli_rank != 0)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

int cli_parse_size(const char *s, unsigned long long *out)
{
    char *end;
    unsigned long long v, mul = 1;

    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end || (v && mul > ~0ull / v))
        return -1;
    *out = v * mul;
    return 0;
}
