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

import dataclasses
import json
import os

from l2board.errors import L2BoardError
from l2board.log_format import tags

SEARCH = "lambda"


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """What a search trains: the base `TrainingConfig` (its `l2` and `seed` set per run), the layers, the budget."""

    base: object
    layers: str
    budget: int
    first_seeds: int

    def record(self, look):
        """The `l2board/search_json` text of a run proposed at `look`."""
        return json.dumps({"search": SEARCH, "look": look, "settings": self.key()}, sort_keys=True)

    def key(self):
        """The settings that make two searches' runs comparable (the budget may grow when a search goes on)."""
        config = dataclasses.asdict(self.base)
        for name in ("l2", "l2_layers", "seed"):
            config.pop(name, None)
        return {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(config.items())},
                "layers": self.layers, "first_seeds": self.first_seeds}

    def config(self, factor, seed):
        return dataclasses.replace(self.base, l2=factor, l2_layers=self.layers, seed=seed)

    def run_name(self, factor, seed):
        """The run folder's name: `experiment`'s name of the configuration, and its seed."""
        return f"{self.config(factor, 0).name}-seed{seed}"


def check_budget(budget, first_seeds):
    """Refuses a budget that cannot hold the first grid, in one sentence naming both."""
    from l2board.analysis.factor_search import FIRST_GRID

    first = len(FIRST_GRID) * first_seeds
    if budget < first:
        raise L2BoardError(f"--budget {budget} is smaller than the search's first grid: {len(FIRST_GRID)} factors "
                           f"({', '.join(f'{f:g}' for f in FIRST_GRID)}) x {first_seeds} seeds = {first} runs; give "
                           f"--budget {first} or more.")


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
        names = {self.settings.run_name(factor, seed): (factor, seed) for factor, seed in self._names_in_folder()}
        found = {}
        for run in read_runs([self.logdir]) if names else []:
            record = _record_of(run)
            if record is None or run.name not in names:
                continue
            if record.get("settings") != self.settings.key():
                raise L2BoardError(f"'{run.path}' is a run of a λ search with other settings; search into another "
                                   "--logdir, or give the options that search was started with.")
            found[names[run.name]] = record["look"]
        return found

    def _names_in_folder(self):
        """`(factor, seed)` of every folder named like a run of this search."""
        pairs = []
        for entry in os.listdir(self.logdir):
            prefix, _, seed = entry.rpartition("-seed")
            if not seed.isdigit():
                continue
            for factor in self._factor_of(prefix):
                pairs.append((factor, int(seed)))
        return pairs

    def _factor_of(self, prefix):
        if prefix == self.settings.config(0.0, 0).name:
            return [0.0]
        head = "l2-"
        if prefix.startswith(head):
            text = prefix[len(head):].split("-", 1)[0]
            try:
                factor = float(text)
            except ValueError:
                return []
            return [factor] if self.settings.config(factor, 0).name == prefix else []
        return []

    def analyse(self, look):
        """The `Comparison` of the runs proposed before `look` (their claims at that look's level)."""
        from l2board.analysis.comparison import compare_runs
        from l2board.reading.logs import read_runs

        runs = [run for run in read_runs([self.logdir])
                if (record := _record_of(run)) is not None and record.get("look", 0) < look]
        return compare_runs(runs)

    def record(self, folder, look):
        """Writes the search's record into a finished run, without TensorFlow (the run's own event files stay)."""
        from l2board.writing.event_writer import EventFileRunWriter

        writer = EventFileRunWriter(os.path.join(folder, tags.TRAIN_DIR))
        writer.text({tags.SEARCH_JSON: self.settings.record(look)}, 0)
        writer.close()


def run_search(settings, logdir, overwrite=False, progress=None, verbose=2):
    """Trains the search's runs into `logdir` on this machine until it is resolved or the budget is spent.

    Args:
        settings: a `SearchSettings`.
        logdir: the search's folder (resumed when it holds runs of the same search).
        overwrite: replace the search's own runs found there instead of going on.
        progress: called with `(k, n, name, elapsed, remaining)` before each run.
        verbose: Keras's progress output.

    Returns:
        `(Decision, Comparison, trained)`: the last look's decision and
        comparison, and the runs trained by this call.
    """
    import time

    from l2board.analysis import factor_search
    from l2board.training.experiment import _dataset_for
    from l2board.training.run_folders import make_run_dir, plan_run_dir
    from l2board.training.runs import train_run

    folder = SearchFolder(settings, logdir)
    done = {} if overwrite else folder.finished()
    datasets, trained, started = {}, [], time.monotonic()

    def train(runs, look):
        for factor, seed in runs:
            name = settings.run_name(factor, seed)
            if progress:
                progress(len(done) + len(trained) + 1, settings.budget, name, time.monotonic() - started, None)
            plan = plan_run_dir(os.path.join(logdir, name), overwrite=True, explicit=True, replace_empty=True)
            config = settings.config(factor, seed)
            train_run(config, make_run_dir(plan), dataset=_dataset_for(config, datasets), verbose=verbose)
            folder.record(plan.folder, look)
            trained.append(plan.folder)

    decision, comparison = factor_search.run_search(train, folder.analyse, settings.budget, settings.first_seeds,
                                                    done=list(done))
    return decision, comparison, trained
