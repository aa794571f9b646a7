"""Run folders: creating them fresh, checking they can be written, never mixing two runs.

No TensorFlow here: the command line checks folders before it loads it.
"""

import datetime
import os
import shutil

from l2board.errors import L2BoardError, UnwritableLogDirError


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


def holds_a_run(folder):
    """Whether a folder already holds TensorBoard event files (a run)."""
    from l2board.logs import is_event_file

    if not os.path.isdir(folder):
        return False
    for _, _, files in os.walk(folder):
        if any(is_event_file(f) for f in files):
            return True
    return False


def prepare_run_dir(folder, overwrite=False, explicit=True):
    """Makes sure a run folder can be written without mixing two runs.

    Args:
        folder: the wanted run folder.
        overwrite: delete a run already there.
        explicit: whether the user named the folder. A folder the user
            named that holds a run is refused (unless `overwrite`); a
            default name gets a fresh suffix instead.

    Returns:
        `(folder, note)`: the folder to use and a sentence to tell the user
        (or `None`).

    Raises:
        L2BoardError: when the folder holds a run and may not be replaced.
    """
    if not holds_a_run(folder):
        return folder, None
    if overwrite:
        shutil.rmtree(folder)
        return folder, f"Replaced the run that was in {folder}."
    if explicit:
        raise L2BoardError(f"'{folder}' already holds a run; choose another --logdir or pass --overwrite to replace it.")
    n = 2
    while holds_a_run(f"{folder}-{n}"):
        n += 1
    return f"{folder}-{n}", f"{folder} already holds a run; writing to {folder}-{n} instead."
