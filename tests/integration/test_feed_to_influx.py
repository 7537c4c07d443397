"""The whole path under `vigil up`: a vigil-feed publisher -> a feed -> the store and the
InfluxDB sink -> a real InfluxDB (the Debian influxd), across a short outage of InfluxDB
in the middle of the stream. Every point sent is in the store and in InfluxDB, exactly
once (counts and the sum of a field)."""
import json
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import (FEED, INFLUXD, LONG, SANITIZED, InfluxDB, VigilTest, feed_status, free_port,
                     store_checksum, wait_for)


@unittest.skipUnless(INFLUXD, "influxd is not installed (scripts/deps.sh installs it)")
class FeedToInfluxTest(VigilTest):
    def test_feed_reaches_store_and_influxdb_exactly_once(self):
        port = free_port()
        d = tempfile.mkdtemp(prefix="vigil-f2i-")
        influx = InfluxDB(d).start()
        try:
            s = self.stack(f"""
                feeds:
                  ticks:
                    bind: tcp://127.0.0.1:{port}
                    socket: pull
                sinks:
                  influx:
                    url: {influx.url}
                    db: tick
                    create_database: true
                    batch: 2000
                    flush: 100ms
                    timeout: 2s
                """)
            n = 6000 if SANITIZED else 30000
            pub = subprocess.Popen([FEED, "--connect", f"tcp://127.0.0.1:{port}", "--rate", "3000",
                                    "--count", str(n), "--symbols", "5"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            influx.stop()                    # InfluxDB goes away mid-stream...
            time.sleep(3.0)
            influx.start()                   # ...and comes back: the spool drains
            out, err = pub.communicate(timeout=LONG)
            self.assertEqual(pub.returncode, 0, err)
            f = wait_for(lambda: (lambda x: x if x["messages"] >= n else None)(feed_status(s, "ticks")),
                         timeout=LONG, what="every message on the feed")
            held = store_checksum(s, "ticks")
            self.assertEqual(held["points"], n)

            def in_influx():
                try:
                    r = influx.rows('SELECT count(price), sum(size) FROM ticks', db="tick")
                    return r[0] if r and r[0][1] == n else None
                except Exception:
                    return None
            row = wait_for(in_influx, timeout=LONG, what=f"{n} points in InfluxDB")
            # the sum of the integer field equals the store's: no point twice, none lost
            code, body = s.request("GET", "/api/v1/query?q=ticks&field=size&from=-1h&to=%2B1h&every=1d&agg=sum")
            total = sum(p[1] for x in json.loads(body)["series"] for p in x["points"])
            self.assertEqual(row[2], total)
            _, _, m = s.http("GET", "/metrics")
            self.assertIn(b'vigil_sink_points_sent_total{sink="influx"}', m)
        finally:
            influx.stop()
            shutil.rmtree(d, ignore_errors=True)


@unittest.skipUnless(INFLUXD, "influxd is not installed (scripts/deps.sh installs it)")
class WriteToInfluxTest(VigilTest):
    def test_http_write_goes_through_the_same_pipeline(self):
        """POST /write and store import reach the store and the InfluxDB sink, as a
        feed's points do: one pipeline (they reached the store only)."""
        d = tempfile.mkdtemp(prefix="vigil-w2i-")
        influx = InfluxDB(d).start()
        try:
            s = self.stack(f"""
                sinks:
                  influx:
                    url: {influx.url}
                    db: tick
                    create_database: true
                    flush: 100ms
                """)
            body = "".join(f"w,sym=S{i % 3} price={i}.5,size={i}i {1700000000 + i}\n" for i in range(100))
            code, data = s.request("POST", "/write?precision=s", body=body.encode())
            self.assertEqual(code, 204, data)
            path = f"{s.dir}/more.lp"
            with open(path, "w") as f:
                f.write("".join(f"w,sym=S9 price=1,size={i}i {1700001000 + i}\n" for i in range(50)))
            r = s.cli("store", "import", path, "--precision=s")
            self.assertEqual(r.returncode, 0, r.stderr)

            def in_influx():
                try:
                    rows = influx.rows("SELECT count(price), sum(size) FROM w", db="tick")
                    return rows[0] if rows and rows[0][1] == 150 else None
                except Exception:
                    return None
            row = wait_for(in_influx, timeout=LONG, what="150 points in InfluxDB")
            self.assertEqual(row[2], sum(range(100)) + sum(range(50)))
        finally:
            influx.stop()
            shutil.rmtree(d, ignore_errors=True)
