"""Hostile conditions: vigil itself killed with -9 (KillNineTest). Other classes test
other attacks."""
import os
import signal
import sys
import time

from harness import LONG, VigilTest, pid_alive, wait_for, children_of


class KillNineTest(VigilTest):
    def test_kill_nine_leaves_nothing_for_the_next_vigil(self):
        # plain: dies with vigil (parent-death signal); forks: its grandchild has no such
        # signal; dropper: clears its own parent-death signal (as a setuid program would)
        s = self.stack(f"""
        services:
          plain:
            cmd: ["@SIM@"]
          forks:
            cmd: ["@SIM@", --grandchildren, "1"]
          dropper:
            cmd: ["{sys.executable}", -c, "import ctypes, time; ctypes.CDLL(None).prctl(1, 0, 0, 0, 0); print('dropped', flush=True); time.sleep(1000)"]
            ready: {{log: dropped, timeout: 20s}}
        """)
        infos = {n: s.wait_state(n, "ready", timeout=LONG) for n in ("plain", "forks", "dropper")}
        mains = {n: i["pid"] for n, i in infos.items()}
        grandchild = wait_for(lambda: children_of(mains["forks"]), what="grandchild")[0]
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(LONG)
        s.log.close()
        # the services vigil spawned die with it
        wait_for(lambda: not pid_alive(mains["plain"]) and not pid_alive(mains["forks"]),
                 timeout=LONG, what="services to die with vigil")
        # what escaped the parent-death signal is still there, for the next vigil to find
        self.assertTrue(pid_alive(mains["dropper"]))
        self.assertTrue(pid_alive(grandchild))

        os.unlink(s.socket_path)  # the dead vigil's; wait for the new one's
        s.start()
        for n in ("plain", "forks", "dropper"):
            s.wait_state(n, "ready", timeout=LONG)
        self.assertFalse(pid_alive(mains["dropper"]), "an old copy runs beside the new one")
        self.assertFalse(pid_alive(grandchild), "the old grandchild survived the next vigil up")
        killed = {e["pid"]: e for e in s.events()
                  if e.get("msg") == "killed a process left behind by a previous vigil of this state_dir"}
        self.assertEqual(killed[mains["dropper"]]["service"], "dropper")
        self.assertEqual(killed[grandchild]["service"], "forks")
        self.assertEqual(set(killed), {mains["dropper"], grandchild}, killed)
        # only one copy of each service: the new ones are not the old ones
        for n in ("plain", "forks", "dropper"):
            self.assertNotEqual(s.service(n)["pid"], mains[n])
        # a clean stop leaves no record: the next start kills nothing
        self.assertEqual(s.stop(), 0)
        self.assertFalse(os.path.exists(os.path.join(s.state_dir, "run", "procs")))


if __name__ == "__main__":
    import unittest
    unittest.main()
