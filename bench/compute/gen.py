#!/usr/bin/env python3
"""bench/compute/gen.py DIR CALCS DATES MODE: writes one graph twice into DIR, as a vigil
compute config (vigil.yaml) and as the equivalent ninja build graph (build.ninja).

Calculation i depends on up to three earlier calculations (seeded, so every run builds
the same graph); roots read one input file per date, data/DATE. A vigil cell
(calc, date) is a ninja edge whose output is out/calc/DATE and whose inputs are its
dependencies' outputs for that date (or the root's data file). Both run the same
command: `sh -c 'touch OUT'` (ninja's own way of running a command: /bin/sh -c).

MODE "plan" roots 5% of the calculations, and its vigil cells run `true` (the plan
benchmark only needs the graph built once; 365,000 shells would take most of an hour on
a loaded 2-core machine); "sched" makes a narrower, deeper graph.
"""
import datetime
import os
import random
import sys


def main():
    out, n_calcs, n_dates, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rnd = random.Random(42)
    start = datetime.date(2025, 1, 1)
    dates = [(start + datetime.timedelta(days=i)).isoformat() for i in range(n_dates)]
    n_roots = max(1, n_calcs // 20) if mode == "plan" else max(1, n_calcs // 10)
    deps = []
    for i in range(n_calcs):
        if i < n_roots:
            deps.append([])
        else:
            lo = 0 if mode == "plan" else max(0, i - 5)
            deps.append(sorted(set(rnd.randrange(lo, i) for _ in range(rnd.randint(1, 3)))))
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    for d in dates:
        open(os.path.join(out, "data", d), "w").close()
    with open(os.path.join(out, "vigil.yaml"), "w") as f:
        f.write(f"state_dir: ./state\ncompute:\n  calendar: {{start: {dates[0]}, end: {dates[-1]}}}\n"
                "  slots: {standard: 2, highmem: 1}\n  calcs:\n")
        for i in range(n_calcs):
            cmd = "[true]" if mode == "plan" else "[sh, -c, 'touch {out}/o']"
            f.write(f"    c{i}:\n      cmd: {cmd}\n")
            if deps[i]:
                f.write("      deps: [" + ", ".join(f"c{d}" for d in deps[i]) + "]\n")
            else:
                f.write("      inputs: [\"data/{date}\"]\n")
    with open(os.path.join(out, "build.ninja"), "w") as f:
        f.write("rule run\n  command = touch $out\n\n")
        for i in range(n_calcs):
            for d in dates:
                ins = " ".join(f"out/c{x}/{d}" for x in deps[i]) if deps[i] else f"data/{d}"
                f.write(f"build out/c{i}/{d}: run {ins}\n")
    for i in range(n_calcs):
        os.makedirs(os.path.join(out, "out", f"c{i}"), exist_ok=True)


if __name__ == "__main__":
    main()
