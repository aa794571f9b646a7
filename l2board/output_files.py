"""Writing output files so that a failure never empties or half-writes one.

Every file l2board writes for the user (a report, a plot) is written to a
temporary file beside its target and renamed into place only once it is
complete: an error in the middle (a name that cannot be encoded, a full
disk, Ctrl-C) leaves the old file exactly as it was.
"""

import contextlib
import os
import stat
import tempfile

from l2board.errors import L2BoardError


def _reason(error):
    return error.strerror or str(error) or type(error).__name__


@contextlib.contextmanager
def atomic_output(path, what, binary=False):
    """Yields a file to write `path`'s new content into; replaces `path` when done.

    The new file gets the old one's permissions (or the usual ones for a new
    file). A symbolic link at `path` is kept: the file it points to is
    replaced. Nothing is left behind on failure. A device, FIFO or standard
    stream (`/dev/stdout`) is written in place, never replaced.

    Args:
        path: the file to write.
        what: what the file is, for the error sentence (`"the report"`).
        binary: yield a binary file instead of UTF-8 text.

    Raises:
        L2BoardError: "Cannot write <what> to '<path>': <reason>." when the
            file cannot be written; `path` is then unchanged.

    Example:

    ```python
    with atomic_output("report.md", "the report") as handle:
        handle.write(text)
    ```
    """
    if _is_special(path):
        yield from _written_in_place(path, what, binary)
        return
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    try:
        # A short name: the target's own may already be as long as names can be.
        descriptor, temporary = tempfile.mkstemp(prefix=".l2board-", suffix=".tmp", dir=folder)
    except OSError as error:
        raise L2BoardError(f"Cannot write {what} to '{path}': {_reason(error)}.") from None
    try:
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        with open(descriptor, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise L2BoardError(f"Cannot write {what} to '{path}': {_reason(error)}.") from None
    except BaseException:
        _remove(temporary)
        raise


def _is_special(path):
    """Whether `path` is a device, a FIFO, a terminal or a standard stream (/dev/stdout, /dev/fd/1).

    Those are written where they are: renaming a file over them would
    replace a device node, or the file a stream was redirected to.
    """
    if os.path.abspath(path).startswith(("/dev/", "/proc/")):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _written_in_place(path, what, binary):
    # Appending, as a shell's >> would: opening a redirected stream with "w"
    # would empty the file behind it.
    try:
        with open(path, "ab" if binary else "a", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
    except OSError as error:
        raise L2BoardError(f"Cannot write {what} to '{path}': {_reason(error)}.") from None


def _remove(path):
    with contextlib.suppress(OSError):
        os.remove(path)


def check_outside_runs(path, option, folders):
    """Refuses an output path inside a run folder: it would replace or mix with the run's files.

    Args:
        path: the output file (a report, a plot).
        option: the option that named it, for the error (`"--plot"`).
        folders: the run folders read or written.

    Raises:
        L2BoardError: naming the option, the path and the run folder.

    Example:

    >>> check_outside_runs("runs/a/train/events.out.tfevents.1.v2", "-o", ["runs/a"])
    Traceback (most recent call last):
    ...
    l2board.errors.L2BoardError: -o 'runs/a/train/events.out.tfevents.1.v2' is inside the run folder 'runs/a'; write it elsewhere, so that the run stays as it is.
    """
    target = os.path.realpath(path)
    for folder in folders:
        root = os.path.realpath(folder)
        if target == root or target.startswith(root.rstrip(os.sep) + os.sep):
            raise L2BoardError(f"{option} '{path}' is inside the run folder '{folder}'; write it elsewhere, "
                               "so that the run stays as it is.")
