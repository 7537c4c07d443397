#!/usr/bin/env python3
"""bench/compute/bench.py BUILD_DIR: the compute engine against ninja on the same graphs.

1. plan: `vigil compute plan` over CALCS x DATES cells (default 1,000 x 365) with
   everything up to date, against `ninja -n` (a no-op dry run) on the equivalent
   build.ninja. vigil's cells are first run for real once (`true` each); ninja's finished
   state is written by ninja_state.py and checked with ninja itself ("no work to do").
2. scheduling: CELLS trivial cells (default 10,000 = 100 calcs x 100 dates; each runs
   `sh -c 'touch OUT'`) with `vigil compute run` on 2 slots against `ninja -j2` running
   the same commands, from scratch each time.

Prints the medians and the ratios. Knobs: BENCH_CALCS, BENCH_DATES, BENCH_SCHED_CALCS,
BENCH_SCHED_DATES, BENCH_REPEAT.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def env_int(name, default):
    return int(os.environ.get(name, default))


def timed(cmd, cwd):
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return dt, r.stdout


def gen(d, calcs, dates, mode):
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), d, str(calcs), str(dates), mode], check=True)


def main():
    build = os.path.abspath(sys.argv[1])
    vigil = os.path.join(build, "vigil")
    ninja = shutil.which("ninja") or sys.exit("bench: ninja is not installed (scripts/deps.sh --bench)")
    repeat = env_int("BENCH_REPEAT", 5)
    work = tempfile.mkdtemp(prefix="vigil-bench-compute-")
    try:
        calcs, dates = env_int("BENCH_CALCS", 1000), env_int("BENCH_DATES", 365)
        d = os.path.join(work, "plan")
        gen(d, calcs, dates, "plan")
        cfg = os.path.join(d, "vigil.yaml")
        print(f"plan: {calcs} calculations x {dates} dates = {calcs * dates} cells; first run ...",
              flush=True)
        tb, _ = timed([vigil, "-c", cfg, "compute", "run", "--quiet"], d)
        tn, _ = timed([sys.executable, os.path.join(HERE, "ninja_state.py"), d], d)
        print(f"  first vigil run: {tb:.1f} s; ninja state written in {tn:.1f} s")
        _, out = timed([vigil, "-c", cfg, "compute", "plan"], d)
        assert f"{calcs * dates} uptodate" in out, out[-500:]
        _, out = timed([ninja, "-n"], d)
        assert "no work to do" in out, out[-500:]
        vp = statistics.median(timed([vigil, "-c", cfg, "compute", "plan"], d)[0] for _ in range(repeat))
        np_ = statistics.median(timed([ninja, "-n"], d)[0] for _ in range(repeat))
        print(f"  vigil compute plan (all up to date): {vp * 1000:.0f} ms   ninja -n (no-op): {np_ * 1000:.0f} ms"
              f"   ratio vigil/ninja {vp / np_:.2f} (target <= 1.00)")
        shutil.rmtree(d)

        sc, sd = env_int("BENCH_SCHED_CALCS", 100), env_int("BENCH_SCHED_DATES", 100)
        cells = sc * sd
        d = os.path.join(work, "sched")
        gen(d, sc, sd, "sched")
        cfg = os.path.join(d, "vigil.yaml")
        vt, nt = [], []
        for _ in range(max(1, repeat // 2)):
            shutil.rmtree(os.path.join(d, "state"), ignore_errors=True)
            vt.append(timed([vigil, "-c", cfg, "compute", "run", "--quiet"], d)[0])
            for sub in os.listdir(os.path.join(d, "out")):
                shutil.rmtree(os.path.join(d, "out", sub))
                os.makedirs(os.path.join(d, "out", sub))
            for f in (".ninja_log", ".ninja_deps"):
                if os.path.exists(os.path.join(d, f)):
                    os.unlink(os.path.join(d, f))
            nt.append(timed([ninja, "-j2"], d)[0])
        v, n = statistics.median(vt), statistics.median(nt)
        print(f"scheduling: {cells} trivial cells, 2 slots / -j2")
        print(f"  vigil compute run: {v:.2f} s = {v / cells * 1e6:.0f} us/cell   ninja -j2: {n:.2f} s = "
              f"{n / cells * 1e6:.0f} us/cell   ratio vigil/ninja {v / n:.2f} (target <= 1.20)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
