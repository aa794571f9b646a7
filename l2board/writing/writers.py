"""The writers of a run folder behind one interface: the event writer, or `tf.summary` for a URL on TensorFlow.

Both write the same summaries into the same files (docs/log-format.md);
the callback writes through `FolderWriter` and never asks which it has.
"""

import os
from typing import Protocol, runtime_checkable

import keras

from l2board.log_format import tags

ROOT = "root"


@runtime_checkable
class FolderWriter(Protocol):
    """Writes the summaries of one folder of a run (its top, `train/` or `validation/`).

    `summary_writing.RunWriter` (TensorFlow) and
    `event_writer.EventFileRunWriter` (no TensorFlow) are the two; a write
    that fails raises `LogWriteError`, one sentence naming the folder.

    Attributes:
        path: the folder.
    """

    path: str

    def scalars(self, values, step):
        """Writes `{tag: number}` as scalar summaries at `step`."""

    def histograms(self, buckets, step):
        """Writes `{tag: [k, 3] buckets}` (see `histograms.histogram_buckets`) as TensorBoard's histograms."""

    def text(self, values, step):
        """Writes `{tag: string}` as text summaries (Markdown in TensorBoard)."""

    def hparams(self, values, trial_id=None):
        """Writes the values shown by TensorBoard's HParams dashboard."""

    def flush(self):
        """Writes buffered summaries to disk."""

    def close(self):
        """Flushes and closes the event file."""


class DiscardingWriter:
    """A `FolderWriter` that writes nothing: what a non-chief worker of a cluster uses."""

    path = None

    def scalars(self, values, step):
        pass

    def histograms(self, buckets, step):
        pass

    def text(self, values, step):
        pass

    def hparams(self, values, trial_id=None):
        pass

    def flush(self):
        pass

    def close(self):
        pass


def writer_class(path):
    """The `FolderWriter` for a folder: TensorBoard's format written directly, or tf.summary for a URL on TensorFlow.

    The event writer writes a local folder's summaries without a TensorFlow
    operation each (60 scalars: about 1 ms, where tf.summary takes 25 ms,
    `benchmarks/event_writing.py`), whatever the backend; on JAX or PyTorch
    importing TensorFlow would also cost seconds and claim GPU memory.
    A URL (`gs://...`) is written by tf.summary, on TensorFlow only, as
    TensorFlow opens any path it reads.
    """
    if "://" in str(path) and keras.backend.backend() == "tensorflow":
        from l2board.writing.summary_writing import RunWriter

        return RunWriter
    from l2board.writing.event_writer import EventFileRunWriter

    return EventFileRunWriter


def open_writers(run_dir):
    """`{ROOT, "train", "validation": FolderWriter}` of a run folder; `run_dir` `None`: writers that discard."""
    if run_dir is None:
        return {name: DiscardingWriter() for name in (ROOT, tags.TRAIN_DIR, tags.VALIDATION_DIR)}
    writer = writer_class(run_dir)
    return {ROOT: writer(run_dir),
            tags.TRAIN_DIR: writer(os.path.join(run_dir, tags.TRAIN_DIR)),
            tags.VALIDATION_DIR: writer(os.path.join(run_dir, tags.VALIDATION_DIR))}
