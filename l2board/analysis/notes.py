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

Codes of skip reasons:

- `no_scalars` (`event_files`, `other_kinds`): the run's event files hold no
  scalar value at all (empty, header-only, or only histograms, images...).
- `no_validation` (`tags`): scalars, but no validation loss or metric.
- `unrecognised` (`tags`, as logged): scalars none of which is recognised as
  a loss or metric (docs/log-layouts.md); `--tag` maps them.
- `unreadable_validation` (`files`: `[{"path", "problem"}]`): the files
  that could hold validation values are damaged, unreadable or skipped.
- `no_shared_values` (`metric`): neither a validation loss nor the metric
  the other runs are compared on.
"""

import dataclasses


class Note:
    """A code and its numbers, e.g. `Note("incomplete", last_epoch=7)`.

    Example:

    >>> Note("incomplete", last_epoch=7) == Note("incomplete", last_epoch=7), Note("incomplete", last_epoch=7)
    (True, Note('incomplete', last_epoch=7))
    >>> Note("diverged", epoch=3).to_dict()
    {'code': 'diverged', 'epoch': 3}
    """

    __slots__ = ("code", "values")

    def __init__(self, code, **values):
        self.code = code
        self.values = values

    def __eq__(self, other):
        return isinstance(other, Note) and (self.code, self.values) == (other.code, other.values)

    __hash__ = None  # values may hold lists

    def __repr__(self):
        values = "".join(f", {key}={value!r}" for key, value in self.values.items())
        return f"Note({self.code!r}{values})"

    def __deepcopy__(self, memo):
        # dataclasses.asdict deep-copies what it does not know.
        import copy

        return Note(self.code, **copy.deepcopy(self.values, memo))

    def to_dict(self):
        """Returns `{"code": ..., <value name>: <value>, ...}`, as the JSON holds it."""
        return {"code": self.code, **self.values}


@dataclasses.dataclass
class SkippedRun:
    """A run left out of the comparison, and why (a `Note` with a skip reason's code)."""

    name: str
    path: str
    reason: Note
