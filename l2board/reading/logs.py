"""Reading runs from disk: discovery, event records and the one builder, without TensorFlow.

A run is a folder as `L2Monitor` or `keras.callbacks.TensorBoard` writes it
(`train/` and `validation/` inside, event files possibly at its top too),
a folder of another writer's layout (docs/log-layouts.md), or a folder
holding event files directly. Damaged files are read as far as they can be
(see `event_files`); a run's files are read in the order they were created
(see `discovery.file_order`), never in the string order of their names;
`run_builder` applies TensorBoard's restart rule and recognises roles.

The names below are re-exported for callers of this module's earlier,
single-file form.
"""

import os

from l2board.errors import L2BoardError
from l2board.reading import roles
from l2board.reading.discovery import (  # noqa: F401 - re-exported
    FOLDERS,
    file_order,
    find_run_folders,
    find_runs,
    name_runs,
    run_folders,
    is_event_file,
    members_of,
    run_sources,
)
from l2board.reading.event_records import read_event_file, read_event_files, text_of  # noqa: F401
from l2board.reading.roles import split_flat_tag  # noqa: F401 - re-exported
from l2board.reading.run_builder import build_run
from l2board.reading.run_model import (  # noqa: F401 - re-exported
    ROOT,
    Restart,
    RunLog,
    RunLogs,
    Series,
    SkippedFile,
    UnlistedFolder,
)


def read_run(folder, name=None, tag_map=None, members=None, contents=None):
    """Reads one run folder.

    Args:
        folder: the run folder.
        name: its name in reports (default: the folder's name).
        tag_map: `{role: (train tag, validation tag)}`, as `--tag` gives it.
        members: its member folders, when known (by `read_runs`).
        contents: the `RecordSource`s of its event files, when already read
            (by `read_runs`, in parallel).

    Returns:
        A `RunLog`. Damaged files are read as far as they can be and listed
        in `damage`; nothing that failed a checksum is returned as data.
        What is not read is listed in `skipped`, points replaced by a
        restart in `restarts`.
    """
    members = members_of(folder) if members is None else members
    sources, skipped = run_sources(folder, members)
    if contents is None:
        contents = [read_event_file(path, sub) for sub, path in sources]
    # The restart rule makes the order matter: a file read too early has
    # its points replaced by an older one's.
    contents = sorted(contents, key=lambda part: file_order(part.path, part.first_wall_time))
    return build_run(name or os.path.basename(os.path.abspath(folder)), folder, contents,
                     members=_present(members, contents),
                     skipped=skipped, tag_map=tag_map)


def _present(members, contents):
    # Keras's train/ and validation/ are listed even when absent, for their
    # notes; a run's folders are those it has.
    return sorted(set(members) | {c.folder for c in contents})


def read_runs(paths, tag_map=None):
    """Finds and reads every run under `paths` (see `find_runs`).

    Large log sets are read by one worker process per core.

    Args:
        paths: as `find_runs` takes them.
        tag_map: `{role: (train tag, validation tag)}`, as `--tag` gives it
            (`{"loss": ("Loss/train", "Loss/val")}`); applies to every run.

    Returns:
        `RunLogs`: a list of `RunLog`, in the order found, and the notes of
        `find_runs`.

    Raises:
        L2BoardError: as `find_runs`; and when a tag of `tag_map` is logged
            by no run, or names several series of one.
    """
    notes = []
    found = run_folders(paths, notes)
    sources = [run_sources(folder, members)[0] for folder, members in found]
    contents = read_event_files([(path, sub) for run_sources_ in sources for sub, path in run_sources_])
    runs, position = [], 0
    for (folder, members), run_sources_ in zip(found, sources):
        runs.append(read_run(folder, folder, tag_map, members, contents[position:position + len(run_sources_)]))
        position += len(run_sources_)
    runs = roles.without_records_of_other_runs(
        runs, lambda run: tuple(os.path.normpath(os.path.abspath(run.path)).split(os.sep)), roles.holds_a_role)
    for run, (name, _, _) in zip(runs, name_runs([(run.path, None) for run in runs])):
        run.name = name
    missing = roles.mapped_tags_missing(runs, tag_map)
    if missing:
        raise L2BoardError(f"No run logs a scalar tag '{missing[0]}' (from --tag); "
                           "give tags as TAG or FOLDER/TAG as they are logged.")
    return RunLogs(runs, notes)
