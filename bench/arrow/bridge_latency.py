#!/usr/bin/env python3
"""bench/arrow/bridge_latency.py BUILD_DIR [N]: the time from a scan file's rename into
the watched directory to the cache's update, for 500-asset x 50-column scans written by
apache-arrow (bench/arrow/gen.mjs), with the bridge also writing every scan's 23,500
values to the store. Two figures per scan:
  event->keys    vigil's own: the inotify event's arrival to the per-asset keys' update
  event->doc     ... to the latest-scan document's update (both from the
                 `event_to_*_us` of its debug log line "bridge: scan read")
  rename->seen   outside: os.rename() to a poll of GET /api/v1/cache?match=KEY on the
                 control socket seeing the last asset's last value of the new scan
                 (an upper bound: polling costs; the document's own route is not polled,
                 as rendering a 600 kB document on the loop would slow what it measures)
Prints median and p99 of each."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
pause = float(os.environ.get("BENCH_PAUSE", "0.1"))  # seconds between scans (a scanner: 1 s)
vigil = os.path.join(build, "vigil")


class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("vigil", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


tmp = tempfile.mkdtemp(prefix="vigil-bench-bridge-")
try:
    stage, scans = os.path.join(tmp, "stage"), os.path.join(tmp, "scans")
    os.makedirs(stage)
    os.makedirs(scans)
    gen = f"""
import {{ scanTable, writeScan }} from '{here}/gen.mjs';
for (let i = 1; i <= {n}; i++) writeScan('{stage}/scan-' + String(i).padStart(6, '0') + '.arrow', scanTable(i, 500, 50));
"""
    subprocess.run(["node", "--input-type=module", "-e", gen], check=True, cwd=root)
    with open(os.path.join(tmp, "vigil.yaml"), "w") as f:
        f.write(f"""state_dir: {tmp}/state
http: {{listen: "off"}}
bridges:
  eigen:
    dir: {scans}
    key: asset
    scan: scan
    time: ts
    document: latest_eigen_scan
    keys: true
    store: true
    measurement: eigen_scan
    rescan: 1m
""")
    log = open(os.path.join(tmp, "vigil.log"), "w")
    proc = subprocess.Popen([vigil, "up", "-c", os.path.join(tmp, "vigil.yaml"), "--log-format", "json",
                             "--log-level", "debug"], stdout=log, stderr=subprocess.STDOUT)
    sock = os.path.join(tmp, "state", "vigil.sock")
    while not os.path.exists(sock):
        time.sleep(0.01)
    conn = Unix(sock)
    outside = []
    for i in range(1, n + 1):
        name = f"scan-{i:06d}.arrow"
        t0 = time.perf_counter()
        os.rename(os.path.join(stage, name), os.path.join(scans, name))
        while True:
            conn.request("GET", "/api/v1/cache?match=" + urllib.parse.quote("eigen_scan,asset=A0499.e46"))
            r = conn.getresponse()
            body = r.read()
            e = json.loads(body)["entries"] if r.status == 200 else []
            if e and e[0]["updates"] >= i:
                break
        outside.append((time.perf_counter() - t0) * 1e6)
        time.sleep(pause)  # one scan at a time, as a scanner writes them
    proc.terminate()
    proc.wait(30)
    log.close()
    inside, keys = [], []
    warm = 5  # the first scans meet a cold store and page cache: left out
    outside = outside[warm:]
    with open(os.path.join(tmp, "vigil.log")) as f:
        for line in f:
            if '"bridge: scan read"' in line:
                e = json.loads(line)
                if e["scan"] <= warm:
                    continue
                inside.append(e["event_to_cache_us"])
                keys.append(e["event_to_keys_us"])
    print(f"# bridge latency: {n} scans of 500 assets x 50 columns (23,500 values each, also stored), "
          f"load {open('/proc/loadavg').read().split()[0]}")
    print(f"event->keys   median {pct(keys, 0.5):8.0f} us   p99 {pct(keys, 0.99):8.0f} us   (the 500 assets' per-asset keys)")
    print(f"event->doc    median {pct(inside, 0.5):8.0f} us   p99 {pct(inside, 0.99):8.0f} us   (vigil's own, {len(inside)} scans)")
    print(f"rename->seen  median {pct(outside, 0.5):8.0f} us   p99 {pct(outside, 0.99):8.0f} us   (a key, polling the control socket)")
finally:
    if os.environ.get("BENCH_DEBUG"):  # the slowest scans, with vigil's timings of each step
        rows = sorted((json.loads(l) for l in open(f"{tmp}/vigil.log") if "scan read" in l),
                      key=lambda e: -e["event_to_keys_us"])
        slow = {e["scan"] for e in rows[:3]}
        for e in sorted((e for e in rows if e["scan"] in slow or e["scan"] + 1 in slow), key=lambda e: e["scan"]):
            print({k: e[k] for k in ("scan", "event_to_keys_us", "queued_us", "read_us", "publish_us", "store_us")})
    shutil.rmtree(tmp, ignore_errors=True)
