"""THE one builder: raw records -> a `RunLog`, for the CLI and the L2 tab alike.

Whether the records come from event files (`l2board compare`) or from
TensorBoard's data provider (the L2 tab), the same rules make the run:

* TensorBoard's rule for restarted runs, applied once per tag over the
  records in the order written: a point going back to an earlier step, or
  repeating one, replaces the points from that step on (so of a repeated
  step the later point counts, which TensorBoard's Python loader with
  `--load_fast=false` keeps beside the earlier one), and the run says
  where, how many points and from which file (`Restart`);
* recognition (`roles`): the training and validation loss and metrics of
  every recognised layout, or of the user's `tag_map`, under the keys the
  analysis reads, with what was logged kept in `RunLog.sources`.
"""

import bisect

import numpy as np

from l2board.reading import roles
from l2board.reading.run_model import Restart, RunLog, Series


def build_run(name, path, sources, members=None, skipped=(), tag_map=None):
    """Builds one run from its records.

    Args:
        name: the run's name in reports.
        path: the run folder (or TensorBoard name).
        sources: `RecordSource`s in the order they were written (event
            files in `discovery.file_order`; one per TensorBoard run).
        members: the run's folders ("" for its top), default: the
            sources' folders.
        skipped: `SkippedFile`s and `UnlistedFolder`s of the run.
        tag_map: `{role: (train tag, validation tag)}` (see
            `roles.canonical_keys`).

    Returns:
        A `RunLog`.
    """
    run = RunLog(name=name, path=path, skipped=list(skipped))
    members = sorted(set(s.folder for s in sources) if members is None else set(members))
    top = roles.top_split(members)
    run.flat = top == "flat"
    run.folders = {m: (roles.member_split(m)[0] or roles.ROOT) if m else roles.folder_of(m, top) for m in members}
    merged = _merge(run, sources)
    renamed = roles.canonical_keys(merged, top, tag_map)
    for key in sorted(merged, key=lambda k: k not in renamed):  # recognised series first: their keys win
        target = renamed.get(key) or _kept_key(key, top)
        if target in run.scalars:
            continue
        steps, values = merged[key]
        run.scalars[target] = Series(steps, values)
        if target != key:
            run.sources[target] = key
    for (member, tag), points in _texts(sources).items():
        run.texts[(roles.folder_of(member, top) if member else roles.ROOT, tag)] = sorted(points, key=lambda p: p[0])
    return run


def _kept_key(key, top):
    member, tag = key
    if not member:
        return roles.split_flat_tag(tag) if top == "flat" else key
    return roles.folder_of(member, top), tag


def _texts(sources):
    texts = {}
    for source in sources:
        for tag, points in source.texts.items():
            texts.setdefault((source.folder, tag), []).extend(points)
    return texts


def _merge(run, sources):
    """Applies the restart rule within and across sources: `{(folder, tag): (steps, values)}` as arrays."""
    merged = {}
    for source in sources:
        run.event_files += 1
        if source.damage:
            run.damage.append(source.damage)
        run.other_tags.update(((source.folder, tag), plugin) for tag, plugin in source.other_tags.items())
        within, behind = {}, {}
        for tag, (steps, values) in source.scalars.items():
            steps, values = _written_order_applied(steps, values, within)
            key = (source.folder, tag)
            if key in merged and len(steps):
                old_steps, old_values = merged[key]
                cut = int(np.searchsorted(old_steps, steps[0], side="left"))
                if cut < len(old_steps):
                    behind[int(steps[0])] = behind.get(int(steps[0]), 0) + len(old_steps) - cut
                steps = np.concatenate((old_steps[:cut], steps))
                values = np.concatenate((old_values[:cut], values))
            merged[key] = (steps, values)
        run.restarts += [Restart(source.path, step, n, within_file=True) for step, n in sorted(within.items())]
        run.restarts += [Restart(source.path, step, n) for step, n in sorted(behind.items())]
    return merged


def _written_order_applied(steps, values, replaced):
    """One source's points of one tag under the restart rule, as arrays; counts into `replaced` per step."""
    step_array = np.asarray(steps, dtype=np.int64)
    if len(step_array) < 2 or bool((step_array[1:] > step_array[:-1]).all()):
        return step_array, np.asarray(values, dtype=np.float64)  # the common case: steps only rise
    kept_steps, kept_values = [], []
    for step, value in zip(steps, values):
        if kept_steps and step <= kept_steps[-1]:
            cut = bisect.bisect_left(kept_steps, step)
            replaced[step] = replaced.get(step, 0) + len(kept_steps) - cut
            del kept_steps[cut:], kept_values[cut:]
        kept_steps.append(step)
        kept_values.append(value)
    return np.asarray(kept_steps, dtype=np.int64), np.asarray(kept_values, dtype=np.float64)
