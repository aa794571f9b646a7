"""Turns what TensorBoard's data provider holds into l2board's `RunLog`s.

TensorBoard sees `exp/no-l2/train` and `exp/no-l2/validation` as two runs;
l2board sees one run, `exp/no-l2`, with two folders. Everything after this
module is the same analysis core `l2board compare` uses.
"""

import numpy as np
from tensorboard import errors
from tensorboard.data import provider

from l2board.log_format import tags
from l2board.reading.logs import FOLDERS, ROOT, RunLog, Series, split_flat_tag, text_of
from tensorboard_plugin_l2board import metadata


def group_runs(tensorboard_runs):
    """Groups TensorBoard runs into l2board runs.

    Args:
        tensorboard_runs: TensorBoard's run names.

    Returns:
        `{run name: {folder: TensorBoard run}}`, folder `train`,
        `validation` or `""`.

    Example:

    >>> group_runs(["exp/a/train", "exp/a/validation", "exp/a", "flat"])
    {'exp/a': {'train': 'exp/a/train', 'validation': 'exp/a/validation', '': 'exp/a'}, 'flat': {'': 'flat'}}
    """
    groups = {}
    for tb_run in tensorboard_runs:
        head, _, last = tb_run.rpartition("/")
        if last in FOLDERS:
            groups.setdefault(head or ".", {})[last] = tb_run
        else:
            groups.setdefault(tb_run, {})[ROOT] = tb_run
    return groups


class ProviderRuns:
    """Reads runs through a TensorBoard data provider, for one request.

    Args:
        data_provider: `context.data_provider`.
        ctx: the request's `RequestContext`.
        experiment_id: the request's experiment.
    """

    def __init__(self, data_provider, ctx, experiment_id):
        self._provider = data_provider
        self._ctx = ctx
        self._experiment_id = experiment_id
        self._listing = None

    def listing(self):
        """`{TensorBoard run: {tag: ScalarTimeSeries}}` of every scalar."""
        if self._listing is None:
            self._listing = self._provider.list_scalars(
                self._ctx, experiment_id=self._experiment_id, plugin_name=metadata.SCALARS_PLUGIN)
        return self._listing

    def groups(self):
        """`{run name: {folder: TensorBoard run}}` of every run with scalars."""
        return group_runs(self.listing())

    def summaries(self):
        """One entry per run: its name and whether L2Monitor wrote it."""
        listing = self.listing()
        runs = []
        for name, folders in sorted(self.groups().items()):
            train = folders.get(tags.TRAIN_DIR)
            runs.append({"name": name,
                         "logged_by_l2monitor": bool(train and tags.DATA_LOSS in listing.get(train, {}))})
        return runs

    def read(self, names, wanted=None):
        """Reads runs as `RunLog`s, in the order asked.

        Args:
            names: the runs.
            wanted: a predicate on scalar tags; only those are read (the
                analysis needs a fraction of what L2Monitor logs).

        Raises:
            errors.NotFoundError: for a run that has no scalars.
        """
        groups = self.groups()
        missing = [n for n in names if n not in groups]
        if missing:
            raise errors.NotFoundError(f"No run named {missing[0]!r} has scalars.")
        tb_runs = [tb for name in names for tb in groups[name].values()]
        listing = self.listing()
        tag_set = {tag for tb in tb_runs for tag in listing.get(tb, {}) if wanted is None or wanted(tag)}
        scalars = self._provider.read_scalars(
            self._ctx, experiment_id=self._experiment_id, plugin_name=metadata.SCALARS_PLUGIN,
            downsample=metadata.MAX_POINTS, run_tag_filter=provider.RunTagFilter(runs=tb_runs, tags=tag_set))
        texts = self._provider.read_tensors(
            self._ctx, experiment_id=self._experiment_id, plugin_name=metadata.TEXT_PLUGIN, downsample=100,
            run_tag_filter=provider.RunTagFilter(runs=[groups[n][tags.TRAIN_DIR] for n in names
                                                       if tags.TRAIN_DIR in groups[n]],
                                                 tags=[tags.SETUP_JSON, tags.TRAINING_END]))
        runs = []
        for name in names:
            run = RunLog(name=name, path=name)
            flat = set(groups[name]) == {ROOT}
            for folder, tb_run in groups[name].items():
                for tag, data in scalars.get(tb_run, {}).items():
                    key = split_flat_tag(tag) if flat else (folder, tag)
                    steps = np.array([d.step for d in data], dtype=np.int64)
                    order = np.argsort(steps, kind="stable")
                    run.scalars[key] = Series(steps[order], np.array([d.value for d in data], dtype=np.float64)[order])
                for tag, data in texts.get(tb_run, {}).items():
                    run.texts[(folder, tag)] = sorted((d.step, text_of(d.numpy)) for d in data)
            runs.append(run)
        return runs

