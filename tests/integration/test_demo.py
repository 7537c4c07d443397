"""The demo stack of `make run` (examples/demo/vigil.yaml) comes up as documented, and a
live scrape of it is clean for promtool."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.request

from harness import BUILD, LONG, VIGIL, RedisError, UnixHTTPConnection, free_port, resp_command, wait_for
import socket

SOURCE = os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
DEMO = os.path.join(SOURCE, "examples/demo/vigil.yaml")


class DemoTest(unittest.TestCase):
    def test_demo_stack(self):
        d = tempfile.mkdtemp(prefix="vigil-demo-")
        token = os.path.join(d, "token")
        with open(token, "w") as f:
            f.write("demo-token-0123456789abcdef\n")
        os.chmod(token, 0o600)
        port = free_port()
        redis_port = free_port()
        env = dict(os.environ, DEMO_REDIS_PORT=str(redis_port), VIGIL_BUILD=os.path.abspath(BUILD), VIGIL_STATE_DIR=d,
                   DEMO_HTTP_PORT=str(port), DEMO_KRAKEN_PORT=str(free_port()),
                   DEMO_OANDA_PORT=str(free_port()))
        r = subprocess.run([VIGIL, "check", DEMO], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        log = open(os.path.join(d, "vigil.log"), "w")
        p = subprocess.Popen([VIGIL, "up", "-c", DEMO], env=env, cwd=SOURCE, stdout=log,
                             stderr=subprocess.STDOUT)
        try:
            def status():
                try:
                    c = UnixHTTPConnection(os.path.join(d, "vigil.sock"))
                    c.request("GET", "/api/v1/status")
                    return {s["name"]: s for s in json.loads(c.getresponse().read())["services"]}
                except OSError:
                    return None
            want = {"feed-kraken", "feed-oanda", "bridge", "strategy", "reporter", "redis"}
            wait_for(lambda: (lambda st: st and all(st[n]["state"] == "ready" for n in want))(status()),
                     timeout=LONG, what="the demo's pipeline ready")
            st = wait_for(lambda: (lambda st: st if st and st["flaky"]["state"] == "fatal" else None)(status()),
                          timeout=LONG, what="flaky to give up")
            self.assertEqual(st["flaky"]["restarts"], 3)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                body = resp.read()
            for name in sorted(want | {"flaky"}):
                self.assertIn(f'vigil_service_up{{service="{name}"}}'.encode(), body)
            # the history job imports two days of ticks into the store, then exits
            def last_ticks():
                try:
                    with urllib.request.urlopen(urllib.request.Request(
                            f"http://127.0.0.1:{port}/api/v1/query/last?q=tick&field=price",
                            headers={"Authorization": "Bearer demo-token-0123456789abcdef"}),
                            timeout=10) as resp:
                        return json.loads(resp.read())["series"]
                except OSError:
                    return None
            series = wait_for(lambda: (lambda s: s if s and len(s) == 3 else None)(last_ticks()),
                              timeout=LONG, what="the demo history in the store")
            self.assertEqual(sorted(x["tags"]["sym"] for x in series), ["BTC-USD", "ETH-USD", "EUR-USD"])
            self.assertIn(b"vigil_store_values_written_total", body)
            # the latest-value cache: the alias, the document, and the demo's Redis
            def cache_cli(*args):
                return subprocess.run([VIGIL, "-c", DEMO, "cache", *args], env=env, cwd=SOURCE,
                                      capture_output=True, text=True)
            wait_for(lambda: cache_cli("get", "btc").returncode == 0, timeout=LONG,
                     what="btc in the cache")
            doc = wait_for(lambda: (lambda r: json.loads(r.stdout) if r.returncode == 0 else None)(
                cache_cli("doc", "kraken_latest")), timeout=LONG, what="the kraken_latest document")
            self.assertIn("btc", doc)
            self.assertTrue(doc["_kraken_ready"], doc)

            def mirrored():
                try:
                    with socket.create_connection(("127.0.0.1", redis_port), timeout=5) as sk:
                        with sk.makefile("rwb") as f:
                            return resp_command(f, "HGET", "vigil:kraken_ticks", "sym=XBT0001.price")
                except (OSError, RedisError):
                    return None
            wait_for(mirrored, timeout=LONG, what="the cache mirrored to the demo's Redis")
            if shutil.which("promtool"):
                r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
                self.assertEqual((r.returncode, r.stdout + r.stderr), (0, b""))
        finally:
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(60), 0)
            log.close()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
