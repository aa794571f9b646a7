"""Writes TensorBoard summaries for L2Monitor: one writer per run folder.

Every write is wrapped in `tf.summary.record_if(True)`: Keras 3's own
TensorBoard callback installs a `record_if` condition on the default
writer when `update_freq` is an integer, and summaries written under it
outside the chosen steps are silently dropped.
"""

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.histogram import metadata as histogram_metadata

from l2board.histograms import DEFAULT_BUCKET_COUNT, histogram_buckets
from l2board.run_folders import ensure_writable_dir

_HISTOGRAM_METADATA = histogram_metadata.create_summary_metadata(display_name="", description="")


class RunWriter:
    """Writes scalars, histograms and text into one TensorBoard run folder.

    Args:
        path: the run folder, created if needed.
    """

    def __init__(self, path):
        ensure_writable_dir(path)
        self.path = path
        self._writer = tf.summary.create_file_writer(path)

    def scalars(self, values, step):
        """Writes `{tag: number}` as scalar summaries at `step`."""
        with self._writer.as_default(), tf.summary.record_if(True):
            for tag, value in values.items():
                tf.summary.scalar(tag, float(value), step=step)

    def histograms(self, arrays, step, bucket_count=DEFAULT_BUCKET_COUNT):
        """Writes `{tag: array}` as histograms that TensorBoard shows as its own."""
        with self._writer.as_default(), tf.summary.record_if(True):
            for tag, array in arrays.items():
                buckets = histogram_buckets(array, bucket_count)
                tf.summary.write(tag, tf.constant(buckets, dtype=tf.float64), step=step,
                                 metadata=_HISTOGRAM_METADATA)

    def text(self, values, step):
        """Writes `{tag: string}` as text summaries (Markdown in TensorBoard)."""
        with self._writer.as_default(), tf.summary.record_if(True):
            for tag, value in values.items():
                tf.summary.text(tag, value, step=step)

    def hparams(self, values, trial_id=None):
        """Writes the values shown by TensorBoard's HParams dashboard."""
        from tensorboard.plugins.hparams import api as hp

        with self._writer.as_default(), tf.summary.record_if(True):
            hp.hparams(values, trial_id=trial_id)

    def flush(self):
        """Writes buffered summaries to disk."""
        self._writer.flush()

    def close(self):
        """Flushes and closes the event file."""
        self._writer.close()


class DiscardingWriter:
    """A `RunWriter` that writes nothing: what a non-chief worker uses."""

    def __init__(self, path):
        self.path = path

    def scalars(self, values, step):
        """Writes nothing."""

    def histograms(self, arrays, step, bucket_count=DEFAULT_BUCKET_COUNT):
        """Writes nothing."""

    def text(self, values, step):
        """Writes nothing."""

    def hparams(self, values, trial_id=None):
        """Writes nothing."""

    def flush(self):
        """Writes nothing."""

    def close(self):
        """Writes nothing."""


def as_float(value):
    """Returns a logged value (Keras variable, tensor, NumPy or Python number) as a float."""
    # A Keras variable's own __array__ predates NumPy 2's copy argument.
    if isinstance(value, keras.Variable):
        value = value.value
    return float(np.asarray(value))
