"""Training throughput of `l2board train` against a bare `model.fit`, side by side.

Both train the documented CNN on the same data (scikit-learn's digits as
32x32x3 images, all 1,348 training images, batch 32), from the same seed:
`l2board.training.runs.train_run` (what `l2board train` runs: L2Monitor with
histograms every epoch) and `model.fit` with no callback. Fits alternate,
the order swapping every round; each fit trains `--epochs` epochs and the
first (tracing) is not counted. Printed: median images per second of each
and the median of the per-round ratios.

Usage:
    python benchmarks/train_throughput.py [--rounds 5] [--epochs 3]
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from l2board.training.datasets import load_dataset  # noqa: E402
from l2board.training.runs import TrainingConfig, build_model, train_run  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    config = TrainingConfig(dataset="digits", epochs=args.epochs, l2=0.01, l2_layers="conv1")
    data = load_dataset("digits")
    images = len(data.y_train)

    def l2board_train(log_root):
        timer = EpochTimer()
        train_run(config, tempfile.mkdtemp(dir=log_root), dataset=data, verbose=0, callbacks=[timer])
        return timer.seconds[1:]

    def bare_fit(log_root):
        keras.utils.set_random_seed(config.seed)
        model = build_model(config, data.x_train.shape[1:], data.num_classes)
        timer = EpochTimer()
        model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=config.epochs,
                  batch_size=config.batch_size, verbose=0, callbacks=[timer])
        return timer.seconds[1:]

    ways = {"bare model.fit": bare_fit, "l2board train": l2board_train}
    rates = {name: [] for name in ways}
    with tempfile.TemporaryDirectory() as log_root:
        for round_index in range(args.rounds):
            order = list(ways) if round_index % 2 == 0 else list(reversed(ways))
            for name in order:
                seconds = ways[name](log_root)
                rates[name].append(images * len(seconds) / sum(seconds))
            print(f"round {round_index + 1}: " + ", ".join(f"{n} {rates[n][-1]:.0f} images/s" for n in ways),
                  flush=True)
    ratios = [ours / bare for ours, bare in zip(rates["l2board train"], rates["bare model.fit"])]
    for name, values in rates.items():
        print(f"{name:15s} median {statistics.median(values):.0f} images/s")
    ratio = statistics.median(ratios)
    print(f"l2board train / bare model.fit throughput = {ratio:.3f} (median of per-round ratios)")
    print("target (at least 0.97):", "met" if ratio >= 0.97 else "NOT met")


if __name__ == "__main__":
    main()
