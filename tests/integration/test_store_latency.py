"""The daemon's loop stays responsive while the store works: a compaction, an import of a
million points and a query of ten million values run at once through the daemon, while
the test polls the status route on the control socket (what `vigil status` asks) and
measures the worst answer time. Store work runs on the loop's thread pool and the answer
is sent when it is done (src/http/job.c); before that, each of these stalled the loop for
seconds. The bound asserted is loose (1 s: a loaded 2-core machine, sanitizer builds;
a tenth of the store work's time when the machine is so loaded that the work takes
minutes); the measured figures are printed. Run against the loop-thread routes it failed: worst
status answer 8.4 s, `vigil status` 8.8 s."""
import os
import subprocess
import threading
import time

from harness import SANITIZED, VIGIL, UnixHTTPConnection, VigilTest

T0 = 1700000000
FIELDS = 10
# ten million values to query, a million to import (a tenth under the sanitizers)
SCALE = 10 if SANITIZED else 1
LINES_BIG = 1_000_000 // SCALE     # x 10 fields
LINES_IMPORT = 100_000 // SCALE    # x 10 fields


def write_lp(path, measurement, lines, tags=10):
    vals = [",".join(f"f{k}={v + k}" for k in range(FIELDS)) for v in range(997)]
    with open(path, "w") as f:
        chunk = []
        for i in range(lines):
            chunk.append(f"{measurement},s={i % tags} {vals[i % 997]} {T0 + i}\n")
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


class StoreLatencyTest(VigilTest):
    def test_status_answers_while_the_store_works(self):
        st = self.stack("services: {}\n", token="store-latency-token-0123456789")
        big = os.path.join(st.dir, "big.lp")
        imp = os.path.join(st.dir, "imp.lp")
        write_lp(big, "big", LINES_BIG)
        write_lp(imp, "imp", LINES_IMPORT)
        r = st.cli("store", "import", big, "--precision", "s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"imported {LINES_BIG * FIELDS} points", r.stdout)

        lat = []  # (seconds, status) of each status request while the jobs run
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                t = time.monotonic()
                c = UnixHTTPConnection(st.socket_path, timeout=60)
                c.request("GET", "/api/v1/status")
                resp = c.getresponse()
                resp.read()
                c.close()
                lat.append((time.monotonic() - t, resp.status))
                time.sleep(0.01)

        cli_lat = []  # wall time of `vigil status` runs meanwhile, process start included

        def poll_cli():
            while not stop.is_set():
                t = time.monotonic()
                r = subprocess.run([VIGIL, "-c", st.config_path, "status"], capture_output=True,
                                   timeout=60)
                cli_lat.append((time.monotonic() - t, r.returncode))
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        cli_poller = threading.Thread(target=poll_cli)
        base = [VIGIL, "-c", st.config_path]
        t_start = time.monotonic()
        poller.start()
        cli_poller.start()
        out, took = {}, {}
        try:
            jobs = {
                "compact": subprocess.Popen(base + ["store", "compact"], stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True),
                "import": subprocess.Popen(base + ["store", "import", imp, "--precision=s"],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True),
                "query": subprocess.Popen(base + ["query", "big", "--from", str(T0), "--to",
                                                  str(T0 + LINES_BIG), "--every", "1d", "--agg",
                                                  "count", "--format", "csv"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True),
            }
            deadline = time.monotonic() + 240
            while len(took) < len(jobs) and time.monotonic() < deadline:
                for name, p in jobs.items():
                    if name not in took and p.poll() is not None:
                        took[name] = time.monotonic() - t_start
                time.sleep(0.01)
        finally:
            stop.set()
            poller.join()
            cli_poller.join()
        for name, p in jobs.items():
            out[name] = p.communicate(timeout=60)
        self.assertTrue(lat)
        self.assertTrue(cli_lat)
        worst = max(s for s, _ in lat)
        during = sorted(s for s, _ in lat)
        cli_worst = max(s for s, _ in cli_lat)
        print(f"\nstore jobs (finished after): " +
              ", ".join(f"{k} {v:.2f} s" for k, v in took.items()) +
              f"; import of {LINES_IMPORT * FIELDS} points, query of {LINES_BIG * FIELDS} values")
        print(f"status route meanwhile: {len(lat)} answers, median "
              f"{during[len(during) // 2] * 1e3:.1f} ms, worst {worst * 1e3:.1f} ms")
        print(f"`vigil status` runs meanwhile: {len(cli_lat)}, worst {cli_worst * 1e3:.1f} ms "
              "(process start included)")
        # Under 1 s; on a machine so loaded that the store work itself takes minutes, under
        # a tenth of the longest job — the loop-thread routes held the loop for a whole job
        # (worst answer = the longest job's time), so they fail either bound.
        longest = max(took.values())
        self.assertLess(worst, max(1.0, longest / 10))
        # a process start, too: slow under the sanitizers (~0.5 s idle)
        self.assertLess(cli_worst, max(6.0 if SANITIZED else 3.0, longest / 5))
        for name, p in jobs.items():
            self.assertEqual(p.returncode, 0, f"{name}: {out[name]}")
        self.assertIn('"action": "compact"', out["compact"][0])
        self.assertIn(f"imported {LINES_IMPORT * FIELDS} points", out["import"][0])
        rows = out["query"][0].strip().splitlines()[1:]
        self.assertEqual(sum(int(float(r.rsplit(",", 1)[1])) for r in rows), LINES_BIG * FIELDS)
        self.assertTrue(all(s == 200 for _, s in lat))
        self.assertTrue(all(rc == 0 for _, rc in cli_lat))
        # the CLI verb itself, once the loop is idle again
        t = time.monotonic()
        r = st.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        print(f"vigil status after the jobs: {(time.monotonic() - t) * 1e3:.1f} ms")
        # shutdown while a long query over TCP waits for its answer (a suspended
        # connection waiting for a job): vigil stops cleanly, the client gets 503 or a close
        got = []

        def tcp_query():
            try:
                got.append(st.http("GET", f"/api/v1/query?q=big&from={T0}&to={T0 + LINES_BIG}"
                                          "&every=1h&agg=max")[0])
            except Exception as e:  # the connection closed by the shutdown
                got.append(type(e).__name__)

        q = threading.Thread(target=tcp_query)
        q.start()
        time.sleep(0.3)
        t = time.monotonic()
        self.assertEqual(st.stop(), 0)
        q.join(60)
        print(f"shutdown during a TCP query: {(time.monotonic() - t) * 1e3:.0f} ms, client got {got}")
        self.assertTrue(got)
        self.assertIn(got[0], (200, 503, "RemoteDisconnected", "ConnectionResetError"))


if __name__ == "__main__":
    import unittest
    unittest.main()
