"""A service's whole process tree ends with its run, even without a stop: what stays in
its process group is killed at its exit, what left the group (setsid) is found through
the record of descendants or, for a child orphaned before vigil saw it, through the
environment it inherited — and every kill is logged with the service and the pid."""
import os
import time

from harness import LONG, VigilTest, pid_alive, wait_for, children_of


class TreeTest(VigilTest):
    def crash_run(self, crash_after, escape):
        extra = ', "--escape"' if escape else ""
        s = self.stack(f"""
        services:
          parent:
            cmd: ["@SIM@", --grandchildren, "1"{extra}, --crash-after, {crash_after}]
            restart: {{policy: never}}
          other:
            cmd: ["@SIM@"]
        """)
        info = s.wait_state("parent", "ready", timeout=LONG)
        gc = wait_for(lambda: children_of(info["pid"]), what="grandchild")[0]
        return s, info["pid"], gc

    def killed_events(self, s, pid):
        return [e for e in s.events() if e.get("pid") == pid and e.get("service") == "parent"
                and e.get("msg", "").startswith("kill")]

    def test_escaped_grandchild_of_a_crash_orphaned_before_any_sweep(self):
        s, main, gc = self.crash_run("300ms", escape=True)
        wait_for(lambda: not pid_alive(main), timeout=LONG, what="crash")
        # vigil is still up; the orphan must go with its run, not wait for vigil down
        wait_for(lambda: not pid_alive(gc), timeout=LONG, what="escaped grandchild killed")
        wait_for(lambda: self.killed_events(s, gc), what="the kill logged")
        self.assertEqual(s.service("other")["state"], "ready")

    def test_escaped_grandchild_known_from_the_record(self):
        # the sweep (every 2 s) records the grandchild before the crash at 5 s, so the
        # end of the run kills it at once
        s, main, gc = self.crash_run("5s", escape=True)
        wait_for(lambda: not pid_alive(main), timeout=LONG, what="crash")
        wait_for(lambda: not pid_alive(gc), timeout=LONG, what="escaped grandchild killed")
        ev = wait_for(lambda: self.killed_events(s, gc), what="the kill logged")
        self.assertEqual(ev[0]["msg"], "killed a process the service left outside its process group")
        self.assertTrue(ev[0]["cmd"], ev)

    def test_same_group_grandchild_kill_is_logged(self):
        s, main, gc = self.crash_run("300ms", escape=False)
        wait_for(lambda: not pid_alive(gc), timeout=LONG, what="grandchild killed")
        ev = wait_for(lambda: self.killed_events(s, gc), what="the kill logged")
        self.assertEqual(ev[0]["msg"], "killing a process left in the process group of an ended run")


if __name__ == "__main__":
    import unittest
    unittest.main()
