"""The active-only service of the failover tests: appends `start|tick|stop NODE TOKEN
WALL_NS` lines to a shared log (O_APPEND, one write per line) every 10 ms while it runs.
Usage: fo_service.py LOG NODE (the token comes from $VIGIL_FENCING_TOKEN)."""
import os
import signal
import sys
import time

log, node = sys.argv[1], sys.argv[2]
token = os.environ.get("VIGIL_FENCING_TOKEN", "0")
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def line(kind):
    os.write(fd, f"{kind} {node} {token} {time.time_ns()}\n".encode())


def on_term(signum, frame):
    line("stop")
    os._exit(0)


signal.signal(signal.SIGTERM, on_term)
line("start")
while True:
    time.sleep(0.01)
    line("tick")
