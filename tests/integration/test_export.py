"""vigil export: the Grafana dashboard and its provisioning files, the Prometheus alert
rules and scrape job — checked by promtool where it is installed — and, against a running
vigil, that every metric they use is in a real /metrics scrape."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import textwrap
import unittest
import urllib.request

from harness import FEED, LONG, PROMETHEUS, VIGIL, Prometheus, VigilTest, free_port, wait_for

PROMTOOL = shutil.which("promtool")
EXPORTS = ["grafana", "prometheus-rules", "prometheus-scrape", "metrics"]
# Sample names Prometheus adds to every target itself; never in vigil's /metrics.
SYNTHETIC = {"up"}
# Grafana's variables, replaced by values that make the dashboard's queries plain PromQL.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "1h", "$service": ".*"}


def vigil(*args, check=None):
    r = subprocess.run([VIGIL, *args], capture_output=True, text=True, timeout=30)
    if check is not None:
        assert r.returncode == check, (args, r.returncode, r.stdout, r.stderr)
    return r


def promtool(*args):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


def panels(dashboard):
    """The dashboard's panels that query something (rows only group them)."""
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def listed(export, what):
    return vigil("export", export, f"--list-{what}", check=0).stdout.splitlines()




def rule_count():
    return len(listed("prometheus-rules", "exprs"))


ALERTS = ("VigilAbsent", "VigilServiceDown", "VigilServiceFatal", "VigilServiceRestartingOften",
          "VigilStackNotReady", "VigilFeedSilent", "VigilFeedBelowExpectedRate", "VigilFeedGaps",
          "VigilFeedRefusing", "VigilBridgeScanGaps", "VigilBridgeDataStale", "VigilBridgeQuarantining",
          "VigilStoreFlushLagging", "VigilStoreRefusingValues",
          "VigilStoreCorruptBlocks", "VigilSinkDown", "VigilSinkDroppingPoints",
          "VigilSinkRejectedBatches", "VigilSinkSpoolNotDraining", "VigilComputeBreakerTripped",
          "VigilComputeDeadCells", "VigilComputeRunOverdue", "VigilDataHealthCritical",
          "VigilMonitorStalled", "VigilNotifierFailing", "VigilFailoverNoActive",
          "VigilFailoverSeveralActive", "VigilFailoverHappened", "VigilFailoverLeaseErrors")


def families():
    """`vigil export metrics`: {name: (type, labels, help)}, every family vigil can expose."""
    out = {}
    for line in vigil("export", "metrics", check=0).stdout.splitlines():
        name, type_, labels, help_ = line.split("\t")
        out[name] = (type_, labels, help_)
    return out


def scraped_families(exposition):
    """{name: (type, help)} from the # TYPE and # HELP lines of a text-format scrape."""
    types, helps = {}, {}
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            name, type_ = line[7:].split(" ", 1)
            types[name] = type_
        elif line.startswith("# HELP "):
            name, help_ = line[7:].split(" ", 1)
            helps[name] = help_
    return {n: (t, helps.get(n, "")) for n, t in types.items()}


def full_stack(test, influx_url):
    """`vigil up` with every module that has metrics, as the demo runs them: services (one
    with a watchdog, one that exits and is given up on), a feed fed by vigil-feed with
    sequence gaps and malformed messages and an expect.rate it cannot meet, the store, the
    InfluxDB sink at influx_url, compute on a schedule with a calculation that always
    fails (its cells die and its circuit breaker trips), the monitor with a notifier, a
    scan bridge, and failover on a lease store that does not answer (the node stays a
    standby; its families are registered)."""
    fport = free_port()
    return test.stack(f"""
        failover: {{node: n1, lease: {{redis: "127.0.0.1:{free_port()}"}}, ttl: 2s}}
        services:
          sim:
            cmd: ["@SIM@", --notify, --ready-after, 100ms, --watchdog, 200ms]
            ready: {{notify: true}}
            watchdog: 1s
          pub:
            cmd: ["{FEED}", --connect, "tcp://127.0.0.1:{fport}", --rate, "200", --symbols, "3",
                  --gap-every, "50", --bad-every, "40", --quiet]
            depends_on: [sim]
          flaky:
            cmd: ["@SIM@", --exit-after, 300ms]
            restart: {{delay: 200ms, max_restarts: 0}}
        feeds:
          ticks:
            bind: tcp://127.0.0.1:{fport}
            socket: pull
            expect: {{rate: 100000/s, seq_field: seq}}
        sinks:
          influx: {{url: "{influx_url}", db: tick, create_database: true, flush: 100ms, timeout: 2s}}
        bridges:
          scans: {{dir: ./scans, key: asset, scan: scan, document: latest_scan}}
        compute:
          calendar: {{start: 2026-01-01, end: 2026-01-03}}
          schedule: every 1s
          breaker: {{min_attempts: 2, ratio: 0.1}}
          calcs:
            prices: {{cmd: [sh, -c, 'echo $1 > $0/p', '{{out}}', '{{date}}']}}
            broken: {{cmd: [sh, -c, 'exit 1'], retries: 0}}
        monitor:
          interval: 200ms
          checks:
            fresh: {{stale: 'ticks,*', warn: 1s, restart: pub, critical: 1h}}
            absent: {{expect: [nokey]}}
          notifiers:
            hook: {{webhook: "{influx_url}/monitor-hook", retries: 0}}
        """)


def dashboard_promql():
    """The dashboard's queries with Grafana's variables given values."""
    out = []
    for e in listed("grafana", "exprs"):
        for var, value in GRAFANA_VARS.items():
            e = e.replace(var, value)
        out.append(e)
    return out


def sample_names(exposition):
    names = set()
    for line in exposition.splitlines():
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if m and not line.startswith("#"):
            names.add(m.group(1))
    return names


class ExportTest(VigilTest):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="vigil-export-")

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(textwrap.dedent(text))
        return self.path(name)

    def grafana(self, *args):
        out = self.path("grafana")
        vigil("export", "grafana", "--out", out, *args, check=0)
        with open(os.path.join(out, "dashboards", "vigil-system-health.json")) as f:
            dash = json.load(f)
        with open(os.path.join(out, "provisioning", "datasources", "vigil.yaml")) as f:
            ds = f.read()
        with open(os.path.join(out, "provisioning", "dashboards", "vigil.yaml")) as f:
            prov = f.read()
        return out, dash, ds, prov

    def test_help_and_usage_errors(self):
        r = vigil("export", "--help", check=0)
        self.assertIn("usage: vigil export", r.stdout)
        for name in EXPORTS:
            self.assertIn(name, r.stdout)
            sub = vigil("export", name, "--help", check=0)
            self.assertIn(f"usage: vigil export {name}", sub.stdout)
        self.assertIn("export", vigil("--help", check=0).stdout)
        for args in (["export"], ["export", "grafna"], ["export", "grafana"],
                     ["export", "grafana", "--out", self.dir, "--datasource-uid", "no spaces"],
                     ["export", "grafana", "--out", self.dir, "--prometheus-url", "prom:9090"],
                     ["export", "prometheus-rules", "--bogus"],
                     ["export", "prometheus-rules", "stray"],
                     ["export", "prometheus-scrape", "--target", "127.0.0.1"],
                     ["export", "prometheus-scrape", "-c", self.path("missing.yaml")]):
            with self.subTest(args=args):
                self.assertEqual(vigil(*args).returncode, 2)
        self.assertIn("did you mean 'grafana'", vigil("export", "grafna").stderr)

    def test_write_failures_exit_1(self):
        blocker = self.write("file", "x")
        r = vigil("export", "grafana", "--out", os.path.join(blocker, "sub"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(blocker, r.stderr)
        r = vigil("export", "prometheus-rules", "--out", os.path.join(blocker, "rules.yml"))
        self.assertEqual(r.returncode, 1, r.stderr)

    @unittest.skipUnless(PROMTOOL, "promtool is not installed")
    def test_rules_pass_promtool(self):
        rules = self.path("vigil-rules.yml")
        vigil("export", "prometheus-rules", "--out", rules, check=0)
        r = promtool("check", "rules", rules)
        print(r.stdout.strip())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"SUCCESS: {len(ALERTS)} rules found", r.stdout)
        self.assertEqual(rule_count(), len(ALERTS))
        with open(rules) as f:
            self.assertEqual(f.read(), vigil("export", "prometheus-rules", check=0).stdout)

    def test_rules_name_every_alert(self):
        text = vigil("export", "prometheus-rules", check=0).stdout
        for alert in ALERTS:
            self.assertIn(f"- alert: {alert}\n", text)
        self.assertEqual(text.count("- alert: "), len(ALERTS))
        self.assertIn("absent(up{job=\"vigil\"} == 1)", text)

    @unittest.skipUnless(PROMTOOL, "promtool is not installed")
    def test_dashboard_queries_parse_as_promql(self):
        # promtool parses every expression of a rules file: check the dashboard's
        # queries as recording rules, with Grafana's variables given values
        exprs = dashboard_promql()
        self.assertTrue(exprs)
        lines = ["groups:", "  - name: vigil-dashboard", "    rules:"]
        for i, e in enumerate(exprs):
            self.assertNotIn("$", e)
            lines += [f"      - record: vigil_dashboard:query_{i}", f"        expr: {json.dumps(e)}"]
        path = self.write("dashboard-rules.yml", "\n".join(lines) + "\n")
        r = promtool("check", "rules", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"SUCCESS: {len(exprs)} rules found", r.stdout)

    def test_grafana_files(self):
        out, dash, ds, prov = self.grafana()
        self.assertEqual(dash["uid"], "vigil-system-health")
        self.assertEqual(dash["title"], "vigil — system health")
        self.assertEqual(dash["refresh"], "10s")
        self.assertEqual(dash["time"]["from"], "now-1h")
        var = dash["templating"]["list"][0]
        self.assertEqual(var["name"], "service")
        self.assertEqual(var["query"], "label_values(vigil_service_up, service)")
        self.assertTrue(var["multi"] and var["includeAll"])
        self.assertGreaterEqual(len(panels(dash)), 10)
        for p in panels(dash):
            with self.subTest(panel=p["title"]):
                self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "vigil-prometheus"})
                self.assertEqual(set(p["gridPos"]), {"x", "y", "w", "h"})
                self.assertTrue(p["targets"])
                for t in p["targets"]:
                    self.assertEqual(t["datasource"]["uid"], "vigil-prometheus")
                    self.assertTrue(t["expr"])
        self.assertNotIn("${DS_", json.dumps(dash))
        # the listed expressions are the dashboard's
        self.assertEqual(listed("grafana", "exprs"),
                         [t["expr"] for p in panels(dash) for t in p["targets"]])
        self.assertIn("apiVersion: 1", ds)
        self.assertIn("type: prometheus", ds)
        self.assertIn("uid: 'vigil-prometheus'", ds)
        self.assertIn("url: 'http://127.0.0.1:9090'", ds)
        self.assertIn("access: proxy", ds)
        self.assertIn("isDefault: false", ds)
        self.assertIn("folder: vigil", prov)
        self.assertIn("path: '%s'" % os.path.join(os.path.realpath(out), "dashboards"), prov)

    def test_grafana_datasource_uid_and_url(self):
        _, dash, ds, _ = self.grafana("--datasource-uid", "foo", "--prometheus-url",
                                      "https://prom.example:9090")
        uids = set()
        for p in panels(dash):
            uids.add(p["datasource"]["uid"])
            uids.update(t["datasource"]["uid"] for t in p["targets"])
        uids.add(dash["templating"]["list"][0]["datasource"]["uid"])
        self.assertEqual(uids, {"foo"})
        self.assertNotIn("vigil-prometheus", json.dumps(dash))
        self.assertIn("uid: 'foo'", ds)
        self.assertIn("url: 'https://prom.example:9090'", ds)

    def test_expressions_use_exposed_metrics(self):
        names = set(listed("grafana", "metrics")) | set(listed("prometheus-rules", "metrics"))
        for family in ("vigil_stack_ready", "vigil_service_up", "vigil_service_state",
                       "vigil_service_restarts_total", "vigil_service_start_time_seconds",
                       "vigil_service_ready_seconds_bucket", "vigil_service_watchdog_pings_total",
                       "process_cpu_seconds_total", "process_resident_memory_bytes",
                       "process_open_fds", "process_max_fds", "up",
                       "vigil_feed_messages_total", "vigil_feed_expected_messages_per_second",
                       "vigil_feed_gaps_total", "vigil_feed_decode_errors_total",
                       "vigil_feed_last_message_timestamp_seconds",
                       "vigil_store_policy_bytes", "vigil_store_policy_values",
                       "vigil_store_last_flush_timestamp_seconds", "vigil_sink_spool_points",
                       "vigil_sink_dropped_points_total", "vigil_sink_failed_batches_total",
                       "vigil_compute_last_run_cells", "vigil_compute_breaker_trips_total",
                       "vigil_compute_last_run_timestamp_seconds"):
            self.assertIn(family, names)
        for n in names:
            self.assertRegex(n, r"^(vigil_|process_|up$)")

    def test_scrape_job(self):
        cfg = self.write("vigil.yaml", "services: {}\n")
        out = vigil("-c", cfg, "export", "prometheus-scrape", check=0).stdout
        self.assertIn("- job_name: vigil\n", out)
        self.assertIn("scrape_interval: 15s", out)
        self.assertIn("targets: ['127.0.0.1:9464']", out)
        out = vigil("export", "prometheus-scrape", "--target", "feed-1.example:9500", check=0).stdout
        self.assertIn("targets: ['feed-1.example:9500']", out)

    def test_scrape_target_follows_http_listen(self):
        port = free_port()
        cfg = self.write("vigil.yaml", f'http: {{listen: "127.0.0.1:{port}"}}\nservices: {{}}\n')
        out = vigil("export", "prometheus-scrape", "-c", cfg, check=0).stdout
        self.assertIn(f"targets: ['127.0.0.1:{port}']", out)
        cfg = self.write("wild.yaml", f'http: {{listen: "0.0.0.0:{port}"}}\nservices: {{}}\n')
        out = vigil("export", "prometheus-scrape", "-c", cfg, check=0).stdout
        self.assertIn(f"targets: ['127.0.0.1:{port}']", out)
        self.assertIn("every interface", out)
        cfg = self.write("off.yaml", "http: {listen: off}\nservices: {}\n")
        r = vigil("export", "prometheus-scrape", "-c", cfg)
        self.assertEqual(r.returncode, 2)
        self.assertIn("http.listen is off", r.stderr)
        # --target needs no config at all
        out = vigil("export", "prometheus-scrape", "-c", self.path("missing.yaml"),
                    "--target", "10.0.0.7:9464", check=0).stdout
        self.assertIn("targets: ['10.0.0.7:9464']", out)

    @unittest.skipUnless(PROMTOOL, "promtool is not installed")
    def test_prometheus_config_passes_promtool(self):
        rules = self.path("vigil-rules.yml")
        vigil("export", "prometheus-rules", "--out", rules, check=0)
        cfg = self.write("vigil.yaml", "services: {}\n")
        snippet = vigil("export", "prometheus-scrape", "-c", cfg, check=0).stdout
        prom = self.write("prometheus.yml",
                          "global:\n  scrape_interval: 15s\n"
                          f"rule_files:\n  - {json.dumps(rules)}\n"
                          "scrape_configs:\n" + snippet)
        r = promtool("check", "config", prom)
        print(r.stdout.strip())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"SUCCESS: {len(ALERTS)} rules found", r.stdout)

    def test_export_metrics_lists_families(self):
        fams = families()
        self.assertEqual(list(fams), sorted(fams))
        self.assertEqual(fams["vigil_feed_decode_errors_total"][:2], ("counter", "feed,reason"))
        self.assertEqual(fams["vigil_service_ready_seconds"][:2], ("histogram", "service"))
        self.assertEqual(fams["vigil_stack_ready"][:2], ("gauge", ""))
        for name, (type_, _, help_) in fams.items():
            self.assertRegex(name, r"^(vigil_|process_)")
            self.assertTrue(help_, name)
            self.assertEqual(type_ == "counter", name.endswith("_total"), name)
        r = vigil("export", "metrics", "stray")
        self.assertEqual(r.returncode, 2)

    def test_docs_list_every_family(self):
        """docs/metrics.md's table names every family, and no family that does not exist."""
        src = os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
        with open(os.path.join(src, "docs", "metrics.md")) as f:
            text = f.read()
        table = text[text.index("## Every metric vigil exposes"):text.index("## Using the registry")]
        documented = set(re.findall(r"`((?:vigil|process)_[a-z_]+)`", table))
        self.assertEqual(documented, set(families()))

    def test_dashboard_metrics_exist_in_live_scrape(self):
        """A daemon running every module exposes exactly the families `vigil export metrics`
        lists (name, type and help: one definition for both), and a sample of every metric
        the dashboard and the rules use."""
        dead = free_port()  # the sink needs no server to register its metrics
        s = full_stack(self, f"http://127.0.0.1:{dead}")
        s.wait_state("pub", "ready", timeout=LONG)
        wanted = (set(listed("grafana", "metrics")) | set(listed("prometheus-rules", "metrics"))) - SYNTHETIC
        self.assertTrue(wanted)
        url = f"http://127.0.0.1:{s.http_port}/metrics"
        seen = {}

        def scrape_has_all():
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    seen["text"] = r.read().decode()
            except OSError as e:  # URLError, refused, reset
                seen["missing"] = f"no answer: {e}"
                return False
            seen["missing"] = sorted(wanted - sample_names(seen["text"]))
            return not seen["missing"]

        # counters such as restarts and HTTP requests have samples once something happened,
        # the compute ones once a scheduled run has finished
        try:
            wait_for(scrape_has_all, timeout=LONG, interval=0.5, what="every exported metric")
        except AssertionError:
            self.fail(f"not in {url}: {seen.get('missing')}\n{seen.get('text', '')[-4000:]}")
        live = scraped_families(seen["text"])
        listed_fams = {n: (t, h) for n, (t, _, h) in families().items()}
        self.assertEqual(live, listed_fams)

    def test_compute_metrics_follow_the_ledger(self):
        """vigil up serves what compute runs started by hand wrote into the ledger, run after
        run (the attempts are read incrementally), equal to the ledger's own counts; and
        metrics.prom says the same."""
        s = self.stack("""
        compute:
          calendar: {start: 2026-01-01, end: 2026-01-03}
          breaker: {min_attempts: 2, ratio: 0.1}
          calcs:
            fine: {cmd: [sh, -c, 'echo $1 > $0/x', '{out}', '{date}']}
            broken: {cmd: [sh, -c, 'exit 1'], retries: 0}
        """)
        ledger = os.path.join(s.state_dir, "compute", "ledger.db")

        def from_ledger():
            with sqlite3.connect(ledger) as db:
                att = {(c, st): n for c, st, n in db.execute(
                    "SELECT calc, status, count(*) FROM attempts GROUP BY calc, status")}
                runs = db.execute("SELECT count(*) FROM runs WHERE end IS NOT NULL").fetchone()[0]
                trips = db.execute("SELECT count(*) FROM breakers").fetchone()[0]
            return att, runs, trips

        def from_metrics(text):
            att, runs, trips, durations = {}, None, 0, 0
            for line in text.splitlines():
                m = re.match(r'vigil_compute_attempts_total\{calc="(\w+)",status="(\w+)"\} (\S+)', line)
                if m:
                    att[(m.group(1), m.group(2))] = int(float(m.group(3)))
                m = re.match(r"vigil_compute_runs_total (\S+)", line)
                if m:
                    runs = int(float(m.group(1)))
                m = re.match(r'vigil_compute_breaker_trips_total\{calc="(\w+)"\} (\S+)', line)
                if m:
                    trips += int(float(m.group(2)))
                m = re.match(r'vigil_compute_attempt_duration_seconds_count\{calc="\w+"\} (\S+)', line)
                if m:
                    durations += int(float(m.group(1)))
            return att, runs, trips, durations

        def agree(text):
            att, runs, trips = from_ledger()
            m_att, m_runs, m_trips, m_durations = from_metrics(text)
            return (m_att, m_runs, m_trips, m_durations) == (att, runs, trips, sum(att.values()))

        url = f"http://127.0.0.1:{s.http_port}/metrics"
        for run in range(3):
            r = s.cli("compute", "run", "--quiet")
            self.assertEqual(r.returncode, 1, r.stderr)  # broken dies, its breaker trips
            if run < 2:
                s.cli("compute", "dead", "--retry", check=0)  # so the next run tries again
            att, runs, trips = from_ledger()
            self.assertEqual(runs, run + 1)
            self.assertEqual(att[("fine", "done")], 3)
            self.assertEqual(trips, run + 1)

            def scraped():
                with urllib.request.urlopen(url, timeout=10) as resp:
                    text = resp.read().decode()
                return text if agree(text) else None
            wait_for(scraped, timeout=30, interval=0.3, what=f"/metrics to follow run {run + 1}")
        with open(os.path.join(s.state_dir, "compute", "metrics.prom")) as f:
            self.assertTrue(agree(f.read()))

    @unittest.skipUnless(PROMETHEUS, "prometheus is not installed (scripts/deps.sh installs it)")
    def test_real_prometheus_runs_the_exports(self):
        """A Prometheus configured only from the exports scrapes vigil, evaluates the rules
        (a fatal service fires VigilServiceFatal, a stopped one is not VigilServiceDown)
        and answers every dashboard query."""
        vport = free_port()
        s = self.stack(f"""
        http: {{listen: "127.0.0.1:{vport}"}}
        services:
          feed:
            cmd: ["@SIM@", --notify]
            ready: {{notify: true}}
          bot:
            cmd: ["@SIM@"]
            depends_on: [feed]
          doomed:
            cmd: ["@SIM@", --exit-after, 100ms]
            restart: {{delay: 100ms, max_restarts: 1}}
        """)
        s.wait_state("bot", "ready", timeout=LONG)
        s.wait_state("doomed", "fatal", timeout=LONG)
        s.cli("stop", "bot", check=0)
        s.wait_state("bot", "stopped", timeout=LONG)
        rules = self.path("vigil-rules.yml")
        vigil("export", "prometheus-rules", "--out", rules, check=0)
        # the exported job, scraped every second so the test need not wait 15s
        job = s.cli("export", "prometheus-scrape", check=0).stdout
        self.assertIn(f"targets: ['127.0.0.1:{vport}']", job)
        job = job.replace("scrape_interval: 15s", "scrape_interval: 1s")
        prom_yml = self.write("prometheus.yml",
                              "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                              f"rule_files: [{json.dumps(rules)}]\nscrape_configs:\n{job}")
        with Prometheus(prom_yml, self.dir) as prom:
            wait_for(lambda: prom.api("query", query='up{job="vigil"} == 1'), timeout=60,
                     interval=0.5, what="Prometheus to scrape vigil")

            def rules_evaluated():
                data = prom.api("rules")
                groups = [g for g in (data or {}).get("groups", []) if g["name"] == "vigil"]
                return groups and all(r["health"] == "ok" for r in groups[0]["rules"]) and groups[0]

            group = wait_for(rules_evaluated, timeout=60, interval=0.5, what="the rules evaluated")
            self.assertEqual(len(group["rules"]), len(ALERTS))

            def alerts():
                data = prom.api("alerts") or {"alerts": []}
                return {(a["labels"]["alertname"], a["labels"].get("service"), a["state"])
                        for a in data["alerts"]}

            wait_for(lambda: ("VigilServiceFatal", "doomed", "firing") in alerts(), timeout=60,
                     interval=0.5, what="VigilServiceFatal for doomed")
            wait_for(lambda: ("VigilServiceDown", "doomed", "pending") in alerts(), timeout=60,
                     interval=0.5, what="VigilServiceDown pending for doomed")
            names = {(a, svc) for a, svc, _ in alerts()}
            self.assertNotIn(("VigilServiceDown", "bot"), names)
            self.assertNotIn(("VigilServiceDown", "feed"), names)
            self.assertNotIn(("VigilAbsent", None), names)

            for expr in dashboard_promql():
                with self.subTest(expr=expr):
                    self.assertIsNotNone(prom.api("query", query=expr))
            # the state timeline's codes are those of its value mappings
            codes = {r["metric"]["service"]: r["value"][1]
                     for r in prom.api("query", query=dashboard_state_code_expr())["result"]}
            self.assertEqual(codes, {"feed": "3", "bot": "0", "doomed": "6"})


def dashboard_state_code_expr():
    with tempfile.TemporaryDirectory() as d:
        vigil("export", "grafana", "--out", d, check=0)
        with open(os.path.join(d, "dashboards", "vigil-system-health.json")) as f:
            dash = json.load(f)
    [panel] = [p for p in dash["panels"] if p["type"] == "state-timeline"]
    mapping = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert [mapping[str(i)]["text"] for i in range(7)] == [
        "stopped", "waiting", "starting", "ready", "stopping", "backoff", "fatal"], mapping
    return panel["targets"][0]["expr"].replace("$service", ".*")


if __name__ == "__main__":
    unittest.main()
