"""Finds runs on disk and reads their scalars and texts, without TensorFlow.

A run is a folder as `L2Monitor` or `keras.callbacks.TensorBoard` writes it
(`train/` and `validation/` inside, event files possibly at its top too), or
a folder holding event files directly. In such a flat folder, tags starting
with `val_` (or `epoch_val_`) are taken as validation values, the others as
training values.

Nothing is passed over in silence: what is named like an event file but is
not a regular file (a FIFO, a folder, a device) is skipped without being
opened, and a folder that cannot be listed is left out, each with a note;
damaged files are read as far as they can be (see `event_files`); and where
TensorBoard's rule for restarted runs replaces points, the run says so. A
run's files are read in the order they were created (see `file_order`),
never in the string order of their names.
"""

import bisect
import dataclasses
import errno
import glob
import itertools
import os
import re
import stat
import struct

import numpy as np

from l2board.log_format import tags
from l2board.errors import L2BoardError
from l2board.reading.event_files import FileDamage, file_kind, iter_events, tensor_to_array, tensor_to_float

FOLDERS = (tags.TRAIN_DIR, tags.VALIDATION_DIR)
_FLOAT32 = struct.Struct("<f")
ROOT = ""


@dataclasses.dataclass
class Series:
    """Points of one tag: steps in increasing order and their values."""

    steps: np.ndarray
    values: np.ndarray

    def __len__(self):
        return len(self.steps)

    def last(self):
        """Returns the value at the last step."""
        return float(self.values[-1])


@dataclasses.dataclass
class SkippedFile:
    """Something named like an event file that is not a regular file, left unopened.

    Args:
        path: its path.
        kind: what it is instead ("folder", "named pipe (FIFO)", "socket", ...).
    """

    path: str
    kind: str

    def describe(self):
        """Returns one sentence for the user."""
        return f"Skipped {self.path}: it is named like an event file but is a {self.kind}, not a regular file."

    def in_brief(self):
        """Returns what happened as a predicate for a sentence naming the file."""
        return f"is a {self.kind}, not a regular file"


@dataclasses.dataclass
class UnlistedFolder:
    """A folder that could not be listed, so event files or runs in it are left out.

    Args:
        path: the folder.
        reason: why (the system's message, "Permission denied", ...).
    """

    path: str
    reason: str

    def describe(self):
        """Returns one sentence for the user."""
        return f"Could not look inside {self.path}: {self.reason}; what it holds is left out."

    def in_brief(self):
        """Returns what happened as a predicate for a sentence naming the folder."""
        return f"could not be listed ({self.reason})"


@dataclasses.dataclass
class Restart:
    """Points replaced by TensorBoard's rule for restarted runs.

    A file going back to an earlier step (a run resumed from a checkpoint,
    or restarted in the same folder) replaces the points from that step on,
    as TensorBoard shows them.

    Args:
        path: the event file that goes back.
        step: the step it goes back to.
        replaced: how many points (over all tags) it replaced.
        within_file: whether it went back within itself rather than
            behind an earlier file.
    """

    path: str
    step: int
    replaced: int
    within_file: bool = False

    def describe(self):
        """Returns one sentence for the user."""
        where = "within itself " if self.within_file else ""
        points = f"{self.replaced} point{'s' if self.replaced != 1 else ''}"
        return (f"{self.path} goes back {where}to step {self.step}: its values replace {points} logged before "
                f"from step {self.step} on, as TensorBoard shows a restarted run.")


@dataclasses.dataclass
class RunLog:
    """What one run's event files hold.

    Args:
        name: the run's name in reports (its path relative to the folder
            that holds the runs).
        path: the run folder.
        scalars: `{(folder, tag): Series}`, folder `train`, `validation` or
            `""` (the run's top).
        texts: `{(folder, tag): [(step, str), ...]}`.
        other_tags: `{(folder, tag): plugin name}` of summaries not read
            (histograms, images, ...).
        damage: the `FileDamage` of each damaged or unreadable file.
        event_files: how many event files were read.
        skipped: a `SkippedFile` for each thing named like an event file
            that is not a regular file, an `UnlistedFolder` for each of its
            folders that could not be listed.
        restarts: a `Restart` for each place where a file went back to an
            earlier step and replaced points.
        flat: whether the run keeps its event files at its top, without
            `train/` and `validation/` (its `val_` tags are validation values).
    """

    name: str
    path: str
    scalars: dict = dataclasses.field(default_factory=dict)
    texts: dict = dataclasses.field(default_factory=dict)
    other_tags: dict = dataclasses.field(default_factory=dict)
    damage: list = dataclasses.field(default_factory=list)
    event_files: int = 0
    skipped: list = dataclasses.field(default_factory=list)
    restarts: list = dataclasses.field(default_factory=list)
    flat: bool = False

    def scalar(self, folder, tag):
        """Returns the `Series` of a tag, or `None`."""
        return self.scalars.get((folder, tag))

    def latest_text(self, folder, tag):
        """Returns the text at the highest step of a tag, or `None`."""
        points = self.texts.get((folder, tag))
        return points[-1][1] if points else None

    def notes(self):
        """Returns every record of what the values leave out or replace, each with `describe()`."""
        return [*self.damage, *self.skipped, *self.restarts]

    def troubles_in(self, folder):
        """Returns the damage and skipped-file records of files that could hold `folder`'s values."""
        def holds(path):
            parts = os.path.normpath(os.path.relpath(path, self.path)).split(os.sep)
            return parts[0] == folder if len(parts) > 1 or parts[0] in FOLDERS else self.flat

        return [record for record in (*self.damage, *self.skipped) if holds(record.path)]


def is_event_file(name):
    """Whether a file name is a TensorBoard event file's.

    Example:

    >>> is_event_file("events.out.tfevents.1795748804.vm.2884.1.v2")
    True
    """
    return "tfevents" in name


def _listing(folder):
    """Lists a folder's event files without opening any.

    Returns:
        `(paths, skipped, reason)`: the event files to read, in name order;
        a `SkippedFile` for each entry named like an event file that is not
        a regular file; and why the folder could not be listed, or `None`
        (also when it does not exist or is not a folder).
    """
    try:
        entries = [e for e in os.scandir(folder) if is_event_file(e.name)]
    except OSError as error:
        # No such folder is no trouble; a link to one that is gone is.
        missing = error.errno == errno.ENOTDIR or (error.errno == errno.ENOENT and not os.path.lexists(folder))
        return [], [], None if missing else (error.strerror or str(error))
    paths, skipped = [], []
    for entry in entries:
        try:
            mode = entry.stat().st_mode  # follows a link: what it points to counts
        except OSError:
            # A broken link, say: read, so that the reason it fails is reported.
            paths.append(entry.path)
            continue
        if stat.S_ISREG(mode):
            paths.append(entry.path)
        else:
            # Opening a FIFO would wait for a writer, and a device may be anything.
            skipped.append(SkippedFile(entry.path, file_kind(mode)))
    return sorted(paths), sorted(skipped, key=lambda s: s.path), None


def _holds_event_files(folder):
    # A FIFO named like an event file makes a run too, so that the note on it
    # is shown; a folder so named does not (today's and TensorBoard's view).
    paths, skipped, _ = _listing(folder)
    return bool(paths) or any(s.kind != "folder" for s in skipped)


def _has_keras_layout(folder):
    return any(_holds_event_files(os.path.join(folder, sub)) for sub in FOLDERS)


def _runs_under(top, unlisted):
    """Returns the run folders under `top` (itself included).

    Folders that cannot be listed are appended to `unlisted` as
    `UnlistedFolder`s. Links to folders are followed, each folder once.
    """
    runs, seen = [], set()

    def note(error):
        unlisted.append(UnlistedFolder(error.filename, error.strerror or str(error)))

    for folder, subfolders, _ in os.walk(top, onerror=note, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # reached again through a link (or a loop of links)
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders.sort()
        if _has_keras_layout(folder):
            runs.append(folder)
            subfolders[:] = [s for s in subfolders if s not in FOLDERS]
        elif _holds_event_files(folder):
            runs.append(folder)
    # A folder with event files of its own and runs below it (an HParams
    # experiment's top, say) is not a run itself.
    runs = [r for r in runs if not any(o != r and o.startswith(r.rstrip(os.sep) + os.sep) for o in runs)]
    # A run's own train/ or validation/ that cannot be listed is the run's note.
    own = {os.path.normpath(os.path.join(r, sub)) for r in runs for sub in FOLDERS}
    unlisted[:] = [u for u in unlisted if os.path.normpath(u.path) not in own]
    return runs


def _run_of_file(match):
    folder = os.path.dirname(match) or "."
    parent = os.path.dirname(folder) or "."
    return parent if os.path.basename(folder) in FOLDERS and _has_keras_layout(parent) else folder


def _runs_named_by(match, notes):
    """Returns the run folders that one path names (see `find_runs`)."""
    try:
        mode = os.stat(match).st_mode
    except FileNotFoundError:
        raise L2BoardError(f"No such file or folder: '{match}'.") from None
    except OSError as error:
        raise L2BoardError(f"Cannot read '{match}': {error.strerror or error}.") from None
    if stat.S_ISREG(mode):
        if not is_event_file(os.path.basename(match)):
            raise L2BoardError(f"'{match}' is neither a log folder nor a TensorBoard event file.")
        return [_run_of_file(match)]
    if not stat.S_ISDIR(mode):
        raise L2BoardError(f"'{match}' is a {file_kind(mode)}, not a log folder or a TensorBoard event file.")
    unlisted = []
    runs = _runs_under(match, unlisted)
    if runs:
        notes.extend(u for u in unlisted if u not in notes)
        return runs
    if not unlisted:
        raise L2BoardError(f"No TensorBoard event files in '{match}'.")
    first = unlisted[0]
    if os.path.normpath(first.path) == os.path.normpath(match):
        raise L2BoardError(f"Could not look inside '{match}': {first.reason}.")
    others = f", nor inside {len(unlisted) - 1} other folder(s)" if len(unlisted) > 1 else ""
    raise L2BoardError(f"No TensorBoard event files in '{match}' (could not look inside '{first.path}': "
                       f"{first.reason}{others}).")


def find_runs(paths, notes=None):
    """Expands paths, globs and parent folders into run folders.

    Args:
        paths: run folders, folders holding runs, event files, or glob
            patterns (for shells that did not expand them).
        notes: a list that receives an `UnlistedFolder` for each folder
            below the paths that could not be searched for runs.

    Returns:
        A list of `(name, folder)` in the order given, each run once. Names
        are paths relative to the deepest folder holding all runs.

    Raises:
        L2BoardError: for a path that does not exist, holds no event file,
            cannot be listed, or is neither a folder nor a regular file.
    """
    found = []
    notes = [] if notes is None else notes
    for path in paths:
        path = os.fspath(path)
        matches = [path]
        if not os.path.exists(path) and glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise L2BoardError(f"No file or folder matches '{path}'.")
        for match in matches:
            found.extend(_runs_named_by(match, notes))
    # Each run once, however it was named (a second path, a link): the same
    # run twice would be averaged with itself as two seeds.
    by_real_path = {}
    for run in found:
        by_real_path.setdefault(os.path.realpath(run), os.path.normpath(run))
    unique = list(by_real_path.values())
    if len(unique) == 1:
        return [(os.path.basename(os.path.abspath(unique[0])), unique[0])]
    parent = os.path.commonpath([os.path.dirname(os.path.abspath(r)) for r in unique])
    return [(os.path.relpath(os.path.abspath(r), parent), r) for r in unique]


@dataclasses.dataclass
class _FileContents:
    """What one event file holds: `{(folder, tag): ([steps], [values])}` and the rest.

    `restarts` is `{step: points replaced}` where the file went back within
    itself; `first_wall_time` the wall time of its first event read, or `None`.
    """

    path: str
    sub: str
    scalars: dict
    texts: dict
    other_tags: dict
    damage: FileDamage
    first_wall_time: float | None = None
    restarts: dict = dataclasses.field(default_factory=dict)


def _run_sources(folder):
    """Returns `([(folder name, event file)], skipped)` of a run: what to read, and what is not read."""
    sources, skipped = [], []
    for sub in (ROOT, *FOLDERS):
        path = os.path.join(folder, sub) if sub else folder
        files, not_files, reason = _listing(path)
        sources += [(sub, f) for f in files]
        skipped += not_files
        if reason is not None:
            skipped.append(UnlistedFolder(path, reason))
    return sources, skipped


_NUMBERS = re.compile(r"(\d+)")


def _natural(text):
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUMBERS.split(text) if part)


def file_order(path, first_wall_time):
    """Returns the sort key that puts a run's event files in the order they were created.

    TensorFlow names them `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`,
    `n` counting the writers of a process. String order is wrong: a run
    resumed epoch by epoch in one process writes `....5.v2` to `....11.v2`
    in the same second, and `11` sorts before `5`. The seconds come first:
    they order files of different seconds, even when a file's first records
    are lost. Within one second, the wall time of a file's first event
    decides: it is the creation time to the microsecond, agrees with `n`
    for files of one process, and is the only sign of order between
    processes (pids say nothing of it). Last, the name's fields compared as
    numbers, for files without an event.

    Example:

    >>> names = ["events.out.tfevents.17.vm.3.11.v2", "events.out.tfevents.17.vm.3.5.v2"]
    >>> sorted(names, key=lambda n: file_order(n, None))
    ['events.out.tfevents.17.vm.3.5.v2', 'events.out.tfevents.17.vm.3.11.v2']
    """
    name = os.path.basename(path)
    seconds = name.split("tfevents.", 1)[-1].split(".", 1)[0]
    return _natural(seconds), first_wall_time is not None, first_wall_time or 0.0, _natural(name)


def read_run(folder, name=None, contents=None):
    """Reads the scalars and texts of one run folder.

    Args:
        folder: the run folder.
        name: its name in reports (default: the folder's name).
        contents: the `_FileContents` of its event files, when already read
            (by `read_runs`, in parallel).

    Returns:
        A `RunLog`. Damaged files are read as far as they can be and listed
        in `damage`; nothing that failed a checksum is returned as data.
        What is not read is listed in `skipped`, points replaced by a
        restart in `restarts`.
    """
    run = RunLog(name=name or os.path.basename(os.path.abspath(folder)), path=folder)
    sources, run.skipped = _run_sources(folder)
    if contents is None:
        contents = [_read_file(path, sub) for sub, path in sources]
    # The restart rule makes the order matter: a file read too early has
    # its points replaced by an older one's.
    contents = sorted(contents, key=lambda part: file_order(part.path, part.first_wall_time))
    run.flat = not any(part.sub for part in contents)
    for (sub, tag), (steps, values) in _merge(run, contents).items():
        if run.flat:
            sub, tag = split_flat_tag(tag)
        run.scalars[(sub, tag)] = Series(np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64))
    for key, points in run.texts.items():
        run.texts[key] = sorted(points, key=lambda p: p[0])
    return run


def _merge(run, contents):
    """Merges the files' series in order into `{(folder, tag): (steps, values)}`; fills the rest of `run`."""
    merged = {}
    for part in contents:
        run.event_files += 1
        if part.damage:
            run.damage.append(part.damage)
        run.other_tags.update(part.other_tags)
        run.restarts += [Restart(part.path, step, n, within_file=True) for step, n in sorted(part.restarts.items())]
        replaced = {}
        for key, (steps, values) in part.scalars.items():
            if key in merged:
                # TensorBoard's rule for restarted runs: a later file going
                # back to an earlier step replaces the points from that step on.
                old_steps, old_values = merged[key]
                cut = bisect.bisect_left(old_steps, steps[0])
                if cut < len(old_steps):
                    replaced[steps[0]] = replaced.get(steps[0], 0) + len(old_steps) - cut
                merged[key] = (old_steps[:cut] + steps, old_values[:cut] + values)
            else:
                merged[key] = (steps, values)
        run.restarts += [Restart(part.path, step, n) for step, n in sorted(replaced.items())]
        for key, points in part.texts.items():
            run.texts.setdefault(key, []).extend(points)
    return merged


def _scalar_of_unknown_plugin(value):
    # A tag whose metadata was lost with a damaged first record: a
    # one-element float tensor is read as a scalar rather than dropped.
    tensor = value.tensor
    return tensor_to_float(tensor) if tensor.dtype in (1, 2, 19) else None


def _read_file(path, sub):
    """Reads one event file's scalars and texts.

    This is the reader's inner loop, once per summary value: it looks the
    plugin of a tag up once (TensorFlow writes the metadata only with a
    tag's first value in each file) and reads scalars without NumPy.
    """
    damage = FileDamage(path)
    scalars, texts, other_tags, plugins, restarts = {}, {}, {}, {}, {}
    unpack_float = _FLOAT32.unpack
    events = iter_events(path, damage)
    first = next(events, None)
    for event in itertools.chain(() if first is None else (first,), events):
        step = event.step
        for value in event.summary.value:
            key = (sub, value.tag)
            plugin = plugins.get(key)
            if plugin is None:
                plugin = plugins[key] = value.metadata.plugin_data.plugin_name
            if plugin == "scalars":
                tensor = value.tensor
                content = tensor.tensor_content
                if tensor.dtype == 1 and len(content) == 4:  # float32, as tf.summary.scalar writes
                    number = unpack_float(content)[0]
                else:
                    number = tensor_to_float(tensor)
                    if number is None:
                        damage.bad_records += 1
                        continue
            elif plugin == "text":
                try:
                    texts.setdefault(key, []).append((step, text_of(tensor_to_array(value.tensor))))
                except ValueError:
                    damage.bad_records += 1
                continue
            else:
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    number = value.simple_value
                elif not plugin and kind == "tensor" and (number := _scalar_of_unknown_plugin(value)) is not None:
                    pass
                else:
                    other_tags[key] = plugin or kind
                    continue
            series = scalars.get(key)
            if series is None:
                series = scalars[key] = ([], [])
            steps, values = series
            if steps and step <= steps[-1]:  # the same rule as across files (`_merge`)
                cut = bisect.bisect_left(steps, step)
                restarts[step] = restarts.get(step, 0) + len(steps) - cut
                del steps[cut:], values[cut:]
            steps.append(step)
            values.append(number)
    return _FileContents(path, sub, scalars, texts, other_tags, damage,
                         None if first is None else first.wall_time, restarts)


def split_flat_tag(tag):
    """Returns `(folder, tag)` for a tag of a flat run folder (no train/ or validation/).

    Example:

    >>> split_flat_tag("val_loss"), split_flat_tag("epoch_val_accuracy"), split_flat_tag("loss")
    (('validation', 'loss'), ('validation', 'epoch_accuracy'), ('train', 'loss'))
    """
    for prefix, replacement in (("epoch_val_", "epoch_"), ("val_", "")):
        if tag.startswith(prefix):
            return tags.VALIDATION_DIR, replacement + tag[len(prefix):]
    return tags.TRAIN_DIR, tag


def text_of(array):
    """Returns the string held by a text summary's tensor (decoded as UTF-8).

    Example:

    >>> text_of(np.array([b"L2 0.01 on conv1"], dtype=object))
    'L2 0.01 on conv1'
    """
    array = np.asarray(array)
    item = array.reshape(-1)[0] if array.size else b""
    return item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)


# Below this many bytes of event files, starting worker processes costs
# more than it saves.
PARALLEL_MIN_BYTES = 8 << 20


def _read_file_job(job):
    return _read_file(*job)


def _read_in_parallel(jobs):
    """Reads files in worker processes when that pays and is safe, else returns None."""
    import multiprocessing
    import sys

    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(jobs) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    if "tensorflow" in sys.modules:
        return None  # forking a process that runs TensorFlow's threads is unsafe
    try:
        size = sum(os.path.getsize(path) for path, _ in jobs)
    except OSError:
        return None
    if size < PARALLEL_MIN_BYTES:
        return None
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_read_file_job, jobs, chunksize=1)


class RunLogs(list):
    """A list of `RunLog`s, with `notes`: an `UnlistedFolder` for each folder
    that could not be searched for runs."""

    def __init__(self, runs=(), notes=()):
        super().__init__(runs)
        self.notes = list(notes)


def read_runs(paths):
    """Finds and reads every run under `paths` (see `find_runs`).

    Large log sets are read by one worker process per core.

    Returns:
        `RunLogs`: a list of `RunLog`, in the order found, and the notes of
        `find_runs`.
    """
    notes = []
    found = find_runs(paths, notes)
    sources = [_run_sources(folder)[0] for _, folder in found]
    jobs = [(path, sub) for run_sources in sources for sub, path in run_sources]
    contents = _read_in_parallel(jobs)
    if contents is None:
        return RunLogs([read_run(folder, name) for name, folder in found], notes)
    runs, position = [], 0
    for (name, folder), run_sources in zip(found, sources):
        runs.append(read_run(folder, name, contents[position:position + len(run_sources)]))
        position += len(run_sources)
    return RunLogs(runs, notes)
