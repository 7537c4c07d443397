"""Crash test of the whole store: store_writer writes numbered batches (sync: batch)
while its background thread flushes, compacts and truncates the log; we SIGKILL it at
random moments, then check that every batch it reported is there exactly — no loss, no
duplicate, no altered or corrupt read — and let it carry on in the same store."""
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BUILD

WRITER = os.path.abspath(os.path.join(BUILD, "store_writer"))
ITERATIONS = 12 if os.environ.get("VIGIL_SANITIZED") == "1" else 30


class StoreCrashTest(unittest.TestCase):
    def test_kill_9_at_random_moments(self):
        rng = random.Random(20261123)
        with tempfile.TemporaryDirectory(prefix="vigil-storecrash-") as tmp:
            d = os.path.join(tmp, "store")
            acked = 0
            for it in range(ITERATIONS):
                proc = subprocess.Popen([WRITER, "write", d], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
                lines = []
                reader = threading.Thread(target=lambda: lines.extend(proc.stdout))
                reader.start()
                time.sleep(rng.uniform(0.05, 0.6))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                reader.join()
                err = proc.stderr.read().decode()
                proc.stdout.close()
                proc.stderr.close()
                self.assertEqual(proc.returncode, -signal.SIGKILL, f"writer failed: {err}")
                for x in lines:
                    if not x.endswith(b"\n"):
                        continue  # cut by the kill
                    # "start B": B was found in the store, so it is durable even if the
                    # run that wrote it was killed before reporting it
                    acked = max(acked, int(x.split()[-1]))
                p = subprocess.run([WRITER, "check", d, str(acked)], capture_output=True,
                                   text=True, timeout=120)
                self.assertEqual(p.returncode, 0, f"iteration {it}: {p.stderr}{p.stdout}")
                self.assertNotIn("corrupt", p.stderr)
            self.assertGreater(acked, 100, "the writer should have made progress")
            blocks = int(p.stdout.split("blocks=")[1])
            self.assertGreater(blocks, 0, "flushes should have happened between kills")


if __name__ == "__main__":
    unittest.main()
