"""The run-folder policy of `l2board train`, `experiment` and `demo`: a fresh folder, or `--overwrite` of our own run.

Nothing here deletes what l2board did not write: `--overwrite` removes only
the event files of a folder that holds nothing else (see `plan_run_dir`),
and every check is made before anything is created or deleted. No
TensorFlow here: the command line checks folders before it loads it.
"""

import contextlib
import dataclasses
import os

from l2board.errors import L2BoardError, UnwritableLogDirError
from l2board.log_format import tags
from l2board.log_format.run_files import (
    RUN_SUBFOLDERS,
    holds_a_run,
    is_event_file,
    is_written_event_file,
    run_event_files,
    unlistable,
)
from l2board.safe_text import listing
from l2board.writing.log_folder import ensure_writable_dir

# Text tags only L2Monitor writes: a run holding one is provably l2board's.
_L2BOARD_TAG_PREFIX = "l2board/"
# A folder with more entries than this below it is not searched further for
# runs (a home folder given as --logdir, say).
_MAX_ENTRIES_SEARCHED = 100_000


def _written_by_l2board(event_files):
    """Whether the run's training event files hold a record only L2Monitor writes (its setup, its data loss)."""
    from l2board.reading.event_files import FileDamage, iter_events

    for path in event_files:
        if os.path.basename(os.path.dirname(path)) != tags.TRAIN_DIR:
            continue
        for event in iter_events(path, FileDamage(path)):
            if any(v.tag.startswith(_L2BOARD_TAG_PREFIX) or v.tag == tags.DATA_LOSS for v in event.summary.value):
                return True
    return False


def _hold_no_data(event_files):
    """Whether every event file holds nothing but its file version record, intact: a writer opened it, wrote nothing.

    What a run killed before its first epoch ended leaves (L2Monitor writes
    at epoch ends); deleting such files loses no data, whoever opened them.
    """
    from l2board.reading.event_files import FileDamage, iter_events

    for path in event_files:
        damage = FileDamage(path)
        if any(event.WhichOneof("what") != "file_version" for event in iter_events(path, damage)) or damage:
            return False
    return True


def _run_above(folder):
    """The nearest folder above `folder` that is a run itself, or None."""
    path = os.path.abspath(folder)
    parent = os.path.dirname(path)
    while parent != path:
        try:
            if run_event_files(parent):
                return parent
        except OSError:
            pass  # a folder above that cannot be listed holds no run l2board could mix with
        path, parent = parent, os.path.dirname(parent)
    return None


@dataclasses.dataclass
class FolderSurvey:
    """What a folder holds, from the point of view of writing a run into it.

    Args:
        event_files: paths of the run's own event files (at the top and in
            `train/` and `validation/`): what `--overwrite` may delete.
        foreign: names (relative to the folder) of everything else in it.
        run_below: the path of an event file deeper down (another run in a
            subfolder), or `None`.
    """

    event_files: list
    foreign: list
    run_below: str | None

    @property
    def holds_a_run(self):
        """Whether the folder is a run: event files of its own."""
        return bool(self.event_files)


def _first_event_file_below(folder):
    seen = 0
    for root, subfolders, files in os.walk(folder):
        subfolders.sort()
        for name in sorted(files):
            if is_event_file(name):
                return os.path.join(root, name)
        seen += len(subfolders) + len(files)
        if seen > _MAX_ENTRIES_SEARCHED:
            return None
    return None


def survey_run_dir(folder):
    """Sorts a folder's entries into the run's own event files and everything else.

    Nothing is changed on disk. A folder that does not exist holds nothing.
    Links are never followed into: a link named `train` or like an event
    file is foreign.

    Args:
        folder: the run folder.

    Returns:
        A `FolderSurvey`.
    """
    if not os.path.isdir(folder):
        return FolderSurvey([], [], None)
    try:
        return _survey(folder)
    except OSError as error:
        raise unlistable(error, folder) from None


def _survey(folder):
    event_files, foreign, run_below = [], [], None
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if is_written_event_file(entry):
                event_files.append(entry.path)
            elif entry.name in RUN_SUBFOLDERS and entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as inner:
                    for item in sorted(inner, key=lambda e: e.name):
                        if is_written_event_file(item):
                            event_files.append(item.path)
                        else:
                            foreign.append(f"{entry.name}/{item.name}")
            else:
                foreign.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
                if run_below is None and entry.is_dir(follow_symlinks=False):
                    run_below = _first_event_file_below(entry.path)
    return FolderSurvey(event_files, foreign, run_below)


@dataclasses.dataclass
class RunDirPlan:
    """Where a run will be written, decided before anything is created or deleted.

    Args:
        folder: the run folder to write.
        replace: the event files of an earlier run there, to delete just
            before training (with `--overwrite`); empty otherwise.
        note: a sentence to tell the user, or `None`.
    """

    folder: str
    replace: list
    note: str | None


def plan_run_dir(folder, overwrite=False, explicit=True, replace_empty=False):
    """Decides where a run goes without creating or deleting anything.

    A folder that holds other runs below it is never written into (the runs
    would mix). A folder that holds a run is refused when the user named it,
    and replaced with `overwrite` only when it holds nothing but what
    l2board writes (`train/`, `validation/` and event files); a default name
    gets a fresh suffix instead.

    Args:
        folder: the wanted run folder.
        overwrite: replace a run already there.
        explicit: whether the user named the folder.
        replace_empty: with `overwrite`, also replace a run whose event files
            hold no record but their file version (a run killed in its first
            epoch). Only for a folder this very experiment was given (a
            distributed worker's own run): a live run of another writer
            looks the same during its first epoch.

    Returns:
        A `RunDirPlan`; carry it out with `make_run_dir`.

    Raises:
        L2BoardError: when the folder may not be used, naming what is in it.
        UnwritableLogDirError: when the folder could not be created.
    """
    check_creatable(folder)
    above = _run_above(folder)
    if above:
        raise L2BoardError(f"'{folder}' is inside the run '{above}'; choose a --logdir outside it, so that "
                           "neither run is mixed into the other.")
    survey = survey_run_dir(folder)
    if survey.run_below and not survey.holds_a_run:
        raise L2BoardError(
            f"'{folder}' holds other runs below it ({os.path.relpath(survey.run_below, folder)}); "
            "choose another --logdir, such as a new folder inside it.")
    if not survey.holds_a_run:
        return RunDirPlan(folder, [], None)
    if not explicit:
        n = 2
        while holds_a_run(f"{folder}-{n}"):
            n += 1
        plan = plan_run_dir(f"{folder}-{n}", explicit=True)
        return dataclasses.replace(plan, note=f"{folder} already holds a run; writing to {folder}-{n} instead.")
    if not overwrite:
        raise L2BoardError(f"'{folder}' already holds a run; choose another --logdir or pass --overwrite to replace it.")
    if survey.foreign:
        raise L2BoardError(
            f"--overwrite replaces only a run folder as l2board writes it (train/, validation/ and event files), "
            f"but '{folder}' also holds {listing(survey.foreign, most=3)}; nothing was deleted: choose another "
            "--logdir or move those away first.")
    if not (_written_by_l2board(survey.event_files) or (replace_empty and _hold_no_data(survey.event_files))):
        raise L2BoardError(
            f"--overwrite replaces only runs l2board wrote, but no event file in '{folder}' holds an l2board "
            "record (a run of another writer, or one stopped in its first epoch); nothing was deleted: choose "
            "another --logdir or remove that run yourself.")
    blocked = sorted({os.path.dirname(p) for p in survey.event_files if not os.access(os.path.dirname(p),
                                                                                        os.W_OK | os.X_OK)})
    if blocked:
        raise L2BoardError(f"Cannot replace the run in '{folder}': files in '{blocked[0]}' cannot be deleted "
                           "(permission denied); nothing was deleted.")
    return RunDirPlan(folder, survey.event_files, f"Replaced the run that was in {folder}.")


def make_run_dir(plan):
    """Carries out a `RunDirPlan`: deletes the earlier run's event files, creates the folder.

    Only the files the plan listed are deleted, and then only the emptied
    `train/` and `validation/` folders, never a folder that something else
    was put into since.

    Raises:
        UnwritableLogDirError: when the folder cannot be written.
        L2BoardError: when an old event file cannot be deleted.
    """
    for path in plan.replace:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise L2BoardError(f"Cannot replace the run in '{plan.folder}': deleting {path} failed: "
                               f"{error.strerror or error}.") from None
    for sub in RUN_SUBFOLDERS:
        with contextlib.suppress(OSError):  # not there, or not empty: then it stays
            os.rmdir(os.path.join(plan.folder, sub))
    ensure_writable_dir(plan.folder)
    return plan.folder


def check_creatable(path):
    """Checks, without creating anything, that a folder exists or could be created.

    Finds the deepest part of `path` that exists: it must be a folder that
    can be written (for a new folder) or entered.

    Raises:
        UnwritableLogDirError: "Cannot write TensorBoard logs to '…': Not a
            directory." (or the reason), as `ensure_writable_dir` would.
    """
    if "://" in path:
        return
    existing = os.path.abspath(path)
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    reason = None
    try:
        longest = os.pathconf(existing if os.path.isdir(existing) else "/", "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    to_create = os.path.relpath(os.path.abspath(path), existing).split(os.sep)
    if any(len(os.fsencode(part)) > longest for part in to_create):
        reason = "File name too long"
    elif not os.path.isdir(existing):
        reason = "Not a directory"
    elif existing != os.path.abspath(path) and not os.access(existing, os.W_OK | os.X_OK):
        reason = "Permission denied"
    if reason:
        raise UnwritableLogDirError(f"Cannot write TensorBoard logs to '{path}': {reason}.")
