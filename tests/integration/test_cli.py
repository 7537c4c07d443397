"""The command line: config errors with positions and exit 2, --help on every verb,
the status document, logs, the control socket's mode, and one vigil per state_dir."""
import json
import os
import stat
import subprocess
import tempfile
import textwrap

from harness import SIM, VIGIL, Stack, VigilTest, wait_for

VERBS = ["up", "check", "status", "start", "stop", "restart", "logs", "reload", "down", "export"]


def check(text):
    d = tempfile.mkdtemp(prefix="vigil-check-")
    path = os.path.join(d, "bad.yaml")
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    r = subprocess.run([VIGIL, "check", path], capture_output=True, text=True, timeout=30)
    return r, path


class CliTest(VigilTest):
    def assert_bad(self, text, line, col, fragment):
        r, path = check(text)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        expected = f"{path}:{line}:{col}: "
        hits = [l for l in r.stderr.splitlines() if l.startswith(expected) and fragment in l]
        self.assertTrue(hits, f"want '{expected}...{fragment}' in:\n{r.stderr}")

    def test_bad_configs(self):
        cases = [
            # (config, line, col, fragment)
            ("servces: {}\n", 1, 1, "did you mean 'services'"),
            ("services:\n  a:\n    cmd: [x]\n    restrat: always\n", 4, 5, "did you mean 'restart'"),
            ("services:\n  a:\n    cmd: [x]\n    restart: {delay: 30x}\n", 4, 22, "30x"),
            ("services:\n  a:\n    cmd: [x]\n    depends_on: [b]\n  b:\n    cmd: [x]\n    depends_on: [a]\n",
             2, 3, "a -> b -> a"),
            ("services:\n  a:\n    cmd: [x]\n    depends_on: [feed]\n  fed:\n    cmd: [x]\n", 4, 18, "did you mean 'fed'"),
            ("services:\n  a:\n    cmd: x\n", 3, 10, "set shell: true"),
            ("services:\n  a:\n    shell: true\n", 2, 3, "cmd"),
            ("services:\n  a:\n    cmd: [x]\n    ready: {tcp: 'localhost:99999'}\n", 4, 18, "port"),
            ("services:\n  a:\n    cmd: [x]\n    ready: {tcp: 'h:1', notify: true}\n", 4, 25, "more than one probe"),
            ("services:\n  a:\n    cmd: [x]\n    ready: {log: '('}\n", 4, 18, "bad regex"),
            ("services:\n  a:\n    cmd: [x]\n    stop: {signal: SIGFOO}\n", 4, 20, "SIGFOO"),
            ("services:\n  a:\n    cmd: [x]\n    no_restart_exit_codes: [300]\n", 4, 29, "300"),
            ("services:\n  a:\n    cmd: [x]\n    watchdog: [1s]\n", 4, 15, "expected"),
            ("services:\n  a:\n    cmd: ['${VIGIL_SURELY_UNSET_VAR}']\n", 3, 11, "VIGIL_SURELY_UNSET_VAR"),
            ("services:\n  a: [\n", 3, 1, ""),
        ]
        for text, line, col, frag in cases:
            with self.subTest(config=text):
                self.assert_bad(text, line, col, frag)

    def test_every_problem_reported(self):
        r, path = check("services:\n  a:\n    cmd: [x]\n    restart: {delay: 1x}\n  b:\n    cmd: [x]\n    watchdog: soon\n")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len([l for l in r.stderr.splitlines() if l.startswith(path + ":")]), 2, r.stderr)

    def test_missing_file(self):
        r = subprocess.run([VIGIL, "check", "/nonexistent/vigil.yaml"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/vigil.yaml", r.stderr)

    def test_valid_config_and_env_expansion(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "ok.yaml")
        with open(path, "w") as f:
            f.write("services:\n  a:\n    cmd: ['${VIGIL_T_PROG:-/bin/true}', '${VIGIL_T_ARG}']\n")
        r = subprocess.run([VIGIL, "check", path], capture_output=True, text=True,
                           env=dict(os.environ, VIGIL_T_ARG="x"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok (1 service)", r.stdout)

    def test_help_on_every_verb(self):
        for verb in VERBS:
            r = subprocess.run([VIGIL, verb, "--help"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, verb)
            self.assertIn(f"usage: vigil {verb}", r.stdout)
        r = subprocess.run([VIGIL, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for verb in VERBS:
            self.assertIn(verb, r.stdout)
        self.assertEqual(subprocess.run([VIGIL, "frobnicate"], capture_output=True).returncode, 2)
        self.assertEqual(subprocess.run([VIGIL, "status", "--bogus"], capture_output=True).returncode, 2)

    def test_no_daemon(self):
        s = Stack("services: {}\n")
        r = s.cli("status")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no daemon answers", r.stderr)

    def test_status_logs_socket_and_lock(self):
        s = self.stack("""
        services:
          talker:
            cmd: ["@SIM@", --say, "hello from talker", --tick, 50ms]
          waiter:
            cmd: ["@SIM@"]
            depends_on: [never]
          never:
            cmd: ["@SIM@"]
            ready: {exec: ["false"], timeout: 60s}
        """)
        s.wait_state("talker", "ready")
        mode = stat.S_IMODE(os.stat(s.socket_path).st_mode)
        self.assertEqual(mode, 0o600)
        doc = json.loads(s.cli("status", "--json", check=0).stdout)
        self.assertEqual(set(doc), {"vigil", "stack_ready", "services"})
        self.assertEqual(set(doc["vigil"]), {"version", "commit", "pid", "config", "state_dir", "http",
                                             "uptime_seconds"})
        self.assertEqual(doc["vigil"]["http"], f"127.0.0.1:{s.http_port}")
        self.assertFalse(doc["stack_ready"])
        svc = {x["name"]: x for x in doc["services"]}
        self.assertEqual(set(svc["talker"]), {"name", "state", "pid", "uptime_seconds", "restarts", "admin_restarts", "last_exit",
                                             "ready_seconds", "waiting_on", "reason", "next_start_in",
                                             "watchdog_pings", "status_text", "log_file"})
        self.assertEqual(svc["waiter"]["waiting_on"], ["never"])
        table = s.cli("status", check=0).stdout
        self.assertIn(f"http://127.0.0.1:{s.http_port}/metrics", table)
        self.assertRegex(table, r"waiter\s+waiting")
        self.assertIn("waiting on never", table)
        wait_for(lambda: s.cli("logs", "talker", "-n", "3").stdout.count("tick") == 3, what="3 tick lines")
        out = s.cli("logs", "-n", "500", "talker", check=0).stdout
        self.assertIn("stdout hello from talker", out)
        # follow: new lines arrive on the open connection
        p = subprocess.Popen([VIGIL, "-c", s.config_path, "logs", "talker", "-f", "-n", "0"],
                             stdout=subprocess.PIPE, text=True)
        try:
            first = p.stdout.readline()
            self.assertIn("tick", first)
        finally:
            p.kill()
            p.wait()
        # unknown service
        r = s.cli("restart", "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no service named 'nosuch'", r.stderr)
        # one vigil per state_dir
        r = subprocess.run([VIGIL, "up", "-c", s.config_path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already running", r.stderr)
        self.assertEqual(s.service("talker")["state"], "ready")

    def test_bad_requests_on_control_socket(self):
        s = self.stack("services: {}\n")
        import socket
        def raw(data):
            c = socket.socket(socket.AF_UNIX)
            c.connect(s.socket_path)
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            out = b""
            while True:
                b = c.recv(4096)
                if not b:
                    break
                out += b
            c.close()
            return out.split(b"\r\n", 1)[0]
        self.assertIn(b" 400 ", raw(b"GET /../etc/passwd HTTP/1.0\r\n\r\n"))
        self.assertIn(b" 431 ", raw(b"GET / HTTP/1.0\r\n" + b"X: y\r\n" * 2000 + b"\r\n"))
        self.assertIn(b" 505 ", raw(b"GET / HTTP/2.0\r\n\r\n"))
        self.assertIn(b" 404 ", raw(b"GET /nope HTTP/1.0\r\n\r\n"))
        self.assertIn(b" 405 ", raw(b"DELETE /api/v1/status HTTP/1.0\r\n\r\n"))
        self.assertIn(b" 200 ", raw(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n"))


if __name__ == "__main__":
    import unittest
    unittest.main()
