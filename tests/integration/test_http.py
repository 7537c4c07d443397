"""The HTTP API over TCP: health and readiness, /metrics in both formats (clean for
promtool), the bearer token for state changes, and the limits on requests."""
import json
import os
import shutil
import socket
import subprocess
import textwrap
import time

from harness import LONG, VIGIL, Stack, VigilTest, pid_alive, wait_for

TOKEN = "s3cret-token-0123456789abcdef"
AUTH = {"Authorization": "Bearer " + TOKEN}


def raw_tcp(port, data, read=True):
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        c.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                b = c.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out and len(out) > 12:
                break
        return out.split(b"\r\n", 1)[0]
    finally:
        c.close()


class HttpTest(VigilTest):
    def token_stack(self, services):
        s = Stack("", env=None)
        path = os.path.join(s.dir, "token")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o600)
        s.write_config(f'http: {{listen: "127.0.0.1:{s.http_port}", token_file: ./token}}\n' +
                       textwrap.dedent(services))
        self.stacks.append(s)
        return s.start()

    def test_health_readiness_and_status(self):
        s = self.token_stack("""
        services:
          slow:
            cmd: ["@SIM@", --ready-after, 1500ms, --notify]
            ready: {notify: true, timeout: 20s}
          dependent:
            cmd: ["@SIM@"]
            depends_on: [slow]
        """)
        code, _, body = s.http("GET", "/healthz")
        self.assertEqual((code, body), (200, b"ok\n"))
        code, hdrs, body = s.http("GET", "/readyz")
        self.assertEqual(code, 503)
        doc = json.loads(body)
        self.assertFalse(doc["ready"])
        self.assertIn("slow: starting", doc["reasons"][0])
        self.assertIn("dependent: waiting, waiting on slow", doc["reasons"][1])
        s.wait_state("dependent", "ready", timeout=LONG)
        code, _, body = s.http("GET", "/readyz")
        self.assertEqual((code, json.loads(body)), (200, {"ready": True, "reasons": []}))
        code, _, body = s.http("GET", "/api/v1/services/slow", headers=AUTH)
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["state"], "ready")
        code, _, body = s.http("GET", "/api/v1/services", headers=AUTH)
        self.assertEqual([x["name"] for x in json.loads(body)], ["slow", "dependent"])
        self.assertEqual(s.http("GET", "/api/v1/services/nope", headers=AUTH)[0], 404)
        self.assertEqual(s.http("GET", "/nope")[0], 404)
        # the control socket serves the same routes
        self.assertEqual(s.request("GET", "/readyz")[0], 200)
        self.assertIn(b"vigil_stack_ready 1", s.request("GET", "/metrics")[1])

    def test_metrics_formats_and_promtool(self):
        s = self.stack("""
        services:
          a:
            cmd: ["@SIM@", --notify]
            ready: {notify: true}
          b:
            cmd: ["@SIM@", --exit-after, 0ms]
            restart: {delay: 50ms, max_restarts: 2}
        """)
        s.wait_state("a", "ready")
        s.wait_state("b", "fatal", timeout=LONG)
        code, hdrs, body = s.http("GET", "/metrics")
        self.assertEqual(code, 200)
        self.assertEqual(hdrs["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        for line in ['vigil_service_up{service="a"} 1', 'vigil_service_up{service="b"} 0',
                     'vigil_service_state{service="b",state="fatal"} 1',
                     'vigil_service_state{service="b",state="ready"} 0',
                     'vigil_service_restarts_total{service="b"} 2',
                     'vigil_service_last_exit_code{service="b"} 1',
                     'vigil_stack_ready 0',
                     'vigil_service_ready_seconds_count{service="a"} 1',
                     '# TYPE vigil_service_ready_seconds histogram',
                     'vigil_build_info{']:
            self.assertIn(line, text)
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                     "process_max_fds", "process_start_time_seconds"]:
            self.assertRegex(text, rf"(?m)^{name} [0-9.e+]+$")
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(r.stdout + r.stderr, b"", "promtool has remarks")
        code, hdrs, body = s.http("GET", "/metrics", headers={
            "Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"})
        self.assertTrue(hdrs["Content-Type"].startswith("application/openmetrics-text"))
        self.assertTrue(body.endswith(b"# EOF\n"))
        self.assertIn(b"# TYPE vigil_service_restarts counter", body)

    def test_state_changes_need_the_token(self):
        s = self.token_stack("""
        services:
          a:
            cmd: ["@SIM@"]
        """)
        pid = s.wait_state("a", "ready")["pid"]
        code, hdrs, body = s.http("POST", "/api/v1/services/a/restart")
        self.assertEqual(code, 401)
        self.assertEqual(hdrs.get("WWW-Authenticate"), 'Bearer realm="vigil"')
        code, _, _ = s.http("POST", "/api/v1/services/a/restart", headers={"Authorization": "Bearer wrong"})
        self.assertEqual(code, 401)
        self.assertEqual(s.http("POST", "/api/v1/reload")[0], 401)
        self.assertEqual(s.http("POST", "/api/v1/down")[0], 401)
        self.assertEqual(s.service("a")["pid"], pid, "a refused call must change nothing")
        code, _, body = s.http("POST", "/api/v1/services/a/restart",
                               headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(code, 202, body)
        wait_for(lambda: s.service("a")["pid"] not in (None, pid) and s.service("a")["state"] == "ready",
                 timeout=LONG, what="restarted with a new pid")
        # reads need the token too, but for the scrapers' routes
        self.assertEqual(s.http("GET", "/api/v1/status")[0], 401)
        self.assertEqual(s.http("GET", "/api/v1/status", headers=AUTH)[0], 200)
        self.assertEqual(s.http("GET", "/metrics")[0], 200)
        # the control socket needs none either: its file mode is the gate
        self.assertEqual(s.request("POST", "/api/v1/services/a/stop")[0], 202)
        _, _, metrics = s.http("GET", "/metrics")
        self.assertIn(b'vigil_http_requests_total{listener="tcp",code="401"} 5', metrics)

    def test_without_a_token_file_state_changes_over_tcp_are_refused(self):
        s = self.stack("""
        services:
          a:
            cmd: ["@SIM@"]
        """)
        code, _, body = s.http("POST", "/api/v1/services/a/stop", headers={"Authorization": "Bearer x"})
        self.assertEqual(code, 403)
        self.assertIn(b"token_file", body)
        self.assertEqual(s.wait_state("a", "ready")["state"], "ready")

    def test_insecure_token_file_refuses_to_start(self):
        s = Stack("services: {}\n")
        path = os.path.join(s.dir, "token")
        with open(path, "w") as f:
            f.write(TOKEN)
        os.chmod(path, 0o644)
        s.write_config(f'http: {{listen: "127.0.0.1:{s.http_port}", token_file: ./token}}\nservices: {{}}\n')
        r = subprocess.run([VIGIL, "up", "-c", s.config_path], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("must be a regular file of mode 0600 (it is 0644)", r.stderr)

    def test_port_in_use_is_a_clear_failure(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        try:
            s = Stack(f'http: {{listen: "127.0.0.1:{port}"}}\nservices: {{}}\n')
            r = subprocess.run([VIGIL, "up", "-c", s.config_path], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"cannot listen on 127.0.0.1:{port}", r.stderr)
        finally:
            blocker.close()

    def test_limits(self):
        s = self.stack("services: {}\n")
        port = s.http_port
        self.assertIn(b" 431 ", raw_tcp(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                                         b"X-Pad: " + b"a" * 40000 + b"\r\n\r\n"))
        self.assertIn(b" 431 ", raw_tcp(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                                         b"".join(b"X-%d: y\r\n" % i for i in range(100)) + b"\r\n"))
        body = b"x" * (1024 * 1024 + 10)
        code, _, _ = s.http("POST", "/api/v1/reload", body=body)
        self.assertEqual(code, 413)
        status = raw_tcp(port, b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertRegex(status, rb" 4\d\d ")
        # a client that sends half a request and stalls costs only its own connection
        stall = socket.create_connection(("127.0.0.1", port))
        stall.sendall(b"GET /healthz HTTP/1.1\r\n")
        self.assertEqual(s.http("GET", "/healthz")[0], 200)
        stall.close()
        self.assertIsNone(s.proc.poll())

    def test_errors_are_json_and_prompt(self):
        """Issue 17 item 17: every refusal over TCP is the documented JSON, at once."""
        s = self.stack("services: {}\n")
        port = s.http_port

        def exchange(data, timeout=3.0):
            c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            t0 = time.monotonic()
            try:
                c.sendall(data)
                out = b""
                while True:
                    try:
                        b = c.recv(65536)
                    except (ConnectionResetError, socket.timeout):
                        break
                    if not b:
                        break
                    out += b
            finally:
                c.close()
            head, _, body = out.partition(b"\r\n\r\n")
            return head.split(b"\r\n")[0], body, time.monotonic() - t0

        cases = [
            (b"hello there\r\n\r\n", 400),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),  # a TLS hello
            (b"GET /healthz HTTP/1.1\nHost: x\n\n", 400),                 # bare LFs
            (b"GET /healthz HTTP/1.1\r,Host: x\r\n\r\n", 400),          # bare CR (fuzz_request)
            (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n", 431),
            (b"POST /api/v1/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413),
            (b"POST /write HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nx v=1\r\n", 501),
        ]
        for data, want in cases:
            status, body, took = exchange(data)
            self.assertIn(b" %d " % want, status, data[:60])
            self.assertIn(b'{"error": ', body, data[:60])
            self.assertLess(took, 2.0, data[:60])
        # a body announced but not sent gets 408 at the body's deadline, as JSON
        status, body, took = exchange(b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx",
                                      timeout=15)
        self.assertIn(b" 408 ", status)
        self.assertIn(b'{"error": "request body not received within 10 s"}', body)
        # the same parser and answers on the control socket; HEAD has no body there either
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(5)
        c.connect(s.socket_path)
        c.sendall(b"HEAD /api/v1/status HTTP/1.0\r\n\r\n")
        out = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            out += b
        c.close()
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b" 200 ", head.split(b"\r\n")[0])
        self.assertRegex(head, rb"Content-Length: [1-9]")
        self.assertEqual(body, b"")
        code, hdrs, body = s.http("HEAD", "/healthz")
        self.assertEqual((code, body, hdrs["Content-Length"]), (200, b"", "3"))

    def test_404_and_405_follow_the_route_table(self):
        s = self.token_stack("""
        services:
          a:
            cmd: ["@SIM@"]
        """)
        for method, path, allow in [("POST", "/healthz", "GET, HEAD"),
                                    ("DELETE", "/metrics", "GET, HEAD"),
                                    ("GET", "/api/v1/reload", "POST"),
                                    ("GET", "/api/v1/services/a/restart", "POST"),
                                    ("POST", "/api/v1/services/a/logs", "GET, HEAD"),
                                    ("GET", "/write", "POST"),
                                    ("POST", "/api/v1/query", "GET, HEAD")]:
            code, hdrs, body = s.http(method, path, headers=AUTH)
            self.assertEqual((code, hdrs.get("Allow")), (405, allow), (method, path))
            self.assertEqual(json.loads(body), {"error": "method not allowed"})
        for path in ["/api/v1/services/a/bogus", "/api/v1/store/nope", "/api/v1", "/api/v1/services/a/logs/x"]:
            code, hdrs, body = s.http("GET", path, headers=AUTH)
            self.assertEqual(code, 404, path)
            self.assertNotIn("Allow", hdrs)
        self.assertEqual(s.request("POST", "/healthz")[0], 405)
        self.assertEqual(s.request("GET", "/api/v1/services/nope")[0], 404)


if __name__ == "__main__":
    import unittest
    unittest.main()
