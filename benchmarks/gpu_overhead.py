"""L2Monitor's cost on a GPU: plain `fit` against `fit` with `L2Monitor()`, side by side.

The documented CNN (4.35M weights, L2 0.01 on every layer, so that every
variable's penalty is measured) trains on CIFAR-shaped random images made
by the script, at batch 32 and 256, two identical models from the same
initial weights: one plain, one with `L2Monitor()` at its defaults
(histograms every epoch). They train one epoch at a time, alternating, the
order swapping each round; round 1 (compilation) is not counted. Each
round's ratio is the monitored epoch over the plain epoch of the same
round; the script prints the median and the spread of those ratios.

Runs on Keras's JAX backend (the PyTorch backend is refused by L2Monitor
until it is measured as exactly; `--backend torch` then reports that). No
TensorFlow is needed: on JAX L2Monitor writes its logs without it.

Usage (one call on a GPU machine, see docs/benchmarks.md):
    KERAS_BACKEND=jax python benchmarks/gpu_overhead.py [--images 40000] [--rounds 5] [--out results.json]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def build(keras):
    from l2board.training.models import documented_cnn

    # No keras.utils.set_random_seed: it imports TensorFlow when installed;
    # the monitored model gets the plain one's weights instead.
    model = documented_cnn(l2=0.01, l2_layers="all", compile=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def timed_epoch(model, x, y, batch_size, epoch, callbacks):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epoch + 1, initial_epoch=epoch, verbose=0, shuffle=False,
              callbacks=callbacks)
    return time.perf_counter() - start


def measure(keras, x, y, batch_size, rounds, log_root):
    from l2board import L2Monitor

    plain = build(keras)
    monitored = build(keras)
    monitored.set_weights(plain.get_weights())
    monitor = L2Monitor(os.path.join(log_root, f"batch{batch_size}"), verbose=0)
    ratios, plain_times, monitored_times = [], [], []
    for epoch in range(rounds):
        order = [("plain", plain, []), ("monitored", monitored, [monitor])]
        if epoch % 2:
            order.reverse()
        times = {name: timed_epoch(model, x, y, batch_size, epoch, callbacks) for name, model, callbacks in order}
        if epoch == 0:
            continue  # compilation
        plain_times.append(times["plain"])
        monitored_times.append(times["monitored"])
        ratios.append(times["monitored"] / times["plain"])
    return {"batch_size": batch_size, "plain_epoch_s": plain_times, "monitored_epoch_s": monitored_times,
            "ratios": ratios, "median_ratio": statistics.median(ratios),
            "min_ratio": min(ratios), "max_ratio": max(ratios)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=5, help="epochs per model, the first not counted")
    parser.add_argument("--batch-sizes", default="32,256")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    import keras
    import numpy as np

    backend = keras.backend.backend()
    result = {"backend": backend, "keras": keras.__version__, "images": args.images, "rounds": args.rounds}
    try:
        import jax

        result["device"] = str(jax.devices()[0].device_kind) if backend == "jax" else None
    except ImportError:
        result["device"] = None
    rng = np.random.default_rng(0)
    x = rng.random((args.images, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 100, args.images)
    runs = []
    with tempfile.TemporaryDirectory() as log_root:
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            try:
                runs.append(measure(keras, x, y, batch_size, args.rounds, log_root))
            except RuntimeError as error:  # L2Monitor refuses the backend
                result["refused"] = str(error)
                break
            latest = runs[-1]
            print(f"{backend} batch {batch_size}: plain epoch median {statistics.median(latest['plain_epoch_s']):.3f} s, "
                  f"with L2Monitor {statistics.median(latest['monitored_epoch_s']):.3f} s; paired ratio median "
                  f"{latest['median_ratio']:.3f} (range {latest['min_ratio']:.3f}-{latest['max_ratio']:.3f})",
                  flush=True)
        result["tensorflow_imported"] = "tensorflow" in sys.modules
    result["runs"] = runs
    print(json.dumps(result))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
