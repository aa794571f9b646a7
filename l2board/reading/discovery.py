"""Finding runs on disk: which folders hold event files, which make one run, in what order to read them.

Nothing is passed over in silence: what is named like an event file but is
not a regular file (a FIFO, a folder, a device) is skipped without being
opened, and a folder that cannot be listed is left out, each with a note.
Folders are grouped into runs by `roles.group_folders`, the rule the L2
tab applies to TensorBoard's runs.

A URL (`s3://bucket/runs`, `gs://...`) is listed through fsspec (see
`storage`), by the same rules: one recursive listing finds its runs, in the
order a local walk finds them, and a glob matches keys as a local glob
matches files. Local paths are listed with `os` as before.
"""

import errno
import glob
import os
import posixpath
import re
import stat

from l2board.errors import L2BoardError
from l2board.log_format.run_files import is_event_file
from l2board.reading import roles, storage
from l2board.reading.event_files import file_kind
from l2board.reading.run_model import ROOT, SkippedFile, UnlistedFolder

FOLDERS = (roles.TRAIN, roles.VALIDATION)


def listing(folder):
    """Lists a folder's event files without opening any.

    Returns:
        `(paths, skipped, reason)`: the event files to read, in name order;
        a `SkippedFile` for each entry named like an event file that is not
        a regular file; and why the folder could not be listed, or `None`
        (also when it does not exist or is not a folder).
    """
    if storage.is_url(folder):
        return _remote_listing(folder)
    try:
        entries = [e for e in os.scandir(folder) if is_event_file(e.name)]
    except OSError as error:
        # No such folder is no trouble; a link to one that is gone is.
        missing = error.errno == errno.ENOTDIR or (error.errno == errno.ENOENT and not os.path.lexists(folder))
        return [], [], None if missing else (error.strerror or str(error))
    paths, skipped = [], []
    for entry in entries:
        try:
            mode = entry.stat().st_mode  # follows a link: what it points to counts
        except OSError:
            # A broken link, say: read, so that the reason it fails is reported.
            paths.append(entry.path)
            continue
        if stat.S_ISREG(mode):
            paths.append(entry.path)
        else:
            # Opening a FIFO would wait for a writer, and a device may be anything.
            skipped.append(SkippedFile(entry.path, file_kind(mode)))
    return sorted(paths), sorted(skipped, key=lambda s: s.path), None


def _remote_listing(url):
    """`listing` of a URL (see `listing`)."""
    try:
        remote = storage.Remote(url)
        entries = remote.listing(remote.path)
    except FileNotFoundError:
        return [], [], None
    except L2BoardError as error:
        return [], [], str(error).rstrip(".")
    except Exception as error:  # noqa: BLE001 - remote filesystems raise more than OSError
        return [], [], storage.reason(error, url)
    paths, skipped = [], []
    for entry in entries:
        name = entry["name"].rstrip("/")
        if name == remote.path or not is_event_file(posixpath.basename(name)):
            continue  # a key listed as itself: a file, not a folder
        if entry.get("type") == "file":
            paths.append(remote.url(name))
        else:
            kind = entry.get("type")
            skipped.append(SkippedFile(remote.url(name), "folder" if kind == "directory" else f"{kind} entry"))
    return sorted(paths), sorted(skipped, key=lambda s: s.path), None


def _holds_event_files(folder):
    # A FIFO named like an event file makes a run too, so that the note on it
    # is shown; a folder so named does not (today's and TensorBoard's view).
    paths, skipped, _ = listing(folder)
    return bool(paths) or any(s.kind != "folder" for s in skipped)


def _event_folders(top, unlisted, max_depth=None):
    """Returns the folders under `top` (itself included) that hold event files.

    Folders that cannot be listed are appended to `unlisted`. Links to
    folders are followed, each folder once.
    """
    found, seen = [], set()

    def note(error):
        unlisted.append(UnlistedFolder(error.filename, error.strerror or str(error)))

    depth0 = top.rstrip(os.sep).count(os.sep)
    for folder, subfolders, _ in os.walk(top, onerror=note, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # reached again through a link (or a loop of links)
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders.sort()
        if max_depth is not None and folder.rstrip(os.sep).count(os.sep) - depth0 >= max_depth:
            subfolders[:] = []
        if _holds_event_files(folder):
            found.append(os.path.normpath(folder))
    return found


def _runs_under(top, unlisted):
    """Returns `{run folder: [member, ...]}` of the runs under `top` (itself included)."""
    groups = roles.group_folders(_event_folders(top, unlisted))
    # A folder with event files of its own and runs below it is a run too, as
    # the L2 tab lists it; those that turn out to hold no role (an HParams
    # experiment's top, add_hparams' `<time>/` folder) are dropped once read
    # (`logs.read_runs`).
    runs = {os.path.normpath(run): sorted(members) for run, members in groups.items()}
    # A run's own folders that cannot be listed are the run's notes.
    own = {os.path.normpath(os.path.join(r, sub)) for r, members in runs.items() for sub in (*members, *FOLDERS)}
    unlisted[:] = [u for u in unlisted if os.path.normpath(u.path) not in own]
    return runs


def _run_of_file(match):
    """The run folder and members of an event file named on the command line."""
    if storage.is_url(match):
        folder = storage.dirname(match)
        parent = storage.dirname(folder)
        for top in dict.fromkeys((storage.dirname(parent), parent)):
            for run, members in _runs_under_near(top).items():
                if any(storage.normpath(storage.join(run, m)) == folder for m in members if m):
                    return run, members
        return folder, [ROOT]
    folder = os.path.normpath(os.path.dirname(match) or ".")
    parent = os.path.dirname(folder) or "."
    grand = os.path.dirname(parent) or "."
    for top in (grand, parent):
        # Only the folders that could group with this one, not the whole disk.
        runs = _runs_under_near(top)
        for run, members in runs.items():
            if any(os.path.normpath(os.path.join(run, m)) == folder for m in members if m):
                return run, members
    return folder, [ROOT]


def _runs_under_near(top):
    if storage.is_url(top):
        return _remote_runs_under(storage.Remote(top), max_depth=2)
    groups = roles.group_folders(_event_folders(top, [], max_depth=2))
    return {os.path.normpath(run): sorted(members) for run, members in groups.items()}


def _runs_named_by(match, notes):
    """Returns `{run folder: members}` that one path names (see `find_runs`)."""
    if storage.is_url(match):
        return _remote_runs_named_by(match)
    try:
        mode = os.stat(match).st_mode
    except FileNotFoundError:
        raise L2BoardError(f"No such file or folder: '{match}'.") from None
    except OSError as error:
        raise L2BoardError(f"Cannot read '{match}': {error.strerror or error}.") from None
    if stat.S_ISREG(mode):
        if not is_event_file(os.path.basename(match)):
            raise L2BoardError(f"'{match}' is neither a log folder nor a TensorBoard event file.")
        return dict([_run_of_file(match)])
    if not stat.S_ISDIR(mode):
        raise L2BoardError(f"'{match}' is a {file_kind(mode)}, not a log folder or a TensorBoard event file.")
    unlisted = []
    runs = _runs_under(match, unlisted)
    if runs:
        notes.extend(u for u in unlisted if u not in notes)
        return runs
    if not unlisted:
        raise L2BoardError(f"No TensorBoard event files in '{match}'.")
    first = unlisted[0]
    if os.path.normpath(first.path) == os.path.normpath(match):
        raise L2BoardError(f"Could not look inside '{match}': {first.reason}.")
    others = f", nor inside {len(unlisted) - 1} other folder(s)" if len(unlisted) > 1 else ""
    raise L2BoardError(f"No TensorBoard event files in '{match}' (could not look inside '{first.path}': "
                       f"{first.reason}{others}).")


def _remote_runs_under(remote, max_depth=None):
    """Returns `{run URL: [member, ...]}` of the runs under a URL, found as `_runs_under` finds them.

    One recursive listing (a single request on object stores for a whole
    prefix) gives every key; folders holding an event file are grouped
    by `roles.group_folders` as local ones, in the order of a sorted walk.
    """
    root = remote.path
    # A local walk checks folders max_depth below the top: their files are one deeper.
    found = remote.fs.find(root, maxdepth=None if max_depth is None else max_depth + 1, withdirs=False, detail=True)
    folders = set()
    for name, entry in found.items():
        name = name.rstrip("/")
        if entry.get("type", "file") != "directory" and is_event_file(posixpath.basename(name)) and name != root:
            folders.add(posixpath.dirname(name))
    # os.walk's order: top-down, each folder's subfolders by name. Whole
    # paths are grouped, as local ones are: `runs/a/train` named alone is
    # a member of the run `runs/a`.
    ordered = sorted(folders, key=lambda f: tuple(f.split("/")))
    runs = {}
    for run, members in roles.group_folders([_as_path(f) for f in ordered]).items():
        key = _as_key(run)
        if key.endswith("/"):
            raise L2BoardError(f"Cannot read the run in '{remote.url(key)}': the key of its folder ends in an "
                               f"empty name (as in '{remote.url(key)}/{sorted(members)[-1] or '…'}'), which "
                               "l2board cannot tell from the folder above it; copy the run under a key without "
                               "'//'.")
        runs[storage.normpath(remote.url(key))] = sorted(_as_key(m) for m in members)
    return runs


# Object keys are names, not paths: `runs//a` and `runs/./a` are keys of
# their own. `roles.group_folders` works on paths, which it normalizes: the
# components that normalizing would change go through it escaped.
_ESCAPE = "\0"


def _as_path(key):
    return "/".join(_ESCAPE + part if part in ("", ".", "..") or part.startswith(_ESCAPE) else part
                    for part in key.split("/"))


def _as_key(path):
    return "/".join(part[len(_ESCAPE):] if part.startswith(_ESCAPE) else part for part in path.split("/"))


def _remote_runs_named_by(url):
    """`_runs_named_by` for a URL."""
    remote = storage.Remote(url)
    try:
        kind = remote.fs.info(remote.path).get("type")
    except FileNotFoundError:
        raise L2BoardError(remote.missing(url)) from None
    except Exception as error:  # noqa: BLE001 - remote filesystems raise more than OSError
        raise L2BoardError(f"Cannot read '{url}': {storage.reason(error, url)}.") from None
    if kind == "file":
        not_s3 = remote.not_s3()  # a web server answers 200 to any name, as if each were a file
        if not_s3:
            raise L2BoardError(f"Cannot read '{url}': {not_s3}.")
        if not is_event_file(storage.basename(url)):
            raise L2BoardError(f"'{url}' is neither a log folder nor a TensorBoard event file.")
    try:
        if kind == "file":
            return dict([_run_of_file(storage.normpath(url))])
        runs = _remote_runs_under(remote)
    except L2BoardError:
        raise
    except FileNotFoundError:
        raise L2BoardError(remote.missing(url)) from None
    except Exception as error:  # noqa: BLE001
        raise L2BoardError(f"Could not look inside '{url}': {storage.reason(error, url)}.") from None
    if not runs:
        raise L2BoardError(f"No TensorBoard event files in '{url}'.")
    return runs


def _remote_matches(pattern):
    """The URLs a glob pattern matches, sorted; the pattern itself when it names something."""
    remote = storage.Remote(pattern)
    try:
        if remote.fs.exists(remote.path):
            return [pattern]
        matches = remote.fs.glob(remote.path)
    except FileNotFoundError:
        matches = []
    except Exception as error:  # noqa: BLE001 - remote filesystems raise more than OSError
        raise L2BoardError(f"Cannot read '{pattern}': {storage.reason(error, pattern)}.") from None
    if not matches:
        missing = remote.missing(pattern)  # a missing bucket, or no S3 server, is said as such
        raise L2BoardError(f"No file or folder matches '{pattern}'." if missing.startswith("No such file") else
                           missing)
    return sorted(remote.url(m.rstrip("/")) for m in matches)


def find_run_folders(paths, notes=None):
    """Like `find_runs`, with each run's member folders: `[(name, folder, members)]`."""
    return name_runs(run_folders(paths, notes))


def run_folders(paths, notes=None):
    """The runs `paths` name, each once, unnamed: `[(folder, members)]` (see `find_runs`)."""
    found = {}
    notes = [] if notes is None else notes
    invalidated = set()
    for path in paths:
        path = storage.local_form(os.fspath(path))
        matches = [path]
        if storage.is_url(path):
            remote = storage.Remote(path)
            if remote.fs not in invalidated:
                # fsspec keeps listings for the life of the process: a run
                # still being written is listed afresh on each call.
                remote.fs.invalidate_cache()
                invalidated.add(remote.fs)
            if glob.has_magic(path):
                matches = _remote_matches(path)
        elif not os.path.exists(path) and glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise L2BoardError(f"No file or folder matches '{path}'.")
        for match in matches:
            for run, members in _runs_named_by(match, notes).items():
                # Each run once, however it was named (a second path, a link): the
                # same run twice would be averaged with itself as two seeds.
                key = storage.normpath(run) if storage.is_url(run) else os.path.realpath(run)
                found.setdefault(key, (storage.normpath(run) if storage.is_url(run) else os.path.normpath(run),
                                       members))
    return list(found.values())


def name_runs(unique):
    """Names `[(folder, members)]` by their paths relative to the deepest folder holding them all:
    `[(name, folder, members)]`; one run alone is named by its folder's name."""
    if len(unique) == 1:
        (run, members), = unique
        return [(_base_name(run), run, members)]
    if not unique:
        return []
    if any(storage.is_url(r) for r, _ in unique):
        return _name_remote_runs(unique)
    parent = os.path.commonpath([os.path.dirname(os.path.abspath(r)) for r, _ in unique])
    return [(os.path.relpath(os.path.abspath(r), parent), r, members) for r, members in unique]


def _base_name(run):
    return storage.basename(run) if storage.is_url(run) else os.path.basename(os.path.abspath(run))


def _name_remote_runs(unique):
    """`name_runs` when some runs are URLs: relative to the deepest common folder of one
    filesystem; runs of several filesystems (or local and remote) keep their whole URL or path."""
    heads = {r.split("://", 1)[0] + "://" if storage.is_url(r) else None for r, _ in unique}
    if len(heads) > 1 or None in heads:
        return [(r, r, members) for r, members in unique]
    head = heads.pop()
    paths = [storage.normpath(r)[len(head):] for r, _ in unique]
    parent = posixpath.commonpath([posixpath.dirname(p) for p in paths])
    return [(posixpath.relpath(p, parent) if parent else p, r, members) for p, (r, members) in zip(paths, unique)]


def find_runs(paths, notes=None):
    """Expands paths, globs and parent folders into run folders.

    Args:
        paths: run folders, folders holding runs, event files, or glob
            patterns (for shells that did not expand them).
        notes: a list that receives an `UnlistedFolder` for each folder
            below the paths that could not be searched for runs.

    Returns:
        A list of `(name, folder)` in the order given, each run once. Names
        are paths relative to the deepest folder holding all runs.

    Raises:
        L2BoardError: for a path that does not exist, holds no event file,
            cannot be listed, or is neither a folder nor a regular file.
    """
    return [(name, folder) for name, folder, _ in find_run_folders(paths, notes)]


def members_of(folder):
    """The member folders of one run folder named directly ("" for its own files)."""
    normal = storage.normpath(folder) if storage.is_url(folder) else os.path.normpath(folder)
    try:
        runs = _runs_under_near(normal)
    except Exception:  # noqa: BLE001 - a URL that cannot be listed: its files' notes say why
        if not storage.is_url(folder):
            raise
        runs = {}
    return runs.get(normal, [ROOT])


def run_sources(folder, members):
    """Returns `([(member, event file)], skipped)` of a run: what to read, and what is not read."""
    sources, skipped = [], []
    for sub in dict.fromkeys((ROOT, *members, *FOLDERS)):
        path = (storage.join(folder, sub) if storage.is_url(folder) else os.path.join(folder, sub)) if sub else folder
        files, not_files, reason = listing(path)
        sources += [(sub, f) for f in files]
        skipped += not_files
        if reason is not None:
            skipped.append(UnlistedFolder(path, reason))
    return sources, skipped


_NUMBERS = re.compile(r"(\d+)")


def _natural(text):
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUMBERS.split(text) if part)


def file_order(path, first_wall_time):
    """Returns the sort key that puts a run's event files in the order they were created.

    TensorFlow names them `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`,
    `n` counting the writers of a process. String order is wrong: a run
    resumed epoch by epoch in one process writes `....5.v2` to `....11.v2`
    in the same second, and `11` sorts before `5`. The seconds come first:
    they order files of different seconds, even when a file's first records
    are lost. Within one second, the wall time of a file's first event
    decides: it is the creation time to the microsecond, agrees with `n`
    for files of one process, and is the only sign of order between
    processes (pids say nothing of it). Last, the name's fields compared as
    numbers, for files without an event.

    Example:

    >>> names = ["events.out.tfevents.17.vm.3.11.v2", "events.out.tfevents.17.vm.3.5.v2"]
    >>> sorted(names, key=lambda n: file_order(n, None))
    ['events.out.tfevents.17.vm.3.5.v2', 'events.out.tfevents.17.vm.3.11.v2']
    """
    name = os.path.basename(path)
    seconds = name.split("tfevents.", 1)[-1].split(".", 1)[0]
    return _natural(seconds), first_wall_time is not None, first_wall_time or 0.0, _natural(name)
