"""Writes TensorBoard event files without TensorFlow: L2Monitor's writer of local folders, on every backend.

`EventFileRunWriter` is a `writers.FolderWriter`, as `summary_writing.RunWriter`
is, and writes the same summaries, value for value and byte for byte apart from
wall times: the protos, the plugins' metadata and the HParams summary come
from the `tensorboard` package, the TFRecord framing (with Google's C
CRC32C) from the log format (`l2board.log_format.framing`). On TensorFlow
too: a scalar through `tf.summary` is an eager operation, and an epoch's 60
of them took 25 ms here where this writer takes about 1 ms.

Why not TensorBoard's `EventFileWriter`: it opens its file through
`tensorboard.compat.tf.io.gfile`, which imports TensorFlow whenever it is
installed (seconds, and GPU memory on a GPU machine), and it writes from a
background thread whose errors surface late and whose `close()` leaves the
file open when the final flush fails. Here records are buffered in memory
and written by the calling thread at `flush()` (or past 1 MiB): a write
error is raised by the call that meets it, the file is cut back to its last
whole record (a torn record would stop TensorBoard's reader at that point
for good), and `close()` always closes the file.
"""

import contextlib
import errno
import itertools
import os
import socket
import time

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.util import tensor_util

from l2board.errors import LogWriteError, UnwritableLogDirError
from l2board.log_format.framing import frame_record
from l2board.writing.log_folder import ensure_writable_dir

# What tf.summary.scalar / .text and RunWriter.histograms attach, as TensorFlow writes it.
_SCALAR_METADATA = scalar_metadata.create_summary_metadata(display_name=None, description=None)
_HISTOGRAM_METADATA = histogram_metadata.create_summary_metadata(display_name="", description="")
_TEXT_METADATA = text_metadata.create_summary_metadata(display_name=None, description=None)
_SCALAR_SHAPE = tensor_shape_pb2.TensorShapeProto()
_LITTLE_ENDIAN_FLOAT32 = np.dtype("<f4")

# TensorFlow numbers its writers 0, 1, ... per process, in the same
# `<n>` field. Keras's own TensorBoard callback (which imports TensorFlow
# on any backend) may open a writer on the same folder in the same second,
# and TensorFlow truncates an existing file of its name: starting at
# 1,000,000 keeps our names out of its range, and equal widths keep the
# string order (TensorBoard's loading order) the order of creation.
_FILE_NUMBERS = itertools.count(1_000_000)
_SPACE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_WRITER_NAME = "l2board.writing.event_writer"
# Written without waiting for flush() past this: a bound on memory, far above an epoch's summaries.
_MAX_PENDING_BYTES = 1 << 20


def _event_file_name(seconds):
    """`events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`, TensorFlow's pattern."""
    return (f"events.out.tfevents.{int(seconds):010d}.{socket.gethostname()}.{os.getpid()}."
            f"{next(_FILE_NUMBERS)}.v2")


def _scalar_tensor(value):
    # tf.summary.scalar stores float32 as `tensor_content`; tensor_util would
    # use `float_val` (as valid, but not the same bytes) at 3x the cost.
    # Beyond float32's range: infinity (tf.summary.scalar raises instead).
    with np.errstate(over="ignore"):
        content = np.asarray(float(value), dtype=_LITTLE_ENDIAN_FLOAT32).tobytes()
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=_SCALAR_SHAPE, tensor_content=content)


def _text_tensor(value):
    return tensor_util.make_tensor_proto(value.encode("utf-8") if isinstance(value, str) else bytes(value))


class EventFileRunWriter:
    """Writes scalars, histograms, text and HParams into one TensorBoard run folder, without TensorFlow.

    A `writers.FolderWriter`: the same summaries as `RunWriter`; local folders only.

    Args:
        path: the run folder, created if needed.

    Attributes:
        path: the run folder.
        file_path: the event file, `<path>/events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`.

    Raises:
        UnwritableLogDirError: the folder cannot be created or written, or is remote.
    """

    def __init__(self, path):
        path = os.fspath(path)
        if "://" in path:
            raise UnwritableLogDirError(
                f"Cannot write TensorBoard logs to '{path}': remote folders are written through TensorFlow, "
                "which L2Monitor uses only on the TensorFlow backend.")
        ensure_writable_dir(path)
        self.path = path
        created = time.time()
        self.file_path = os.path.join(path, _event_file_name(created))
        self._pending, self._pending_bytes, self._written_bytes = [], 0, 0
        try:
            # "x": never append to or truncate a file another writer holds. Unbuffered:
            # flush() knows exactly how much of its data reached the file.
            self._file = open(self.file_path, "xb", buffering=0)
        except OSError as error:
            raise UnwritableLogDirError(f"Cannot write TensorBoard logs to '{path}': {_reason(error)}.") from None
        # The first record, as every TensorFlow event file starts; its wall
        # time orders files created in the same second (see reading.discovery).
        first = event_pb2.Event(wall_time=created, file_version="brain.Event:2",
                                source_metadata=event_pb2.SourceMetadata(writer=_WRITER_NAME))
        try:
            self._write([first])
            self.flush()
        except LogWriteError:
            self._close_quietly()
            raise

    def scalars(self, values, step):
        """Writes `{tag: number}` as scalar summaries at `step`, as `tf.summary.scalar` does."""
        self._write_values(((tag, _scalar_tensor(value), _SCALAR_METADATA) for tag, value in values.items()), step)

    def histograms(self, buckets, step):
        """Writes `{tag: [k, 3] buckets}` (see `histograms.histogram_buckets`) as histograms TensorBoard shows as its own."""
        self._write_values(
            ((tag, tensor_util.make_tensor_proto(np.asarray(values, np.float64)), _HISTOGRAM_METADATA)
             for tag, values in buckets.items()), step)

    def text(self, values, step):
        """Writes `{tag: string}` as text summaries (Markdown in TensorBoard)."""
        self._write_values(((tag, _text_tensor(value), _TEXT_METADATA) for tag, value in values.items()), step)

    def hparams(self, values, trial_id=None):
        """Writes the values shown by TensorBoard's HParams dashboard (its session start summary)."""
        summary = hparams_summary.hparams_pb(values, trial_id=trial_id)
        self._write([event_pb2.Event(wall_time=time.time(), step=0, summary=summary)])

    def flush(self):
        """Writes buffered summaries to disk (to the operating system, as TensorFlow's flush does).

        Raises:
            LogWriteError: the disk is full or the file too large; the file then
                ends with the last summary flushed before, and the summaries
                not written stay buffered for the next flush.
        """
        file = self._open_file()
        data = memoryview(b"".join(self._pending))
        done = 0
        with self._reporting_errors():
            try:
                while done < len(data):  # a write may write part of the data, then fail
                    done += file.write(data[done:])
            except OSError:
                with contextlib.suppress(OSError):  # the write's own error is the one to report
                    os.ftruncate(file.fileno(), self._written_bytes)
                    file.seek(self._written_bytes)
                raise
        self._pending, self._pending_bytes = [], 0
        self._written_bytes += done

    def close(self):
        """Flushes and closes the event file; the file is closed even when the flush fails."""
        if self._file is None:
            return
        try:
            self.flush()
        finally:
            self._file.close()
            self._file = None

    def _close_quietly(self):
        """Closes the event file, ignoring a failing final flush (after an error already reported)."""
        try:
            self.close()
        except LogWriteError:
            pass

    def _write_values(self, tagged_tensors, step):
        # One value per event, as tf.summary writes them.
        now = time.time()
        self._write([
            event_pb2.Event(wall_time=now, step=int(step), summary=summary_pb2.Summary(value=[
                summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata)]))
            for tag, tensor, metadata in tagged_tensors])

    def _write(self, events):
        self._open_file()
        data = b"".join(frame_record(event.SerializeToString()) for event in events)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes > _MAX_PENDING_BYTES:
            self.flush()

    def _open_file(self):
        if self._file is None:
            raise ValueError(f"The event writer of '{self.path}' is closed.")
        return self._file

    @contextlib.contextmanager
    def _reporting_errors(self):
        """Turns an `OSError` of a write into `LogWriteError`: one sentence naming the folder, as RunWriter's."""
        try:
            yield
        except LogWriteError:
            raise
        except OSError as error:
            hint = " (is the disk full?)" if error.errno in _SPACE_ERRORS else ""
            raise LogWriteError(
                f"Could not write TensorBoard logs to '{self.path}': {_reason(error)}{hint}; "
                "the epochs written before are kept.") from None


def _reason(error):
    return (error.strerror or str(error) or type(error).__name__).rstrip(".")
