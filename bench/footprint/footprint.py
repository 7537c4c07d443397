"""bench/footprint/footprint.py: what does a supervisor cost while nothing happens?

Each supervisor gets 50 idle services (bench_stamp, which stamps a FIFO once and
then sleeps). Once all 50 have stamped, we wait a little for start-up work to
end, then measure the supervisor's own processes (everything it started that is
not a service) over a window of 10 s:

  rss_kb       VmRSS from /proc/PID/status at the end of the window, summed
  pss_kb       Pss from /proc/PID/smaps_rollup, summed: RSS with each shared page
               divided among the processes that map it, so a fair total for a
               tree of many small processes
  cpu_percent  (utime + stime) delta from /proc/PID/stat over the window, in % of one core
  fds          entries in /proc/PID/fd, summed

vigil is one process; runit and s6 run one runsv / s6-supervise per service
under runsvdir / s6-svscan, and their rows add those up (their rss_kb counts
the shared libc pages once per process; compare pss_kb).

Driven by bench/footprint/run.sh; see docs/BENCHMARKS.md.
"""

import argparse
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402

SERVICES = benchlib.env_int("BENCH_SERVICES", 50)
WINDOW_S = benchlib.env_int("BENCH_WINDOW_S", 10)
START_TIMEOUT = 30.0   # s for all services to stamp (runsvdir scans every 5 s)
QUIET_S = 2.0          # s after the last stamp before the window opens
CLK_TCK = os.sysconf("SC_CLK_TCK")


def base_env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}


def service_dirs(d, stamp, extra=None):
    """SERVICES runit/s6 service directories under d/scan whose ./run is bench_stamp."""
    scan = os.path.join(d, "scan")
    os.mkdir(scan)
    for i in range(SERVICES):
        sv = os.path.join(scan, "s%02d" % i)
        os.mkdir(sv)
        os.symlink(stamp, os.path.join(sv, "run"))
        for name, text in (extra or {}).items():
            with open(os.path.join(sv, name), "w") as f:
                f.write(text)
    return scan


class Tool:
    name = "?"
    binary = None

    def prepare(self, d, stamp, fifo):
        """Writes the config for SERVICES services under d; returns (argv, env)."""
        raise NotImplementedError

    def ask_to_stop(self, pid, d):
        os.kill(pid, signal.SIGTERM)


class Vigil(Tool):
    name = "vigil"

    def __init__(self, vigil):
        self.binary = vigil

    def prepare(self, d, stamp, fifo):
        cfg = os.path.join(d, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write("state_dir: %s\n" % benchlib.yaml_str(os.path.join(d, "state")))
            f.write("services:\n")
            for i in range(SERVICES):
                f.write("  idle%02d:\n" % i)
                f.write("    cmd: [%s, %s]\n" % (benchlib.yaml_str(stamp), benchlib.yaml_str(fifo)))
                f.write("    restart: {policy: always, delay: 0, max_restarts: 0}\n")
                f.write("    log: {capture: false}\n")
        return [self.binary, "up", "-c", cfg], base_env()


class Supervisord(Tool):
    name = "supervisord"
    binary = benchlib.which("supervisord")

    def prepare(self, d, stamp, fifo):
        cfg = os.path.join(d, "supervisord.conf")
        with open(cfg, "w") as f:
            f.write("[supervisord]\nnodaemon=true\n")
            f.write("logfile=%s\n" % os.path.join(d, "supervisord.log"))
            f.write("pidfile=%s\n" % os.path.join(d, "supervisord.pid"))
            f.write("childlogdir=%s\n" % d)
            f.write("user=root\n" if os.getuid() == 0 else "")
            for i in range(SERVICES):
                f.write("[program:idle%02d]\n" % i)
                f.write("command=%s %s\n" % (stamp, fifo))
                f.write("startsecs=0\nautorestart=true\nstartretries=1000000\n")
                f.write("stdout_logfile=NONE\nstderr_logfile=NONE\n")
        return [self.binary, "-n", "-c", cfg], base_env()


class Monit(Tool):
    name = "monit"
    binary = benchlib.which("monit")

    def prepare(self, d, stamp, fifo):
        rc = os.path.join(d, "monitrc")
        with open(rc, "w") as f:
            f.write("set daemon 1\n")
            for key in ("logfile", "pidfile", "idfile", "statefile"):
                f.write("set %s %s\n" % (key, os.path.join(d, "monit." + key)))
            for i in range(SERVICES):
                pidfile = os.path.join(d, "idle%02d.pid" % i)
                f.write("check process idle%02d with pidfile %s\n" % (i, pidfile))
                f.write('  start program = "%s -d %s %s"\n' % (stamp, fifo, pidfile))
        os.chmod(rc, 0o600)
        return [self.binary, "-I", "-c", rc], base_env()


class Runit(Tool):
    name = "runit (runsvdir + runsv)"
    binary = benchlib.which("runsvdir")

    def prepare(self, d, stamp, fifo):
        scan = service_dirs(d, stamp)
        env = base_env()
        env["STAMP_OUT"] = fifo
        return [self.binary, "-P", scan], env

    def ask_to_stop(self, pid, d):
        # SIGHUP: runsvdir passes SIGTERM to each runsv, which then exits
        # only once its service is down; so take the services down first.
        scan = os.path.join(d, "scan")
        for sv in os.listdir(scan):
            try:
                fd = os.open(os.path.join(scan, sv, "supervise", "control"),
                             os.O_WRONLY | os.O_NONBLOCK)
                os.write(fd, b"d")
                os.close(fd)
            except OSError:
                pass
        os.kill(pid, signal.SIGHUP)


class S6(Tool):
    name = "s6 (s6-svscan + s6-supervise)"
    binary = benchlib.which("s6-svscan")

    def prepare(self, d, stamp, fifo):
        # Same service dirs as in restart-latency's s6 row.
        scan = service_dirs(d, stamp, {"max-death-tally": "0\n", "notification-fd": "3\n"})
        env = base_env()
        env["STAMP_OUT"] = fifo
        env["STAMP_NOTIFY_FD"] = "3"
        return [self.binary, scan], env


def proc_sample(pid):
    """(cpu ticks, rss kB, pss kB, fds) of one process, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])   # utime, stime
        rss = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        pss = 0
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except (OSError, ValueError, IndexError):
        return None
    return ticks, rss, pss, fds


def measure(tool, d, stamp):
    """Returns (row, note): row is a dict of the numbers, or None with note saying why."""
    fifo = os.path.join(d, "stamps")
    log = os.path.join(d, "supervisor.log")
    stamps = benchlib.Stamps(fifo)
    pid = None
    try:
        argv, env = tool.prepare(d, stamp, fifo)
        try:
            pid = benchlib.spawn(argv, env, log)
        except OSError as e:
            return None, "cannot start %s: %s" % (argv[0], e.strerror)

        services = set()
        deadline = time.monotonic() + START_TIMEOUT
        while len(services) < SERVICES:
            s = stamps.next(lambda s: True, deadline - time.monotonic(), watch=pid)
            if s is None:
                benchlib.reap()
                end = benchlib.exit_note(pid) or "still running"
                tail = benchlib.log_tail(log).splitlines()
                return None, "%d of %d services up in %d s (%s)%s" % (
                    len(services), SERVICES, START_TIMEOUT, end,
                    ": " + tail[-1] if tail else "")
            services.add(s[0])
        time.sleep(QUIET_S)

        # The supervisor's own processes: the one we started and everything
        # below it that is not a service (runsv, s6-supervise...).
        procs = [pid] + [p for p in benchlib.descendants(pid) if p not in services]
        t0 = time.monotonic()
        before = {p: proc_sample(p) for p in procs}
        time.sleep(WINDOW_S)
        elapsed = time.monotonic() - t0
        after = {p: proc_sample(p) for p in procs}
        if any(v is None for v in list(before.values()) + list(after.values())):
            return None, "a supervisor process exited during the window"
        restarted = [p for p in services if not benchlib.alive(p)]
        if restarted or stamps.drain():
            return None, "%d services restarted during the window" % len(restarted)
        ticks = sum(after[p][0] - before[p][0] for p in procs)
        return {
            "procs": len(procs),
            "rss_kb": sum(after[p][1] for p in procs),
            "pss_kb": sum(after[p][2] for p in procs),
            "cpu_percent": 100.0 * ticks / CLK_TCK / elapsed,
            "fds": sum(after[p][3] for p in procs),
        }, ""
    finally:
        if pid is not None:
            benchlib.stop(pid, lambda: tool.ask_to_stop(pid, d), 5.0)
        stamps.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    benchlib.setup()

    tools = [Vigil(args.vigil), Supervisord(), Monit(), Runit(), S6()]
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        tools = [t for t in tools if any(w in t.name for w in wanted)]

    rows = []
    vigil_ok = None
    try:
        for i, tool in enumerate(tools):
            if tool.binary is None or not os.access(tool.binary, os.X_OK):
                note = "vigil: not built" if isinstance(tool, Vigil) else "not installed"
                print(note if isinstance(tool, Vigil) else "%s: %s" % (tool.name, note),
                      file=sys.stderr)
                rows.append((tool, None, note))
                continue
            print("bench: %s with %d idle services, %d s window ..." % (
                tool.name, SERVICES, WINDOW_S), file=sys.stderr, flush=True)
            d = os.path.join(args.workdir, "%d" % i)
            os.mkdir(d)
            row, note = measure(tool, d, os.path.abspath(args.stamp))
            if row and os.environ.get("BENCH_KEEP") != "1":
                shutil.rmtree(d, ignore_errors=True)
            if note:
                print("bench:   " + note, file=sys.stderr, flush=True)
            if isinstance(tool, Vigil):
                vigil_ok = row is not None or note.endswith("not built")
            rows.append((tool, row, note))
    except benchlib.Interrupted as e:
        print("bench: interrupted (%s); stopping" % e, file=sys.stderr)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        benchlib.kill_tree()
        return 130

    print()
    head = ["supervisor", "processes", "rss_kb", "pss_kb", "cpu_percent", "fds"]
    table = []
    for tool, row, note in rows:
        if row is None:
            table.append([tool.name, "-", note, "", "", ""])
        else:
            table.append([tool.name, str(row["procs"]), str(row["rss_kb"]), str(row["pss_kb"]),
                          "%.2f" % row["cpu_percent"], str(row["fds"])])
    widths = [max(len(head[i]), *(len(r[i]) for r in table)) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in table:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    for tool, row, note in rows:
        if isinstance(tool, Vigil) and row is not None:
            print("vigil: rss_kb=%d pss_kb=%d cpu_percent=%.2f fds=%d" % (
                row["rss_kb"], row["pss_kb"], row["cpu_percent"], row["fds"]))
    return 1 if vigil_ok is False else 0


if __name__ == "__main__":
    sys.exit(main())
