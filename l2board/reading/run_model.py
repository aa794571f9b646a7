"""The run model: what the read side knows about one run, whoever read it.

These are data shapes only, apart from every loader (as TensorBoard keeps
`tensorboard/data/provider.py` apart from its loaders): `RecordSource` is
what a loader hands over (the event-file reader: one per file; the L2 tab:
one per TensorBoard run), `RunLog` what `run_builder.build_run` makes of
them, and the notes records say what the values leave out or replace.
"""

import dataclasses
import os

import numpy as np

from l2board.log_format import tags

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
class RecordSource:
    """Raw records of one source, in the order they were written.

    Args:
        path: the event file, or the TensorBoard run the points came from;
            notes name it.
        folder: the run's folder it belongs to ("" for the run's top,
            "train", "Loss/val", ...).
        scalars: `{tag: (steps, values)}` in written order (int64 and
            float64 arrays from event files, lists from TensorBoard's data
            provider), unmerged: repeated and earlier steps are kept for the
            builder.
        texts: `{tag: [(step, str), ...]}`.
        other_tags: `{tag: plugin name}` of summaries not read.
        damage: a `FileDamage` when the source is a damaged file, else `None`.
        first_wall_time: the wall time of its first event, or `None`.
    """

    path: str
    folder: str
    scalars: dict
    texts: dict = dataclasses.field(default_factory=dict)
    other_tags: dict = dataclasses.field(default_factory=dict)
    damage: object = None
    first_wall_time: float | None = None


@dataclasses.dataclass
class SkippedFile:
    """Something named like an event file that is not a regular file, left unopened.

    Args:
        path: its path.
        kind: what it is instead ("folder", "named pipe (FIFO)", "socket", ...).
    """

    path: str
    kind: str


@dataclasses.dataclass
class UnlistedFolder:
    """A folder that could not be listed, so event files or runs in it are left out.

    Args:
        path: the folder.
        reason: why (the system's message, "Permission denied", ...).
    """

    path: str
    reason: str


@dataclasses.dataclass
class Restart:
    """Points replaced by TensorBoard's rule for restarted runs.

    A source going back to an earlier (or the same) step, a run resumed
    from a checkpoint or restarted in the same folder, replaces the points
    from that step on, as TensorBoard shows them.

    Args:
        path: the event file (or TensorBoard run) that goes back.
        step: the step it goes back to.
        replaced: how many points (over all tags) it replaced.
        within_file: whether it went back within itself rather than
            behind an earlier file.
    """

    path: str
    step: int
    replaced: int
    within_file: bool = False



class Note:
    """A code and its numbers, e.g. `Note("incomplete", last_epoch=7)`: what a reader or the analysis
    found about a run; `l2board.rendering` words it.

    The read side's codes (docs/log-layouts.md says when each arises; the
    analysis's are listed in `l2board.analysis.notes`):

    - `ambiguous_role` (`split`, `role`, `tags`): several series could hold
      one role (`tags`, as logged); the run is refused, not guessed at.
    - `steps_not_epochs` (`series`, `epoch_series`): these series (as
      logged) stay at the writer's global steps, because the run's epoch
      series (`epoch_series`, or `None` when it logs none) has no whole
      epoch at each of their steps.
    - `sampled` (`series`, `kept`): TensorBoard kept only `kept` points of
      these series (its reservoir), so their values are a sample; see
      plugins/tensorboard_plugin_l2board/http_api.md.

    Example:

    >>> Note("incomplete", last_epoch=7) == Note("incomplete", last_epoch=7), Note("incomplete", last_epoch=7)
    (True, Note('incomplete', last_epoch=7))
    >>> Note("ambiguous_role", split="train", role="loss", tags=["Loss/train", "train/loss"]).to_dict()
    {'code': 'ambiguous_role', 'split': 'train', 'role': 'loss', 'tags': ['Loss/train', 'train/loss']}
    """

    __slots__ = ("code", "values")

    def __init__(self, code, **values):
        self.code = code
        self.values = values

    def __eq__(self, other):
        return isinstance(other, Note) and (self.code, self.values) == (other.code, other.values)

    __hash__ = None  # values may hold lists

    def __repr__(self):
        values = "".join(f", {key}={value!r}" for key, value in self.values.items())
        return f"Note({self.code!r}{values})"

    def __deepcopy__(self, memo):
        # dataclasses.asdict deep-copies what it does not know.
        import copy

        return Note(self.code, **copy.deepcopy(self.values, memo))

    def to_dict(self):
        """Returns `{"code": ..., <value name>: <value>, ...}`, as the JSON holds it."""
        return {"code": self.code, **self.values}


@dataclasses.dataclass
class RunLog:
    """What one run's logs hold, with recognised series under canonical keys.

    Args:
        name: the run's name in reports (its path relative to the folder
            that holds the runs, or its TensorBoard name).
        path: the run folder.
        scalars: `{(folder, tag): Series}`. The training and validation
            loss and metrics of every recognised layout are under the keys
            Keras writes (`("train", "epoch_loss")`,
            `("validation", "epoch_accuracy")`, ...); other series keep
            their folder (`train`, `validation`, `""`, or the member
            folder they were found in) and tag.
        texts: `{(folder, tag): [(step, str), ...]}`.
        other_tags: `{(folder, tag): plugin name}` of summaries not read
            (histograms, images, ...), under their own folder and tag.
        damage: the `FileDamage` of each damaged or unreadable file.
        event_files: how many sources (event files) were read.
        skipped: a `SkippedFile` for each thing named like an event file
            that is not a regular file, an `UnlistedFolder` for each of its
            folders that could not be listed.
        restarts: a `Restart` for each place where a source went back to
            an earlier step and replaced points.
        flat: whether the run keeps its event files at its top only.
        sources: `{canonical (folder, tag): (folder, tag) as logged}` of
            every series renamed by recognition, so that a report can name
            what it read.
        folders: `{member folder: "train" | "validation" | ""}`: the
            run's folders and the split each holds.
        steps_from: `(folder, tag)` as logged of the series whose values
            became the steps (Lightning's `epoch`, transformers'
            `train/epoch`), or `None` when steps are as logged.
        read_notes: `Note`s of what the values leave out or stand for
            (`steps_not_epochs`, `sampled`).
        refused: a `Note` when the run cannot be analysed as read
            (`ambiguous_role`): it is listed, with this reason, and skipped.
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
    sources: dict = dataclasses.field(default_factory=dict)
    folders: dict = dataclasses.field(default_factory=dict)
    steps_from: tuple | None = None
    read_notes: list = dataclasses.field(default_factory=list)
    refused: Note | None = None

    def scalar(self, folder, tag):
        """Returns the `Series` of a tag, or `None`."""
        return self.scalars.get((folder, tag))

    def source_of(self, folder, tag):
        """Returns `(folder, tag)` as logged of a series (itself when not renamed)."""
        return self.sources.get((folder, tag), (folder, tag))

    def latest_text(self, folder, tag):
        """Returns the text at the highest step of a tag, or `None`."""
        points = self.texts.get((folder, tag))
        return points[-1][1] if points else None

    def notes(self):
        """Returns every record of what the values leave out or replace (worded by `l2board.rendering`)."""
        return [*self.damage, *self.skipped, *self.restarts]

    def troubles_in(self, folder):
        """Returns the damage and skipped-file records of files that could hold `folder`'s values."""
        members = sorted((m for m in self.folders if m), key=len, reverse=True)

        def holds(path):
            relative = os.path.normpath(os.path.relpath(path, self.path)).replace(os.sep, "/")
            for member in members:
                if relative == member or relative.startswith(member + "/"):
                    return self.folders[member] == folder
            first = relative.split("/")[0]
            if first in (tags.TRAIN_DIR, tags.VALIDATION_DIR):  # its own train/ that could not be listed
                return first == folder
            top = self.folders.get(ROOT)
            return top == folder if top else self.flat

        return [record for record in (*self.damage, *self.skipped) if holds(record.path)]


class RunLogs(list):
    """A list of `RunLog`s, with `notes`: an `UnlistedFolder` for each folder
    that could not be searched for runs."""

    def __init__(self, runs=(), notes=()):
        super().__init__(runs)
        self.notes = list(notes)
