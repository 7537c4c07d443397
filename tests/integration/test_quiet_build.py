"""`make run` builds quietly (issue: sixty lines of make chatter before the demo's banner):
scripts/build.sh prints one line when the build works, and the compiler's errors in full,
without make's directory and progress lines, when it does not."""
import os
import subprocess
import tempfile
import textwrap
import unittest


SOURCE = os.path.abspath(os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../..")))
SCRIPT = os.path.join(SOURCE, "scripts/build.sh")
CHATTER = ("Entering directory", "Leaving directory", "Building C object", "Built target")


def project(broken):
    """A small CMake project in a temp dir (not the tree's own build, which other tests
    are running from): a library and a program, the program's source broken or not."""
    src = tempfile.mkdtemp(prefix="vigil-quiet-src-")
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write(textwrap.dedent("""\
            cmake_minimum_required(VERSION 3.18)
            project(quiet C)
            add_library(ok STATIC ok.c)
            add_executable(prog prog.c)
            target_link_libraries(prog ok)
        """))
    with open(os.path.join(src, "ok.c"), "w") as f:
        f.write("int ok(void) { return 1; }\n")
    with open(os.path.join(src, "prog.c"), "w") as f:
        f.write("int main(void) { return undeclared_name_42; }\n" if broken else
                "int ok(void);\nint main(void) { return ok() - 1; }\n")
    return src


def build(src):
    return subprocess.run([SCRIPT, os.path.join(src, "build"), "Debug"], cwd=SOURCE,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, SRC=src, JOBS="1"))


class QuietBuildTest(unittest.TestCase):
    def test_a_good_build_prints_one_line(self):
        src = project(broken=False)
        for _ in range(2):  # a fresh build, then an up-to-date one
            r = build(src)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 0, out)
            self.assertEqual(len(out.strip().splitlines()), 1, out)
            for word in CHATTER:
                self.assertNotIn(word, out)
        self.assertTrue(os.access(os.path.join(src, "build", "prog"), os.X_OK))

    def test_failed_build_shows_the_error_without_chatter(self):
        r = build(project(broken=True))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("prog.c:1:", r.stderr)
        self.assertIn("undeclared_name_42", r.stderr)
        self.assertIn("FAILED", r.stderr)
        for word in CHATTER:
            self.assertNotIn(word, r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main()
