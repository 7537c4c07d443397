"""What a service's process gets: argv or a shell, env, clear_env, cwd, rlimits, user and
group; a precise reason when it cannot be exec'd; output captured and rotated."""
import glob
import os
import unittest

from harness import VigilTest, wait_for


def log_of(s, name):
    path = os.path.join(s.state_dir, "logs", name + ".log")
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:  # not yet written, or between a rotation's rename and reopen
        return ""


def open_read(path):
    with open(path) as f:
        return f.read()


class SpawnTest(VigilTest):
    def test_env_cwd_limits_and_shell(self):
        s = self.stack("""
        services:
          envy:
            cmd: "echo A=$A B=$B HOME_SET=$${HOME:+yes} SVC=$VIGIL_SERVICE CWD=$(pwd) NOFILE=$(ulimit -n) CORE=$(ulimit -c); exec sleep 100"
            shell: true
            env: {A: one, B: "two words"}
            cwd: /tmp
            limits: {nofile: 123, core: 0}
          clean:
            cmd: [sh, -c, "echo HOME=$${HOME:-unset} PATH_SET=$${PATH:+yes}; exec sleep 100"]
            clear_env: true
        """, env={"HOME": "/root"})
        wait_for(lambda: "A=one" in log_of(s, "envy"), what="envy output")
        line = log_of(s, "envy")
        self.assertIn("A=one B=two words HOME_SET=yes SVC=envy CWD=/tmp NOFILE=123 CORE=0", line)
        wait_for(lambda: "HOME=" in log_of(s, "clean"), what="clean output")
        self.assertIn("HOME=unset PATH_SET=yes", log_of(s, "clean"))

    def test_vigil_own_notify_socket_never_leaks(self):
        s = self.stack("""
        services:
          plain:
            cmd: [sh, -c, "echo NS=[$NOTIFY_SOCKET] WD=[$WATCHDOG_USEC]; exec sleep 100"]
        """, env={"NOTIFY_SOCKET": "/nonexistent/vigil-parent.sock", "WATCHDOG_USEC": "5"})
        wait_for(lambda: "NS=" in log_of(s, "plain"), what="output")
        self.assertIn("NS=[] WD=[]", log_of(s, "plain"))

    def test_exec_failure_has_a_precise_reason(self):
        s = self.stack("""
        services:
          missing:
            cmd: [/nonexistent/program, --flag]
            restart: {delay: 50ms, max_restarts: 2}
          badcwd:
            cmd: ["@SIM@"]
            cwd: /nonexistent/dir
            restart: never
        """)
        info = s.wait_state("missing", "fatal")
        self.assertEqual(info["last_exit"]["code"], 127)
        ev = [e for e in s.events() if e.get("msg") == "cannot start service" and e.get("service") == "missing"]
        self.assertEqual("cannot execute /nonexistent/program: No such file or directory", ev[0]["error"])
        wait_for(lambda: "cannot chdir to '/nonexistent/dir'" in (s.service("badcwd")["reason"] or "")
                 or any("cannot chdir" in e.get("error", "") for e in s.events()), what="chdir error")

    @unittest.skipUnless(os.geteuid() == 0, "dropping privileges needs root")
    def test_user_and_group(self):
        s = self.stack("""
        services:
          dropped:
            cmd: [sh, -c, "echo ID=$(id -u):$(id -g); exec sleep 100"]
            user: nobody
            group: nogroup
        """)
        wait_for(lambda: "ID=" in log_of(s, "dropped"), what="id output")
        import grp, pwd
        want = f"ID={pwd.getpwnam('nobody').pw_uid}:{grp.getgrnam('nogroup').gr_gid}"
        self.assertIn(want, log_of(s, "dropped"))

    def test_log_rotation_by_size(self):
        s = self.stack("""
        services:
          chatty:
            cmd: [sh, -c, "i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo done; exec sleep 100"]
            log: {max_size: 4KiB, keep: 2, echo: false}
        """)
        base = os.path.join(s.state_dir, "logs", "chatty.log")
        wait_for(lambda: "done" in log_of(s, "chatty"), what="all output")
        files = sorted(glob.glob(base + "*"))
        self.assertEqual(files, [base, base + ".1", base + ".2"])
        for f in files:
            self.assertLessEqual(os.path.getsize(f), 4096 + 200)
        self.assertIn("line-399-", log_of(s, "chatty") + open_read(base + ".1"))
        # logs -n reaches across the rotation
        out = s.cli("logs", "chatty", "-n", "60", check=0).stdout
        self.assertEqual(len(out.splitlines()), 60)
        self.assertTrue(out.splitlines()[-1].endswith("stdout done"))
        # vigil's own log did not get the lines (echo: false)
        self.assertNotIn("line-10-", s.logs_text())


if __name__ == "__main__":
    unittest.main()
