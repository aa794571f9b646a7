"""Training several configurations (and seeds) one after another, then comparing them."""

import dataclasses
import os
import shlex
import time

from l2board.errors import Interrupted, L2BoardError
from l2board.training.runs import TrainingConfig, train_run


class ExperimentInterrupted(Interrupted):
    """Ctrl-C during an experiment: the finished runs are kept."""

    def __init__(self, finished, current, logdir):
        self.finished = finished
        self.current = current
        report = f"l2board compare {' '.join(map(shlex.quote, finished))}" if finished else "nothing finished yet"
        super().__init__(
            f"Interrupted during {current}, whose folder keeps the epochs it finished; "
            f"{len(finished)} run(s) finished in {logdir}; report on them with: {report}")


def experiment_configs(base, l2_values, layer_specs, seeds):
    """Expands factors, layer choices and seeds into one config per run.

    A factor of 0 is one run (no L2), whatever the layer choices.

    Args:
        base: a `TrainingConfig` with everything else.
        l2_values: the L2 factors, in the order to train and report them.
        layer_specs: layer choices (`"conv1"`, `"all"`, `"conv1,fc1"`, ...).
        seeds: how many seeds per configuration (0, 1, ...).

    Returns:
        A list of `(run name, TrainingConfig)`; names end in `-seed<k>` when
        there are several seeds, so that `l2board compare` groups them.

    Example:

    >>> [n for n, _ in experiment_configs(TrainingConfig(), [0, 0.01], ["conv1", "all"], 1)]
    ['no-l2', 'l2-0.01-conv1', 'l2-0.01-all']
    """
    if not l2_values:
        raise L2BoardError("Give at least one --l2 factor.")
    if seeds < 1:
        raise L2BoardError(f"--seeds must be at least 1, got {seeds}.")
    configurations = []
    for factor in l2_values:
        for spec in (layer_specs if factor else layer_specs[:1]):
            config = dataclasses.replace(base, l2=factor, l2_layers=spec)
            if config.name not in [c.name for c in configurations]:
                configurations.append(config)
    runs = []
    for config in configurations:
        for seed in range(seeds):
            seeded = dataclasses.replace(config, seed=base.seed + seed)
            runs.append((f"{config.name}-seed{base.seed + seed}" if seeds > 1 else config.name, seeded))
    return runs


def format_duration(seconds):
    """Formats seconds as `m:ss` or `h:mm:ss`.

    Example:

    >>> format_duration(75), format_duration(3725)
    ('1:15', '1:02:05')
    """
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def plan_experiment(runs, logdir, overwrite=False):
    """Checks every run folder of an experiment, creating and deleting nothing.

    Returns:
        A `RunDirPlan` per run (see `l2board.training.run_folders.plan_run_dir`).

    Raises:
        L2BoardError: when a run folder may not be used, naming why.
    """
    from l2board.training.run_folders import plan_run_dir

    return [plan_run_dir(os.path.join(logdir, name), overwrite=overwrite, explicit=True) for name, _ in runs]


def load_first_dataset(runs):
    """The first run's data, loaded and so checked: `{key: Dataset}`, as `run_experiment(datasets=)` takes it."""
    datasets = {}
    if runs:
        _dataset_for(runs[0][1], datasets)
    return datasets


def run_experiment(runs, logdir, overwrite=False, progress=None, verbose=1, plans=None, datasets=None):
    """Trains each run into `logdir/<name>`.

    Everything is checked before anything is created or deleted: every run
    folder (see `l2board.training.run_folders.plan_run_dir`) and the first run's
    data. A run already there is replaced (with `overwrite`) just before
    its own training, so Ctrl-C never costs a run that was not retrained.

    Args:
        runs: `(name, TrainingConfig)` pairs (see `experiment_configs`).
        logdir: the experiment's folder.
        overwrite: replace runs already there instead of refusing.
        progress: called before each run with `(k, n, name, elapsed,
            remaining)`; `remaining` is `None` until a run has finished.
        verbose: Keras's progress output.
        plans: the `plan_experiment` of these runs, when already made.
        datasets: the `load_first_dataset` of these runs, when already loaded.

    Returns:
        The run folders, in order.

    Raises:
        L2BoardError: a run folder may not be used, or the data is bad.
        ExperimentInterrupted: on Ctrl-C; the finished runs stay intact.
    """
    from l2board.training.run_folders import make_run_dir
    from l2board.writing.log_folder import ensure_writable_dir

    plans = plans if plans is not None else plan_experiment(runs, logdir, overwrite)
    datasets = datasets if datasets is not None else load_first_dataset(runs)  # bad data fails before any folder
    ensure_writable_dir(logdir)
    start = time.monotonic()
    finished = []
    for k, ((name, config), plan) in enumerate(zip(runs, plans), start=1):
        elapsed = time.monotonic() - start
        remaining = elapsed / len(finished) * (len(runs) - len(finished)) if finished else None
        if progress:
            progress(k, len(runs), name, elapsed, remaining)
        try:
            dataset = _dataset_for(config, datasets)
            train_run(config, make_run_dir(plan), dataset=dataset, verbose=verbose)
        except KeyboardInterrupt:
            raise ExperimentInterrupted(finished, plan.folder, logdir) from None
        finished.append(plan.folder)
    return [plan.folder for plan in plans]


def _dataset_for(config, datasets):
    from l2board.training.datasets import load_dataset

    key = (config.dataset, config.validation, config.train_size, config.label_noise, config.seed)
    if key not in datasets:
        datasets[key] = load_dataset(*key)
    return datasets[key]


def default_config(**overrides):
    """A `TrainingConfig` with the given fields (CLI options) set."""
    return TrainingConfig(**{k: v for k, v in overrides.items() if v is not None})
