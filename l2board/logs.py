"""Finds runs on disk and reads their scalars and texts, without TensorFlow.

A run is a folder as `L2Monitor` or `keras.callbacks.TensorBoard` writes it
(`train/` and `validation/` inside, event files possibly at its top too), or
a folder holding event files directly. In such a flat folder, tags starting
with `val_` (or `epoch_val_`) are taken as validation values, the others as
training values.
"""

import bisect
import dataclasses
import glob
import os

import struct

import numpy as np

from l2board import tags
from l2board.errors import L2BoardError
from l2board.event_files import FileDamage, iter_events, tensor_to_array, tensor_to_float

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
        damage: the `FileDamage` of each damaged file.
        event_files: how many event files were read.
    """

    name: str
    path: str
    scalars: dict = dataclasses.field(default_factory=dict)
    texts: dict = dataclasses.field(default_factory=dict)
    other_tags: dict = dataclasses.field(default_factory=dict)
    damage: list = dataclasses.field(default_factory=list)
    event_files: int = 0

    def scalar(self, folder, tag):
        """Returns the `Series` of a tag, or `None`."""
        return self.scalars.get((folder, tag))

    def latest_text(self, folder, tag):
        """Returns the text at the highest step of a tag, or `None`."""
        points = self.texts.get((folder, tag))
        return points[-1][1] if points else None


def is_event_file(name):
    """Whether a file name is a TensorBoard event file's.

    Example:

    >>> is_event_file("events.out.tfevents.1795748804.vm.2884.1.v2")
    True
    """
    return "tfevents" in name


def _event_files(folder):
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    # Anything named like an event file but a folder is read, so that an
    # unreadable one (a broken link, no permission) is reported, not skipped.
    return sorted(os.path.join(folder, n) for n in names
                  if is_event_file(n) and not os.path.isdir(os.path.join(folder, n)))


def _has_keras_layout(folder):
    return any(_event_files(os.path.join(folder, sub)) for sub in FOLDERS)


def _runs_under(top):
    """Returns the run folders under `top` (itself included)."""
    runs = []
    for folder, subfolders, _ in os.walk(top):
        subfolders.sort()
        if _has_keras_layout(folder):
            runs.append(folder)
            subfolders[:] = [s for s in subfolders if s not in FOLDERS]
        elif _event_files(folder):
            runs.append(folder)
    # A folder with event files of its own and runs below it (an HParams
    # experiment's top, say) is not a run itself.
    return [r for r in runs if not any(o != r and o.startswith(r.rstrip(os.sep) + os.sep) for o in runs)]


def find_runs(paths):
    """Expands paths, globs and parent folders into run folders.

    Args:
        paths: run folders, folders holding runs, event files, or glob
            patterns (for shells that did not expand them).

    Returns:
        A list of `(name, folder)` in the order given, each run once. Names
        are paths relative to the deepest folder holding all runs.

    Raises:
        L2BoardError: for a path that does not exist or holds no event file.
    """
    found = []
    for path in paths:
        path = os.fspath(path)
        matches = [path]
        if not os.path.exists(path) and glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise L2BoardError(f"No file or folder matches '{path}'.")
        for match in matches:
            if not os.path.exists(match):
                raise L2BoardError(f"No such file or folder: '{match}'.")
            if os.path.isfile(match):
                if not is_event_file(os.path.basename(match)):
                    raise L2BoardError(f"'{match}' is neither a log folder nor a TensorBoard event file.")
                folder = os.path.dirname(match) or "."
                found.append(os.path.dirname(folder) if os.path.basename(folder) in FOLDERS
                             and _has_keras_layout(os.path.dirname(folder) or ".") else folder)
                continue
            runs = _runs_under(match)
            if not runs:
                raise L2BoardError(f"No TensorBoard event files in '{match}'.")
            found.extend(runs)
    unique = list(dict.fromkeys(os.path.normpath(r) for r in found))
    if len(unique) == 1:
        return [(os.path.basename(os.path.abspath(unique[0])), unique[0])]
    parent = os.path.commonpath([os.path.dirname(os.path.abspath(r)) for r in unique])
    return [(os.path.relpath(os.path.abspath(r), parent), r) for r in unique]


@dataclasses.dataclass
class _FileContents:
    """What one event file holds: `{(folder, tag): ([steps], [values])}` and the rest."""

    scalars: dict
    texts: dict
    other_tags: dict
    damage: FileDamage


def _run_sources(folder):
    sources = [(ROOT, f) for f in _event_files(folder)]
    return sources + [(sub, f) for sub in FOLDERS for f in _event_files(os.path.join(folder, sub))]


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
    """
    run = RunLog(name=name or os.path.basename(os.path.abspath(folder)), path=folder)
    sources = _run_sources(folder)
    if contents is None:
        contents = [_read_file(path, sub) for sub, path in sources]
    flat = not any(sub for sub, _ in sources)
    merged = {}
    for part in contents:  # in file-name order, as TensorBoard reads them
        run.event_files += 1
        if part.damage:
            run.damage.append(part.damage)
        run.other_tags.update(part.other_tags)
        for key, (steps, values) in part.scalars.items():
            if key in merged:
                # TensorBoard's rule for restarted runs: a later file going
                # back to an earlier step replaces the points from that step on.
                old_steps, old_values = merged[key]
                cut = bisect.bisect_left(old_steps, steps[0])
                merged[key] = (old_steps[:cut] + steps, old_values[:cut] + values)
            else:
                merged[key] = (steps, values)
        for key, points in part.texts.items():
            run.texts.setdefault(key, []).extend(points)
    for (sub, tag), (steps, values) in merged.items():
        if flat:
            sub, tag = split_flat_tag(tag)
        run.scalars[(sub, tag)] = Series(np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64))
    for key, points in run.texts.items():
        run.texts[key] = sorted(points, key=lambda p: p[0])
    return run


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
    scalars, texts, other_tags, plugins = {}, {}, {}, {}
    unpack_float = _FLOAT32.unpack
    for event in iter_events(path, damage):
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
            if steps and step <= steps[-1]:
                cut = bisect.bisect_left(steps, step)
                del steps[cut:], values[cut:]
            steps.append(step)
            values.append(number)
    return _FileContents(scalars, texts, other_tags, damage)


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


def read_runs(paths):
    """Finds and reads every run under `paths` (see `find_runs`).

    Large log sets are read by one worker process per core.

    Returns:
        A list of `RunLog`, in the order found.
    """
    found = find_runs(paths)
    sources = [_run_sources(folder) for _, folder in found]
    jobs = [(path, sub) for run_sources in sources for sub, path in run_sources]
    contents = _read_in_parallel(jobs)
    if contents is None:
        return [read_run(folder, name) for name, folder in found]
    runs, position = [], 0
    for (name, folder), run_sources in zip(found, sources):
        runs.append(read_run(folder, name, contents[position:position + len(run_sources)]))
        position += len(run_sources)
    return runs
