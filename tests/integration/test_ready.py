"""Readiness: every probe kind (tcp, http, exec, log, notify) really gates the `ready`
state; dependencies start only once what they depend on is ready, independent services
start in parallel; a dependency that never gets ready keeps its dependents waiting; a
readiness timeout stops the run and restarts it as the restart policy says."""
import os
import shutil
import socket
import tempfile
import time

from harness import LONG, event_index, events_named, VigilTest, free_port, pid_alive, wait_for





def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


class ReadyTest(VigilTest):
    def watch_until_ready(self, s, name, timeout=LONG):
        """Polls the status until `name` is ready; returns every state seen on the way."""
        seen = []
        def ready():
            info = s.service(name)
            seen.append(info["state"])
            return info if info["state"] == "ready" else None
        info = wait_for(ready, timeout=timeout, what=f"{name} to be ready")
        return info, seen

    # --- the probe kinds -------------------------------------------------------------

    def test_tcp_probe_gates_readiness(self):
        port = free_port()
        s = self.stack(f"""
        services:
          feed:
            cmd: ["@SIM@", --ready-after, 1s, --listen, "{port}"]
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 60s}}
        """)
        first = s.service("feed")
        self.assertEqual(first["state"], "starting", first)
        self.assertIsNotNone(first["pid"])
        self.assertIsNone(first["ready_seconds"])
        self.assertFalse(s.status()["stack_ready"])
        info, seen = self.watch_until_ready(s, "feed")
        self.assertIn("starting", seen)
        self.assertTrue(port_open(port), "ready, yet the port does not accept connections")
        self.assertEqual(info["pid"], first["pid"])
        self.assertGreaterEqual(info["ready_seconds"], 0.9)
        self.assertEqual(info["restarts"], 0)
        self.assertIsNone(info["reason"])
        self.assertTrue(s.status()["stack_ready"])
        ev = events_named(s, "service ready", "feed")
        self.assertEqual(len(ev), 1)
        self.assertGreaterEqual(ev[0]["ready_seconds"], 0.9)
        self.assertEqual(ev[0]["pid"], first["pid"])

    def test_tcp_probe_not_ready_while_port_closed(self):
        # the process runs but nobody listens on the probed port: it never gets ready
        port = free_port()
        s = self.stack(f"""
        services:
          feed:
            cmd: ["@SIM@"]
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 60s}}
        """)
        info = wait_for(lambda: (lambda i: i if i["reason"] else None)(s.service("feed")),
                        timeout=LONG, what="a probe error in the reason")
        self.assertEqual(info["state"], "starting")
        self.assertIn("refused", info["reason"].lower())
        time.sleep(1.0)
        info = s.service("feed")
        self.assertEqual(info["state"], "starting")
        self.assertIsNone(info["ready_seconds"])
        self.assertEqual(events_named(s, "service ready", "feed"), [])

    def test_http_probe_2xx_is_ready_and_503_never(self):
        good, bad, bad_short = free_port(), free_port(), free_port()
        s = self.stack(f"""
        services:
          api:
            cmd: ["@SIM@", --ready-after, 1s, --http, "{good}"]
            ready: {{http: "http://127.0.0.1:{good}/health", interval: 50ms, timeout: 60s}}
          sick:
            cmd: ["@SIM@", --http, "{bad}", --http-status, "503"]
            ready: {{http: "http://127.0.0.1:{bad}/health", interval: 50ms, timeout: 60s}}
          sick_short:
            cmd: ["@SIM@", --http, "{bad_short}", --http-status, "503"]
            ready: {{http: "http://127.0.0.1:{bad_short}/health", interval: 50ms, timeout: 1s}}
            restart: {{delay: 10m, max_delay: 10m, jitter: 0}}
        """)
        self.assertEqual(s.service("api")["state"], "starting")
        info, seen = self.watch_until_ready(s, "api")
        self.assertIn("starting", seen)
        self.assertGreaterEqual(info["ready_seconds"], 0.9)

        # 503 answers: the service stays starting and says why
        info = wait_for(lambda: (lambda i: i if i["reason"] and "503" in i["reason"] else None)(
            s.service("sick")), timeout=LONG, what="the 503 in sick's reason")
        self.assertEqual(info["state"], "starting")
        time.sleep(1.0)
        info = s.service("sick")
        self.assertEqual(info["state"], "starting")
        self.assertIsNone(info["ready_seconds"])
        self.assertIn("503", info["reason"])
        self.assertEqual(events_named(s, "service ready", "sick"), [])
        self.assertFalse(s.status()["stack_ready"])

        # with a short readiness timeout, the timeout's reason carries the probe error
        info = s.wait_state("sick_short", "backoff", timeout=LONG)
        self.assertIn("not ready within", info["reason"])
        self.assertIn("503", info["reason"])
        self.assertEqual(events_named(s, "service ready", "sick_short"), [])
        ev = events_named(s, "service readiness timed out", "sick_short")
        self.assertEqual(len(ev), 1)
        self.assertIn("503", ev[0]["reason"])

    def test_http_probe_requests_the_configured_path(self):
        # a real HTTP server that is healthy on one path only, and logs what it is asked
        server = ("import http.server, sys\n"
                  "class H(http.server.BaseHTTPRequestHandler):\n"
                  "    def do_GET(self):\n"
                  "        code = 200 if self.path == '/health/ready?deep=1' else 404\n"
                  "        self.send_response(code)\n"
                  "        self.send_header('Content-Length', '0')\n"
                  "        self.end_headers()\n"
                  "    def log_message(self, fmt, *a):\n"
                  "        print('seen', self.command, self.path, flush=True)\n"
                  "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")
        tmp = tempfile.mkdtemp(prefix="vigil-it-srv-")
        self.addCleanup(shutil.rmtree, tmp, True)
        script = os.path.join(tmp, "srv.py")
        with open(script, "w") as f:
            f.write(server)
        p1, p2 = free_port(), free_port()
        s = self.stack(f"""
        services:
          right:
            cmd: [python3, "{script}", "{p1}"]
            ready: {{http: "http://127.0.0.1:{p1}/health/ready?deep=1", interval: 50ms, timeout: 60s}}
          wrong:
            cmd: [python3, "{script}", "{p2}"]
            ready: {{http: "http://127.0.0.1:{p2}/nope", interval: 50ms, timeout: 60s}}
        """)
        s.wait_state("right", "ready", timeout=LONG)
        seen = [e["msg"] for e in s.events() if e.get("service") == "right"
                and str(e.get("msg", "")).startswith("seen ")]
        self.assertIn("seen GET /health/ready?deep=1", seen)
        info = wait_for(lambda: (lambda i: i if i["reason"] and "404" in i["reason"] else None)(
            s.service("wrong")), timeout=LONG, what="the 404 in wrong's reason")
        self.assertEqual(info["state"], "starting")
        self.assertTrue([e for e in s.events() if e.get("service") == "wrong"
                         and e.get("msg") == "seen GET /nope"])
        self.assertEqual(events_named(s, "service ready", "wrong"), [])

    def test_a_hanging_attempt_gives_way_to_the_next(self):
        # the first connection is accepted and never answered; later ones get 200
        port = free_port()
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(8)
        held = []

        def serve():
            first = True
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                if first:
                    held.append(c)  # hang this one
                    first = False
                    continue
                c.recv(1024)
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
                c.close()

        import threading
        threading.Thread(target=serve, daemon=True).start()
        try:
            s = self.stack(f"""
            services:
              svc:
                cmd: ["@SIM@"]
                ready: {{http: "http://127.0.0.1:{port}/", interval: 100ms, timeout: 20s}}
            """)
            wait_for(lambda: "no answer within 1s" in (s.service("svc")["reason"] or "")
                     or s.service("svc")["state"] == "ready", timeout=LONG, what="first attempt expiring")
            info = s.wait_state("svc", "ready", timeout=LONG)
            self.assertEqual(info["restarts"], 0)
            self.assertEqual(len(held), 1)
        finally:
            srv.close()
            for c in held:
                c.close()

    def test_exec_probe_gates_readiness(self):
        s = self.stack("""
        services:
          loader:
            cmd: ["@SIM@"]
            ready: {exec: [sh, -c, "test -e @DIR@/loaded"], interval: 50ms, timeout: 60s}
        """)
        flag = os.path.join(s.dir, "loaded")
        info = wait_for(lambda: (lambda i: i if i["reason"] else None)(s.service("loader")),
                        timeout=LONG, what="a failed exec probe")
        self.assertEqual(info["state"], "starting")
        self.assertIn("probe exited with code 1", info["reason"])
        time.sleep(1.0)
        self.assertEqual(s.service("loader")["state"], "starting")
        self.assertEqual(events_named(s, "service ready", "loader"), [])
        pid = info["pid"]
        open(flag, "w").close()
        info = s.wait_state("loader", "ready", timeout=LONG)
        self.assertEqual(info["pid"], pid)
        self.assertEqual(info["restarts"], 0)
        self.assertIsNone(info["reason"])
        self.assertGreaterEqual(info["ready_seconds"], 1.0)

    def test_log_probe_gates_readiness(self):
        s = self.stack("""
        services:
          gw:
            cmd: ["@SIM@", --ready-after, 1s, --tick, 100ms, --say, "listening on 1234"]
            ready: {log: "listening on", timeout: 60s}
        """)
        self.assertEqual(s.service("gw")["state"], "starting")
        # output that does not match (the ticks) does not make it ready
        wait_for(lambda: [e for e in s.events() if e.get("service") == "gw"
                          and str(e.get("msg", "")).startswith("tick ")],
                 timeout=LONG, what="a tick line from gw")
        info, seen = self.watch_until_ready(s, "gw")
        self.assertIn("starting", seen)
        self.assertGreaterEqual(info["ready_seconds"], 0.9)
        msgs = [e.get("msg") for e in s.events()]
        said = msgs.index("listening on 1234")
        self.assertLess(said, event_index(s, "service ready", "gw"))
        self.assertFalse(any(m == "service ready" for m in msgs[:said]))

    def test_log_probe_regex(self):
        s = self.stack("""
        services:
          gw:
            cmd: ["@SIM@", --ready-after, 300ms, --tick, 50ms, --say, "port=8080 up"]
            ready: {log: "^port=[0-9]+ up$", timeout: 60s}
        """)
        info = s.wait_state("gw", "ready", timeout=LONG)
        self.assertGreaterEqual(info["ready_seconds"], 0.25)

    def test_notify_probe_gates_readiness(self):
        s = self.stack("""
        services:
          bot:
            cmd: ["@SIM@", --notify, --ready-after, 1s]
            ready: {notify: true, timeout: 60s}
          mute:
            cmd: ["@SIM@"]
            ready: {notify: true, timeout: 60s}
        """)
        self.assertEqual(s.service("bot")["state"], "starting")
        info, seen = self.watch_until_ready(s, "bot")
        self.assertIn("starting", seen)
        self.assertGreaterEqual(info["ready_seconds"], 0.9)
        self.assertEqual(info["status_text"], "serving")
        # a service that never sends READY=1 never gets ready
        time.sleep(1.0)
        info = s.service("mute")
        self.assertEqual(info["state"], "starting")
        self.assertIsNone(info["ready_seconds"])
        self.assertEqual(events_named(s, "service ready", "mute"), [])

    # --- ordering --------------------------------------------------------------------

    def test_dependent_waits_for_dependency(self):
        port = free_port()
        s = self.stack(f"""
        services:
          A:
            cmd: ["@SIM@", --ready-after, 1s, --listen, "{port}"]
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 60s}}
          B:
            cmd: ["@SIM@"]
            depends_on: [A]
        """)
        b = s.service("B")
        self.assertEqual(b["state"], "waiting", b)
        self.assertEqual(b["waiting_on"], ["A"])
        self.assertIsNone(b["pid"])
        seen_waiting = []
        def b_ready():
            st = s.status()
            a, b = (next(x for x in st["services"] if x["name"] == n) for n in ("A", "B"))
            if b["state"] == "waiting":
                seen_waiting.append(a["state"])
                self.assertEqual(b["waiting_on"], ["A"])
            if b["state"] not in ("waiting", "stopped"):
                self.assertEqual(a["state"], "ready", "B left waiting before A was ready")
            return b if b["state"] == "ready" else None
        b = wait_for(b_ready, timeout=LONG, what="B ready")
        self.assertNotIn("ready", seen_waiting)
        self.assertEqual(b["waiting_on"], [])
        self.assertLess(event_index(s, "service ready", "A"), event_index(s, "service started", "B"))
        self.assertEqual(len(events_named(s, "service started", "B")), 1)

    def test_independent_services_start_in_parallel(self):
        p1, p2 = free_port(), free_port()
        s = self.stack(f"""
        services:
          left:
            cmd: ["@SIM@", --ready-after, 700ms, --listen, "{p1}"]
            ready: {{tcp: "127.0.0.1:{p1}", interval: 50ms, timeout: 60s}}
          right:
            cmd: ["@SIM@", --ready-after, 700ms, --listen, "{p2}"]
            ready: {{tcp: "127.0.0.1:{p2}", interval: 50ms, timeout: 60s}}
        """)
        s.wait_state("left", "ready", timeout=LONG)
        s.wait_state("right", "ready", timeout=LONG)
        started = max(event_index(s, "service started", n) for n in ("left", "right"))
        ready = min(event_index(s, "service ready", n) for n in ("left", "right"))
        self.assertLess(started, ready, "one service waited for the other to be ready")

    def test_dependency_never_ready_keeps_dependent_waiting(self):
        port = free_port()  # nobody will listen here
        s = self.stack(f"""
        services:
          A:
            cmd: ["@SIM@"]
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 1s}}
            restart: {{delay: 10m, max_delay: 10m, jitter: 0}}
          B:
            cmd: ["@SIM@"]
            depends_on: [A]
        """)
        a = s.wait_state("A", "backoff", timeout=LONG)
        self.assertIn("not ready within", a["reason"])
        self.assertEqual(a["restarts"], 1)
        time.sleep(0.5)
        b = s.service("B")
        self.assertEqual(b["state"], "waiting")
        self.assertEqual(b["waiting_on"], ["A"])
        self.assertIsNone(b["pid"])
        self.assertEqual(events_named(s, "service started", "B"), [])
        self.assertFalse(s.status()["stack_ready"])

        r = s.cli("status", check=0)
        lines = r.stdout.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("SERVICE"))
        rows = {line.split()[0]: line for line in lines[header + 1:] if line.strip()}
        self.assertIn("A", rows, r.stdout)
        self.assertIn("B", rows, r.stdout)
        self.assertIn("waiting", rows["B"].split())
        self.assertIn("waiting on A", rows["B"])
        self.assertIn("backoff", rows["A"].split())
        self.assertIn("not ready within", rows["A"])
        self.assertTrue(any(line.startswith("stack not ready:") for line in lines), r.stdout)

    def test_readiness_timeout_restarts_per_policy(self):
        port = free_port()  # nobody will listen here
        s = self.stack(f"""
        services:
          slow:
            cmd: ["@SIM@"]
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 500ms}}
            restart: {{delay: 100ms, jitter: 0, max_restarts: 0}}
          capped:
            cmd: ["@SIM@"]
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 500ms}}
            restart: {{delay: 100ms, jitter: 0, max_restarts: 2, window: 10m}}
        """)
        wait_for(lambda: s.service("slow")["restarts"] >= 3, timeout=LONG * 2,
                 what="three restarts of slow")
        started = [e["pid"] for e in events_named(s, "service started", "slow")]
        self.assertGreaterEqual(len(started), 3)
        self.assertEqual(len(set(started)), len(started), "each run is a new process")
        self.assertGreaterEqual(len(events_named(s, "service readiness timed out", "slow")), 3)
        # runs that timed out were stopped, not left running beside the new one
        current = s.service("slow")["pid"]
        for pid in started[:-1]:
            if pid != current:
                wait_for(lambda: not pid_alive(pid), timeout=LONG, what=f"old run {pid} gone")
        self.assertEqual(events_named(s, "service ready", "slow"), [])

        info = s.wait_state("capped", "fatal", timeout=LONG * 2)
        self.assertEqual(info["restarts"], 2)
        self.assertIn("gave up after 2 restarts", info["reason"])
        self.assertEqual(len(events_named(s, "service readiness timed out", "capped")), 3)
        self.assertIsNone(info["pid"])

    def test_reason_tells_the_latest_failure_after_a_readiness_timeout(self):
        # run 1 times out getting ready; run 2 exits with code 3 before it is ready: the
        # reason must describe run 2, not repeat run 1's timeout
        port = free_port()  # nobody will listen here
        s = self.stack(f"""
        services:
          feed:
            cmd: [sh, -c, 'if [ -e @DIR@/ran ]; then exit 3; fi; touch @DIR@/ran; exec "@SIM@"']
            ready: {{tcp: "127.0.0.1:{port}", interval: 50ms, timeout: 1s}}
            restart: {{delay: 200ms, max_delay: 10m, jitter: 0, max_restarts: 0}}
        """)
        wait_for(lambda: events_named(s, "service readiness timed out", "feed"), timeout=LONG,
                 what="the first run's readiness timeout")
        info = wait_for(lambda: (lambda i: i if i["state"] == "backoff" and i["restarts"] >= 2
                                 else None)(s.service("feed")), timeout=LONG,
                        what="the second run's exit")
        self.assertEqual(info["last_exit"], {"code": 3, "signal": None})
        self.assertEqual(len(events_named(s, "service readiness timed out", "feed")), 1)
        self.assertIn("exited with code 3", info["reason"])
        self.assertNotIn("not ready within", info["reason"])


if __name__ == "__main__":
    import unittest
    unittest.main()
