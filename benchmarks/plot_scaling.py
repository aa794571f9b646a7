"""`l2board compare --plot` at 10, 100 and 500 runs, side by side with the same `compare` without `--plot`.

The log sets are written once by this script, into the folder given (and
reused when complete), by `thousand_runs.write_run`: the tags L2Monitor
writes for the documented CNN (every scalar of docs/log-format.md for its 8
variables, the setup text and JSON, the end-of-training record, HParams),
through l2board's own TF-free writer, here with 30 epochs and the weight
histograms of the first epoch only (small files).

The sets (runs = configurations x seeds):

- `runs-10`: 2 x 5 (no L2, and L2 1e-5 on conv1), named `...-seed<k>`;
- `runs-100`: 20 x 5, L2 factors x layer choices (conv1, conv2, fc1, all);
- `runs-500`: 100 x 5, likewise;
- `runs-500-unseeded`: 500 x 1, each run its own configuration: the most
  lines and legend entries a figure of 500 runs can be asked for;
- `sweep-500`: 50 x 10, no L2 and 49 factors on every layer: a λ sweep,
  so the figure has its λ row too.

Then, for each set, alternating in one loop, each a fresh process:
`l2board compare <set>` (the table) and `l2board compare <set> --plot
<file>.png`. A first, uncounted round fills the parse cache (a fresh
`XDG_CACHE_HOME`), so both read the same way. Printed per set: the medians,
the median of the rounds' ratios plot / table, the time the plot adds, and
for 500 runs whether the plot meets the target (at most 10 s, whole
process, on this machine).

Usage:
    python benchmarks/plot_scaling.py --logdir /tmp/l2board-plot-scaling [--rounds 5] [--keep-plots DIR]
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import thousand_runs  # benchmarks/, beside this script

EPOCHS = 30
FACTORS = [float(f"{1e-5 * 10 ** (i / 10):.3g}") for i in range(50)]  # 1e-05 .. 0.079, ten a decade
LAYER_CHOICES = ("conv1", "conv2", "fc1", "all")
TARGET_SECONDS, TARGET_RUNS = 10.0, 500
FORMAT = 1  # of the sets written, in their `.complete` marker


def _grid(count, layer_choices=LAYER_CHOICES):
    """No L2, then (factor, layers), the layers varying fastest: `count` configurations."""
    return ([(0.0, "none")] + [(factor, layers) for factor in FACTORS for layers in layer_choices])[:count]


def _seeded(configurations, seeds):
    """`[(name, factor, layers, seed)]`: `seeds` runs of each configuration, named `<configuration>-seed<k>`."""
    return [(f"{'no-l2' if not factor else f'l2-{factor:g}-{layers}'}-seed{seed}", factor, layers, seed)
            for factor, layers in configurations for seed in range(seeds)]


def _unseeded(count):
    """`count` runs without a seed in their names: each is a configuration of its own."""
    grid = _grid(1 + len(FACTORS) * len(LAYER_CHOICES))
    return [(f"run-{index:03d}", *grid[index % len(grid)], index) for index in range(count)]


SETS = {
    "runs-10": (_seeded(_grid(2), 5), "2 configurations x 5 seeds"),
    "runs-100": (_seeded(_grid(20), 5), "20 configurations x 5 seeds"),
    "runs-500": (_seeded(_grid(100), 5), "100 configurations x 5 seeds"),
    "runs-500-unseeded": (_unseeded(500), "500 configurations x 1 run"),
    "sweep-500": (_seeded(_grid(50, ("all",)), 10), "a λ sweep: 50 factors x 10 seeds"),
}


def _write_job(job):
    thousand_runs.write_run(*job)


def _write_set(folder, runs):
    """Writes a set into a new folder beside `folder`, marks it complete, and renames it into place."""
    if os.path.exists(folder):
        raise SystemExit(f"{folder} exists, and is not a complete set of this script: move it away, or choose "
                         "another --logdir (nothing is deleted).")
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    partial = tempfile.mkdtemp(prefix=os.path.basename(folder) + ".writing-", dir=os.path.dirname(folder))
    # thousand_runs.write_run reads these at each call; the forked workers inherit them.
    thousand_runs.EPOCHS, thousand_runs.HISTOGRAM_EVERY = EPOCHS, EPOCHS
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        pool.map(_write_job, [(partial, *run) for run in runs], chunksize=10)
    with open(os.path.join(partial, ".complete"), "w") as marker:
        json.dump(_marker(runs), marker)
    os.rename(partial, folder)


def _marker(runs):
    return {"runs": [name for name, *_ in runs], "epochs": EPOCHS, "format": FORMAT}


def _complete(folder, runs):
    try:
        with open(os.path.join(folder, ".complete")) as marker:
            return json.load(marker) == _marker(runs)
    except (OSError, ValueError):
        return False


def _timed(command, env):
    """`(seconds, lines written to stderr)` of a command; stderr holds matplotlib's warnings, if any."""
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, result.stderr.splitlines()


def _measure(folder, plot, rounds, env):
    """`([(table seconds, plot seconds)] per round, the plot's stderr lines)`, alternating which goes first."""
    l2board = thousand_runs.l2board_command()
    commands = {"table": l2board + ["compare", folder], "plot": l2board + ["compare", folder, "--plot", plot]}
    pairs, warned = [], set()
    for round_index in range(rounds + 1):
        order = ("table", "plot") if round_index % 2 else ("plot", "table")
        seconds = {}
        for name in order:
            seconds[name], stderr = _timed(commands[name], env)
            warned.update(line for line in stderr if "Warning" in line)
        if round_index:  # the first round fills the parse cache
            pairs.append((seconds["table"], seconds["plot"]))
    return pairs, sorted(warned)


def _ensure_sets(logdir, names):
    """Writes the sets not yet complete in `logdir`; returns `{name: megabytes of event files}`."""
    sizes = {}
    for name in names:
        folder, (runs, _) = os.path.join(logdir, name), SETS[name]
        if not _complete(folder, runs):
            print(f"writing {name} ({len(runs)} runs) to {folder} (once) ...", flush=True)
            _write_set(folder, runs)
        sizes[name] = sum(os.path.getsize(path) for path in thousand_runs.event_files(folder)) / 1e6
    return sizes


def _report(rows, rounds, loads):
    print(f"\nmedians of {rounds} rounds, whole processes, warm parse cache; the seconds are this machine's "
          f"({os.cpu_count()} cores, shared; load average {loads[0]:.1f} before, {loads[1]:.1f} after):")
    print(f"{'set':18s} {'runs':>4s} {'MB':>4s}  {'shape':33s} {'compare':>8s} {'--plot':>8s} {'plot/compare':>12s} "
          f"{'plot adds':>9s} {'warnings':>8s}")
    for name, count, size, shape, pairs, warned in rows:
        table = statistics.median(t for t, _ in pairs)
        drawn = statistics.median(p for _, p in pairs)
        ratio = statistics.median(p / t for t, p in pairs)
        added = statistics.median(p - t for t, p in pairs)
        print(f"{name:18s} {count:4d} {size:4.0f}  {shape:33s} {table:7.2f}s {drawn:7.2f}s {ratio:12.2f} "
              f"{added:8.2f}s {len(warned):8d}")
    for name, count, _, _, pairs, _ in rows:
        if count >= TARGET_RUNS:
            drawn = statistics.median(p for _, p in pairs)
            within = sum(p <= TARGET_SECONDS for _, p in pairs)
            print(f"{name}: --plot of {count} runs, median {drawn:.2f} s (target <= {TARGET_SECONDS:g} s, whole "
                  f"process): {'met' if drawn <= TARGET_SECONDS else 'NOT met'}; {within} of {len(pairs)} rounds "
                  "within it")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", required=True, help="where the log sets are written once and reused")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep-plots", help="a folder to copy the plots into, to look at them")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    args = parser.parse_args()
    sizes = _ensure_sets(os.path.abspath(args.logdir), args.sets)
    scratch = tempfile.mkdtemp(prefix="l2board-plot-scaling-")
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(scratch, "cache"))
    env.pop("L2BOARD_CACHE", None)
    rows, load_before = [], os.getloadavg()[0]
    try:
        for name in args.sets:
            runs, shape = SETS[name]
            plot = os.path.join(scratch, f"{name}.png")
            pairs, warned = _measure(os.path.join(os.path.abspath(args.logdir), name), plot, args.rounds, env)
            rows.append((name, len(runs), sizes[name], shape, pairs, warned))
            print(f"{name}: compare " + ", ".join(f"{t:.2f}" for t, _ in pairs) + " s; --plot "
                  + ", ".join(f"{p:.2f}" for _, p in pairs) + " s", flush=True)
            for line in warned:
                print(f"  warned: {line.strip()}", flush=True)
            if args.keep_plots:
                os.makedirs(args.keep_plots, exist_ok=True)
                shutil.copy(plot, os.path.join(args.keep_plots, f"{name}.png"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _report(rows, args.rounds, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
