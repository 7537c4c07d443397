"""A network partition: the lease store (redis-server) and two vigil nodes each in a
network namespace of their own, made by the test and joined by veth pairs with the
test's own addresses (10.231.N.0/24). Cutting the active's link to the store must make
it fence itself (its active service stopped) before the standby acquires the lease.
Needs root (or CAP_NET_ADMIN) and `ip netns`; skipped with the reason otherwise."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import LONG, VIGIL, wait_for
from fo_harness import Node, check_no_overlap, read_log, wait_active


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def netns_available():
    if os.geteuid() != 0:
        return "needs root for ip netns (network namespaces, veth pairs)"
    name = "vfoprobe" + uuid.uuid4().hex[:6]
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return f"ip netns add is not permitted here: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


SKIP = netns_available()


class NsNode(Node):
    def __init__(self, ns, *a, **kw):
        self.ns = ns
        super().__init__(*a, **kw)

    def start(self, wait_socket=True):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, VIGIL, "up", "-c", self.config_path,
             "--log-format", "json", "--log-level", "debug"],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env, cwd=self.dir)
        wait_for(lambda: os.path.exists(self.socket_path) or self.proc.poll() is not None,
                 what="control socket")
        return self


class FakeStore:
    def __init__(self, address):
        self.address = address


@unittest.skipIf(SKIP, SKIP or "")
class PartitionTest(unittest.TestCase):
    def setUp(self):
        tag = uuid.uuid4().hex[:5]
        self.ns = {k: f"vfo{tag}{k}" for k in ("s", "a", "b")}
        self.dir = tempfile.mkdtemp(prefix="vigil-fo-part-")
        self.log = os.path.join(self.dir, "bot.log")
        self.procs, self.nodes = [], []
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        # one veth pair per node, from the store's namespace to the node's
        self.links = {}
        for i, k in enumerate(("a", "b"), start=1):
            s_if, n_if = f"v{tag}s{k}", f"v{tag}{k}"
            sh("ip", "link", "add", s_if, "type", "veth", "peer", "name", n_if)
            sh("ip", "link", "set", s_if, "netns", self.ns["s"])
            sh("ip", "link", "set", n_if, "netns", self.ns[k])
            sh("ip", "-n", self.ns["s"], "addr", "add", f"10.231.{i}.1/24", "dev", s_if)
            sh("ip", "-n", self.ns[k], "addr", "add", f"10.231.{i}.2/24", "dev", n_if)
            sh("ip", "-n", self.ns["s"], "link", "set", s_if, "up")
            sh("ip", "-n", self.ns[k], "link", "set", n_if, "up")
            self.links[k] = (s_if, f"10.231.{i}.1")
        self.port = 6379
        rdir = os.path.join(self.dir, "redis")
        os.makedirs(rdir)
        self.redis = subprocess.Popen(
            ["ip", "netns", "exec", self.ns["s"], "redis-server", "--port", str(self.port),
             "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", rdir, "--appendonly", "yes",
             "--save", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.redis)
        wait_for(lambda: sh("ip", "netns", "exec", self.ns["a"], "redis-cli", "-h", "10.231.1.1",
                            "-p", str(self.port), "ping", check=False).stdout.strip() == "PONG",
                 timeout=LONG, what="redis reachable from a's namespace")

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        for n in self.nodes:
            shutil.rmtree(n.dir, ignore_errors=True)

    def node(self, k):
        addr = f"{self.links[k][1]}:{self.port}"
        n = NsNode(self.ns[k], k, FakeStore(addr), self.log, timeout="200ms")
        self.nodes.append(n)
        return n.start()

    def test_active_cut_off_from_the_store_fences_itself_first(self):
        a = self.node("a")
        wait_active([a])
        b = self.node("b")
        wait_for(lambda: b.role() == "standby", timeout=LONG, what="b standby")
        time.sleep(0.5)
        sh("ip", "-n", self.ns["s"], "link", "set", self.links["a"][0], "down")
        t_cut = time.time()
        wait_active([b], timeout=LONG)
        self.assertEqual(a.role(), "standby")
        # a fenced itself: its service stopped before b's started
        stops = [r for r in read_log(self.log) if r[0] == "stop" and r[1] == "a"]
        self.assertTrue(stops, "a's service was not stopped (fenced) by a")
        b_first = [r for r in read_log(self.log) if r[1] == "b"][0][3]
        print(f"\npartition: a stopped its service +{stops[-1][3] / 1e9 - t_cut:.3f}s after the cut, "
              f"b started +{b_first / 1e9 - t_cut:.3f}s")
        self.assertLess(stops[-1][3], b_first)
        dem = [t for t in a.transitions() if t["to"] == "standby" and t["from"] == "active"]
        self.assertTrue(dem)
        # healed: a stays a standby, b keeps the lease
        sh("ip", "-n", self.ns["s"], "link", "set", self.links["a"][0], "up")
        time.sleep(1.5)
        self.assertEqual(a.role(), "standby")
        self.assertEqual(b.role(), "active")
        terms = check_no_overlap(self.log)
        self.assertEqual([t[1] for t in terms], ["a", "b"])


if __name__ == "__main__":
    unittest.main()
