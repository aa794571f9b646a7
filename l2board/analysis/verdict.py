"""The verdict on a configuration against the baseline, as numbers and decisions.

`judge` decides which measure of overfitting speaks, whether the
difference is resolved beyond the seed-to-seed spread, and in which
direction; `l2board.rendering.wording.verdict_sentences` words the result.
"""

import dataclasses
import math

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

# Below this many accuracy points, a gap difference is "about as much".
SAME_GAP_PP = 1.0


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
        gap, generalization_loss, final_val_metric: the `Change`s of the
            measure, of Prechelt's GL (`None` when not shared) and of the
            final validation metric (`None` when not shared).
        replicated: both configurations have several runs.
        spread: `{field: sqrt(std_baseline² + std_value²)}` for the three
            changes, when replicated.
        direction: `less`, `more` or `same`: how `configuration` overfits
            against `baseline`.
        decided_by: the field that decided `direction` (`measure`, or
            `generalization_loss_percent` where only it is resolved beyond
            the spread), `None` when neither is (replicated runs overfit alike).
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
    replicated: bool = False
    spread: dict = dataclasses.field(default_factory=dict)
    direction: str | None = None
    decided_by: str | None = None


def _direction(difference, measure):
    if measure == METRIC_GAP and abs(difference) < SAME_GAP_PP:
        return "same"
    return "less" if difference < 0 else "more"


def _spreads(baseline, other, fields):
    return {field: math.hypot(baseline.std.get(field) or 0.0, other.std.get(field) or 0.0) for field in fields}


def _decide(verdict):
    """Sets `direction` and `decided_by`: the measure speaks unless replicated runs leave it unresolved."""
    gap, gl = verdict.gap, verdict.generalization_loss
    if not verdict.replicated or gap.resolved:
        verdict.direction, verdict.decided_by = _direction(gap.difference, verdict.measure), verdict.measure
    elif gl is not None and gl.resolved:
        verdict.direction = "less" if gl.difference < 0 else "more"
        verdict.decided_by = GENERALIZATION_LOSS
    else:
        verdict.direction, verdict.decided_by = "same", None


def judge(baseline, other, changes, metric, loss_is_data_loss=True):
    """Judges `other` against `baseline` (two `ConfigurationReport`s) on overfitting.

    The measure is the final accuracy gap (or, without an accuracy-like
    metric, the final loss gap), seconded by Prechelt's generalization loss
    of the validation loss. With several seeds per configuration, a
    difference is claimed only beyond the seed-to-seed spread; with one,
    the verdict is unreplicated.

    Returns:
        A `Verdict`.
    """
    verdict = Verdict(configuration=other.name, baseline=baseline.name, kind=COMPARED, metric=metric,
                      loss_is_data_loss=loss_is_data_loss,
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
    gl, val = changes[GENERALIZATION_LOSS], changes[FINAL_VAL_METRIC]
    verdict.generalization_loss = gl if gl.difference is not None else None
    verdict.final_val_metric = val if val.difference is not None else None
    if verdict.replicated:
        verdict.spread = _spreads(baseline, other, (verdict.measure, GENERALIZATION_LOSS, FINAL_VAL_METRIC))
    _decide(verdict)
    return verdict


def nothing_to_compare(configuration):
    """The verdict when `configuration` is the only one."""
    return Verdict(configuration=configuration.name, baseline=configuration.name, kind=SINGLE)
