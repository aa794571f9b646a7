"""The writers' log folder: created and checked before writing, and never the run of another model.

No TensorFlow here, and nothing of the reading side: whether a folder
already holds a run is told from its event files' first intact records,
read through the log format (`l2board.log_format`).
"""

import datetime
import mmap
import os

from tensorboard.compat.proto import event_pb2

from l2board.errors import UnwritableLogDirError
from l2board.log_format.framing import intact_records
from l2board.log_format.run_files import run_event_files, unlistable


def ensure_writable_dir(path):
    """Creates a local folder if needed and checks that files can be written in it.

    Args:
        path: the folder. Remote paths (with `://`) are left to TensorFlow.

    Raises:
        UnwritableLogDirError: with one sentence naming the folder and why.
    """
    if "://" in path:
        return
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".l2board-write-check-{os.getpid()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UnwritableLogDirError(
            f"Cannot write TensorBoard logs to '{path}': {reason}."
        ) from None


def make_fresh_log_dir(parent="logs", prefix="", now=None):
    """Creates a new run folder under `parent`, named by date and time.

    Creating it is atomic, so two trainings started in the same second (or
    two processes) never share a folder.

    Args:
        parent: the folder that holds runs; created if needed.
        prefix: put before the date, e.g. `"demo-"`.
        now: the time to name the run by (default: now).

    Returns:
        The new folder's path, such as `logs/20261127-031500`, with a
        suffix `-2`, `-3`, ... when that name is taken.

    Raises:
        UnwritableLogDirError: when `parent` cannot be created or written.

    Example:

    ```python
    make_fresh_log_dir("logs")  # 'logs/20261127-031500', now created
    ```
    """
    ensure_writable_dir(parent)
    base = os.path.join(parent, prefix + (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S"))
    path, n = base, 1
    while True:
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n += 1
            path = f"{base}-{n}"


def sibling_run_dir(folder):
    """Creates and returns the first `<folder>-2`, `<folder>-3`, ... that did not exist: a run folder of its own.

    Created atomically, so two fits started at once never share one.
    """
    n = 2
    while True:
        candidate = f"{folder.rstrip('/' + os.sep)}-{n}"
        try:
            os.makedirs(candidate)
            return candidate
        except FileExistsError:
            n += 1


def holds_logged_values(folder):
    """Whether a folder holds values of an earlier fit: a scalar in the event files of its top, train/ or validation/.

    What a writer of this very fit put there before its first epoch ended
    (Keras's model summary, KerasTuner's HParams record, a file header) is
    no run yet; a URL is not looked into (`False`). A damaged file is
    looked into up to its damage.

    Raises:
        L2BoardError: when the folder cannot be listed.
    """
    if "://" in folder or not os.path.isdir(folder):
        return False
    try:
        paths = run_event_files(folder)
    except OSError as error:
        raise unlistable(error, folder) from None
    return any(_holds_a_scalar(path) for path in paths)


def _holds_a_scalar(path):
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                return False
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
                for data in intact_records(buffer):
                    try:
                        event = event_pb2.Event.FromString(data)
                    except Exception:  # noqa: BLE001 - protobuf raises DecodeError and others; a record that is no event
                        continue
                    if any(value.HasField("simple_value") or value.metadata.plugin_data.plugin_name == "scalars"
                           for value in event.summary.value):
                        return True
    except OSError:
        pass  # a file that cannot be read holds nothing this fit could be mixed with
    return False
