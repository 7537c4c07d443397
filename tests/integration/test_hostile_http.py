"""Hostile clients against the running daemon: nothing a local client does without the
token may take the API down, or read what is not meant for it.

SlowClientTest: slow and half-open clients on both listeners (issue 17, item 1).
HostHeaderTest: DNS rebinding and token-less reads of service output (issue 17, item 2).
"""
import os
import socket
import time

from harness import Stack, VigilTest, wait_for

TOKEN = "hostile-token-0123456789abcdef"


def healthz_tcp(port, timeout):
    """(status line, seconds) of GET /healthz over TCP; the status is None on failure."""
    t0 = time.monotonic()
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            c.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                b = c.recv(4096)
                if not b:
                    break
                data += b
        finally:
            c.close()
        return data.split(b"\r\n", 1)[0] or None, time.monotonic() - t0
    except OSError:
        return None, time.monotonic() - t0


def healthz_unix(path, timeout):
    t0 = time.monotonic()
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(timeout)
        try:
            c.connect(path)
            c.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            data = c.recv(4096)
        finally:
            c.close()
        return data.split(b"\r\n", 1)[0] or None, time.monotonic() - t0
    except OSError:
        return None, time.monotonic() - t0


def half_open(connect, n):
    """n connections that each send the first line of a request and nothing more."""
    socks = []
    for _ in range(n):
        try:
            c = connect()
            c.sendall(b"GET /healthz HTTP/1.1\r\n")
            socks.append(c)
        except OSError:
            pass
    return socks


def wait_healthy(probe, within, what):
    """Asserts probe() answers 200 within `within` seconds; returns the seconds taken."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < within:
        last, _ = probe(max(0.2, within - (time.monotonic() - t0)))
        if last and b" 200 " in last:
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"{what}: no 200 within {within}s (last: {last!r})")


class SlowClientTest(VigilTest):
    def test_half_open_bursts_cannot_take_tcp_down(self):
        s = self.stack("services: {}\n")
        port = s.http_port
        connect = lambda: socket.create_connection(("127.0.0.1", port), timeout=5)
        # the attack: five bursts of 80 half-open connections, then 500 held
        for _ in range(3):
            socks = []
            for _ in range(5):
                socks += half_open(connect, 80)
                time.sleep(0.1)
            for c in socks:
                c.close()
            took = wait_healthy(lambda t: healthz_tcp(port, t), 1.0, "after the bursts closed")
            print(f"\n  healthz after 400 half-open closed: {took * 1000:.0f} ms")
        socks = half_open(connect, 500)
        try:
            self.assertEqual(len(socks), 500)
            took = wait_healthy(lambda t: healthz_tcp(port, t), 10.0, "while 500 are held")
            print(f"  healthz while 500 half-open are held: {took * 1000:.0f} ms")
        finally:
            for c in socks:
                c.close()
        took = wait_healthy(lambda t: healthz_tcp(port, t), 1.0, "after the 500 closed")
        print(f"  healthz after the 500 closed: {took * 1000:.0f} ms")
        self.assertIsNone(s.proc.poll())

    def test_exactly_the_limit_held_then_closed(self):
        s = self.stack("services: {}\n")
        port = s.http_port
        for _ in range(3):
            socks = half_open(lambda: socket.create_connection(("127.0.0.1", port), timeout=5), 64)
            time.sleep(1)
            for c in socks:
                c.close()
            wait_healthy(lambda t: healthz_tcp(port, t), 1.0, "after 64 held for 1 s")

    def test_trickled_head_is_cut_at_its_deadline(self):
        s = self.stack("services: {}\n")
        c = socket.create_connection(("127.0.0.1", s.http_port), timeout=20)
        t0 = time.monotonic()
        c.sendall(b"GET /healthz HTTP/1.1\r\n")
        data = b""
        try:
            # one header byte a second: an idle timeout would never fire
            for ch in b"X-Slow: " + b"a" * 30:
                c.sendall(bytes([ch]))
                c.settimeout(1.0)
                try:
                    b = c.recv(4096)
                    if not b:
                        break
                    data += b
                    break
                except socket.timeout:
                    pass
        except OSError:
            pass
        took = time.monotonic() - t0
        c.close()
        self.assertIn(b" 408 ", data.split(b"\r\n", 1)[0])
        self.assertIn(b'{"error": "request head not received within 5 s"}', data)
        self.assertLess(took, 8.0)

    def test_control_socket_sheds_slow_clients(self):
        s = self.stack("services: {}\n")
        path = s.socket_path

        def connect():
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(5)
            c.connect(path)
            return c

        socks = half_open(connect, 300)
        try:
            took = wait_healthy(lambda t: healthz_unix(path, t), 3.0, "control socket, 300 held")
            print(f"\n  control socket healthz while 300 are held: {took * 1000:.0f} ms")
            # and the CLI still works
            self.assertEqual(s.cli("status").returncode, 0)
        finally:
            for c in socks:
                c.close()
        wait_healthy(lambda t: healthz_unix(path, t), 1.0, "control socket after they closed")


class HostHeaderTest(VigilTest):
    def token_stack(self, config):
        s = Stack("services: {}\n")
        path = os.path.join(s.dir, "token")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o600)
        s.write_config(f'http: {{listen: "127.0.0.1:{s.http_port}", token_file: ./token'
                       f'{config}}}\nservices:\n  talker:\n    cmd: ["@SIM@", --say, "hello"]\n')
        self.stacks.append(s)
        return s.start()

    def get(self, s, path, host, token=False):
        hdrs = {"Host": host}
        if token:
            hdrs["Authorization"] = "Bearer " + TOKEN
        return s.http("GET", path, headers=hdrs)

    def test_dns_rebinding_and_tokenless_log_reads_are_refused(self):
        s = self.token_stack("")
        wait_for(lambda: s.service("talker")["state"] == "ready", what="talker ready")
        logs = "/api/v1/services/talker/logs"
        # a page on evil.example.com that rebinds its name to 127.0.0.1
        for path in [logs, "/api/v1/status", "/metrics", "/healthz"]:
            code, _, body = self.get(s, path, "evil.example.com", token=True)
            self.assertEqual(code, 421, path)
            self.assertIn(b"allowed_hosts", body)
        self.assertEqual(self.get(s, logs, f"evil.example.com:{s.http_port}", token=True)[0], 421)
        # any local user without the token
        for host in [f"127.0.0.1:{s.http_port}", "localhost", f"localhost:{s.http_port}"]:
            code, hdrs, _ = self.get(s, logs, host)
            self.assertEqual(code, 401, host)
            self.assertEqual(hdrs.get("WWW-Authenticate"), 'Bearer realm="vigil"')
            self.assertEqual(self.get(s, logs, host, token=True)[0], 200)
        for path in ["/api/v1/status", "/api/v1/services", "/api/v1/services/talker",
                     "/api/v1/query?q=x", "/api/v1/store/stats"]:
            self.assertEqual(self.get(s, path, "127.0.0.1")[0], 401, path)
        # the scrapers' routes stay open
        for path in ["/metrics", "/healthz"]:
            self.assertEqual(self.get(s, path, "127.0.0.1")[0], 200, path)
        self.assertIn(self.get(s, "/readyz", "127.0.0.1")[0], (200, 503))
        # HTTP/1.1 without Host is refused; HTTP/1.0 without it passes
        c = socket.create_connection(("127.0.0.1", s.http_port), timeout=5)
        c.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
        self.assertIn(b" 400 ", c.recv(4096).split(b"\r\n", 1)[0])
        c.close()
        c = socket.create_connection(("127.0.0.1", s.http_port), timeout=5)
        c.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertIn(b" 200 ", c.recv(4096).split(b"\r\n", 1)[0])
        c.close()

    def test_allowed_hosts_from_the_config(self):
        s = self.token_stack(", allowed_hosts: [vigil.lan, 10.1.2.3]")
        self.assertEqual(self.get(s, "/healthz", "vigil.lan:9464")[0], 200)
        self.assertEqual(self.get(s, "/healthz", "VIGIL.LAN")[0], 200)
        self.assertEqual(self.get(s, "/healthz", "10.1.2.3")[0], 200)
        self.assertEqual(self.get(s, "/healthz", "vigil.lan.evil.example.com")[0], 421)
        self.assertEqual(self.get(s, "/healthz", "10.1.2.4")[0], 421)


if __name__ == "__main__":
    import unittest
    unittest.main()
