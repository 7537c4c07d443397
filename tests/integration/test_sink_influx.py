"""The InfluxDB sink against a real InfluxDB 1.x (the Debian package's influxd) on
loopback, driven by the sink_writer helper (tests/helpers/sink_writer.c), which writes
points with known content: point i is v=i at timestamp TS0 + i µs, so count(v) and
sum(v) prove that every point arrived exactly once.

- an outage: influxd stopped (SIGTERM) for 10 s mid-stream and started again;
- a hung influxd (SIGSTOP for 4 s): requests time out and are sent again;
- four threads writing at once;
- the spool survives a SIGKILL of the writer while influxd is down;
- past spool_max the oldest points are dropped, and counted exactly;
- a batch InfluxDB refuses (400) is kept in rejected.lp and not retried;
- create_database makes the database and the retention policies, and alters one that
  exists with another duration;
- basic authentication with username and password_file; a wrong password is refused.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import BUILD, INFLUXD, LONG, InfluxDB, wait_for

SINK_WRITER = os.path.abspath(os.path.join(BUILD, "sink_writer"))
SANITIZED = os.environ.get("VIGIL_SANITIZED") in ("1", "ON", "TRUE", "true")
OUTAGE_S = 10


def stats_of(out):
    m = re.search(r"^stats (.*)$", out, re.M)
    assert m, out
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


@unittest.skipUnless(INFLUXD, "influxd is not installed (scripts/deps.sh installs it)")
class SinkInfluxTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-sink-")
        self.influx = InfluxDB(self.dir)
        self.procs = []
        self.ts0 = (time.time_ns() // 1_000_000_000) * 1_000_000_000

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdin, p.stdout, p.stderr):
                if f:
                    f.close()
        self.influx.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self, batch=500, flush="200ms", spool_max="1GiB", timeout="5s", extra=""):
        path = os.path.join(self.dir, "vigil.yaml")
        with open(path, "w") as f:
            f.write(f"""state_dir: ./state
services: {{}}
sinks:
  influx:
    url: {self.influx.url}
    db: tick
    retention_policy: high_frequency
    retention_policies:
      - {{name: default, duration: 30d, default: true}}
      - {{name: high_frequency, duration: 7d}}
      - {{name: long_term, duration: 365d}}
    create_database: true
    batch: {batch}
    flush: {flush}
    timeout: {timeout}
    spool_max: {spool_max}
{extra}""")
        return path

    @property
    def spool_dir(self):
        return os.path.join(self.dir, "state", "spool", "influx")

    def writer(self, *args, stdin=None):
        p = subprocess.Popen([SINK_WRITER, self.config(**self.cfg), *map(str, args)],
                             stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def run_writer(self, *args, stdin=None, timeout=150):
        p = self.writer(*args, stdin=stdin)
        out, err = p.communicate(stdin, timeout=timeout)
        self.assertEqual(p.returncode, 0, f"sink_writer failed:\n{out}\n{err[-4000:]}")
        return out, err

    def stored(self):
        """Points stored so far; 0 while the sink has not yet created the database."""
        try:
            return self.count_sum()[0] or 0  # a row of nulls while the shard is being made
        except (AssertionError, OSError):
            return 0

    def count_sum(self, where=""):
        rows = self.influx.rows(f'SELECT count(v), sum(v), min(v), max(v) FROM '
                                f'"high_frequency"."tick" {where}', db="tick")
        return tuple(rows[0][1:]) if rows else (0, None, None, None)

    def test_outage_every_point_exactly_once(self):
        self.cfg = {}
        self.influx.start()
        # About 1000 points a second for 20 s: the outage falls well inside the stream.
        n, chunk, pause_ms = 20000, 100, 100
        p = self.writer("gen", n, 0, self.ts0, chunk, pause_ms)
        wait_for(lambda: self.stored() > 0, timeout=LONG, what="first points stored")
        self.influx.stop(signal.SIGTERM)
        t_down = time.monotonic()
        time.sleep(OUTAGE_S)
        spooled_meanwhile = sum(os.path.getsize(os.path.join(self.spool_dir, f))
                                for f in os.listdir(self.spool_dir) if f.endswith(".spool"))
        self.influx.start()
        print(f"\ninfluxd down for {time.monotonic() - t_down:.1f}s; "
              f"spool held {spooled_meanwhile} bytes")
        out, err = p.communicate(timeout=150)
        self.assertEqual(p.returncode, 0, f"sink_writer failed:\n{out}\n{err[-4000:]}")
        st = stats_of(out)
        print("outage:", out.splitlines()[1])
        self.assertEqual(st["points_sent"], n)
        self.assertGreater(st["retries"], 0)
        self.assertGreater(st["spooled_batches"], 0)
        self.assertGreater(spooled_meanwhile, 0)
        self.assertEqual((st["dropped_points"], st["failed_points"], st["spool_points"]), (0, 0, 0))
        self.assertEqual(self.count_sum(), (n, n * (n - 1) // 2, 0, n - 1))
        # every point once per series too: 8 series (k=0..7), n/8 points each
        res = self.influx.query('SELECT count(v) FROM "high_frequency"."tick" GROUP BY k',
                                db="tick")["results"][0]["series"]
        self.assertEqual(sorted(s["values"][0][1] for s in res), [n // 8] * 8)
        self.assertIn('vigil_sink_points_sent_total{sink="influx"} %d' % n, out)
        self.assertIn("InfluxDB unavailable, spooling and retrying", err)
        self.assertIn("InfluxDB answers again", err)

    def test_hung_influxd_requests_time_out_and_are_retried(self):
        # A hung server (SIGSTOP) answers nothing: requests time out after 1 s and go
        # again later — a batch InfluxDB may have half-applied is simply sent again.
        self.cfg = {"timeout": "1s"}
        self.influx.start()
        n = 6000
        p = self.writer("gen", n, 0, self.ts0, 100, 100)
        wait_for(lambda: self.stored() > 0, timeout=LONG, what="first points stored")
        os.killpg(self.influx.proc.pid, signal.SIGSTOP)
        time.sleep(4)
        os.killpg(self.influx.proc.pid, signal.SIGCONT)
        out, err = p.communicate(timeout=150)
        self.assertEqual(p.returncode, 0, f"sink_writer failed:\n{out}\n{err[-4000:]}")
        st = stats_of(out)
        self.assertEqual(st["points_sent"], n)
        self.assertGreater(st["retries"], 0)
        self.assertIn("timed out", err)
        self.assertEqual(self.count_sum(), (n, n * (n - 1) // 2, 0, n - 1))

    def test_writers_on_several_threads(self):
        self.cfg = {"batch": 1000}
        self.influx.start()
        n = 20000 if SANITIZED else 100000
        t0 = time.monotonic()
        out, err = self.run_writer("gen", n, 0, self.ts0, 50, 0, "threads=4")
        print(f"\n4 writer threads: {n} points delivered in {time.monotonic() - t0:.2f}s "
              f"({stats_of(out)['batches_sent']} batches)")
        self.assertEqual(stats_of(out)["points_sent"], n)
        self.assertEqual(self.count_sum(), (n, n * (n - 1) // 2, 0, n - 1))

    def test_spool_survives_kill9_of_the_writer(self):
        self.cfg = {"batch": 200}
        n = 3000 if SANITIZED else 10000
        # influxd has never run: even the database is created only once it is up.
        p = self.writer("gen", n, 0, self.ts0, 100, 0, "hold")
        wait_for(lambda: p.stdout.readline().startswith("queued=0"), timeout=LONG,
                 what="every point spooled")
        p.send_signal(signal.SIGKILL)
        p.wait()
        segments = [f for f in os.listdir(self.spool_dir) if f.endswith(".spool")]
        self.assertTrue(segments)
        self.influx.start()
        out, err = self.run_writer("drain")
        st = stats_of(out)
        self.assertEqual(st["points_sent"], n, err[-4000:])
        self.assertEqual(st["spool_points"], 0)
        self.assertEqual(self.count_sum(), (n, n * (n - 1) // 2, 0, n - 1))
        self.assertIn("spool from an earlier run will be sent first", err)

    def test_spool_cap_drops_oldest_and_counts_them(self):
        self.cfg = {"batch": 100, "spool_max": "64KiB"}
        n = 5000  # ~300 KiB of line protocol: several times the cap
        p = self.writer("gen", n, 0, self.ts0, 100, 0, "hold")
        line = wait_for(lambda: (lambda l: l if l.startswith("queued=0") else None)(
            p.stdout.readline()), timeout=LONG, what="every point spooled")
        held = dict(kv.split("=") for kv in line.split())
        spooled, dropped = int(held["spool_points"]), int(held["dropped_points"])
        p.send_signal(signal.SIGKILL)
        p.wait()
        print(f"\nspool cap: {spooled} points kept, {dropped} dropped of {n}")
        self.assertGreater(dropped, 0)
        self.assertEqual(spooled + dropped, n)
        self.influx.start()
        out, err = self.run_writer("drain")
        self.assertEqual(stats_of(out)["points_sent"], spooled)
        # the oldest went: what is stored is exactly points dropped..n-1
        self.assertEqual(self.count_sum(),
                         (spooled, sum(range(dropped, n)), dropped, n - 1))

    def test_refused_batch_is_kept_and_not_retried(self):
        self.cfg = {"batch": 1, "flush": "50ms"}
        self.influx.start()
        ts = self.ts0
        lines = (f"tick,src=stdin v=1i {ts}\n"
                 f"tick,src=stdin {ts + 1}\n"                 # no field: unable to parse
                 f"tick,src=stdin v=2i {ts + 2}\n"
                 f"tick,src=stdin v=2.5 {ts + 3}\n")          # float into an integer field
        out, err = self.run_writer("stdin", stdin=lines)
        st = stats_of(out)
        self.assertEqual((st["points_sent"], st["failed_batches"], st["failed_points"]), (2, 2, 2))
        self.assertEqual(st["retries"], 0)
        self.assertEqual(st["spool_points"], 0)
        self.assertIn("unable to parse", err)
        self.assertIn("field type conflict", err)
        with open(os.path.join(self.spool_dir, "rejected.lp")) as f:
            rejected = f.read()
        self.assertIn(f"tick,src=stdin {ts + 1}\n", rejected)
        self.assertIn(f"tick,src=stdin v=2.5 {ts + 3}\n", rejected)
        self.assertEqual(rejected.count("# "), 2)
        self.assertIn("status=400", rejected)
        self.assertEqual(self.count_sum("WHERE src='stdin'"), (2, 3, 1, 2))

    def test_basic_authentication(self):
        self.influx = InfluxDB(self.dir, auth=True)
        self.influx.start()
        # With no user yet, InfluxDB lets the first admin be created without credentials.
        self.influx.query("CREATE USER vigil WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
        self.influx.auth = ("vigil", "s3cret")
        pw = os.path.join(self.dir, "influx.pw")
        with open(pw, "w") as f:
            f.write("s3cret\n")
        self.cfg = {"extra": f"    username: vigil\n    password_file: {pw}\n"}
        out, err = self.run_writer("gen", 100, 0, self.ts0)
        self.assertEqual(stats_of(out)["points_sent"], 100)
        self.assertEqual(self.count_sum(), (100, sum(range(100)), 0, 99))
        # a wrong password is refused (401): kept, counted, never retried
        with open(pw, "w") as f:
            f.write("wrong\n")
        out, err = self.run_writer("gen", 10, 100, self.ts0)
        st = stats_of(out)
        self.assertEqual((st["points_sent"], st["failed_points"], st["retries"]), (0, 10, 0))
        self.assertIn("authorization failed", err)
        self.assertEqual(self.count_sum()[0], 100)

    def test_create_database_alters_a_policy_with_another_duration(self):
        self.cfg = {}
        self.influx.start()
        self.influx.query("CREATE DATABASE tick")
        self.influx.query('CREATE RETENTION POLICY "high_frequency" ON tick DURATION 2d '
                          'REPLICATION 1')
        out, err = self.run_writer("gen", 10, 0, self.ts0)
        self.assertEqual(stats_of(out)["points_sent"], 10)
        rps = {r[0]: (r[1], r[4]) for r in self.influx.rows("SHOW RETENTION POLICIES ON tick")}
        self.assertEqual(rps["high_frequency"], ("168h0m0s", False))
        self.assertEqual(rps["default"], ("720h0m0s", True))
        self.assertEqual(rps["long_term"], ("8760h0m0s", False))
        self.assertIn("retention policy altered to match the config", err)
        # a second start changes nothing and still works
        out, err = self.run_writer("gen", 10, 10, self.ts0)
        self.assertNotIn("altered", err)
        self.assertEqual(self.count_sum(), (20, sum(range(20)), 0, 19))


if __name__ == "__main__":
    unittest.main()
