/*
 * Hostile files never crash the tool (sandbox.h).
 *
 * HDF5 1.10.8 trusts some metadata it reads (tests/corpus/hdf5-bugs: a
 * damaged global heap makes it write out of bounds, or loop forever), and
 * h5ckpt cannot read a checkpoint's strings without HDF5.  So the commands
 * that parse files let a child process do it:
 *
 *  - The child is the tool itself, started with posix_spawn (fork() after
 *    MPI_Init is unsafe with some transports; posix_spawn runs nothing of
 *    the parent in the child) on /proc/self/exe with the parent's own
 *    arguments and the environment variable H5CKPT__TOOL_CHILD.  Variables
 *    by which mpirun tells a process that it is a rank of a job (OMPI_*,
 *    PMIX_*, PMI_*) are removed, so the child initialises MPI as a
 *    singleton of its own; Open MPI's own crash handler is turned off in it
 *    (OMPI_MCA_opal_signal empty), so a crash prints no backtrace.
 *  - The child inherits stdin, stdout and stderr, so a whole child's output
 *    is the command's output, byte for byte, with --json or without; a
 *    parse-only child writes to /dev/null.  A status pipe (fd 3) carries
 *    "P<path>" before HDF5 works on a file and "D" once every file is
 *    parsed, so a crash names the file.
 *  - Time limit: the child is killed when it has read and written nothing
 *    (the rchar, wchar, syscr and syscw counters of /proc/PID/io) for
 *    H5CKPT_TOOL_TIMEOUT seconds (default 60; 0: none).  HDF5's infinite
 *    loops spin on metadata already in memory and do no I/O at all, while a
 *    valid file, however big, keeps reading: a limit on wall time would
 *    have to grow with the file.  Where /proc/PID/io cannot be read, the
 *    limit is on wall time.
 *  - Memory limit: RLIMIT_AS of H5CKPT_TOOL_MEMORY bytes (K, M, G suffixes;
 *    default: the machine's physical memory; 0: none), set by the child on
 *    itself before MPI_Init, so a huge allocation that HDF5 takes from a
 *    damaged size fails (HDF5 then reports an error) instead of exhausting
 *    the node.  Not under AddressSanitizer, which reserves terabytes of
 *    address space.  RLIMIT_CORE is 0: no core files of hostile inputs.
 *  - A child that exits reports through its exit status (0, 1, 2: its own
 *    messages are already printed); one killed by a signal gives
 *    "h5ckpt: FILE: malformed file (HDF5 crashed: SIGSEGV)"; one that made
 *    no progress gives "... (HDF5 hung: no progress for 60 s)".
 *
 * H5CKPT_TOOL_SANDBOX=0 runs everything in the tool's own process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sigabbrev_np, posix_spawn_file_actions_addclosefrom_np */
#endif
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_ENV "H5CKPT__TOOL_CHILD"     /* "whole" or "parse" */
#define LIMIT_ENV "H5CKPT__TOOL_LIMIT_AS"  /* bytes, set by the parent */
#define STATUS_FD 3
#define DEFAULT_TIMEOUT 60

extern char **environ;

static int child_mode; /* 0 parent, 1 whole child, 2 parse-only child */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

void sandbox_child_setup(void)
{
    const char *m = getenv(CHILD_ENV), *as = getenv(LIMIT_ENV);
    struct rlimit r = {0, 0};

    if (!m)
        return;
    child_mode = !strcmp(m, "parse") ? 2 : 1;
    setrlimit(RLIMIT_CORE, &r);
    if (as && *as && !UNDER_ASAN) {
        r.rlim_cur = r.rlim_max = (rlim_t)strtoull(as, NULL, 10);
        if (r.rlim_cur)
            setrlimit(RLIMIT_AS, &r);
    }
    /* the child's own children (none) must not see these */
    unsetenv(CHILD_ENV);
    unsetenv(LIMIT_ENV);
}

static void status(const char *tag, const char *path)
{
    size_t n = strlen(path);
    char line[4200];

    if (!child_mode || n > sizeof line - 3)
        return;
    line[0] = *tag;
    memcpy(line + 1, path, n);
    line[n + 1] = '\n';
    /* best effort: a parent that is gone is not this process's problem */
    if (write(STATUS_FD, line, n + 2) < 0)
        return;
}

int sandbox_finalize(int rc)
{
    int null;

    if (!child_mode) {
        MPI_Finalize();
        return rc;
    }
    fflush(stdout);
    fflush(stderr);
    if ((null = open("/dev/null", O_WRONLY)) >= 0)
        dup2(null, 2);
    MPI_Finalize();
    _exit(rc);
}

void sandbox_note(const char *path) { status("P", path); }

void sandbox_parsed(void)
{
    status("D", "");
    if (child_mode == 2) { /* parse-only: nothing more to do */
        fflush(stdout);
        MPI_Finalize();
        _exit(0);
    }
}

/* ---- parent ------------------------------------------------------------- */

/* Seconds from H5CKPT_TOOL_TIMEOUT (default 60). */
static double timeout_s(void)
{
    const char *e = getenv("H5CKPT_TOOL_TIMEOUT");
    char *end;
    double v;

    if (!e || !*e)
        return DEFAULT_TIMEOUT;
    v = strtod(e, &end);
    return *end || !(v >= 0) ? DEFAULT_TIMEOUT : v;
}

/* Bytes from H5CKPT_TOOL_MEMORY (default: physical memory; 0: none). */
static unsigned long long memory_limit(void)
{
    const char *e = getenv("H5CKPT_TOOL_MEMORY");
    unsigned long long v;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

    if (e && *e && cli_parse_size(e, &v) == 0)
        return v;
    return pages > 0 && psz > 0 ? (unsigned long long)pages * (unsigned long long)psz : 0;
}

/* The child's environment: the parent's without the variables that make a
 * process a rank of an MPI job, plus the child's own. */
static char **child_env(const char *mode, unsigned long long as)
{
    static const char *const drop[] = {"OMPI_COMM_", "OMPI_MCA_ess", "OMPI_MCA_orte_",
                                       "OMPI_MCA_pmix", "OMPI_MCA_initial_wdir",
                                       "OMPI_MCA_opal_signal", "OMPI_MCA_shmem_",
                                       "OMPI_APP_CTX", "OMPI_NUM_APP_CTX", "OMPI_FIRST_RANKS",
                                       "OMPI_FILE_LOCATION", "OMPI_UNIVERSE_SIZE",
                                       "OMPI_COMMAND", "PMIX_", "PMI_", NULL};
    size_t n = 0, k = 0, i;
    char **env, buf[64];

    while (environ[n])
        n++;
    if (!(env = calloc(n + 5, sizeof *env)))
        return NULL;
    for (i = 0; i < n; i++) {
        const char *const *d;
        for (d = drop; *d && strncmp(environ[i], *d, strlen(*d)); d++)
            ;
        if (!*d && strncmp(environ[i], CHILD_ENV "=", sizeof CHILD_ENV) &&
            strncmp(environ[i], LIMIT_ENV "=", sizeof LIMIT_ENV))
            env[k++] = environ[i];
    }
    env[k++] = "OMPI_MCA_opal_signal=";
    /* ASan builds: a report ends in abort() (the signal says "crashed"),
     * without the symbolizer process (seen to stall a loaded machine past
     * the time limit); a huge allocation returns NULL, as in other builds */
    if (UNDER_ASAN) {
        static char o[1024];
        const char *a = getenv("ASAN_OPTIONS");
        size_t j = k;
        snprintf(o, sizeof o, "ASAN_OPTIONS=%s%sabort_on_error=1:allocator_may_return_null=1:symbolize=0",
                 a ? a : "", a && *a ? ":" : "");
        for (i = 0; i < k; i++)
            if (!strncmp(env[i], "ASAN_OPTIONS=", 13))
                j = i;
        env[j] = o;
        k += j == k;
    }
    snprintf(buf, sizeof buf, "%s=%s", CHILD_ENV, mode);
    env[k++] = strdup(buf);
    snprintf(buf, sizeof buf, "%s=%llu", LIMIT_ENV, as);
    env[k++] = strdup(buf);
    return env;
}

/* Sum of the I/O counters of process `pid`, or -1 if unreadable. */
static long long io_progress(pid_t pid)
{
    char path[64], line[128];
    long long sum = 0, v;
    FILE *f;
    int seen = 0;

    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if ((!strncmp(line, "rchar:", 6) || !strncmp(line, "wchar:", 6) ||
             !strncmp(line, "syscr:", 6) || !strncmp(line, "syscw:", 6)) &&
            sscanf(line + 6, "%lld", &v) == 1)
            sum += v, seen++;
    fclose(f);
    return seen ? sum : -1;
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    char file[4096]; /* the file HDF5 last worked on */
    char line[4200];
    size_t len;
} tracker;

static void track(tracker *t, const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (t->len < sizeof t->line - 1)
                t->line[t->len++] = p[i];
            continue;
        }
        t->line[t->len] = '\0';
        if (t->line[0] == 'P')
            snprintf(t->file, sizeof t->file, "%s", t->line + 1);
        t->len = 0;
    }
}

/*
 * Start the child and wait for it.  Returns 0 with *how = 0 and *code its
 * exit status, *how = 1 and *code the signal that killed it, or *how = 2
 * (no progress within the limit: killed); -1 if it could not be started.
 */
static int supervise(int whole, tracker *tr, int *how, int *code)
{
    posix_spawn_file_actions_t fa;
    int pfd[2] = {-1, -1}, st = 0, started = 0, fa_ok = 0;
    char **env = NULL;
    pid_t pid = -1;
    double limit = timeout_s(), last = now_s();
    long long seen = -2;

    if (pipe2(pfd, O_CLOEXEC) != 0 || !(env = child_env(whole ? "whole" : "parse",
                                                          memory_limit())))
        goto out;
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto out;
    fa_ok = 1;
    if (posix_spawn_file_actions_adddup2(&fa, pfd[1], STATUS_FD) != 0 ||
        (!whole && (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ||
                    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0))) ||
        posix_spawn_file_actions_addclosefrom_np(&fa, STATUS_FD + 1) != 0)
        goto out;
    if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, cli_argv, env) != 0)
        goto out;
    started = 1;
    close(pfd[1]);
    pfd[1] = -1;
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        char buf[512];
        ssize_t n;
        long long io;
        pid_t w = waitpid(pid, &st, WNOHANG);

        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (pfd[0] >= 0 && poll(&p, 1, 100) > 0) {
            while ((n = read(pfd[0], buf, sizeof buf)) > 0)
                track(tr, buf, (size_t)n);
            if (n == 0) { /* the child closed it: it is exiting */
                close(pfd[0]);
                pfd[0] = -1;
            }
        } else if (pfd[0] < 0) {
            struct timespec nap = {0, 20000000};
            nanosleep(&nap, NULL);
        }
        io = io_progress(pid);
        if (io < 0 || io != seen) {
            if (io >= 0)
                last = now_s();
            seen = io >= 0 ? io : seen;
        }
        if (limit > 0 && now_s() - last > limit) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            *how = 2;
            *code = 0;
            goto out;
        }
    }
    if (WIFSIGNALED(st)) {
        *how = 1;
        *code = WTERMSIG(st);
    } else {
        *how = 0;
        *code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    }
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (env) {
        size_t i;
        for (i = 0; env[i]; i++)
            if (!strncmp(env[i], CHILD_ENV "=", sizeof CHILD_ENV) ||
                !strncmp(env[i], LIMIT_ENV "=", sizeof LIMIT_ENV))
                free(env[i]);
        free(env);
    }
    return started ? 0 : -1;
}

static const char *signame(int sig, char *buf, size_t size)
{
    const char *a = sigabbrev_np(sig);

    if (a)
        snprintf(buf, size, "SIG%s", a);
    else
        snprintf(buf, size, "signal %d", sig);
    return buf;
}

/* Wait for rank 0's broadcast without spinning: the child may need the
 * cores that the other ranks share with it. */
static void bcast_asleep(int *v)
{
    const struct timespec nap = {0, 1000000};
    MPI_Request rq;
    int done = 0;

    if (MPI_Ibcast(v, 2, MPI_INT, 0, MPI_COMM_WORLD, &rq) != MPI_SUCCESS) {
        MPI_Bcast(v, 2, MPI_INT, 0, MPI_COMM_WORLD);
        return;
    }
    while (MPI_Test(&rq, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
        nanosleep(&nap, NULL);
}

int sandbox_run(const cli_cmd *cmd, int whole, int fail)
{
    const char *e = getenv("H5CKPT_TOOL_SANDBOX");
    int r[2] = {-1, 0}; /* exit status to return (-1: run it here), how */

    if (child_mode || (e && !strcmp(e, "0")))
        return -1;
    (void)cmd;
    if (cli_rank == 0) {
        tracker tr;
        int how = 0, code = 0;
        char sig[32];
        memset(&tr, 0, sizeof tr);
        if (supervise(whole, &tr, &how, &code) != 0)
            r[0] = -1; /* no child: the command runs here */
        else if (how == 0)
            r[0] = whole ? code : -1;
        else {
            fflush(stdout);
            if (how == 1)
                fprintf(stderr, "h5ckpt: %s: malformed file (HDF5 crashed: %s)\n",
                        *tr.file ? tr.file : "?", signame(code, sig, sizeof sig));
            else
                fprintf(stderr, "h5ckpt: %s: malformed file (HDF5 hung: no progress "
                                "for %g s)\n",
                        *tr.file ? tr.file : "?", timeout_s());
            r[0] = fail;
        }
    }
    if (cli_size > 1)
        bcast_asleep(r);
    return r[0];
}
