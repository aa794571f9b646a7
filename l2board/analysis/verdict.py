"""The verdict on a configuration against the baseline, as numbers and decisions.

`judge` decides which measure of overfitting speaks, whether the
difference is resolved (its 95% interval over seeds excludes zero), and in
which direction; `l2board.rendering.wording.verdict_sentences` words the result.
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
        gap, generalization_loss, final_val_metric, val_data_loss: the
            `Change`s (each with its interval) of the measure, of Prechelt's
            GL, of the final validation metric and of the final validation
            data loss (`None` each when not shared).
        replicated: both configurations have several runs.
        direction: `less`, `more` or `same`: how `configuration` overfits
            against `baseline`.
        decided_by: the field that decided `direction` (`measure`, or
            `generalization_loss_percent` where only its interval excludes
            zero), `None` when neither does (replicated runs overfit alike).
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


def _direction(difference, measure):
    if measure == METRIC_GAP and abs(difference) < SAME_GAP_PP:
        return "same"
    return "less" if difference < 0 else "more"


def _decide(verdict):
    """Sets `direction` and `decided_by`.

    Unreplicated, the measure speaks. With seeds, the measure speaks when
    its interval excludes zero and the difference matters (a gap difference
    under `SAME_GAP_PP` is "about as much" however sure); otherwise GL speaks
    when its interval excludes zero; otherwise they overfit alike.
    """
    gap, gl = verdict.gap, verdict.generalization_loss
    by_gap = _direction(gap.difference, verdict.measure)
    if not verdict.replicated or (gap.resolved and by_gap != "same"):
        verdict.direction, verdict.decided_by = by_gap, verdict.measure
    elif gl is not None and gl.resolved:
        verdict.direction = "less" if gl.difference < 0 else "more"
        verdict.decided_by = GENERALIZATION_LOSS
    else:
        verdict.direction, verdict.decided_by = "same", verdict.measure if gap.resolved else None


def judge(baseline, other, changes, metric, loss_is_data_loss=True):
    """Judges `other` against `baseline` (two `ConfigurationReport`s) on overfitting.

    The measure is the final accuracy gap (or, without an accuracy-like
    metric, the final loss gap), seconded by Prechelt's generalization loss
    of the validation loss. With several seeds per configuration, a
    difference is claimed only when its 95% interval excludes zero; with
    one, the verdict is unreplicated.

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
    # Several runs each, but the measure in one run of one of them: judged as unreplicated.
    verdict.replicated = verdict.replicated and verdict.gap.method != "unreplicated"
    gl, val, loss = changes[GENERALIZATION_LOSS], changes[FINAL_VAL_METRIC], changes[FINAL_VAL_DATA_LOSS]
    verdict.generalization_loss = gl if gl.difference is not None else None
    verdict.final_val_metric = val if val.difference is not None else None
    verdict.val_data_loss = loss if loss.difference is not None else None
    _decide(verdict)
    return verdict


def nothing_to_compare(configuration):
    """The verdict when `configuration` is the only one."""
    return Verdict(configuration=configuration.name, baseline=configuration.name, kind=SINGLE)
