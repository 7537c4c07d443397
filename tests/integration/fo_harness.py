"""Failover test kit: a real redis-server or PostgreSQL as the lease store, N vigil nodes
(each its own temp dir, state_dir and HTTP port) and the proof that two actives never
overlap.

Every node runs the active-only service `fo_service.py`, which appends to one shared
log (O_APPEND: the file's order is the order of the writes, whatever the clocks say):
    start NODE TOKEN T   when it starts, then
    tick NODE TOKEN T    every 10 ms while it runs (what a trading bot's orders would be)
    stop NODE TOKEN T    when asked to stop
check_no_overlap() reads it: in file order the tokens never decrease, and no line of a
token comes after a line of a newer one, so no two terms ever acted at the same time.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import VIGIL, Stack, free_port, wait_for, LONG

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = os.path.join(HERE, "fo_service.py")
PG_BIN = "/usr/lib/postgresql/15/bin"
SANITIZED = os.environ.get("VIGIL_SANITIZED", "0") in ("1", "ON", "TRUE", "true")


class Redis:
    """A redis-server on a free port, appendonly (the token counter survives a restart)."""

    def __init__(self, workdir, name="redis", extra=()):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--protected-mode", "no"] + self.extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, timeout=LONG, what="redis up")
        return self

    def ping(self):
        try:
            return self.cmd("PING") == "+PONG"
        except OSError:
            return False

    def cmd(self, *args):
        """One command over RESP; the raw first reply line (enough for these tests)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            out = f"*{len(args)}\r\n" + "".join(f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
            s.sendall(out.encode())
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            first = data.split(b"\r\n")[0].decode()
            if first.startswith("$") and first != "$-1":
                n = int(first[1:])
                while len(data) < len(first) + 2 + n + 2:
                    data += s.recv(65536)
                return data[len(first) + 2:len(first) + 2 + n].decode()
            return first

    def info_role(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n")
            data = b""
            deadline = time.monotonic() + 5
            while b"role:" not in data or not data.endswith(b"\r\n"):
                data += s.recv(65536)
                if time.monotonic() > deadline:
                    break
            for line in data.decode().splitlines():
                if line.startswith("role:"):
                    return line.split(":", 1)[1]
        return None

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Postgres:
    """A throw-away PostgreSQL 15 cluster: initdb into a temp dir, a free port, its unix
    socket in the temp dir."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pg")
        self.sock = os.path.join(workdir, "pgsock")
        os.makedirs(self.sock, exist_ok=True)
        self.port = free_port()
        self.started = False

    @property
    def conninfo(self):
        return f"host={self.sock} port={self.port} dbname=postgres user={self.user}"

    def _run(self, *args, **kw):
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "nobody", "--"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, **kw)

    def init(self):
        self.user = "nobody" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        if os.geteuid() == 0:
            os.chmod(os.path.dirname(self.dir), 0o777)
            os.chmod(self.sock, 0o777)
        r = self._run(f"{PG_BIN}/initdb", "-D", self.dir, "-A", "trust", "-U", self.user,
                      "--no-sync")
        if r.returncode != 0:
            raise AssertionError("initdb failed:\n" + r.stdout + r.stderr)
        return self

    def start(self):
        r = self._run(f"{PG_BIN}/pg_ctl", "-D", self.dir, "-l", os.path.join(self.dir, "log"), "-w",
                      "-o", f"-p {self.port} -k {self.sock} -c listen_addresses='' -c fsync=off",
                      "start", timeout=60)
        if r.returncode != 0:
            raise AssertionError("pg_ctl start failed:\n" + r.stdout + r.stderr)
        self.started = True
        return self

    def stop(self, mode="fast"):
        if self.started:
            self._run(f"{PG_BIN}/pg_ctl", "-D", self.dir, "-m", mode, "-w", "stop", timeout=60)
            self.started = False

    def pid(self):
        with open(os.path.join(self.dir, "postmaster.pid")) as f:
            return int(f.readline())


def lease_yaml(store, key="vigil:lease"):
    if isinstance(store, Postgres):
        return f'{{postgres: "{store.conninfo}", key: "{key}"}}'
    return f'{{redis: "{store.address}", key: "{key}"}}'


class Node(Stack):
    """One vigil node of a failover group; its active-only service logs to shared_log."""

    def __init__(self, name, store, shared_log, ttl="2s", renew="500ms", timeout=None,
                 margin=None, cooldown="0", promote="", demote="", extra_services="",
                 lease=None, stop_timeout="1s", token=None, top=""):
        self.name = name
        self.shared_log = shared_log
        opt = ""
        if timeout:
            opt += f"\n  timeout: {timeout}"
        if margin:
            opt += f"\n  margin: {margin}"
        config = f"""
failover:
  node: {name}
  lease: {lease or lease_yaml(store)}
  ttl: {ttl}
  renew: {renew}{opt}
  cooldown: {cooldown}
{promote}{demote}{top}services:
  bot:
    cmd: [python3, "{SERVICE}", "{shared_log}", "{name}"]
    role: active
    stop: {{timeout: {stop_timeout}}}
    restart: {{delay: 100ms}}
    log: {{echo: false}}
{extra_services}"""
        super().__init__(config, token=token)

    def fo(self):
        code, data = self.request("GET", "/api/v1/failover")
        assert code == 200, (code, data)
        return json.loads(data)

    def role(self):
        try:
            return self.fo()["role"]
        except (OSError, AssertionError, ValueError):
            return None

    def bot_pid(self):
        try:
            s = self.service("bot")
        except (OSError, AssertionError, ValueError):
            return None
        return s and s["pid"]

    def transitions(self):
        return [e for e in self.events() if e.get("msg") == "failover: transition"]

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def cleanup(self):
        """Stops vigil; if it is stopped (SIGSTOP), continues it first."""
        if self.proc and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        try:
            self.stop()
        except AssertionError:
            pass


def read_log(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and parts[0] in ("start", "tick", "stop"):
                rows.append((parts[0], parts[1], int(parts[2]), int(parts[3])))
    return rows


def check_no_overlap(path):
    """The proof: in the shared log's order, tokens never decrease (a line of an older
    term after a line of a newer one would be two actives acting at once), every term
    belongs to one node, and a term's start comes before its ticks. Returns the terms as
    [(token, node, first_ns, last_ns)] in order."""
    rows = read_log(path)
    terms, owner, seen_max = [], {}, 0
    for kind, node, token, t in rows:
        assert token > 0, f"a line without a fencing token: {kind} {node}"
        assert token >= seen_max, (
            f"overlap: {kind} of {node} with token {token} after a line of token {seen_max}")
        seen_max = token
        if owner.setdefault(token, node) != node:
            raise AssertionError(f"token {token} used by two nodes: {owner[token]} and {node}")
        if terms and terms[-1][0] == token:
            terms[-1][3] = t
        else:
            terms.append([token, node, t, t])
    for a, b in zip(terms, terms[1:]):
        assert a[3] < b[2], f"overlap in time: token {a[0]} until {a[3]}, token {b[0]} from {b[2]}"
    return terms


def active_nodes(nodes):
    return [n for n in nodes if n.proc and n.proc.poll() is None and n.role() == "active"]


def wait_active(nodes, timeout=LONG, exclude=()):
    """The one node that is active with its bot running and logging (its first line
    written), among nodes not in exclude."""
    def one():
        act = [n for n in nodes if n not in exclude and n.proc and n.proc.poll() is None
               and n.role() == "active" and n.bot_pid()]
        if len(act) != 1:
            return None
        tok = act[0].fo()["token"]
        return act[0] if first_token_line(act[0].shared_log, tok) is not None else None
    return wait_for(one, timeout=timeout, interval=0.02, what="one active node")


def last_token_line(path, token):
    for kind, node, tok, t in reversed(read_log(path)):
        if tok == token:
            return t
    return None


def first_token_line(path, token):
    for kind, node, tok, t in read_log(path):
        if tok == token:
            return t
    return None
