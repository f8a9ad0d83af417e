#!/usr/bin/env python3
"""The disk's own latency for what a durable verdict waits on (bench/README.md): appends of 4 KiB,
each followed by fdatasync, as a WAL commit does, at a fixed rate in a directory of the
filesystem under test. Prints JSON: the rate, the number of syncs and their p50, p99, max in µs.

usage: fsync_probe.py DIR [RATE [SECONDS]]
"""
import json
import os
import sys
import tempfile
import time


def main():
    directory = sys.argv[1]
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 1000.0
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
    block = os.urandom(4096)
    samples = []
    with tempfile.NamedTemporaryFile(dir=directory, prefix="fsync-probe.") as f:
        fd = f.fileno()
        start = time.monotonic()
        for k in range(int(rate * seconds)):
            # Open loop, as streamgate-bench --rate: append k is due at k / rate.
            due = start + k / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            began = time.monotonic()
            os.write(fd, block)
            os.fdatasync(fd)
            samples.append((time.monotonic() - began) * 1e6)
    samples.sort()
    n = len(samples)
    print(json.dumps({"rate": rate, "syncs": n, "p50_us": round(samples[n // 2]),
                      "p99_us": round(samples[min(n - 1, n * 99 // 100)]),
                      "max_us": round(samples[-1])}))


if __name__ == "__main__":
    main()
