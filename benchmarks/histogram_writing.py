"""Time to write one epoch of weight histograms: L2Monitor's way against Keras's.

Keras's TensorBoard callback writes `tf.summary.histogram(weight)` for every
weight; L2Monitor computes the buckets with NumPy and writes the same
summary format. Both write the documented CNN's 8 weight variables (4.35M
weights) into event files, alternating, and the median times are compared.

Usage:
    python benchmarks/histogram_writing.py [--repeats 15]
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from l2board.training.models import documented_cnn  # noqa: E402
from l2board.writing.histograms import histogram_buckets  # noqa: E402
from l2board.writing.summary_writing import RunWriter  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model = documented_cnn()
    with tempfile.TemporaryDirectory() as root:
        ours = RunWriter(os.path.join(root, "ours"))
        keras_writer = tf.summary.create_file_writer(os.path.join(root, "keras"))

        def l2board_way(step):
            # What L2Monitor does at an epoch end: read the weights, bucket, write.
            weights = {f"weight_histogram/{v.path}": histogram_buckets(v.value.numpy()) for v in model.weights}
            ours.histograms(weights, step)
            ours.flush()

        def keras_way(step):
            # What keras.callbacks.TensorBoard._log_weights does.
            with keras_writer.as_default():
                for layer in model.layers:
                    for weight in layer.weights:
                        tf.summary.histogram(f"{weight.path}/histogram", weight, step=step)
            keras_writer.flush()

        times = {"L2Monitor": [], "Keras TensorBoard": []}
        ways = {"L2Monitor": l2board_way, "Keras TensorBoard": keras_way}
        for step in range(args.repeats + 1):
            for name in (list(ways) if step % 2 else list(reversed(ways))):
                start = time.perf_counter()
                ways[name](step)
                if step:  # the first call of each includes tracing and warm-up
                    times[name].append(time.perf_counter() - start)
    weights = sum(int(v.numpy().size) for v in model.weights)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{weights:,} weights in {len(model.weights)} variables, {args.repeats} epochs each")
    for name, median in medians.items():
        print(f"{name:18s} median {1000 * median:7.1f} ms per epoch")
    print(f"L2Monitor / Keras TensorBoard = {medians['L2Monitor'] / medians['Keras TensorBoard']:.3f}")


if __name__ == "__main__":
    main()
