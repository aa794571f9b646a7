"""What L2Monitor's end-of-epoch measurement costs, and how histogram counts are best made, on this backend.

On the documented CNN's weights (4.35M), side by side in one process:
- histogram counts of the largest variable (fc1/kernel, 4.2M values) by a
  segment sum against a bincount, run eagerly (`keras.ops`);
- `DeviceStatistics.measure` (penalties, norms, histograms and 32 penalty
  samples, one transfer) against copying every weight to the host and
  computing the same in NumPy, as L2Monitor did before.

Each is run `--repeats` times after a warm-up; medians and their ratio are
printed. Run once per backend: `KERAS_BACKEND=jax python
benchmarks/device_statistics.py`.

With `--baseline FILE`, an earlier `device_statistics.py` (say `git show
REV:l2board/writing/device_statistics.py > FILE`) measures the same model
in the same process: each tree's first call (its compilation on JAX, its
tracing on TensorFlow), then the two alternating call by call, so that
both see the same machine; the ratio of the medians is printed.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from l2board.training.models import documented_cnn  # noqa: E402
from l2board.writing.device_statistics import DeviceStatistics  # noqa: E402
from l2board.writing.histograms import histogram_buckets  # noqa: E402
from l2board.writing.model_inspection import penalized_weights  # noqa: E402
from l2board.writing.weight_math import weight_norms  # noqa: E402

BUCKETS = 30


def median_seconds(function, repeats):
    function()  # warm-up (and compilation on JAX)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def alternating(functions, repeats):
    """`({name: first call's seconds}, {name: median of the later calls})`, the functions called in turn."""
    first, times = {}, {name: [] for name in functions}
    for name, function in functions.items():
        start = time.perf_counter()
        function()
        first[name] = time.perf_counter() - start
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return first, {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", default=None, help="an earlier tree's device_statistics.py to time beside this one")
    args = parser.parse_args()
    model = documented_cnn(l2=0.01, l2_layers="all")
    largest = max(model.weights, key=lambda v: int(np.prod(v.shape)))
    index = ops.convert_to_tensor(np.random.default_rng(0).integers(0, BUCKETS, int(np.prod(largest.shape)),
                                                                    dtype=np.int32))
    ones = ops.ones_like(index)
    counting = {
        "segment sum": lambda: ops.convert_to_numpy(ops.segment_sum(ones, index, num_segments=BUCKETS)),
        "bincount": lambda: ops.convert_to_numpy(ops.bincount(index, minlength=BUCKETS)),
    }
    statistics_ = DeviceStatistics(model.weights, penalized_weights(model), {})  # as L2Monitor measures
    statistics_.start()
    initial = [np.array(ops.convert_to_numpy(v.value)) for v in model.weights]

    penalized = penalized_weights(model)

    def on_the_host():
        # The earlier design: 32 eager penalty sums read one by one, every weight
        # copied to the host, norms and histograms in NumPy.
        samples = [ops.sum(ops.stack([v.regularizer(v) for v in penalized])) for _ in range(32)]
        [float(ops.convert_to_numpy(sample)) for sample in samples]
        weights = [np.array(ops.convert_to_numpy(v.value)) for v in model.weights]
        for now, start in zip(weights, initial):
            weight_norms(now, start)
            histogram_buckets(now, BUCKETS)

    measuring = {"host copy + NumPy": on_the_host}
    trees = {"on the device, one read": lambda: statistics_.measure([statistics_.penalty() for _ in range(32)],
                                                                     BUCKETS)}
    if args.baseline:
        import importlib.util

        spec = importlib.util.spec_from_file_location("baseline_device_statistics", args.baseline)
        baseline = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(baseline)
        earlier = baseline.DeviceStatistics(model.weights, penalized_weights(model), {})
        earlier.start()
        trees["the baseline's, one read"] = lambda: earlier.measure([earlier.penalty() for _ in range(32)], BUCKETS)
    print(f"Keras {keras.__version__} on {keras.backend.backend()}, {args.repeats} repeats, medians:")
    medians = {}
    for name, function in {**counting, **measuring}.items():
        medians[name] = median_seconds(function, args.repeats)
        print(f"  {name:26s} {1000 * medians[name]:8.1f} ms")
    first, later = alternating(trees, args.repeats)
    medians.update(later)
    for name in trees:
        print(f"  {name:26s} {1000 * medians[name]:8.1f} ms (its first call {first[name]:.3f} s)")
    print(f"bincount / segment sum ({int(np.prod(largest.shape)):,} values): "
          f"{medians['bincount'] / medians['segment sum']:.3f}")
    print(f"device measurement / host copy + NumPy: "
          f"{medians['on the device, one read'] / medians['host copy + NumPy']:.3f}")
    if args.baseline:
        mine, theirs = "on the device, one read", "the baseline's, one read"
        print(f"this tree's measurement / the baseline's: {medians[mine] / medians[theirs]:.3f} (alternating); "
              f"first calls {first[mine]:.3f} s against {first[theirs]:.3f} s")


if __name__ == "__main__":
    main()
