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

import numpy as np

from l2board import tags
from l2board.errors import L2BoardError
from l2board.event_files import FileDamage, iter_events, tensor_to_array

FOLDERS = (tags.TRAIN_DIR, tags.VALIDATION_DIR)
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
    return sorted(os.path.join(folder, n) for n in names
                  if is_event_file(n) and os.path.isfile(os.path.join(folder, n)))


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


class _SeriesBuilder:
    __slots__ = ("steps", "values")

    def __init__(self):
        self.steps = []
        self.values = []

    def add(self, step, value):
        # TensorBoard's rule for restarted runs: a step at or before the
        # last one replaces the points from that step on.
        if self.steps and step <= self.steps[-1]:
            cut = bisect.bisect_left(self.steps, step)
            del self.steps[cut:], self.values[cut:]
        self.steps.append(step)
        self.values.append(value)


def _plugin_of(value, plugins, key):
    if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
        plugins[key] = value.metadata.plugin_data.plugin_name
    return plugins.get(key, "")


def read_run(folder, name=None):
    """Reads the scalars and texts of one run folder.

    Args:
        folder: the run folder.
        name: its name in reports (default: the folder's name).

    Returns:
        A `RunLog`. Damaged files are read as far as they can be and listed
        in `damage`; nothing that failed a checksum is returned as data.
    """
    run = RunLog(name=name or os.path.basename(os.path.abspath(folder)), path=folder)
    sources = [(ROOT, f) for f in _event_files(folder)]
    sources += [(sub, f) for sub in FOLDERS for f in _event_files(os.path.join(folder, sub))]
    flat = not any(sub for sub, _ in sources)
    scalars, texts, plugins = {}, {}, {}
    for sub, path in sources:
        run.event_files += 1
        damage = FileDamage(path)
        for event in iter_events(path, damage):
            if not event.HasField("summary"):
                continue
            step = event.step
            for value in event.summary.value:
                key = (sub, value.tag)
                plugin = _plugin_of(value, plugins, key)
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    number = float(value.simple_value)
                elif kind == "tensor" and plugin in ("scalars", "text"):
                    try:
                        array = tensor_to_array(value.tensor)
                    except ValueError:
                        damage.bad_records += 1
                        continue
                    if plugin == "text":
                        texts.setdefault(key, []).append((step, _as_text(array)))
                        continue
                    if array.size != 1:
                        continue
                    number = float(array.reshape(()))
                else:
                    if kind is not None:
                        run.other_tags[key] = plugin or kind
                    continue
                scalars.setdefault(key, _SeriesBuilder()).add(step, number)
        if damage:
            run.damage.append(damage)
    for (sub, tag), builder in scalars.items():
        if flat:
            sub, tag = _flat_folder(tag)
        run.scalars[(sub, tag)] = Series(np.array(builder.steps, dtype=np.int64),
                                         np.array(builder.values, dtype=np.float64))
    for key, points in texts.items():
        run.texts[key] = sorted(points, key=lambda p: p[0])
    return run


def _flat_folder(tag):
    for prefix, replacement in (("epoch_val_", "epoch_"), ("val_", "")):
        if tag.startswith(prefix):
            return tags.VALIDATION_DIR, replacement + tag[len(prefix):]
    return tags.TRAIN_DIR, tag


def _as_text(array):
    item = array.reshape(-1)[0] if array.size else b""
    return item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)


def read_runs(paths):
    """Finds and reads every run under `paths` (see `find_runs`).

    Returns:
        A list of `RunLog`, in the order found.
    """
    return [read_run(folder, name) for name, folder in find_runs(paths)]
