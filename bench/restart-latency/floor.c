/*
 * bench/restart-latency/floor.c: the floor for restart latency.
 *
 * The least any supervisor can do: fork, exec, waitpid, and fork again the
 * moment the child dies, with no bookkeeping, no delay and no event loop.
 * Every supervisor in the table is compared with this loop.
 *
 * Usage: bench_floor PROGRAM [ARG...]
 * Stops (and SIGTERMs its current child) on SIGTERM, SIGINT or SIGHUP.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_floor PROGRAM [ARG...]\n");
        return 2;
    }

    /* No SA_RESTART: waitpid must return EINTR so that we notice the stop. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    while (!stop_requested) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "bench_floor: fork: %s\n", strerror(errno));
            return 1;
        }
        if (pid == 0) {
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            execv(argv[1], argv + 1);
            fprintf(stderr, "bench_floor: cannot exec %s: %s\n", argv[1], strerror(errno));
            _exit(127);
        }

        int status;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                fprintf(stderr, "bench_floor: waitpid: %s\n", strerror(errno));
                return 1;
            }
            if (stop_requested) {
                kill(pid, SIGTERM);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                    ;
                return 0;
            }
        }
        /* A child that cannot exec would make this loop spin at full speed. */
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            return 1;
    }
    return 0;
}
