"""The Python API, for notebooks: runs and their comparison as plain Python objects.

The same read side and analysis as `l2board compare`, without the command
line: `read_runs` gives the runs (their series), `compare` the comparison
(every number of the report), each with `.to_pandas()` when pandas is
installed (`pip install "l2board[pandas]"`). No TensorFlow is imported.

Example:

```python
import l2board

runs = l2board.read_runs("runs/")
runs.to_pandas()              # one row per run, folder, tag (as logged) and step, as tbparse gives them
comparison = l2board.compare("runs/", baseline="no-l2")
comparison.verdicts           # the verdict of each configuration against the baseline, as numbers
comparison.to_dict()["verdict"]   # and in words
comparison.to_pandas()        # one row per run, every summary number
```
"""

import numpy as np

from l2board.errors import L2BoardError

# `folder` and `tag` as logged (what TensorBoard and tbparse show), `role_folder`
# and `role_tag` the keys l2board reads them under (`validation`, `epoch_loss`).
SCALAR_COLUMNS = ("run", "folder", "tag", "step", "value", "role_folder", "role_tag")


def _pandas():
    try:
        import pandas
    except ImportError:
        raise L2BoardError('to_pandas() needs pandas: pip install "l2board[pandas]" (or pandas).') from None
    return pandas


class Runs(list):
    """The runs read from TensorBoard logs: a list of `RunLog`, and `to_pandas()`."""

    def to_pandas(self):
        """Returns every scalar point as a DataFrame with columns run, folder, tag, step, value,
        role_folder, role_tag.

        One row per run, folder and tag as logged (`""` for a run's top,
        `Loss/train` as the tag), and step: the long format tbparse gives;
        `role_folder` and `role_tag` are the keys l2board reads the series
        under (`train`/`epoch_loss` for `Loss/train`). Steps are epochs
        where the run's `epoch` series re-indexed them (Lightning).
        """
        columns = {name: [] for name in SCALAR_COLUMNS}
        for run in self:
            for key, series in sorted(run.scalars.items()):
                n = len(series)
                cells = dict(zip(("run", "folder", "tag", "role_folder", "role_tag"),
                                 (run.name, *run.source_of(*key), *key)))
                for name, cell in cells.items():
                    columns[name].append(np.full(n, cell, dtype=object))
                columns["step"].append(np.asarray(series.steps, dtype=np.int64))
                columns["value"].append(np.asarray(series.values, dtype=np.float64))
        empty = {"step": np.int64, "value": np.float64}
        return _pandas().DataFrame({name: np.concatenate(parts) if parts else np.array([], dtype=empty.get(name, object))
                                    for name, parts in columns.items()})


def read_runs(*paths, **options):
    """Reads the runs under `paths` (run folders, folders of runs, event files or globs).

    Args:
        *paths: where the runs are, as `l2board compare` takes them.
        **options: passed to `l2board.reading.logs.read_runs`.

    Returns:
        `Runs`: a list of `RunLog` (name, path, `scalars` as
        `{(folder, tag): Series}`, texts, notes), with `to_pandas()`.

    Raises:
        L2BoardError: for paths that hold no run, in one sentence.
    """
    from l2board.reading.logs import read_runs as read

    runs = read([str(p) for p in paths], **options)
    result = Runs(runs)
    result.notes = list(getattr(runs, "notes", ()))
    return result


def compare(*paths_or_runs, **options):
    """Compares runs on overfitting, as `l2board compare` does.

    Args:
        *paths_or_runs: paths (as `read_runs` takes them), or a `Runs`.
        **options: `baseline`, `metric`, `patience`, ... of
            `l2board.analysis.comparison.compare_runs`.

    Returns:
        The `Comparison` (a `ComparisonReport`): `runs` (a report per run),
        `configurations`, `changes` against the baseline, `verdicts`,
        `skipped` runs and `file_notes`, with `to_dict()` (which words the
        verdict and notes as `l2board compare` does), `to_json()` and
        `to_pandas()`.
    """
    from l2board.analysis.comparison import compare_runs
    from l2board.rendering.report import ComparisonReport
    from l2board.rendering.wording import error_sentence

    if len(paths_or_runs) == 1 and isinstance(paths_or_runs[0], Runs):
        runs = paths_or_runs[0]
    else:
        runs = read_runs(*paths_or_runs)
    try:
        return ComparisonReport.of(compare_runs(runs, **options))
    except L2BoardError as error:
        # The analysis's coded errors, worded as the command line words them.
        message = error_sentence(error)
        if message == str(error):
            raise
        raise L2BoardError(message) from None
