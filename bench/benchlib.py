"""bench/benchlib.py: process plumbing shared by the bench/ harnesses.

The harnesses start real supervisors (vigil and the anchors) that fork, double-fork
and setsid() their children. To be sure that nothing outlives a run, the harness
makes itself a child subreaper: every orphan in the tree below it is re-parented
to it, so "everything we started" is simply "every descendant of this process",
and it can reap the orphans itself. That reaping matters for correctness too:
monit double-forks its start program, and an unreaped zombie would still look
alive to monit's pid check, which would then never restart it.

Python standard library only.
"""

import ctypes
import os
import select
import signal
import time

PR_SET_CHILD_SUBREAPER = 36

# exit status of every child we reaped, by pid (the SIGCHLD handler fills it)
reaped = {}


class Interrupted(Exception):
    """Raised in the main thread when SIGINT, SIGTERM or SIGHUP arrives."""


def _on_sigchld(signum, frame):
    reap()


def _on_stop(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def setup():
    """Makes this process a subreaper that reaps at once and stops cleanly on signals."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(err))
    signal.signal(signal.SIGCHLD, _on_sigchld)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_stop)


def reap():
    """Collects every child that has exited, without blocking."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reaped[pid] = status


def spawn(argv, env, log_path):
    """Starts argv in its own session, stdin from /dev/null, stdout and stderr to log_path.

    Returns the pid. Raises OSError if argv[0] cannot be executed.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # setsid: a Ctrl-C on the terminal reaches the harness only; it stops the
    # supervisors itself, each in its own documented way.
    return os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def descendants(root=None):
    """Pids of every live process below root (default: this process)."""
    root = os.getpid() if root is None else root
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    out, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            out.append(pid)
            todo.append(pid)
    return out


def wait_gone(pids, timeout):
    """Waits until none of pids is alive; returns True if they all went in time."""
    deadline = time.monotonic() + timeout
    while True:
        reap()
        if not any(alive(p) for p in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def kill_tree():
    """SIGKILLs every descendant of this process and reaps them. Never raises."""
    for _ in range(5):
        pids = descendants()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        wait_gone(pids, 2.0)


def stop(pid, how, grace):
    """Stops a supervisor: how() asks it politely, then after grace seconds the
    whole tree below us is killed. Returns True if it stopped on its own."""
    try:
        how()
    except OSError:
        pass
    clean = wait_gone([pid], grace)
    kill_tree()
    return clean


def exit_note(pid):
    """How pid ended, if it has ended and we reaped it: "exited 2", "killed by SIGSEGV"."""
    status = reaped.get(pid)
    if status is None:
        return None
    if os.WIFSIGNALED(status):
        return "killed by " + signal.Signals(os.WTERMSIG(status)).name
    return "exited %d" % os.WEXITSTATUS(status)


def log_tail(path, lines=8):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


class Stamps:
    """Reads the "PID NS" lines that bench_stamp writes into a FIFO."""

    def __init__(self, path):
        os.mkfifo(path, 0o600)
        # O_RDWR: we hold a writer ourselves, so the FIFO never reports EOF
        # between two children, and a child's open() never blocks.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self.path = path
        self.buf = b""
        self.lines = []

    def close(self):
        os.close(self.fd)

    def _fill(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not r:
            return
        try:
            self.buf += os.read(self.fd, 65536)
        except BlockingIOError:
            return
        *done, self.buf = self.buf.split(b"\n")
        for line in done:
            pid, ns = line.split()
            self.lines.append((int(pid), int(ns)))

    def drain(self):
        """Returns, and forgets, every stamp already written (does not wait)."""
        self._fill(0)
        out, self.lines = self.lines, []
        return out

    def next(self, accept, timeout, watch=None):
        """Returns the first (pid, ns) stamp for which accept() is true, dropping
        the ones before it, or None after timeout seconds or, if watch is a pid,
        as soon as that process has died (a supervisor that exits at once should
        not cost us the whole timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            while self.lines:
                stamp = self.lines.pop(0)
                if accept(stamp):
                    return stamp
            left = deadline - time.monotonic()
            if left <= 0 or (watch is not None and not alive(watch)):
                return None
            self._fill(min(left, 0.25) if watch is not None else left)


def env_int(name, default):
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit("bench: %s must be an integer, not %r" % (name, value))


def pkg_version(pkg):
    """The installed Debian version of pkg, or "?"."""
    try:
        import subprocess
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def which(name):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":") + ["/usr/sbin", "/sbin"]:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK) and os.path.isfile(p):
            return p
    return None


def yaml_str(s):
    """s as a double-quoted YAML scalar (paths may hold any character)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
