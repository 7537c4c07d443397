"""`vigil logs` against a service that writes terminal control sequences: printed
escaped by default (\\xNN), as they are with --raw (issue 17, item 3)."""
import os
import subprocess
import threading
import time

from harness import VIGIL, Stack, VigilTest, wait_for

# ESC[2J clears the screen, OSC 0 sets the window title, BEL rings, CR hides "secret"
SCRIPT = r"printf 'a\033[2Jb\033]0;pwned\007c secret\rX\177\tend\n'; exec sleep 100"
ESCAPED = b"a\\x1b[2Jb\\x1b]0;pwned\\x07c secret\\x0dX\\x7f\tend"
RAW = b"a\x1b[2Jb\x1b]0;pwned\x07c secret\rX\x7f\tend"


class LogsTest(VigilTest):
    def test_control_bytes_are_escaped_unless_raw(self):
        s = Stack("""
        services:
          talker:
            cmd: [sh, "@DIR@/talk.sh"]
        """)
        with open(os.path.join(s.dir, "talk.sh"), "w") as f:
            f.write(SCRIPT + "\n")
        self.stacks.append(s)
        s.start()
        wait_for(lambda: b"end" in s.request("GET", "/api/v1/services/talker/logs")[1],
                 what="the line in the log")
        run = lambda *a: subprocess.run([VIGIL, "-c", s.config_path, "logs", "talker", *a],
                                        capture_output=True, timeout=30)
        r = run()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(ESCAPED, r.stdout)
        for ch in range(0x20):
            if ch not in (0x0a, 0x09):
                self.assertNotIn(bytes([ch]), r.stdout, hex(ch))
        self.assertNotIn(b"\x7f", r.stdout)
        r = run("--raw")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(RAW, r.stdout)
        # following escapes too
        p = subprocess.Popen([VIGIL, "-c", s.config_path, "logs", "talker", "-f", "-n", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = []
        t = threading.Thread(target=lambda: out.append(p.stdout.read()))
        t.start()
        time.sleep(1.0)
        p.terminate()
        t.join(10)
        p.wait(10)
        self.assertIn(ESCAPED, out[0])
        self.assertNotIn(b"\x1b", out[0])


if __name__ == "__main__":
    import unittest
    unittest.main()
