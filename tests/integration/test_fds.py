"""File descriptors: vigil raises its soft limit to the hard one, keeps a budget
(`vigil check` warns when the stack needs more than the limit), refuses a spawn that
would eat the reserve kept for the control socket (which therefore always answers),
and leaks none across restarts and stops."""
import os
import resource
import subprocess

from harness import LONG, VIGIL, Stack, VigilTest, open_fds, wait_for


def many(n, extra=""):
    return "services:" + "".join(f"""
  s{i}:
    cmd: ["@SIM@"{extra}]""" for i in range(n)) + "\n"


def limited(soft, hard):
    def pre():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return pre


def start_limited(test, config, soft, hard):
    s = Stack(config)
    test.stacks.append(s)
    s.log = open(s.log_path, "w")
    s.proc = subprocess.Popen([VIGIL, "up", "-c", s.config_path, "--log-format", "json"],
                              stdout=s.log, stderr=subprocess.STDOUT, cwd=s.dir, env=s.env,
                              preexec_fn=limited(soft, hard))
    wait_for(lambda: os.path.exists(s.socket_path) or s.proc.poll() is not None,
             what="control socket")
    return s


def nofile_soft(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])


class FdTest(VigilTest):
    def test_soft_limit_is_raised_to_the_hard_one(self):
        # 120 services hold 3 descriptors each: more than a soft limit of 256
        s = start_limited(self, many(120), 256, 4096)
        self.assertEqual(nofile_soft(s.proc.pid), 4096)
        wait_for(lambda: all(x["state"] == "ready" for x in s.status()["services"]),
                 timeout=LONG, what="every service ready")

    def test_budget_and_reserve_under_a_hard_limit(self):
        cfg = many(100)
        st = Stack(cfg)
        r = subprocess.run([VIGIL, "check", st.config_path], capture_output=True, text=True,
                           preexec_fn=limited(256, 256), timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: the services need about", r.stderr)
        self.assertIn("more than the limit of 256", r.stderr)

        s = start_limited(self, cfg, 256, 256)

        def settled():
            svcs = s.status()["services"]
            return all(x["state"] in ("ready", "backoff", "fatal") for x in svcs) and svcs
        svcs = wait_for(settled, timeout=LONG, what="services settled")
        short = [x for x in svcs if x["state"] != "ready"]
        self.assertTrue(short, "100 services cannot all fit in 256 descriptors")
        self.assertTrue(all(x["reason"].startswith("not enough file descriptors: ") for x in short),
                        short[0])
        self.assertLessEqual(open_fds(s.proc.pid), 256 - 16)  # the reserve is kept
        # the control socket still answers, many times over
        for _ in range(20):
            self.assertEqual(s.cli("status").returncode, 0)
        r = s.cli("down")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.proc.wait(LONG), 0)

    def test_no_descriptor_leaks_across_restarts_and_stops(self):
        s = self.stack("""
        services:
          crashy:
            cmd: ["@SIM@", --exit-after, 30ms]
            restart: {delay: 0, max_restarts: 0}
          notified:
            cmd: ["@SIM@", --notify, --exit-after, 30ms]
            ready: {notify: true}
            restart: {delay: 0, max_restarts: 0}
          steady:
            cmd: ["@SIM@"]
        """)
        s.wait_state("steady", "ready")
        wait_for(lambda: s.service("crashy")["restarts"] >= 5, timeout=LONG, what="restarts")
        base = open_fds(s.proc.pid)
        n0 = s.service("crashy")["restarts"]
        wait_for(lambda: s.service("crashy")["restarts"] >= n0 + 40, timeout=LONG, what="40 restarts")
        for name in ("crashy", "notified"):
            s.cli("stop", name, check=0)
            s.wait_state(name, "stopped")
        # every run's pipes are gone once drained; nothing grew with the restarts
        wait_for(lambda: open_fds(s.proc.pid) <= base, timeout=LONG,
                 what=f"descriptors back to {base} (now {open_fds(s.proc.pid)})")


class StoppedHoldsNoneTest(VigilTest):
    def test_a_stopped_service_holds_no_descriptor(self):
        # its two output pipes and its log file go with its last run
        s = self.stack("""
        services:
          one:
            cmd: ["@SIM@", --say, hello]
          other:
            cmd: ["@SIM@"]
        """)
        s.wait_state("one", "ready")
        s.wait_state("other", "ready")
        wait_for(lambda: os.path.exists(os.path.join(s.state_dir, "logs", "one.log")), what="log")
        before = open_fds(s.proc.pid)
        s.cli("stop", "one", check=0)
        s.wait_state("one", "stopped")
        # at least its 3 (a status connection open when `before` was read may go too)
        wait_for(lambda: open_fds(s.proc.pid) <= before - 3, timeout=LONG,
                 what=f"3 descriptors released (before {before}, now {open_fds(s.proc.pid)})")
        s.cli("start", "one", check=0)
        s.wait_state("one", "ready")
        wait_for(lambda: open(os.path.join(s.state_dir, "logs", "one.log")).read().count("hello") == 2,
                 timeout=LONG, what="the second run logs to the same file")
