"""How fast the L2 tab answers on 20 runs x 200 epochs, once TensorBoard has loaded them.

The script writes (once, and keeps) 20 runs of 200 epochs with the scalars,
texts and histograms L2Monitor writes for the documented CNN, starts
`tensorboard --logdir` with `--load_fast=true` (the Rust data server) and
`--load_fast=false`, waits until TensorBoard serves every epoch of every run,
then times what opening the tab asks for: the plugin listing, `/runs` (the
first route the tab calls), `/report` on all 20 runs, and `/layers` of one
run. First call and median of 5 calls each.

Usage:
    python benchmarks/dashboard_latency.py [--logdir /tmp/l2board-dashboard-logs]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request

from compare_command import installed_program  # benchmarks/, beside this script

RUNS, EPOCHS = 20, 200
VARIABLES = [f"{layer}/{kind}" for layer in ("conv1", "conv2", "fc1", "output") for kind in ("kernel", "bias")]


def write_logs(root):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable

    rng = np.random.default_rng(0)
    for run in range(RUNS):
        factor = [0.0, 0.001, 0.01, 0.1][run % 4]
        setup = RegularizationSetup(variables=tuple(
            WeightVariable(v, 1000, True, "L2" if factor and v.endswith("kernel") else None,
                           l2=factor if factor and v.endswith("kernel") else None) for v in VARIABLES))
        for folder in ("train", "validation"):
            writer = tf.summary.create_file_writer(os.path.join(root, f"run{run:02d}", folder))
            with writer.as_default():
                if folder == "train":
                    tf.summary.text("l2board/setup_json", setup.to_json(), step=0)
                for epoch in range(EPOCHS):
                    loss = 1.0 / (epoch + 1) + rng.random() * 0.1
                    values = {"epoch_loss": loss + factor, "epoch_accuracy": min(1.0, epoch / 150),
                              "epoch_data_loss": loss, "epoch_penalty": factor,
                              "epoch_penalty_share": factor / (loss + factor)}
                    if folder == "train":
                        values["penalty_total"] = factor
                        for v in VARIABLES:
                            for kind in ("l2", "l1", "max_abs", "init_distance"):
                                values[f"weight_norm/{kind}/{v}"] = rng.random()
                            if factor and v.endswith("kernel"):
                                values[f"penalty/{v}"] = factor / 4
                            tf.summary.histogram(f"weight_histogram/{v}", rng.normal(size=100), step=epoch)
                        for kind in ("l2", "l1", "max_abs", "init_distance"):
                            values[f"weight_norm_total/{kind}"] = rng.random()
                    for tag, value in values.items():
                        tf.summary.scalar(tag, value, step=epoch)
            writer.close()


def fetch(port, path):
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as response:
        body = response.read()
    return time.perf_counter() - start, json.loads(body)


def start_tensorboard(logdir, load_fast):
    tensorboard = installed_program("tensorboard")
    process = subprocess.Popen([tensorboard, "--logdir", logdir, "--host", "127.0.0.1", "--port", "0",
                                f"--load_fast={load_fast}", "--reload_interval", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return process, int(match.group(1))
    raise RuntimeError("TensorBoard did not start")


def measure(logdir, load_fast):
    process, port = start_tensorboard(logdir, load_fast)
    try:
        start = time.perf_counter()
        while True:  # until every epoch of every run is served
            _, tags = fetch(port, "/data/plugin/scalars/tags")
            complete = [r for r, t in tags.items() if r.endswith("/validation") and "epoch_data_loss" in t]
            if len(complete) == RUNS:
                query = "run=run19%2Fvalidation&tag=epoch_data_loss"
                _, points = fetch(port, f"/data/plugin/scalars/scalars?{query}")
                if len(points) == EPOCHS:
                    break
            time.sleep(0.2)
        loaded = time.perf_counter() - start
        results = {}
        for name, path in (("plugins_listing", "/data/plugins_listing"), ("/runs", "/data/plugin/l2board/runs"),
                           ("/report (20 runs)", "/data/plugin/l2board/report"),
                           ("/layers", "/data/plugin/l2board/layers?run=run03")):
            times = [fetch(port, path)[0] for _ in range(6)]
            results[name] = (times[0], statistics.median(times[1:]))
        _, report = fetch(port, "/data/plugin/l2board/report")
        assert len(report["runs"]) == RUNS and all(r["epochs"] == EPOCHS for r in report["runs"])
        return loaded, results
    finally:
        process.terminate()
        process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", default=os.path.join(tempfile.gettempdir(), "l2board-dashboard-logs"))
    args = parser.parse_args()
    marker = os.path.join(args.logdir, ".complete")
    if not os.path.exists(marker):
        print(f"writing {RUNS} runs x {EPOCHS} epochs to {args.logdir} (once) ...", flush=True)
        write_logs(args.logdir)
        open(marker, "w").close()
    for load_fast in ("true", "false"):
        loaded, results = measure(args.logdir, load_fast)
        print(f"\n--load_fast={load_fast}: TensorBoard served every epoch after {loaded:.1f} s; then")
        for name, (first, median) in results.items():
            print(f"  {name:20s} first call {1000 * first:7.0f} ms, median of the next 5 {1000 * median:7.0f} ms")
        first_route = results["/runs"][0]
        print(f"  target (first route within 1 s): {'met' if first_route <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
