"""bench/tsdb/report.py RESULTS...: the store benchmark's table, from the "result ..."
lines that bench_tsdb_store, bench_tsdb_sqlite and influx.py print (bench/tsdb/common.h).

One row per figure, one column per store, the ratios vigil/InfluxDB and vigil/SQLite,
and the issue's targets with pass/fail. A markdown table, to paste into
docs/BENCHMARKS.md as it is. A store that did not run shows "-". Exits 1 when no line
could be read at all (the smoke test relies on that), else 0: targets are reported,
not enforced.
"""

import sys

# (row label, what, match on the line, value key, unit, target (op, value) or None)
ROWS = [
    ("ticks write, 1 writer", "write", {"data": "ticks", "threads": "1"}, "pps", "points/s",
     (">=", 2e6)),
    ("ticks write, 2 writers", "write", {"data": "ticks", "threads": "2"}, "pps", "points/s",
     None),
    ("ticks write, 1 writer, CPU per point", "write", {"data": "ticks", "threads": "1"},
     "cpu_ns_per_point", "ns", None),
    ("feed write, 1 writer (5 fields)", "write", {"data": "feed", "threads": "1"}, "pps",
     "points/s", None),
    ("feed write, 1 writer, CPU per point", "write", {"data": "feed", "threads": "1"},
     "cpu_ns_per_point", "ns", None),
    ("bytes/point, random-walk ticks", "size", {"data": "ticks"}, "bytes_per_point", "B",
     ("<=", 2.0)),
    ("bytes/point, feed (5 values)", "size", {"data": "feed"}, "bytes_per_point", "B", None),
    ("last value, median", "last", {}, "median_us", "us", ("<", 10.0)),
    ("last value, p99", "last", {}, "p99_us", "us", None),
    ("one day of one series (86,400 pts), median", "range", {"data": "day1hz"}, "median_ms",
     "ms", ("<", 5.0)),
    ("one day of one series (86,400 pts), p99", "range", {"data": "day1hz"}, "p99_ms", "ms",
     None),
    ("dense day, median", "range", {"data": "dense"}, "median_ms", "ms", None),
]

# Columns, and which lines feed each: vigil at sync=never (its fastest policy that is
# still safe against kill -9), and at sync=batch as a column of its own for the writes.
COLUMNS = [
    ("vigil", {"sys": "vigil"}, {"sync": "never"}),
    ("vigil sync=batch", {"sys": "vigil"}, {"sync": "batch"}),
    ("InfluxDB", {"sys": "influxdb"}, {}),
    ("SQLite", {"sys": "sqlite", "layout": "index"}, {}),
    ("SQLite WITHOUT ROWID", {"sys": "sqlite", "layout": "clustered"}, {}),
]


def parse(paths):
    out = []
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("result "):
                    out.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return out


def lookup(results, what, match, col_match, write_only):
    for r in results:
        if r.get("what") != what:
            continue
        if any(r.get(k) != v for k, v in match.items()):
            continue
        if any(r.get(k) != v for k, v in col_match[0].items()):
            continue
        # The sync filter applies to writes only (sizes and queries carry no sync).
        if what == "write" and any(r.get(k, v) != v for k, v in col_match[1].items()):
            continue
        if what != "write" and write_only:
            continue
        return r
    return None


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "points/s":
        return "{:,.0f}".format(v)
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.3g" % v if v < 10 else "%.1f" % v


def main(paths):
    results = parse(paths)
    if not results:
        print("report: no result lines in %s" % " ".join(paths), file=sys.stderr)
        return 1
    cols = []
    for name, m, sync in COLUMNS:
        write_only = name == "vigil sync=batch"
        if any(lookup(results, w, mt, (m, sync), write_only) for _, w, mt, _, _, _ in ROWS):
            cols.append((name, m, sync, write_only))
    head = ["figure", "unit"] + [c[0] for c in cols] + ["vigil/InfluxDB", "vigil/SQLite",
                                                        "target", "vigil"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for label, what, match, key, unit, target in ROWS:
        vals = {}
        for name, m, sync, write_only in cols:
            r = lookup(results, what, match, (m, sync), write_only)
            vals[name] = float(r[key]) if r and key in r else None
        v = vals.get("vigil")

        def ratio(other):
            o = vals.get(other)
            if v is None or not o:
                return "-"
            return "%.2f" % (v / o) if v / o >= 0.1 else "%.2g" % (v / o)

        verdict, tgt = "", ""
        if target:
            op, x = target
            tgt = "%s %s" % (op, "{:,}".format(int(x)) if x >= 1000 else "%g" % x)
            if v is None:
                verdict = "not run"
            else:
                ok = {">=": v >= x, "<=": v <= x, "<": v < x}[op]
                verdict = "pass" if ok else "FAIL"
        row = [label, unit] + [fmt(vals[c[0]], unit) for c in cols] + [
            ratio("InfluxDB"), ratio("SQLite"), tgt, verdict]
        print("| " + " | ".join(row) + " |")
    print()
    print("Ratios are vigil (sync=never) / the anchor: above 1 is better for points/s, "
          "below 1 is better for bytes and latencies.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
