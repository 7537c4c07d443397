"""vigil under systemd: READY=1 once the stack is ready, STATUS=, watchdog pings."""
import os
import socket
import tempfile

from harness import VigilTest, wait_for


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


if __name__ == "__main__":
    import unittest
    unittest.main()
