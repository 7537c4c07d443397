"""Crash → restart, backoff growth and reset, fatal after N in the window, exit-code
rules, and 1,000 crash/restart cycles without leaking fds or memory."""
import os
import signal
import statistics
import time

from harness import SIM, VigilTest, open_fds, proc_status, wait_for


def read_stamps(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [tuple(int(x) for x in line.split()) for line in f if line.strip()]


class RestartTest(VigilTest):
    def test_crash_restarts_at_once_with_zero_delay(self):
        stamps = "@DIR@/stamps"
        s = self.stack(f"""
        services:
          feed:
            cmd: ["@SIM@", --stamp, "{stamps}"]
            restart: {{policy: always, delay: 0, max_restarts: 0}}
            log: {{capture: false}}
        """)
        stamps = os.path.join(s.dir, "stamps")
        latencies = []
        for i in range(20):
            wait_for(lambda: len(read_stamps(stamps)) == i + 1, what="stamp")
            pid = read_stamps(stamps)[-1][0]
            wait_for(lambda: s.service("feed")["pid"] == pid, what="pid in status")
            t0 = time.monotonic_ns()
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: len(read_stamps(stamps)) == i + 2, interval=0.0005, what="replacement")
            latencies.append((read_stamps(stamps)[-1][1] - t0) / 1e6)
        info = s.service("feed")
        self.assertEqual(info["state"], "ready")
        self.assertEqual(info["restarts"], 20)
        self.assertEqual(info["last_exit"], {"code": None, "signal": "KILL"})
        print(f"\nrestart latency (SIGKILL → replacement exec'd), ms: "
              f"median {statistics.median(latencies):.2f} min {min(latencies):.2f} max {max(latencies):.2f}")

    def test_backoff_grows_then_fatal_after_max_restarts(self):
        s = self.stack("""
        services:
          crasher:
            cmd: ["@SIM@", --exit-after, 0ms, --exit-code, "3"]
            restart: {delay: 100ms, max_delay: 400ms, jitter: 0, max_restarts: 4, window: 60s}
        """)
        s.wait_state("crasher", "fatal", timeout=15)
        info = s.service("crasher")
        self.assertEqual(info["restarts"], 4)
        self.assertEqual(info["last_exit"], {"code": 3, "signal": None})
        self.assertIn("gave up after 4 restarts within 60s", info["reason"])
        delays = [e["delay_seconds"] for e in s.events() if e.get("msg") == "service will restart after backoff"]
        self.assertEqual(delays, [0.1, 0.2, 0.4, 0.4])
        self.assertTrue(any(e["level"] == "error" and e.get("service") == "crasher" for e in s.events()))
        # fatal stays down until started by hand; start clears the history
        time.sleep(0.5)
        self.assertEqual(s.service("crasher")["state"], "fatal")
        s.cli("start", "crasher", check=0)
        wait_for(lambda: len([e for e in s.events() if e.get("msg") == "service started"]) >= 6,
                 what="a fresh start")

    def test_backoff_resets_after_staying_ready(self):
        s = self.stack("""
        services:
          flappy:
            cmd: ["@SIM@"]
            restart: {delay: 100ms, max_delay: 10s, jitter: 0, reset_after: 300ms, max_restarts: 0}
        """)
        def kill_and_delay():
            pid = s.wait_state("flappy", "ready")["pid"]
            n = len([e for e in s.events() if e.get("msg") == "service will restart after backoff"])
            os.kill(pid, signal.SIGKILL)
            ev = wait_for(lambda: [e for e in s.events() if e.get("msg") == "service will restart after backoff"][n:],
                          what="backoff event")
            return ev[0]["delay_seconds"]
        self.assertEqual(kill_and_delay(), 0.1)
        self.assertEqual(kill_and_delay(), 0.2)  # killed again soon after ready: growth
        self.assertEqual(kill_and_delay(), 0.4)
        s.wait_state("flappy", "ready")
        time.sleep(0.5)  # ready longer than reset_after
        self.assertEqual(kill_and_delay(), 0.1)

    def test_no_restart_exit_codes_and_policies(self):
        s = self.stack("""
        services:
          done:
            cmd: ["@SIM@", --exit-after, 50ms, --exit-code, "42"]
            no_restart_exit_codes: [42]
            restart: {delay: 0}
          clean:
            cmd: ["@SIM@", --exit-after, 50ms, --exit-code, "0"]
            restart: {policy: on-failure, delay: 0}
          dirty:
            cmd: ["@SIM@", --exit-after, 50ms, --exit-code, "1"]
            restart: {policy: on-failure, delay: 50ms, max_restarts: 2}
          once:
            cmd: ["@SIM@", --exit-after, 50ms, --exit-code, "1"]
            restart: never
        """)
        for name in ("done", "clean", "once"):
            info = s.wait_state(name, "stopped")
            self.assertEqual(info["restarts"], 0, name)
        self.assertIn("no_restart_exit_codes", s.service("done")["reason"])
        self.assertEqual(s.service("done")["last_exit"]["code"], 42)
        self.assertEqual(s.wait_state("dirty", "fatal")["restarts"], 2)

    def test_thousand_crash_cycles_leave_fds_and_rss_flat(self):
        s = self.stack("""
        services:
          crashy:
            cmd: [sh, -c, "echo hello; exit 1"]
            restart: {delay: 0, max_restarts: 0}
        """)
        vpid = s.proc.pid

        def restarts():
            return s.service("crashy")["restarts"]

        def quiet_footprint():
            # measured with the service stopped, so no pipe of a run is in flight
            s.cli("stop", "crashy", check=0)
            s.wait_state("crashy", "stopped", timeout=30)
            # the last run's output pipes reach EOF and close; on a loaded machine that
            # can take more than a second: wait until the count holds for a second
            last, held = open_fds(vpid), time.monotonic()
            deadline = time.monotonic() + 30
            while time.monotonic() - held < 1.0 and time.monotonic() < deadline:
                time.sleep(0.1)
                now = open_fds(vpid)
                if now != last:
                    last, held = now, time.monotonic()
            return last, proc_status(vpid, "VmRSS")

        wait_for(lambda: restarts() >= 100, timeout=120, what="100 restarts")
        fds0, rss0 = quiet_footprint()
        base = restarts()
        s.cli("start", "crashy", check=0)
        wait_for(lambda: restarts() >= base + 1000, timeout=600, interval=0.2, what="1000 more restarts")
        fds1, rss1 = quiet_footprint()
        print(f"\nafter {restarts()} restarts: fds {fds0} -> {fds1}, RSS {rss0} kB -> {rss1} kB")
        self.assertEqual(fds1, fds0)
        if os.environ.get("VIGIL_SANITIZED") != "1":
            # (ASan's quarantine holds freed memory on purpose: RSS says nothing there)
            self.assertLess(rss1 - rss0, 512, "RSS grew by more than 512 KiB over 1000 restarts")

if __name__ == "__main__":
    import unittest
    unittest.main()
