"""Reload (SIGHUP or `vigil reload`): only what changed restarts, added services start,
removed ones stop, and an invalid file leaves the running stack untouched."""
import os
import signal
import time

from harness import VigilTest, pid_alive, wait_for

BASE = """
services:
  keep:
    cmd: ["@SIM@"]
  change:
    cmd: ["@SIM@", --say, v1]
  drop:
    cmd: ["@SIM@"]
"""

NEW = """
services:
  keep:
    cmd: ["@SIM@"]
  change:
    cmd: ["@SIM@", --say, v2]
  added:
    cmd: ["@SIM@"]
    depends_on: [keep]
"""


class ReloadTest(VigilTest):
    def ready_pids(self, s, names):
        return {n: s.wait_state(n, "ready")["pid"] for n in names}

    def check_reloaded(self, s, before):
        after = self.ready_pids(s, ["keep", "change", "added"])
        self.assertEqual(after["keep"], before["keep"], "an unchanged service must not restart")
        self.assertNotEqual(after["change"], before["change"], "a changed service must restart")
        self.assertFalse(any(x["name"] == "drop" for x in s.status()["services"]))
        wait_for(lambda: not pid_alive(before["drop"]), what="removed service's process gone")
        self.assertEqual(s.service("change")["restarts"], 0, "a reload is not a crash")

    def test_reload_verb(self):
        s = self.stack(BASE)
        before = self.ready_pids(s, ["keep", "change", "drop"])
        s.write_config(NEW)
        r = s.cli("reload", check=0)
        self.assertIn("added      added", r.stdout)
        self.assertIn("removed    drop", r.stdout)
        self.assertIn("changed    change", r.stdout)
        self.assertIn("unchanged  keep", r.stdout)
        self.check_reloaded(s, before)
        wait_for(lambda: "v2" in open(os.path.join(s.state_dir, "logs", "change.log")).read(),
                 what="the new definition's output")

    def test_sighup(self):
        s = self.stack(BASE)
        before = self.ready_pids(s, ["keep", "change", "drop"])
        s.write_config(NEW)
        s.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any(e.get("msg") == "config reloaded" for e in s.events()), what="reload")
        self.check_reloaded(s, before)

    def test_invalid_config_is_rejected_and_stack_untouched(self):
        s = self.stack(BASE)
        before = self.ready_pids(s, ["keep", "change", "drop"])
        s.write_config(BASE.replace("cmd: [\"@SIM@\", --say, v1]", "cmd: [\"@SIM@\"]\n    restart: {delay: 30x}"))
        r = s.cli("reload")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("the running stack is unchanged", r.stderr)
        self.assertRegex(r.stderr, r"vigil\.yaml:\d+:\d+: .*30x")
        s.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any(e.get("msg") == "reload rejected" for e in s.events()), what="rejection")
        self.assertEqual(self.ready_pids(s, ["keep", "change", "drop"]), before)

    def test_reload_restarts_fatal_service_with_new_definition(self):
        s = self.stack("""
        services:
          broken:
            cmd: ["@SIM@", --exit-after, 0ms]
            restart: {delay: 10ms, max_restarts: 1}
        """)
        s.wait_state("broken", "fatal")
        s.write_config("""
        services:
          broken:
            cmd: ["@SIM@"]
            restart: {delay: 10ms, max_restarts: 1}
        """)
        s.cli("reload", check=0)
        s.wait_state("broken", "ready")

    def test_removed_services_stop_dependents_first_and_timers_stay_safe(self):
        # "front" depends on "slow"; both are removed while "slow" is still starting
        # (its readiness probe and timeout armed) and "front" waits on it, and
        # "stubborn" ignores SIGTERM so its removal takes the stop timeout.
        s = self.stack("""
        services:
          keep:
            cmd: ["@SIM@"]
          slow:
            cmd: ["@SIM@"]
            ready: {exec: ["false"], timeout: 400ms, interval: 50ms}
            restart: {delay: 100ms}
          front:
            cmd: ["@SIM@"]
            depends_on: [slow]
          stubborn:
            cmd: ["@SIM@", --ignore-term, --notify]
            ready: {notify: true}
            stop: {timeout: 600ms}
        """)
        stubborn = s.wait_state("stubborn", "ready")["pid"]
        s.wait_state("slow", "starting")
        s.write_config("""
        services:
          keep:
            cmd: ["@SIM@"]
        """)
        r = s.cli("reload", check=0)
        self.assertIn("removed    slow front stubborn", r.stdout)
        wait_for(lambda: [x["name"] for x in s.status()["services"]] == ["keep"], timeout=10,
                 what="removed services gone")
        wait_for(lambda: not pid_alive(stubborn), what="stubborn killed")
        time.sleep(0.6)  # past the old readiness timeout: nothing may fire on a freed definition
        self.assertEqual(s.service("keep")["state"], "ready")
        self.assertIsNone(s.proc.poll())


if __name__ == "__main__":
    import unittest
    unittest.main()
