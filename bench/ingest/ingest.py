"""bench/ingest: end-to-end points per second from vigil-feed publishers into vigil's
store, side by side in one run with
  - the limit: the same publishers into a bare ZeroMQ PULL socket that drops every
    message (bench_zmq_sink), and
  - InfluxDB (the Debian `influxd`, on a free loopback port with a temporary config)
    ingesting the same lines over its HTTP /write API,
each with 1 and 4 publishers. Method and figures: docs/BENCHMARKS.md ("Ingest").

    python3 bench/ingest/ingest.py BUILD_DIR

Every contender gets the same stream twice over without a pause, and the rates of
both halves are printed: the first is a fresh process (vigil's store and InfluxDB
fault their memory in as they grow), the second the steady state of a running one,
which is what a desk that runs all day sees. The ratios to ZeroMQ compare like with
like: first half with first half, second with second.

ZeroMQ itself varies by a quarter from run to run on a small machine (the publisher
and the sink share two cores with everything else), so each contender runs
BENCH_REPEAT times, interleaved (sink, vigil, vigil without store, sink, ...), and
the table shows medians, with the range of the second halves.

Knobs (environment): BENCH_MESSAGES (per half, default 6,000,000: enough for the store
to flush its head twice in each), BENCH_REPEAT (default 3), BENCH_LINES (points per message, default 1:
~70-byte messages), BENCH_INFLUX_POINTS (per half, default 1,000,000; 0 skips InfluxDB), BENCH_SYNC (the
store's sync policy for the run, default interval). Python standard library only.
"""
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

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
VIGIL = os.path.join(BUILD, "vigil")
FEED = os.path.join(BUILD, "vigil-feed")
SINK = os.path.join(BUILD, "bench_zmq_sink")
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "6000000"))
LINES = int(os.environ.get("BENCH_LINES", "1"))
INFLUX_POINTS = int(os.environ.get("BENCH_INFLUX_POINTS", "1000000"))
SYNC = os.environ.get("BENCH_SYNC", "interval")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publishers(n, endpoint, count, measurement="ticks"):
    """n vigil-feed processes pushing count messages between them, as fast as they can."""
    per = count // n
    return [subprocess.Popen([FEED, "--connect", endpoint, "--rate", "0", "--count", str(per),
                              "--lines", str(LINES), "--symbols", "100", "--prefix", f"P{i}S",
                              "--measurement", measurement, "--no-checksum", "--quiet"])
            for i in range(n)], per * n


def raw_zmq(n):
    """(first-half rate, second-half rate, points), in points per second."""
    port = free_port()
    pubs_count = (2 * MESSAGES // n) * n
    sink = subprocess.Popen([SINK, "pull", f"tcp://127.0.0.1:{port}", str(pubs_count)],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    pubs, total = publishers(n, f"tcp://127.0.0.1:{port}", 2 * MESSAGES)
    out = sink.communicate(timeout=600)[0]
    for p in pubs:
        p.wait(60)
    kv = dict(x.split("=") for x in out.split())
    return float(kv["rate1"]) * LINES, float(kv["rate2"]) * LINES, int(kv["messages"]) * LINES


class Vigil:
    def __init__(self, workdir, store=True, extra=""):
        self.dir = workdir
        self.port = free_port()
        cfg = os.path.join(workdir, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write(f"""state_dir: {workdir}/state
http: {{listen: "127.0.0.1:{free_port()}"}}
store: {{enabled: {"true" if store else "false"}, sync: {SYNC}}}
feeds:
  bench:
    bind: tcp://127.0.0.1:{self.port}
    socket: pull
{extra}""")
        self.cfg = cfg
        self.log = open(os.path.join(workdir, "vigil.log"), "w")
        self.proc = subprocess.Popen([VIGIL, "up", "-c", cfg], stdout=self.log, stderr=subprocess.STDOUT)
        sock = os.path.join(workdir, "state", "vigil.sock")
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench: vigil did not start; see " + self.log.name)
            time.sleep(0.05)

    def feed(self):
        # straight to the control socket: a `vigil status` process per poll would
        # take CPU from what is measured
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(self.dir, "state", "vigil.sock"))
        s.sendall(b"GET /api/v1/status HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        return json.loads(data.split(b"\r\n\r\n", 1)[1])["feeds"][0]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)
        self.log.close()


def vigil_e2e(n, workdir, store=True, extra=""):
    """Points per second written, (first half, second half, points, store): the clock
    runs from the feed's first message, as the sink's does from its first (publisher
    start-up is not counted), to the point that completes each half."""
    v = Vigil(workdir, store, extra)
    try:
        f0 = v.feed()
        base, base_msgs = f0["points"], f0["messages"]
        pubs, total = publishers(n, f"tcp://127.0.0.1:{v.port}", 2 * MESSAGES)
        half, want = base + total * LINES // 2, base + total * LINES
        started = time.monotonic()
        t0 = th = None
        while True:
            f = v.feed()
            now = time.monotonic()
            if t0 is None and f["messages"] > base_msgs:
                t0 = now
            if th is None and f["points"] >= half:
                th, at_half = now, f["points"]
            if f["points"] >= want:
                break
            if now - started > 600:
                raise SystemExit(f"bench: only {f['points'] - base} of {total * LINES} points after 600 s")
            time.sleep(0.01)
        t1 = time.monotonic()
        for p in pubs:
            p.wait(60)
        if th - t0 < 0.05 or want - at_half < total * LINES // 4:
            raise SystemExit("bench: the stream is too short to time its halves at 10 ms "
                             "polls; raise BENCH_MESSAGES")
        return (at_half - base) / (th - t0), (want - at_half) / (t1 - th), want - base, f["store"]
    finally:
        v.stop()


def influx(n, workdir):
    if not shutil.which("influxd") or INFLUX_POINTS <= 0:
        return None
    port, bport = free_port(), free_port()
    conf = os.path.join(workdir, "influxdb.conf")
    with open(conf, "w") as f:
        f.write(f"""reporting-disabled = true
bind-address = "127.0.0.1:{bport}"
[meta]
  dir = "{workdir}/influx/meta"
[data]
  dir = "{workdir}/influx/data"
  wal-dir = "{workdir}/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[monitor]
  store-enabled = false
""")
    log = open(os.path.join(workdir, "influxd.log"), "w")
    proc = subprocess.Popen(["influxd", "-config", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("POST", "/query", body="q=CREATE+DATABASE+bench",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("bench: influxd did not start")
            time.sleep(0.2)
        # the same lines vigil-feed sends (5000 per POST, InfluxDB's recommended batch),
        # prepared before the clock starts; each half is timed on its own, one after
        # the other, on the same influxd
        ts = time.time_ns() // 1000 * 1000
        per = INFLUX_POINTS // n

        def make_batches():
            nonlocal ts
            batches = []
            for p in range(n):
                lines = []
                for i in range(per):
                    ts += 1000
                    lines.append(f"ticks,sym=P{p}S{i % 100 + 1:04d} price={100 + (i % 997) / 1000:.5f},"
                                 f"size={1 + i % 1000}i,seq={i // 100 + 1}i {ts}")
                batches.append(["\n".join(lines[k:k + 5000]).encode() for k in range(0, len(lines), 5000)])
            return batches

        def send(bs):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for b in bs:
                c.request("POST", "/write?db=bench", body=b)
                r = c.getresponse()
                r.read()
                assert r.status == 204, r.status

        rates = []
        for batches in (make_batches(), make_batches()):
            t0 = time.monotonic()
            threads = [threading.Thread(target=send, args=(b,)) for b in batches]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rates.append(per * n / (time.monotonic() - t0))
        return rates[0], rates[1], 2 * per * n
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def main():
    for exe in (VIGIL, FEED, SINK):
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"bench: {exe} is missing; build it first (make build)")
    print(f"# ingest: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, nproc {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}, 2 x {MESSAGES} messages of {LINES} point(s) per scenario, "
          f"store sync {SYNC}, median of {REPEAT} runs")
    print("# points/s of the first half (a fresh process) and of the second (running); "
          "vs zmq: each half's median against the sink's")
    print(f"{'scenario':<44} {'pubs':>4} {'points':>10} {'1st half/s':>12} {'2nd half/s':>12} "
          f"{'2nd: min-max':>15} {'vs zmq':>11}")

    def median(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2

    def row(what, n, runs, raw1, raw2):
        r1, r2 = median([r[0] for r in runs]), median([r[1] for r in runs])
        lo, hi = min(r[1] for r in runs), max(r[1] for r in runs)
        print(f"{what:<44} {n:>4} {runs[0][2]:>10} {r1:>12,.0f} {r2:>12,.0f} "
              f"{lo / 1e6:>7.2f}-{hi / 1e6:.2f}M {r1 / raw1:>5.0%} {r2 / raw2:>5.0%}")

    for n in (1, 4):
        work = tempfile.mkdtemp(prefix="vigil-bench-ingest-")
        try:
            raws, stores, feeds = [], [], []
            store = True
            for _ in range(REPEAT):
                raws.append(raw_zmq(n))
                r1, r2, pts, store = vigil_e2e(n, work)
                stores.append((r1, r2, pts))
                shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
                r1, r2, pts, _ = vigil_e2e(n, work, store=False)
                feeds.append((r1, r2, pts))
                shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
            raw1, raw2 = median([r[0] for r in raws]), median([r[1] for r in raws])
            row("zeromq PULL sink (drops everything)", n, raws, raw1, raw2)
            what = "vigil: vigil-feed -> feed -> store" if store else "vigil: vigil-feed -> feed (NO store)"
            row(what, n, stores, raw1, raw2)
            row("vigil: feed only (store: {enabled: false})", n, feeds, raw1, raw2)
            r = influx(n, work)
            if r:
                row("influxd 1.x: /write, 5000 lines/POST, 1 run", n, [r], raw1, raw2)
            else:
                print("influxd: not installed" if INFLUX_POINTS > 0 else "influxd: skipped (BENCH_INFLUX_POINTS=0)")
            sys.stdout.flush()
        finally:
            shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
