"""Every verb takes its options before or after its operands, as `--opt value` or
`--opt=value` (issue 17 item 14), and `vigil store import DIR` is an error (item 15)."""
import datetime
import json
import os
import textwrap

from harness import SIM, Stack, VigilTest, wait_for


def compute_config(d):
    day = datetime.date.today() - datetime.timedelta(days=2)
    calc = os.path.join(d, "calc.sh")
    with open(calc, "w") as f:
        f.write("#!/bin/sh\necho \"$1\" > \"$2/day.txt\"\n")
    os.chmod(calc, 0o755)
    return textwrap.dedent(f"""\
        state_dir: ./state
        http: {{listen: off}}
        services: {{}}
        compute:
          calendar: {{start: {day}, end: {day}}}
          calcs:
            daily:
              cmd: [{calc}, "{{date}}", "{{out}}"]
              code: [{calc}]
        """), str(day)


class CliOptionsTest(VigilTest):
    def ok(self, st, *args):
        r = st.cli(*args)
        self.assertEqual(r.returncode, 0, f"vigil {' '.join(args)}:\n{r.stdout}{r.stderr}")
        return r

    def test_store_and_query_without_a_daemon(self):
        st = Stack("services: {}\n")
        self.stacks.append(st)
        t = 1700000000
        path = os.path.join(st.dir, "a.lp")
        with open(path, "w") as f:
            f.write(f"m,k=a v=1 {t}\nm,k=a v=2 {t + 1}\n")
        # the order the docs show, then with '=', then options first
        for args in (["store", "import", path, "--precision", "s"],
                     ["store", "import", path, "--precision=s"],
                     ["store", "--precision=s", "import", path],
                     ["store", "import", "--precision", "s", path]):
            with self.subTest(args=args):
                r = self.ok(st, *args)
                self.assertIn("imported 2 points", r.stdout)
        r = self.ok(st, "query", "m,k=a", "--from=" + str(t), "--to", str(t + 2), "--format=json",
                    "--field=v")
        pts = json.loads(r.stdout)["series"][0]["points"]
        self.assertEqual(pts, [[t * 10**9, 1], [(t + 1) * 10**9, 2]])  # seconds, as asked
        r = self.ok(st, "query", "--format", "csv", "m", "--from", str(t), "--to=" + str(t + 2),
                    "--limit=1")
        self.assertEqual(len(r.stdout.strip().splitlines()), 2, r.stdout)
        r = self.ok(st, "query", "m", "--last", "--format=json")
        self.assertEqual(json.loads(r.stdout)["series"][0]["points"][0][1], 2)
        r = self.ok(st, "store", "stats", "--json")
        self.assertEqual(json.loads(r.stdout)["points"], 2)
        r = self.ok(st, "store", "retention", "--json", "--log-level=warn")
        self.assertIn("\"policies\"", r.stdout)
        self.ok(st, "store", "compact", "--log-level=warn")
        # options of one action are not accepted by another
        for args in (["store", "stats", "--precision=s"], ["store", "--precision=s", "stats"],
                     ["store", "compact", "--json"]):
            r = st.cli(*args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("usage: vigil store", r.stderr)
        # `--` ends the options: a file named like one can still be imported
        dash = os.path.join(st.dir, "--json")
        with open(dash, "w") as f:
            f.write(f"m,k=b v=3 {t}\n")
        r = st.cli("store", "import", "--precision=s", "--", dash)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_store_import_of_a_directory_is_an_error(self):
        st = Stack("services: {}\n")
        self.stacks.append(st)
        d = os.path.join(st.dir, "dir")
        os.mkdir(d)
        r = st.cli("store", "import", d)
        self.assertIn(r.returncode, (1, 2), r.stdout + r.stderr)
        self.assertIn(f"vigil store import: {d}: Is a directory", r.stderr)
        self.assertNotIn("imported", r.stdout)

    def test_compute_export_and_check(self):
        st = Stack("services: {}\n")
        self.stacks.append(st)
        text, day = compute_config(st.dir)
        st.write_config(text)
        r = self.ok(st, "compute", "plan", "--json", f"--from={day}", "--to", day)
        self.assertEqual(json.loads(r.stdout)["cells"][0]["date"], day)
        self.ok(st, "compute", "run", "--quiet", f"--from={day}", f"--to={day}")
        r = self.ok(st, "compute", "history", "daily", "--json")
        self.assertEqual(json.loads(r.stdout)["attempts"][0]["date"], day)
        r = self.ok(st, "compute", "report", "--days=5", "--json")
        json.loads(r.stdout)
        r = self.ok(st, "compute", "dead", "daily", "--json")
        json.loads(r.stdout)
        r = self.ok(st, "compute", "dead", "daily", "--retry")
        out = os.path.join(st.dir, "graf")
        self.ok(st, "export", "grafana", f"--out={out}", "--datasource-uid=abc")
        self.assertTrue(os.path.exists(os.path.join(out, "provisioning/datasources/vigil.yaml")))
        rules = os.path.join(st.dir, "rules.yml")
        self.ok(st, "export", "prometheus-rules", f"--out={rules}")
        self.assertTrue(os.path.exists(rules))
        r = self.ok(st, "export", "prometheus-scrape", "--target=127.0.0.1:9")
        self.assertIn("127.0.0.1:9", r.stdout)
        r = self.ok(st, "check", st.config_path, "--log-level=warn")
        self.assertIn("ok", r.stdout)

    def test_daemon_verbs(self):
        st = self.stack("""
        services:
          talker:
            cmd: ["@SIM@", --say, "hello", --tick, 50ms]
        """, extra_args=["--log-level=debug"])  # `vigil up` with '=' too
        st.wait_state("talker", "ready")
        self.ok(st, "stop", "talker", "--log-level=warn")
        st.wait_state("talker", "stopped")
        self.ok(st, "start", "talker", f"--config={st.config_path}")
        st.wait_state("talker", "ready")
        r = self.ok(st, "status", "--log-level=warn", "--json")
        self.assertIn("talker", r.stdout)
        wait_for(lambda: st.cli("logs", "talker", "--lines=2").stdout.count("tick") == 2,
                 what="2 lines")
        wait_for(lambda: st.cli("logs", "talker", "-n", "2").stdout.count("tick") == 2,
                 what="2 lines")
        self.ok(st, "restart", "talker", f"--socket={st.socket_path}")
        r = self.ok(st, "validate", "--for=100ms", "--json")
        json.loads(r.stdout)
        self.ok(st, "reload", "--log-level=warn")
        self.ok(st, "down", f"--config={st.config_path}")
        st.proc.wait(30)


if __name__ == "__main__":
    import unittest
    unittest.main()
