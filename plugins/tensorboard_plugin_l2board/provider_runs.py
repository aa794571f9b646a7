"""Turns what TensorBoard's data provider holds into l2board's `RunLog`s.

TensorBoard sees `exp/no-l2/train` and `exp/no-l2/validation` as two runs;
l2board sees one run, `exp/no-l2`, with two folders, grouped by the rule
`l2board compare` applies to folders (`roles.group_folders`). This module
only hands the provider's points over, in the order they come, to the
builder `l2board compare` uses (`run_builder.build_run`): the restart and
duplicate-step rules and role recognition are applied there, once.
"""

import hashlib
import os
import struct

from tensorboard import errors
from tensorboard.data import provider

from l2board.errors import L2BoardError
from l2board.log_format import tags
from l2board.reading import parse_cache, roles
from l2board.reading.discovery import run_sources
from l2board.reading.event_records import text_of
from l2board.reading.logs import read_run
from l2board.reading.run_builder import build_run
from l2board.reading.run_model import Note, RecordSource
from tensorboard_plugin_l2board import metadata

# TensorBoard keeps this many points per scalar tag unless --samples_per_plugin says otherwise.
DEFAULT_SCALAR_SAMPLES = 1_000
# A run whose series TensorBoard sampled is read again from its event files, up to this many bytes of them
# per request: about a million points, read and analysed in about 7 s and 0.5 GB here (http_api.md, "Long runs").
MAX_FULL_READ_BYTES = 64 * 2**20


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
    return roles.group_folders(list(tensorboard_runs))


def without_records_of_other_runs(groups, listing):
    """Drops the groups that sit above or below another group and log no loss or metric.

    `roles.without_records_of_other_runs`, the rule `l2board compare` applies
    after reading, applied here to TensorBoard's run names and tag names.

    Args:
        groups: `{run name: {folder: TensorBoard run}}` (see `group_runs`).
        listing: `{TensorBoard run: tags}`.

    Example:

    >>> groups = {"hp/trial0": {"": "hp/trial0"}, "hp/trial0/1795": {"": "hp/trial0/1795"}}
    >>> listing = {"hp/trial0": ["Loss/train", "Loss/val"], "hp/trial0/1795": ["hparam/loss"]}
    >>> list(without_records_of_other_runs(groups, listing))
    ['hp/trial0']
    """

    def holds_a_role(group):
        members = group[1]
        top = roles.top_split(members)
        return any(roles.role_of(member, tag, top) for member, tb_run in members.items()
                   for tag in listing.get(tb_run, ()))

    # "." is TensorBoard's name for the log folder's top: above every other run.
    return dict(roles.without_records_of_other_runs(
        list(groups.items()), lambda group: () if group[0] == "." else tuple(group[0].split("/")), holds_a_role))


class ProviderRuns:
    """Reads runs through a TensorBoard data provider, for one request.

    TensorBoard keeps a sample of each scalar tag's points (1,000 by
    default: `sampling_hints`); a run with a series that may have been
    sampled is read again from its event files under `logdir`, so that its
    numbers are those of `l2board compare`, within `MAX_FULL_READ_BYTES` per
    request. Where that cannot be done, the run keeps the sample and says so
    (a `Note` `sampled`).

    Args:
        data_provider: `context.data_provider`.
        ctx: the request's `RequestContext`.
        experiment_id: the request's experiment.
        logdir: `context.logdir`: the folder TensorBoard's run names are
            relative to, or `None`/"" when it has none (`--logdir_spec`).
        sampling_hints: `context.sampling_hints`: `{plugin: points kept per
            tag}` from `--samples_per_plugin` (0: every point).
    """

    def __init__(self, data_provider, ctx, experiment_id, logdir=None, sampling_hints=None):
        self._provider = data_provider
        self._ctx = ctx
        self._experiment_id = experiment_id
        self._logdir = logdir or None
        self._kept = (sampling_hints or {}).get(metadata.SCALARS_PLUGIN, DEFAULT_SCALAR_SAMPLES)
        self._listing = None
        self._groups = None
        self._full_read_bytes = 0
        # The runs `read` took from their event files, `(folder, members, event_files_of(...))`, and whether
        # reading one failed: an answer made from them holds while they are the same (`files_unchanged`).
        self.files_read = []
        self.read_failed = False

    def listing(self):
        """`{TensorBoard run: {tag: ScalarTimeSeries}}` of every scalar."""
        if self._listing is None:
            self._listing = self._provider.list_scalars(
                self._ctx, experiment_id=self._experiment_id, plugin_name=metadata.SCALARS_PLUGIN)
        return self._listing

    def groups(self):
        """`{run name: {folder: TensorBoard run}}` of every run with scalars."""
        if self._groups is None:
            # Grouped over every TensorBoard run, as `l2board compare` groups every
            # folder with event files: tensorboardX's `Loss/train` belongs to the
            # folder of its writer's own file, which may hold no scalar.
            every = [run.run_name for run in self._provider.list_runs(self._ctx, experiment_id=self._experiment_id)]
            listing = self.listing()
            grouped = {name: members for name, members in group_runs(every or listing).items()
                       if any(listing.get(tb_run) for tb_run in members.values())}
            self._groups = without_records_of_other_runs(grouped, listing)
        return self._groups

    def summaries(self):
        """One entry per run: its name and whether L2Monitor wrote it."""
        listing = self.listing()
        runs = []
        for name, folders in sorted(self.groups().items()):
            train = folders.get(tags.TRAIN_DIR)
            runs.append({"name": name,
                         "logged_by_l2monitor": bool(train and tags.DATA_LOSS in listing.get(train, {}))})
        return runs

    def state(self, names):
        """A digest of what TensorBoard holds of these runs, which changes when any of their data does.

        It is made of listings only (no point is read): every scalar series'
        and analysed text's last step and wall time, per TensorBoard run. An
        answer computed from the runs stays right while their state is the
        same (the plugin keeps its last answers by it). What a run read again
        from its event files (`read`) depends on is not in the state: `read`
        notes those files (`files_read`), and `files_unchanged` says whether
        they are still as read.

        Raises:
            errors.NotFoundError: for a run that has no scalars.
        """
        groups, listing = self.groups(), self.listing()
        missing = [n for n in names if n not in groups]
        if missing:
            raise errors.NotFoundError(f"No run named {missing[0]!r} has scalars.")
        tb_runs = [tb for name in names for tb in groups[name].values()]
        texts = self._provider.list_tensors(
            self._ctx, experiment_id=self._experiment_id, plugin_name=metadata.TEXT_PLUGIN,
            run_tag_filter=provider.RunTagFilter(runs=tb_runs, tags=list(tags.ANALYSED_TEXTS)))
        digest = hashlib.sha256(repr(self._experiment_id).encode())
        for name in names:
            digest.update(repr((name, sorted(groups[name].items()))).encode())
            for tb_run in sorted(groups[name].values()):
                for series in (listing.get(tb_run, {}), texts.get(tb_run, {})):
                    digest.update(_series_state(series))
        return digest.hexdigest()

    def read(self, names, wanted=None, in_full=True):
        """Reads runs as `RunLog`s, in the order asked.

        Args:
            names: the runs.
            wanted: a predicate on scalar tags; only those are read (the
                analysis needs a fraction of what L2Monitor logs).
            in_full: read a run TensorBoard may have sampled again from its
                event files (see the class); `False` only checks that it
                could be (for a listing). A run that cannot be is `refused`
                with the code `sampled` (`series` as logged, `kept`).

        Raises:
            errors.NotFoundError: for a run that has no scalars.
        """
        groups = self.groups()
        missing = [n for n in names if n not in groups]
        if missing:
            raise errors.NotFoundError(f"No run named {missing[0]!r} has scalars.")
        listing = self.listing()
        tag_set = set()
        for name in names:
            top = roles.top_split(groups[name])
            for member, tb_run in groups[name].items():
                # The series that may hold a role are read whatever `wanted` says:
                # recognition needs them (`Loss/train` has a "/").
                tag_set.update(tag for tag in listing.get(tb_run, {})
                               if wanted is None or wanted(tag) or roles.role_of(member, tag, top) is not None)
        tb_runs = [tb for name in names for tb in groups[name].values()]
        if in_full:
            scalars = self._scalars(tb_runs, tag_set, metadata.MAX_POINTS)
        else:
            # A listing needs the series' names, not their points (recognition and its refusals go by names):
            # one point each. Only where a series may hold as many points as TensorBoard keeps (its last step
            # says so, for steps from 0 on) are the points counted, to tell a sample (`_maybe_sampled`).
            scalars = self._scalars(tb_runs, tag_set, 1)
            # (A tag whose every point a restart purged has no last step.)
            counted = [tb for tb in tb_runs if self._kept and any(
                series.max_step is not None and series.max_step + 1 >= self._kept
                for tag, series in listing.get(tb, {}).items() if tag in tag_set)]
            if counted:
                scalars.update(self._scalars(counted, tag_set, metadata.MAX_POINTS))
        texts = self._provider.read_tensors(
            self._ctx, experiment_id=self._experiment_id, plugin_name=metadata.TEXT_PLUGIN, downsample=100,
            run_tag_filter=provider.RunTagFilter(runs=tb_runs, tags=list(tags.ANALYSED_TEXTS)))
        runs = []
        for name in names:
            sources = [_source(tb_run, member, scalars, texts) for member, tb_run in groups[name].items()]
            sampled = self._maybe_sampled(sources)
            folder = self._event_files_to_read(name, groups[name]) if sampled else None
            run = self._read_in_full(name, groups[name], folder) if folder is not None and in_full else None
            if run is None and folder is not None and in_full:
                self.read_failed = True
            if run is None:
                run = build_run(name, name, sources)
                if sampled and (folder is None or in_full) and run.refused is None:
                    # A sample's replay is not the run's: shown as skipped, never as exact.
                    run.refused = Note("sampled", series=sampled, kept=self._kept)
            runs.append(run)
        return runs

    def _scalars(self, tb_runs, tag_set, downsample):
        return self._provider.read_scalars(
            self._ctx, experiment_id=self._experiment_id, plugin_name=metadata.SCALARS_PLUGIN,
            downsample=downsample, run_tag_filter=provider.RunTagFilter(runs=tb_runs, tags=tag_set))

    def _maybe_sampled(self, sources):
        """The series (as logged, `FOLDER/TAG`) that hold as many points as TensorBoard keeps: maybe a sample."""
        if not self._kept:
            return []
        return sorted(roles.logged_name(source.folder, tag) for source in sources
                      for tag, (steps, _) in source.scalars.items() if len(steps) >= self._kept)

    def _event_files_to_read(self, name, members):
        """The run's folder, when it can be read from its event files (their bytes are counted); else `None`.

        Only a run TensorBoard found under its own local `logdir` is read,
        and no more than `MAX_FULL_READ_BYTES` of event files per request.
        """
        if self._logdir is None or "://" in self._logdir:
            return None
        root = os.path.normpath(self._logdir)
        folder = os.path.normpath(os.path.join(root, name))
        if os.path.commonpath([root, folder]) != root:
            return None
        try:
            files = event_files_of(folder, members)
        except OSError:
            self.read_failed = True
            return None
        total = sum(key[1] for key in files)  # file_key's size
        if self._full_read_bytes + total > MAX_FULL_READ_BYTES:
            return None
        self._full_read_bytes += total
        self.files_read.append((folder, tuple(sorted(members)), files))
        return folder

    @staticmethod
    def _read_in_full(name, members, folder):
        """The run read from its event files, as `l2board compare` reads it; `None` where it cannot be."""
        try:
            return read_run(folder, name=name, members=sorted(members))
        except (L2BoardError, OSError):
            return None


def _series_state(series):
    """`{tag: time series}` as bytes: the tags (their repr), then every last step and last wall time, packed.

    About a sixth of the time of the tuples' repr for 60,000 series, which
    was a quarter of `/runs` on 1,000 runs. A series without a last step
    (TensorBoard's listing gives `None` for a tag whose every point a
    restart purged) or with one that is not an integer takes the repr.

    Example:

    >>> from tensorboard.data.provider import ScalarTimeSeries
    >>> def one(step):
    ...     return ScalarTimeSeries(max_step=step, max_wall_time=1.5, plugin_content=b"", description="",
    ...                             display_name="")
    >>> _series_state({"loss": one(9)}) == _series_state({"loss": one(9)}) != _series_state({"loss ": one(9)})
    True
    >>> _series_state({"loss": one(None)}) != _series_state({"loss": one(9)})
    True
    """
    tags_ = sorted(series)
    numbers = [series[tag].max_step for tag in tags_] + [series[tag].max_wall_time for tag in tags_]
    try:
        packed = struct.pack(f"<{len(tags_)}q{len(tags_)}d", *numbers)
    except (struct.error, TypeError):
        return repr(list(zip(tags_, numbers[:len(tags_)], numbers[len(tags_):]))).encode("utf-8", "surrogatepass")
    return repr(tags_).encode("utf-8", "surrogatepass") + packed


def event_files_of(folder, members):
    """The `parse_cache.file_key` (path, size, times, inode) of each event file a run folder holds, as
    `l2board compare` finds them: what says a file is still as it was read.

    Raises:
        OSError: when the folder or a file cannot be read.
    """
    keys = []
    for _, path in run_sources(folder, sorted(members))[0]:
        key = parse_cache.file_key(path)
        if key is None:
            raise OSError(f"{path} is gone or not a regular file")
        keys.append(tuple(key))
    return tuple(keys)


def files_unchanged(files_read):
    """Whether the runs `ProviderRuns.read` took from event files (its `files_read`) still hold the same files."""
    try:
        return all(event_files_of(folder, members) == files for folder, members, files in files_read)
    except OSError:
        return False


def _source(tb_run, member, scalars, texts):
    """One TensorBoard run's points as raw records, in the order the provider gives them."""
    return RecordSource(
        path=tb_run, folder=member,
        scalars={tag: ([d.step for d in data], [d.value for d in data])
                 for tag, data in scalars.get(tb_run, {}).items()},
        texts={tag: [(d.step, text_of(d.numpy)) for d in data] for tag, data in texts.get(tb_run, {}).items()})
