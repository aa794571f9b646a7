"""Errors that l2board reports to users as one sentence, without a traceback."""


class L2BoardError(Exception):
    """A problem the user can fix; its message is one complete sentence."""


class UnwritableLogDirError(L2BoardError, OSError):
    """The log folder cannot be created or written."""


class LogWriteError(L2BoardError, OSError):
    """Writing event files failed (a full disk, a file-size limit)."""


class RegularizerError(L2BoardError):
    """A model's regularizer raised when L2Monitor measured it."""


class Interrupted(L2BoardError):
    """Ctrl-C: what was finished is kept, and the message says where."""

    exit_code = 130
