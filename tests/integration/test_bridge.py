"""The scan bridge end to end (issue 14): Arrow files written by the official
implementation (apache-arrow, bench/arrow/gen.mjs) into a watched directory reach the
cache (the latest scan as a document, per-asset keys) and the store; a partial file
waits; a corrupt one is quarantined with its reason and the bridge goes on; scans out
of order do not move the latest back and a skipped number counts as a gap; a restart
does not read the files again (and publishes the latest again); a service with
`ready: {fresh: latest_eigen_scan}` waits for fresh data; a producer whose data goes
stale is warned about, then restarted."""
import json
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import LONG, VigilTest, wait_for

SOURCE = os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
GEN = os.path.join(SOURCE, "bench/arrow/gen.mjs")
NODE = shutil.which("node")


def gen(path, scan, assets=20, columns=6, ts_ms=None, stream=False):
    args = [NODE, GEN, path, "--assets", str(assets), "--columns", str(columns), "--scan", str(scan)]
    if stream:
        args.append("--stream")
    if ts_ms is not None:
        args += ["--ts", str(ts_ms)]
    subprocess.run(args, check=True, cwd=SOURCE, stdout=subprocess.DEVNULL)


CONFIG = """
bridges:
  eigen:
    dir: ./scans
    key: asset
    scan: scan
    time: ts
    document: latest_eigen_scan
    keys: true
    store: true
    measurement: eigen_scan
    rescan: 300ms
    settle: 30s
services:
  strategy:
    cmd: [sleep, "1000"]
    ready: {fresh: latest_eigen_scan, within: 30s, timeout: 2m, interval: 50ms}
"""


def metric(stack, name, bridge="eigen"):
    code, _, body = stack.http("GET", "/metrics")
    assert code == 200
    m = re.search(r'^%s\{bridge="%s"\} (\S+)$' % (re.escape(name), bridge), body.decode(), re.M)
    return float(m.group(1)) if m else None


@unittest.skipIf(NODE is None, "node is not installed: run scripts/deps.sh")
class Bridge(VigilTest):
    def setUp(self):
        super().setUp()
        if not os.path.isdir(os.path.join(SOURCE, "node_modules", "apache-arrow")):
            self.fail("node_modules/apache-arrow is missing: run scripts/deps.sh")

    def doc(self, stack):
        code, data = stack.request("GET", "/api/v1/cache/docs/latest_eigen_scan")
        return json.loads(data) if code == 200 else None

    def wait_scan(self, stack, scan):
        return wait_for(lambda: (lambda d: d if d and d.get("scan") == scan else None)(self.doc(stack)),
                        timeout=LONG, what=f"scan {scan} in the document")

    def points(self, stack, asset):
        r = stack.cli("query", f"eigen_scan,asset={asset}", "--field", "e0", "--from", "-1d", "--to", "+1d",
                      "--format", "json", check=0)
        out = json.loads(r.stdout)
        return sum(len(x["points"]) for x in out["series"])

    def test_end_to_end(self):
        s = self.stack(CONFIG)
        scans = os.path.join(s.dir, "scans")
        # the strategy waits: no data yet
        time.sleep(0.5)
        self.assertEqual(s.service("strategy")["state"], "starting")

        # a scan written (renamed into place) -> document, keys, store; the strategy is ready
        gen(os.path.join(scans, "scan-0100.arrow"), 100)
        d = self.wait_scan(s, 100)
        self.assertEqual(d["assets"], 20)
        self.assertEqual(sorted(d["values"]["A0003"]), ["e0", "e1", "e2"])
        s.wait_state("strategy", "ready", timeout=LONG)
        r = s.cli("cache", "get", "eigen_scan,asset=A0003.e0", "--json", check=0)
        self.assertIn("bridge:eigen", r.stdout)
        self.assertEqual(json.loads(r.stdout)[0]["value"], d["values"]["A0003"]["e0"])
        wait_for(lambda: self.points(s, "A0003") == 1, timeout=LONG, what="the store's point")

        # a partial file (still open, young) waits; completed and closed, it is read
        gen(os.path.join(s.dir, "full-0101.arrow"), 101)
        with open(os.path.join(s.dir, "full-0101.arrow"), "rb") as f:
            full = f.read()
        part = os.path.join(scans, "scan-0101.arrow")
        f = open(part, "wb")
        f.write(full[: len(full) // 2])
        f.flush()
        wait_for(lambda: (metric(s, "vigil_bridge_retries_total") or 0) >= 1, timeout=LONG,
                 what="the partial file to be tried and left for later")
        self.assertFalse(os.path.exists(os.path.join(scans, "quarantine", "scan-0101.arrow")))
        self.assertEqual(self.doc(s)["scan"], 100)
        f.write(full[len(full) // 2:])
        f.close()
        self.wait_scan(s, 101)

        # a corrupt file: quarantined with its reason; the bridge goes on
        with open(os.path.join(scans, "scan-0102.arrow"), "wb") as f:
            f.write(b"ARROW1\0\0" + os.urandom(300) + b"ARROW1")
        reason = os.path.join(scans, "quarantine", "scan-0102.arrow.reason")
        wait_for(lambda: os.path.exists(reason), timeout=LONG, what="the quarantine")
        with open(reason) as f:
            text = f.read()
        self.assertIn("scan-0102.arrow", text)
        self.assertRegex(text, r"byte \d+")
        self.assertFalse(os.path.exists(os.path.join(scans, "scan-0102.arrow")))
        self.assertEqual(metric(s, "vigil_bridge_quarantined_total"), 1)
        gen(os.path.join(scans, "scan-0103.arrow"), 103)
        self.wait_scan(s, 103)
        self.assertEqual(metric(s, "vigil_bridge_scan_gaps_total"), 1)  # 102 never came

        # out of order: an older scan does not move the latest back (its points are stored)
        gen(os.path.join(scans, "scan-0099.arrow"), 99, ts_ms=int(time.time() * 1000) - 60000)
        wait_for(lambda: metric(s, "vigil_bridge_out_of_order_total") == 1, timeout=LONG, what="out of order")
        self.assertEqual(self.doc(s)["scan"], 103)
        self.assertEqual(metric(s, "vigil_bridge_latest_scan"), 103)
        self.assertEqual(metric(s, "vigil_bridge_scans_total"), 4)
        self.assertEqual(metric(s, "vigil_bridge_assets"), 20)
        age = metric(s, "vigil_bridge_data_age_seconds")
        self.assertTrue(0 <= age < 30, age)
        st = s.status()["bridges"][0]  # document 000's status of the bridge
        self.assertEqual((st["name"], st["scans"], st["latest_scan"], st["assets"], st["gaps"], st["quarantined"]),
                         ("eigen", 4, 103, 20, 1, 1))
        self.assertIn("scan-0102.arrow", st["last_error"])
        self.assertIn("BRIDGE", s.cli("status", check=0).stdout)
        h = re.search(r'^vigil_bridge_update_seconds_count\{bridge="eigen"\} (\d+)', s.http("GET", "/metrics")[2].decode(), re.M)
        self.assertGreaterEqual(int(h.group(1)), 3)
        wait_for(lambda: self.points(s, "A0003") == 4, timeout=LONG, what="four scans' points")

        # a restart reads nothing again, and publishes the latest scan again
        s.stop()
        s.start()
        d = self.wait_scan(s, 103)
        self.assertEqual(d["assets"], 20)
        time.sleep(1.0)  # a few rescans
        self.assertEqual(metric(s, "vigil_bridge_scans_total"), 0)
        self.assertEqual(metric(s, "vigil_bridge_quarantined_total"), 0)
        self.assertEqual(self.points(s, "A0003"), 4)
        started = [e for e in s.events() if e.get("msg") == "bridge started"]
        self.assertEqual(started[-1]["recorded"], 5)  # 100, 101, 102 (quarantined), 103, 99
        gen(os.path.join(scans, "scan-0104.arrow"), 104)
        self.wait_scan(s, 104)
        self.assertEqual(metric(s, "vigil_bridge_scan_gaps_total"), 0)

        # restarted when the latest scan is old: not published again, so the strategy,
        # which wants fresh data, waits
        s.stop()
        old_t = time.time() - 3600
        os.utime(os.path.join(scans, "scan-0104.arrow"), (old_t, old_t))
        s.start()
        time.sleep(1.0)
        self.assertIsNone(self.doc(s))
        self.assertEqual(s.service("strategy")["state"], "starting")
        self.assertIn("not in the cache yet", s.service("strategy").get("reason", "") + json.dumps(s.service("strategy")))
        gen(os.path.join(scans, "scan-0105.arrow"), 105)
        self.wait_scan(s, 105)
        s.wait_state("strategy", "ready", timeout=LONG)

        # the stream format reads the same
        before = self.points(s, "A0003")
        gen(os.path.join(scans, "scan-0106.arrow"), 106, stream=True)
        d = self.wait_scan(s, 106)
        self.assertEqual(d["assets"], 20)
        wait_for(lambda: self.points(s, "A0003") == before + 1, timeout=LONG, what="the stream scan's points")

    def test_stale_producer_is_warned_then_restarted(self):
        # document 000's rules, scaled down: warning after 1s, restart after 2s
        s = self.stack(f"""
bridges:
  eigen:
    dir: ./scans
    key: asset
    scan: scan
    time: ts
    document: latest_eigen_scan
    rescan: 200ms
services:
  producer:
    cmd: ["{NODE}", "{os.path.join(SOURCE, 'examples/scan-bridge/producer.mjs')}", ./scans, "--every", "200ms",
          "--assets", "10", "--columns", "5", "--pause-file", ./pause]
    stale: {{fresh: latest_eigen_scan, warn: 1s, restart: 2s}}
    restart: {{delay: 200ms, max_restarts: 3, window: 1m}}
""")
        wait_for(lambda: self.doc(s), timeout=LONG, what="the first scan")
        pid = s.service("producer")["pid"]
        # the producer hangs (alive, writing nothing): warning, then a restart; the new
        # run writes again (the pause file is older than it)
        open(os.path.join(s.dir, "pause"), "w").close()
        wait_for(lambda: [e for e in s.events() if e.get("msg") == "service data is stale"], timeout=LONG,
                 what="the staleness warning")
        wait_for(lambda: [e for e in s.events() if e.get("msg") == "service data too old: restarting"],
                 timeout=LONG, what="the restart")
        wait_for(lambda: (lambda v: v if v and v["pid"] != pid and v["state"] == "ready" else None)(s.service("producer")),
                 timeout=LONG, what="the producer's new run")
        before = self.doc(s)["scan"]
        wait_for(lambda: self.doc(s)["scan"] > before, timeout=LONG, what="fresh scans again")


if __name__ == "__main__":
    unittest.main()
