"""Feeds end to end: a real `vigil up` with feeds, fed by real `vigil-feed` publishers
over tcp:// and ipc://. Every point a publisher sent is in the store: the feed's count
and checksum, and the count and checksum recomputed from a query of the store, match
what vigil-feed says it sent (the checksum is order-independent); injected gaps are reported
exactly, malformed messages are quarantined with their reason while ingest goes on,
and the counters reach /metrics, `vigil status` and `vigil validate`.

Counts are scaled down under the sanitizers (VIGIL_SANITIZED=1); no assertion is about
speed — the rates reached are printed for the record.
"""
import json
import shutil
import subprocess
import tempfile
import time

from harness import (FEED, LONG, SANITIZED, Stack, VigilTest, feed_status, free_port, run_feed,
                     store_checksum, wait_for)

SCALE = 10 if SANITIZED else 1


def wait_messages(stack, name, n, timeout=LONG):
    return wait_for(lambda: (lambda f: f if f["messages"] >= n else None)(feed_status(stack, name)),
                    timeout=timeout, what=f"{n} messages on feed {name}")


def wait_written(stack, name, points, timeout=LONG):
    """The feed has written `points` points (its batches are flushed when idle)."""
    return wait_for(lambda: (lambda f: f if f["points"] >= points else None)(feed_status(stack, name)),
                    timeout=timeout, what=f"{points} points written by feed {name}")


class FeedsTest(VigilTest):
    def test_tcp_every_point_at_100k(self):
        port = free_port()
        s = self.stack(f"""
            feeds:
              ticks:
                bind: tcp://127.0.0.1:{port}
                socket: pull
                expect: {{rate: 1000/s, seq_field: seq, seq_key: sym}}
            """)
        count, rate = 300000 // SCALE, 100000 // SCALE
        t0 = time.monotonic()
        sent = run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", str(rate), "--count",
                        str(count), "--symbols", "50")
        f = wait_written(s, "ticks", sent["points"])
        took = time.monotonic() - t0
        print(f"\n  tcp: {sent['sent']} messages at --rate {rate}: sent in {sent['seconds']:.2f}s, "
              f"all written after {took:.2f}s")
        self.assertEqual(sent["sent"], count)
        self.assertEqual(f["messages"], count)
        self.assertEqual(f["points"], sent["points"])
        self.assertEqual(f["checksum"], sent["checksum"])
        self.assertEqual(f["decode_errors"], 0)
        self.assertEqual((f["seq"]["gaps"], f["seq"]["missed"]), (0, 0))
        self.assertEqual(f["seq"]["keys"], 50)
        self.assertTrue(f["store"])
        held = store_checksum(s, "ticks")
        self.assertEqual((held["points"], held["sent"]), (count, 3 * count))  # price, size, seq
        self.assertEqual(held["checksum"], sent["checksum"])

    def test_ipc_sub_json_topics_and_multipart(self):
        d = self.make_tmp()
        ep, other = f"ipc://{d}/ticks.sock", f"ipc://{d}/other.sock"
        s = self.stack(f"""
            feeds:
              js:
                connect: [{ep}, {other}]
                topics: [kraken]
                format: json
                json: {{tags: [sym], ints: [size, seq]}}
                expect: {{seq_field: seq}}
            """)
        n = 20000 // SCALE
        # two publishers on the same SUB socket: one on the subscribed topic (multipart
        # [topic, payload]), one on another topic that the feed must never see
        p_other = subprocess.Popen([FEED, "--bind", other, "--socket", "pub", "--topic", "oanda",
                                    "--format", "json", "--rate", "2000", "--duration", "3s"],
                                   stdout=subprocess.PIPE, text=True)
        sent = run_feed("--bind", ep, "--socket", "pub", "--topic", "kraken", "--format", "json",
                        "--lines", "3", "--rate", str(20000 // SCALE), "--count", str(n))
        p_other.communicate(timeout=60)
        f = wait_written(s, "js", sent["points"])
        self.assertEqual(f["messages"], n)
        self.assertEqual(f["points"], 3 * n)
        self.assertEqual(f["checksum"], sent["checksum"])
        self.assertEqual(f["decode_errors"], 0)
        held = store_checksum(s, "ticks")
        self.assertEqual(held["points"], 3 * n)
        self.assertEqual(held["checksum"], sent["checksum"])

    def test_gaps_reported_exactly(self):
        port = free_port()
        s = self.stack(f"""
            feeds:
              gappy:
                connect: tcp://127.0.0.1:{port}
                socket: sub
                expect: {{seq_field: seq, seq_key: [sym]}}
            """)
        n = 50000 // SCALE
        sent = run_feed("--bind", f"tcp://127.0.0.1:{port}", "--socket", "pub", "--rate",
                        str(50000 // SCALE), "--count", str(n), "--symbols", "7", "--gap-every", "997",
                        "--gap-size", "4")
        f = wait_messages(s, "gappy", n)
        self.assertGreater(sent["gaps"], 0)
        self.assertEqual(f["seq"]["gaps"], sent["gaps"])
        self.assertEqual(f["seq"]["missed"], sent["missed"])
        self.assertEqual(f["seq"]["late"], 0)
        recent = f["seq"]["recent"]
        self.assertEqual(len(recent), min(sent["gaps"], 32))
        for g in recent:
            self.assertEqual(g["missed"], 4)
            self.assertEqual(g["got"] - g["after"], 5)
            self.assertRegex(g["key"], r"^ticks,sym=S000[1-7]$")
        # the same numbers in /metrics and the status table
        _, _, body = s.http("GET", "/metrics")
        self.assertIn(f'vigil_feed_gaps_total{{feed="gappy"}} {sent["gaps"]}'.encode(), body)
        self.assertIn(f'vigil_feed_missed_messages_total{{feed="gappy"}} {sent["missed"]}'.encode(), body)
        self.assertIn(f'vigil_feed_messages_total{{feed="gappy"}} {n}'.encode(), body)
        table = s.cli("status", check=0).stdout
        self.assertRegex(table, rf"gappy\s+line\s+{n}\s+{sent['points']}\s+\d+\s+0\s+{sent['gaps']}\s+{sent['missed']}")

    def test_malformed_quarantined_while_ingest_goes_on(self):
        port, jport = free_port(), free_port()
        s = self.stack(f"""
            feeds:
              dirty:
                bind: tcp://127.0.0.1:{port}
                socket: pull
                quarantine: {{keep: 2}}
              dirty-json:
                bind: tcp://127.0.0.1:{jport}
                socket: pull
                format: json
                json: {{tags: [sym], ints: [size, seq]}}
            """)
        n = 20000 // SCALE
        sent = run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", "0", "--count", str(n),
                        "--bad-every", "100")
        f = wait_written(s, "dirty", sent["points"])
        self.assertEqual(sent["bad"], n // 100)
        self.assertEqual(f["messages"], n)
        self.assertEqual(f["points"], sent["points"])
        self.assertEqual(f["checksum"], sent["checksum"])
        self.assertEqual(f["errors"]["syntax"], sent["bad"])
        self.assertEqual(f["decode_errors"], sent["bad"])
        held = store_checksum(s, "ticks")
        self.assertEqual(held["points"], sent["points"])
        self.assertEqual(held["checksum"], sent["checksum"])
        # six kinds of damage, two kept each: at most 2 per reason, then 1 in 1000
        with open(f["quarantine_file"]) as q:
            lines = q.read().splitlines()
        self.assertEqual(len(lines), f["quarantined"])
        self.assertEqual(len(lines), min(2, sent["bad"]) + max(0, sent["bad"] - 2) // 1000)
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z reason=syntax "
                                   r"error=\"1:21: missing value for field 'price'\" bytes=20 "
                                   r"raw=ticks,sym=BAD price=$")
        self.assertIn("error=\"1:14: missing field set\" bytes=13 raw=ticks,sym=BAD", lines[1])

        sent = run_feed("--connect", f"tcp://127.0.0.1:{jport}", "--rate", "0", "--count", str(n),
                        "--format", "json", "--bad-every", "50", "--measurement", "jticks")
        f = wait_written(s, "dirty-json", sent["points"])
        self.assertEqual(f["points"], sent["points"])
        self.assertEqual(f["checksum"], sent["checksum"])
        # the JSON damage cycles: syntax, mapping, syntax, mapping (field is an array)
        self.assertEqual(f["errors"]["syntax"] + f["errors"]["schema"], sent["bad"])
        self.assertGreater(f["errors"]["schema"], 0)
        held = store_checksum(s, "jticks")
        self.assertEqual((held["points"], held["checksum"]), (sent["points"], sent["checksum"]))
        _, _, body = s.http("GET", "/metrics")
        self.assertIn(f'vigil_feed_decode_errors_total{{feed="dirty-json",reason="schema"}} '
                      f'{f["errors"]["schema"]}'.encode(), body)

    def test_refused_is_never_written(self):
        """A value the store refuses (a type conflict, a string over 4 KiB) makes its
        point refused: counted once under `store`, not as written, its values left out
        of the checksum; its other values are written and counted as values."""
        lp, js, notes = free_port(), free_port(), free_port()
        s = self.stack(f"""
            feeds:
              lp:
                bind: tcp://127.0.0.1:{lp}
                socket: pull
              js:
                bind: tcp://127.0.0.1:{js}
                socket: pull
                format: json
                json: {{tags: [sym]}}
              notes:
                bind: tcp://127.0.0.1:{notes}
                socket: pull
            """)
        sent = run_feed("--connect", f"tcp://127.0.0.1:{lp}", "--rate", "0", "--count", "10",
                        "--symbols", "5")
        f = wait_written(s, "lp", 10)
        self.assertEqual((f["points"], f["values"], f["errors"]["store"]), (10, 30, 0))
        self.assertEqual(f["checksum"], sent["checksum"])

        def settled(name, n):
            return wait_for(lambda: (lambda f: f if f["messages"] >= n and
                                     f["points"] + f["errors"]["store"] >= n else None)(
                feed_status(s, name)), timeout=LONG, what=f"{n} points settled on {name}")

        # the same series as JSON without int keys: size and seq come as floats into int
        # series, price is written
        run_feed("--connect", f"tcp://127.0.0.1:{js}", "--rate", "0", "--count", "10",
                 "--symbols", "5", "--format", "json")
        f = settled("js", 10)
        self.assertEqual(f["points"], 0)
        self.assertEqual(f["errors"]["store"], 10)
        self.assertEqual(f["values"], 10)
        self.assertEqual(f["decode_errors"], 10)

        # a string over 4096 bytes: the note is refused, price, size and seq are written
        sent = run_feed("--connect", f"tcp://127.0.0.1:{notes}", "--rate", "0", "--count", "10",
                        "--measurement", "notes", "--note-bytes", "5000")
        f = settled("notes", 10)
        self.assertEqual(f["points"], 0)
        self.assertEqual(f["errors"]["store"], 10)
        self.assertEqual(f["values"], 30)
        held = store_checksum(s, "notes")
        self.assertEqual(held["sent"], 30)
        self.assertEqual(f["checksum"], held["checksum"])
        self.assertNotEqual(f["checksum"], sent["checksum"])  # the notes are not in it
        _, _, body = s.http("GET", "/metrics")
        self.assertIn(b'vigil_feed_points_total{feed="notes"} 0', body)
        self.assertIn(b'vigil_feed_values_total{feed="notes"} 30', body)
        self.assertIn(b'vigil_feed_decode_errors_total{feed="notes",reason="store"} 10', body)

    def test_validate(self):
        port, idle = free_port(), free_port()
        s = self.stack(f"""
            feeds:
              live:
                bind: tcp://127.0.0.1:{port}
                socket: pull
                expect: {{rate: 200/s, seq_field: seq, max_gap: 0}}
              quiet:
                bind: tcp://127.0.0.1:{idle}
                socket: pull
            """)
        pub = subprocess.Popen([FEED, "--connect", f"tcp://127.0.0.1:{port}", "--rate", "500",
                                "--duration", "20s", "--gap-every", "300", "--bad-every", "400"],
                               stdout=subprocess.PIPE, text=True)
        try:
            wait_messages(s, "live", 100)
            r = s.cli("validate", "--for", "2s", "--json")
            self.assertEqual(r.returncode, 1, r.stderr)
            doc = json.loads(r.stdout)
            self.assertFalse(doc["ok"])
            v = {x["feed"]: x for x in doc["feeds"]}
            live, quiet = v["live"], v["quiet"]
            self.assertGreater(live["rate"], 200 * 0.9)  # the expected rate is met
            self.assertFalse(any("rate" in p for p in live["problems"]), live)
            self.assertGreaterEqual(live["gaps"], 1)
            self.assertTrue(any("missed message" in p for p in live["problems"]), live)
            self.assertTrue(any("refused (syntax" in p for p in live["problems"]), live)
            self.assertIn("no message in the window", quiet["problems"])
            self.assertIsNone(quiet["gaps"])
            text = s.cli("validate", "--for", "2s").stdout
            self.assertRegex(text, r"FAIL live ")
            self.assertRegex(text, r"FAIL quiet ")
        finally:
            pub.terminate()
            pub.communicate(timeout=30)
        self.assertEqual(s.cli("validate", "--for", "xyz").returncode, 2)

    def test_validate_ok(self):
        port = free_port()
        s = self.stack(f"""
            feeds:
              clean:
                connect: tcp://127.0.0.1:{port}
                expect: {{rate: 100/s, seq_field: seq}}
            """)
        pub = subprocess.Popen([FEED, "--bind", f"tcp://127.0.0.1:{port}", "--socket", "pub", "--rate", "300",
                                "--duration", "20s"], stdout=subprocess.PIPE, text=True)
        try:
            wait_messages(s, "clean", 50)
            r = s.cli("validate", "--for", "1s", "--json")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            v = json.loads(r.stdout)["feeds"][0]
            self.assertEqual((v["feed"], v["ok"], v["stored"], v["gaps"], v["problems"]),
                             ("clean", True, True, 0, []))
            self.assertGreater(v["points"], 0)
        finally:
            pub.terminate()
            pub.communicate(timeout=30)

    def test_reload_keeps_feeds(self):
        port = free_port()
        cfg = f"""
            feeds:
              ticks:
                bind: tcp://127.0.0.1:{port}
                socket: pull
            services:
              a: {{cmd: ["@SIM@"]}}
            """
        s = self.stack(cfg)
        s.wait_state("a", "ready")
        # the same feeds with a changed service: accepted
        s.write_config(cfg.replace('["@SIM@"]', '["@SIM@", --tick, 1s]'))
        self.assertEqual(s.cli("reload").returncode, 0)
        # a changed feed: refused, the running one goes on
        s.write_config(cfg.replace("socket: pull", "socket: sub"))
        r = s.cli("reload")
        self.assertEqual(r.returncode, 2)
        self.assertIn("feeds cannot change on reload; restart vigil to change them", r.stderr)
        sent = run_feed("--connect", f"tcp://127.0.0.1:{port}", "--rate", "0", "--count", "100")
        self.assertEqual(wait_written(s, "ticks", 100)["checksum"], sent["checksum"])

    def test_bad_endpoint_stops_vigil_up(self):
        st = Stack("""
            feeds:
              broken:
                bind: tcp://256.0.0.1:1
            """)
        self.stacks.append(st)
        st.start(wait_socket=False)
        self.assertEqual(st.proc.wait(30), 1)
        self.assertIn("feed broken: cannot bind tcp://256.0.0.1:1", st.logs_text())

    def make_tmp(self):
        d = tempfile.mkdtemp(prefix="vigil-feeds-")
        self.addCleanup(shutil.rmtree, d, True)
        return d
