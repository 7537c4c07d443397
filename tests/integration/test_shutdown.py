"""Shutdown: SIGTERM stops services in reverse dependency order; a child that ignores
SIGTERM is SIGKILLed after its stop timeout; no process of a service (grandchildren in
its process group or escaped from it) outlives vigil; `vigil down`, `vigil stop` and
`vigil restart`; a second SIGINT during a slow shutdown kills at once."""
import os
import signal
import subprocess
import time

from harness import LONG, event_index, events_named, VigilTest, free_port, wait_for





def proc_stat(pid):
    """(ppid, pgid, starttime) of pid, or None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[2]), int(fields[19])


class Proc:
    """A process identified by pid and start time, so a recycled pid is not mistaken
    for it."""

    def __init__(self, pid):
        st = proc_stat(pid)
        assert st is not None, f"process {pid} is not running"
        self.pid, self.pgid, self.start = pid, st[1], st[2]

    def alive(self):
        st = proc_stat(self.pid)
        return st is not None and st[2] == self.start

    def __repr__(self):
        return f"Proc({self.pid})"


def children_of(pid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[0] == pid:
            out.append(int(name))
    return sorted(out)


def wait_exit(stack, timeout=60):
    try:
        return stack.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("vigil did not exit:\n" + stack.logs_text()[-4000:])


class ShutdownTest(VigilTest):
    def ready_all(self, s, names, timeout=LONG):
        return {n: s.wait_state(n, "ready", timeout=timeout) for n in names}

    def test_sigterm_stops_in_reverse_dependency_order(self):
        # bot -> feed -> db; the bot is slow to stop, so its dependencies must wait for it
        s = self.stack("""
        services:
          db:
            cmd: ["@SIM@"]
          feed:
            cmd: ["@SIM@"]
            depends_on: [db]
          bot:
            cmd: ["@SIM@", --ignore-term, --notify]
            ready: {notify: true}
            depends_on: [feed]
            stop: {timeout: 700ms}
          cache:
            cmd: ["@SIM@"]
            depends_on: [db]
        """)
        infos = self.ready_all(s, ["db", "feed", "bot", "cache"])
        procs = {n: Proc(i["pid"]) for n, i in infos.items()}
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(wait_exit(s), 0)
        for dependent, dependency in (("bot", "feed"), ("feed", "db"), ("cache", "db")):
            self.assertLess(event_index(s, "service stopped", dependent),
                            event_index(s, "stopping service", dependency),
                            f"{dependency} was asked to stop while {dependent} still ran")
        for n in ("db", "feed", "bot", "cache"):
            self.assertEqual(len(events_named(s, "stopping service", n)), 1, n)
            self.assertEqual(len(events_named(s, "service stopped", n)), 1, n)
        # the top of the graph is asked first, before anything else is stopped
        first_stop = min(event_index(s, "stopping service", n) for n in procs)
        self.assertIn(s.events()[first_stop]["service"], ("bot", "cache"))
        for n, p in procs.items():
            self.assertFalse(p.alive(), f"{n} survived vigil")
        self.assertTrue(events_named(s, "all services stopped; vigil exits"))

    def test_sigterm_during_startup_and_backoff(self):
        # db is still starting, feed waits on it, crashy sits in a 10-minute backoff:
        # SIGTERM must not wait for any of that
        port = free_port()  # nobody will listen here
        s = self.stack(f"""
        services:
          db:
            cmd: ["@SIM@"]
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 10m}}
          feed:
            cmd: ["@SIM@"]
            depends_on: [db]
          crashy:
            cmd: ["@SIM@", --exit-after, 0ms]
            restart: {{delay: 10m, max_delay: 10m, jitter: 0}}
        """)
        db = Proc(s.wait_state("db", "starting", timeout=LONG)["pid"])
        s.wait_state("crashy", "backoff", timeout=LONG)
        self.assertEqual(s.service("feed")["state"], "waiting")
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(wait_exit(s), 0)
        self.assertFalse(db.alive())
        self.assertEqual(events_named(s, "service started", "feed"), [])
        self.assertEqual(len(events_named(s, "service started", "crashy")), 1)
        self.assertEqual(len(events_named(s, "service stopped", "db")), 1)

    def test_ignored_sigterm_is_killed_after_stop_timeout(self):
        s = self.stack("""
        services:
          stubborn:
            cmd: ["@SIM@", --ignore-term, --notify]
            ready: {notify: true}
            stop: {timeout: 500ms}
          polite:
            cmd: ["@SIM@"]
        """)
        infos = self.ready_all(s, ["stubborn", "polite"])
        stubborn = Proc(infos["stubborn"]["pid"])
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(wait_exit(s), 0)
        self.assertFalse(stubborn.alive())
        asked = events_named(s, "stopping service", "stubborn")
        self.assertEqual(len(asked), 1)
        self.assertEqual(asked[0]["signal"], "TERM")
        killed = events_named(s, "service did not stop in time, killing its process group", "stubborn")
        self.assertEqual(len(killed), 1, s.logs_text()[-3000:])
        self.assertEqual(killed[0]["pid"], stubborn.pid)
        self.assertEqual(killed[0]["stop_timeout_seconds"], 0.5)
        self.assertLess(event_index(s, "stopping service", "stubborn"),
                        event_index(s, "service did not stop in time, killing its process group",
                                    "stubborn"))
        stopped = events_named(s, "service stopped", "stubborn")
        self.assertEqual(len(stopped), 1)
        self.assertEqual(stopped[0]["killed"], 1)
        # the one that honours SIGTERM is not killed
        self.assertEqual(events_named(s, "service did not stop in time, killing its process group",
                                      "polite"), [])
        self.assertEqual(events_named(s, "service stopped", "polite")[0]["killed"], 0)

    def test_no_grandchild_outlives_vigil(self):
        s = self.stack("""
        services:
          family:
            cmd: ["@SIM@", --grandchildren, "3"]
          escaper:
            cmd: ["@SIM@", --grandchildren, "2", --escape]
        """)
        infos = self.ready_all(s, ["family", "escaper"])
        fam_pid, esc_pid = infos["family"]["pid"], infos["escaper"]["pid"]
        fam_kids = wait_for(lambda: (lambda k: k if len(k) == 3 else None)(children_of(fam_pid)),
                            timeout=LONG, what="family's 3 grandchildren")
        esc_kids = wait_for(lambda: (lambda k: k if len(k) == 2 and all(
            proc_stat(p) and proc_stat(p)[1] == p for p in k) else None)(children_of(esc_pid)),
            timeout=LONG, what="escaper's 2 grandchildren in their own sessions")
        fam, esc = [Proc(p) for p in fam_kids], [Proc(p) for p in esc_kids]
        for p in fam:
            self.assertEqual(p.pgid, fam_pid, "a family grandchild left the group")
        for p in esc:
            self.assertNotEqual(p.pgid, esc_pid, "an escaper grandchild stayed in the group")
        services = [Proc(fam_pid), Proc(esc_pid)]

        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(wait_exit(s), 0)
        # vigil has exited: nothing of either service may be left
        alive = [p for p in services + fam + esc if p.alive()]
        self.assertEqual(alive, [], "processes outlived vigil")
        # the escaped ones were out of reach of the group signal: vigil found them in the
        # service's process tree when the stop began, and says it killed them
        outside = events_named(s, "killed processes the service left outside its process group", "escaper")
        self.assertEqual([e["count"] for e in outside], [2], s.logs_text()[-3000:])

    def test_stop_of_one_service_reaches_its_escaped_grandchildren(self):
        s = self.stack("""
        services:
          escaper:
            cmd: ["@SIM@", --grandchildren, "2", --escape]
          other:
            cmd: ["@SIM@"]
        """)
        infos = self.ready_all(s, ["escaper", "other"])
        esc_pid = infos["escaper"]["pid"]
        kids = wait_for(lambda: (lambda k: k if len(k) == 2 and all(
            proc_stat(p) and proc_stat(p)[1] == p for p in k) else None)(children_of(esc_pid)),
            timeout=LONG, what="2 escaped grandchildren")
        esc = [Proc(p) for p in kids]
        s.cli("stop", "escaper", check=0)
        s.wait_state("escaper", "stopped", timeout=LONG)
        wait_for(lambda: not any(p.alive() for p in esc), timeout=LONG, what="escaped grandchildren gone")
        self.assertEqual(s.service("other")["state"], "ready")

    def test_vigil_down_stops_everything(self):
        s = self.stack("""
        services:
          db:
            cmd: ["@SIM@"]
          feed:
            cmd: ["@SIM@", --grandchildren, "1"]
            depends_on: [db]
        """)
        infos = self.ready_all(s, ["db", "feed"])
        procs = [Proc(i["pid"]) for i in infos.values()]
        r = s.cli("down")
        self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
        self.assertEqual(wait_exit(s), 0)
        for p in procs:
            self.assertFalse(p.alive(), p)
        self.assertLess(event_index(s, "service stopped", "feed"),
                        event_index(s, "stopping service", "db"))
        downs = [e for e in s.events() if e.get("msg") == "shutting down"]
        self.assertEqual(len(downs), 1)
        self.assertEqual(downs[0].get("reason"), "vigil down")
        # the daemon is gone: the CLI says so
        self.assertNotEqual(s.cli("status").returncode, 0)

    def test_vigil_down_returns_once_the_daemon_has_exited(self):
        # a trivial stack: when `vigil down` returns, the daemon is gone (it used to
        # linger 1.3-2.5 s after the answer)
        s = self.stack("""
        services:
          one:
            cmd: ["@SIM@"]
        """)
        s.wait_state("one", "ready")
        for i in range(3):
            if i:
                s.start()
                s.wait_state("one", "ready")
            r = s.cli("down")
            self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
            self.assertIsNotNone(s.proc.poll(), "vigil down returned while the daemon still ran")
            self.assertEqual(s.proc.returncode, 0)
            s.log.close()

    def test_vigil_down_says_when_it_timed_out(self):
        s = self.stack("""
        services:
          stubborn:
            cmd: ["@SIM@", --ignore-term]
            stop: {timeout: 4s}
        """)
        s.wait_state("stubborn", "ready")
        t0 = time.monotonic()
        r = s.cli("down", "--timeout", "500ms")
        self.assertEqual(r.returncode, 1, (r.stdout, r.stderr))
        self.assertIn("has not exited after 0.5s", r.stderr)
        self.assertLess(time.monotonic() - t0, 3.5)
        self.assertEqual(wait_exit(s), 0)
        self.assertEqual(s.cli("down", "--timeout", "x").returncode, 2)

    def test_vigil_stop_stops_only_that_service(self):
        s = self.stack("""
        services:
          one:
            cmd: ["@SIM@"]
            restart: {policy: always, delay: 0}
            stop: {signal: INT}
          two:
            cmd: ["@SIM@"]
        """)
        infos = self.ready_all(s, ["one", "two"])
        one, two = Proc(infos["one"]["pid"]), Proc(infos["two"]["pid"])
        r = s.cli("stop", "one")
        self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
        info = s.wait_state("one", "stopped", timeout=LONG)
        self.assertIsNone(info["pid"])
        self.assertEqual(info["last_exit"], {"code": None, "signal": "INT"})  # its stop signal
        self.assertEqual(events_named(s, "stopping service", "one")[0]["signal"], "INT")
        wait_for(lambda: not one.alive(), timeout=LONG, what="one's process gone")
        # it stays down: a stop by hand is not a failure to restart from
        time.sleep(1.5)
        info = s.service("one")
        self.assertEqual(info["state"], "stopped")
        self.assertIsNone(info["pid"])
        self.assertEqual(info["restarts"], 0)
        self.assertEqual(len(events_named(s, "service started", "one")), 1)
        self.assertEqual(len(events_named(s, "service stopped", "one")), 1)
        # the other one was not touched
        other = s.service("two")
        self.assertEqual(other["state"], "ready")
        self.assertEqual(other["pid"], two.pid)
        self.assertTrue(two.alive())
        self.assertEqual(events_named(s, "stopping service", "two"), [])
        # and it can be started again
        s.cli("start", "one", check=0)
        info = s.wait_state("one", "ready", timeout=LONG)
        self.assertNotEqual(info["pid"], one.pid)

    def test_vigil_restart_gives_new_pid(self):
        s = self.stack("""
        services:
          feed:
            cmd: ["@SIM@"]
          other:
            cmd: ["@SIM@"]
        """)
        infos = self.ready_all(s, ["feed", "other"])
        old = Proc(infos["feed"]["pid"])
        r = s.cli("restart", "feed")
        self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
        info = wait_for(lambda: (lambda i: i if i["state"] == "ready" and i["pid"] != old.pid else None)(
            s.service("feed")), timeout=LONG, what="feed ready with a new pid")
        self.assertFalse(old.alive(), "the old process still runs")
        self.assertEqual(len(events_named(s, "service started", "feed")), 2)
        self.assertEqual(len(events_named(s, "stopping service", "feed")), 1)
        self.assertEqual(s.service("other")["pid"], infos["other"]["pid"])

    def test_second_sigint_kills_at_once(self):
        # db must outlive stubborn, which would take the whole 30s stop timeout
        s = self.stack("""
        services:
          db:
            cmd: ["@SIM@", --ignore-term, --notify]
            ready: {notify: true}
            stop: {timeout: 30s}
          stubborn:
            cmd: ["@SIM@", --ignore-term, --grandchildren, "1", --notify]
            ready: {notify: true}
            depends_on: [db]
            stop: {timeout: 30s}
        """)
        db = Proc(s.wait_state("db", "ready", timeout=LONG)["pid"])
        info = s.wait_state("stubborn", "ready", timeout=LONG)
        proc = Proc(info["pid"])
        kid = Proc(wait_for(lambda: children_of(proc.pid), timeout=LONG, what="a grandchild")[0])
        s.proc.send_signal(signal.SIGINT)
        wait_for(lambda: events_named(s, "stopping service", "stubborn"), timeout=LONG,
                 what="the first stop")
        self.assertEqual(s.service("stubborn")["state"], "stopping")
        self.assertEqual(s.service("db")["state"], "ready")  # waits for its dependent
        self.assertTrue(proc.alive(), "the child was supposed to ignore SIGTERM")
        s.proc.send_signal(signal.SIGINT)
        # well before the 30s stop timeout
        try:
            code = s.proc.wait(15)
        except subprocess.TimeoutExpired:
            raise AssertionError("vigil still waits for the stop timeout after a second SIGINT:\n"
                                 + s.logs_text()[-3000:])
        print(f"\nvigil exit status after a second SIGINT: {code}")
        for p in (proc, kid, db):
            self.assertFalse(p.alive(), p)
        self.assertTrue([e for e in s.events() if e.get("msg") == "second signal: killing every service now"])
        self.assertEqual(events_named(s, "service did not stop in time, killing its process group"), [])
        self.assertTrue(events_named(s, "all services stopped; vigil exits"))


if __name__ == "__main__":
    import unittest
    unittest.main()
