"""Time to write one epoch of L2Monitor's summaries: the TF-free writer against tf.summary.

`EventFileRunWriter` (L2Monitor's writer of local folders) and `RunWriter`
(tf.summary, which it uses for folders named by URLs on TensorFlow) each write, per epoch, `--scalars` scalars, `--histograms`
histograms of `--weights` weights each and one flush, alternating, into
their own event files; the medians and their ratio are printed. The weights
are small so that the writing, not the NumPy bucketing both share, is
timed. Also timed, each in a fresh Python: importing a writer and opening
a run folder, which on JAX or PyTorch is the whole cost of TensorFlow's
import.

Usage:
    python benchmarks/event_writing.py [--epochs 30] [--scalars 100] [--histograms 10]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

_OPEN = """
import time, tempfile
start = time.perf_counter()
from {module} import {name}
{name}(tempfile.mkdtemp()).close()
print(time.perf_counter() - start)
"""
_WRITERS = {"EventFileRunWriter": "l2board.writing.event_writer", "RunWriter": "l2board.writing.summary_writing"}


def time_epochs(args, root):
    from l2board.writing.event_writer import EventFileRunWriter
    from l2board.writing.histograms import histogram_buckets
    from l2board.writing.summary_writing import RunWriter

    writers = {"EventFileRunWriter": EventFileRunWriter(os.path.join(root, "ours")),
               "RunWriter": RunWriter(os.path.join(root, "tf"))}
    rng = np.random.default_rng(0)
    histograms = {f"weight_histogram/layer{i}/kernel": histogram_buckets(rng.normal(size=args.weights).astype(np.float32))
                  for i in range(args.histograms)}
    times = {name: [] for name in writers}
    for epoch in range(args.epochs + 1):
        scalars = {f"weight_norm/l2/layer{i}/kernel": float(rng.random()) for i in range(args.scalars)}
        for name in (list(writers) if epoch % 2 else list(reversed(writers))):
            start = time.perf_counter()
            writers[name].scalars(scalars, epoch)
            writers[name].histograms(histograms, epoch)
            writers[name].flush()
            if epoch:  # the first epoch of each includes TensorFlow's tracing and warm-up
                times[name].append(time.perf_counter() - start)
    for writer in writers.values():
        writer.close()
    return {name: statistics.median(t) for name, t in times.items()}


def time_opening(repeats):
    """Median seconds to import each writer and open a run folder in a fresh Python."""
    medians = {}
    for name, module in _WRITERS.items():
        runs = [float(subprocess.run([sys.executable, "-c", _OPEN.format(module=module, name=name)],
                                     capture_output=True, text=True, check=True).stdout) for _ in range(repeats)]
        medians[name] = statistics.median(runs)
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--scalars", type=int, default=100)
    parser.add_argument("--histograms", type=int, default=10)
    parser.add_argument("--weights", type=int, default=1000)
    parser.add_argument("--opening-repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        epoch = time_epochs(args, root)
    print(f"{args.scalars} scalars + {args.histograms} histograms of {args.weights} weights + flush, "
          f"median of {args.epochs} epochs:")
    for name, median in epoch.items():
        print(f"  {name:18s} {1000 * median:7.2f} ms per epoch")
    print(f"  EventFileRunWriter / RunWriter = {epoch['EventFileRunWriter'] / epoch['RunWriter']:.3f}")
    opening = time_opening(args.opening_repeats)
    print(f"import + open a run folder in a fresh Python, median of {args.opening_repeats}:")
    for name, median in opening.items():
        print(f"  {name:18s} {median:7.2f} s")
    print(f"  EventFileRunWriter / RunWriter = {opening['EventFileRunWriter'] / opening['RunWriter']:.3f}")


if __name__ == "__main__":
    main()
