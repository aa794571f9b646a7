"""Which files are event files, and which of them a run folder holds as its own.

A run as l2board writes it is a folder with event files at its top and in
`train/` and `validation/` (docs/log-format.md). The reader takes any file
with `tfevents` in its name, as TensorBoard does; what `--overwrite` may
delete is narrower: files named as TensorFlow's writers name them, and
never a link.
"""

import os
import re

from l2board.errors import L2BoardError
from l2board.log_format import tags

# What l2board writes into a run folder: event files at its top and in
# these subfolders, nothing else.
RUN_SUBFOLDERS = (tags.TRAIN_DIR, tags.VALIDATION_DIR)

# The names TensorFlow's writer gives event files; "my_tfevents_notes.md" is no event file.
_WRITTEN_NAME = re.compile(r"^events\.out\.tfevents\.\d+\.")


def is_event_file(name):
    """Whether a file name is a TensorBoard event file's, as TensorBoard decides it.

    Example:

    >>> is_event_file("events.out.tfevents.1795748804.vm.2884.1.v2")
    True
    """
    return "tfevents" in name


def is_written_event_file(entry):
    """Whether an `os.DirEntry` is an event file as TensorFlow's writers (and l2board's) name it, and a real file.

    A link is never one: l2board writes no links, so a link is never ours to delete.
    """
    return bool(_WRITTEN_NAME.match(entry.name)) and entry.is_file(follow_symlinks=False)


def run_event_files(folder):
    """The event files of a folder's top and of its train/ and validation/ (not links, not deeper).

    Raises:
        OSError: when a folder cannot be listed.
    """
    found = []
    for sub in ("",) + RUN_SUBFOLDERS:
        place = os.path.join(folder, sub) if sub else folder
        if sub and (os.path.islink(place) or not os.path.isdir(place)):
            continue
        with os.scandir(place) as entries:
            found.extend(e.path for e in entries if is_written_event_file(e))
    return found


def unlistable(error, folder):
    """The one sentence for a folder that cannot be looked into, as an `L2BoardError`."""
    return L2BoardError(f"Cannot look inside '{error.filename or folder}': {error.strerror or error}.")


def holds_a_run(folder):
    """Whether a folder already holds a run (event files of its own, as l2board writes them).

    Only the folder's top and its train/ and validation/ are looked at: no
    search for runs below.

    Raises:
        L2BoardError: when the folder cannot be listed.
    """
    if not os.path.isdir(folder):
        return False
    try:
        return bool(run_event_files(folder))
    except OSError as error:
        raise unlistable(error, folder) from None
