"""Failover on a PostgreSQL lease: a throw-away cluster (initdb/pg_ctl of PostgreSQL 15
into a temp dir, a free port, its unix socket in the temp dir) holds the lease row whose
expiry the database's clock judges. kill -9 and SIGSTOP of the active, the database
down and back; every test proves no two terms overlapped (fo_harness)."""
import os
import shutil
import signal
import tempfile
import time
import unittest

from harness import LONG, pid_alive, wait_for
from fo_harness import (PG_BIN, SANITIZED, Node, Postgres, active_nodes, check_no_overlap,
                        first_token_line, wait_active)

TTL, RENEW = 2.0, 0.5
SLACK = 4.0 if SANITIZED else 1.5


@unittest.skipUnless(os.path.exists(f"{PG_BIN}/initdb"), f"no PostgreSQL 15 in {PG_BIN}")
class PostgresFailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="vigil-fo-pg-")
        cls.pg = Postgres(cls.dir).init().start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop("immediate")
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.log = os.path.join(self.dir, f"bot-{self.id().rsplit('.', 1)[1]}.log")
        self.key = self.id().rsplit(".", 1)[1]
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
            shutil.rmtree(n.dir, ignore_errors=True)
        if not self.pg.started:
            self.pg.start()

    def group(self, names):
        out = []
        for i, name in enumerate(names):
            n = Node(name, self.pg, self.log, lease=f'{{postgres: "{self.pg.conninfo}", key: "{self.key}"}}')
            self.nodes.append(n)
            n.start()
            if i == 0:
                wait_active([n])
            else:
                wait_for(lambda: n.role() == "standby", timeout=LONG, what=f"{name} standby")
            out.append(n)
        return out

    def test_kill9_then_sigstop(self):
        a, b, c = self.group(["a", "b", "c"])
        time.sleep(0.5)
        st = a.fo()
        self.assertEqual(st["lease"]["backend"], "postgres")
        self.assertEqual(st["holder"], "a")
        bot = a.bot_pid()
        t0 = time.time()
        a.kill9()
        wait_for(lambda: not pid_alive(bot), timeout=2.0, what="the bot to die with its vigil")
        new = wait_active([b, c], timeout=TTL + RENEW + SLACK + 5)
        took = first_token_line(self.log, new.fo()["token"]) / 1e9 - t0
        print(f"\npostgres lease: kill -9 -> new active's service running: {took:.3f}s")
        self.assertLessEqual(took, TTL + RENEW + SLACK)
        other = c if new is b else b
        # now SIGSTOP the new active beyond the ttl
        os.kill(new.proc.pid, signal.SIGSTOP)
        try:
            wait_active([other], timeout=TTL + RENEW + SLACK + 5)
            time.sleep(0.5)
        finally:
            os.kill(new.proc.pid, signal.SIGCONT)
        wait_for(lambda: new.role() == "standby", timeout=LONG, what="the stopped node to demote itself")
        time.sleep(1.0)
        self.assertEqual(active_nodes([b, c]), [other])
        terms = check_no_overlap(self.log)
        self.assertEqual(len(terms), 3)

    def test_database_down_and_back(self):
        a, b = self.group(["a", "b"])
        time.sleep(0.5)
        self.pg.stop("immediate")
        wait_for(lambda: a.role() == "standby" and a.bot_pid() is None, timeout=TTL + SLACK + 5,
                 what="the active to fence itself")
        time.sleep(1.0)
        self.assertEqual(active_nodes([a, b]), [])
        self.pg.start()
        wait_active([a, b], timeout=LONG)
        time.sleep(0.5)
        check_no_overlap(self.log)


if __name__ == "__main__":
    unittest.main()
