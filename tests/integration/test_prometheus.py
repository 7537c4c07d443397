"""A real Prometheus server on loopback scrapes vigil: it sees vigil_service_up for every
service, and a restart counted after a child is killed; and, scraping a vigil that runs
every module (services, a feed, the store, the InfluxDB sink to a real InfluxDB, compute),
every query of the exported dashboard returns data and every exported rule evaluates."""
import json
import os
import shutil
import signal
import tempfile
import unittest

import test_export as ex
from harness import INFLUXD, LONG, PROMETHEUS, InfluxDB, Prometheus, VigilTest, wait_for


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

    @unittest.skipUnless(INFLUXD, "influxd is not installed (scripts/deps.sh installs it)")
    def test_every_panel_and_rule_on_a_full_stack(self):
        d = tempfile.mkdtemp(prefix="vigil-prom-full-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        influx = InfluxDB(d).start()
        self.addCleanup(influx.stop)
        s = ex.full_stack(self, influx.url)
        s.wait_state("pub", "ready", timeout=LONG)
        rules = os.path.join(d, "vigil-rules.yml")
        ex.vigil("export", "prometheus-rules", "--out", rules, check=0)
        job = s.cli("export", "prometheus-scrape", check=0).stdout
        job = job.replace("scrape_interval: 15s", "scrape_interval: 1s")
        prom_yml = os.path.join(d, "prometheus.yml")
        with open(prom_yml, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    f"rule_files: [{json.dumps(rules)}]\nscrape_configs:\n{job}")
        with Prometheus(prom_yml, d) as prom:
            # the modules are at work: points reach InfluxDB, a compute run has finished
            for expr in ('vigil_sink_points_sent_total{sink="influx"} > 0',
                         'vigil_feed_points_total{feed="ticks"} > 0',
                         'vigil_store_values_written_total > 0',
                         'vigil_compute_runs_total > 0',
                         'vigil_compute_breaker_trips_total{calc="broken"} == 1',
                         'vigil_compute_last_run_cells{state="dead"} > 0',
                         'vigil_feed_missed_messages_total > 0'):
                wait_for(lambda: prom.query(expr), timeout=LONG, interval=0.5, what=expr)

            missing = {}

            def every_panel_has_data():
                missing.clear()
                for expr in ex.dashboard_promql():
                    if not prom.query(expr):
                        missing[expr] = prom.api("query", query=expr)
                return not missing
            try:
                wait_for(every_panel_has_data, timeout=LONG, interval=1, what="data in every panel")
            except AssertionError:
                self.fail("dashboard queries without data:\n" + "\n".join(
                    f"{e}: {r}" for e, r in missing.items()))

            # every rule is valid PromQL that Prometheus evaluates, on this stack's series
            for expr in ex.listed("prometheus-rules", "exprs"):
                with self.subTest(expr=expr):
                    self.assertIsNotNone(prom.api("query", query=expr))

            def rules_evaluated():
                data = prom.api("rules")
                groups = [g for g in (data or {}).get("groups", []) if g["name"] == "vigil"]
                return (groups and all(r["health"] == "ok" and r.get("lastEvaluation", "").startswith("2")
                                       for r in groups[0]["rules"]) and groups[0])
            group = wait_for(rules_evaluated, timeout=60, interval=0.5, what="the rules evaluated")
            self.assertEqual(len(group["rules"]), len(ex.ALERTS))

            def alerts():
                data = prom.api("alerts") or {"alerts": []}
                return {(a["labels"]["alertname"], a["state"]) for a in data["alerts"]}
            # the faults the stack was built with fire their alerts, and only those
            for alert, state in (("VigilFeedGaps", "firing"), ("VigilFeedRefusing", "firing"),
                                 ("VigilComputeDeadCells", "firing"),
                                 ("VigilFeedBelowExpectedRate", "pending")):
                wait_for(lambda: (alert, state) in alerts(), timeout=60, interval=0.5,
                         what=f"{alert} {state}")
            names = {a for a, _ in alerts()}
            for quiet in ("VigilAbsent", "VigilFeedSilent", "VigilSinkDown",
                          "VigilSinkDroppingPoints", "VigilSinkRejectedBatches",
                          "VigilStoreRefusingValues", "VigilStoreCorruptBlocks",
                          "VigilComputeRunOverdue"):
                self.assertNotIn(quiet, names)


if __name__ == "__main__":
    unittest.main()
