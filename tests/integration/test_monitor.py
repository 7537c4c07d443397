"""The monitor end to end: a real `vigil up` whose feed takes ticks from a real
vigil-feed, so every key the monitor checks came vigil-feed → feed → cache (and the
store), with the cache mirrored into a real redis-server.

- a key going stale fires a warning, then the same alert turns critical, and it is
  resolved when data resumes; missing keys are listed; a non-numeric critical key makes
  the health critical (and /readyz 503);
- divergence is found when the test changes Redis behind vigil's back (while the store
  agrees with the cache); Redis stopped is a lost cache backend: critical, until it is back;
- a producer whose data goes stale is restarted at most once per cooldown and given up
  after max_restarts, visibly (health, metrics, an alert, the service's restarts);
- a test HTTP receiver gets the webhook's JSON, an exec hook its stdin, and a real
  Alertmanager receives the alert and resolves it (its own webhook tells us);
- alerts survive a restart of vigil.
"""
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import (FEED, LONG, REDIS_SERVER, SANITIZED, Redis, Stack, VigilTest, free_port,
                     run_feed, wait_for)

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
SLOW = 3 if SANITIZED else 1


class Receiver:
    """An HTTP server on a free port that keeps every POSTed JSON body by path."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self, path):
        with self.lock:
            return [b for p, b in self.posts if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MonitorTest(VigilTest):
    def setUp(self):
        super().setUp()
        if not REDIS_SERVER:
            self.skipTest("redis-server is not installed")
        self.tmp = tempfile.mkdtemp(prefix="vigil-mon-")
        self.redis = Redis(self.tmp).start()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.redis.stop)

    def monitored(self, checks, extra="", services="", monitor_extra=""):
        """A stack with one pull feed, the cache mirrored into Redis, and the checks."""
        self.port = free_port()
        return self.stack(f"""
            {services}
            feeds:
              ticks: {{bind: 'tcp://127.0.0.1:{self.port}', socket: pull, expect: {{seq_field: seq, seq_key: sym}}}}
            cache:
              redis: redis://127.0.0.1:{self.redis.port}
            monitor:
              interval: 200ms
              {monitor_extra}
              checks:
            {checks}
            {extra}
            """)

    def feed(self, *args):
        return run_feed("--connect", f"tcp://127.0.0.1:{self.port}", *args)

    def health(self, s, now=False):
        code, body = s.request("GET", "/api/v1/health" + ("?evaluate=1" if now else ""))
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def alerts(self, s, q=""):
        code, body = s.request("GET", "/api/v1/alerts" + q)
        self.assertEqual(code, 200, body)
        return json.loads(body)["alerts"]

    def alert(self, s, check, key, q=""):
        for a in self.alerts(s, q):
            if a["check"] == check and a["key"] == key:
                return a
        return None

    def test_stale_warning_then_critical_then_resolved_and_missing_keys(self):
        s = self.monitored("""
                fresh: {stale: 'ticks,sym=S0001.*', warn: 1s, critical: 3s}
                expected: {expect: ['ticks,sym=S0001.price', 'ticks,sym=S0002.price', 'ticks,sym=S0009.price', nokey]}
                acb: {critical: ['ticks,sym=S0001.price']}
            """)
        sent = self.feed("--rate", "200", "--count", "100", "--symbols", "2")
        self.assertEqual(sent["sent"], 100)
        key = "ticks,sym=S0001.price"
        # data arrived through the feed into the cache: the expected keys are present
        h = wait_for(lambda: (lambda h: h if h["counts"]["present"] >= 3 else None)(self.health(s)),
                     timeout=LONG, what="the fed keys present")
        self.assertEqual(h["counts"]["expected"], 5)
        self.assertEqual(h["counts"]["missing"], 2)
        missing = sorted(r["key"] for r in h["reasons"] if r["category"] == "missing")
        self.assertEqual(missing, ["nokey", "ticks,sym=S0009.price"])
        self.assertEqual(h["status"], "healthy")  # document 001: 2 missing is not > 10
        # stale: a warning first
        a = wait_for(lambda: self.alert(s, "fresh", key), timeout=LONG, what="staleness alert")
        self.assertEqual((a["severity"], a["state"], a["category"]), ("warning", "firing", "staleness"))
        self.assertGreater(a["details"]["staleness_seconds"], 1.0)
        first_id, started = a["id"], a["started_at"]
        # then the same alert turns critical
        a = wait_for(lambda: (lambda a: a if a and a["severity"] == "critical" else None)(
            self.alert(s, "fresh", key)), timeout=LONG, what="staleness alert turning critical")
        self.assertEqual((a["id"], a["started_at"], a["state"]), (first_id, started, "firing"))
        self.assertGreater(a["details"]["staleness_seconds"], 3.0)
        r = s.cli("alerts", "--severity", "critical", check=0)
        self.assertIn(key, r.stdout)
        r = s.cli("alerts", "--json", "--severity", "warning", check=0)
        self.assertNotIn("\"fresh\"", r.stdout)
        # metrics
        code, metrics = s.request("GET", "/metrics")
        self.assertIn('vigil_alerts_firing{severity="critical",check="fresh"} 3', metrics.decode())
        self.assertIn("vigil_monitor_evaluations_total", metrics.decode())
        # data resumes: resolved, with an end
        self.feed("--rate", "200", "--count", "20", "--symbols", "2")
        a = wait_for(lambda: (lambda a: a if a and a["state"] == "resolved" else None)(
            self.alert(s, "fresh", key, "?all=1")), timeout=LONG, what="staleness alert resolved")
        self.assertEqual(a["id"], first_id)
        self.assertIsNotNone(a["ended_at"])
        self.assertIsNone(self.alert(s, "fresh", key))

    def test_critical_key_not_numeric_makes_health_critical_and_not_ready(self):
        s = self.monitored("""
                acb: {critical: ['ticks,sym=S0001.note', 'ticks,sym=S0001.price']}
            """)
        self.feed("--rate", "0", "--count", "4", "--symbols", "2", "--note-bytes", "3")
        # critical from the start (nothing there yet); wait for the fed keys to be in
        h = wait_for(lambda: (lambda h: h if h["counts"]["present"] == 1 else None)(self.health(s)),
                     timeout=LONG, what="the numeric key present")
        self.assertEqual(h["status"], "critical")
        self.assertEqual(h["counts"]["missing_critical"], 1)
        self.assertEqual(h["counts"]["present"], 1)
        why = [r for r in h["reasons"] if r["category"] == "missing_critical"]
        self.assertEqual(len(why), 1)
        self.assertIn("ticks,sym=S0001.note is not numeric (string)", why[0]["message"])
        code, body = s.request("GET", "/readyz")
        self.assertEqual(code, 503, body)
        ready = json.loads(body)
        self.assertEqual(ready["health"], "critical")
        self.assertTrue(any("not numeric" in r for r in ready["reasons"]))
        r = s.cli("health")
        self.assertEqual(r.returncode, 1)
        self.assertIn("critical", r.stdout)
        self.assertIn("not numeric", r.stdout)
        code, metrics = s.request("GET", "/metrics")
        self.assertIn("vigil_health_status 2", metrics.decode())
        # the history ring says what it was
        self.assertEqual(h["history"][0]["status"], "critical")

    def test_lost_cache_backend_is_critical_until_redis_is_back(self):
        s = self.monitored("""
                exp: {expect: ['ticks,sym=S0001.price']}
            """)
        self.feed("--rate", "0", "--count", "3", "--symbols", "1")
        wait_for(lambda: self.redis.command("HLEN", "vigil:ticks") == 3, timeout=LONG, what="the mirror")
        self.assertEqual(self.health(s, now=True)["status"], "healthy")
        self.redis.stop()
        self.feed("--rate", "0", "--count", "3", "--symbols", "1")  # the mirror finds Redis gone
        h = wait_for(lambda: (lambda h: h if h["status"] == "critical" else None)(self.health(s)),
                     timeout=LONG, what="health critical without Redis")
        why = [r for r in h["reasons"] if r["category"] == "connectivity"]
        self.assertEqual([(r["check"], r["key"], r["severity"]) for r in why],
                         [("cache_backend", "redis", "critical")])
        code, _ = s.request("GET", "/readyz")
        self.assertEqual(code, 503)
        self.redis.start()
        self.feed("--rate", "0", "--count", "3", "--symbols", "1")
        wait_for(lambda: (lambda h: h if h["status"] == "healthy" else None)(self.health(s)),
                 timeout=LONG, what="healthy again with Redis back")
        a = self.alert(s, "cache_backend", "redis", "?all=1")
        self.assertEqual((a["state"], a["category"]), ("resolved", "connectivity"))

    def test_divergence_when_redis_is_changed_behind_vigils_back(self):
        s = self.monitored("""
                mirror: {divergence: redis, keys: 'ticks,*', allow: 0}
                disk: {divergence: store, keys: 'ticks,*', allow: 0}
            """)
        self.feed("--rate", "0", "--count", "30", "--symbols", "3")
        # the mirror caught up and nothing diverges: no alerts after a fresh evaluation
        wait_for(lambda: self.redis.command("HLEN", "vigil:ticks") == 9, timeout=LONG,
                 what="the mirror to write 9 fields")
        time.sleep(2.5)  # past the store check's in-flight grace
        h = self.health(s, now=True)
        self.assertEqual([r for r in h["reasons"] if r["category"] == "divergence"], [], h)
        # behind vigil's back: one value changed, one field removed, one field added
        self.redis.command("HSET", "vigil:ticks", "sym=S0001.price", "123456.5")
        self.redis.command("HDEL", "vigil:ticks", "sym=S0002.size")
        self.redis.command("HSET", "vigil:ticks", "sym=ZZZ.price", "1")
        a = wait_for(lambda: self.alert(s, "mirror", "redis"), timeout=LONG, what="divergence alert")
        self.assertEqual(a["category"], "divergence")
        d = a["details"]
        self.assertEqual((d["only_cache"], d["only_redis"], d["differ"]), (1, 1, 1), a)
        self.assertEqual(d["differ_keys"], ["ticks,sym=S0001.price"])
        self.assertEqual(d["only_cache_keys"], ["ticks,sym=S0002.size"])
        self.assertEqual(len(d["only_redis_keys"]), 1)
        self.assertIn("ZZZ", d["only_redis_keys"][0])
        # the store agrees with the cache all along
        self.assertIsNone(self.alert(s, "disk", "store", "?all=1"))
        # new data rewrites what was changed; the stray field stays: 1 key, still above allow 0
        self.redis.command("HDEL", "vigil:ticks", "sym=ZZZ.price")
        self.feed("--rate", "0", "--count", "30", "--symbols", "3")
        a = wait_for(lambda: (lambda a: a if a and a["state"] == "resolved" else None)(
            self.alert(s, "mirror", "redis", "?all=1")), timeout=LONG, what="divergence resolved")

    def test_stale_producer_restarted_once_per_cooldown_then_given_up(self):
        marker = os.path.join(self.tmp, "produced")
        port = free_port()
        # the producer publishes for a moment on its first run only, then idles: its data
        # goes stale and restarts do not bring it back
        script = (f"if [ ! -e {marker} ]; then touch {marker}; "
                  f"{FEED} --connect tcp://127.0.0.1:{port} --rate 100 --count 20 --symbols 2 --quiet; fi; "
                  "exec sleep 1000")
        self.port = port
        s = self.stack(f"""
            services:
              producer:
                cmd: [/bin/sh, -c, "{script}"]
                restart: {{policy: always}}
            feeds:
              ticks: {{bind: 'tcp://127.0.0.1:{port}', socket: pull}}
            cache:
              redis: redis://127.0.0.1:{self.redis.port}
            monitor:
              interval: 100ms
              checks:
                fresh: {{stale: 'ticks,*', warn: 500ms, critical: 1s, restart: producer, cooldown: {2 * SLOW}s, max_restarts: 3}}
            """)
        wait_for(lambda: os.path.exists(marker), timeout=LONG, what="the producer's first run")
        gave_up = wait_for(lambda: (lambda h: h if h["restarts"][0]["gave_up"] else None)(self.health(s)),
                           timeout=LONG * 2, what="the monitor to give up")
        self.assertEqual(gave_up["restarts"][0]["restarts"], 3)
        restarts = [e for e in s.events() if e.get("msg") == "stale data: restarting its producer"]
        self.assertEqual([e["attempt"] for e in restarts], [1, 2, 3])
        times = [time.mktime(time.strptime(e["ts"][:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + e["ts"][20:23])
                 for e in restarts]
        for a, b in zip(times, times[1:]):
            self.assertGreaterEqual(b - a, 2 * SLOW - 0.05, times)  # at most once per cooldown
        self.assertEqual(len([e for e in s.events() if e.get("msg") == "stale data: gave up restarting its producer"]), 1)
        # no fourth restart, however long it stays stale
        time.sleep(3 * SLOW)
        self.assertEqual(len([e for e in s.events() if e.get("msg") == "stale data: restarting its producer"]), 3)
        # visible: the service's restarts, a metric, an alert
        started = [e for e in s.events() if e.get("msg") == "service started" and e.get("service") == "producer"]
        self.assertEqual(len(started), 4)  # its first run and three restarts
        self.assertEqual(s.service("producer")["last_exit"]["signal"], "TERM")
        code, metrics = s.request("GET", "/metrics")
        m = metrics.decode()
        self.assertIn('vigil_monitor_restarts_total{check="fresh",service="producer"} 3', m)
        self.assertIn('vigil_monitor_restarts_exhausted{check="fresh",service="producer"} 1', m)
        a = wait_for(lambda: (lambda a: a if a and a["severity"] == "critical" else None)(
            self.alert(s, "fresh", "restart:producer")), timeout=LONG, what="the gave-up alert")
        self.assertIn("gave up restarting producer after 3 attempts", a["message"])

    def test_webhook_exec_and_alertmanager(self):
        if not ALERTMANAGER:
            self.skipTest("prometheus-alertmanager is not installed")
        rcv = Receiver()
        self.addCleanup(rcv.close)
        am_port = free_port()
        am_dir = os.path.join(self.tmp, "am")
        os.makedirs(am_dir)
        with open(os.path.join(am_dir, "am.yml"), "w") as f:
            f.write(f"""
route:
  receiver: hook
  group_by: [check, key]
  group_wait: 100ms
  group_interval: 200ms
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{rcv.port}/from-am
        send_resolved: true
""")
        am = subprocess.Popen([ALERTMANAGER, f"--config.file={am_dir}/am.yml", f"--storage.path={am_dir}",
                               f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                               "--log.level=warn"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)

        def stop_am():
            if am.poll() is None:
                os.killpg(am.pid, signal.SIGTERM)
                am.wait(10)
        self.addCleanup(stop_am)

        def am_alerts():
            with urllib.request.urlopen(f"http://127.0.0.1:{am_port}/api/v2/alerts", timeout=5) as r:
                return json.loads(r.read())

        def am_up():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{am_port}/-/ready", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(am_up, timeout=LONG, what="alertmanager ready")
        hook_out = os.path.join(self.tmp, "hook.json")
        s = self.monitored(
            """
                fresh: {stale: 'ticks,sym=S0001.price', warn: 1s}
            """,
            extra=f"""
            """,
            monitor_extra=f"""notifiers:
                hook: {{webhook: 'http://127.0.0.1:{rcv.port}/hook', rate: 20/s, min_severity: warning}}
                am: {{alertmanager: 'http://127.0.0.1:{am_port}', rate: 20/s}}
                script: {{exec: [/bin/sh, -c, 'cat >> {hook_out}'], rate: 20/s}}
              """)
        self.feed("--rate", "100", "--count", "20", "--symbols", "1")
        # the webhook: one JSON document with the firing alert
        body = wait_for(lambda: next((b for b in rcv.bodies("/hook")
                                      if any(a["state"] == "firing" for a in b["alerts"])), None),
                        timeout=LONG, what="the webhook's firing payload")
        a = body["alerts"][0]
        self.assertEqual((a["check"], a["key"], a["severity"], a["category"]),
                         ("fresh", "ticks,sym=S0001.price", "warning", "staleness"))
        self.assertEqual(body["source"], "vigil")
        # the real Alertmanager has it, active, with our labels
        got = wait_for(lambda: [x for x in am_alerts() if x["labels"].get("check") == "fresh"] or None,
                       timeout=LONG, what="the alert in Alertmanager")
        self.assertEqual(got[0]["labels"]["key"], "ticks,sym=S0001.price")
        self.assertEqual(got[0]["labels"]["severity"], "warning")
        self.assertEqual(got[0]["status"]["state"], "active")
        # and it notifies its own receiver
        wait_for(lambda: any(b["status"] == "firing" for b in rcv.bodies("/from-am")), timeout=LONG,
                 what="Alertmanager's notification")
        # the exec hook got the same document on its stdin
        def hook_got():
            if not os.path.exists(hook_out):
                return False
            with open(hook_out) as f:
                return "ticks,sym=S0001.price" in f.read()
        wait_for(hook_got,
                 timeout=LONG, what="the exec hook's input")
        # data resumes: resolved everywhere
        self.feed("--rate", "100", "--count", "5", "--symbols", "1")
        wait_for(lambda: any(a["state"] == "resolved" for b in rcv.bodies("/hook") for a in b["alerts"]),
                 timeout=LONG, what="the webhook's resolved payload")
        wait_for(lambda: not [x for x in am_alerts() if x["labels"].get("check") == "fresh"
                              and x["status"]["state"] == "active"], timeout=LONG,
                 what="Alertmanager to see it resolved")
        wait_for(lambda: any(b["status"] == "resolved" for b in rcv.bodies("/from-am")), timeout=LONG,
                 what="Alertmanager's resolved notification")
        code, metrics = s.request("GET", "/metrics")
        m = metrics.decode()
        self.assertRegex(m, r'vigil_notifier_sends_total\{notifier="am",kind="alertmanager"\} [1-9]')
        self.assertRegex(m, r'vigil_notifier_sends_total\{notifier="hook",kind="webhook"\} [1-9]')
        self.assertIn('vigil_notifier_failures_total{notifier="hook",kind="webhook"} 0', m)

    def test_webhook_rate_limited_batches_and_flushed_at_shutdown(self):
        rcv = Receiver()
        self.addCleanup(rcv.close)
        s = self.monitored(
            """
                fresh: {stale: 'ticks,*', warn: 1s}
            """,
            monitor_extra=f"""notifiers:
                hook: {{webhook: 'http://127.0.0.1:{rcv.port}/hook', rate: 1/m}}
              """)
        self.feed("--rate", "0", "--count", "10", "--symbols", "5")  # 15 keys
        first = wait_for(lambda: rcv.bodies("/hook"), timeout=LONG, what="the first POST")[0]
        # the keys go stale within an evaluation or two: what fired later waits, as the
        # rate allows one request a minute
        self.assertTrue(first["alerts"])
        wait_for(lambda: len(self.alerts(s)) == 15 or None, timeout=LONG, what="15 alerts firing")
        time.sleep(1)
        self.assertEqual(len(rcv.bodies("/hook")), 1)
        # resolutions wait for the rate...
        self.feed("--rate", "0", "--count", "10", "--symbols", "5")
        wait_for(lambda: all(a["state"] == "resolved" for a in self.alerts(s, "?all=1")) or None,
                 timeout=LONG, what="every alert resolved")
        time.sleep(1)
        self.assertEqual(len(rcv.bodies("/hook")), 1)
        # ...and are sent when vigil stops, in one last request
        self.assertEqual(s.stop(), 0)
        bodies = rcv.bodies("/hook")
        self.assertEqual(len(bodies), 2)
        fired = {a["key"] for b in bodies for a in b["alerts"] if a["state"] == "firing"}
        resolved = {a["key"] for a in bodies[1]["alerts"] if a["state"] == "resolved"}
        self.assertEqual((len(fired), len(resolved)), (15, 15))

    def test_webhook_retried_then_counted_as_failed(self):
        dead = free_port()  # nothing listens
        s = self.monitored(
            """
                exp: {expect: [nokey]}
            """,
            monitor_extra=f"""notifiers:
                hook: {{webhook: 'http://127.0.0.1:{dead}/hook', retries: 2, backoff: 100ms, timeout: 1s}}
              """)
        self.feed("--rate", "0", "--count", "3", "--symbols", "1")

        def failed():
            code, metrics = s.request("GET", "/metrics")
            m = metrics.decode()
            return m if 'vigil_notifier_failures_total{notifier="hook",kind="webhook"} 1' in m else None
        m = wait_for(failed, timeout=LONG, what="the webhook counted as failed")
        self.assertIn('vigil_notifier_retries_total{notifier="hook",kind="webhook"} 2', m)

    def test_alerts_survive_a_restart(self):
        s = self.monitored("""
                fresh: {stale: 'ticks,*', warn: 500ms}
                exp: {expect: [nokey]}
            """)
        self.feed("--rate", "0", "--count", "3", "--symbols", "1")
        wait_for(lambda: self.alert(s, "fresh", "ticks,sym=S0001.price"), timeout=LONG, what="stale alert")
        self.feed("--rate", "0", "--count", "3", "--symbols", "1")
        wait_for(lambda: self.alert(s, "fresh", "ticks,sym=S0001.price", "?all=1")["state"] == "resolved"
                 or None, timeout=LONG, what="resolved")
        before = self.alerts(s, "?all=1")
        self.assertTrue(any(a["state"] == "firing" and a["key"] == "nokey" for a in before))
        self.assertEqual(s.stop(), 0)
        self.assertTrue(os.path.exists(os.path.join(s.state_dir, "monitor", "alerts")))
        s.start()
        after = self.alerts(s, "?all=1")
        key = lambda a: (a["id"], a["check"], a["key"], a["state"], a["started_at"], a["ended_at"])
        # every alert from before is back as it was (the keys may have gone stale again
        # since, which adds alerts: those are new ones, with new ids)
        self.assertLessEqual(set(map(key, before)), set(map(key, after)))
        last = max(int(a["id"]) for a in before)
        for a in after:
            if key(a) not in set(map(key, before)):
                self.assertGreater(int(a["id"]), last, a)
        r = s.cli("alerts", "--all", check=0)
        self.assertIn("resolved", r.stdout)
        self.assertIn("nokey", r.stdout)

    def test_example_exf_runs_healthy(self):
        """examples/exf as `make run-exf` runs it: the 28 indicators of document 001 published
        by vigil-feed, cached, mirrored into Redis, and healthy under document 001's monitor."""
        src = os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
        with open(os.path.join(src, "examples", "exf", "vigil.yaml")) as f:
            text = f.read()
        build = os.path.dirname(FEED)
        env = {"VIGIL_BUILD": build, "EXF_FEED_PORT": str(free_port()), "EXF_HTTP_PORT": str(free_port()),
               "EXF_REDIS": f"redis://127.0.0.1:{self.redis.port}/0"}
        s = Stack(text, env=env)
        s.env["VIGIL_STATE_DIR"] = s.state_dir
        self.stacks.append(s)
        s.start()
        s.wait_state("publisher", "ready", timeout=LONG)

        def healthy():
            h = self.health(s, now=True)
            # the feed's rate needs a second of data before it reads right
            return h if h["status"] == "healthy" and h["counts"]["present"] == 37 and not h["reasons"] else None
        h = wait_for(healthy, timeout=LONG, what="the example healthy with every indicator, no reason")
        self.assertEqual(h["counts"]["expected"], 37)  # 28 expected + 9 critical
        self.assertEqual(h["reasons"], [])
        code, body = s.request("GET", "/api/v1/cache/docs/exf_latest")
        self.assertEqual(code, 200, body)
        doc = json.loads(body)
        self.assertIs(doc["_acb_ready"], True)
        self.assertIsInstance(doc["funding_btc"], float)
        wait_for(lambda: self.redis.command("HLEN", "vigil:exf") == 84, timeout=LONG,
                 what="the mirror to hold the 28 indicators' 3 fields")

