"""Failover on a Redis lease: two and three vigil nodes on loopback, each with its own
state_dir and HTTP port, against a real redis-server. In every test the active-only
service logs its start, ticks and stop with its fencing token, and check_no_overlap
proves that no two terms ever acted at the same time and that tokens only increase.

Timings are printed for the record; the bounds asserted are the lease's (ttl + renew)
plus slack for process start-up on a loaded machine, not speed targets."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import LONG, VIGIL, pid_alive, wait_for
from fo_harness import (SANITIZED, Node, Redis, active_nodes, check_no_overlap,
                        first_token_line, read_log, wait_active)

TTL, RENEW = 2.0, 0.5
SLACK = 4.0 if SANITIZED else 1.5


class FailoverTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-fo-")
        self.log = os.path.join(self.dir, "bot.log")
        self.redis = Redis(self.dir).start()
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
        self.redis.stop()
        # nothing of ours may be left: every bot died with its vigil or was stopped
        for n in self.nodes:
            pid = None
            for e in n.events():
                if e.get("msg") == "service started" and e.get("service") == "bot":
                    pid = e["pid"]
            if pid:
                wait_for(lambda: not pid_alive(pid), timeout=10, what=f"bot {pid} gone")
        shutil.rmtree(self.dir, ignore_errors=True)
        for n in self.nodes:
            shutil.rmtree(n.dir, ignore_errors=True)

    def node(self, name, start=True, **kw):
        n = Node(name, self.redis, self.log, **kw)
        self.nodes.append(n)
        if start:
            n.start()
        return n

    def group(self, names, **kw):
        first = self.node(names[0], **kw)
        wait_active([first])
        rest = [self.node(x, **kw) for x in names[1:]]
        for n in rest:
            wait_for(lambda: n.role() == "standby", timeout=LONG, what=f"{n.name} standby")
        return [first] + rest

    def assert_one_active_for_a_while(self, nodes, seconds=1.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.assertLessEqual(len(active_nodes(nodes)), 1)
            time.sleep(0.05)

    def test_kill9_of_the_active_two_nodes(self):
        a, b = self.group(["a", "b"])
        time.sleep(1.0)
        bot = a.bot_pid()
        t0 = time.time()
        a.kill9()
        # the active service dies with its vigil (parent-death signal), at once
        wait_for(lambda: not pid_alive(bot), timeout=2.0, what="the old active's bot to die with vigil")
        new = wait_active([b], timeout=TTL + RENEW + SLACK + 5)
        terms = check_no_overlap(self.log)
        took = first_token_line(self.log, new.fo()["token"]) / 1e9 - t0
        print(f"\nkill -9 -> new active's service running: {took:.3f}s (ttl {TTL}s, renew {RENEW}s)")
        self.assertLessEqual(took, TTL + RENEW + SLACK)
        self.assertEqual([t[1] for t in terms], ["a", "b"])
        self.assertGreater(terms[1][0], terms[0][0])
        tr = new.transitions()[-1]
        self.assertEqual((tr["from"], tr["to"]), ("standby", "active"))
        self.assertIn("duration_ms", tr)

    def test_kill9_three_nodes(self):
        nodes = self.group(["a", "b", "c"])
        alive = list(nodes)
        for _ in range(2):
            act = wait_active(alive)
            alive.remove(act)
            act.kill9()
            wait_active(alive, timeout=TTL + RENEW + SLACK + 5)
            self.assert_one_active_for_a_while(alive, 1.0)
        terms = check_no_overlap(self.log)
        self.assertEqual(len(terms), 3)
        self.assertEqual(len({t[1] for t in terms}), 3)

    def test_sigstop_beyond_ttl(self):
        a, b = self.group(["a", "b"])
        time.sleep(0.5)
        bot = a.bot_pid()
        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            # the fencer kills the active service before the lease can expire
            wait_for(lambda: not pid_alive(bot), timeout=TTL + SLACK, what="the fencer to kill the bot")
            new = wait_active([b], timeout=TTL + RENEW + SLACK + 5)
            self.assertIs(new, b)
            time.sleep(1.0)
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        # the old node notices and demotes itself
        wait_for(lambda: a.role() == "standby", timeout=LONG, what="a to demote itself")
        wait_for(lambda: any(t["to"] == "standby" and t["from"] == "active" for t in a.transitions()),
                 timeout=LONG, what="a's demotion logged")
        self.assert_one_active_for_a_while([a, b], 2.0)
        self.assertEqual(b.role(), "active")
        self.assertIsNone(a.bot_pid())
        terms = check_no_overlap(self.log)
        self.assertEqual([t[1] for t in terms], ["a", "b"])

    def test_lease_store_down(self):
        a, b = self.group(["a", "b"])
        time.sleep(0.5)
        self.redis.stop(signal.SIGKILL)
        # the active fences itself: nobody is active
        wait_for(lambda: a.role() == "standby" and b.role() == "standby" and a.bot_pid() is None,
                 timeout=TTL + SLACK + 5, what="the active to demote itself")
        dem = [t for t in a.transitions() if t["to"] == "standby"][-1]
        print(f"\nstore down: demoted with reason {dem['reason']!r} in {dem['duration_ms']}ms")
        self.assert_one_active_for_a_while([a, b], 1.5)
        self.assertEqual(active_nodes([a, b]), [])
        self.assertTrue(b.fo()["lease"]["error"])
        self.redis.start()  # same dir and port: the token counter survives
        wait_active([a, b], timeout=LONG)
        time.sleep(0.5)
        terms = check_no_overlap(self.log)
        self.assertEqual(len(terms), 2)

    def test_cooldown(self):
        cool = 6.0
        a, b = self.group(["a", "b"], cooldown=f"{int(cool)}s")
        a.kill9()
        t_kill = time.time()
        # b sees the lease free but held back by the cooldown
        wait_for(lambda: b.fo()["lease"]["cooldown_left_ms"] > 0, timeout=TTL + SLACK + 5,
                 what="b to report the cooldown")
        new = wait_active([b], timeout=cool + LONG)
        started = first_token_line(self.log, new.fo()["token"]) / 1e9
        first_a = read_log(self.log)[0][3] / 1e9
        print(f"\ncooldown {cool}s: a active at {first_a:.2f}, killed +{t_kill - first_a:.2f}s, "
              f"b active +{started - first_a:.2f}s")
        self.assertGreaterEqual(started - first_a, cool - 0.5)
        check_no_overlap(self.log)

    def test_switchover(self):
        watcher = """  watcher:
    cmd: [sleep, "3600"]
    role: standby
"""
        a, b = self.group(["a", "b"], extra_services=watcher, token="fo-token-0123456789abcdef")
        time.sleep(0.5)

        def pid(n, svc):
            s = n.service(svc)
            return s and s["pid"]
        # role standby runs only on the standby
        self.assertIsNone(pid(a, "watcher"))
        self.assertIsNotNone(pid(b, "watcher"))
        r = b.cli("failover", "switchover", check=1)
        self.assertIn("not active", r.stderr)
        r = a.cli("failover", "switchover", "--to", "b", check=0)
        new = wait_active([a, b], timeout=LONG)
        self.assertIs(new, b)
        wait_for(lambda: a.role() == "standby", timeout=LONG, what="a standby")
        terms = check_no_overlap(self.log)
        gap = (terms[1][2] - terms[0][3]) / 1e9
        print(f"\nswitchover gap (last tick of a -> first line of b): {gap:.3f}s")
        wait_for(lambda: pid(a, "watcher"), timeout=LONG, what="a's standby service")
        self.assertIsNone(pid(b, "watcher"))
        st = a.cli("failover", "status", check=0).stdout
        self.assertIn("role     standby", st)
        self.assertIn("switchover to b", st)
        # over TCP: the token is needed; with it, back to a
        code, _, _ = b.http("POST", "/api/v1/failover/switchover", headers={"Authorization": "Bearer x"})
        self.assertIn(code, (401, 403))
        code, _, body = b.http("POST", "/api/v1/failover/switchover", body=b'{"to": "a"}')
        self.assertEqual(code, 202, body)
        wait_for(lambda: a.role() == "active" and b.role() == "standby", timeout=LONG,
                 what="switched back to a")
        code, _, body = b.http("POST", "/api/v1/failover/switchover", body=b'{"to": 5}')
        self.assertEqual(code, 400, body)
        wait_for(lambda: json.loads(b.http("GET", "/api/v1/failover")[2])["holder"] == "a",
                 timeout=LONG, what="b to see a as the holder")
        wait_active([a, b])
        self.assertEqual([t[1] for t in check_no_overlap(self.log)], ["a", "b", "a"])

    def test_redis_replica_promoted_and_actions(self):
        p = Redis(self.dir, "data-a").start()
        r = Redis(self.dir, "data-b", extra=["--replicaof", "127.0.0.1", "0"]).start()
        r.cmd("REPLICAOF", "127.0.0.1", str(p.port))
        wait_for(lambda: r.info_role() == "slave", timeout=LONG, what="replica")
        mark = os.path.join(self.dir, "promoted-b")
        try:
            a = self.node("a", demote=f"""  demote:
    - redis_replicate: {{replica: "{p.address}", primary: "{r.address}"}}
""")
            wait_active([a])
            b = self.node("b", promote=f"""  promote:
    - redis_promote: "{r.address}"
    - exec: [sh, -c, "echo $0 > {mark}", b]
      timeout: 5s
""")
            wait_for(lambda: b.role() == "standby", timeout=LONG, what="b standby")
            self.assertEqual(r.info_role(), "slave")
            a.kill9()
            wait_active([b], timeout=TTL + RENEW + SLACK + 5)
            self.assertEqual(r.info_role(), "master")
            with open(mark) as f:
                self.assertEqual(f.read().strip(), "b")
            done = [e for e in b.events() if e.get("msg") == "failover: action done"]
            self.assertEqual(len(done), 2)
            check_no_overlap(self.log)
        finally:
            p.stop()
            r.stop()

    def test_status_api_metrics_and_check(self):
        a = self.node("a")
        wait_active([a])
        st = a.fo()
        self.assertEqual(st["node"], "a")
        self.assertEqual(st["role"], "active")
        self.assertEqual(st["holder"], "a")
        self.assertGreaterEqual(st["token"], 1)
        self.assertEqual(st["lease"]["backend"], "redis")
        self.assertEqual(st["lease"]["ttl_ms"], 2000)
        self.assertIsNotNone(st["lease"]["expires_in_ms"])
        self.assertEqual(st["last_transition"]["to"], "active")
        code, _, body = a.http("GET", "/metrics")
        text = body.decode()
        self.assertIn('vigil_failover_role{role="active"} 1', text)
        self.assertIn("vigil_failover_lease_renewals_total", text)
        self.assertIn("vigil_failover_transitions_total{to=\"active\"} 1", text)
        # VIGIL_FENCING_TOKEN reached the service
        self.assertEqual(read_log(self.log)[0][2], st["token"])
        r = a.cli("failover", "status", "--json", check=0)
        self.assertIn('"role": "active"', r.stdout)
        # a reload keeps the failover running (it holds its own copy of the section), and
        # refuses to change it
        a.cli("reload", check=0)
        time.sleep(1.0)
        self.assertEqual(a.fo()["node"], "a")
        self.assertGreater(a.fo()["lease"]["renewals"], st["lease"]["renewals"])
        with open(a.config_path) as f:
            text = f.read()
        with open(a.config_path, "w") as f:
            f.write(text.replace("ttl: 2s", "ttl: 3s"))
        r = a.cli("reload", check=2)
        self.assertIn("failover cannot change on reload; restart vigil to change it", r.stderr)
        with open(a.config_path, "w") as f:
            f.write(text)
        self.assertEqual(a.role(), "active")
        # an active service cannot be started by hand on a standby
        b = self.node("b")
        wait_for(lambda: b.role() == "standby", timeout=LONG, what="b standby")
        self.assertEqual(b.cli("start", "bot").returncode, 1)
        self.assertIsNone(b.bot_pid())
        # the timing rule in vigil check
        bad = os.path.join(self.dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("failover:\n  node: x\n  lease: {redis: \"127.0.0.1:1\"}\n"
                    "  ttl: 2s\n  renew: 1s\n  timeout: 500ms\n  margin: 500ms\nservices: {}\n")
        r = subprocess.run([VIGIL, "check", "-c", bad], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(":4:8: failover timing: renew + 2 x timeout + margin must not exceed ttl",
                      r.stdout + r.stderr)
        check_no_overlap(self.log)

    def test_transitions_are_monitor_events(self):
        """With a monitor, every transition is an alert event (document 002: a critical
        alert on failover) with its duration: kept in the history, sent to notifiers."""
        events = os.path.join(self.dir, "events.jsonl")
        top = ("monitor:\n  interval: 1s\n  checks:\n"
               "    bot_known: {service: bot, states: [ready, starting, stopped, waiting]}\n"
               "  notifiers:\n"
               f"    log: {{exec: [/bin/sh, -c, \"cat >> {events}; echo >> {events}\"], min_severity: info}}\n")
        a = self.node("a", top=top)
        wait_active([a])
        b = self.node("b", top=top)
        wait_for(lambda: b.role() == "standby", timeout=LONG, what="b standby")
        a.proc.send_signal(signal.SIGKILL)
        wait_active([b])

        def failover_alerts():
            r = b.cli("alerts", "--all", "--json", check=None)
            try:
                alerts = json.loads(r.stdout)["alerts"]
            except (ValueError, KeyError):
                return None
            got = [x for x in alerts if x["check"] == "failover"]
            return got or None
        got = wait_for(failover_alerts, timeout=LONG, what="the failover event in b's alerts")
        up = [x for x in got if "-> active" in x["message"]]
        self.assertTrue(up, got)
        self.assertEqual(up[0]["severity"], "critical")
        self.assertEqual(up[0]["key"], "b")
        self.assertEqual(up[0]["details"]["to"], "active")
        self.assertGreaterEqual(up[0]["details"]["duration_ms"], 0)
        wait_for(lambda: os.path.exists(events) and "failover" in open(events).read(),
                 timeout=LONG, what="the event sent to the exec notifier")
        check_no_overlap(self.log)


if __name__ == "__main__":
    unittest.main()
