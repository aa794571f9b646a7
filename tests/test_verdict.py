"""The verdict (`analysis/verdict.py`): which measure judges overfitting, when there is nothing to
compare, and how the measure's outcome becomes a direction, for one run per configuration and for seeds.

Runs are built by the one run builder from records, as event files hand them over, and analysed by
`compare_runs`, the path `l2board compare` and the L2 tab take."""

import pytest
from conftest import record_run as run

from l2board.analysis import verdict as verdicts
from l2board.analysis.comparison import compare_runs

def test_the_metric_gap_judges_when_the_runs_share_a_metric():
    (verdict,) = compare_runs([run("base", 0.30), run("l2", 0.10)]).verdicts
    assert (verdict.kind, verdict.measure, verdict.metric) == (verdicts.COMPARED, verdicts.METRIC_GAP, "accuracy")
    assert verdict.gap.difference == pytest.approx(-20.0)  # percentage points
    assert not verdict.replicated and verdict.direction == "less" and verdict.decided_by is None


def test_the_loss_gap_judges_without_a_metric():
    (verdict,) = compare_runs([run("base", 0, val_loss=0.9, accuracy=False),
                               run("l2", 0, val_loss=0.5, accuracy=False)]).verdicts
    assert (verdict.measure, verdict.metric) == (verdicts.LOSS_GAP, None)
    assert verdict.direction == "less"  # the validation loss is nearer the training loss


def test_a_difference_under_the_practical_size_is_the_same_for_one_run_each():
    (verdict,) = compare_runs([run("base", 0.200), run("l2", 0.199)]).verdicts
    assert abs(verdict.gap.difference) < verdict.gap.practical_size
    assert verdict.direction == "same"


def test_with_seeds_the_direction_is_the_adjusted_claims_outcome():
    gaps = {"base": (0.30, 0.31, 0.29), "l2": (0.10, 0.12, 0.11)}
    runs = [run(f"{name}-seed{seed}", gap) for name, values in gaps.items() for seed, gap in enumerate(values)]
    (verdict,) = compare_runs(runs).verdicts
    assert verdict.replicated and verdict.gap.method == "paired" and verdict.gap.claimed
    assert verdict.gap.outcome == "smaller" and verdict.direction == "less"
    assert verdict.decided_by == verdicts.METRIC_GAP
    # Seeds that disagree leave it open, and nothing decides it.
    gaps = {"base": (0.30, 0.05, 0.20), "l2": (0.10, 0.35, 0.12)}
    runs = [run(f"{name}-seed{seed}", gap) for name, values in gaps.items() for seed, gap in enumerate(values)]
    (verdict,) = compare_runs(runs).verdicts
    assert (verdict.direction, verdict.decided_by) == ("unresolved", None)


def test_a_diverged_configuration_is_not_judged_on_overfitting():
    (verdict,) = compare_runs([run("base", 0.3), run("l2", 0.1, diverge=True)]).verdicts
    assert verdict.kind == verdicts.DIVERGED and verdict.diverged == ["l2"] and verdict.claims() == []


def test_one_configuration_has_nothing_to_compare_with():
    comparison = compare_runs([run("alone-seed0", 0.3), run("alone-seed1", 0.2)])
    (single,) = comparison.verdicts
    assert (single.kind, single.configuration, single.claims(), single.direction) == (verdicts.SINGLE, "alone", [], None)
