"""compute.schedule under `vigil up`: the daemon starts `vigil compute run` on schedule,
the run computes the cells, and its on_complete webhook receives the JSON summary."""
import http.server
import json
import os
import threading

from harness import VigilTest, free_port, wait_for


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class ComputeScheduleTest(VigilTest):
    def test_scheduled_run_calls_the_webhook(self):
        port = free_port()
        server = http.server.HTTPServer(("127.0.0.1", port), Hook)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        s = self.stack(f"""\
            compute:
              calendar: {{start: 2026-01-01, end: 2026-01-03}}
              schedule: every 1s
              on_complete: "http://127.0.0.1:{port}/hooks/compute"
              calcs:
                a: {{cmd: [sh, -c, 'echo $1 > $0/a', '{{out}}', '{{date}}']}}
                b: {{cmd: [sh, -c, 'cat $1/a > $0/b', '{{out}}', '{{in.a}}'], deps: [a]}}
            """)
        wait_for(lambda: Hook.received, timeout=60, what="the on_complete webhook")
        path, ctype, body = Hook.received[0]
        self.assertEqual(path, "/hooks/compute")
        self.assertEqual(ctype, "application/json")
        self.assertEqual(body["event"], "compute_run_complete")
        self.assertEqual((body["from"], body["to"], body["exit"]), ("2026-01-01", "2026-01-03", 0))
        self.assertEqual(body["ran"] + body["uptodate"], 6)
        # the next scheduled runs find everything up to date
        wait_for(lambda: any(r[2]["uptodate"] == 6 for r in Hook.received), timeout=60,
                 what="a second, no-op run")
        self.assertTrue(os.path.exists(os.path.join(s.state_dir, "compute", "ledger.db")))
        self.assertTrue(any(e.get("msg") == "compute schedule: run started" for e in s.events()))
