"""Golden Arrow files: written by the official implementation (the apache-arrow npm
package, run with the machine's Node.js: tests/arrow/golden.mjs), read by vigil's
reader through `vigil arrow cat --json`, compared field by field with the values the
writer was handed. Compressed bodies: apache-arrow 18 cannot write (or read) them, so
the same files are rewritten with LZ4_FRAME and ZSTD bodies by tests/helpers/
arrow_recompress.c (every buffer compressed, or every other one left raw with the -1
length) and must read back to the same values.
"""
import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BUILD, VIGIL

SOURCE = os.environ.get("VIGIL_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
RECOMPRESS = os.path.abspath(os.path.join(BUILD, "arrow_recompress"))


def same(a, b):
    """Exact equality of parsed JSON values (floats too; NaN is a string in both)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            float(a) == float(b) and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class ArrowGolden(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        node = shutil.which("node")
        if not node:
            raise AssertionError("node is not installed: run scripts/deps.sh")
        if not os.path.isdir(os.path.join(SOURCE, "node_modules", "apache-arrow")):
            raise AssertionError("node_modules/apache-arrow is missing: run scripts/deps.sh")
        cls.dir = tempfile.mkdtemp(prefix="vigil-arrow-golden-")
        subprocess.run([node, os.path.join(SOURCE, "tests/arrow/golden.mjs"), cls.dir], check=True,
                       cwd=SOURCE, stdout=subprocess.DEVNULL)
        for name in ("types.arrow", "types.stream", "replace.stream"):
            for codec in ("lz4", "zstd"):
                for alt in (False, True):
                    out = os.path.join(cls.dir, f"{codec}{'-raw' if alt else ''}.{name}")
                    subprocess.run([RECOMPRESS, os.path.join(cls.dir, name), out, codec]
                                   + (["--alt-raw"] if alt else []), check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def cat(self, path, *args):
        r = subprocess.run([VIGIL, "arrow", "cat", path, *args], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"vigil arrow cat {path} {args}: {r.stderr}")
        return r.stdout

    def expected(self, base):
        with open(os.path.join(self.dir, base + ".expected.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]

    def check_rows(self, path, base, rows=None, *args):
        want = self.expected(base) if rows is None else rows
        got = [json.loads(line) for line in self.cat(path, "--json", *args).splitlines()]
        self.assertEqual(len(got), len(want), f"{path}: row count")
        checked = 0
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertEqual(list(g.keys()), list(w.keys()), f"{path} row {i}: columns")
            for k in w:
                self.assertTrue(same(g[k], w[k]), f"{path} row {i} field {k}: read {g[k]!r}, written {w[k]!r}")
                checked += 1
        return checked

    def check_schema(self, path, base):
        with open(os.path.join(self.dir, base + ".schema.json")) as f:
            want = json.load(f)
        got = json.loads(self.cat(path, "--schema", "--json"))
        self.assertEqual({f["name"]: f["type"] for f in got["schema"]}, want, path)
        return got

    def test_types_file_and_stream(self):
        n = 0
        for name in ("types.arrow", "types.stream"):
            n += self.check_rows(os.path.join(self.dir, name), "types")
            s = self.check_schema(os.path.join(self.dir, name), "types")
            self.assertEqual(s["format"], "file" if name.endswith(".arrow") else "stream")
        print(f"golden: {n} values of 38 columns, file and stream, equal to what apache-arrow wrote")

    def test_types_compressed(self):
        n = 0
        for codec in ("lz4", "zstd", "lz4-raw", "zstd-raw"):
            for name in ("types.arrow", "types.stream"):
                n += self.check_rows(os.path.join(self.dir, f"{codec}.{name}"), "types")
        print(f"golden: {n} values read back from LZ4_FRAME and ZSTD bodies")

    def test_dictionary_replacement_stream(self):
        for prefix in ("", "lz4.", "zstd."):
            path = os.path.join(self.dir, prefix + "replace.stream")
            self.check_rows(path, "replace")
            self.check_schema(path, "replace")

    def test_empty_file(self):
        path = os.path.join(self.dir, "empty.arrow")
        self.assertEqual(self.cat(path, "--json"), "")
        self.assertEqual(self.check_schema(path, "empty")["batches"], 0)

    def test_batch_selection(self):
        rows = self.expected("types")
        sizes = [7, 5, 300]
        start = 0
        for b, n in enumerate(sizes):
            for name in ("types.arrow", "types.stream", "zstd.types.arrow"):
                self.check_rows(os.path.join(self.dir, name), "types", rows[start:start + n], "--batch", str(b))
            start += n
        r = subprocess.run([VIGIL, "arrow", "cat", "--batch=3", os.path.join(self.dir, "types.arrow")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such batch", r.stderr)

    def test_csv(self):
        out = self.cat(os.path.join(self.dir, "replace.stream"), "--csv")
        self.assertEqual(out.splitlines()[0], "sym,px")
        self.assertEqual(len(out.splitlines()), 1 + len(self.expected("replace")))
        self.assertIn("BTC,100.25", out)

    def test_stdin_and_usage(self):
        with open(os.path.join(self.dir, "replace.stream"), "rb") as f:
            r = subprocess.run([VIGIL, "arrow", "cat", "-", "--json"], stdin=f, capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), len(self.expected("replace")))
        self.assertEqual(subprocess.run([VIGIL, "arrow", "cat"], capture_output=True).returncode, 2)
        self.assertEqual(subprocess.run([VIGIL, "arrow", "cat", "--help"], capture_output=True).returncode, 0)
        self.assertEqual(subprocess.run([VIGIL, "arrow", "cat", "x", "--batch", "z"], capture_output=True).returncode, 2)

    def test_malformed_names_batch_field_offset(self):
        # corrupt the last batch's utf8 data so it stops being UTF-8: error names all three
        src = os.path.join(self.dir, "replace.stream")
        with open(src, "rb") as f:
            data = bytearray(f.read())
        i = data.rfind(b"SOL")
        self.assertGreater(i, 0)
        data[i] = 0xff
        bad = os.path.join(self.dir, "bad.stream")
        with open(bad, "wb") as f:
            f.write(data)
        r = subprocess.run([VIGIL, "arrow", "cat", bad], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("field 'sym'", r.stderr)
        self.assertIn(f"byte {i}", r.stderr)
        self.assertIn("invalid UTF-8", r.stderr)
        # truncated file
        with open(bad, "wb") as f:
            f.write(open(os.path.join(self.dir, "types.arrow"), "rb").read()[:-3])
        r = subprocess.run([VIGIL, "arrow", "cat", bad], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("truncated", r.stderr)


if __name__ == "__main__":
    unittest.main()
