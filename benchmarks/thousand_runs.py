"""A thousand runs: `l2board compare` cold and warm against TensorBoard's Rust data server and tbparse.

The log set is written once by this script, into the folder given (and
reused when complete): 1,000 runs x 100 epochs with the tags L2Monitor
writes for the documented CNN (every scalar of docs/log-format.md for its 8
variables, histograms of every variable every 10 epochs, the setup text and
JSON, the end-of-training record and HParams), by l2board's own TF-free
writer (`EventFileRunWriter`, the writer L2Monitor uses off TensorFlow).
The runs are 20 configurations (no L2, and L2 at 3 factors on conv1, on
every layer, ...) x 50 seeds, named `l2-<factor>-<layers>-seed<k>` so that
compare groups them.

Then, side by side in this one process (each reader a fresh child process):

(a) `l2board compare <folder> --format json`, cold: l2board's parse cache
    emptied first (a fresh `XDG_CACHE_HOME`). The operating system's page
    cache cannot be dropped without root: "cold" is a first call with the
    event files in the page cache (the log set was just written or read).
(b) the same, warm: the second call, files unchanged (served by the cache).
(c) TensorBoard's Rust data server (`tensorboard_data_server`'s binary,
    `--reload once --checksum --samples-per-plugin scalars=all`) on
    loopback, from launch until its gRPC `ReadScalars` returns every scalar
    point of every run (the same points compare reads; the L2 tab and
    `tensorboard --load_fast=true` get their scalars this way).
(d) tbparse (`SummaryReader(folder, pivot=False).tensors`, where it puts
    tf.summary-style scalars: its `.scalars` is empty for these files; it
    reads through TensorBoard's Python event accumulator), whole process,
    on copies of a few runs (one of each configuration in turn), its time
    scaled to the whole set by event-file bytes; every point of those runs
    must be read.
(e) the peak resident memory of compare's process (`RUSAGE_CHILDREN`
    `ru_maxrss` of the child; each child is measured by a fresh `python`
    wrapper so that earlier children do not count).
(f) with `--baseline-source DIR` (another l2board's source tree, such as
    `git archive REV l2board | tar -x -C DIR`): (a) and (b) of this tree and
    of that one, both run as `python -P -m l2board.cli` with their tree first on
    `PYTHONPATH`, in each round one after the other, the order alternating;
    the ratios of this tree's times to the other's, and whether the two
    reports are the same bytes.
(g) with `--baseline-source`: the warm read alone, which the parse cache
    serves (`l2board.reading.logs.read_runs` of the set, timed around the
    call in a fresh process, every file a cache hit), of this tree and the
    other, alternating, `--read-rounds` times: the part of (b) that reading
    changes, without the analysis and the JSON, whose time varies more.
(h) with `--scaling-logdir DIR`: 10,000 runs (the same configurations,
    500 seeds each; written there once), compared cold and warm right after
    (a) and (b) in every round: time and memory must grow no faster than
    the number of runs, and memory stay within 2 GiB.

Usage:
    python benchmarks/thousand_runs.py --logdir /tmp/l2board-thousand [--rounds 3] [--tbparse-runs 20]
        [--no-rust] [--baseline-source DIR [--read-rounds 15]] [--scaling-logdir /tmp/l2board-10000]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from compare_command import check_tree, installed_program  # benchmarks/, beside this script
from rust_data_server import serve_all_scalars

RUNS, EPOCHS, HISTOGRAM_EVERY = 1000, 100, 10
SEEDS = 50
SCALING_RUNS = 10_000  # the scaling point (h): the same 20 configurations, 500 seeds each
VARIABLES = (("conv1/kernel", 2400), ("conv1/bias", 32), ("conv2/kernel", 51200), ("conv2/bias", 64),
             ("fc1/kernel", 4194304), ("fc1/bias", 1024), ("output/kernel", 102400), ("output/bias", 100))
# 20 configurations: no L2, and 19 of (factor, layers whose kernel has L2).
CONFIGURATIONS = [(0.0, "none")] + [(factor, layers) for factor in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
                                    for layers in ("conv1", "fc1", "all")] + [(0.1, "all")]


def run_names(count=RUNS):
    """`[(name, factor, layers, seed)]` of the 1,000 runs (or of `count`: the 20 configurations, more seeds)."""
    runs = []
    for factor, layers in CONFIGURATIONS:
        for seed in range(count // len(CONFIGURATIONS)):
            name = "no-l2" if not factor else f"l2-{factor:g}-{layers}"
            runs.append((f"{name}-seed{seed}", factor, layers, seed))
    assert len(runs) == count
    return runs


def _setup(factor, layers):
    from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable

    def penalized(path):
        return factor and path.endswith("kernel") and (layers == "all" or path.startswith(layers + "/"))

    return RegularizationSetup(variables=tuple(
        WeightVariable(path, size, True, "L2" if penalized(path) else None, l2=factor if penalized(path) else None)
        for path, size in VARIABLES), optimizer="Adam")


def write_run(root, name, factor, layers, seed):
    """Writes one run as L2Monitor lays it out, with curves that overfit less with more L2."""
    import numpy as np

    from l2board.log_format import tags
    from l2board.writing.event_writer import EventFileRunWriter
    from l2board.writing.histograms import histogram_buckets

    rng = np.random.default_rng(seed * 7919 + int(factor * 1e6) + len(layers))
    setup = _setup(factor, layers)
    penalized = [v.path for v in setup.variables if v.penalized]
    strength = min(1.0, factor * 30 * (1 if layers == "all" else 0.3))
    folder = os.path.join(root, name)
    writers = {"root": EventFileRunWriter(folder), "train": EventFileRunWriter(os.path.join(folder, tags.TRAIN_DIR)),
               "validation": EventFileRunWriter(os.path.join(folder, tags.VALIDATION_DIR))}
    writers["train"].text({tags.SETUP_TEXT: setup.markdown(), tags.SETUP_JSON: setup.to_json()}, 0)
    writers["root"].hparams(setup.hparams(), trial_id=name)
    epochs = np.arange(EPOCHS)
    data_loss = 2.0 * np.exp(-epochs / (15 + 20 * strength)) + 0.05 + rng.normal(0, 0.01, EPOCHS)
    val_data_loss = 1.0 + 0.6 * np.exp(-epochs / 8) + (0.01 - 0.009 * strength) * epochs + rng.normal(0, 0.02, EPOCHS)
    accuracy = np.clip(1.0 - data_loss / 2.2, 0, 1)
    val_accuracy = np.clip(0.75 - 0.1 * np.exp(-epochs / 8) - (0.001 - 0.0008 * strength) * epochs
                           + rng.normal(0, 0.01, EPOCHS), 0, 1)
    norms = {path: 1.0 + rng.random() for path, _ in VARIABLES}
    for epoch in range(EPOCHS):
        penalty_of = {path: factor * norms[path] ** 2 * (1 + epoch / 50) for path in penalized}
        penalty = sum(penalty_of.values())
        loss, val_loss = data_loss[epoch] + penalty, val_data_loss[epoch] + penalty
        train = {"epoch_accuracy": accuracy[epoch], "epoch_loss": loss, tags.PENALTY: penalty,
                 tags.DATA_LOSS: data_loss[epoch], tags.PENALTY_SHARE: penalty / loss}
        if penalized:
            train[tags.PENALTY_TOTAL] = penalty
        train.update({tags.variable_penalty(path): value for path, value in penalty_of.items()})
        for kind in tags.NORM_KINDS:
            for path, _ in VARIABLES:
                train[tags.variable_norm(kind, path)] = norms[path] * (1 + 0.01 * epoch) * (0.5 if kind == "max_abs" else 1)
            train[tags.norm_total(kind)] = sum(norms.values()) * (1 + 0.01 * epoch)
        train["epoch_learning_rate"] = 0.001
        validation = {"epoch_accuracy": val_accuracy[epoch], "epoch_loss": val_loss, tags.PENALTY: penalty,
                      tags.DATA_LOSS: val_data_loss[epoch], tags.PENALTY_SHARE: penalty / val_loss}
        writers["train"].scalars(train, epoch)
        writers["validation"].scalars(validation, epoch)
        if epoch % HISTOGRAM_EVERY == 0:
            writers["train"].histograms({tags.weight_histogram(path): histogram_buckets(
                rng.normal(0, 0.05 * norms[path], 200)) for path, _ in VARIABLES}, epoch)
        for writer in writers.values():
            writer.flush()
    writers["train"].text({tags.TRAINING_END: json.dumps(
        {"last_epoch": EPOCHS - 1, "epochs_requested": EPOCHS, "stopped_early": False})}, EPOCHS - 1)
    for writer in writers.values():
        writer.close()


def _write_job(job):
    write_run(*job)


def make_logs(root, count=RUNS):
    """Writes the log set of `count` runs into `root` (in one process per core), then marks it complete."""
    import multiprocessing

    if os.path.isdir(root):
        shutil.rmtree(root)  # an incomplete earlier set
    os.makedirs(root)
    jobs = [(root, *run) for run in run_names(count)]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        pool.map(_write_job, jobs, chunksize=10)
    with open(os.path.join(root, ".complete"), "w") as marker:
        marker.write(json.dumps({"runs": count, "epochs": EPOCHS, "format": 1}))


def complete(root, count=RUNS):
    try:
        with open(os.path.join(root, ".complete")) as marker:
            return json.load(marker) == {"runs": count, "epochs": EPOCHS, "format": 1}
    except (OSError, ValueError):
        return False


def log_set(root, count=RUNS):
    """The absolute path of the log set of `count` runs in `root`, written there first unless complete."""
    root = os.path.abspath(root)
    if not complete(root, count):
        print(f"writing {count:,} runs to {root} (once) ...", flush=True)
        start = time.perf_counter()
        make_logs(root, count)
        print(f"  written in {time.perf_counter() - start:.0f} s", flush=True)
    return root


def event_files(root):
    return [os.path.join(folder, name) for folder, _, names in os.walk(root, followlinks=True) for name in names
            if "tfevents" in name]


# -- the readers ---------------------------------------------------------------------------------------------

# Runs a command as a child of a fresh Python and reports its wall time and
# peak memory (RUSAGE_CHILDREN of that Python holds this one child only).
_MEASURED = """
import hashlib, json, resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(result.stderr.decode(errors="replace")[-3000:])
try:
    runs = len(json.loads(result.stdout)["runs"])
except (ValueError, KeyError, TypeError):
    runs = None
print(json.dumps({"seconds": seconds, "maxrss_kib": usage.ru_maxrss, "rc": result.returncode, "runs": runs,
                  "stdout_bytes": len(result.stdout), "sha256": hashlib.sha256(result.stdout).hexdigest()}))
"""


def measured(command, env):
    result = subprocess.run([sys.executable, "-c", _MEASURED, *command], capture_output=True, text=True, env=env)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["rc"] != 0:
        raise RuntimeError(f"{command[:3]} failed ({data['rc']}):\n{result.stderr[-3000:]}")
    return data


def l2board_command():
    return [installed_program("l2board")]


def expected_scalar_points(root):
    """Every scalar point of the set, counted by l2board's reader (tags and steps as written)."""
    from l2board.reading.logs import read_runs

    os.environ["L2BOARD_CACHE"] = "off"  # this count fills neither the user's cache nor the measured ones
    try:
        runs = read_runs([root])
    finally:
        del os.environ["L2BOARD_CACHE"]
    per_run = {os.path.basename(run.path): sum(len(series) for series in run.scalars.values()) for run in runs}
    return sum(per_run.values()), per_run


def run_rust_server(logdir, expected_points):
    """Seconds from launching the Rust data server until it serves every scalar point over gRPC."""
    total, _, points = serve_all_scalars(logdir, expected_points, EPOCHS * 10)
    return total, points


_TBPARSE = """
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
start = time.perf_counter()
from tbparse import SummaryReader
# tf.summary.scalar (and EventFileRunWriter) write scalars as tensors, which
# tbparse lists under .tensors (its .scalars holds TF1 simple values only).
frame = SummaryReader(sys.argv[1], pivot=False).tensors
rows = int((~frame["tag"].str.startswith("weight_histogram")).sum())
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}))
"""


# The warm read alone: every event file of the set served by the parse cache.
_READ_ONLY = """
import json, sys, time
from l2board.reading import parse_cache
from l2board.reading.logs import read_runs
start = time.perf_counter()
runs = read_runs([sys.argv[1]])
seconds = time.perf_counter() - start
print(json.dumps([seconds, parse_cache.stats["hits"], sum(len(s) for r in runs for s in r.scalars.values())]))
"""


def subset_folder(root, runs, scratch):
    """A folder holding copies of `runs` runs, taken from each configuration in turn."""
    folder = os.path.join(scratch, f"subset-{runs}")
    os.makedirs(folder, exist_ok=True)
    names = [name for name, *_ in run_names()]
    chosen = [names[(i % len(CONFIGURATIONS)) * SEEDS + i // len(CONFIGURATIONS)] for i in range(runs)]
    for name in chosen:
        link = os.path.join(folder, name)
        if not os.path.exists(link):
            shutil.copytree(os.path.join(root, name), link)
    return folder, chosen


def folder_bytes(folder):
    return sum(os.path.getsize(path) for path in event_files(folder))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", required=True, help="where the log set is written once and reused")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tbparse-runs", type=int, default=20, help="runs tbparse reads (0: leave it out)")
    parser.add_argument("--no-rust", action="store_true")
    parser.add_argument("--baseline-source", help="another l2board source tree to measure (a) and (b) beside")
    parser.add_argument("--read-rounds", type=int, default=15, help="rounds of (g)")
    parser.add_argument("--scaling-logdir", help=f"where a set of {SCALING_RUNS:,} runs is written once and "
                                                 "reused: (h), compared cold and warm in every round")
    args = parser.parse_args()
    logdir = log_set(args.logdir)
    scaling = log_set(args.scaling_logdir, SCALING_RUNS) if args.scaling_logdir else None
    files = event_files(logdir)
    size = sum(os.path.getsize(path) for path in files)
    points, per_run = expected_scalar_points(logdir)
    run_count = len(per_run)  # also brings the files into the page cache
    print(f"{run_count} runs x {EPOCHS} epochs, {len(files)} event files, {size / 1e6:.0f} MB, "
          f"{points:,} scalar points", flush=True)

    scratch = tempfile.mkdtemp(prefix="l2board-thousand-")
    try:
        compare = l2board_command() + ["compare", logdir, "--format", "json"]
        results = {"cold": [], "warm": [], "rust": [], "tbparse": [], "cold_scaled": [], "warm_scaled": []}
        tbparse_ok = args.tbparse_runs > 0 and _has("tbparse")
        if args.tbparse_runs and not tbparse_ok:
            print("tbparse is not installed (pip install tbparse): left out")
        subset, chosen = subset_folder(logdir, args.tbparse_runs, scratch) if tbparse_ok else (None, [])
        sources = {"this": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
        if args.baseline_source:
            sources["baseline"] = os.path.abspath(args.baseline_source)
            compare = [sys.executable, "-P", "-m", "l2board.cli", "compare", logdir, "--format", "json"]
        # Each tree first on PYTHONPATH, checked once to be what is imported.
        tree_path = {name: os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
                     for name, source in sources.items()}
        if args.baseline_source:
            for name, source in sources.items():
                check_tree(source, dict(os.environ, PYTHONPATH=tree_path[name]))
        side_by_side = {name: {"cold": [], "warm": [], "sha256": set()} for name in sources}
        for round_index in range(args.rounds):
            env = dict(os.environ, XDG_CACHE_HOME=os.path.join(scratch, f"cache-{round_index}"))
            env.pop("L2BOARD_CACHE", None)
            steps = ["compare", "rust", "tbparse"]
            steps = steps[round_index % 3:] + steps[:round_index % 3]
            for step in steps:
                if step == "compare":
                    order = list(sources) if round_index % 2 == 0 else list(sources)[::-1]
                    for name in order:
                        tree_env = dict(env, XDG_CACHE_HOME=env["XDG_CACHE_HOME"] + "-" + name)
                        if args.baseline_source:
                            tree_env["PYTHONPATH"] = tree_path[name]
                        cold = measured(compare, tree_env)  # an empty cache folder: every file parsed
                        warm = measured(compare, tree_env)  # the same files: served by the cache
                        if cold["runs"] != run_count or warm["sha256"] != cold["sha256"]:
                            raise RuntimeError("the cold and the warm compare disagree, or a run is missing")
                        side_by_side[name]["cold"].append(cold["seconds"])
                        side_by_side[name]["warm"].append(warm["seconds"])
                        side_by_side[name]["sha256"].add(cold["sha256"])
                        if name == "this":
                            results["cold"].append(cold)
                            results["warm"].append(warm)
                    if scaling:  # (h): the same command on ten times the runs, right after
                        big_env = dict(env, XDG_CACHE_HOME=env["XDG_CACHE_HOME"] + "-scaling")
                        big = l2board_command() + ["compare", scaling, "--format", "json"]
                        big_cold, big_warm = measured(big, big_env), measured(big, big_env)
                        if big_cold["runs"] != SCALING_RUNS or big_warm["sha256"] != big_cold["sha256"]:
                            raise RuntimeError("the cold and the warm compare of the scaling set disagree")
                        results["cold_scaled"].append(big_cold)
                        results["warm_scaled"].append(big_warm)
                elif step == "rust" and not args.no_rust:
                    seconds, served = run_rust_server(logdir, points)
                    if served != points:
                        raise RuntimeError(f"the Rust data server served {served} of {points} points")
                    results["rust"].append(seconds)
                elif step == "tbparse" and tbparse_ok:
                    result = subprocess.run([sys.executable, "-c", _TBPARSE, subset], capture_output=True, text=True)
                    if result.returncode:
                        raise RuntimeError(f"tbparse failed:\n{result.stderr[-3000:]}")
                    data = json.loads(result.stdout.strip().splitlines()[-1])
                    if data["rows"] != sum(per_run[name] for name in chosen):
                        raise RuntimeError(f"tbparse read {data['rows']} scalar points of {len(chosen)} runs")
                    results["tbparse"].append(data["seconds"] * size / folder_bytes(subset))
            print(f"round {round_index + 1}: compare cold {results['cold'][-1]['seconds']:.2f} s, "
                  f"warm {results['warm'][-1]['seconds']:.2f} s"
                  + (f", Rust server {results['rust'][-1]:.2f} s" if results["rust"] else "")
                  + (f", tbparse (scaled) {results['tbparse'][-1]:.1f} s" if results["tbparse"] else ""), flush=True)
        reads = {name: [] for name in sources}
        for round_index in range(args.read_rounds if args.baseline_source else 0):
            for name in list(sources) if round_index % 2 == 0 else list(sources)[::-1]:
                tree_env = dict(env, XDG_CACHE_HOME=env["XDG_CACHE_HOME"] + "-" + name,  # warm: the last round's
                                PYTHONPATH=tree_path[name])
                result = subprocess.run([sys.executable, "-P", "-c", _READ_ONLY, logdir], capture_output=True,
                                        text=True, env=tree_env, check=True)
                seconds, hits, read_points = json.loads(result.stdout)
                if hits != len(files) or read_points != points:
                    raise RuntimeError(f"the warm read of {name} had {hits} cache hits or read {read_points} points")
                reads[name].append(seconds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    cold = statistics.median(r["seconds"] for r in results["cold"])
    warm = statistics.median(r["seconds"] for r in results["warm"])
    print(f"compare's JSON report: {results['cold'][0]['stdout_bytes'] / 1e6:.1f} MB, every run in it, "
          "the same bytes cold and warm")
    memory = max(r["maxrss_kib"] for r in results["cold"] + results["warm"]) / 1024
    print(f"\nmedians of {args.rounds} rounds (whole processes):")
    print(f"  (a) l2board compare, cold     {cold:8.2f} s")
    print(f"  (b) l2board compare, warm     {warm:8.2f} s   target <= 1 s: {_met(warm <= 1.0)}")
    if results["rust"]:
        rust = statistics.median(results["rust"])
        print(f"  (c) Rust data server          {rust:8.2f} s   compare cold / server = {cold / rust:.2f} "
              f"(target <= 2): {_met(cold <= 2 * rust)}")
    if results["tbparse"]:
        tb = statistics.median(results["tbparse"])
        print(f"  (d) tbparse (scaled from {len(chosen)} runs) {tb:8.1f} s   tbparse / compare cold = "
              f"{tb / cold:.1f} (target >= 10): {_met(tb >= 10 * cold)}")
    print(f"  (e) compare's peak memory     {memory:8.0f} MiB (target <= 1024 MiB): {_met(memory <= 1024)}")
    if scaling:
        factor = SCALING_RUNS / run_count
        for kind in ("cold", "warm"):
            big = statistics.median(r["seconds"] for r in results[f"{kind}_scaled"])
            small = statistics.median(r["seconds"] for r in results[kind])
            print(f"  (h) {SCALING_RUNS:,} runs, {kind}: {big:.2f} s, {big / small:.2f} x the {run_count:,} runs' "
                  f"(at most {factor:g} x, linear: {_met(big <= factor * small)})")
        big_memory = max(r["maxrss_kib"] for r in results["cold_scaled"] + results["warm_scaled"]) / 1024
        print(f"  (h) {SCALING_RUNS:,} runs, peak memory {big_memory:.0f} MiB, {big_memory / memory:.2f} x "
              f"(at most {factor:g} x: {_met(big_memory <= factor * memory)}; at most 2048 MiB: "
              f"{_met(big_memory <= 2048)})")
    if args.baseline_source:
        this, base = side_by_side["this"], side_by_side["baseline"]
        for kind in ("cold", "warm"):
            ratios = [a / b for a, b in zip(this[kind], base[kind])]
            print(f"  (f) {kind}: this tree {statistics.median(this[kind]):.2f} s, {args.baseline_source} "
                  f"{statistics.median(base[kind]):.2f} s; per round this/baseline "
                  f"{', '.join(f'{r:.3f}' for r in ratios)} (median {statistics.median(ratios):.3f})")
        print(f"      the same report bytes: {this['sha256'] == base['sha256']}")
        ratios = [a / b for a, b in zip(reads["this"], reads["baseline"])]
        if ratios:
            print(f"  (g) warm read alone: this tree {statistics.median(reads['this']):.3f} s, baseline "
                  f"{statistics.median(reads['baseline']):.3f} s (medians of {len(ratios)}); per round "
                  f"this/baseline {', '.join(f'{r:.3f}' for r in ratios)} (median {statistics.median(ratios):.3f})")
    cold_memory = max(r["maxrss_kib"] for r in results["cold"]) / 1024
    warm_memory = max(r["maxrss_kib"] for r in results["warm"]) / 1024
    print(f"      cold {cold_memory:.0f} MiB, warm {warm_memory:.0f} MiB (the largest process of each: "
          "the main one or, cold, a reading worker)")


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None  # without importing it (tbparse imports TensorFlow)


def _met(ok):
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()
