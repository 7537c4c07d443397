"""The compute engine with real calculation programs (small shell scripts): nothing runs
twice, comments do not count, a code change re-runs only what its results change (early
cutoff), impossible cells propagate while independent branches run, exit 65 is not
retried, crashes are retried then dead, the circuit breaker, highmem routing, the
behavioural fixture, kill -9 mid-run then resume, and a 30-date catch-up.

Everything happens in a fresh temp dir; the ledger is read with Python's sqlite3.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import textwrap
import time
import unittest

from harness import VIGIL, pid_alive, wait_for

SANITIZED = os.environ.get("VIGIL_SANITIZED", "0") in ("1", "ON", "TRUE", "true")

PRICES = """\
#!/bin/sh
# prices: copy the day's raw file
cp "$1" "$2/prices.csv"
"""
RETURNS = """\
#!/bin/sh
# returns: price times two
awk '{print $1 * 2}' "$1/prices.csv" > "$2/returns.csv"
"""
SIGN = """\
#!/bin/sh
# sign: 1 when returns are positive; stays identical when returns scale
awk '{print ($1 > 0) ? 1 : 0}' "$1/returns.csv" > "$2/sign.csv"
"""
SCRIPT = """\
#!/bin/sh
# generic: concatenate inputs
out="$1"; shift
cat "$@" > "$out/out.txt" 2>/dev/null || true
echo x >> "$out/out.txt"
"""


class Desk:
    """A compute config and its scripts in a temp dir."""

    def __init__(self, tc, calcs, start="2026-01-01", days=5, extra="", data_days=None):
        self.tc = tc
        self.dir = tempfile.mkdtemp(prefix="vigil-compute-")
        tc.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "data"))
        self.start = start
        self.days = days
        import datetime
        d0 = datetime.date.fromisoformat(start)
        self.dates = [(d0 + datetime.timedelta(days=i)).isoformat() for i in range(days)]
        for i, d in enumerate(self.dates[: days if data_days is None else data_days]):
            self.write(f"data/{d}.csv", f"{100 + i}\n")
        end = self.dates[-1]
        self.write("vigil.yaml", f"state_dir: ./state\ncompute:\n  calendar: {{start: {start}, end: {end}}}\n"
                   f"  backoff: 10ms\n{extra}  calcs:\n" + textwrap.indent(textwrap.dedent(calcs), "    "))

    def write(self, name, text, mode=0o755):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def vigil(self, *args, check=True, timeout=120):
        r = subprocess.run([VIGIL, "-c", os.path.join(self.dir, "vigil.yaml"), *args],
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode not in (0, 1):
            self.tc.fail(f"vigil {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def run(self, *args):
        return self.vigil("compute", "run", *args)

    def plan(self, *args):
        r = self.vigil("compute", "plan", "--json", *args)
        return json.loads(r.stdout)

    def db(self):
        return sqlite3.connect(os.path.join(self.dir, "state/compute/ledger.db"))

    def attempts(self, calc=None, status=None):
        q = "SELECT COUNT(*) FROM attempts WHERE 1"
        args = []
        if calc:
            q += " AND calc = ?"
            args.append(calc)
        if status:
            q += " AND status = ?"
            args.append(status)
        with self.db() as c:
            return c.execute(q, args).fetchone()[0]

    def last_outcomes(self):
        with self.db() as c:
            run = c.execute("SELECT MAX(id) FROM runs").fetchone()[0]
            return sorted(c.execute("SELECT calc, outcome FROM outcomes WHERE run = ?", (run,)).fetchall())


CHAIN = """\
prices: {cmd: [./prices.sh, "data/{date}.csv", "{out}"], inputs: ["data/{date}.csv"], code: [prices.sh], tags: [crypto]}
returns: {cmd: [./returns.sh, "{in.prices}", "{out}"], deps: [prices], code: [returns.sh]}
sign: {cmd: [./sign.sh, "{in.returns}", "{out}"], deps: [returns], code: [sign.sh]}
report: {cmd: [./script.sh, "{out}", "{in.sign}/sign.csv"], deps: [sign], code: [script.sh]}
vol: {cmd: [./script.sh, "{out}", "{in.returns}/returns.csv", "{prev}/out.txt"], deps: [returns], history: 1, code: [script.sh]}
"""


def chain(tc, **kw):
    d = Desk(tc, CHAIN, **kw)
    d.write("prices.sh", PRICES)
    d.write("returns.sh", RETURNS)
    d.write("sign.sh", SIGN)
    d.write("script.sh", SCRIPT)
    return d


class ComputeTest(unittest.TestCase):
    def test_second_run_executes_nothing_and_comments_do_not_count(self):
        d = chain(self)
        r = d.run()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done: 25 ran", r.stdout)
        self.assertEqual(d.attempts(), 25)
        r = d.run()
        self.assertIn("done: 0 ran (0 stable), 25 up to date", r.stdout)
        self.assertEqual(d.attempts(), 25)
        # a comment and reformatting only
        d.write("returns.sh", "#!/bin/sh\n\n# returns, reformatted\nawk   '{print $1 * 2}'   \"$1/prices.csv\" >  \"$2/returns.csv\"   # x2\n")
        self.assertEqual(d.plan()["totals"]["uptodate"], 25)
        r = d.run()
        self.assertIn("done: 0 ran", r.stdout)
        self.assertEqual(d.attempts(), 25)

    def test_code_change_reruns_only_what_changed(self):
        d = chain(self)
        d.run()
        d.write("returns.sh", RETURNS.replace("$1 * 2", "$1 * 3"))
        plan = d.plan()
        reasons = {(c["calc"], c.get("reason")) for c in plan["cells"]}
        self.assertIn(("returns", "code"), reasons)
        self.assertIn(("sign", "dependency"), reasons)
        self.assertNotIn("prices", {c["calc"] for c in plan["cells"]})
        r = d.run()
        self.assertEqual(r.returncode, 0, r.stderr)
        out = d.last_outcomes()
        calcs = {c for c, _ in out}
        # returns re-ran with new results; sign and vol consumed them; sign's output is
        # identical (stable) so report, which only reads sign, stays up to date
        self.assertEqual(calcs, {"returns", "sign", "vol"})
        self.assertTrue(all(o == "rerun" for c, o in out if c in ("returns", "vol")), out)
        self.assertTrue(all(o == "stable" for c, o in out if c == "sign"), out)
        self.assertEqual(d.attempts("prices"), 5)
        self.assertEqual(d.attempts("report"), 5)
        rep = json.loads(d.vigil("compute", "report", "--json").stdout)
        self.assertEqual(rep["dates"][0]["stable"], ["sign"])
        self.assertEqual(rep["dates"][0]["uptodate"], 2)

    def test_epoch_and_input_reasons(self):
        d = chain(self, days=3)
        d.run()
        d.write("data/2026-01-02.csv", "250\n")
        plan = d.plan()
        self.assertIn({"date": "2026-01-02", "calc": "prices", "class": "rerun", "pass": 0,
                       "reason": "input"}, plan["cells"])
        cfg = d.read("vigil.yaml").replace("backoff: 10ms", "backoff: 10ms\n  epoch: 2")
        d.write("vigil.yaml", cfg)
        plan = d.plan()
        self.assertEqual(plan["totals"]["rerun"], 15)
        self.assertEqual({c["reason"] for c in plan["cells"] if c["calc"] == "prices"}, {"epoch"})

    def test_cycle_is_a_config_error(self):
        d = Desk(self, """\
            a: {cmd: [true], deps: [c]}
            b: {cmd: [true], deps: [a]}
            c: {cmd: [true], deps: [b]}
            """)
        r = d.vigil("check", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("dependency cycle: a -> c -> b -> a", r.stderr)
        r = d.vigil("compute", "plan", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("dependency cycle: a -> c -> b -> a", r.stderr)

    def test_impossible_propagates_independent_branch_runs(self):
        d = chain(self, days=4, data_days=3)
        d.write("vigil.yaml", d.read("vigil.yaml") +
                "    clock: {cmd: [sh, -c, 'date +%s > $0/t', '{out}']}\n")
        plan = d.plan()
        imp = {(c["calc"], c["date"]) for c in plan["cells"] if c["class"] == "impossible"}
        self.assertEqual(imp, {(c, "2026-01-04") for c in ("prices", "returns", "sign", "report", "vol")})
        missing = [c for c in plan["cells"] if c["calc"] == "prices" and c["class"] == "impossible"]
        self.assertEqual(missing[0]["missing"], "data/2026-01-04.csv")
        r = d.run()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("5 impossible", r.stdout)
        self.assertEqual(d.attempts("clock", "done"), 4)  # its branch ran on every date

    def test_exit_65_not_retried_and_crashes_retried_then_dead(self):
        d = Desk(self, """\
            bad: {cmd: [sh, -c, 'echo bad row >&2; exit 65'], retries: 3}
            crash: {cmd: [sh, -c, 'test -e fixed || exit 3'], retries: 2}
            after: {cmd: [true], deps: [crash]}
            """, days=1)
        r = d.run()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(d.attempts("bad"), 1)
        self.assertEqual(d.attempts("bad", "dataerr"), 1)
        self.assertEqual(d.attempts("crash"), 3)
        self.assertEqual(d.attempts("after"), 0)
        dead = json.loads(d.vigil("compute", "dead", "--json").stdout)["dead"]
        self.assertEqual({x["calc"]: x["reason"] for x in dead},
                         {"bad": "data error (exit 65)",
                          "crash": "crashed 3 times (last exit status 3)"})
        with open(dead[0]["log"]) as f:
            self.assertIn("bad row", f.read())
        self.assertIn({"date": "2026-01-01", "calc": "after", "class": "blocked", "pass": 1,
                       "dependency": "crash"}, d.plan()["cells"])
        # a dead cell is not retried by the next run...
        d.run()
        self.assertEqual(d.attempts("crash"), 3)
        # ...until requeued
        d.write("fixed", "")
        d.vigil("compute", "dead", "--retry", "crash")
        r = d.run()
        self.assertEqual(r.returncode, 1)  # bad is still dead
        self.assertEqual(d.attempts("crash", "done"), 1)
        self.assertEqual(d.attempts("after", "done"), 1)

    def test_timeout_kills_the_process_group(self):
        d = Desk(self, """\
            slow: {cmd: [sh, -c, 'sleep 30 & echo $! > $0/../../../../child; wait', '{out}'], timeout: 300ms, retries: 1}
            """, days=1)
        r = d.run()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(d.attempts("slow", "timeout"), 2)
        dead = json.loads(d.vigil("compute", "dead", "--json").stdout)["dead"]
        self.assertEqual(dead[0]["reason"], "timeout 2 times (last exit status 137)")
        with open(os.path.join(d.dir, "state", "compute", "child")) as f:
            pid = int(f.read())
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                 open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z",
                 timeout=10, what="the attempt's child killed with its group")

    def test_input_vanishing_before_a_retry(self):
        d = Desk(self, """\
            eater: {cmd: [sh, -c, 'rm data/$0.csv; exit 1', '{date}'], inputs: ["data/{date}.csv"], retries: 2}
            """, days=1)
        r = d.run()
        self.assertEqual(r.returncode, 0, r.stderr)  # impossible is not a failure of vigil's
        self.assertIn("1 impossible", r.stdout)
        self.assertEqual(d.attempts("eater"), 1)
        self.assertEqual(d.last_outcomes(), [("eater", "impossible")])

    def test_circuit_breaker(self):
        d = Desk(self, """\
            flaky: {cmd: [sh, -c, 'exit 1'], retries: 0}
            fine: {cmd: [true]}
            """, days=30, extra="  breaker: {min_attempts: 10, ratio: 0.1}\n")
        r = d.run()
        self.assertEqual(r.returncode, 1)
        self.assertIn("circuit breaker tripped", r.stderr)
        self.assertIn("level=error", [l for l in r.stderr.splitlines() if "circuit breaker" in l][0])
        n = d.attempts("flaky")
        self.assertGreaterEqual(n, 10)
        self.assertLess(n, 14)  # stopped dispatching; at most the slots' worth in flight
        self.assertEqual(d.attempts("fine", "done"), 30)
        with open(os.path.join(d.dir, "state/compute/metrics.prom")) as f:
            self.assertIn('vigil_compute_breaker_trips_total{calc="flaky"} 1', f.read())
        # cells the breaker held back are not dead: they are tried again next time
        dead = json.loads(d.vigil("compute", "dead", "--json").stdout)["count"]
        self.assertEqual(dead, n)

    def test_highmem_routing(self):
        hog = "import sys\nx = b'x' * (96 << 20)\nopen(sys.argv[1] + '/n', 'w').write(str(len(x)))\n"
        d = Desk(self, """\
            hog: {cmd: [python3, hog.py, "{out}"], code: [hog.py]}
            """, days=1, extra="  memory: {standard: 48MiB, highmem: 1GiB}\n")
        d.write("hog.py", hog)
        r = d.run()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("routed to highmem", r.stderr)
        with d.db() as c:
            slot, rss = c.execute("SELECT slot, peak_rss FROM attempts").fetchone()
            self.assertEqual(slot, "standard")
            self.assertGreater(rss, 96 << 20)
            self.assertEqual(c.execute("SELECT highmem FROM cells").fetchone()[0], 1)
        d.write("hog.py", hog.replace("96 <<", "97 <<"))
        d.run()
        with d.db() as c:
            self.assertEqual(c.execute("SELECT slot FROM attempts ORDER BY id DESC").fetchone()[0], "highmem")

    def test_fixture_behavioural_hash(self):
        d = Desk(self, """\
            prices: {cmd: [./prices.sh, "data/{date}.csv", "{out}"], inputs: ["data/{date}.csv"]}
            returns: {cmd: [./returns.sh, "{in.prices}", "{out}"], deps: [prices], code: [returns.sh], fixture: fx}
            """, days=3)
        d.write("prices.sh", PRICES)
        d.write("returns.sh", RETURNS)
        d.write("fx/in/prices/prices.csv", "1\n2\n3\n", 0o644)
        d.run()
        self.assertEqual(d.attempts("returns"), 3)
        # same behaviour, different code (not just comments): history is kept
        d.write("returns.sh", "#!/bin/sh\nawk '{ x = $1 + $1; print x }' \"$1/prices.csv\" > \"$2/returns.csv\"\n")
        r = d.run()
        self.assertIn("done: 0 ran", r.stdout)
        self.assertIn("fixture output did not", r.stderr)
        # a real change of behaviour re-runs history
        d.write("returns.sh", RETURNS.replace("* 2", "* 5"))
        r = d.run()
        self.assertIn("done: 3 ran", r.stdout)

    def test_kill_9_mid_run_then_resume(self):
        n = 8
        d = Desk(self, """\
            slow: {cmd: [sh, -c, 'sleep 0.3; echo $1 > $0/a; sleep 0.2; echo done >> $0/a', "{out}", "{date}"]}
            next: {cmd: [sh, -c, 'cat $1/a > $0/b', "{out}", "{in.slow}"], deps: [slow]}
            """, days=n)
        p = subprocess.Popen([VIGIL, "-c", os.path.join(d.dir, "vigil.yaml"), "compute", "run"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))

        def two_done():
            try:
                return d.attempts("slow", "done") >= 2
            except sqlite3.OperationalError:  # the ledger is being created
                return False
        wait_for(two_done, timeout=60, what="two cells done")
        p.send_signal(signal.SIGKILL)
        p.wait()
        with d.db() as c:
            done = c.execute("SELECT calc, day, attempt FROM cells WHERE status = 1").fetchall()
            running = [r[0] for r in c.execute("SELECT pid FROM attempts WHERE status = 'running'")]
        self.assertGreater(len(running), 0)
        # an attempt killed between its row and its spawn has no pid (and maybe no process)
        orphans = [pid for pid in running if pid]
        for calc, day, att in done:  # no cell marked done without its complete result
            dd = [x for x in os.listdir(os.path.join(d.dir, "state/compute/out", calc))]
            outs = [os.path.join(d.dir, "state/compute/out", calc, x, str(att)) for x in dd]
            out = [o for o in outs if os.path.isdir(o)]
            self.assertEqual(len(out), 1, (calc, day, att))
            f = os.listdir(out[0])[0]
            with open(os.path.join(out[0], f)) as fh:
                self.assertTrue(fh.read().endswith("done\n"))
        r = d.run()  # also kills the orphaned attempts still running
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("abandoned", r.stderr)
        for pid in orphans:
            wait_for(lambda: not pid_alive(pid), timeout=10, what=f"orphaned attempt {pid} killed")
        self.assertEqual(d.attempts(status="running"), 0)
        with d.db() as c:
            self.assertEqual(c.execute("SELECT COUNT(*) FROM cells WHERE status = 1").fetchone()[0], 2 * n)
        self.assertEqual(d.plan()["totals"]["uptodate"], 2 * n)
        self.assertIn("done: 0 ran", d.run().stdout)

    def test_catch_up_30_dates(self):
        d = chain(self, days=30)
        self.assertEqual(d.plan()["totals"]["runnable"], 150)
        r = d.run("--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done: 150 ran", r.stdout)
        with open(os.path.join(d.dir, "state/compute/out/vol", "2026-01-30",
                               os.listdir(os.path.join(d.dir, "state/compute/out/vol/2026-01-30"))[0],
                               "out.txt")) as f:
            self.assertEqual(f.read().count("x"), 30)  # history chained through every date
        self.assertEqual(d.plan()["totals"]["uptodate"], 150)
        # selection and range
        self.assertEqual(d.plan("--select", "tag:crypto", "--from", "2026-01-10", "--to", "2026-01-19")["total"], 10)
        hist = json.loads(d.vigil("compute", "history", "--json", "vol").stdout)["attempts"]
        self.assertEqual(len(hist), 30)
        self.assertTrue(all(a["status"] == "done" and a["peak_rss"] > 0 for a in hist))


class ComputeCliTest(unittest.TestCase):
    def test_help_on_every_sub_verb(self):
        for sub in ("plan", "run", "dead", "report", "history"):
            r = subprocess.run([VIGIL, "compute", sub, "--help"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0)
            self.assertIn(f"usage: vigil compute {sub}", r.stdout)
        r = subprocess.run([VIGIL, "compute", "frobnicate"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
