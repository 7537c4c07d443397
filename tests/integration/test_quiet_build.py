"""`make run` builds quietly (issue: sixty lines of make chatter before the demo's banner):
scripts/build.sh prints one line when the build works, and the compiler's errors in full,
without make's directory and progress lines, when it does not."""
import os
import subprocess
import tempfile
import textwrap
import unittest

from harness import BUILD

SOURCE = os.path.abspath(os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../..")))
SCRIPT = os.path.join(SOURCE, "scripts/build.sh")
CHATTER = ("Entering directory", "Leaving directory", "Building C object", "Built target")


def cached_build_type(build):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_BUILD_TYPE:"):
                return line.split("=", 1)[1].strip()
    return "RelWithDebInfo"


class QuietBuildTest(unittest.TestCase):
    def test_up_to_date_build_prints_one_line(self):
        build = os.path.abspath(BUILD)
        r = subprocess.run([SCRIPT, build, cached_build_type(build)], cwd=SOURCE,
                           capture_output=True, text=True, timeout=600)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        for word in CHATTER:
            self.assertNotIn(word, out)

    def test_failed_build_shows_the_error_without_chatter(self):
        src = tempfile.mkdtemp(prefix="vigil-quiet-src-")
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write(textwrap.dedent("""\
                cmake_minimum_required(VERSION 3.18)
                project(broken C)
                add_library(ok STATIC ok.c)
                add_executable(broken broken.c)
                target_link_libraries(broken ok)
            """))
        with open(os.path.join(src, "ok.c"), "w") as f:
            f.write("int ok(void) { return 1; }\n")
        with open(os.path.join(src, "broken.c"), "w") as f:
            f.write("int main(void) { return undeclared_name_42; }\n")
        build = os.path.join(src, "build")
        r = subprocess.run([SCRIPT, build, "Debug"], cwd=SOURCE, capture_output=True,
                           text=True, timeout=300, env=dict(os.environ, SRC=src, JOBS="1"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("broken.c:1:", r.stderr)
        self.assertIn("undeclared_name_42", r.stderr)
        self.assertIn("FAILED", r.stderr)
        for word in CHATTER:
            self.assertNotIn(word, r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main()
