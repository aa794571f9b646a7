"""Writes TensorBoard summaries through tf.summary: L2Monitor's writer of a folder named by a URL (`gs://...`).

Every write is wrapped in `tf.summary.record_if(True)`: Keras 3's own
TensorBoard callback installs a `record_if` condition on the default
writer when `update_freq` is an integer, and summaries written under it
outside the chosen steps are silently dropped.
"""

import functools

import tensorflow as tf
from tensorboard.plugins.histogram import metadata as histogram_metadata

from l2board.errors import LogWriteError
from l2board.writing.log_folder import ensure_writable_dir

_HISTOGRAM_METADATA = histogram_metadata.create_summary_metadata(display_name="", description="")


def _reason(error):
    # TensorFlow's message: "<op>} <path>; File too large\n\tFailed to flush ..."
    first_line = str(getattr(error, "message", error)).splitlines()[0]
    return first_line.rsplit("; ", 1)[-1].strip().rstrip(".") or type(error).__name__


def _reported_as_one_sentence(method):
    """Turns TensorFlow's write errors (disk full, file too large) into an `L2BoardError`."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except tf.errors.OpError as error:
            raise LogWriteError(
                f"Could not write TensorBoard logs to '{self.path}': {_reason(error)} (is the disk full?); "
                "the epochs written before are kept.") from None

    return guarded


class RunWriter:
    """Writes scalars, histograms and text into one TensorBoard run folder: the `writers.FolderWriter` on TensorFlow.

    Args:
        path: the run folder, created if needed.
    """

    def __init__(self, path):
        ensure_writable_dir(path)
        self.path = path
        self._writer = tf.summary.create_file_writer(path)

    @_reported_as_one_sentence
    def scalars(self, values, step):
        """Writes `{tag: number}` as scalar summaries at `step`."""
        with self._writer.as_default(), tf.summary.record_if(True):
            for tag, value in values.items():
                tf.summary.scalar(tag, float(value), step=step)

    @_reported_as_one_sentence
    def histograms(self, buckets, step):
        """Writes `{tag: [k, 3] buckets}` (see `histograms.histogram_buckets`) as histograms TensorBoard shows as its own."""
        with self._writer.as_default(), tf.summary.record_if(True):
            for tag, values in buckets.items():
                tf.summary.write(tag, tf.constant(values, dtype=tf.float64), step=step,
                                 metadata=_HISTOGRAM_METADATA)

    @_reported_as_one_sentence
    def text(self, values, step):
        """Writes `{tag: string}` as text summaries (Markdown in TensorBoard)."""
        with self._writer.as_default(), tf.summary.record_if(True):
            for tag, value in values.items():
                tf.summary.text(tag, value, step=step)

    @_reported_as_one_sentence
    def hparams(self, values, trial_id=None):
        """Writes the values shown by TensorBoard's HParams dashboard."""
        from tensorboard.plugins.hparams import api as hp

        with self._writer.as_default(), tf.summary.record_if(True):
            hp.hparams(values, trial_id=trial_id)

    @_reported_as_one_sentence
    def flush(self):
        """Writes buffered summaries to disk."""
        self._writer.flush()

    @_reported_as_one_sentence
    def close(self):
        """Flushes and closes the event file."""
        self._writer.close()
