"""bench/tsdb/influx.py: the InfluxDB 1.x anchor of the store benchmark.

Starts the Debian `influxd` on a config of our own (temp dirs, free ports on
127.0.0.1, reporting and the _internal monitor store off), and feeds it the same
data sets as bench_tsdb_store and bench_tsdb_sqlite, written as line protocol
by bench_tsdb_gen with the same size flags:

  write   ticks.lp in batches of 5,000 lines, POST /write?precision=ns over one
          keep-alive connection, then into a fresh database over two connections
          (two threads, disjoint series); the same for the feed (one connection).
          The clock runs from the first request to the last 204: InfluxDB has the
          points in its WAL (fsynced: wal-fsync-delay 0s) and its cache.
  size    bytes of the database's data directory (TSM files and field index) once
          the cache is in TSM files and compacted: cache-snapshot-write-cold-duration
          and compact-full-write-cold-duration are 1 s, and we wait until the WAL of
          the database is empty and the data directory has not changed for 3 s.
  last    SELECT last(price) FROM ticks WHERE symbol='T004', client-side, each
          request on one keep-alive connection, the whole response read.
  range   SELECT price FROM day WHERE symbol=... AND time in one day (86,400 points
          at 1 Hz, and the dense variant), epoch=ns, the whole JSON body read (not
          parsed; it is parsed once, outside the clock, to check the point count).

Prints "result sys=influxdb ..." lines as the C programs do (bench/tsdb/common.h).
Python standard library only.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402

BATCH = 5000
INFLUXD = "/usr/bin/influxd"
T0 = 1793577600000000000  # gen.h GEN_T0
DAY_NS = 86400 * 10**9
LAST_SYMBOL_OF = lambda symbols: "T%03d" % (symbols // 2)  # noqa: E731 (as the C programs)

CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
  # Snapshot the cache into TSM files, and fully compact them, as soon as a shard has
  # had no write for 1 s: the bytes per point are then those of InfluxDB's final form.
  cache-snapshot-write-cold-duration = "1s"
  compact-full-write-cold-duration = "1s"

[coordinator]
  max-select-point = 0
  max-select-series = 0

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  write-tracing = false
  max-row-limit = 0
  max-body-size = 0

[logging]
  level = "warn"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass  # a compaction removed it under us
    return total


def summary(ns):
    ns = sorted(ns)
    n = len(ns)
    med = ns[n // 2] if n % 2 else (ns[n // 2 - 1] + ns[n // 2]) / 2
    return med, ns[(n * 99 + 99) // 100 - 1]


def result(**kw):
    print("result sys=influxdb " + " ".join("%s=%s" % kv for kv in kw.items()), flush=True)


class Influx:
    def __init__(self, workdir):
        self.dir = workdir
        self.port = free_port()
        rpc = free_port()
        while rpc == self.port:
            rpc = free_port()
        self.conf = os.path.join(workdir, "influxdb.conf")
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(dir=workdir, http_port=self.port, rpc_port=rpc))
        self.log = os.path.join(workdir, "influxd.log")
        self.pid = None

    def start(self):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.dir}
        self.pid = benchlib.spawn([INFLUXD, "-config", self.conf], env, self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not benchlib.alive(self.pid):
                raise RuntimeError("influxd %s: %s" % (benchlib.exit_note(self.pid),
                                                       benchlib.log_tail(self.log)))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/ping")
                if c.getresponse().status == 204:
                    c.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("influxd did not answer /ping in 60 s: " + benchlib.log_tail(self.log))

    def stop(self):
        if self.pid is not None:
            benchlib.stop(self.pid, lambda: os.kill(self.pid, signal.SIGTERM), 15)
            self.pid = None

    def cpu_s(self):
        """CPU time influxd has used so far (utime + stime, 10 ms resolution)."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def query(self, c, db, q):
        """GET /query; returns the raw body (bytes)."""
        path = "/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("query %r: HTTP %d %s" % (q, r.status, body[:300]))
        return body

    def admin(self, q):
        c = self.conn()
        c.request("POST", "/query?" + urllib.parse.urlencode({"q": q}))
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200 or b'"error"' in body:
            raise RuntimeError("%s: HTTP %d %s" % (q, r.status, body[:300]))

    def wait_flushed(self, db, timeout=300):
        """Waits until db's WAL is empty and its shards are compacted into one TSM file
        each (or have stopped changing for 15 s); returns (shard bytes, series-file
        bytes): the apparent size of the TSM files and field indexes, and the space
        allocated to the database's series file (1.6 preallocates 4 MB segments of it,
        sparse, so its apparent size says nothing)."""
        wal = os.path.join(self.dir, "wal", db)
        data = os.path.join(self.dir, "data", db)
        deadline = time.monotonic() + timeout
        last, stable_since = None, time.monotonic()
        while time.monotonic() < deadline:
            files = []
            for root, _, names in os.walk(data):
                files += [os.path.join(root, n) for n in names]
            # Compactions write *.tsm.tmp files first; a snapshot in progress leaves
            # WAL segments behind (an empty, current segment is a few bytes).
            busy = any(f.endswith(".tmp") for f in files) or dir_bytes(wal) > 4096
            state = (tuple(sorted(files)), dir_bytes(data))
            if state != last or busy:
                last, stable_since = state, time.monotonic()
            else:
                tsm = [f for f in files if f.endswith(".tsm")]
                shards = {os.path.dirname(f) for f in tsm}
                quiet = time.monotonic() - stable_since
                if (quiet >= 3 and len(tsm) == len(shards)) or quiet >= 15:
                    return self.db_bytes(files)
            time.sleep(0.25)
        raise RuntimeError("%s: not flushed after %d s" % (db, timeout))

    def db_bytes(self, files):
        shard = series = 0
        for f in files:
            st = os.lstat(f)
            if "/_series/" in f:
                series += st.st_blocks * 512
            else:
                shard += st.st_size
            if os.environ.get("BENCH_VERBOSE"):
                print("#   %s %d bytes, %d allocated" % (os.path.relpath(f, self.dir),
                                                       st.st_size, st.st_blocks * 512))
        return shard, series


def batches(lines):
    return [b"\n".join(lines[i:i + BATCH]) + b"\n" for i in range(0, len(lines), BATCH)]


def post_all(influx, db, bodies, errors):
    c = influx.conn()
    path = "/write?" + urllib.parse.urlencode({"db": db, "precision": "ns"})
    try:
        for body in bodies:
            c.request("POST", path, body=body)
            r = c.getresponse()
            msg = r.read()
            if r.status != 204:
                errors.append("write %s: HTTP %d %s" % (db, r.status, msg[:300]))
                return
    except OSError as e:
        errors.append("write %s: %s" % (db, e))
    finally:
        c.close()


def write(influx, db, parts):
    """Writes each list of bodies in parts over its own connection, all at once;
    returns the wall time and influxd's CPU time meanwhile, in seconds."""
    influx.admin("CREATE DATABASE " + db)
    errors = []
    threads = [threading.Thread(target=post_all, args=(influx, db, p, errors)) for p in parts]
    server0, cpu0, t0 = influx.cpu_s(), os.times(), time.monotonic_ns()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sec = (time.monotonic_ns() - t0) / 1e9
    cpu1, server = os.times(), influx.cpu_s() - server0
    if errors:
        raise RuntimeError(errors[0])
    # What the client itself cost: if it were near the wall time, the client and not
    # influxd would be what is measured.
    print("# %s: client cpu %.2f s in %.2f s" % (
        db, cpu1.user + cpu1.system - cpu0.user - cpu0.system, sec), flush=True)
    return sec, server


def series_of(line):
    """The walk series number of a `ticks` line: ticks,symbol=T007 price=... -> 7."""
    key = line.split(b" ", 1)[0]
    return int(key.rsplit(b"=", 1)[1][1:])


def bench_last(influx, db, lines, symbols, n):
    sym = LAST_SYMBOL_OF(symbols)
    tag = ("symbol=%s " % sym).encode()
    want = next(l for l in reversed(lines) if tag in l).split(b" ")
    want_price, want_ts = float(want[1].split(b"=")[1]), int(want[2])
    c = influx.conn()
    q = "SELECT last(price) FROM ticks WHERE symbol='%s'" % sym
    ns = []
    for _ in range(n):
        t0 = time.monotonic_ns()
        body = influx.query(c, db, q)
        ns.append(time.monotonic_ns() - t0)
    got = json.loads(body)["results"][0]["series"][0]["values"][0]
    if got != [want_ts, want_price]:
        raise RuntimeError("last(%s): got %r, want %r" % (sym, got, [want_ts, want_price]))
    # The transport's share: the same client and connection, an empty request.
    ping = []
    for _ in range(n):
        t0 = time.monotonic_ns()
        c.request("GET", "/ping")
        c.getresponse().read()
        ping.append(time.monotonic_ns() - t0)
    print("# GET /ping on the same connection: median %.1f us" % (summary(ping)[0] / 1e3))
    c.close()
    med, p99 = summary(ns)
    result(what="last", data="ticks", series=sym, n=n, median_us="%.2f" % (med / 1e3),
           p99_us="%.2f" % (p99 / 1e3))


def bench_range(influx, db, name, symbol, want, n):
    c = influx.conn()
    q = "SELECT price FROM day WHERE symbol='%s' AND time >= %d AND time < %d" % (
        symbol, T0, T0 + DAY_NS)
    ns = []
    for _ in range(n):
        t0 = time.monotonic_ns()
        body = influx.query(c, db, q)
        ns.append(time.monotonic_ns() - t0)
    got = len(json.loads(body)["results"][0]["series"][0]["values"])
    if got != want:
        raise RuntimeError("range %s: %d points, want %d" % (name, got, want))
    c.close()
    med, p99 = summary(ns)
    result(what="range", data=name, points=want, n=n, median_ms="%.3f" % (med / 1e6),
           p99_ms="%.3f" % (p99 / 1e6))


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().splitlines()


def run(args, lp, work):
    influx = Influx(work)
    influx.start()
    try:
        ticks = read_lines(os.path.join(lp, "ticks.lp"))
        one = batches(ticks)
        sec, cpu = write(influx, "ticks1", [one])
        result(what="write", data="ticks", threads=1, sync="fsync", points=len(ticks),
               seconds="%.3f" % sec, pps="%.0f" % (len(ticks) / sec), cpu_s="%.2f" % cpu,
               cpu_ns_per_point="%.0f" % (cpu * 1e9 / len(ticks)))
        halves = [[l for l in ticks if series_of(l) % 2 == k] for k in (0, 1)]
        sec, cpu = write(influx, "ticks2", [batches(h) for h in halves])
        del halves
        result(what="write", data="ticks", threads=2, sync="fsync", points=len(ticks),
               seconds="%.3f" % sec, pps="%.0f" % (len(ticks) / sec), cpu_s="%.2f" % cpu,
               cpu_ns_per_point="%.0f" % (cpu * 1e9 / len(ticks)))
        influx.admin("DROP DATABASE ticks2")

        feed = read_lines(os.path.join(lp, "feed.lp"))
        sec, cpu = write(influx, "feed", [batches(feed)])
        result(what="write", data="feed", threads=1, sync="fsync", points=len(feed),
               seconds="%.3f" % sec, pps="%.0f" % (len(feed) / sec), cpu_s="%.2f" % cpu,
               cpu_ns_per_point="%.0f" % (cpu * 1e9 / len(feed)))

        for db, data, n, per in (("ticks1", "ticks", len(ticks), 1), ("feed", "feed", len(feed), 5)):
            t0 = time.monotonic()
            b, series_file = influx.wait_flushed(db)
            print("# %s flushed and compacted after %.1f s" % (db, time.monotonic() - t0), flush=True)
            result(what="size", data=data, points=n, values=n * per, bytes=b,
                   bytes_per_point="%.3f" % (b / n), series_file_bytes=series_file)
        del feed

        day = read_lines(os.path.join(lp, "day.lp"))
        write_more(influx, "ticks1", batches(day))
        influx.wait_flushed("ticks1")
        bench_last(influx, "ticks1", ticks, args.symbols, args.last_n)
        n1 = sum(1 for l in day if l.startswith(b"day,symbol=D1HZ000 "))
        bench_range(influx, "ticks1", "day1hz", "D1HZ000", n1, args.range_n)
        bench_range(influx, "ticks1", "dense", "DENSE000", len(day) - n1, args.range_n // 4 + 1)
    finally:
        influx.stop()


def write_more(influx, db, bodies):
    errors = []
    post_all(influx, db, bodies, errors)
    if errors:
        raise RuntimeError(errors[0])


def influxd_version():
    try:
        out = subprocess.run([INFLUXD, "version"], capture_output=True, text=True, timeout=10)
        return out.stdout.split()[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gen", required=True, help="the bench_tsdb_gen binary")
    p.add_argument("--dir", default=None, help="where the temp dir goes")
    p.add_argument("--last-n", type=int, default=1000)
    p.add_argument("--range-n", type=int, default=10)
    args, rest = p.parse_known_args()
    for a in rest:
        if not a.startswith("--") or "=" not in a:
            p.error("unknown argument " + a)
    # The size flags go to bench_tsdb_gen as they are; we need the number of symbols.
    args.symbols = 8
    for a in rest:
        if a.startswith("--symbols="):
            args.symbols = int(a.split("=", 1)[1])
    if not os.access(INFLUXD, os.X_OK):
        print("# influxdb: not installed (%s; Debian package influxdb)" % INFLUXD)
        return 0
    work = tempfile.mkdtemp(prefix="influx.", dir=args.dir)
    try:
        # Before benchlib.setup(): its SIGCHLD handler would reap subprocess's children.
        lp = os.path.join(work, "lp")
        os.mkdir(lp)
        subprocess.run([args.gen, lp] + rest, check=True)
        print("# influxdb %s, wal-fsync-delay 0s (fsync per write), inmem index, %d lines "
              "per request" % (influxd_version(), BATCH), flush=True)
        benchlib.setup()
        run(args, lp, work)
    except benchlib.Interrupted:
        return 130
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print("influx.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        benchlib.kill_tree()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
