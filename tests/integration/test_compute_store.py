"""Store measurements as root inputs of compute calculations ("store:SELECTOR"): a date
is available when the store holds points of the selector that day; new points that day
make its cells rerun (reason: input); a day without points makes them impossible. Works
through the daemon and without one."""
import datetime
import json
import os
import shutil
import tempfile
import textwrap
import unittest

from harness import Stack, VigilTest

CALC = """\
#!/bin/sh
# count: a line per call
echo "$1" > "$2/day.txt"
"""


class ComputeStoreTest(VigilTest):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="vigil-cstore-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        with open(os.path.join(self.dir, "calc.sh"), "w") as f:
            f.write(CALC)
        os.chmod(os.path.join(self.dir, "calc.sh"), 0o755)
        today = datetime.datetime.now(datetime.timezone.utc).date()
        self.days = [today - datetime.timedelta(days=i) for i in (3, 2, 1)]

    def config(self):
        return textwrap.dedent(f"""\
            state_dir: ./state
            http: {{listen: off}}
            services: {{}}
            compute:
              calendar: {{start: {self.days[0]}, end: {self.days[-1]}}}
              calcs:
                daily:
                  cmd: [{self.dir}/calc.sh, "{{date}}", "{{out}}"]
                  inputs: ["store:tick,sym=BTC"]
                  code: [{self.dir}/calc.sh]
            """)

    def lines(self, day, n, base=30000):
        t0 = int(datetime.datetime(day.year, day.month, day.day, 12,
                                   tzinfo=datetime.timezone.utc).timestamp())
        return "".join(f"tick,sym=BTC price={base + i} {(t0 + i) * 10**9}\n" for i in range(n))

    def plan(self, st):
        r = st.cli("compute", "plan", "--json", check=0)
        cells = json.loads(r.stdout)["cells"]  # up-to-date cells are not listed
        got = {c["date"]: (c["class"], c.get("reason"), c.get("missing")) for c in cells}
        return {str(d): got.get(str(d), ("uptodate", None, None)) for d in self.days}

    def scenario(self, st):
        path = os.path.join(self.dir, "in.lp")
        with open(path, "w") as f:
            f.write(self.lines(self.days[0], 5) + self.lines(self.days[2], 5))
        st.cli("store", "import", path, check=0)
        p = self.plan(st)
        self.assertEqual(p[str(self.days[0])][0], "runnable")
        self.assertEqual(p[str(self.days[1])][0], "impossible")  # no points that day
        self.assertIn("store:tick,sym=BTC", p[str(self.days[1])][2])
        self.assertEqual(p[str(self.days[2])][0], "runnable")
        st.cli("compute", "run", check=None)
        p = self.plan(st)
        self.assertEqual(p[str(self.days[0])][0], "uptodate")
        self.assertEqual(p[str(self.days[2])][0], "uptodate")
        # a late point on the first day: that day reruns for its input, the other not
        with open(path, "w") as f:
            f.write(self.lines(self.days[0], 1, base=1))
        st.cli("store", "import", path, check=0)
        p = self.plan(st)
        self.assertEqual(p[str(self.days[0])][:2], ("rerun", "input"))
        self.assertEqual(p[str(self.days[2])][0], "uptodate")

    def test_without_a_daemon(self):
        st = Stack(self.config())
        self.stacks.append(st)
        self.scenario(st)

    def test_through_the_daemon(self):
        st = self.stack(self.config())
        self.scenario(st)
