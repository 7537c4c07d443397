"""The routes behind the page (docs/web.md, docs/api.md): the page and its assets (open,
embedded, self-contained, under 200 KB of JavaScript), the events stream (token, shape,
limits, on the control socket too, `vigil status --watch`), the compute grid, and
admin_restarts."""
import http.client
import json
import os
import re
import socket
import subprocess
import time
import unittest

from harness import FEED, LONG, SIM, VIGIL, VigilTest, UnixHTTPConnection, free_port, wait_for

TOKEN = "web-token-0123456789abcdef"


class Events:
    """A reader of GET /api/v1/events: yields (event, data) as they come."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.head = None

    @classmethod
    def tcp(cls, port, token=TOKEN):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        s.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode())
        return cls(s)

    @classmethod
    def unix(cls, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: vigil\r\n\r\n")
        return cls(s)

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                break
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        return self.status

    def next(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n\n" not in self.buf:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the stream ended")
            self.buf += data
        block, _, self.buf = self.buf.partition(b"\n\n")
        event, data = None, None
        for line in block.decode().split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line.startswith(":"):
                event = "comment"
        return event, data

    def until(self, pred, timeout=LONG, what="event"):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            ev = self.next(deadline - time.monotonic())
            seen.append(ev[0])
            if pred(*ev):
                return ev
        raise AssertionError(f"no {what} within {timeout}s (saw {seen[-20:]})")

    def close(self):
        self.sock.close()


class WebApiTest(VigilTest):
    def web_stack(self, extra=""):
        port = free_port()
        self.feed_port = port
        return self.stack(f"""
            services:
              a: {{cmd: ["@SIM@"], restart: {{policy: always, delay: 100ms}}}}
              pub: {{cmd: ["{FEED}", --connect, "tcp://127.0.0.1:{port}", --rate, "100", --symbols, "3"]}}
            feeds:
              ticks:
                bind: tcp://127.0.0.1:{port}
                socket: pull
                expect: {{rate: 100/s}}
            {extra}""", token=TOKEN)

    def get(self, s, path, token=None, method="GET"):
        conn = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
        conn.request(method, path, headers={"Authorization": "Bearer " + token} if token else {})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def test_page_and_assets_open_and_self_contained(self):
        s = self.web_stack()
        code, h, body = self.get(s, "/")
        self.assertEqual(code, 200)
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertIn("default-src 'none'", h["content-security-policy"])
        self.assertIn("frame-ancestors 'none'", h["content-security-policy"])
        self.assertEqual(h["x-content-type-options"], "nosniff")
        self.assertIn(b"<title>vigil</title>", body)
        # nothing from elsewhere: every script and stylesheet is one of ours
        refs = re.findall(rb'(?:src|href)="([^"#]+)"', body)
        self.assertTrue(refs)
        self.assertIn(b"data:,", refs)  # the empty icon: no favicon.ico request
        refs.remove(b"data:,")
        for ref in refs:
            self.assertTrue(ref.startswith(b"/assets/"), ref)
            code, h2, asset = self.get(s, ref.decode())
            self.assertEqual(code, 200, ref)
            self.assertGreater(len(asset), 100, ref)
        scripts = re.findall(rb'<script src="([^"]+)"', body)
        self.assertEqual(sorted(scripts), [b"/assets/app.js", b"/assets/uPlot.min.js"])
        js = sum(len(self.get(s, x.decode())[2]) for x in scripts)
        print(f"\n  the page's JavaScript, uPlot included: {js} bytes (limit 204800)")
        self.assertLess(js, 200 * 1024)
        self.assertEqual(self.get(s, "/assets/app.js")[1]["content-type"], "text/javascript; charset=utf-8")
        self.assertEqual(self.get(s, "/assets/app.css")[1]["content-type"], "text/css; charset=utf-8")
        for css in (b"/assets/app.css", b"/assets/uPlot.min.css"):
            self.assertNotRegex(self.get(s, css.decode())[2], rb"url\((?!data:)|@import|https?://")
        self.assertNotRegex(self.get(s, "/assets/app.js")[2], rb"https?://")
        # the same bytes as the sources: embedded at build time
        src = os.path.join(os.environ.get("VIGIL_SOURCE", "../.."), "web/app.js")
        with open(src, "rb") as f:
            self.assertEqual(self.get(s, "/assets/app.js")[2], f.read())
        self.assertEqual(self.get(s, "/assets/nope.js")[0], 404)
        self.assertEqual(self.get(s, "/assets/")[0], 404)
        self.assertEqual(self.get(s, "/assets/../vigil.yaml")[0], 400)
        code, h, body = self.get(s, "/", method="HEAD")
        self.assertEqual((code, body), (200, b""))
        self.assertEqual(self.get(s, "/", method="POST")[0], 405)
        # the API behind the page still needs the token
        self.assertEqual(self.get(s, "/api/v1/status")[0], 401)
        self.assertEqual(self.get(s, "/api/v1/status", TOKEN)[0], 200)

    def test_events_stream(self):
        s = self.web_stack()
        e = Events.tcp(s.http_port, token=None)
        self.assertEqual(e.read_head(), 401)
        e.close()
        e = Events.tcp(s.http_port, token="wrong-token-0123456789")
        self.assertEqual(e.read_head(), 401)
        e.close()
        e = Events.tcp(s.http_port)
        self.assertEqual(e.read_head(), 200)
        self.assertEqual(e.headers["content-type"], "text/event-stream")
        self.assertEqual(e.headers["cache-control"], "no-store")
        self.assertNotIn("content-length", e.headers)
        ev, doc = e.next()
        self.assertEqual(ev, "status")
        self.assertEqual(sorted(x["name"] for x in doc["services"]), ["a", "pub"])
        self.assertEqual(doc["feeds"][0]["name"], "ticks")
        # feeds each second, with their rates
        t0 = time.monotonic()
        _, feeds = e.until(lambda ev, d: ev == "feeds" and d[0]["point_rate"] > 0, what="a feeds event with a rate")
        _, feeds = e.until(lambda ev, d: ev == "feeds", what="the next feeds event")
        took = time.monotonic() - t0
        self.assertEqual(feeds[0]["expect"]["rate"], 100.0)
        # a state change arrives as a service event
        s.wait_state("a", "ready")
        code, _ = s.request("POST", "/api/v1/services/a/stop")
        self.assertEqual(code, 202)
        _, svc = e.until(lambda ev, d: ev == "service" and d["name"] == "a" and d["state"] == "stopped",
                         what="a stopped")
        self.assertIsNone(svc["pid"])
        s.request("POST", "/api/v1/services/a/start")
        e.until(lambda ev, d: ev == "service" and d["name"] == "a" and d["state"] == "ready", what="a ready")
        print(f"\n  two feeds events within {took:.2f}s")
        e.close()
        # HEAD answers without streaming
        code, h, body = self.get(s, "/api/v1/events", TOKEN, method="HEAD")
        self.assertEqual((code, h["content-type"], body), (200, "text/event-stream", b""))

    def test_events_stream_limit(self):
        s = self.web_stack()
        streams = []
        for _ in range(16):
            e = Events.tcp(s.http_port)
            self.assertEqual(e.read_head(), 200)
            self.assertEqual(e.next()[0], "status")
            streams.append(e)
        over = Events.tcp(s.http_port)
        self.assertEqual(over.read_head(), 503)
        over.close()
        # requests are still served, token or not
        self.assertEqual(self.get(s, "/healthz")[0], 200)
        self.assertEqual(self.get(s, "/api/v1/services", TOKEN)[0], 200)
        self.assertEqual(self.get(s, "/")[0], 200)
        # every subscriber gets the same events
        for e in streams[:3]:
            e.until(lambda ev, d: ev == "feeds", what="feeds on every stream")
        # one leaves: room for another
        streams.pop().close()
        e = wait_for(lambda: (lambda x: x if x.read_head() == 200 else x.close())(Events.tcp(s.http_port)),
                     timeout=LONG, what="a stream once one closed")
        streams.append(e)
        # the control socket has its own share: the CLI can always follow
        u = Events.unix(s.socket_path)
        self.assertEqual(u.read_head(), 200)
        self.assertEqual(u.next()[0], "status")
        u.close()
        for e in streams:
            e.close()

    def test_events_subscriber_that_does_not_read(self):
        """A subscriber that stops reading is dropped once 256 KiB of events wait for it,
        and everyone else is served meanwhile. On the control socket (the same listener
        code as TCP), where the kernel buffers little, so the test is quick."""
        flappers = "\n".join(
            f'  flap{i:02d}: {{cmd: ["@SIM@", --exit-after, 50ms, --exit-code, "3"], '
            f'restart: {{policy: always, delay: 10ms, max_delay: 10ms, max_restarts: 0}}}}'
            for i in range(40))
        s = self.stack("services:\n" + flappers + "\n", token=TOKEN)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(s.socket_path)
        sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: vigil\r\n\r\n")
        reader = Events.tcp(s.http_port)  # one that reads, beside it
        self.assertEqual(reader.read_head(), 200)

        def held():  # the daemon's end of a control-socket connection, still open
            out = subprocess.run(["ss", "-xH", "state", "established"], capture_output=True, text=True).stdout
            return [l for l in out.splitlines() if s.socket_path in l]
        self.assertTrue(held())
        t0 = time.monotonic()
        while held() and time.monotonic() - t0 < LONG * 3:
            reader.until(lambda ev, d: ev == "service", what="service events for the reader")
            time.sleep(0.5)
        took = time.monotonic() - t0
        self.assertFalse(held(), "a subscriber that never reads was not dropped")
        sock.settimeout(LONG)
        total = 0
        while True:
            data = sock.recv(1 << 20)
            if not data:
                break
            total += len(data)
        print(f"\n  the non-reading subscriber was dropped after {took:.1f}s; {total} bytes had reached it")
        # the reader still gets events; requests are served
        reader.until(lambda ev, d: ev == "service", what="events after the drop")
        self.assertEqual(self.get(s, "/healthz")[0], 200)
        reader.close()
        sock.close()

    def test_status_watch(self):
        s = self.web_stack()
        s.wait_state("a", "ready")
        p = subprocess.Popen([VIGIL, "-c", s.config_path, "status", "--watch", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(p.stdout.readline())
            self.assertEqual(sorted(x["name"] for x in first["services"]), ["a", "pub"])
            s.request("POST", "/api/v1/services/a/stop")
            for _ in range(50):
                doc = json.loads(p.stdout.readline())
                if {x["name"]: x["state"] for x in doc["services"]}["a"] == "stopped":
                    break
            else:
                self.fail("vigil status --watch never showed a stopped")
        finally:
            p.terminate()
            p.wait(10)
            p.stdout.close()
            p.stderr.close()
        # the table form redraws too; and when the daemon goes, the watch ends with 1
        p = subprocess.Popen([VIGIL, "-c", s.config_path, "status", "--watch"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        wait_for(lambda: "SERVICE" in p.stdout.readline(), timeout=LONG, what="a table")
        s.stop()
        out, err = p.communicate(timeout=LONG)
        self.assertEqual(p.returncode, 1)
        self.assertIn("the daemon went away", err)
        r = subprocess.run([VIGIL, "status", "--help"], capture_output=True, text=True)
        self.assertIn("--watch", r.stdout)

    def test_admin_restarts(self):
        s = self.web_stack()
        s.wait_state("a", "ready")
        self.assertEqual(s.service("a")["admin_restarts"], 0)
        s.cli("restart", "a", check=0)
        wait_for(lambda: s.service("a")["admin_restarts"] == 1, what="admin_restarts 1")
        s.wait_state("a", "ready")
        self.assertEqual(s.service("a")["restarts"], 0)

    def test_compute_grid(self):
        s = self.web_stack("""
            compute:
              calendar: {start: 2026-01-01, end: 2026-01-05}
              backoff: 10ms
              calcs:
                copy: {cmd: [./calc.sh, "data/{date}.csv", "{out}"], inputs: ["data/{date}.csv"], code: [calc.sh]}
                twice: {cmd: [./calc.sh, "{in.copy}/out.csv", "{out}"], deps: [copy], code: [calc.sh]}
            """)
        self.assertEqual(self.get(s, "/api/v1/compute/grid")[0], 401)
        # before any run: every cell pending, the calendar's last 31 days (here all 5)
        code, _, body = self.get(s, "/api/v1/compute/grid", TOKEN)
        self.assertEqual(code, 200, body)
        g = json.loads(body)
        self.assertEqual(g["calcs"], ["copy", "twice"])
        self.assertEqual(g["dates"], [f"2026-01-0{i}" for i in range(1, 6)])
        self.assertEqual({c["state"] for c in g["cells"]}, {"pending"})
        self.assertIsNone(g["run"])
        with open(os.path.join(s.dir, "calc.sh"), "w") as f:
            f.write('#!/bin/sh\ncp "$1" "$2/out.csv"\n')
        os.chmod(os.path.join(s.dir, "calc.sh"), 0o755)
        os.makedirs(os.path.join(s.dir, "data"))
        for day in (1, 2, 3):
            with open(os.path.join(s.dir, f"data/2026-01-0{day}.csv"), "w") as f:
                f.write(f"day {day}\n")
        r = s.cli("compute", "run")
        self.assertIn(r.returncode, (0, 1), r.stderr)
        code, _, body = self.get(s, "/api/v1/compute/grid", TOKEN)
        g = json.loads(body)
        self.assertEqual(set(g), {"calendar", "from", "to", "run", "calcs", "dates", "cells"})
        self.assertEqual(g["calendar"], {"start": "2026-01-01", "end": "2026-01-05"})
        self.assertEqual((g["from"], g["to"], g["run"]), ("2026-01-01", "2026-01-05", 1))
        cells = {(c["calc"], c["date"]): c for c in g["cells"]}
        self.assertEqual(len(cells), 10)
        self.assertEqual(cells[("copy", "2026-01-02")]["state"], "ran")
        a = cells[("copy", "2026-01-02")]["last_attempt"]
        self.assertEqual((a["attempt"], a["status"], a["exit_status"], a["attempts"]), (1, "done", 0, 1))
        self.assertRegex(a["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(cells[("copy", "2026-01-05")]["state"], "impossible")
        self.assertIsNone(cells[("copy", "2026-01-05")]["last_attempt"])
        self.assertTrue(cells[("copy", "2026-01-05")]["reason"])
        self.assertIn(cells[("twice", "2026-01-05")]["state"], ("impossible", "blocked"))
        # a range, clipped to the calendar
        code, _, body = self.get(s, "/api/v1/compute/grid?from=2025-12-01&to=2026-01-02", TOKEN)
        g = json.loads(body)
        self.assertEqual(g["dates"], ["2026-01-01", "2026-01-02"])
        self.assertEqual(len(g["cells"]), 4)
        code, _, body = self.get(s, "/api/v1/compute/grid?from=yesterday", TOKEN)
        self.assertEqual(code, 400)
        self.assertIn("bad from date 'yesterday'", json.loads(body)["error"])
        # on the control socket, without a token
        code, body = s.request("GET", "/api/v1/compute/grid?to=2026-01-01")
        self.assertEqual((code, len(json.loads(body)["cells"])), (200, 2))

    def test_compute_grid_without_compute(self):
        s = self.web_stack()
        code, _, body = self.get(s, "/api/v1/compute/grid", TOKEN)
        self.assertEqual(code, 404)
        self.assertEqual(json.loads(body)["error"], "this config has no compute section")


if __name__ == "__main__":
    unittest.main()
