"""Errors that l2board reports to users as one sentence, without a traceback."""


class L2BoardError(Exception):
    """A problem the user can fix; its message is one complete sentence."""


class UnwritableLogDirError(L2BoardError, OSError):
    """The log folder cannot be created or written."""
