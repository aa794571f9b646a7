"""`l2board experiment --l2 auto`: the λ search on the documented CNN, on one machine or many.

The policy is `l2board.analysis.factor_search`; this module trains what it
proposes, one run folder per factor and seed (`l2-0.01-all-seed3`,
`no-l2-seed0`: the names `experiment` gives, so `compare` groups them),
records the look that proposed each run in it (`l2board/search_json`,
with the search's settings), and reads the folder back for each look.

A search started again on the same `--logdir` replays its looks on the
runs it finds there and trains only what is missing; runs with other
settings are refused, never mixed in.
"""

import contextlib
import dataclasses
import json
import os
import time

from l2board.errors import L2BoardError
from l2board.log_format import tags

SEARCH = "lambda"


def search_record(settings, look):
    """The `l2board/search_json` text of a run proposed at `look` by a search with `settings` (either kind)."""
    return json.dumps({"search": SEARCH, "look": look, "settings": settings.key()}, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """What a search trains: the base `TrainingConfig` (its `l2` set per run, its `seed` the first seed), the
    layers under L2 (a tuple of names, or `("all",)`), the budget, and the first grid's seeds per factor.

    The search counts seeds from 0; run `k` of a factor trains with seed `base.seed + k`.
    """

    base: object
    layers: tuple
    budget: int
    first_seeds: int

    def record(self, look):
        return search_record(self, look)

    def key(self):
        """The settings that make two searches' runs comparable (the budget may grow when a search goes on)."""
        config = dataclasses.asdict(self.base)
        for name in ("l2", "l2_layers", "seed"):
            config.pop(name, None)
        return {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(config.items())},
                "layers": list(self.layers), "first_seed": self.base.seed, "first_seeds": self.first_seeds}

    def config(self, factor, index):
        return dataclasses.replace(self.base, l2=factor, l2_layers=self.layers, seed=self.base.seed + index)

    def run_name(self, factor, index):
        """The run folder's name: `experiment`'s name of the configuration, and its seed."""
        return f"{self.config(factor, 0).name}-seed{self.base.seed + index}"

    @property
    def first_seed(self):
        return self.base.seed

    @property
    def baseline(self):
        """The configuration of no L2, the comparison's baseline."""
        return self.config(0.0, 0).name

    def factor_of(self, configuration):
        """The factor of a configuration's name (`l2-0.01-all`, `no-l2`), or `None` when it is not this search's."""
        if configuration == self.baseline:
            return 0.0
        if configuration.startswith("l2-"):
            try:
                factor = float(configuration[len("l2-"):].split("-", 1)[0])
            except ValueError:
                return None
            return factor if self.config(factor, 0).name == configuration else None
        return None


@dataclasses.dataclass(frozen=True)
class ModelSearchSettings:
    """What a search of a user's model trains (`l2board.tuning.LambdaSearch`): runs `no-l2-seed<k>` and
    `l2-<factor>-seed<k>`, seeds from 0, each `build(hp)` with `hp["l2"]` the factor."""

    model: str
    budget: int
    first_seeds: int
    first_seed: int = 0
    baseline: str = "no-l2"

    def key(self):
        return {"model": self.model, "first_seeds": self.first_seeds}

    def record(self, look):
        return search_record(self, look)

    def run_name(self, factor, index):
        return f"{self.configuration(factor)}-seed{index}"

    def configuration(self, factor):
        return self.baseline if factor == 0 else f"l2-{factor:g}"

    def factor_of(self, configuration):
        if configuration == self.baseline:
            return 0.0
        try:
            factor = float(configuration[len("l2-"):]) if configuration.startswith("l2-") else None
        except ValueError:
            return None
        return factor if factor is not None and self.configuration(factor) == configuration else None


def check_budget(budget, first_seeds):
    """Refuses a budget that cannot hold the first grid, in one sentence naming both."""
    from l2board.analysis.factor_search import FIRST_GRID

    first = len(FIRST_GRID) * first_seeds
    if budget < first:
        raise L2BoardError(f"A budget of {budget} runs is smaller than the search's first grid: {len(FIRST_GRID)} "
                           f"factors ({', '.join(f'{f:g}' for f in FIRST_GRID)}) x {first_seeds} seeds = {first} "
                           f"runs; give a budget of {first} or more.")


def _has_event_file(folder):
    from l2board.log_format.run_files import is_event_file

    try:
        return any(is_event_file(name) for name in os.listdir(folder))
    except OSError:  # not there (yet), or not a folder
        return False


def _record_of(run):
    text = run.latest_text(tags.TRAIN_DIR, tags.SEARCH_JSON)
    try:
        record = json.loads(text) if text else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("search") == SEARCH else None


class SearchFolder:
    """A search's `--logdir`: the runs it finished (with the look of each), read again for every look."""

    def __init__(self, settings, logdir):
        self.settings, self.logdir = settings, logdir

    def finished(self):
        """`{(factor, seed): look}` of the runs of this search in the folder; refuses runs of another search."""
        from l2board.reading.logs import read_runs

        if not os.path.isdir(self.logdir):
            return {}
        names = {self.settings.run_name(factor, seed): (factor, seed) for factor, seed in self.names_in_folder()}
        # A finished run has its record in train/; a run just begun may have no event file yet.
        written = [os.path.join(self.logdir, name) for name in names if _has_event_file(
            os.path.join(self.logdir, name, tags.TRAIN_DIR))]
        found = {}
        for run in read_runs(written) if written else []:
            record = _record_of(run)
            if record is None or run.name not in names:
                continue
            if record.get("settings") != self.settings.key():
                raise L2BoardError(f"'{run.path}' is a run of a λ search with other settings; search into another "
                                   "--logdir, or give the options that search was started with.")
            found[names[run.name]] = record["look"]
        return found

    def names_in_folder(self):
        """`(factor, seed)` of every folder named like a run of this search."""
        pairs = []
        for entry in os.listdir(self.logdir):
            prefix, _, seed = entry.rpartition("-seed")
            if not seed.isdigit():
                continue
            index, factor = int(seed) - self.settings.first_seed, self.settings.factor_of(prefix)
            if index >= 0 and factor is not None:
                pairs.append((factor, index))
        return pairs

    def next_step(self):
        """The search's next `Step` (`factor_search.next_step`), from the runs finished in the folder."""
        from l2board.analysis.factor_search import next_step

        return next_step(self.analyse, self.settings.budget, self.finished(), self.settings.first_seeds)

    def analyse(self, look):
        """The `Comparison` of the runs proposed before `look` (their claims at that look's level)."""
        from l2board.analysis.comparison import compare_runs
        from l2board.reading.logs import read_runs

        runs = [run for run in read_runs([self.logdir])
                if (record := _record_of(run)) is not None and record.get("look", 0) < look]
        # Against no L2, as `experiment` lists it first.
        return compare_runs(runs, baseline=self.settings.baseline)

    def clear(self):
        """Replaces the search's own finished runs by empty folders (`--overwrite`): each is proven an l2board
        run first, and only its event files go."""
        from l2board.training.run_folders import make_run_dir, plan_run_dir

        for factor, index in self.finished():
            plan = plan_run_dir(os.path.join(self.logdir, self.settings.run_name(factor, index)), overwrite=True,
                                explicit=True)
            make_run_dir(plan)

    def train(self, factor, seed, look, datasets, verbose, around=contextlib.nullcontext):
        """Trains run `(factor, seed)` of the documented CNN into its folder and records `look` in it.

        Only what is there of this run (a worker killed in it) is replaced,
        and only an l2board run ever is. `around()` is the context the
        training runs in (a worker's heartbeat to its chief).

        Returns:
            `(folder, history)`.
        """
        from l2board.training.experiment import _dataset_for
        from l2board.training.run_folders import make_run_dir, plan_run_dir
        from l2board.training.runs import train_run

        plan = plan_run_dir(os.path.join(self.logdir, self.settings.run_name(factor, seed)), overwrite=True,
                            explicit=True, replace_empty=True)
        config = self.settings.config(factor, seed)
        with around():
            history = train_run(config, make_run_dir(plan), dataset=_dataset_for(config, datasets), verbose=verbose)
        self.record(plan.folder, look)
        return plan.folder, history

    def record(self, folder, look):
        """Writes the search's record into a finished run, without TensorFlow (the run's own event files stay)."""
        from l2board.writing.event_writer import EventFileRunWriter

        writer = EventFileRunWriter(os.path.join(folder, tags.TRAIN_DIR))
        writer.text({tags.SEARCH_JSON: self.settings.record(look)}, 0)
        writer.close()


def run_search(settings, logdir, progress=None, verbose=2):
    """Trains the search's runs into `logdir` on this machine until it is resolved or the budget is spent.

    Args:
        settings: a `SearchSettings`.
        logdir: the search's folder (resumed when it holds runs of the same search).
        progress: called with `(k, n, name, elapsed, remaining)` before each run.
        verbose: Keras's progress output.

    Returns:
        `(Decision, Comparison, trained)`: the last look's decision and
        comparison, and the runs trained by this call.
    """
    from l2board.analysis import factor_search

    folder = SearchFolder(settings, logdir)
    done = folder.finished()
    datasets, trained, started = {}, [], time.monotonic()

    def train(runs, look):
        for factor, seed in runs:
            if progress:
                progress(len(done) + len(trained) + 1, settings.budget, settings.run_name(factor, seed),
                         time.monotonic() - started, None)
            trained.append(folder.train(factor, seed, look, datasets, verbose)[0])

    decision, comparison = factor_search.run_search(train, folder.analyse, settings.budget, settings.first_seeds,
                                                    done=list(done))
    return decision, comparison, trained


# KerasTuner's project of a search spread over machines, in `<logdir>/.l2board-tuner/`.
PROJECT = "lambda-search"
# A worker told to wait (every run of the look being trained elsewhere) asks again after this long.
IDLE_WAIT_S = 1.0


def search_oracle(keras_tuner):
    """The KerasTuner oracle class of the search: it proposes the next `(factor, seed)` runs, look by look."""

    class SearchOracle(keras_tuner.Oracle):
        """Proposes the runs `factor_search.next_step` decides, each once; `IDLE` while a look waits for its runs.

        What is done is read from the search's folder (the runs with the
        search's record), so a chief started again goes on from what is
        there, and a run a worker was killed in is given again.
        """

        def __init__(self, settings, logdir, **options):
            from l2board.parameter_types import MAX_FACTOR

            space = keras_tuner.HyperParameters()
            space.Float("l2", 0.0, MAX_FACTOR)
            space.Int("seed", 0, 10 ** 6)
            space.Int("look", 0, 10 ** 4)
            super().__init__(objective=keras_tuner.Objective("val_loss", "min"), max_trials=settings.budget,
                             hyperparameters=space, **options)
            self.folder, self.settings = SearchFolder(settings, logdir), settings

        def step(self):
            """The search's next `Step`, from the runs finished in its folder."""
            return self.folder.next_step()

        def populate_space(self, trial_id):
            step = self.step()
            if step.decision is not None:
                return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED}
            flying = {(t.hyperparameters.values.get("l2"), t.hyperparameters.values.get("seed"))
                      for t in self.ongoing_trials.values()}
            free = [run for run in step.todo if run not in flying]
            if not free:
                return {"status": keras_tuner.engine.trial.TrialStatus.IDLE}
            factor, seed = free[0]
            return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                    "values": {"l2": factor, "seed": seed, "look": step.look}}

        def finished(self):
            """Whether the search is resolved or its budget spent, with nothing being trained."""
            return not self.ongoing_trials and self.step().decision is not None

    return SearchOracle


def search_tuner(keras_tuner):
    """The KerasTuner tuner class of the search: a trial trains one run and records its look."""
    oracle_class = search_oracle(keras_tuner)

    class SearchTuner(keras_tuner.Tuner):
        def __init__(self, settings, logdir, verbose, progress, overwrite):
            from l2board.training.distributed import TUNER_FOLDER

            super().__init__(oracle=oracle_class(settings, logdir), directory=os.path.join(logdir, TUNER_FOLDER),
                             project_name=PROJECT, overwrite=overwrite)
            self.settings, self.logdir, self.verbose, self.progress = settings, logdir, verbose, progress
            # Its own: on a worker, `self.oracle` is KerasTuner's client of the chief's oracle.
            self.folder = SearchFolder(settings, logdir)
            self.trained, self.datasets = [], {}
            self.link, self.heartbeat_interval = None, None
            asked = self.oracle.create_trial

            def create_trial(tuner_id):
                trial = asked(tuner_id)
                if trial.status == keras_tuner.engine.trial.TrialStatus.IDLE:
                    time.sleep(IDLE_WAIT_S)  # the look's last runs are being trained elsewhere
                return trial

            self.oracle.create_trial = create_trial

        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            factor, seed, look = float(values["l2"]), int(values["seed"]), int(values["look"])
            if self.progress:
                self.progress(self.settings.run_name(factor, seed), self.tuner_id)
            folder, history = self.folder.train(
                factor, seed, look, self.datasets, self.verbose,
                around=lambda: self.link.heartbeat(self.heartbeat_interval))
            self.trained.append(folder)
            return {"val_loss": float(history.history["val_loss"][-1])}

    return SearchTuner


def run_distributed_search(settings, logdir, verbose=1, progress=None, chief=None, wait=600, say=None, link=None):
    """The search spread over machines by KerasTuner's distributed mode: the chief's oracle proposes, workers train.

    Returns:
        On the chief, once the search is resolved or its budget spent; on a
        worker, the run folders it trained.
    """
    from l2board.training import distributed

    # On a worker, the chief answers before KerasTuner and TensorFlow load.
    keras_tuner, link = distributed.keras_tuner_and_link(chief, link, wait, say)
    # A search started again goes on from its folder: the oracle's state is re-read from it, not KerasTuner's.
    tuner = search_tuner(keras_tuner)(settings, logdir, verbose, progress, overwrite=chief is not None)
    if chief is not None:
        oracle = tuner.oracle
        if not oracle.finished():
            oracle.verbose = 0
            tuner.save()  # as KerasTuner's chief does before serving
            chief.serve_until(oracle, oracle.finished,
                              lambda: f"the search has {settings.budget - len(oracle.folder.finished())} runs of its "
                                      "budget left")
        return []
    distributed.work(tuner, link, wait)
    return tuner.trained
