"""vigil under systemd: READY=1 once the stack is ready, STATUS=, watchdog pings."""
import os
import socket
import tempfile
import time

from harness import LONG, VigilTest, event_index, events_named, wait_for


class SystemdTest(VigilTest):
    def test_sd_notify_ready_status_and_watchdog(self):
        d = tempfile.mkdtemp(prefix="vigil-sd-")
        path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.2)
        msgs = []

        def drain():
            try:
                while True:
                    msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
            return msgs

        s = self.stack("""
        services:
          slow:
            cmd: ["@SIM@", --ready-after, 600ms, --notify]
            ready: {notify: true, timeout: 10s}
        """, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        wait_for(lambda: any("READY=1" in m for m in drain()), what="READY=1")
        ready_at = next(i for i, m in enumerate(msgs) if "READY=1" in m)
        self.assertTrue(any("STATUS=0/1 services ready" in m for m in msgs[:ready_at]), msgs)
        self.assertEqual(s.service("slow")["state"], "ready", "READY=1 only once the stack is ready")
        n = len([m for m in drain() if "WATCHDOG=1" in m])
        wait_for(lambda: len([m for m in drain() if "WATCHDOG=1" in m]) >= n + 3, what="watchdog pings")
        s.stop()
        drain()
        self.assertTrue(any("STOPPING=1" in m for m in msgs), msgs)
        sock.close()

    def _notify_socket(self):
        d = tempfile.mkdtemp(prefix="vigil-sd-")
        path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.2)
        self.addCleanup(sock.close)
        return path, sock

    def test_ready_waits_for_the_last_service(self):
        # "quick" is ready the moment it is spawned, "slow" 2 s later: READY=1 (and the
        # log's "stack ready") must wait for slow. The bug announced it at quick.
        path, sock = self._notify_socket()
        s = self.stack("""
        services:
          quick:
            cmd: ["@SIM@"]
          slow:
            cmd: ["@SIM@", --ready-after, 2s, --notify]
            ready: {notify: true, timeout: 10s}
        """, env={"NOTIFY_SOCKET": path})
        deadline = time.monotonic() + LONG
        while time.monotonic() < deadline:
            try:
                m = sock.recv(4096).decode()
            except socket.timeout:
                continue
            if "READY=1" in m:
                break
        else:
            self.fail("no READY=1")
        self.assertEqual(s.service("slow")["state"], "ready", "READY=1 before the last service was ready")
        self.assertEqual(s.service("quick")["state"], "ready")
        stack_ready = event_index(s, "stack ready", None)
        self.assertLess(event_index(s, "service ready", "slow"), stack_ready)

    def test_ready_after_every_one_of_many_services(self):
        # Services with no readiness probe are ready as they are spawned: "stack ready"
        # must still come after the last of them, not the first.
        n = 60
        path, sock = self._notify_socket()
        svcs = "".join(f"""
          s{i}:
            cmd: ["@SIM@"]""" for i in range(n))
        s = self.stack("services:" + svcs + "\n", env={"NOTIFY_SOCKET": path})
        msgs = []

        def ready():
            # keep reading: a full datagram queue would block vigil's sd_notify
            try:
                while True:
                    msgs.append(sock.recv(4096).decode())
            except (socket.timeout, BlockingIOError):
                pass
            return any("READY=1" in m for m in msgs) and events_named(s, "stack ready")
        sock.settimeout(0.01)
        wait_for(ready, timeout=LONG, what="READY=1 and stack ready")
        ev = s.events()
        ready_at = next(i for i, e in enumerate(ev) if e.get("msg") == "stack ready")
        ready_svcs = {e["service"] for e in ev[:ready_at] if e.get("msg") == "service ready"}
        self.assertEqual(len(ready_svcs), n, f"stack ready after only {len(ready_svcs)} of {n}")


if __name__ == "__main__":
    import unittest
    unittest.main()
