"""THE one builder: raw records -> a `RunLog`, for the CLI and the L2 tab alike.

Whether the records come from event files (`l2board compare`) or from
TensorBoard's data provider (the L2 tab), the same rules make the run:

* TensorBoard's rule for restarted runs, applied once per tag over the
  records in the order written: a point going back to an earlier step, or
  repeating one, replaces the points from that step on (so of a repeated
  step the later point counts, which TensorBoard's Python loader with
  `--load_fast=false` keeps beside the earlier one), and the run says
  where, how many points and from which file (`Restart`);
* a flat run that logs the writer's own epoch series beside values at the
  global step (PyTorch Lightning's `epoch`, transformers' `train/epoch`)
  has its series re-indexed by it, so that steps are epochs, and says
  which of its roles' series stay at global steps (`steps_not_epochs`);
* recognition (`roles`): the training and validation loss and metrics of
  every recognised layout, or of the user's `tag_map`, under the keys the
  analysis reads, with what was logged kept in `RunLog.sources`.
"""

import bisect

import numpy as np

from l2board.reading import roles
from l2board.reading.run_model import Note, Restart, RunLog, Series


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
    kept_at_steps = []
    if run.flat:
        run.steps_from, kept_at_steps = _steps_as_epochs(merged)
    try:
        renamed = roles.canonical_keys(merged, top, tag_map, run=name)
    except roles.AmbiguousRole as refusal:
        # One run that l2board will not guess about is listed and skipped,
        # with why: it must not take the other runs (or the L2 tab) down.
        run.refused = refusal.refusal()
        renamed = {}
    _steps_note(run, run.steps_from, kept_at_steps, renamed)
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


# The writers' own epoch series, logged beside values at the global step, and what to add to its values to get
# the epoch (0 for the first) each value stands for: PyTorch Lightning logs the epoch's index, Hugging Face's
# Trainer the epochs completed (1.0 at the end of the first).
EPOCH_SERIES = (((roles.ROOT, "epoch"), 0), ((roles.ROOT, "train/epoch"), -1))


def _steps_as_epochs(merged):
    """Re-indexes a flat run's series by the writer's epoch series, in place.

    PyTorch Lightning logs at the global step (`(epoch + 1) * batches - 1`
    for epoch-level values) and logs an `epoch` scalar at those steps;
    transformers' Trainer logs `train/epoch` beside every value. A series
    is re-indexed only when every one of its steps has a whole epoch and
    the epochs rise, so per-batch series (`train_loss_step`, a loss logged
    every 500 steps) keep their global steps.

    Returns:
        `(key, kept)`: the epoch series used (`None`: steps are as logged)
        and the series that keep their global steps although it exists.
    """
    for key, offset in EPOCH_SERIES:
        if key in merged and len(merged[key][0]):
            break
    else:
        return None, []
    steps, values = merged[key]
    epochs = values + offset
    if np.isfinite(epochs).all() and (epochs == steps).all():
        return None, []  # already an epoch axis: nothing to do, nothing to say
    kept = []
    for series, (series_steps, series_values) in list(merged.items()):
        at = np.minimum(np.searchsorted(steps, series_steps), len(steps) - 1)
        new_steps = epochs[at]
        if (not len(series_steps) or (steps[at] != series_steps).any() or not np.isfinite(new_steps).all()
                or (new_steps != np.round(new_steps)).any() or (new_steps < 0).any()
                or (len(new_steps) > 1 and not (new_steps[1:] > new_steps[:-1]).all())):
            kept.append(series)  # a step without a whole epoch, or several values an epoch: not on the epoch axis
            continue
        merged[series] = (new_steps.astype(np.int64), series_values)
    return key, kept


def _steps_note(run, steps_from, kept, renamed):
    """A `steps_not_epochs` note when a role's series stays at global steps beside the writer's epoch series."""
    at_steps = sorted(roles.logged_name(*key) for key in kept if key in renamed)
    if steps_from is not None and at_steps:
        run.read_notes.append(Note("steps_not_epochs", series=at_steps,
                                       epoch_series=roles.logged_name(*steps_from)))


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
                if cut < len(old_steps) and not _same_point(old_steps[cut:], old_values[cut:], steps[0], values[0]):
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
        if kept_steps and step == kept_steps[-1] and _same_value(value, kept_values[-1]):
            continue  # the same point written again (Lightning's `epoch`): it replaces nothing
        if kept_steps and step <= kept_steps[-1]:
            cut = bisect.bisect_left(kept_steps, step)
            replaced[step] = replaced.get(step, 0) + len(kept_steps) - cut
            del kept_steps[cut:], kept_values[cut:]
        kept_steps.append(step)
        kept_values.append(value)
    return np.asarray(kept_steps, dtype=np.int64), np.asarray(kept_values, dtype=np.float64)


def _same_value(a, b):
    return a == b or (a != a and b != b)  # NaN rewritten as NaN is the same point too


def _same_point(old_steps, old_values, step, value):
    """Whether the points a source goes back over are one point equal to its first: a rewrite, not a restart."""
    return len(old_steps) == 1 and old_steps[0] == step and _same_value(value, old_values[0])
