"""bench/failover: vigil's lease failover against Redis Sentinel, trial by trial in one run.

vigil: two nodes on a Redis lease (ttl 2s, renew 500ms), each with the active-only
service of the tests (tests/integration/fo_service.py), whose first line in the shared
log marks "the new active's service running". A trial: kill -9 the active vigil, time
until the other node's service has written its first line, then restart the killed node
as a standby.

Sentinel: a primary and a replica redis-server, three redis-sentinel (quorum 2,
down-after-milliseconds 2000, failover-timeout 6000). A trial: kill -9 the primary,
time until the replica answers ROLE as master, then restart the killed one (the
sentinels make it a replica of the new primary) and wait until it replicates.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import free_port, wait_for  # noqa: E402
from fo_harness import Node, Redis, check_no_overlap, first_token_line, wait_active  # noqa: E402

TRIALS = int(os.environ.get("BENCH_TRIALS", "50"))


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def role(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"*1\r\n$4\r\nROLE\r\n")
            data = s.recv(4096)
            return data.split(b"\r\n")[2].decode() if data.startswith(b"*") else None
    except OSError:
        return None


class SentinelSetup:
    def __init__(self, d):
        self.d = d
        self.ports = [free_port(), free_port()]
        self.redis = [None, None]
        self.sentinels = []
        self.primary = 0

    def start_redis(self, i, replica_of=None):
        args = ["redis-server", "--port", str(self.ports[i]), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.d]
        if replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(self.ports[replica_of])]
        self.redis[i] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: role(self.ports[i]) is not None, timeout=10, what="redis up")

    def start(self):
        self.start_redis(0)
        self.start_redis(1, replica_of=0)
        for k in range(3):
            port = free_port()
            conf = os.path.join(self.d, f"sentinel{k}.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndir {self.d}\n"
                        f"sentinel monitor m 127.0.0.1 {self.ports[0]} 2\n"
                        "sentinel down-after-milliseconds m 2000\n"
                        "sentinel failover-timeout m 6000\n"
                        "sentinel parallel-syncs m 1\n")
            self.sentinels.append(subprocess.Popen(["redis-sentinel", conf], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))
        self.wait_stable()

    def wait_stable(self):
        """The replica replicates the primary and the sentinels have seen both."""
        rep = 1 - self.primary
        wait_for(lambda: role(self.ports[rep]) == "slave" and role(self.ports[self.primary]) == "master",
                 timeout=60, what="sentinel setup stable")
        time.sleep(3)  # let every sentinel discover the replica again

    def trial(self):
        rep = 1 - self.primary
        t0 = time.monotonic()
        self.redis[self.primary].send_signal(signal.SIGKILL)
        self.redis[self.primary].wait()
        wait_for(lambda: role(self.ports[rep]) == "master", timeout=60, interval=0.005,
                 what="sentinel to promote the replica")
        took = time.monotonic() - t0
        old = self.primary
        self.primary = rep
        self.start_redis(old)  # the sentinels turn it into a replica of the new primary
        self.wait_stable()
        return took

    def stop(self):
        for p in self.sentinels + self.redis:
            if p and p.poll() is None:
                p.kill()
                p.wait()


def main():
    d = tempfile.mkdtemp(prefix="vigil-bench-fo-")
    log = os.path.join(d, "bot.log")
    lease = Redis(d, "lease").start()
    nodes = [Node(n, lease, log, ttl="2s", renew="500ms") for n in ("a", "b")]
    sent = SentinelSetup(os.path.join(d, "sentinel"))
    os.makedirs(sent.d)
    v_times, s_times = [], []
    try:
        nodes[0].start()
        wait_active(nodes[:1])
        nodes[1].start()
        wait_for(lambda: nodes[1].role() == "standby", timeout=30, what="standby")
        sent.start()
        for i in range(TRIALS):
            act = wait_active(nodes)
            other = nodes[1] if act is nodes[0] else nodes[0]
            time.sleep(1.0)  # a few renewals into the term
            t0 = time.time()
            act.kill9()
            wait_active([other], timeout=60)
            tok = other.fo()["token"]
            v_times.append(first_token_line(log, tok) / 1e9 - t0)
            act.stop()
            act.start()
            wait_for(lambda: act.role() == "standby", timeout=30, what="restarted standby")
            s_times.append(sent.trial())
            print(f"trial {i + 1:2d}: vigil {v_times[-1]:.3f}s  sentinel {s_times[-1]:.3f}s",
                  file=sys.stderr, flush=True)
        terms = check_no_overlap(log)
    finally:
        for n in nodes:
            n.cleanup()
            shutil.rmtree(n.dir, ignore_errors=True)
        sent.stop()
        lease.stop()
        shutil.rmtree(d, ignore_errors=True)
    vm, vp, sm, sp = pct(v_times, 50), pct(v_times, 99), pct(s_times, 50), pct(s_times, 99)
    print(f"trials {TRIALS}; vigil ttl 2s renew 500ms; sentinel down-after-milliseconds 2000, quorum 2 of 3")
    print(f"{'':10s} {'median':>8s} {'p99':>8s} {'max':>8s} {'min':>8s}")
    print(f"{'vigil':10s} {vm:8.3f} {vp:8.3f} {max(v_times):8.3f} {min(v_times):8.3f}")
    print(f"{'sentinel':10s} {sm:8.3f} {sp:8.3f} {max(s_times):8.3f} {min(s_times):8.3f}")
    print(f"ratio sentinel/vigil: median {sm / vm:.2f}x, p99 {sp / vp:.2f}x")
    print(f"vigil: {len(terms)} terms in the shared log, tokens increasing, no overlap in any trial")


if __name__ == "__main__":
    main()
