"""Warm `l2board compare` of a log set whose parse-cache entries exceed the cache's cap.

A read of a set larger than the parse cache's cap (`L2BOARD_CACHE_MAX_MB`)
is the cyclic access that least-recently-used eviction handles worst: each
read can evict what the next one needs first. This script reads the set
of `thousand_runs.py` (written there once if missing) with a cap below its
entries (default 80 MB; the 1,000 runs' entries take about 83 MiB): a first,
cold call, then `--warm` calls, each a fresh process, each tree with a
cache folder of its own. With `--baseline-source`, another l2board source
tree does the same, its calls alternating with this tree's; the medians of
the warm calls and their ratio are printed.

Usage:
    python benchmarks/parse_cache_cap.py --logdir /tmp/l2board-thousand [--cap-mb 80] [--warm 3]
        [--baseline-source /path/to/an/older/checkout]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from compare_command import check_tree  # benchmarks/, beside this script
from thousand_runs import log_set

THIS_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def call(source, logdir, cache, cap_mb):
    """Seconds of one whole `compare` process run from `source`, and what it wrote to stderr."""
    env = dict(os.environ, XDG_CACHE_HOME=cache, L2BOARD_CACHE_MAX_MB=str(cap_mb),
               PYTHONPATH=os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    env.pop("L2BOARD_CACHE", None)
    check_tree(source, env)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-P", "-c", "from l2board.cli import main; main()", "compare", logdir,
                             "--format", "csv"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"compare from {source} failed:\n{result.stderr[-2000:]}")
    return seconds, result.stderr.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", required=True, help="the log set of thousand_runs.py (written there if missing)")
    parser.add_argument("--cap-mb", type=float, default=80.0)
    parser.add_argument("--warm", type=int, default=3, help="warm calls per tree after the cold one")
    parser.add_argument("--baseline-source", help="another l2board source tree, read beside this one")
    args = parser.parse_args()
    logdir = log_set(args.logdir)
    sources = {"this tree": THIS_TREE}
    if args.baseline_source:
        sources["baseline"] = os.path.abspath(args.baseline_source)
    scratch = tempfile.mkdtemp(prefix="l2board-cap-")
    try:
        caches = {name: os.path.join(scratch, name.replace(" ", "-")) for name in sources}
        times = {name: [] for name in sources}
        for index in range(args.warm + 1):
            for name, source in (sources.items() if index % 2 == 0 else reversed(sources.items())):
                seconds, said = call(source, logdir, caches[name], args.cap_mb)
                times[name].append(seconds)
                print(f"{name:10s} {'cold' if index == 0 else 'warm'} {seconds:6.2f} s"
                      + (f"   stderr: {said[:160]}" if said else ""), flush=True)
        print(f"\ncap {args.cap_mb:g} MB, medians of {args.warm} warm calls:")
        medians = {name: statistics.median(t[1:]) for name, t in times.items()}
        for name, median in medians.items():
            print(f"  {name:10s} {median:6.2f} s (cold {times[name][0]:.2f} s)")
        if args.baseline_source:
            print(f"this tree / baseline, warm: {medians['this tree'] / medians['baseline']:.3f}")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
