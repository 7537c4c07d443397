"""Stress (not in the default run: CTest label `stress`, registered with -DVIGIL_STRESS=ON,
`make stress`): three vigil nodes on a Redis lease with ttl 1s; the active is killed with
-9 at least 50 times, then SIGSTOPped beyond the ttl at least 50 times. After every
round exactly one node is active, and at the end the shared log proves that no two
terms overlapped and that tokens only increased (fo_harness.check_no_overlap)."""
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

from harness import LONG, wait_for
from fo_harness import Node, Redis, active_nodes, check_no_overlap, wait_active

ROUNDS = int(os.environ.get("VIGIL_STRESS_ROUNDS", "50"))


class FailoverStress(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-fo-stress-")
        self.log = os.path.join(self.dir, "bot.log")
        self.redis = Redis(self.dir).start()
        kw = dict(ttl="1s", renew="250ms", timeout="100ms", margin="250ms", stop_timeout="200ms")
        self.nodes = [Node(n, self.redis, self.log, **kw) for n in ("a", "b", "c")]
        for n in self.nodes:
            n.start()

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
            shutil.rmtree(n.dir, ignore_errors=True)
        self.redis.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_kill_and_pause(self):
        wait_active(self.nodes)
        times = []
        for i in range(ROUNDS):
            act = wait_active(self.nodes)
            t0 = time.monotonic()
            act.kill9()
            rest = [n for n in self.nodes if n is not act]
            wait_active(rest, timeout=LONG)
            times.append(time.monotonic() - t0)
            act.stop()
            act.start()
            wait_for(lambda: act.role() == "standby", timeout=LONG, what="restarted node standby")
        check_no_overlap(self.log)
        times.sort()
        print(f"\nkill -9 x{ROUNDS}: failover median {times[len(times) // 2]:.3f}s, "
              f"max {times[-1]:.3f}s", file=sys.stderr)
        pauses = []
        for i in range(ROUNDS):
            act = wait_active(self.nodes)
            t0 = time.monotonic()
            os.kill(act.proc.pid, signal.SIGSTOP)
            try:
                rest = [n for n in self.nodes if n is not act]
                wait_active(rest, timeout=LONG)
                pauses.append(time.monotonic() - t0)
            finally:
                os.kill(act.proc.pid, signal.SIGCONT)
            wait_for(lambda: act.role() == "standby" and act.bot_pid() is None, timeout=LONG,
                     what="the paused node to demote itself")
            self.assertEqual(len(active_nodes(self.nodes)), 1)
        terms = check_no_overlap(self.log)
        pauses.sort()
        print(f"SIGSTOP x{ROUNDS}: takeover median {pauses[len(pauses) // 2]:.3f}s, "
              f"max {pauses[-1]:.3f}s; {len(terms)} terms, no overlap", file=sys.stderr)
        self.assertGreaterEqual(len(terms), 2 * ROUNDS + 1)


if __name__ == "__main__":
    unittest.main()
