"""A real Prometheus server on loopback scrapes vigil: it sees vigil_service_up for every
service, and a restart counted after a child is killed."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.parse
import urllib.request

from harness import LONG, VigilTest, free_port, wait_for

PROMETHEUS = shutil.which("prometheus")


def query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.load(r)
    except OSError:
        return None
    return doc["data"]["result"] if doc.get("status") == "success" else None


@unittest.skipUnless(PROMETHEUS, "prometheus is not installed (scripts/deps.sh installs it)")
class PrometheusTest(VigilTest):
    def test_prometheus_scrapes_services_and_restarts(self):
        s = self.stack("""
        services:
          feed:
            cmd: ["@SIM@", --notify]
            ready: {notify: true}
            restart: {delay: 0}
          bot:
            cmd: ["@SIM@"]
            depends_on: [feed]
        """)
        s.wait_state("bot", "ready", timeout=LONG)
        d = tempfile.mkdtemp(prefix="vigil-prom-")
        port = free_port()
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: vigil
    static_configs: [{{targets: ["127.0.0.1:{s.http_port}"]}}]
""")
        log = open(os.path.join(d, "prometheus.log"), "w")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={d}/prometheus.yml",
                                 f"--storage.tsdb.path={d}/data", f"--web.listen-address=127.0.0.1:{port}",
                                 "--web.enable-lifecycle"], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            up = wait_for(lambda: (lambda r: r if r and len(r) == 2 else None)(query(port, "vigil_service_up")),
                          timeout=60, interval=0.5, what="vigil_service_up in Prometheus")
            self.assertEqual(sorted((x["metric"]["service"], x["value"][1]) for x in up),
                             [("bot", "1"), ("feed", "1")])
            self.assertEqual(query(port, 'up{job="vigil"}')[0]["value"][1], "1")
            pid = s.service("feed")["pid"]
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: (lambda r: r and r[0]["value"][1] == "1")(
                query(port, 'vigil_service_restarts_total{service="feed"}')),
                timeout=60, interval=0.5, what="the restart seen by Prometheus")
        finally:
            os.killpg(prom.pid, signal.SIGTERM)
            try:
                prom.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(prom.pid, signal.SIGKILL)
                prom.wait()
            log.close()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
