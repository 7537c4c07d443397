"""bench/ingest/threads.py: where vigil's CPU goes, per point and per thread, while
vigil-feed publishers stream into one feed (the table "CPU per point" in
docs/BENCHMARKS.md, "Ingest"). A daemon is started, warmed with WARM messages (so its
store has flushed and reuses its memory), then sent MESSAGES more; each thread's
utime+stime and minor faults over the measured part come from /proc.

    python3 bench/ingest/threads.py BUILD_DIR [MESSAGES [LINES]]

Environment: PUBS (publishers, default 1), WARM (default MESSAGES; 0: a fresh daemon),
STORE (true or false, default true). Python standard library only.
"""
import os
import shutil
import sys
import tempfile
import time

MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 6000000
os.environ["BENCH_LINES"] = sys.argv[3] if len(sys.argv) > 3 else "1"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingest  # noqa: E402  (reads BUILD_DIR from argv[1] and the line count set above)

PUBS = int(os.environ.get("PUBS", "1"))
WARM = int(os.environ.get("WARM", str(MESSAGES)))
STORE = os.environ.get("STORE", "true") == "true"


def thread_times(pid):
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                s = f.read()
        except OSError:
            continue  # the thread ended
        name = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        out[(t, name)] = ((int(f[11]) + int(f[12])) / tick, int(f[7]))
    return out


def stream(v, count):
    base = v.feed()["points"]
    pubs, total = ingest.publishers(PUBS, f"tcp://127.0.0.1:{v.port}", count)
    t0 = time.monotonic()
    while v.feed()["points"] - base < total * ingest.LINES:
        time.sleep(0.01)
    took = time.monotonic() - t0
    for p in pubs:
        p.wait(60)
    return total * ingest.LINES, took


def main():
    work = tempfile.mkdtemp(prefix="vigil-bench-threads-")
    v = ingest.Vigil(work, STORE)
    try:
        if WARM:
            stream(v, WARM)
            time.sleep(1)
        a = thread_times(v.proc.pid)
        n, took = stream(v, MESSAGES)
        b = thread_times(v.proc.pid)
        print(f"# {n} points ({PUBS} publisher(s), {ingest.LINES} per message) in {took:.2f} s "
              f"= {n / took / 1e6:.2f} M points/s, after {WARM} warm-up messages")
        print(f"{'thread':<16} {'cpu s':>7} {'ns/point':>9} {'minflt':>8}")
        for k in sorted(b, key=lambda k: -(b[k][0] - a.get(k, (0, 0))[0])):
            dt, fl = b[k][0] - a.get(k, (0, 0))[0], b[k][1] - a.get(k, (0, 0))[1]
            if dt > 0:
                print(f"{k[1]:<16} {dt:>7.2f} {dt / n * 1e9:>9.0f} {fl:>8}")
    finally:
        v.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
