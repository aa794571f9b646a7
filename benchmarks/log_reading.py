"""Reading every scalar of a large log set: l2board against tbparse, TensorBoard's
EventAccumulator and TensorBoard's Rust data server, side by side.

The log set is made by this script with tf.summary (and kept for reuse): 20
runs x 200 epochs x 30 scalar tags (15 in train/, 15 in validation/), plus 10
histograms per epoch in every second run: about 26 MB. Each reader runs as a
fresh process, in a rotating order, several rounds; the script prints the
median whole-process time and the median time spent reading (imports
excluded) of each, and their ratios. Every reader must find all 120,000
scalar points.

- l2board: `l2board.reading.logs.read_runs`, every record's CRC checked,
  every file parsed (`L2BOARD_CACHE=off`: the parse cache would serve the
  rounds after the first).
- tbparse: `SummaryReader(logdir, pivot=False).tensors` (where it puts
  `tf.summary.scalar` values; needs `pip install tbparse`).
- EventAccumulator: TensorBoard's `EventMultiplexer` with a size guidance
  that keeps every scalar.
- Rust data server: `tensorboard_data_server`'s binary with `--checksum
  --reload once --samples-per-plugin scalars=all`, polled over gRPC until it
  serves all points; its time is from launch to then.

Usage:
    python benchmarks/log_reading.py [--logdir /tmp/l2board-bench-logs] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from rust_data_server import serve_all_scalars  # benchmarks/, beside this script

RUNS, EPOCHS, TAGS_PER_FOLDER, HISTOGRAM_TAGS = 20, 200, 15, 10
EXPECTED_POINTS = RUNS * EPOCHS * TAGS_PER_FOLDER * 2


def make_logs(root):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for run in range(RUNS):
        for folder in ("train", "validation"):
            writer = tf.summary.create_file_writer(os.path.join(root, f"run{run:02d}", folder))
            with writer.as_default():
                for epoch in range(EPOCHS):
                    for tag in range(TAGS_PER_FOLDER):
                        tf.summary.scalar(f"epoch_metric{tag}", float(rng.random()), step=epoch)
                    if folder == "train" and run % 2 == 0:
                        for tag in range(HISTOGRAM_TAGS):
                            tf.summary.histogram(f"weight_histogram/layer{tag}/kernel",
                                                 rng.normal(size=200).astype(np.float32), step=epoch)
            writer.close()


READERS = {
    "l2board": """
import time, json, sys
start = time.perf_counter()
from l2board.reading.logs import read_runs
imported = time.perf_counter()
runs = read_runs([sys.argv[1]])
points = sum(len(s) for r in runs for s in r.scalars.values())
print(json.dumps({"points": points, "read": time.perf_counter() - imported}))
""",
    "tbparse": """
import time, json, sys, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from tbparse import SummaryReader
import tensorflow
imported = time.perf_counter()
# tf.summary.scalar writes tensors, which tbparse lists under .tensors
# (histograms are read too, and left out of the count).
frame = SummaryReader(sys.argv[1], pivot=False).tensors
points = int((~frame["tag"].str.startswith("weight_histogram")).sum())
print(json.dumps({"points": points, "read": time.perf_counter() - imported}))
""",
    "EventAccumulator": """
import time, json, sys, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from tensorboard.backend.event_processing import event_accumulator, plugin_event_multiplexer
import tensorflow
imported = time.perf_counter()
multiplexer = plugin_event_multiplexer.EventMultiplexer(
    size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0})
multiplexer.AddRunsFromDirectory(sys.argv[1])
multiplexer.Reload()
points = 0
for run, tags in multiplexer.Runs().items():
    for tag in tags.get("tensors", []):
        if multiplexer.SummaryMetadata(run, tag).plugin_data.plugin_name == "scalars":
            points += len(multiplexer.Tensors(run, tag))
print(json.dumps({"points": points, "read": time.perf_counter() - imported}))
""",
}


def run_python_reader(name, logdir):
    start = time.perf_counter()
    # Every file parsed, as the other readers do: l2board's parse cache off (it would serve later rounds,
    # and this is no benchmark of the cache; thousand_runs.py times compare warm).
    env = dict(os.environ, L2BOARD_CACHE="off")
    result = subprocess.run([sys.executable, "-P", "-c", READERS[name], logdir], capture_output=True, text=True,
                            env=env)
    total = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr[-2000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return total, data["read"], data["points"]


def run_rust_server(logdir):
    return serve_all_scalars(logdir, EXPECTED_POINTS, EPOCHS * 10, deadline=300)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", default=os.path.join(tempfile.gettempdir(), "l2board-bench-logs"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    marker = os.path.join(args.logdir, ".complete")
    if not os.path.exists(marker):
        print(f"writing the log set to {args.logdir} (once) ...", flush=True)
        make_logs(args.logdir)
        open(marker, "w").close()
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.logdir) for f in fs)
    print(f"{RUNS} runs x {EPOCHS} epochs x {2 * TAGS_PER_FOLDER} scalar tags "
          f"(+{HISTOGRAM_TAGS} histograms per epoch in every second run): {size / 1e6:.1f} MB")

    readers = ["l2board", "tbparse", "EventAccumulator", "Rust data server"]
    try:
        import tbparse  # noqa: F401
    except ImportError:
        readers.remove("tbparse")
        print("tbparse is not installed (pip install tbparse): left out")
    results = {name: [] for name in readers}
    for round_index in range(args.rounds):
        order = readers[round_index % len(readers):] + readers[:round_index % len(readers)]
        for name in order:
            if name == "Rust data server":
                measured = run_rust_server(args.logdir)
            else:
                measured = run_python_reader(name, args.logdir)
            if measured[2] != EXPECTED_POINTS:
                raise RuntimeError(f"{name} found {measured[2]} points, expected {EXPECTED_POINTS}")
            results[name].append(measured)
        print(f"round {round_index + 1}: " + ", ".join(f"{n} {results[n][-1][0]:.2f}s" for n in readers), flush=True)

    medians = {n: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
               for n, rs in results.items()}
    print("\nmedian seconds   whole process   reading only")
    for name, (total, read) in medians.items():
        print(f"{name:18s} {total:13.3f} {read:14.3f}")
    ours = medians["l2board"]
    for name, (total, read) in medians.items():
        if name != "l2board":
            print(f"{name} / l2board: whole process {total / ours[0]:.2f}x, reading {read / ours[1]:.2f}x")


if __name__ == "__main__":
    main()
