"""A real Prometheus server on loopback scrapes vigil: it sees vigil_service_up for every
service, and a restart counted after a child is killed."""
import os
import shutil
import signal
import tempfile
import unittest

from harness import LONG, PROMETHEUS, Prometheus, VigilTest, wait_for


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
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: vigil
    static_configs: [{{targets: ["127.0.0.1:{s.http_port}"]}}]
""")
        try:
            with Prometheus(os.path.join(d, "prometheus.yml"), d) as prom:
                up = wait_for(lambda: (lambda r: r if r and len(r) == 2 else None)(
                    prom.query("vigil_service_up")), timeout=60, interval=0.5,
                    what="vigil_service_up in Prometheus")
                self.assertEqual(sorted((x["metric"]["service"], x["value"][1]) for x in up),
                                 [("bot", "1"), ("feed", "1")])
                self.assertEqual(prom.query('up{job="vigil"}')[0]["value"][1], "1")
                os.kill(s.service("feed")["pid"], signal.SIGKILL)
                wait_for(lambda: (lambda r: r and r[0]["value"][1] == "1")(
                    prom.query('vigil_service_restarts_total{service="feed"}')),
                    timeout=60, interval=0.5, what="the restart seen by Prometheus")
        finally:
            shutil.rmtree(d, ignore_errors=True)

if __name__ == "__main__":
    unittest.main()
