"""A program that does not exist: `vigil check` warns (with the position of cmd), the
service's status says "cannot execute PATH: No such file or directory" (not "exited with
code 127", a code the service never returned), and compute records the attempt as a
spawn failure (not `dataerr`, which is exit 65)."""
import json
import subprocess

from harness import VIGIL, SIM, Stack, VigilTest, wait_for
from test_compute import Desk


class SpawnFailureTest(VigilTest):
    def test_check_warns_about_a_program_it_cannot_find(self):
        st = Stack("""
        services:
          missing:
            cmd: [/nonexistent/program, --flag]
          bare:
            cmd: [no-such-program-vigil-test]
          notexec:
            cmd: [./vigil.yaml]
          fine:
            cmd: ["@SIM@"]
          shell:
            cmd: "exec sleep 1"
            shell: true
          onpath:
            cmd: [sh, -c, "exit 0"]
        """)
        r = subprocess.run([VIGIL, "check", st.config_path], capture_output=True, text=True,
                           cwd=st.dir, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)  # a warning, not an error
        lines = r.stderr.splitlines()
        self.assertIn(f"{st.config_path}:6:10: warning: service 'missing': cannot execute "
                      "/nonexistent/program: No such file or directory", lines)
        self.assertTrue(any(l.startswith(f"{st.config_path}:8:10: warning: service 'bare': cannot "
                                         "execute no-such-program-vigil-test: No such file or "
                                         "directory (searched PATH=") for l in lines), lines)
        self.assertTrue(any("service 'notexec': cannot execute " in l and "Permission denied" in l
                            for l in lines), lines)
        self.assertEqual(len(lines), 3, lines)

    def test_status_says_cannot_execute(self):
        s = self.stack("""
        services:
          missing:
            cmd: [/nonexistent/program]
            restart: {delay: 200ms, max_restarts: 2}
        """)
        info = s.wait_state("missing", "backoff")
        self.assertEqual(info["reason"], "cannot execute /nonexistent/program: No such file or directory")
        info = s.wait_state("missing", "fatal")
        self.assertIn("cannot execute /nonexistent/program: No such file or directory", info["reason"])
        self.assertNotIn("code 127", info["reason"])
        r = s.cli("status")
        self.assertIn("cannot execute /nonexistent/program: No such file or directory", r.stdout)
        self.assertNotIn("exited with code 127", r.stdout)

    def test_compute_records_a_spawn_failure(self):
        d = Desk(self, """\
            ghost: {cmd: [/nonexistent/calc, "{out}"], retries: 3}
            """, days=1)
        r = d.run()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(d.attempts("ghost"), 1)  # deterministic: not retried
        self.assertEqual(d.attempts("ghost", "spawn"), 1)
        self.assertEqual(d.attempts("ghost", "dataerr"), 0)
        dead = json.loads(d.vigil("compute", "dead", "--json").stdout)["dead"]
        self.assertEqual([x["reason"] for x in dead],
                         ["cannot start /nonexistent/calc: No such file or directory"])


if __name__ == "__main__":
    import unittest
    unittest.main()
