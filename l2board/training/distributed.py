"""An experiment's runs spread over machines, by KerasTuner's distributed mode.

`l2board experiment` trains its grid (factors × layers × seeds) one run
after another. Started with KerasTuner's documented environment (one chief
and any number of workers, each with `KERASTUNER_TUNER_ID` = `chief`,
`tuner0`, `tuner1`, ..., and the chief's `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT`), the same command makes the grid a KerasTuner grid
search over the run names: the chief serves the trials and, once every run
is trained, prints the comparison as on one machine; each worker trains the
runs it is given into the shared `--logdir`. No scheduler of our own.

The search state lives in `<logdir>/.l2board-tuner/`. A worker that is
killed and started again with the same `KERASTUNER_TUNER_ID` is given its
unfinished run again (KerasTuner keeps a trial per tuner id), which replaces
what that run had written; finished runs stay. A chief started again
without `--overwrite` resumes the search (KerasTuner's `overwrite=False`).
"""

import json
import os

from l2board.errors import L2BoardError

TUNER_FOLDER = ".l2board-tuner"
PROJECT = "experiment"
ENVIRONMENT = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def role():
    """Returns `None` (no KerasTuner environment: one machine), `"chief"` or `"worker"`.

    Raises:
        L2BoardError: for an incomplete environment, naming what is missing.
    """
    present = [name for name in ENVIRONMENT if os.environ.get(name)]
    if not present:
        return None
    missing = [name for name in ENVIRONMENT if name not in present]
    if missing:
        raise L2BoardError(f"KerasTuner's distributed mode needs {', '.join(ENVIRONMENT)}; "
                           f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.")
    # As KerasTuner decides: a tuner id with "chief" in it serves the trials.
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def resuming(logdir):
    """Whether a distributed experiment's search was started in `logdir` before."""
    return os.path.exists(os.path.join(logdir, TUNER_FOLDER, PROJECT, "oracle.json"))


def _runs_file(logdir):
    return os.path.join(logdir, TUNER_FOLDER, "runs.json")


def check_same_runs(runs, logdir):
    """Refuses to resume a search with other runs than it was started with (the saved trials name those).

    Raises:
        L2BoardError: naming the runs it was started with.
    """
    try:
        with open(_runs_file(logdir), encoding="utf-8") as file:
            started = json.load(file)
    except (OSError, ValueError):
        return
    if started != [name for name, _ in runs]:
        raise L2BoardError(
            f"The search in '{logdir}' was started with the runs {', '.join(started)}; resume it with the same "
            "options, or pass --overwrite to start it anew.")


def save_runs(runs, logdir):
    """Records the search's runs, so that a resumed one can be checked (see `check_same_runs`)."""
    from l2board.output_files import atomic_output

    os.makedirs(os.path.dirname(_runs_file(logdir)), exist_ok=True)
    with atomic_output(_runs_file(logdir), "the list of runs of the search") as file:
        file.write(json.dumps([name for name, _ in runs]))


def run_distributed(runs, logdir, overwrite=False, verbose=1, progress=None):
    """Trains `runs` as a KerasTuner grid search in the chief's and workers' processes.

    Args:
        runs: `(name, TrainingConfig)` pairs (see `experiment_configs`).
        logdir: the experiment's folder, shared by every machine.
        overwrite: start the search anew (and replace runs already there).
        verbose: Keras's progress output.
        progress: called with `(name, tuner id)` before a worker trains a run.

    Returns:
        On the chief, every run folder once all are trained; on a worker, the
        folders it trained.
    """
    try:
        import keras_tuner
    except ImportError:
        raise L2BoardError("KERASTUNER_TUNER_ID is set: spreading an experiment over machines needs KerasTuner: "
                           "pip install keras-tuner.") from None
    tuner = _run_tuner(keras_tuner)(runs, logdir, verbose, progress, overwrite)
    chief = role() == "chief"
    if chief and _all_completed(tuner, len(runs)):
        # A finished search started again: KerasTuner would serve until a
        # worker asks; there is nothing left to serve.
        return [os.path.join(logdir, name) for name, _ in runs]
    tuner.search(verbose=0)
    if chief:
        return [os.path.join(logdir, name) for name, _ in runs]
    return tuner.trained


def _all_completed(tuner, count):
    statuses = [trial.status for trial in tuner.oracle.trials.values()]
    return len(statuses) >= count and all(status == "COMPLETED" for status in statuses)


def _run_tuner(keras_tuner):
    class RunTuner(keras_tuner.Tuner):
        """A tuner whose trials are the experiment's runs, by name."""

        def __init__(self, runs, logdir, verbose, progress, overwrite):
            hyperparameters = keras_tuner.HyperParameters()
            hyperparameters.Choice("run", [name for name, _ in runs])
            oracle = keras_tuner.oracles.GridSearchOracle(
                objective=keras_tuner.Objective("val_loss", "min"), max_trials=len(runs),
                hyperparameters=hyperparameters)
            super().__init__(oracle=oracle, directory=os.path.join(logdir, TUNER_FOLDER), project_name=PROJECT,
                             overwrite=overwrite)
            self.configs, self.logdir, self.verbose, self.progress = dict(runs), logdir, verbose, progress
            self.trained, self.datasets = [], {}

        def run_trial(self, trial, *args, **kwargs):
            from l2board.training.run_folders import make_run_dir, plan_run_dir
            from l2board.training.experiment import _dataset_for
            from l2board.training.runs import train_run

            name = trial.hyperparameters.get("run")
            if self.progress:
                self.progress(name, self.tuner_id)
            # This trial's own folder: what is there is this run's, from a
            # killed worker (the chief refused other runs before serving);
            # only an l2board run is ever replaced.
            plan = plan_run_dir(os.path.join(self.logdir, name), overwrite=True, explicit=True, replace_empty=True)
            config = self.configs[name]
            history = train_run(config, make_run_dir(plan), dataset=_dataset_for(config, self.datasets),
                                verbose=self.verbose)
            self.trained.append(plan.folder)
            return {"val_loss": float(history.history["val_loss"][-1])}

    return RunTuner
