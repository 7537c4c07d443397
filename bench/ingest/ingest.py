"""bench/ingest: end-to-end points per second from vigil-feed publishers into vigil's
store, side by side in one run with
  - the limit: the same publishers into a bare ZeroMQ PULL socket that drops every
    message (bench_zmq_sink), and
  - InfluxDB (the Debian `influxd`, on a free loopback port with a temporary config)
    ingesting the same lines over its HTTP /write API,
each with 1 and 4 publishers. Method and figures: docs/BENCHMARKS.md ("Ingest").

    python3 bench/ingest/ingest.py BUILD_DIR

Knobs (environment): BENCH_MESSAGES (per scenario, default 6,000,000: enough for the
store to flush its head twice, so a run has the cold start and the steady state),
BENCH_LINES (points per message, default 1: ~70-byte messages), BENCH_INFLUX_POINTS
(default 1,000,000), BENCH_SYNC (the store's sync policy for the run, default
interval). Python standard library only.
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
    port = free_port()
    pubs_count = (MESSAGES // n) * n
    sink = subprocess.Popen([SINK, "pull", f"tcp://127.0.0.1:{port}", str(pubs_count)],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    pubs, total = publishers(n, f"tcp://127.0.0.1:{port}", MESSAGES)
    out = sink.communicate(timeout=600)[0]
    for p in pubs:
        p.wait(60)
    kv = dict(x.split("=") for x in out.split())
    return float(kv["rate"]) * LINES, int(kv["messages"]) * LINES


class Vigil:
    def __init__(self, workdir, store=True):
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
""")
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


def vigil_e2e(n, workdir, store=True):
    """Points per second from the feed's first message to its last point written, as
    the sink's clock runs from its first message (publisher start-up is not counted)."""
    v = Vigil(workdir, store)
    try:
        f0 = v.feed()
        base, base_msgs = f0["points"], f0["messages"]
        pubs, total = publishers(n, f"tcp://127.0.0.1:{v.port}", MESSAGES)
        want = base + total * LINES
        started = time.monotonic()
        t0 = None
        while True:
            f = v.feed()
            now = time.monotonic()
            if t0 is None and f["messages"] > base_msgs:
                t0 = now
            if f["points"] >= want:
                break
            if now - started > 600:
                raise SystemExit(f"bench: only {f['points'] - base} of {total * LINES} points after 600 s")
            time.sleep(0.01)
        took = time.monotonic() - t0
        for p in pubs:
            p.wait(60)
        store = f["store"]
        return (want - base) / took, want - base, store
    finally:
        v.stop()


def influx(n, workdir):
    if not shutil.which("influxd"):
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
        # the same lines vigil-feed sends (5000 per POST, InfluxDB's recommended batch)
        batches = []
        ts = time.time_ns() // 1000 * 1000
        per = INFLUX_POINTS // n
        for p in range(n):
            lines = []
            for i in range(per):
                ts += 1000
                lines.append(f"ticks,sym=P{p}S{i % 100 + 1:04d} price={100 + (i % 997) / 1000:.5f},"
                             f"size={1 + i % 1000}i,seq={i // 100 + 1}i {ts}")
            batches.append(["\n".join(lines[k:k + 5000]).encode() for k in range(0, len(lines), 5000)])

        def send(bs):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for b in bs:
                c.request("POST", "/write?db=bench", body=b)
                r = c.getresponse()
                r.read()
                assert r.status == 204, r.status

        t0 = time.monotonic()
        threads = [threading.Thread(target=send, args=(b,)) for b in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - t0
        return per * n / took, per * n
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
          f"load {os.getloadavg()[0]:.2f}, {MESSAGES} messages of {LINES} point(s) per scenario, "
          f"store sync {SYNC}")
    print(f"{'scenario':<44} {'publishers':>10} {'points':>10} {'points/s':>12} {'vs zmq':>8}")
    for n in (1, 4):
        work = tempfile.mkdtemp(prefix="vigil-bench-ingest-")
        try:
            raw, rawn = raw_zmq(n)
            print(f"{'zeromq PULL sink (drops everything)':<44} {n:>10} {rawn:>10} {raw:>12,.0f} {'100%':>8}")
            rate, pts, store = vigil_e2e(n, work)
            what = "vigil: vigil-feed -> feed -> store" if store else "vigil: vigil-feed -> feed (NO store)"
            print(f"{what:<44} {n:>10} {pts:>10} {rate:>12,.0f} {rate / raw:>8.0%}")
            shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
            rate, pts, _ = vigil_e2e(n, work, store=False)
            what = "vigil: feed only (store: {enabled: false})"
            print(f"{what:<44} {n:>10} {pts:>10} {rate:>12,.0f} {rate / raw:>8.0%}")
            r = influx(n, work)
            if r:
                print(f"{'influxd 1.x: HTTP /write, 5000 lines/POST':<44} {n:>10} {r[1]:>10} {r[0]:>12,.0f} "
                      f"{r[0] / raw:>8.0%}")
            else:
                print("influxd: not installed")
            sys.stdout.flush()
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
