"""What a distributed experiment's chief costs: its CPU and peak memory, this tree against another, side by side.

A chief (`KERASTUNER_TUNER_ID=chief`) serves `l2board experiment`'s runs to
its workers and never trains. Each round starts, for each tree in turn (the
order alternating), a chief and one worker on loopback for a small offline
experiment (2 runs of the documented CNN, 1 epoch, 60 digits), waits for
both to end, and records the chief's CPU seconds and peak resident memory
(`getrusage` of a fresh wrapper's child: that process alone) and whether it
loaded TensorFlow. Both trees run as `python -P -m l2board.cli` with their
tree first on `PYTHONPATH` (`compare_command.check_tree` checks it).

Usage:
    python benchmarks/chief_cost.py --baseline-source DIR [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from compare_command import check_tree, free_port  # benchmarks/, beside this script

ARGS = ["--dataset", "digits", "--train-size", "60", "--epochs", "1", "--l2", "0", "--l2", "0.01",
        "--l2-layers", "all"]

# Runs the command given, then prints its CPU seconds, its peak memory and whether it loaded TensorFlow.
_WRAPPER = """
import atexit, json, resource, sys
measured = sys.argv[1]
def report():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(measured, "w") as out:
        json.dump({"cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024,
                   "tensorflow": "tensorflow" in sys.modules}, out)
atexit.register(report)
sys.argv = ["l2board", *sys.argv[2:]]
from l2board.cli import main
main()
"""



def one_experiment(env, folder):
    """A chief and a worker of one experiment; returns the chief's measurements."""
    port = free_port()
    env = dict(env, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port), TF_CPP_MIN_LOG_LEVEL="2")
    logdir, measured = os.path.join(folder, "runs"), os.path.join(folder, "chief.json")
    command = ["experiment", *ARGS, "--logdir", logdir]
    chief = subprocess.Popen([sys.executable, "-P", "-c", _WRAPPER, measured, *command],
                             env=dict(env, KERASTUNER_TUNER_ID="chief"), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    worker = subprocess.run([sys.executable, "-P", "-m", "l2board.cli", *command],
                            env=dict(env, KERASTUNER_TUNER_ID="tuner0"), capture_output=True, text=True)
    output, _ = chief.communicate(timeout=600)
    if chief.returncode != 0 or worker.returncode != 0:
        raise RuntimeError(f"chief {chief.returncode}, worker {worker.returncode}:\n{output[-2000:]}\n"
                           f"{worker.stderr[-2000:]}")
    with open(measured) as handle:
        return json.load(handle)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-source", required=True, help="another l2board's source tree")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"this tree": here, "baseline": os.path.abspath(args.baseline_source)}
    envs = {}
    for name, tree in trees.items():
        envs[name] = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS", "L2BOARD_"))}
        envs[name]["PYTHONPATH"] = tree
        check_tree(tree, envs[name])
    results = {name: [] for name in trees}
    for round_ in range(args.rounds):
        for name in (list(trees) if round_ % 2 == 0 else list(reversed(trees))):
            with tempfile.TemporaryDirectory() as folder:
                result = one_experiment(envs[name], folder)
            results[name].append(result)
            print(f"round {round_ + 1} {name:>9}: chief CPU {result['cpu']:5.2f} s, "
                  f"peak {result['peak_mib']:5.0f} MiB, TensorFlow loaded: {result['tensorflow']}", flush=True)
    medians = {name: {key: statistics.median(r[key] for r in rows) for key in ("cpu", "peak_mib")}
               for name, rows in results.items()}
    print("\nmedians:")
    for name, median in medians.items():
        print(f"  {name:>9}: chief CPU {median['cpu']:5.2f} s, peak {median['peak_mib']:5.0f} MiB")
    mine, base = medians["this tree"], medians["baseline"]
    print(f"  this tree / baseline: CPU {mine['cpu'] / base['cpu']:.2f}x, "
          f"memory {mine['peak_mib'] / base['peak_mib']:.2f}x")


if __name__ == "__main__":
    main()
