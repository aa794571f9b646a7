"""Whole-process time of `l2board compare` on the small sets every user starts with.

Three sets of L2Monitor-like runs, written once by this script with
l2board's TF-free event writer (the tags L2Monitor writes for the
documented CNN: about 60 scalars per epoch, histograms, the setup), 30
epochs each as the demo's:

- 2 runs (with and without L2), as `compare a b`;
- 10 runs of 10 configurations, no seeds (no interval is computed);
- 9 runs: 3 configurations x 3 seeds (intervals over seeds, SciPy loaded).

Each command runs as a fresh process, warm (the parse cache filled by a
first call, as every later call is), alternating with a bare `python -c
pass` (the interpreter's own start-up) so that all see the same machine;
medians over the repetitions are printed with the targets of issue 19
(at most 0.3 s without seeds, 0.5 s with them) and the ratio to Python's
start-up, which is what transfers to another machine.

Usage:
    python benchmarks/small_compares.py [--repeats 9]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

from compare_command import installed_program, timed  # benchmarks/, beside this script

EPOCHS = 30
VARIABLES = [f"{layer}/{kind}" for layer in ("conv1", "conv2", "fc1", "output") for kind in ("kernel", "bias")]


def write_run(folder, factor, seed):
    import numpy as np

    from l2board.log_format import tags
    from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable
    from l2board.writing.event_writer import EventFileRunWriter

    rng = np.random.default_rng(seed)
    setup = RegularizationSetup(variables=tuple(
        WeightVariable(v, 1000, True, "L2" if factor and v.endswith("kernel") else None,
                       l2=factor if factor and v.endswith("kernel") else None) for v in VARIABLES))
    for split in (tags.TRAIN_DIR, tags.VALIDATION_DIR):
        writer = EventFileRunWriter(os.path.join(folder, split))
        if split == tags.TRAIN_DIR:
            writer.text({tags.SETUP_JSON: setup.to_json()}, 0)
        for epoch in range(EPOCHS):
            noise = 0.02 * rng.normal()
            values = {"epoch_loss": 1.0 / (epoch + 1) + factor + noise, "epoch_accuracy": epoch / EPOCHS + noise,
                      tags.DATA_LOSS: 1.0 / (epoch + 1) + noise, tags.PENALTY: factor, tags.PENALTY_SHARE: factor}
            if split == tags.TRAIN_DIR:
                for variable in VARIABLES:
                    for kind in ("l2", "l1", "max_abs", "init_distance"):
                        values[tags.variable_norm(kind, variable)] = float(rng.random())
                values[tags.norm_total("l2")] = 10.0
            writer.scalars(values, epoch)
        if split == tags.TRAIN_DIR:
            writer.text({tags.TRAINING_END: '{"last_epoch": %d}' % (EPOCHS - 1)}, EPOCHS - 1)
        writer.close()


def write_sets(root):
    sets = {"2 runs": [("no_l2", 0.0, 0), ("l2", 0.01, 0)],
            "10 runs, no seeds": [(f"l2-{f:g}", f, 0) for f in (0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)],
            "9 runs, 3 seeds each": [(f"l2-{f:g}-seed{s}", f, s) for f in (0, 1e-3, 1e-2) for s in range(3)]}
    folders = {}
    for name, runs in sets.items():
        folder = os.path.join(root, name.replace(" ", "_").replace(",", ""))
        for run, factor, seed in runs:
            write_run(os.path.join(folder, run), factor, seed)
        folders[name] = folder
    return folders


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    root = tempfile.mkdtemp()
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(root, "cache"))
    # As on a user's machine, where Python keeps the compiled modules (this
    # project's sandbox sets PYTHONDONTWRITEBYTECODE, which makes every start
    # compile l2board's modules again).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        folders = write_sets(root)
        l2board = installed_program("l2board")
        commands = {"python -c pass": [sys.executable, "-c", "pass"]}
        commands.update({f"compare, {name}": [l2board, "compare", folder] for name, folder in folders.items()})
        times = {name: [] for name in commands}
        for repeat in range(args.repeats + 1):
            for name, command in commands.items():
                seconds = timed(command, env)
                if repeat:  # the first round fills the parse cache and the file cache
                    times[name].append(seconds)
        medians = {name: statistics.median(t) for name, t in times.items()}
        start_up = medians["python -c pass"]
        targets = {"compare, 2 runs": 0.3, "compare, 10 runs, no seeds": 0.3, "compare, 9 runs, 3 seeds each": 0.5}
        for name, median in medians.items():
            line = f"{name:32s} median {median:.3f} s ({median / start_up:.1f} x python start-up)"
            if name in targets:
                line += f"; target {targets[name]} s: {'met' if median <= targets[name] else 'NOT met'}"
            print(line)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
