"""bench/restart-latency/restart_latency.py: how fast does a supervisor replace a dead child?

For each supervisor, at its tightest settings, we supervise bench_stamp, which
writes "PID NS" (NS = CLOCK_MONOTONIC right after exec) into a FIFO and then
sleeps. We read CLOCK_MONOTONIC (time.monotonic_ns() is CLOCK_MONOTONIC on
Linux), SIGKILL the child, and wait for the replacement's stamp:
latency = NS(replacement) - t0. Both ends use the same clock, so the number
includes everything in between: the supervisor noticing the death, its
bookkeeping, fork and exec.

Driven by bench/restart-latency/run.sh; see docs/BENCHMARKS.md for the method
and the knobs (BENCH_N, BENCH_N_SLOW, ...).
"""

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402

RESTART_TIMEOUT = 5.0   # s; no replacement by then: the tool is broken here
SLOW_LIMIT = 2.0        # s; a tool whose every warm-up restart is slower is skipped
START_TIMEOUT = 15.0    # s; for the first child (monit waits a cycle, supervisord boots python)

N_FAST = benchlib.env_int("BENCH_N", 200)
N_SLOW = benchlib.env_int("BENCH_N_SLOW", 20)
N_THROTTLED = benchlib.env_int("BENCH_N_THROTTLED", 50)
WARMUP = benchlib.env_int("BENCH_WARMUP", 3)
# How long each child lives before we kill it. A little, so that we measure the
# crash of a running service and not one still inside the supervisor's start-up
# bookkeeping (status files, logs).
SETTLE_MS = benchlib.env_int("BENCH_SETTLE_MS", 50)
# runsv sleeps 1 s before restarting a service that ran for less than 1 s, and
# s6-supervise waits until 1 s after the previous start unless the service had
# been *ready* for 1 s (both hard-coded, no setting). Letting the child live
# longer than that measures their restart path; the "crash loop" rows, where
# the child dies as soon as it is up, show the throttle itself.
THROTTLE_SETTLE_MS = 1100


class Tool:
    """One row of the table: how to start, and stop, one supervisor of bench_stamp."""

    name = "?"
    setting = ""
    binary = None          # executable that must exist, else "not installed"
    n = N_FAST
    settle_ms = SETTLE_MS
    # For supervisors that poll on a fixed period, a random extra lifetime in
    # [0, jitter_ms) spreads the kills over the period's phase, so the median is
    # that of a crash at a random moment and not an artefact of our own rhythm.
    jitter_ms = 0

    def prepare(self, d, stamp, fifo):
        """Writes its config under d; returns (argv, env)."""
        raise NotImplementedError

    def ask_to_stop(self, pid, d):
        os.kill(pid, signal.SIGTERM)


class Floor(Tool):
    name = "floor (fork/exec/waitpid loop)"
    setting = "restart at once"

    def __init__(self, floor):
        self.binary = floor

    def prepare(self, d, stamp, fifo):
        return [self.binary, stamp, fifo], base_env()


class Vigil(Tool):
    def __init__(self, vigil, crash_loop=False):
        self.binary = vigil
        if crash_loop:
            self.name = "vigil, crash loop"
            self.setting = "child killed as soon as up"
            self.n, self.settle_ms = N_SLOW, 0
        else:
            self.name = "vigil"
            self.setting = "policy: always, delay: 0"

    def prepare(self, d, stamp, fifo):
        cfg = os.path.join(d, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write("state_dir: %s\n" % benchlib.yaml_str(os.path.join(d, "state")))
            f.write("services:\n")
            f.write("  stamp:\n")
            f.write("    cmd: [%s, %s]\n" % (benchlib.yaml_str(stamp), benchlib.yaml_str(fifo)))
            f.write("    restart: {policy: always, delay: 0, max_restarts: 0}\n")
            f.write("    log: {capture: false}\n")
        return [self.binary, "up", "-c", cfg], base_env()


class Supervisord(Tool):
    name = "supervisord"
    setting = "startsecs=0, autorestart=true"
    n = N_SLOW
    jitter_ms = 1000   # its main loop wakes once a second

    def __init__(self):
        self.binary = benchlib.which("supervisord")

    def prepare(self, d, stamp, fifo):
        cfg = os.path.join(d, "supervisord.conf")
        # No [unix_http_server] or [inet_http_server]: no control socket at all,
        # so nothing can clash with a system supervisord.
        with open(cfg, "w") as f:
            f.write("[supervisord]\n")
            f.write("nodaemon=true\n")
            f.write("logfile=%s\n" % os.path.join(d, "supervisord.log"))
            f.write("pidfile=%s\n" % os.path.join(d, "supervisord.pid"))
            f.write("childlogdir=%s\n" % d)
            f.write("user=root\n" if os.getuid() == 0 else "")
            f.write("[program:stamp]\n")
            f.write("command=%s %s\n" % (stamp, fifo))
            f.write("startsecs=0\n")
            f.write("startretries=1000000\n")
            f.write("autorestart=true\n")
            f.write("stdout_logfile=NONE\n")
            f.write("stderr_logfile=NONE\n")
        return [self.binary, "-n", "-c", cfg], base_env()


class Monit(Tool):
    name = "monit"
    setting = "set daemon 1, check process with pidfile"
    n = N_SLOW
    # After its start program returns, monit polls (from 100 ms, doubling) until
    # it sees the process, and blocks for the whole start timeout (30 s) if the
    # process died in between: let each child live 1 s before killing it.
    settle_ms = 1000
    jitter_ms = 1000   # it checks once per `set daemon` cycle

    def __init__(self):
        self.binary = benchlib.which("monit")

    def prepare(self, d, stamp, fifo):
        rc = os.path.join(d, "monitrc")
        pidfile = os.path.join(d, "stamp.pid")
        # Every file monit keeps is redirected into d, and there is no `set
        # httpd`: no socket, nothing shared with a system monit.
        with open(rc, "w") as f:
            f.write("set daemon 1\n")
            f.write("set logfile %s\n" % os.path.join(d, "monit.log"))
            f.write("set pidfile %s\n" % os.path.join(d, "monit.pid"))
            f.write("set idfile %s\n" % os.path.join(d, "monit.id"))
            f.write("set statefile %s\n" % os.path.join(d, "monit.state"))
            f.write("check process stamp with pidfile %s\n" % pidfile)
            # -d: monit runs its start program to completion (it blocks until the
            # program exits or 30 s pass), so the child must daemonize.
            f.write('  start program = "%s -d %s %s"\n' % (stamp, fifo, pidfile))
        os.chmod(rc, 0o600)  # monit refuses a control file others can read
        return [self.binary, "-I", "-c", rc], base_env()


def make_service_dir(d, stamp):
    """A runit/s6 service directory whose ./run *is* bench_stamp.

    A symlink rather than the usual `#!/bin/sh exec ...` script, so that every
    row execs the same binary and the difference is the supervisor alone (a
    shell in between costs every restart one more exec). bench_stamp finds its
    FIFO in $STAMP_OUT, which runsv and s6-supervise pass on.
    """
    sv = os.path.join(d, "sv")
    os.mkdir(sv)
    os.symlink(stamp, os.path.join(sv, "run"))
    return sv


class Runit(Tool):
    binary = benchlib.which("runsv")

    def __init__(self, crash_loop=False):
        if crash_loop:
            self.name = "runit (runsv), crash loop"
            self.setting = "child killed as soon as up"
            self.n, self.settle_ms = N_SLOW, 0
        else:
            self.name = "runit (runsv)"
            self.setting = "run = the binary; child up 1.1 s"
            self.n, self.settle_ms = N_THROTTLED, THROTTLE_SETTLE_MS

    def prepare(self, d, stamp, fifo):
        sv = make_service_dir(d, stamp)
        env = base_env()
        env["STAMP_OUT"] = fifo
        return [self.binary, sv], env

    def ask_to_stop(self, pid, d):
        # runsv takes SIGTERM as "exit once the service is down", and the
        # service never goes down by itself: say "down, then exit" instead.
        fd = os.open(os.path.join(d, "sv", "supervise", "control"), os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, b"dx")
        finally:
            os.close(fd)


class S6(Tool):
    binary = benchlib.which("s6-supervise")

    def __init__(self, crash_loop=False):
        if crash_loop:
            self.name = "s6 (s6-supervise), crash loop"
            self.setting = "child killed as soon as up"
            self.n, self.settle_ms = N_SLOW, 0
        else:
            self.name = "s6 (s6-supervise)"
            self.setting = "notification-fd, max-death-tally 0; child up 1.1 s"
            self.n, self.settle_ms = N_THROTTLED, THROTTLE_SETTLE_MS

    def prepare(self, d, stamp, fifo):
        sv = make_service_dir(d, stamp)
        # No death tally: saves s6-supervise a file rewrite on every death.
        with open(os.path.join(sv, "max-death-tally"), "w") as f:
            f.write("0\n")
        # s6-supervise restarts at once only a service that has been *ready* for
        # a second; without readiness notification it always waits 1 s. So the
        # child reports ready (a newline on fd 3) right after its stamp.
        with open(os.path.join(sv, "notification-fd"), "w") as f:
            f.write("3\n")
        env = base_env()
        env["STAMP_OUT"] = fifo
        env["STAMP_NOTIFY_FD"] = "3"
        return [self.binary, sv], env
    # SIGTERM makes s6-supervise take the service down and exit: the default.


def base_env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}


class Result:
    """Samples of one tool, or why there are none (short: for the table; detail: below it)."""

    def __init__(self, tool, samples_ns=None, short="", detail=""):
        self.tool = tool
        self.samples = sorted(samples_ns or [])
        self.short = short
        self.detail = detail

    def ok(self):
        return bool(self.samples)

    def median(self):
        return statistics.median(self.samples) / 1e6

    def pct(self, p):
        # nearest rank
        k = max(0, -(-len(self.samples) * p // 100) - 1)
        return self.samples[int(k)] / 1e6

    def min(self):
        return self.samples[0] / 1e6


def failed(tool, short, pid, log):
    """A Result for a run that broke, with how the supervisor ended and its last log line."""
    benchlib.reap()
    end = benchlib.exit_note(pid)
    if end:
        short += " (%s %s)" % (os.path.basename(tool.binary), end)
    tail = benchlib.log_tail(log)
    return Result(tool, short="failed: " + short,
                  detail=tail.splitlines()[-1] if tail else "(its log is empty)")


def measure(tool, d, stamp, deadline):
    """Runs one supervisor under d and returns its Result. Leaves no process behind."""
    fifo_path = os.path.join(d, "stamps")
    log = os.path.join(d, "supervisor.log")
    stamps = benchlib.Stamps(fifo_path)
    pid = None
    try:
        argv, env = tool.prepare(d, stamp, fifo_path)
        try:
            pid = benchlib.spawn(argv, env, log)
        except OSError as e:
            return Result(tool, short="failed: cannot start", detail="%s: %s" % (argv[0], e.strerror))

        first = stamps.next(lambda s: True, START_TIMEOUT, watch=pid)
        if first is None:
            if not benchlib.alive(pid):
                return failed(tool, "died before its first child", pid, log)
            return failed(tool, "no child within %d s" % START_TIMEOUT, pid, log)

        cur, samples, slow_warmups = first, [], 0
        rng = random.Random(1)  # the same kill schedule on every run
        for i in range(WARMUP + tool.n):
            if time.monotonic() > deadline:
                return Result(tool, samples, short="stopped: BENCH_TIMEOUT",
                              detail="stopped early: BENCH_TIMEOUT reached")
            settle_ns = (tool.settle_ms + rng.uniform(0, tool.jitter_ms)) * 1_000_000
            wait_ns = cur[1] + settle_ns - time.monotonic_ns()
            if wait_ns > 0:
                time.sleep(wait_ns / 1e9)

            victim = cur[0]
            t0 = time.monotonic_ns()
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                return failed(tool, "child %d exited by itself" % victim, pid, log)
            # The replacement is any other pid that exec'd after the kill; a late
            # stamp of an earlier child (none expected) would fail the ns test.
            new = stamps.next(lambda s: s[0] != victim and s[1] > t0, RESTART_TIMEOUT, watch=pid)
            if new is None:
                if not benchlib.alive(pid):
                    return failed(tool, "died after %d restarts" % i, pid, log)
                if i < WARMUP and slow_warmups == i:
                    return Result(tool, short="skipped: no restart in %d s" % RESTART_TIMEOUT)
                return failed(tool, "no restart in %d s after %d samples" % (
                    RESTART_TIMEOUT, len(samples)), pid, log)
            latency = new[1] - t0
            if i < WARMUP:
                if latency > SLOW_LIMIT * 1e9:
                    slow_warmups += 1
                    if slow_warmups == WARMUP:
                        return Result(tool, short="skipped: restarts > %d s" % SLOW_LIMIT)
            else:
                samples.append(latency)
            cur = new
        return Result(tool, samples)
    finally:
        if pid is not None:
            clean = benchlib.stop(pid, lambda: tool.ask_to_stop(pid, d), 5.0)
            if not clean:
                print("bench: %s did not stop within 5 s; killed" % tool.name, file=sys.stderr)
        stamps.close()


def fmt_ratio(x, base):
    return "%.1f" % (x / base) if base else "-"


def print_table(results, floor, vigil):
    head = ["tool", "setting", "n", "median ms", "p90 ms", "min ms", "x floor", "x vigil"]
    rows = []
    for r in results:
        t = r.tool
        if not r.ok():
            rows.append([t.name, t.setting, "-", r.short, "", "", "", ""])
            continue
        rows.append([t.name, t.setting, str(len(r.samples)),
                     "%.2f" % r.median(), "%.2f" % r.pct(90), "%.2f" % r.min(),
                     fmt_ratio(r.median(), floor), fmt_ratio(r.median(), vigil)])
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) for i in range(len(head))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    for r in results:
        if r.detail:
            print("note: %s: %s" % (r.tool.name, r.detail))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", required=True, help="empty temp dir to work in")
    ap.add_argument("--stamp", required=True, help="path to bench_stamp")
    ap.add_argument("--floor", required=True, help="path to bench_floor")
    ap.add_argument("--vigil", required=True, help="path to the vigil binary (may be missing)")
    ap.add_argument("--only", default="", help="comma-separated substrings of tool names to run")
    args = ap.parse_args()

    benchlib.setup()
    budget = benchlib.env_int("BENCH_TIMEOUT", 1500)
    deadline = time.monotonic() + budget - 30  # leave time to clean up

    tools = [Floor(args.floor), Vigil(args.vigil), Runit(), S6(), Monit(), Supervisord(),
             Vigil(args.vigil, crash_loop=True), Runit(crash_loop=True), S6(crash_loop=True)]
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        tools = [t for t in tools if any(w in t.name for w in wanted)]

    results = []
    try:
        for i, tool in enumerate(tools):
            if tool.binary is None or not os.access(tool.binary, os.X_OK):
                short = "%s: %s" % (tool.name.split()[0].rstrip(","),
                                    "not built" if isinstance(tool, Vigil) else "not installed")
                print(short, file=sys.stderr)
                results.append(Result(tool, short=short))
                continue
            print("bench: %s (n=%d, child up %d%s ms before each kill) ..." % (
                tool.name, tool.n, tool.settle_ms,
                "+rand(%d)" % tool.jitter_ms if tool.jitter_ms else ""), file=sys.stderr, flush=True)
            d = os.path.join(args.workdir, "%d" % i)
            os.mkdir(d)
            r = measure(tool, d, os.path.abspath(args.stamp), deadline)
            if r.ok():
                print("bench:   median %.2f ms" % r.median(), file=sys.stderr, flush=True)
                if os.environ.get("BENCH_KEEP") != "1":
                    shutil.rmtree(d, ignore_errors=True)
            else:
                print("bench:   %s %s" % (r.short, r.detail), file=sys.stderr, flush=True)
            results.append(r)
    except benchlib.Interrupted as e:
        print("bench: interrupted (%s); stopping" % e, file=sys.stderr)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        benchlib.kill_tree()
        return 130

    floor = next((r.median() for r in results if isinstance(r.tool, Floor) and r.ok()), None)
    vigil = next((r.median() for r in results if isinstance(r.tool, Vigil) and r.ok()), None)
    # (the first Vigil row is the steady-state one; the crash loop comes later)
    print()
    print_table(results, floor, vigil)
    # Fail only where the numbers that matter are missing: the floor, or a
    # vigil that was built but did not restart its child.
    broken = [r for r in results if not r.ok() and isinstance(r.tool, (Floor, Vigil))
              and r.short.startswith("failed")]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
