"""vigil in a hostile environment. DiskFullTest: the store's state_dir on a 4 MiB tmpfs
that a filler file fills up; writes must be refused (never acknowledged and lost), the
daemon must say so once, count it and turn /readyz not ready, then recover by itself
when the space is back — and nothing acknowledged may be missing after a kill -9."""
import errno
import json
import os
import re
import signal
import subprocess
import time

from harness import Stack, VigilTest, feed_status, free_port, run_feed, wait_for

NS = 10**9


def metric(text, name):
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


class DiskFullTest(VigilTest):
    def mount_tmpfs(self, path, size="4m"):
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a {size} tmpfs on {path} (needs root or "
                          f"CAP_SYS_ADMIN): {r.stderr.strip()}")
        self.addCleanup(lambda: subprocess.run(["umount", "-l", path], capture_output=True))

    def test_store_refuses_writes_while_full_and_recovers_when_space_returns(self):
        st = Stack("store: {sync: batch}\nservices: {}\n")
        self.mount_tmpfs(st.state_dir)
        self.stacks.append(st)
        st.start()
        wait_for(lambda: st.http("GET", "/readyz")[0] == 200, what="ready at start")

        base = int(time.time()) - 3600
        acked = {}  # series tag -> timestamps (s) of points whose write was acknowledged
        seq = [0]

        def write(sym="A", n=40):
            ts = [base + seq[0] + i for i in range(n)]
            seq[0] += n
            body = "".join(f"px,sym={sym} v={t % 1000}.5 {t}\n" for t in ts)
            code, data = st.request("POST", "/write?precision=s", body=body)
            if code == 204:
                acked.setdefault(sym, []).extend(ts)
            return code, data

        for _ in range(20):
            self.assertEqual(write()[0], 204)

        # Fill the file system.
        filler = os.path.join(st.state_dir, "filler")
        self.fill(filler)
        # The log's last page may still take a few batches; then writes are refused.
        refused = None
        for _ in range(400):
            code, data = write()
            if code != 204:
                refused = (code, data)
                break
        self.assertIsNotNone(refused, "writes still acknowledged on a full disk")
        self.assertGreaterEqual(refused[0], 500, refused)
        self.assertIn(b"No space left on device", refused[1])
        # A new series while full: refused too (its key cannot be logged).
        self.assertNotEqual(write(sym="NEW")[0], 204)
        for _ in range(50):
            self.assertNotEqual(write()[0], 204)

        code, _, body = st.http("GET", "/readyz")
        self.assertEqual(code, 503, body)
        self.assertIn(b"store", body)
        self.assertIn(b"No space left on device", body)
        m = st.http("GET", "/metrics")[2].decode()
        self.assertEqual(metric(m, "vigil_store_writable"), 0)
        time.sleep(1.5)  # retries happen meanwhile; they must not flood the log

        # Space is back: the store recovers by itself, no restart.
        os.unlink(filler)
        t0 = time.monotonic()
        wait_for(lambda: st.http("GET", "/readyz")[0] == 200, timeout=10,
                 what="/readyz 200 once space is back")
        print(f"\ndisk full: ready again {time.monotonic() - t0:.2f}s after space came back; "
              f"{sum(map(len, acked.values()))} points acknowledged")
        for _ in range(5):
            self.assertEqual(write()[0], 204)
        self.assertEqual(write(sym="NEW")[0], 204)
        m = st.http("GET", "/metrics")[2].decode()
        self.assertGreaterEqual(metric(m, "vigil_store_wal_recoveries_total"), 1)
        self.assertEqual(metric(m, "vigil_store_writable"), 1)

        logs = st.logs_text()
        failed = logs.count("log write failed")
        recovered = logs.count("log recovered")
        self.assertGreaterEqual(failed, 1)
        self.assertLessEqual(failed, 2, "the failure is said once per log")  # data and series log
        self.assertGreaterEqual(recovered, 1)
        self.assertLessEqual(recovered, 2)
        self.assertLess(len(logs.splitlines()), 200, "the log was flooded")

        # Nothing acknowledged is lost, even after a kill -9 and a replay.
        st.stop(signal.SIGKILL)
        st.start()
        for sym, ts in acked.items():
            r = st.cli("query", f"px,sym={sym}", "--field", "v", "--from", str(base),
                       "--to", "now", "--format", "json", check=0)
            got = [p[0] // NS for p in json.loads(r.stdout)["series"][0]["points"]]
            self.assertEqual(got, sorted(ts), f"sym={sym}: acknowledged points missing or extra")

    def fill(self, path):
        with open(path, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as e:
                self.assertEqual(e.errno, errno.ENOSPC)

    def test_a_feed_on_a_full_disk_does_not_flood_the_log(self):
        """Issue 17 item 10: a feed's batches refused by a full store were logged one line
        each (thousands); now one line every 10 s with the count, and the feed's points
        are written again once space is back."""
        port = free_port()
        st = Stack(f"""
            store: {{sync: batch}}
            feeds:
              ticks:
                bind: tcp://127.0.0.1:{port}
                socket: pull
            services: {{}}
            """)
        self.mount_tmpfs(st.state_dir)
        self.stacks.append(st)
        st.start()
        filler = os.path.join(st.state_dir, "filler")
        self.fill(filler)
        sent = run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", "20000", "--duration",
                        "3s", "--symbols", "5")
        self.assertGreater(sent["points"], 10000)
        wait_for(lambda: feed_status(st, "ticks")["messages"] >= sent["sent"], timeout=20,
                 what="the feed took every message")
        refused = st.logs_text().count("the store refused a batch")
        print(f"\nfull disk: {sent['sent']} messages sent while full, {refused} log lines about refused batches")
        self.assertGreaterEqual(refused, 1)
        self.assertLessEqual(refused, 2, "one line per refused batch floods the log")
        self.assertNotEqual(feed_status(st, "ticks")["points"], sent["points"])
        before = feed_status(st, "ticks")["points"]
        os.unlink(filler)
        wait_for(lambda: st.http("GET", "/readyz")[0] == 200, timeout=10, what="ready again")
        again = run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", "5000", "--count",
                         "2000", "--symbols", "5")
        wait_for(lambda: feed_status(st, "ticks")["points"] >= before + again["points"],
                 timeout=20, what="the feed's points written again")


if __name__ == "__main__":
    import unittest
    unittest.main()
