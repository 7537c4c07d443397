"""bench/metrics/anchor.py [RENDERS]: the anchor for bench_metrics_scrape.

The official Python client, prometheus_client, renders the same 10,000 series as
bench/metrics/scrape.c (same names, label sets and values) in both formats; prints the
same line format. Run by bench/metrics/run.sh when the module can be imported
(Debian: python3-prometheus-client).
"""
import statistics
import sys
import time

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

READY = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]


def build():
    reg = CollectorRegistry()
    labels = ["service", "feed"]
    for fi in range(100):
        if fi < 50:
            # The client appends _total itself.
            fam = Counter(f"vigil_bench_events_{fi:02d}", "Events seen by the bench.", labels,
                          registry=reg)
        elif fi < 99:
            fam = Gauge(f"vigil_bench_level_{fi:02d}", "A level the bench sets.", labels,
                        registry=reg)
        else:
            fam = Histogram("vigil_bench_latency_seconds", "Latency the bench observes.", labels,
                            buckets=READY, registry=reg)
        for s in range(10):
            for d in range(10):
                series = fam.labels(f"md-handler-{s:02d}", "feed-" + chr(ord("a") + d))
                k = fi * 100 + s * 10 + d
                if fi < 50:
                    series.inc(k * 37)
                elif fi < 99:
                    series.set(k * 0.37 + d / 7.0)
                else:
                    for o in range(20):
                        series.observe((o + 1) * 0.0173 * (s + 1))
    return reg


def run(reg, fn, label, n):
    for _ in range(2):
        out = fn(reg)
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn(reg)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    p99 = ms[min(n - 1, round((n - 1) * 0.99))]
    print(f"anchor=prometheus_client-{prometheus_client_version()} format={label} "
          f"gauges=17-digit series=10000 renders={n} median_ms={statistics.median(ms):.3f} "
          f"p99_ms={p99:.3f} max_ms={ms[-1]:.3f} bytes={len(out)}")


def prometheus_client_version():
    try:
        from importlib.metadata import version
        return version("prometheus_client")
    except Exception:  # pragma: no cover - old Pythons, odd installs
        return getattr(prometheus_client, "__version__", "unknown")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    t0 = time.perf_counter()
    reg = build()
    print(f"# anchor registry: python {sys.version.split()[0]}, built in "
          f"{(time.perf_counter() - t0) * 1e3:.1f} ms")
    run(reg, generate_latest, "text", n)
    run(reg, generate_openmetrics, "openmetrics", n)


if __name__ == "__main__":
    main()
