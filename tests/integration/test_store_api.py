"""The store as an API: the CLI without a daemon calls the store's functions and renders
with the routes' renderers, so its answers are byte for byte those of the daemon's
routes; compute fingerprints store inputs from the stored values
(/api/v1/store/fingerprint, tsdb_fingerprint), the same through the daemon and without
one."""
import datetime
import json
import os
import re
import textwrap
import urllib.parse

from harness import Stack, VigilTest

NS = 10**9


class StoreApiTest(VigilTest):
    def setUp(self):
        super().setUp()
        self.day = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)
        self.t0 = int(datetime.datetime(self.day.year, self.day.month, self.day.day,
                                        tzinfo=datetime.timezone.utc).timestamp())

    def config(self, d):
        calc = os.path.join(d, "calc.sh")
        with open(calc, "w") as f:
            f.write("#!/bin/sh\necho \"$1\" > \"$2/day.txt\"\n")
        os.chmod(calc, 0o755)
        return textwrap.dedent(f"""\
            services: {{}}
            compute:
              calendar: {{start: {self.day}, end: {self.day}}}
              calcs:
                daily:
                  cmd: [{calc}, "{{date}}", "{{out}}"]
                  inputs: ["store:tick,sym=BTC"]
                  code: [{calc}]
            """)

    def imp(self, st, text):
        path = os.path.join(st.dir, "in.lp")
        with open(path, "w") as f:
            f.write(text)
        r = st.cli("store", "import", path, "--precision", "s")
        self.assertEqual(r.returncode, 0, r.stderr)

    def fingerprint(self, st, q="tick,sym=BTC", **extra):
        args = {"q": q, "from": str(self.t0), "to": str(self.t0 + 86400), **extra}
        code, body = st.request("GET", "/api/v1/store/fingerprint?" + urllib.parse.urlencode(args))
        return code, json.loads(body)

    def outputs(self, st):
        frm, to = str(self.t0), str(self.t0 + 86400)
        out = []
        for fmt in ("csv", "table", "json"):
            r = st.cli("query", "tick", "--from", frm, "--to", to, "--format", fmt)
            self.assertEqual(r.returncode, 0, r.stderr)
            out.append(re.sub(r'"elapsed_us": [0-9.]+', "", r.stdout))
        r = st.cli("query", "tick", "--last", "--format", "json")
        out.append(re.sub(r'"elapsed_us": [0-9.]+', "", r.stdout))
        r = st.cli("store", "stats", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        j = json.loads(r.stdout)
        out.append((j["series"], j["points"]))
        return out

    def test_same_answers_and_fingerprints_with_and_without_a_daemon(self):
        st = Stack("services: {}\n")
        self.stacks.append(st)
        st.write_config(self.config(st.dir))
        t = self.t0 + 3600
        self.imp(st, "".join(f"tick,sym=BTC price={30000 + i * 0.5},n={i}i,s=\"a,\\\"b\" {t + i}\n"
                             for i in range(5)) + f"tick,sym=ETH price=2000 {t}\n")
        r = st.cli("compute", "run", "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        alone = self.outputs(st)
        st.start()
        self.assertEqual(self.outputs(st), alone)  # the routes render as the CLI did
        # computed without a daemon, still up to date through it: the same fingerprint
        plan = json.loads(st.cli("compute", "plan", "--json").stdout)
        self.assertEqual(plan["cells"], [], plan)
        code, a = self.fingerprint(st)
        self.assertEqual(code, 200, a)
        self.assertRegex(a["fingerprint"], r"^[0-9a-f]{32}$")
        self.assertEqual(a["points"], 15)  # price, n, s
        self.assertEqual(self.fingerprint(st, field="price")[1]["points"], 5)
        # another series, another day: the same; a value rewritten: another
        self.imp(st, f"tick,sym=ETH price=2001 {t + 1}\ntick,sym=BTC price=1 {self.t0 + 86400}\n")
        self.assertEqual(self.fingerprint(st)[1], a)
        self.imp(st, f"tick,sym=BTC price=1.25 {t + 2}\n")
        code, b = self.fingerprint(st)
        self.assertNotEqual(b["fingerprint"], a["fingerprint"])
        self.assertEqual(b["points"], 15)
        plan = json.loads(st.cli("compute", "plan", "--json").stdout)
        self.assertEqual([(c["class"], c.get("reason")) for c in plan["cells"]], [("rerun", "input")])
        code, e = self.fingerprint(st, q="tick,=x")
        self.assertEqual(code, 400)
        self.assertIn("q must be", e["error"])
        code, e = self.fingerprint(st, to="tomorrowish")
        self.assertEqual(code, 400)
        self.assertIn("bad time", e["error"])
        # run through the daemon, then planned without it: up to date
        r = st.cli("compute", "run", "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        st.stop()
        plan = json.loads(st.cli("compute", "plan", "--json").stdout)
        self.assertEqual(plan["cells"], [], plan)


if __name__ == "__main__":
    import unittest
    unittest.main()
