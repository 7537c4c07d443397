"""Smoke test of the ingest benchmark (bench/ingest, docs/BENCHMARKS.md "Ingest"), so
that its scripts cannot rot: ingest.py runs every contender on a short stream (long
enough for its halves to be timed at 10 ms polls) and must print a full table, and threads.py must report the feed's threads. Speed is never
asserted: rates only have to be positive."""
import os
import re
import shutil
import subprocess
import sys
import unittest

from harness import BUILD

SOURCE = os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
BENCH = os.path.join(os.path.abspath(SOURCE), "bench", "ingest")
ROW = re.compile(r"^(?P<what>.+?)\s+(?P<pubs>\d+)\s+(?P<points>\d+)\s+(?P<r1>[\d,]+)\s+"
                 r"(?P<r2>[\d,]+)\s+[\d.]+-[\d.]+M\s+\d+%\s+\d+%$")


class BenchIngestTest(unittest.TestCase):
    def test_ingest_table(self):
        env = dict(os.environ, BENCH_MESSAGES="200000", BENCH_REPEAT="1", BENCH_INFLUX_POINTS="2000")
        p = subprocess.run([sys.executable, os.path.join(BENCH, "ingest.py"), BUILD],
                           capture_output=True, text=True, timeout=240, env=env)
        print("\n" + p.stdout)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [ROW.match(line).groupdict() for line in p.stdout.splitlines()
                if line and not line.startswith(("#", "scenario", "influxd: not installed"))]
        whats = {(r["what"].split(":")[0].split(" ")[0], r["pubs"]) for r in rows}
        want = {(w, n) for w in ("zeromq", "vigil") for n in ("1", "4")}
        if shutil.which("influxd"):
            want |= {("influxd", "1"), ("influxd", "4")}
        self.assertEqual(want - whats, set())
        stores = [r for r in rows if "-> store" in r["what"]]
        self.assertEqual(len(stores), 2, "the store took part in both scenarios")
        for r in rows:
            self.assertGreater(int(r["r1"].replace(",", "")), 0, r)
            self.assertGreater(int(r["r2"].replace(",", "")), 0, r)
        for r in stores:
            self.assertEqual(r["points"], "400000")  # both halves, every point written

    def test_threads(self):
        env = dict(os.environ, WARM="5000")
        # enough points that the feed thread spends several clock ticks (10 ms): a thread
        # that spent less than one is not listed
        p = subprocess.run([sys.executable, os.path.join(BENCH, "threads.py"), BUILD, "200000"],
                           capture_output=True, text=True, timeout=120, env=env)
        print("\n" + p.stdout)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"# 200000 points \(1 publisher\(s\), 1 per message\)")
        self.assertRegex(p.stdout, r"\nfeed-bench\s+[\d.]+\s+\d+\s+\d+")


if __name__ == "__main__":
    unittest.main()
