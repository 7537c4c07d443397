#!/usr/bin/env python3
"""bench/compute/ninja_state.py DIR: writes the state a finished `ninja` build of
DIR/build.ninja leaves — every output file, newer than its inputs, and .ninja_log (v5)
with each output's mtime and command hash — without running 365,000 commands.

`ninja -n` then answering "no work to do" proves the state is what ninja itself would
have written; bench.py checks that before timing anything. The command hash is ninja's
MurmurHash64A (src/build_log.cc, ninja 1.11).
"""
import os
import sys

M = 0xC6A4A7935BD1E995
MASK = (1 << 64) - 1


def murmur64a(data):
    h = (0xDECAFBADDECAFBAD ^ (len(data) * M)) & MASK
    n = len(data) // 8 * 8
    for i in range(0, n, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (k * M) & MASK
        k ^= k >> 47
        k = (k * M) & MASK
        h ^= k
        h = (h * M) & MASK
    rest = data[n:]
    if rest:
        for j in range(len(rest) - 1, -1, -1):
            h ^= rest[j] << (8 * j)
        h = (h * M) & MASK
    h ^= h >> 47
    h = (h * M) & MASK
    h ^= h >> 47
    return h


def main():
    d = sys.argv[1]
    edges = []
    with open(os.path.join(d, "build.ninja")) as f:
        for line in f:
            if line.startswith("build "):
                out = line[6:].split(":", 1)[0]
                edges.append(out)
    # outputs in file order (dependencies come first), so mtimes ascend along edges
    with open(os.path.join(d, ".ninja_log"), "w") as log:
        log.write("# ninja log v5\n")
        for out in edges:
            path = os.path.join(d, out)
            with open(path, "w"):
                pass
            st = os.stat(path)
            h = murmur64a(f"touch {out}".encode())
            log.write(f"0\t1\t{st.st_mtime_ns}\t{out}\t{h:x}\n")


if __name__ == "__main__":
    main()
