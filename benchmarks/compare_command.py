"""Whole-process time of `l2board compare a b` on two 50-epoch L2Monitor runs.

The two runs are written by this script with tf.summary, with the tags
L2Monitor writes for the documented CNN (about 60 scalars per epoch and 8
histograms). The command runs as a fresh process, alternating with a bare
`python -c pass` (the interpreter's own start-up) so that both see the same
machine; medians over the repetitions are printed, with tbparse reading the
same two runs for reference when it is installed.

Usage:
    python benchmarks/compare_command.py [--repeats 9]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

EPOCHS = 50


def write_runs(root):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable

    variables = [f"{layer}/{kind}" for layer in ("conv1", "conv2", "fc1", "output") for kind in ("kernel", "bias")]
    rng = np.random.default_rng(0)
    for name, factor in (("no_l2", 0.0), ("l2", 0.01)):
        setup = RegularizationSetup(variables=tuple(
            WeightVariable(v, 1000, True, "L2" if factor and v.endswith("kernel") else None,
                           l2=factor if factor and v.endswith("kernel") else None) for v in variables))
        for folder in ("train", "validation"):
            writer = tf.summary.create_file_writer(os.path.join(root, name, folder))
            with writer.as_default():
                if folder == "train":
                    tf.summary.text("l2board/setup_json", setup.to_json(), step=0)
                for epoch in range(EPOCHS):
                    values = {"epoch_loss": 1.0 / (epoch + 1), "epoch_accuracy": epoch / EPOCHS,
                              "epoch_data_loss": 1.0 / (epoch + 1), "epoch_penalty": factor,
                              "epoch_penalty_share": factor}
                    if folder == "train":
                        for v in variables:
                            for kind in ("l2", "l1", "max_abs", "init_distance"):
                                values[f"weight_norm/{kind}/{v}"] = rng.random()
                            tf.summary.histogram(f"weight_histogram/{v}", rng.normal(size=100), step=epoch)
                    for tag, value in values.items():
                        tf.summary.scalar(tag, value, step=epoch)
            writer.close()


def check_tree(tree, env):
    """Raises unless `python -P` with `env` imports l2board from `tree`: a baseline measured must be the baseline.

    (`python -c` and `-m` without `-P` put the working folder first on `sys.path`, before `PYTHONPATH`: run
    from the repository, they imported this tree whatever `PYTHONPATH` said.)
    """
    found = subprocess.run([sys.executable, "-P", "-c", "import l2board; print(l2board.__file__)"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not found.startswith(os.path.join(os.path.abspath(tree), "")):
        raise RuntimeError(f"l2board was imported from {found}, not from the tree measured, {tree}")


def free_port():
    """A loopback port nothing listens on at the moment, for a server a benchmark starts."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def installed_program(name):
    """The path of `name`'s entry-point script beside this interpreter, else the one on PATH.

    Beside the interpreter first: a version manager's shim on PATH (pyenv's
    is a bash script that starts `pyenv exec`) adds its own start-up, about
    0.12 s here, which is the shim's cost and not the program's.
    """
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.access(beside, os.X_OK) else shutil.which(name) or beside


def timed(command, env=None):
    """The wall time of one whole process running `command` (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    root = tempfile.mkdtemp()
    try:
        write_runs(root)
        l2board = installed_program("l2board")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "l2board compare": [l2board, "compare", os.path.join(root, "no_l2"), os.path.join(root, "l2")],
        }
        try:
            import tbparse  # noqa: F401

            commands["tbparse (read only)"] = [
                sys.executable, "-c",
                "import sys; from tbparse import SummaryReader; SummaryReader(sys.argv[1], pivot=False).tensors",
                root]
        except ImportError:
            pass
        times = {name: [] for name in commands}
        for repeat in range(args.repeats + 1):
            for name, command in commands.items():
                seconds = timed(command)
                if repeat:  # the first round warms the file cache
                    times[name].append(seconds)
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, median in medians.items():
            print(f"{name:22s} median {median:.3f}s")
        ours = medians["l2board compare"]
        print(f"l2board compare / python start-up = {ours / medians['python -c pass']:.2f}")
        if "tbparse (read only)" in medians:
            print(f"tbparse / l2board compare = {medians['tbparse (read only)'] / ours:.1f}")
        print("target (at most 0.5 s for the whole process):", "met" if ours <= 0.5 else "NOT met")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
