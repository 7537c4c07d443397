"""One strict time grammar for `vigil query` and /api/v1/query (src/core/vtime.h): an
impossible date, 24:00, a leap second or a tenth fraction digit is refused with the
column instead of being normalised; a reversed or empty range is exit 2 on the CLI and
HTTP 400 with a JSON error on the route; every instant of int64 time can be typed, so a
range can reach the extremes that ingest accepts. `vigil compute` takes dates in the
same strict grammar, and refuses a reversed range too."""
import json
import os

from harness import Stack, VigilTest

CONFIG = "services: {}\n"
POINTS = (
    "x v=1 1700006400000000000\n"          # 2023-11-15T00:00:00Z
    "edge v=1 -9000000000000000000\n"      # 1684-10-19T08:00:00Z
    "edge v=2 9000000000000000000\n"       # 2255-03-14T16:00:00Z
)
FIRST = "1677-09-21T00:12:43.145224192Z"   # INT64_MIN ns
LAST = "2262-04-11T23:47:16.854775807Z"    # INT64_MAX ns


class QueryTimesTest(VigilTest):
    def imported(self, st):
        path = os.path.join(st.dir, "in.lp")
        with open(path, "w") as f:
            f.write(POINTS)
        r = st.cli("store", "import", path)
        self.assertEqual(r.returncode, 0, r.stderr)

    def refused(self, st, *args, want):
        r = st.cli("query", "x", *args)
        self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
        self.assertIn(want, r.stderr, args)
        self.assertNotIn("no series matched", r.stdout)

    def test_cli_is_strict(self):
        st = Stack(CONFIG)
        self.stacks.append(st)
        self.imported(st)
        self.refused(st, "--from", "2023-11-15", "--to", "2023-11-14",
                     want="reversed range: from 2023-11-15T00:00:00Z is after to 2023-11-14T00:00:00Z")
        self.refused(st, "--from", "2023-11-15", "--to", "2023-11-15", want="empty range")
        self.refused(st, "--from", "2023-02-31", "--to", "2023-03-02",
                     want="bad time '2023-02-31' at column 9: day 31 is not 01 to 28 in 2023-02")
        self.refused(st, "--from", "2024-02-30", want="at column 9: day 30 is not 01 to 29 in 2024-02")
        self.refused(st, "--from", "2023-11-14T23:59:60Z", "--to", "2023-11-16",
                     want="at column 18: second 60: leap seconds cannot be represented")
        self.refused(st, "--from", "2023-11-14T24:00:00Z", want="at column 12: hour 24 is not 00 to 23")
        self.refused(st, "--from", "2023-13-01", want="at column 6: month 13 is not 01 to 12")
        self.refused(st, "--from", "2023-11-14T06:00Z", want="at column 17: expected ':' after the minute")
        self.refused(st, "--from", "1700000000.1234567891",
                     want="at column 21: more than 9 fraction digits")
        self.refused(st, "--from", "99999999999", want="out of range")
        self.refused(st, "--from", "now-1x", want="at column 6: expected a unit")
        self.refused(st, "--every", "5m1", "--agg", "max", want="bad every '5m1' at column 4: expected a unit")
        self.refused(st, "--every", "0", "--agg", "max", want="every must be a duration such as 1m")
        # what is valid still works, and finds the point
        r = st.cli("query", "x", "--from", "2023-11-14T23:00:00-01:00", "--to", "2023-11-15T00:00:00.000000001Z",
                   "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["series"][0]["points"][0][0], 1700006400 * 10**9)
        # the edges of int64 time are reachable
        r = st.cli("query", "edge", "--from", FIRST, "--to", LAST, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        pts = json.loads(r.stdout)["series"][0]["points"]
        self.assertEqual([p[0] for p in pts], [-9 * 10**18, 9 * 10**18])
        r = st.cli("query", "edge", "--from", "1684-10-19T08:00:00Z", "--to",
                   "1684-10-19T08:00:00.000000001Z", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(",1684-10-19T08:00:00Z,1", r.stdout)

    def test_route_answers_400_with_json(self):
        st = self.stack(CONFIG, token="query-times-token-0123456789")
        self.imported(st)
        for q, want in (("from=2023-11-15&to=2023-11-14", "reversed range"),
                        ("from=2023-11-15&to=2023-11-15", "empty range"),
                        ("from=2023-02-31&to=2023-03-02", "at column 9: day 31"),
                        ("from=2023-11-14T23%3A59%3A60Z&to=now", "leap seconds")):
            for code, body in (st.request("GET", f"/api/v1/query?q=x&{q}"),
                               st.http("GET", f"/api/v1/query?q=x&{q}")[::2]):
                self.assertEqual(code, 400, (q, body))
                self.assertIn(want, json.loads(body)["error"], q)
        code, body = st.request("GET", "/api/v1/query?q=x&from=2023-11-14&to=2023-11-16")
        self.assertEqual(code, 200, body)
        self.assertEqual(len(json.loads(body)["series"]), 1)
        r = st.cli("query", "x", "--from", "2023-11-15", "--to", "2023-11-14")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("reversed range", r.stderr)


COMPUTE = """
compute:
  calendar: {start: 2026-09-01, end: 2026-09-10}
  calcs:
    a: {cmd: [/bin/true, "{out}"]}
"""


class ComputeDatesTest(VigilTest):
    def test_reversed_and_impossible_dates_are_usage_errors(self):
        st = Stack(COMPUTE)
        self.stacks.append(st)
        for verb in ("plan", "run"):
            r = st.cli("compute", verb, "--from", "2026-09-05", "--to", "2026-09-01")
            self.assertEqual(r.returncode, 2, (verb, r.stdout, r.stderr))
            self.assertIn("reversed range: --from 2026-09-05 is after --to 2026-09-01", r.stderr)
        r = st.cli("compute", "plan", "--from", "2026-09-31")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("bad --from date '2026-09-31'", r.stderr)
        # one day is a range of one date, not an empty one
        r = st.cli("compute", "plan", "--from", "2026-09-05", "--to", "2026-09-05")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 cells", r.stdout)


class ConfigDurationsTest(VigilTest):
    """Config durations read core's grammar in whole milliseconds: weeks and the small
    units are accepted, a total finer than a millisecond is refused with its reason."""

    def check(self, value):
        st = Stack(f"services:\n  a: {{cmd: [x], watchdog: {value}}}\n")
        self.stacks.append(st)
        return st.cli("check")

    def test_units(self):
        for ok in ("1w", "1w2d", "1500000us", "2000000000ns", "1h30m"):
            r = self.check(ok)
            self.assertEqual(r.returncode, 0, (ok, r.stdout, r.stderr))
        r = self.check("1500us")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(":27: bad duration '1500us': not a whole number of milliseconds", r.stderr)
        r = self.check("30x")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("bad duration '30x': expected a number followed by ms, s, m, h or d", r.stderr)


class ScheduleTest(VigilTest):
    def test_hh_mm_is_two_digits_each(self):
        for value, code in (("06:30", 0), ("23:59", 0), ("every 1h", 0), ("+1:+5", 2),
                            (" 1: 5", 2), ("24:00", 2), ("6:30", 2), ("06:3", 2), ("every 1w", 0)):
            st = Stack("compute:\n  calendar: {start: 2026-01-01}\n"
                       f"  schedule: \"{value}\"\n  calcs: {{}}\n")
            self.stacks.append(st)
            r = st.cli("check")
            self.assertEqual(r.returncode, code, (value, r.stdout, r.stderr))
            if code:
                self.assertIn("bad schedule", r.stderr)
