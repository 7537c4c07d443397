"""Hostile input against a real `vigil up`: publishers that try to make the daemon grow
or fall over. Each class is one kind of attack.

CardinalityTest: a publisher that makes a new series with every point (an id in a tag)
meets the feed's and the store's series limits (`max_series`): past them values that
would make a new series are refused with the reason `cardinality`, counted and
quarantined, memory stays bounded, and existing series keep being written.
"""
import json
import os

from harness import (LONG, SANITIZED, VigilTest, feed_status, free_port, proc_status, run_feed,
                     wait_for)


def settled(stack, name, messages, points):
    """The feed saw `messages` and has written or refused `points` points."""
    def check():
        f = feed_status(stack, name)
        done = f["points"] + f["errors"]["cardinality"] + f["errors"]["store"]
        return f if f["messages"] >= messages and done >= points else None
    return wait_for(check, timeout=LONG * 4, what=f"{points} points settled on feed {name}")


class CardinalityTest(VigilTest):
    def test_feed_limit_against_100k_new_series(self):
        # the attack: 100,000 points, each of a symbol never seen (3 series: price, size,
        # seq), in ten messages; without a limit vigil grew by about 200 MB
        per = 1000 if SANITIZED else 10000
        port = free_port()
        s = self.stack(f"""
            store: {{sync: never}}
            feeds:
              wild:
                bind: tcp://127.0.0.1:{port}
                socket: pull
                max_series: 3000
            """)
        rss0 = proc_status(s.proc.pid, "VmRSS")
        run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", "0", "--count", "10",
                 "--lines", str(per), "--symbols", str(10 * per), "--prefix", "X")
        f = settled(s, "wild", 10, 10 * per)
        self.assertEqual(f["series"], 3000)
        self.assertEqual(f["max_series"], 3000)
        self.assertEqual(f["points"], 1000)  # X0001 .. X1000, three series each
        self.assertEqual(f["values"], 3000)
        self.assertEqual(f["errors"]["cardinality"], 10 * per - 1000)
        self.assertEqual(f["errors"]["store"], 0)
        j = json.loads(s.cli("store", "stats", "--json", check=0).stdout)
        self.assertEqual(j["series"], 3000)
        _, _, body = s.http("GET", "/metrics")
        self.assertIn(f'vigil_feed_decode_errors_total{{feed="wild",reason="cardinality"}} '
                      f'{10 * per - 1000}'.encode(), body)
        self.assertIn(b'vigil_feed_series_created_total{feed="wild"} 3000', body)
        with open(f["quarantine_file"]) as q:
            text = q.read()
        self.assertIn("reason=cardinality error=", text)
        self.assertIn("series limit reached (the writer's max_series)", text)
        if not SANITIZED:
            grew_mb = (proc_status(s.proc.pid, "VmRSS") - rss0) / 1024
            print(f"\n  100,000 new-series attack with max_series 3000: RSS grew {grew_mb:.0f} MB")
            self.assertLess(grew_mb, 64)

        # the series it has keep being written
        run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", "0", "--count", "1",
                 "--lines", "1000", "--symbols", "1000", "--prefix", "X")
        f = settled(s, "wild", 11, 10 * per + 1000)
        self.assertEqual(f["points"], 2000)
        self.assertEqual(f["series"], 3000)

    def test_store_limit(self):
        port = free_port()
        s = self.stack(f"""
            store: {{max_series: 600, sync: never}}
            feeds:
              wild:
                bind: tcp://127.0.0.1:{port}
                socket: pull
                max_series: 0
            """)
        run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", "0", "--count", "1",
                 "--lines", "1000", "--symbols", "1000", "--prefix", "Y")
        f = settled(s, "wild", 1, 1000)
        self.assertEqual((f["points"], f["series"], f["max_series"]), (200, 600, None))
        self.assertEqual(f["errors"]["cardinality"], 800)
        with open(f["quarantine_file"]) as q:
            self.assertIn("series limit reached (the store's max_series)", q.read())
        # the store's limit holds for every source: an import past it is refused too
        path = os.path.join(s.dir, "more.lp")
        with open(path, "w") as out:
            out.write("other,id=1 v=1 1\nticks,sym=Y0001 price=1.5 2\n")
        r = s.cli("store", "import", path, check=1)
        self.assertIn("series limit reached (the store's max_series)", r.stderr)
        self.assertIn("1 values refused", r.stdout)
        j = json.loads(s.cli("store", "stats", "--json", check=0).stdout)
        self.assertEqual(j["series"], 600)
