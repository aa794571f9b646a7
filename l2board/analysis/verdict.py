"""The verdict on a configuration against the baseline, as numbers and decisions.

`judge` picks the measure of overfitting and the changes a verdict words
(the measure, the final validation metric, the final validation data
loss); `l2board.analysis.claims` adjusts them with the report's other
claims and decides each one's outcome; `decide` then reads the verdict's
direction off its measure. `l2board.rendering.wording.verdict_sentences`
words the result.
"""

import dataclasses

# What a verdict is about.
COMPARED = "compared"  # both configurations measured on `measure`
DIVERGED = "diverged"  # a configuration diverged: no overfitting comparison
NOT_COMPARABLE = "not_comparable"  # no shared accuracy-like metric, no shared loss
SINGLE = "single"  # one configuration: nothing to compare it with

# The measures of overfitting, in order of preference.
METRIC_GAP = "metric_gap_final_pp"
LOSS_GAP = "data_loss_gap_final"
GENERALIZATION_LOSS = "generalization_loss_percent"
FINAL_VAL_METRIC = "final_val_metric"
FINAL_VAL_DATA_LOSS = "final_val_data_loss"

# How the overfitting measure's outcome reads as a direction.
_DIRECTIONS = {"smaller": "less", "larger": "more", "same": "same", "unresolved": "unresolved"}


@dataclasses.dataclass
class Verdict:
    """How `configuration` overfits against `baseline`.

    Args:
        configuration, baseline: configuration names.
        kind: `compared`, `diverged`, `not_comparable` or `single`.
        diverged: the configurations that diverged (for `diverged`).
        measure: the field that measures overfitting (`metric_gap_final_pp`,
            or `data_loss_gap_final` without an accuracy-like metric).
        metric: the accuracy-like metric, or `None`.
        loss_is_data_loss: whether every run of both configurations measured
            its loss without penalties (L2Monitor's data loss, or the user said so).
        gap, generalization_loss, final_val_metric, val_data_loss: the
            `Change`s of the measure, of Prechelt's GL, of the final
            validation metric and of the final validation data loss (`None`
            each when not shared). GL is shown, never claimed.
        replicated: both configurations have several runs with the measure.
        direction: `less`, `more`, `same` or `unresolved`: how
            `configuration` overfits against `baseline`. With seeds, it is
            the outcome of the measure's adjusted claim; with one run per
            configuration, what these runs showed (`same` when the
            difference is under the measure's practical size).
        decided_by: the measure, when `direction` is a resolved difference
            or sameness; `None` otherwise.
        metric_higher_is_better: which way the metric is better (its gap
            is training minus validation when higher is, validation minus
            training when lower is: positive means overfitting either way).
    """

    configuration: str
    baseline: str
    kind: str
    diverged: list = dataclasses.field(default_factory=list)
    measure: str | None = None
    metric: str | None = None
    loss_is_data_loss: bool = True
    gap: object = None
    generalization_loss: object = None
    final_val_metric: object = None
    val_data_loss: object = None
    replicated: bool = False
    direction: str | None = None
    decided_by: str | None = None
    metric_higher_is_better: bool = True

    def claims(self):
        """The `Change`s this verdict may word as claims: its measure, final validation metric and data loss."""
        if self.kind != COMPARED:
            return []
        return [change for change in (self.gap, self.final_val_metric, self.val_data_loss) if change is not None]


def decide(verdict):
    """Sets `direction` and `decided_by` from the measure's (adjusted) outcome, once claims are adjusted."""
    if verdict.kind != COMPARED:
        return
    gap = verdict.gap
    if verdict.replicated:
        verdict.direction = _DIRECTIONS[gap.outcome]
    else:
        size = gap.practical_size
        verdict.direction = ("same" if size is not None and abs(gap.difference) < size
                             else "less" if gap.difference < 0 else "more")
    verdict.decided_by = verdict.measure if verdict.replicated and verdict.direction != "unresolved" else None


def judge(baseline, other, changes, metric, loss_is_data_loss=True, metric_higher_is_better=True):
    """Judges `other` against `baseline` (two `ConfigurationReport`s) on overfitting.

    The measure is the final gap of the metric (or, without a metric, of
    the loss). The direction is decided by `decide`,
    after the report's claims are adjusted together.

    Returns:
        A `Verdict`.
    """
    verdict = Verdict(configuration=other.name, baseline=baseline.name, kind=COMPARED, metric=metric,
                      loss_is_data_loss=loss_is_data_loss, metric_higher_is_better=metric_higher_is_better,
                      replicated=len(baseline.runs) > 1 and len(other.runs) > 1)
    verdict.diverged = [c.name for c in (other, baseline) if c.diverged]
    if verdict.diverged:
        verdict.kind = DIVERGED
        return verdict
    verdict.measure = next((f for f in (METRIC_GAP, LOSS_GAP) if changes[f].difference is not None), None)
    if verdict.measure is None:
        verdict.kind = NOT_COMPARABLE
        return verdict
    verdict.gap = changes[verdict.measure]
    # Several runs each, but the measure in one run of one of them: judged as unreplicated.
    verdict.replicated = verdict.replicated and verdict.gap.method != "unreplicated"
    gl, val, loss = changes[GENERALIZATION_LOSS], changes[FINAL_VAL_METRIC], changes[FINAL_VAL_DATA_LOSS]
    verdict.generalization_loss = gl if gl.difference is not None else None
    verdict.final_val_metric = val if val.difference is not None else None
    verdict.val_data_loss = loss if loss.difference is not None else None
    return verdict


def nothing_to_compare(configuration):
    """The verdict when `configuration` is the only one."""
    return Verdict(configuration=configuration.name, baseline=configuration.name, kind=SINGLE)
