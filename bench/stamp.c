/*
 * bench/stamp.c: the supervised child of the benchmarks in bench/.
 *
 * The very first thing it does after exec is read CLOCK_MONOTONIC, so that
 * the restart-latency harness can compute "SIGKILL of the old child" to
 * "replacement has exec'd" with both ends on the same clock. It then reports
 * "PID NS\n" to OUT (normally a FIFO the harness reads), optionally writes a
 * pid file (monit finds its process only through one), and sleeps forever.
 *
 * Usage: bench_stamp [-d] [OUT [PIDFILE]]
 * -d: daemonize, for supervisors that expect their start command to return
 * (monit): the exec'd process takes the timestamp, forks, and exits once its
 * child has written the stamp and the pid file; the stamp carries the child's pid.
 * $STAMP_OUT and $STAMP_PIDFILE, when set, take precedence over the arguments:
 * runit and s6 exec this binary directly as their ./run, and s6-supervise
 * passes arguments of its own.
 * If $STAMP_NOTIFY_FD is set, a newline is written to that descriptor once the
 * stamp is out: s6's readiness notification (see its notification-fd file).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
    fprintf(stderr, "bench_stamp: %s %s: %s\n", what, path, strerror(errno));
    exit(111);
}

/* Writes all of buf to path; O_APPEND so a regular file collects every stamp. */
static void write_stamp(const char *path, const char *buf, size_t len)
{
    /* O_NONBLOCK: if the harness is gone, opening its FIFO fails with ENXIO
     * instead of blocking forever. */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0)
        die("cannot open", path);
    /* Under PIPE_BUF bytes, so a FIFO write is atomic: no interleaving with
     * a sibling writing at the same time (bench/footprint starts 50 at once). */
    if (write(fd, buf, len) != (ssize_t)len)
        die("cannot write", path);
    close(fd);
}

/* Replaces the pid file atomically: monit polls it and must never read half a pid. */
static void write_pidfile(const char *path, pid_t pid)
{
    char tmp[4096], buf[32];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)pid);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        die("cannot write", path);
    }
    n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("cannot open", tmp);
    if (write(fd, buf, (size_t)n) != n)
        die("cannot write", tmp);
    close(fd);
    if (rename(tmp, path) < 0)
        die("cannot rename to", path);
}

/*
 * Forks; the parent returns only to exit, 0 once the child has called
 * daemon_ready(), 1 if the child died first. The child leaves the parent's
 * session and output: monit reads its start program's stdout and stderr, and
 * would wait on them for as long as a child kept them open.
 */
static int daemon_fd = -1;

static void daemonize(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        die("cannot create", "pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("cannot fork", "child");
    if (pid > 0) {
        char c;
        close(p[1]);
        _exit(read(p[0], &c, 1) == 1 ? 0 : 1);
    }
    close(p[0]);
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null < 0)
        die("cannot open", "/dev/null");
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2)
        close(null);
    daemon_fd = p[1];
}

static void daemon_ready(void)
{
    if (daemon_fd >= 0 && write(daemon_fd, "1", 1) == 1)
        close(daemon_fd);
}

int main(int argc, char **argv)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);

    if (argc > 1 && strcmp(argv[1], "-d") == 0) {
        daemonize();
        argc--;
        argv++;
    }

    const char *out = getenv("STAMP_OUT");
    const char *pidfile = getenv("STAMP_PIDFILE");
    if (out == NULL && argc > 1)
        out = argv[1];
    if (pidfile == NULL && argc > 2)
        pidfile = argv[2];
    if (out == NULL || *out == '\0') {
        fprintf(stderr, "usage: bench_stamp [-d] [OUT [PIDFILE]] (or set STAMP_OUT)\n");
        return 2;
    }

    char line[64];
    int n = snprintf(line, sizeof line, "%ld %" PRIu64 "\n", (long)getpid(),
                     (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    write_stamp(out, line, (size_t)n);
    if (pidfile != NULL && *pidfile != '\0')
        write_pidfile(pidfile, getpid());
    const char *notify = getenv("STAMP_NOTIFY_FD");
    if (notify != NULL && *notify != '\0') {
        int fd = atoi(notify);
        if (write(fd, "\n", 1) != 1)
            die("cannot notify readiness on fd", notify);
        close(fd);
    }
    daemon_ready();

    /* A supervisor may hand us ignored signals; the harness and the
     * supervisors' own stop paths rely on SIGTERM ending us. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    for (;;)
        pause();
}
