"""The latest-value cache under `vigil up`, fed by real data: vigil-feed -> a feed ->
the store and the cache, HTTP /write -> the cache; aliases and documents; the Redis
mirror against a real redis-server, across Redis being killed and restarted mid-stream."""
import json
import math
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import (FEED, LONG, REDIS_SERVER, SANITIZED, Redis, VigilTest, feed_status,
                     free_port, wait_for)


def entries(stack, match, limit=None):
    q = {"match": match}
    if limit:
        q["limit"] = limit
    code, body = stack.request("GET", "/api/v1/cache?" + urllib.parse.urlencode(q))
    assert code == 200, (code, body)
    return {e["key"]: e for e in json.loads(body)["entries"]}


def last_values(stack, measurement):
    """The store's last value of every field of every series of a measurement."""
    code, body = stack.request("GET", f"/api/v1/query/last?q={measurement}")
    assert code == 200, (code, body)
    out = {}
    for s in json.loads(body)["series"]:
        key = s["key"] if "key" in s else None
        out[key] = s
    return out


class CacheTest(VigilTest):
    def feed_config(self, port, extra=""):
        return f"""
            feeds:
              ticks:
                bind: tcp://127.0.0.1:{port}
                socket: pull
            cache:
              aliases:
                s1: ticks,sym=S0001.price
              documents:
                top:
                  keys: [s1, "ticks,sym=S0002.*"]
                  critical: [s1]
                  fresh: 30s
                  ready_flag: _top_ready
            {extra}
            """

    def test_feed_and_write_update_the_cache(self):
        port = free_port()
        s = self.stack(self.feed_config(port))
        n = 2000
        r = subprocess.run([FEED, "--connect", f"tcp://127.0.0.1:{port}", "--rate", "0",
                            "--count", str(n), "--symbols", "5"], capture_output=True, text=True,
                           timeout=LONG)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: feed_status(s, "ticks")["messages"] >= n, timeout=LONG,
                 what="every message on the feed")
        # the cache holds what the store holds last, series by series (once the feed's
        # writer has written its last batch)
        def same_as_store():
            got = entries(s, "ticks,*")
            code, body = s.request("GET", "/api/v1/query/last?q=ticks")
            self.assertEqual(code, 200, body)
            series = json.loads(body)["series"]
            if len(series) != 15 or len(got) != 15:
                return None
            for x in series:
                tags = ",".join(f"{k}={v}" for k, v in sorted(x["tags"].items()))
                key = f"ticks,{tags}.{x['field']}"
                if key not in got or got[key]["value"] != x["points"][-1][1]:
                    return None
            return got
        got = wait_for(same_as_store, timeout=LONG,
                       what="15 keys (5 symbols x price, size, seq) equal to the store's last")
        self.assertEqual({e["source"] for e in got.values()}, {"feed:ticks"})

        # HTTP /write reaches the cache too, named as such; an older point does not move it
        now = time.time_ns()
        code, body = s.request("POST", "/write", f"exf funding_btc=0.0001,fng=55i {now}\n")
        self.assertEqual(code, 204, body)
        code, body = s.request("POST", "/write", f"exf funding_btc=0.5 {now - 10**9}\n")
        self.assertEqual(code, 204, body)
        e = entries(s, "exf.*")
        self.assertEqual(e["exf.funding_btc"]["value"], 0.0001)
        self.assertEqual(e["exf.funding_btc"]["source"], "http")
        self.assertEqual(e["exf.fng"]["type"], "integer")
        self.assertIn("vigil_cache_out_of_order_total 1", s.http("GET", "/metrics")[2].decode())

        # an alias reads as its key; the document renders both, with ages and the flag
        e = entries(s, "s1")
        self.assertEqual(list(e), ["ticks,sym=S0001.price"])
        code, body = s.request("GET", "/api/v1/cache/docs/top")
        self.assertEqual(code, 200, body)
        doc = json.loads(body)
        self.assertIn("s1", doc)
        self.assertIn("ticks,sym=S0002.price", doc)
        self.assertTrue(doc["_top_ready"])
        self.assertGreaterEqual(doc["_staleness_s"]["s1"], 0)
        code, _ = s.request("GET", "/api/v1/cache/docs/nope")
        self.assertEqual(code, 404)

        # the CLI: a table, JSON, exit 1 for a key that is not there
        r = s.cli("cache", "get", "s1", "exf.*")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ticks,sym=S0001.price", r.stdout)
        self.assertIn("exf.funding_btc", r.stdout)
        r = s.cli("cache", "get", "--json", "exf.fng")
        self.assertEqual(json.loads(r.stdout)[0]["value"], 55)
        r = s.cli("cache", "get", "no.such")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no key matches 'no.such'", r.stderr)
        r = s.cli("cache", "doc", "top")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("_top_ready", r.stdout)
        r = s.cli("cache", "stats")
        self.assertIn("keys: 17", r.stdout)
        self.assertIn("not configured", r.stdout)
        r = s.cli("cache", "docs", "--json")
        self.assertEqual(r.returncode, 2)
        r = s.cli("cache", "get", "--limit=0", "x")
        self.assertEqual(r.returncode, 2)
        r = s.cli("cache", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("vigil cache get", r.stdout)

    def test_document_not_ready_when_a_critical_key_is_stale(self):
        s = self.stack("""
            cache:
              documents:
                d:
                  keys: ["m.*"]
                  critical: [m.a]
                  fresh: 1s
            """)
        now = time.time_ns()
        s.request("POST", "/write", f"m a=1,b=2 {now}\n")
        doc = json.loads(s.request("GET", "/api/v1/cache/docs/d")[1])
        self.assertTrue(doc["_ready"])
        self.assertEqual(doc["m.a"], 1)
        time.sleep(1.3)
        doc = json.loads(s.request("GET", "/api/v1/cache/docs/d")[1])
        self.assertFalse(doc["_ready"], "older than fresh: not ready")
        s.request("POST", "/write", f"m b=3 {now + 1}\n")
        doc = json.loads(s.request("GET", "/api/v1/cache/docs/d")[1])
        self.assertEqual(doc["m.b"], 3)
        self.assertFalse(doc["_ready"], "m.a is still stale")

    def test_max_keys_refuses_new_keys_not_points(self):
        s = self.stack("""
            cache: {max_keys: 100}
            """)
        now = time.time_ns()
        body = "".join(f"card,k=v{i} x={i} {now}\n" for i in range(500))
        code, out = s.request("POST", "/write", body)
        self.assertEqual(code, 204, out)
        st = json.loads(s.request("GET", "/api/v1/cache/stats")[1])
        self.assertEqual(st["keys"], 100)
        m = s.http("GET", "/metrics")[2].decode()
        self.assertIn("vigil_cache_refused_total 400", m)
        # the store took every point: the cache's limit is the cache's alone
        code, out = s.request("GET", "/api/v1/query/last?q=card")
        self.assertEqual(len(json.loads(out)["series"]), 500)
        # known keys still update
        key = sorted(entries(s, "card,*"))[0]
        tag = key[len("card,"):-len(".x")]
        code, out = s.request("POST", "/write", f"card,{tag} x=-1 {now + 1}\n")
        self.assertEqual(entries(s, key)[key]["value"], -1)


@unittest.skipUnless(REDIS_SERVER, "redis-server is not installed (scripts/deps.sh installs it)")
class MirrorTest(VigilTest):
    def test_mirror_follows_and_catches_up_after_redis_restarts(self):
        port = free_port()
        d = tempfile.mkdtemp(prefix="vigil-mirror-")
        redis = Redis(d).start()
        try:
            s = self.stack(f"""
                feeds:
                  ticks:
                    bind: tcp://127.0.0.1:{port}
                    socket: pull
                cache:
                  redis: redis://127.0.0.1:{redis.port}/0
                  redis_prefix: "t:"
                  redis_timeout: 500ms
                  documents:
                    px:
                      keys: ["ticks,*.price"]
                """)
            rate = 1000 if SANITIZED else 4000
            dur = 6
            pub = subprocess.Popen([FEED, "--connect", f"tcp://127.0.0.1:{port}", "--rate",
                                    str(rate), "--duration", f"{dur}s", "--symbols", "50"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for(lambda: len(redis.hgetall("t:ticks")) == 150, timeout=LONG,
                     what="150 fields in t:ticks")
            ts = redis.hgetall("t:ticks:ts")
            self.assertEqual(len(ts), 150)
            self.assertTrue(redis.command("GET", "t:doc:px"))
            time.sleep(1.0)
            redis.stop(signal.SIGKILL)                         # Redis dies mid-stream...
            t_down = time.monotonic()
            time.sleep(2.0)
            m = s.http("GET", "/metrics")[2].decode()
            self.assertIn("vigil_cache_mirror_up 0", m)
            redis.command = redis.command  # same port below
            redis.start()                                       # ...and comes back empty
            out, err = pub.communicate(timeout=LONG)
            self.assertEqual(pub.returncode, 0, err)
            sent = int([kv for kv in out.split() if kv.startswith("sent=")][0][5:])
            # ingest did not wait for Redis: every message reached the feed and the store
            wait_for(lambda: feed_status(s, "ticks")["messages"] >= sent, timeout=LONG,
                     what="every message on the feed")

            # the mirror catches up with the latest value of every key
            def caught_up():
                mine = entries(s, "ticks,*")
                theirs = redis.hgetall("t:ticks")
                if len(theirs) != len(mine):
                    return None
                for k, e in mine.items():
                    field = k[len("ticks,"):]
                    v = theirs.get(field)
                    if v is None:
                        return None
                    if isinstance(e["value"], float):
                        if float(v) != e["value"]:
                            return None
                    elif str(e["value"]) != v:
                        return None
                return True
            wait_for(caught_up, timeout=LONG, what="Redis to hold the cache's latest values")
            print(f"\nmirror caught up {time.monotonic() - t_down:.1f}s after Redis died")
            st = json.loads(s.request("GET", "/api/v1/cache/stats")[1])
            self.assertTrue(st["mirror"]["connected"])
            self.assertGreaterEqual(st["mirror"]["reconnects"], 1)
            self.assertGreater(st["mirror"]["coalesced"], 0)
            self.assertEqual(st["mirror"]["pending"], 0)
            self.assertIn("vigil_cache_mirror_reconnects_total", s.http("GET", "/metrics")[2].decode())
            # a value changed behind vigil's back is found by the diff
            redis.command("HSET", "t:ticks", "sym=S0001.price", "-1")
            redis.command("HSET", "t:ticks", "sym=ZZZ.price", "1")
            time.sleep(1.1)  # younger values may not have reached Redis: not compared
            code, body = s.request("GET", "/api/v1/cache/diff?match=ticks,*&tolerance=0")
            self.assertEqual(code, 200, body)
            diff = json.loads(body)
            self.assertEqual(diff["differ"], 1, diff)
            self.assertEqual(diff["only_redis"], 1, diff)
            self.assertEqual(diff["differ_keys"], ["ticks,sym=S0001.price"])
        finally:
            redis.stop()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
