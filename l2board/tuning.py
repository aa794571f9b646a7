"""L2Monitor inside a KerasTuner search: one run folder per trial and execution, the trial's hyperparameters logged.

KerasTuner gives `keras.callbacks.TensorBoard` a folder per trial and
execution (`<log_dir>/<trial_id>/execution<N>`) by patching it as it copies
the callbacks for each execution; a callback of another class learns
nothing of the trial it runs in. A tuner made here does the same for
`L2Monitor`, through KerasTuner's public `run_trial`:

```python
import keras_tuner
from l2board import L2Monitor
from l2board.tuning import monitored

tuner = monitored(keras_tuner.GridSearch)(build_model, objective="val_loss", executions_per_trial=3,
                                          directory="tuning", project_name="l2")
tuner.search(x, y, validation_data=(x_val, y_val), epochs=20, callbacks=[L2Monitor("logs/tuning")])
# then: l2board compare logs/tuning   (executions of a trial are its seeds)
```

`l2board.tuning.GridSearch`, `RandomSearch`, `BayesianOptimization` and
`Hyperband` are KerasTuner's tuners made so. Each run logs the trial's
hyperparameters (`l2board/hparams_json`, and in TensorBoard's HParams
dashboard grouped by trial), and `l2board compare` groups the executions of
a trial as one configuration and the trials by their hyperparameters; when
the L2 factor is one of them, the λ curve and its recommendation follow.
"""

import functools
import itertools
import os

from l2board.errors import L2BoardError
from l2board.log_format import tags
from l2board.writing.callback import L2Monitor

_TUNERS = ("GridSearch", "RandomSearch", "BayesianOptimization", "Hyperband")
_SEARCHES = ("LambdaSearch",)


def trial_hparams(trial):
    """Returns a KerasTuner trial's hyperparameter values as `{name: number, string or bool}`.

    Hyperband's own bookkeeping (`tuner/epochs`, `tuner/round`, ...) is left
    out: it says how long a trial trained, not what it tried, and would keep
    the trials of one factor apart. (Hyperband's later rounds continue an
    earlier trial's weights, so their executions are not independent seeds.)
    """
    return {name: value for name, value in trial.hyperparameters.values.items()
            if isinstance(value, tags.HPARAM_TYPES) and not name.startswith("tuner/")}


def for_trial(monitor, trial_id, hparams):
    """Returns a copy of `monitor` whose copies (one per execution) write to `<log_dir>/<trial_id>/execution<N>`.

    Args:
        monitor: the `L2Monitor` given to `search`.
        trial_id: the trial's id.
        hparams: the trial's hyperparameters, added to the monitor's own.

    Raises:
        L2BoardError: when `monitor` has no `log_dir` (every trial would get
            an unrelated folder under `logs/`).
    """
    if monitor.log_dir is None:
        raise L2BoardError("L2Monitor needs a log_dir in a tuner search, e.g. L2Monitor('logs/tuning'): every "
                           "trial and execution gets a folder inside it.")
    folder = os.path.join(monitor.log_dir, str(trial_id))
    from l2board.log_format.run_files import holds_a_run

    if holds_a_run(os.path.join(folder, "execution0")):
        # Trial ids start again at 0000 in every search: a second search (or
        # overwrite=True) would mix its runs into the first one's.
        _stop_search(f"'{folder}' already holds the runs of a trial {trial_id} of an earlier search; give "
                     "L2Monitor a log_dir of its own for this search.")
    return monitor.with_run_folders((os.path.join(folder, f"execution{n}") for n in itertools.count()),
                                    hparams=hparams, hparams_group=trial_id)


def _stop_search(message):
    # A plain exception would fail one trial and let the search go on.
    try:
        from keras_tuner.errors import FatalValueError
    except ImportError:  # not in a search: the sentence is enough
        raise L2BoardError(message) from None
    raise FatalValueError(message)


def monitored(tuner_class):
    """Returns a subclass of a KerasTuner tuner in which every `L2Monitor` writes a run per trial and execution.

    Args:
        tuner_class: a `keras_tuner.Tuner` subclass (`GridSearch`,
            `RandomSearch`, ... or your own).
    """

    class Monitored(tuner_class):
        def run_trial(self, trial, *args, **kwargs):
            hparams = trial_hparams(trial)
            kwargs["callbacks"] = [for_trial(c, trial.trial_id, hparams) if isinstance(c, L2Monitor) else c
                                   for c in kwargs.get("callbacks") or []]
            return super().run_trial(trial, *args, **kwargs)

    Monitored.__name__ = Monitored.__qualname__ = tuner_class.__name__
    Monitored.__doc__ = f"KerasTuner's `{tuner_class.__name__}`, with L2Monitor's runs per trial and execution."
    return Monitored


@functools.cache
def _tuner(name):
    try:
        import keras_tuner
    except ImportError:
        raise L2BoardError("l2board.tuning needs KerasTuner: pip install keras-tuner.") from None
    return monitored(getattr(keras_tuner, name))


@functools.cache
def _lambda_search():
    try:
        import keras_tuner
    except ImportError:
        raise L2BoardError("l2board.tuning needs KerasTuner: pip install keras-tuner.") from None
    import keras

    from l2board.analysis.factor_search import FIRST_SEEDS
    from l2board.training.search import ModelSearchSettings, SearchFolder, check_budget, search_oracle

    class LambdaSearch(keras_tuner.Tuner):
        """Searches the L2 factor of your model with seeds, and knows when it is sure.

        The λ search of `l2board experiment --l2 auto` (see
        `l2board.analysis.factor_search`) for a model `build(hp)` makes: it
        asks for `hp.Float("l2", ...)` (0: no L2) and, paired by seed, trains
        a coarse grid with no L2, then where the answer is open, until it is
        resolved or `budget` runs are trained. Each run is `L2Monitor`'s run
        folder `<log_dir>/no-l2-seed<k>` or `<log_dir>/l2-<factor>-seed<k>`,
        so `l2board compare <log_dir>` gives the same curve and answer.

        Args:
            hypermodel: `build(hp)`, or a `keras_tuner.HyperModel`; its model
                puts `keras.regularizers.L2(hp.get("l2"))` where L2 goes (none at 0).
            budget: the most runs (fits) the search trains.
            log_dir: the folder of the runs.
            first_seeds: seeds per factor of the first grid (2 or more).
            **options: as for `keras_tuner.Tuner` (`directory`, `project_name`, `overwrite`, ...).

        Example:

        ```python
        tuner = l2board.tuning.LambdaSearch(build, budget=30, log_dir="logs/search", directory="tuning")
        tuner.search(x, y, validation_data=(x_val, y_val), epochs=20)
        decision, comparison = tuner.answer()
        ```
        """

        def __init__(self, hypermodel, budget, log_dir, first_seeds=FIRST_SEEDS, **options):
            if first_seeds < 2:
                raise L2BoardError(f"first_seeds must be at least 2 (seeds give the intervals), got {first_seeds}.")
            check_budget(budget, first_seeds)
            name = getattr(hypermodel, "__name__", None) or type(hypermodel).__name__
            self.settings = ModelSearchSettings(name, budget, first_seeds)
            self.log_dir = os.fspath(log_dir)
            # Its own: in KerasTuner's distributed mode a worker's `self.oracle` is a client of the chief's.
            self.folder = SearchFolder(self.settings, self.log_dir)
            super().__init__(oracle=search_oracle(keras_tuner)(self.settings, self.log_dir), hypermodel=hypermodel,
                             **options)

        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            factor, index, look = float(values["l2"]), int(values["seed"]), int(values["look"])
            keras.utils.set_random_seed(self.settings.first_seed + index)  # the pairing: same weights, same order
            hp = trial.hyperparameters
            model = self.hypermodel.build(hp)
            folder = os.path.join(self.log_dir, self.settings.run_name(factor, index))
            callbacks = [c for c in kwargs.pop("callbacks", None) or [] if not isinstance(c, L2Monitor)]
            callbacks.append(L2Monitor(folder, verbose=0, hparams={"l2": factor}))
            history = self.hypermodel.fit(hp, model, *args, callbacks=callbacks, **kwargs)
            self.folder.record(folder, look)
            return history

        def answer(self):
            """`(Decision, Comparison)` of the search as it stands: resolved, or what is open (see `factor_search`)."""
            step = self.folder.next_step()
            if step.decision is None:
                raise L2BoardError(f"The search in '{self.log_dir}' has runs left to train: call search() first.")
            return step.decision, step.comparison

    return LambdaSearch


def __getattr__(name):
    # KerasTuner is imported when a tuner is asked for, not with l2board.
    if name in _TUNERS:
        return _tuner(name)
    if name in _SEARCHES:
        return _lambda_search()
    raise AttributeError(f"module 'l2board.tuning' has no attribute '{name}'")
