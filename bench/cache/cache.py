"""bench/cache: what the latest-value cache costs and how fast its Redis mirror writes,
side by side in one run:
  1. the cache's cost per ingested point (bench_cache put) next to the store's write of
     the same batches;
  2. end-to-end ingest (vigil-feed -> a feed -> store + cache) with the cache off, on,
     and on with the Redis mirror, interleaved BENCH_REPEAT times (bench/ingest's
     harness), medians of the steady-state half;
  3. the mirror's keys per second (bench_cache mirror: 1,000,000 distinct keys) against
     redis-benchmark's HSET on the same server with one connection and the same number
     of keys in flight (-P), and with its default 50 connections.

    python3 bench/cache/cache.py BUILD_DIR
Knobs: BENCH_MESSAGES (per half, default 2,000,000), BENCH_REPEAT (default 3),
BENCH_MIRROR_KEYS (default 1,000,000).
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ingest"))
os.environ.setdefault("BENCH_MESSAGES", "2000000")
import ingest  # noqa: E402  (bench/ingest/ingest.py: publishers and vigil's harness)

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
BENCH = os.path.join(BUILD, "bench_cache")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
KEYS = int(os.environ.get("BENCH_MIRROR_KEYS", "1000000"))


def kv(line):
    return dict(x.split("=", 1) for x in line.split())


class Redis:
    def __init__(self, workdir):
        self.port = ingest.free_port()
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", workdir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            r = subprocess.run(["redis-cli", "-p", str(self.port), "PING"], capture_output=True, text=True)
            if r.stdout.strip() == "PONG":
                return
            time.sleep(0.02)
        raise SystemExit("bench: redis-server did not start")

    def flush(self):
        subprocess.run(["redis-cli", "-p", str(self.port), "FLUSHALL"], capture_output=True, check=True)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def main():
    work = tempfile.mkdtemp(prefix="bench-cache-")
    redis = Redis(work)
    try:
        print("# 1. the cache's cost per point (2 fields a point, 1000 series), against the store's write")
        r = kv(subprocess.run([BENCH, "put", "2000000", "1000"], capture_output=True, text=True,
                              check=True).stdout)
        print(f"cache {float(r['cache_ns_per_point']):.0f} ns/point, store {float(r['store_ns_per_point']):.0f} "
              f"ns/point: the cache adds {100 * float(r['cache_over_store']):.0f}% to the store's write")

        print(f"\n# 2. end-to-end ingest, 1 publisher, {ingest.MESSAGES:,} messages per half, "
              f"medians of {REPEAT} (points/s, steady-state half)")
        variants = [("cache off", "cache: {enabled: false}"), ("cache on", ""),
                    ("cache + Redis mirror", f"cache: {{redis: 'redis://127.0.0.1:{redis.port}/0'}}")]
        rates = {name: [] for name, _ in variants}
        for rep in range(REPEAT):
            for name, extra in variants:
                redis.flush()
                d = tempfile.mkdtemp(dir=work)
                _, second, _, _ = ingest.vigil_e2e(1, d, True, extra)
                rates[name].append(second)
                shutil.rmtree(d, ignore_errors=True)
        base = statistics.median(rates["cache off"])
        for name, _ in variants:
            m = statistics.median(rates[name])
            print(f"{name:22s} {m:12,.0f} points/s  (range {min(rates[name]):,.0f}-{max(rates[name]):,.0f})"
                  f"  {m / base:.3f}x of cache off")

        print(f"\n# 3. the mirror against redis-benchmark HSET ({KEYS:,} keys)")
        redis.flush()
        r = kv(subprocess.run([BENCH, "mirror", str(redis.port), str(KEYS), "100", "0"],
                              capture_output=True, text=True, check=True).stdout)
        mirror = float(r["keys_per_s"])
        redis.flush()
        r2 = kv(subprocess.run([BENCH, "mirror", str(redis.port), str(KEYS), "100", "1"],
                               capture_output=True, text=True, check=True).stdout)
        mirror_ts = float(r2["keys_per_s"])
        results = {}
        for label, args in [("redis-benchmark -c 1 -P 10000", ["-c", "1", "-P", "10000"]),
                            ("redis-benchmark -c 1 -P 512", ["-c", "1", "-P", "512"]),
                            ("redis-benchmark -c 50 -P 512", ["-c", "50", "-P", "512"])]:
            redis.flush()
            out = subprocess.run(["redis-benchmark", "-p", str(redis.port), "-n", str(KEYS),
                                  "-r", str(KEYS), "-t", "hset", "--csv", *args],
                                 capture_output=True, text=True, check=True).stdout
            line = [x for x in out.splitlines() if x.startswith('"HSET')][0]
            results[label] = float(line.split(",")[1].strip('"'))
        print(f"vigil mirror (values only)        {mirror:12,.0f} keys/s")
        print(f"vigil mirror (values + :ts hash)  {mirror_ts:12,.0f} keys/s")
        for label, rps in results.items():
            print(f"{label:33s} {rps:12,.0f} keys/s   mirror/this: {mirror / rps:.2f} "
                  f"(with timestamps {mirror_ts / rps:.2f})")
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
