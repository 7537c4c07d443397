"""Integration-test harness: runs the real `vigil` binary on a config written into a
fresh temp dir, talks to it over its control socket, and stops it afterwards.

Everything is on 127.0.0.1 with ports chosen free at run time. Tests assert behaviour,
never wall-clock speed; latencies they measure are printed for the record.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest
import urllib.parse
import urllib.request

BUILD = os.environ.get("VIGIL_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
VIGIL = os.path.abspath(os.path.join(BUILD, "vigil"))
SIM = os.path.abspath(os.path.join(BUILD, "vigil-sim"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# Generous: the tests also run under AddressSanitizer builds on a loaded 2-core machine.
LONG = 30.0


def events_named(stack, msg, service=None):
    return [e for e in stack.events()
            if e.get("msg") == msg and (service is None or e.get("service") == service)]


def event_index(stack, msg, service):
    """Position in vigil's log of the first event `msg` about `service`."""
    for i, e in enumerate(stack.events()):
        if e.get("msg") == msg and e.get("service") == service:
            return i
    raise AssertionError(f"no {msg!r} event for {service}:\n{stack.logs_text()[-4000:]}")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("vigil", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def children_of(pid):
    """Live (not zombie) children of pid, from /proc."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            out.append(int(name))
    return out


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Stack:
    """One `vigil up` on a config. Use as a context manager."""

    def __init__(self, config, env=None, extra_args=(), token=None):
        """token: a bearer token for the TCP listener (written to STATE/../token and
        named by http.token_file when the config has no http: of its own); http()
        then sends it, as reads over TCP need it."""
        self.dir = tempfile.mkdtemp(prefix="vigil-it-")
        self.config_path = os.path.join(self.dir, "vigil.yaml")
        self.token = token
        if token:
            path = os.path.join(self.dir, "token")
            with open(path, "w") as f:
                f.write(token + "\n")
            os.chmod(path, 0o600)
        self.write_config(config)
        self.env = dict(os.environ, **(env or {}))
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.dir, "vigil.log")

    @property
    def state_dir(self):
        return os.path.join(self.dir, "state")

    @property
    def socket_path(self):
        return os.path.join(self.state_dir, "vigil.sock")

    def write_config(self, text):
        text = textwrap.dedent(text).replace("@SIM@", SIM).replace("@DIR@", self.dir)
        if "state_dir" not in text:
            text = "state_dir: ./state\n" + text
        # every stack gets its own free port, so tests can run side by side
        if not hasattr(self, "http_port"):
            self.http_port = free_port()
        if not text.lstrip().startswith("http:") and "\nhttp:" not in text:
            tok = ", token_file: ./token" if getattr(self, "token", None) else ""
            text = f'http: {{listen: "127.0.0.1:{self.http_port}"{tok}}}\n' + text
        with open(self.config_path, "w") as f:
            f.write(text)

    def start(self, wait_socket=True):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [VIGIL, "up", "-c", self.config_path, "--log-format", "json", "--log-level", "debug"]
            + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env, cwd=self.dir)
        if wait_socket:
            wait_for(lambda: os.path.exists(self.socket_path) or self.proc.poll() is not None,
                     what="control socket")
            if self.proc.poll() is not None:
                raise AssertionError(f"vigil exited {self.proc.returncode}:\n{self.logs_text()}")
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("vigil did not stop in time:\n" + self.logs_text()[-4000:])
        if getattr(self, "log", None):
            self.log.close()
        return self.proc.returncode if self.proc else None

    def logs_text(self):
        with open(self.log_path) as f:
            return f.read()

    def events(self):
        out = []
        for line in self.logs_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def request(self, method, path, body=None):
        conn = UnixHTTPConnection(self.socket_path)
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data

    def http(self, method, path, body=None, headers=None):
        """A request to the TCP listener: (status, headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = "Bearer " + self.token
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), data

    def status(self):
        code, data = self.request("GET", "/api/v1/status")
        assert code == 200, (code, data)
        return json.loads(data)

    def service(self, name):
        for s in self.status()["services"]:
            if s["name"] == name:
                return s
        return None

    def wait_state(self, name, state, timeout=10.0):
        return wait_for(lambda: (lambda s: s if s and s["state"] == state else None)(self.service(name)),
                        timeout=timeout, what=f"{name} to be {state}")

    def cli(self, *args, check=None):
        r = subprocess.run([VIGIL, "-c", self.config_path, *args], capture_output=True, text=True,
                           timeout=30, env=self.env)
        if check is not None:
            assert r.returncode == check, (r.returncode, r.stdout, r.stderr)
        return r


class VigilTest(unittest.TestCase):
    def setUp(self):
        self.stacks = []

    def tearDown(self):
        for s in self.stacks:
            try:
                s.stop()
            except Exception:
                pass

    def stack(self, config, **kw):
        s = Stack(config, **kw)
        self.stacks.append(s)
        return s.start()


PROMETHEUS = shutil.which("prometheus")


class Prometheus:
    """A real Prometheus server on a free loopback port, for the life of a `with`."""

    def __init__(self, config_path, workdir):
        self.port = free_port()
        self.log = open(os.path.join(workdir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config_path}",
             f"--storage.tsdb.path={os.path.join(workdir, 'prometheus-data')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def api(self, path, **params):
        """GET /api/v1/PATH: its data, or None when it is not (yet) there."""
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                doc = json.load(r)
        except OSError:
            return None
        return doc["data"] if doc.get("status") == "success" else None

    def query(self, expr):
        """The result vector of an instant query, or None."""
        data = self.api("query", query=expr)
        return data["result"] if data else None


# ---- feeds (tests/integration/test_feeds.py, bench/ingest) ----

FEED = os.path.abspath(os.path.join(BUILD, "vigil-feed"))
SANITIZED = os.environ.get("VIGIL_SANITIZED", "0") in ("1", "ON", "TRUE", "true")


def feed_summary(text):
    """The `sent=N points=N ... checksum=0x...` line vigil-feed prints at exit, as a dict."""
    for line in text.splitlines()[::-1]:
        if line.startswith("sent="):
            out = {}
            for kv in line.split():
                k, v = kv.split("=", 1)
                out[k] = v if k == "checksum" else float(v) if "." in v else int(v)
            return out
    raise AssertionError(f"no summary line in vigil-feed's output: {text!r}")


def run_feed(*args, timeout=120):
    """Runs vigil-feed to its end; returns its summary."""
    r = subprocess.run([FEED, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return feed_summary(r.stdout)


def feed_status(stack, name):
    """The feed's entry of the status document."""
    for f in stack.status().get("feeds", []):
        if f["name"] == name:
            return f
    raise AssertionError(f"no feed {name} in the status")


STORE_CHECKSUM = os.path.abspath(os.path.join(BUILD, "store_checksum"))


def store_checksum(stack, measurement, since="-1h", until="+1h"):
    """What the store holds of a measurement, recomputed: {values, points, checksum}."""
    q = urllib.parse.urlencode({"q": measurement, "from": since, "to": until})
    code, data = stack.request("GET", f"/api/v1/query?{q}")
    assert code == 200, (code, data[:500])
    r = subprocess.run([STORE_CHECKSUM], input=data, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return feed_summary(r.stdout.decode().replace("values=", "sent="))


INFLUXD = shutil.which("influxd")

import base64  # noqa: E402  (only the InfluxDB launcher below needs it)


class InfluxDB:
    """A real InfluxDB 1.x (the Debian package's influxd) on free loopback ports, with
    its data in workdir; stop() and start() again keep the data and the ports, so a test
    can stage an outage. Use as a context manager."""

    def __init__(self, workdir, auth=False):
        self.dir = os.path.join(workdir, "influxdb")
        self.auth = None  # (user, password) for query() once auth is on
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = os.path.join(self.dir, "influxdb.conf")
        d = self.dir
        with open(self.config_path, "w") as f:
            f.write(textwrap.dedent(f"""\
                reporting-disabled = true
                bind-address = "127.0.0.1:{free_port()}"
                [meta]
                  dir = "{d}/meta"
                [data]
                  dir = "{d}/data"
                  wal-dir = "{d}/wal"
                  query-log-enabled = false
                [http]
                  bind-address = "127.0.0.1:{self.port}"
                  log-enabled = false
                  auth-enabled = {"true" if auth else "false"}
                [monitor]
                  store-enabled = false
                [continuous_queries]
                  enabled = false
                [subscriber]
                  enabled = false
                [logging]
                  level = "warn"
                """))
        self.proc = None
        self.log = None

    def start(self, timeout=LONG):
        self.log = open(os.path.join(self.dir, "influxd.log"), "a")
        self.proc = subprocess.Popen([INFLUXD, "-config", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(lambda: self.ping() or self.proc.poll() is not None, timeout=timeout,
                 interval=0.05, what="influxd to answer /ping")
        if self.proc.poll() is not None:
            raise AssertionError(f"influxd exited {self.proc.returncode}:\n{self.logs_text()}")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=LONG):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def logs_text(self):
        with open(os.path.join(self.dir, "influxd.log")) as f:
            return f.read()

    def ping(self):
        try:
            with urllib.request.urlopen(self.url + "/ping", timeout=2) as r:
                return r.status == 204
        except OSError:
            return False

    def query(self, q, db=None):
        """POST /query; the decoded JSON answer."""
        params = {"q": q}
        if db:
            params["db"] = db
        req = urllib.request.Request(self.url + "/query",
                                     data=urllib.parse.urlencode(params).encode())
        if self.auth:
            token = base64.b64encode(":".join(self.auth).encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def rows(self, q, db=None):
        """The values of the first series of the first result ([] when none)."""
        res = self.query(q, db)["results"][0]
        if "error" in res:
            raise AssertionError(f"{q}: {res['error']}")
        series = res.get("series") or []
        return series[0]["values"] if series else []


# ---- Redis (the cache's mirror, the monitor, failover) ----

REDIS_SERVER = shutil.which("redis-server") or ("/usr/bin/redis-server"
                                                if os.path.exists("/usr/bin/redis-server") else None)


class RedisError(Exception):
    pass


def resp_command(sock_file, *args):
    """Sends one command in RESP over a connected socket's file; returns the reply
    (bytes, int, list, None), raising RedisError for an error reply."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    sock_file.write(b"".join(out))
    sock_file.flush()
    return _resp_read(sock_file)


def _resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise ConnectionError(f"bad reply line {line!r}")


class Redis:
    """A real redis-server on a free loopback port (or the given one), its files in
    workdir, no persistence unless asked. stop() and start() again keep the port, so a
    test can stage an outage. command() opens a short connection per call."""

    def __init__(self, workdir, port=None, extra=()):
        self.dir = os.path.join(workdir, f"redis-{port or 'x'}-{time.monotonic_ns()}")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None

    def start(self, timeout=10):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--logfile", os.path.join(self.dir, "log"),
             *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited {self.proc.returncode}")
            try:
                return self.command("PING") == b"PONG"
            except OSError:
                return False
        wait_for(up, timeout=timeout, interval=0.02, what="redis-server to answer PING")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def command(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            with s.makefile("rwb") as f:
                return resp_command(f, *args)

    def hgetall(self, key):
        r = self.command("HGETALL", key) or []
        return {r[i].decode(): r[i + 1].decode() for i in range(0, len(r), 2)}
