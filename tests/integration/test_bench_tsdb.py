"""Smoke test of the store benchmark (bench/tsdb, docs/BENCHMARKS.md "Store"), so that
its programs cannot rot: each runs on tiny data sets (they check every answer against
the generated data themselves) and must print every figure report.py needs, in a
form it reads. Speed is never asserted."""
import os
import subprocess
import sys
import tempfile
import unittest

from harness import BUILD

SOURCE = os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
BENCH = os.path.join(os.path.abspath(SOURCE), "bench", "tsdb")
SIZES = ["--symbols=2", "--per-symbol=3000", "--feed=3000", "--dense-hz=2"]
REPS = ["--last-n=20", "--range-n=2"]


def results(out):
    """The "result" lines as dicts; fails on a line that is not key=value pairs."""
    rows = []
    for line in out.splitlines():
        if line.startswith("result "):
            rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
        elif line and not line.startswith("#"):
            raise AssertionError("unexpected output line: %r" % line)
    return rows


class BenchTsdbTest(unittest.TestCase):
    def run_bench(self, argv, timeout=240):
        with tempfile.TemporaryDirectory(prefix="vigil-benchtsdb-") as tmp:
            p = subprocess.run(argv + ["--dir=" + tmp] + SIZES, capture_output=True,
                               text=True, timeout=timeout)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(os.listdir(tmp), [], "scratch left behind")
        print("\n" + p.stdout)
        return p.stdout, results(p.stdout)

    def check_figures(self, rows, sys_name, writes):
        got = {(r["what"], r.get("data"), r.get("threads")) for r in rows}
        want = {("size", "ticks", None), ("size", "feed", None), ("last", "ticks", None),
                ("range", "day1hz", None), ("range", "dense", None)} | writes
        self.assertEqual(want - got, set())
        for r in rows:
            self.assertEqual(r["sys"], sys_name)
            for k in ("pps", "bytes_per_point", "median_us", "p99_us", "median_ms", "p99_ms"):
                if k in r:
                    self.assertGreater(float(r[k]), 0, r)
        day = next(r for r in rows if r["what"] == "range" and r["data"] == "day1hz")
        self.assertEqual(day["points"], "86400")

    def report(self, out):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write(out)
            f.flush()
            p = subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), f.name],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("| ticks write, 1 writer |", p.stdout)
        return p.stdout

    def test_sqlite(self):
        writes = {("write", "ticks", "1"), ("write", "ticks", "2"), ("write", "feed", "1")}
        for layout in ("index", "clustered"):
            out, rows = self.run_bench([os.path.join(BUILD, "bench_tsdb_sqlite"),
                                        "--layout=" + layout] + REPS)
            self.check_figures(rows, "sqlite", writes)
        self.report(out)

    def test_store(self):
        binary = os.path.join(BUILD, "bench_tsdb_store")
        out, rows = self.run_bench([binary, "--sync=never,batch"] + REPS)
        writes = {("write", "ticks", "1"), ("write", "ticks", "2"), ("write", "feed", "1")}
        self.check_figures(rows, "vigil", writes)
        syncs = {r["sync"] for r in rows if r["what"] == "write" and r["data"] == "ticks"}
        self.assertEqual(syncs, {"never", "batch"})
        self.assertIn("| vigil |", self.report(out).splitlines()[0])

    def test_influxdb(self):
        if not os.access("/usr/bin/influxd", os.X_OK):
            self.skipTest("influxd not installed (Debian package influxdb)")
        out, rows = self.run_bench([sys.executable, os.path.join(BENCH, "influx.py"),
                                    "--gen=" + os.path.join(BUILD, "bench_tsdb_gen"),
                                    "--last-n=5", "--range-n=1"], timeout=280)
        writes = {("write", "ticks", "1"), ("write", "ticks", "2"), ("write", "feed", "1")}
        self.check_figures(rows, "influxdb", writes)
        self.report(out)


if __name__ == "__main__":
    unittest.main()
