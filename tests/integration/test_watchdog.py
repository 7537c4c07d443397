"""Watchdog: a service that pings in time stays ready; one that stops pinging is
stopped and restarted as a failure; $NOTIFY_SOCKET (and $WATCHDOG_USEC) reach only the
services that use notify or a watchdog, never vigil's own."""
import os
import re
import stat
import time

from harness import LONG, event_index, events_named, VigilTest, pid_alive, wait_for


MISSED = "service missed its watchdog"



def log_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


class WatchdogTest(VigilTest):
    def test_pinging_service_stays_ready(self):
        s = self.stack("""
        services:
          bot:
            cmd: ["@SIM@", --watchdog, 200ms]
            watchdog: 1s
        """)
        info = s.wait_state("bot", "ready", timeout=LONG)
        pid = info["pid"]
        p0 = info["watchdog_pings"]
        wait_for(lambda: s.service("bot")["watchdog_pings"] >= p0 + 5, timeout=LONG,
                 what="5 more watchdog pings")
        time.sleep(2.5)  # several watchdog periods
        info = s.service("bot")
        self.assertEqual(info["state"], "ready")
        self.assertEqual(info["pid"], pid)
        self.assertEqual(info["restarts"], 0)
        self.assertIsNone(info["reason"])
        self.assertGreater(info["watchdog_pings"], p0 + 5)
        self.assertEqual(events_named(s, MISSED), [])
        self.assertEqual(len(events_named(s, "service started", "bot")), 1)

    def test_hung_service_is_restarted(self):
        s = self.stack("""
        services:
          bot:
            cmd: ["@SIM@", --watchdog, 200ms, --hang-after, 1s]
            watchdog: 1s
            restart: {delay: 2s, jitter: 0, max_restarts: 0}
        """)
        first = s.wait_state("bot", "ready", timeout=LONG)
        pid = first["pid"]
        self.assertEqual(first["restarts"], 0)
        wait_for(lambda: s.service("bot")["watchdog_pings"] >= 2, timeout=LONG, what="pings")
        # it hangs after 1s: the watchdog stops it and it backs off before the next run
        info = s.wait_state("bot", "backoff", timeout=LONG)
        self.assertGreaterEqual(info["restarts"], 1)
        self.assertIn("watchdog", info["reason"])
        self.assertIsNone(info["pid"])
        self.assertFalse(pid_alive(pid))
        missed = events_named(s, MISSED, "bot")
        self.assertEqual(len(missed), 1)
        self.assertEqual(missed[0]["pid"], pid)
        self.assertEqual(missed[0]["watchdog_seconds"], 1.0)
        backoff = events_named(s, "service will restart after backoff", "bot")
        self.assertEqual(len(backoff), 1)
        self.assertEqual(backoff[0]["delay_seconds"], 2.0)
        self.assertEqual(info["last_exit"], {"code": None, "signal": "TERM"})
        # then a new run comes up
        info = wait_for(lambda: (lambda i: i if i["state"] == "ready" and i["pid"] not in (None, pid)
                                 else None)(s.service("bot")), timeout=LONG, what="a new run")
        self.assertGreaterEqual(info["restarts"], 1)
        started = [e["pid"] for e in events_named(s, "service started", "bot")]
        self.assertEqual(started[:2], [pid, info["pid"]])
        # which hangs in turn and is restarted again
        wait_for(lambda: s.service("bot")["restarts"] >= 2, timeout=LONG, what="a second restart")
        self.assertGreaterEqual(len(events_named(s, MISSED, "bot")), 2)

    def test_watchdog_is_a_failure_for_the_restart_policy(self):
        # on-failure restarts after a missed watchdog; fatal after max_restarts
        s = self.stack("""
        services:
          bot:
            cmd: ["@SIM@", --watchdog, 100ms, --hang-after, 300ms]
            watchdog: 500ms
            restart: {policy: on-failure, delay: 100ms, jitter: 0, max_restarts: 2, window: 10m}
        """)
        info = s.wait_state("bot", "fatal", timeout=LONG * 2)
        self.assertEqual(info["restarts"], 2)
        self.assertIn("gave up after 2 restarts", info["reason"])
        self.assertEqual(len(events_named(s, MISSED, "bot")), 3)

    def test_notify_socket_only_for_notify_and_watchdog_services(self):
        script = 'echo "NS=$NOTIFY_SOCKET WU=$WATCHDOG_USEC"; exec sleep 100'
        # vigil's own NOTIFY_SOCKET (as under systemd) must never leak into a service
        outer = "/nonexistent-vigil-test/notify.sock"
        s = self.stack(f"""
        services:
          plain:
            cmd: [sh, -c, '{script}']
          dog:
            cmd: [sh, -c, '{script}']
            watchdog: 10m
          notifier:
            cmd: [sh, -c, '{script}']
            ready: {{notify: true, timeout: 10m}}
        """, env={"NOTIFY_SOCKET": outer, "WATCHDOG_USEC": "30000000"})
        logs = os.path.join(s.state_dir, "logs")

        def captured(name):
            lines = [l for l in log_lines(os.path.join(logs, f"{name}.log")) if " NS=" in l]
            return lines[0] if lines else None

        got = {n: wait_for(lambda: captured(n), timeout=LONG, what=f"{n}'s NS= line")
               for n in ("plain", "dog", "notifier")}
        line_re = re.compile(r"^\S+ stdout NS=(\S*) WU=(\S*)$")
        parsed = {}
        for n, line in got.items():
            m = line_re.match(line)
            self.assertIsNotNone(m, f"{n}: unexpected log line {line!r}")
            parsed[n] = m.groups()

        self.assertEqual(parsed["plain"], ("", ""), "plain service got a notify socket")
        for n in ("dog", "notifier"):
            ns = parsed[n][0]
            self.assertNotEqual(ns, "", f"{n} got no NOTIFY_SOCKET")
            self.assertNotEqual(ns, outer, f"{n} got vigil's own NOTIFY_SOCKET")
            self.assertTrue(ns.startswith(s.state_dir + "/"), ns)
            self.assertTrue(stat.S_ISSOCK(os.stat(ns).st_mode), f"{ns} is not a socket")
        self.assertNotEqual(parsed["dog"][0], parsed["notifier"][0], "services share a socket")
        self.assertEqual(parsed["dog"][1], str(10 * 60 * 1000 * 1000))
        self.assertEqual(parsed["notifier"][1], "")

        # the same lines through `vigil logs`
        for n in ("plain", "dog", "notifier"):
            r = s.cli("logs", n, check=0)
            lines = [l for l in r.stdout.splitlines() if " NS=" in l]
            self.assertEqual(len(lines), 1, r.stdout)
            m = line_re.match(lines[0])
            self.assertIsNotNone(m, lines[0])
            self.assertEqual(m.groups(), parsed[n], n)
            self.assertEqual(s.service(n)["log_file"], os.path.join(logs, f"{n}.log"))

        self.assertEqual(s.service("plain")["state"], "ready")
        self.assertEqual(s.service("dog")["state"], "ready")
        self.assertEqual(s.service("notifier")["state"], "starting")

    def test_notify_socket_goes_when_reload_drops_the_watchdog(self):
        script = 'echo "NS=$NOTIFY_SOCKET"; exec sleep 100'
        config = """
        services:
          dog:
            cmd: [sh, -c, '{script}']
        {extra}"""
        s = self.stack(config.format(script=script, extra="    watchdog: 10m\n"))
        first = s.wait_state("dog", "ready", timeout=LONG)
        log = os.path.join(s.state_dir, "logs", "dog.log")
        ns_lines = lambda: [l.split(" NS=", 1)[1] for l in log_lines(log) if " NS=" in l]
        wait_for(lambda: len(ns_lines()) == 1, timeout=LONG, what="the first run's NS= line")
        self.assertNotEqual(ns_lines()[0], "")
        # the new definition has neither watchdog nor notify: its runs get no socket
        s.write_config(config.format(script=script, extra=""))
        r = s.cli("reload", check=0)
        self.assertIn("dog", r.stdout.splitlines()[2], r.stdout)  # "changed    dog"
        wait_for(lambda: (lambda i: i["state"] == "ready" and i["pid"] not in (None, first["pid"]))(
            s.service("dog")), timeout=LONG, what="the restarted run")
        wait_for(lambda: len(ns_lines()) == 2, timeout=LONG, what="the second run's NS= line")
        self.assertEqual(ns_lines()[1], "", "a service without notify/watchdog got NOTIFY_SOCKET")


if __name__ == "__main__":
    import unittest
    unittest.main()
