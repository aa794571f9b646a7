"""Wall time and peak memory of the README's main command, `l2board demo`.

Runs `l2board demo` as a child process in a temporary folder and reports
its wall time and the peak resident memory of the child (getrusage).

Usage:
    python benchmarks/demo_cost.py
"""

import resource
import subprocess
import sys
import tempfile
import time

from compare_command import installed_program  # benchmarks/, beside this script


def main():
    l2board = installed_program("l2board")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = subprocess.run([l2board, "demo"], cwd=folder, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if result.returncode != 0:
        sys.exit(f"l2board demo failed:\n{result.stderr[-2000:]}")
    print(result.stdout[-3000:])
    print(f"l2board demo: wall time {seconds:.0f} s, peak memory {peak_mib:.0f} MiB")
    print("budget (at most 3 minutes):", "met" if seconds <= 180 else "NOT met")


if __name__ == "__main__":
    main()
