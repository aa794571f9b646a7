"""What the analysis says besides its numbers, as codes with numbers.

A `Note` is what a run's logs cannot give or what qualifies its numbers; a
`SkippedRun` is a run that could not be analysed, with its reason as a
`Note`. Neither holds a sentence: `l2board.rendering.wording` words them, so
that two runs stopped at different epochs stay two notes, and the table,
Markdown, JSON, plot and the TensorBoard tab word them alike.

Codes of run notes:

- `no_metric`: no run logs an accuracy-like metric (gaps are measured on
  losses only).
- `metric_not_logged` (`metric`): the run logs no validation `metric`, which
  the other runs are compared on: it is compared on its loss.
- `no_training_metric` (`metric`): validation `metric` only: no metric gap.
- `steps_differ` (`train_last_step`, `validation_last_step`): training and
  validation values are on other step axes (per batch and per epoch, say):
  not paired, so no training-side number or gap; epochs are counted from
  the validation values.
- `loss_may_include_penalty`: the run's regularization is unknown (no
  L2Monitor data loss); loss measures use the loss as logged, which may
  include penalties.
- `loss_includes_penalty`: as above, and the user said the logged loss
  includes the penalties.
- `no_validation_loss`: no validation loss: no onset, GL or loss gap.
- `no_training_loss`: no training loss: no loss gap.
- `incomplete` (`last_epoch`): L2Monitor's end-of-training record is
  missing: the log stops after `last_epoch`.
- `diverged` (`epoch`): a loss is not finite from `epoch` on; no overfitting
  measure is computed but the EarlyStopping replay (Keras counts a NaN as
  no improvement).
- `no_weight_norms`: weight norms and penalties are logged by L2Monitor only.
- `setup_unreadable` (`problem`): the run's `l2board/setup_json` is there but
  cannot be read (damaged, or a factor that is negative, infinite or NaN):
  its regularization is unknown.
- `steps_not_epochs` (`series`, `epoch_series`): from the reader (see
  `l2board.reading.run_model.Note`).

Codes of skip reasons:

- `no_scalars` (`event_files`, `other_kinds`): the run's event files hold no
  scalar value at all (empty, header-only, or only histograms, images...).
- `no_validation` (`tags`): scalars, but no validation loss or metric.
- `unrecognised` (`tags`, as logged): scalars none of which is recognised as
  a loss or metric (docs/log-layouts.md); `--tag` maps them.
- `unreadable_validation` (`files`: file notes, below, with `path`
  relative to the run): the files that could hold validation values are
  damaged, unreadable or skipped.
- `no_shared_values` (`metric`): neither a validation loss nor the metric
  the other runs are compared on.

Codes of file notes (what the read side found in the files, `record_note`):

- `damaged_file` (`path`, `bad_records`, `resyncs`, `skipped_bytes`,
  `truncated`, `unframed_tail`): records skipped for a failed checksum,
  broken framing passed over, a cut-off last record.
- `unreadable_file` (`path`, `reason`): the file could not be opened; its run
  is reported without it.
- `not_a_file` (`path`, `kind`): named like an event file, but a folder,
  FIFO, socket...: left unopened.
- `unlisted_folder` (`path`, `reason`): a folder that could not be listed.
- `restart` (`path`, `step`, `replaced`, `within_file`): a source went back
  to an earlier step; its values replace `replaced` points from `step` on,
  as TensorBoard shows a restarted run.
"""

import dataclasses
import os

from l2board.reading.event_files import FileDamage
from l2board.reading.run_model import Note, Restart, SkippedFile, UnlistedFolder  # noqa: F401 (Note: the analysis's too)


@dataclasses.dataclass
class SkippedRun:
    """A run left out of the comparison, and why (a `Note` with a skip reason's code)."""

    name: str
    path: str
    reason: Note


def record_note(record, relative_to=None):
    """Returns the file note (a `Note`) of what the read side found: damage, a skipped file, a restart...

    Args:
        record: a `FileDamage`, `SkippedFile`, `UnlistedFolder` or `Restart`.
        relative_to: a run folder to give the path relative to, or `None`.

    Example:

    >>> record_note(Restart("/r/events.2", 3, 4))
    Note('restart', path='/r/events.2', step=3, replaced=4, within_file=False)
    """
    path = record.path if relative_to is None else os.path.relpath(record.path, relative_to)
    if isinstance(record, FileDamage):
        if record.unreadable:
            return Note("unreadable_file", path=path, reason=record.unreadable)
        return Note("damaged_file", path=path, bad_records=record.bad_records, resyncs=record.resyncs,
                    skipped_bytes=record.skipped_bytes, truncated=record.truncated,
                    unframed_tail=record.unframed_tail)
    if isinstance(record, SkippedFile):
        return Note("not_a_file", path=path, kind=record.kind)
    if isinstance(record, UnlistedFolder):
        return Note("unlisted_folder", path=path, reason=record.reason)
    if isinstance(record, Restart):
        return Note("restart", path=path, step=record.step, replaced=record.replaced, within_file=record.within_file)
    raise TypeError(f"No file note for {type(record).__name__}.")
