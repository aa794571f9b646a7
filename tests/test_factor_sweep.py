"""The λ curve and the recommended factor, on logs written with known values."""

import numpy as np
import pytest
from scipy import stats
from test_analysis import l2monitor_like_run

from l2board.analysis.comparison import compare_runs
from l2board.analysis.factor_sweep import l2_factor_of
from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable
from l2board.reading.logs import read_runs
from l2board.rendering.report import report_dict
from l2board.rendering.wording import sweep_sentences


def setup_with(factor, layers=("dense/kernel",), regularizer="L2"):
    variables = tuple(WeightVariable(path, 100, True, regularizer if factor else None, l2=factor or None)
                      for path in layers)
    return RegularizationSetup(variables=variables + (WeightVariable("out/kernel", 10, True),), optimizer="Adam")


def write_sweep(root, losses, seeds=3, layers=("dense/kernel",)):
    """One run per factor and seed; the validation data loss at the end (no EarlyStopping: 4 epochs) is given."""
    for factor, per_seed in losses.items():
        for seed in range(seeds):
            final = per_seed[seed]
            l2monitor_like_run(root / f"l2_{factor:g}-seed{seed}", setup_with(factor, layers),
                               train_acc=[0.5, 0.6, 0.7, 0.8], val_acc=[0.5, 0.55, 0.6, 1.0 - final / 2],
                               train_data=[1.0, 0.8, 0.6, 0.5], val_data=[1.2, 1.1, 1.0, final])
    return sorted(root.iterdir())


INTERIOR = {0: [0.90, 0.94, 0.92], 1e-4: [0.80, 0.83, 0.81], 1e-3: [0.60, 0.64, 0.62],
            1e-2: [0.62, 0.66, 0.63], 1e-1: [0.95, 0.99, 0.97]}


def test_interior_best_with_one_standard_error_choice(tmp_path):
    comparison = compare_runs(read_runs(write_sweep(tmp_path, INTERIOR)), baseline="l2_0")
    sweep = comparison.sweep
    assert [p.factor for p in sweep.points] == [0, 1e-4, 1e-3, 1e-2, 1e-1]
    assert sweep.layers == ("dense/kernel",) and sweep.replicated
    at_best = np.array(INTERIOR[1e-3])
    best = sweep.points[2].loss
    expected = stats.t.interval(0.95, 2, loc=at_best.mean(), scale=stats.sem(at_best))
    assert (best.mean, best.low, best.high) == (pytest.approx(at_best.mean()), pytest.approx(expected[0]),
                                                pytest.approx(expected[1]))
    # 1e-2's mean (0.6367) is more than one standard error (0.0115) above 1e-3's (0.62).
    assert sweep.recommendation.best_factor == 1e-3
    assert sweep.recommendation.one_se_factor == 1e-3 and sweep.recommendation.edge is None
    assert sweep.next_factors == ()
    sentences = sweep_sentences(comparison)
    assert sentences[0] == ("Lowest mean validation data loss at the EarlyStopping epoch: 0.001 "
                            "(0.620 [0.570, 0.670], 3 seeds).")
    # Every other factor's loss is higher in every seed: each lead is resolved, after the report's adjustment.
    assert sentences[1].startswith("Resolved as higher than at 0.001: 0 (no L2) by +0.300 [+0.300, +0.300], "
                                   "0.0001 by +0.193 [")
    assert [sweep.versus_best(i).outcome for i in (0, 1, 3, 4)] == ["larger"] * 4 and sweep.versus_best(2) is None
    assert sentences[2] == ("No larger factor's mean lies within one standard error (0.012) of the lowest, so the "
                            "one-standard-error rule also gives 0.001.")
    assert len(sentences) == 3
    data = report_dict(comparison)
    assert data["sweep"]["recommendation"]["best_factor"] == 1e-3 and data["recommendation"] == sentences
    # Ten pairs of factors and 4 x 3 verdict claims, adjusted together.
    assert len(sweep.pairs) == 10 and comparison.family_size == 22


def test_one_standard_error_rule_picks_a_larger_factor(tmp_path):
    losses = dict(INTERIOR)
    losses[1e-2] = [0.61, 0.64, 0.63]  # mean 0.6267, within 0.62 + SE 0.0115
    comparison = compare_runs(read_runs(write_sweep(tmp_path, losses)))
    recommendation = comparison.sweep.recommendation
    assert (recommendation.best_factor, recommendation.one_se_factor) == (1e-3, 1e-2)
    sentences = sweep_sentences(comparison)
    assert ("By the one-standard-error rule (the largest factor whose mean lies within one standard error (0.012) "
            "of the lowest; glmnet's lambda.1se): 0.01 (0.627 [") in " ".join(sentences)
    # 0.01's difference from the lowest (+0.007) is not told apart: what would resolve it is said.
    assert any(s.startswith("Not told apart from 0.001: 0.01 by +0.007 [") for s in sentences), sentences


def test_best_at_the_edge_suggests_the_next_grid(tmp_path):
    losses = {0: [0.9, 0.92, 0.91], 1e-3: [0.8, 0.82, 0.81], 1e-2: [0.7, 0.72, 0.71], 1e-1: [0.6, 0.62, 0.61]}
    comparison = compare_runs(read_runs(write_sweep(tmp_path, losses)))
    sweep = comparison.sweep
    assert sweep.recommendation.edge == "largest" and sweep.next_factors == (1.0, 10.0, 100.0)
    assert sweep_sentences(comparison)[-1] == ("The lowest mean is at the largest factor tried: the best may lie "
                                               "above it; try --l2 1 --l2 10 --l2 100.")


def test_best_without_l2_is_the_smallest_edge(tmp_path):
    losses = {0: [0.5, 0.52, 0.51], 1e-3: [0.6, 0.62, 0.61], 1e-2: [0.7, 0.72, 0.71]}
    comparison = compare_runs(read_runs(write_sweep(tmp_path, losses)))
    assert comparison.sweep.recommendation.edge == "smallest"
    assert comparison.sweep.next_factors == (1e-6, 1e-5, 1e-4)
    assert sweep_sentences(comparison)[-1] == ("The lowest mean is without L2: a factor below 0.001, the smallest "
                                               "tried, may still help, or none at all; try --l2 1e-06 --l2 1e-05 "
                                               "--l2 0.0001.")


def test_a_factor_with_a_diverged_run_is_never_recommended(tmp_path):
    losses = {factor: list(values) for factor, values in INTERIOR.items()}
    losses[1e-3][0] = float("nan")  # the best factor's first seed diverges at the end
    comparison = compare_runs(read_runs(write_sweep(tmp_path, losses)))
    sweep = comparison.sweep
    point = next(p for p in sweep.points if p.factor == 1e-3)
    assert point.diverged == 1 and point.loss.n == 2  # shown over the runs that did not diverge
    assert sweep.recommendation.best_factor == 1e-2
    assert sweep_sentences(comparison)[-1] == "Never recommended, as training diverged: 0.001 (1 of 3 runs diverged)."


def test_one_seed_per_factor_gives_no_interval(tmp_path):
    comparison = compare_runs(read_runs(write_sweep(tmp_path, INTERIOR, seeds=1)))
    sweep = comparison.sweep
    assert not sweep.replicated and all(p.loss.low is None for p in sweep.points)
    assert sweep.recommendation.one_se_factor == sweep.recommendation.best_factor == 1e-3
    assert sweep_sentences(comparison)[1].startswith("With one seed per factor there is no interval and no standard "
                                                     "error: this is what these runs showed, not a conclusion")
    change = comparison.changes[comparison.configurations[1].name]["final_val_data_loss"]
    assert change.method == "unreplicated" and change.low is None and change.resolved is None


def test_no_sweep_when_configurations_differ_in_more_than_the_factor(tmp_path):
    write_sweep(tmp_path / "a", {0: [0.9] * 3, 1e-3: [0.8] * 3})
    write_sweep(tmp_path / "b", {1e-2: [0.7] * 3}, layers=("other/kernel",))
    assert compare_runs(read_runs([tmp_path / "a", tmp_path / "b"])).sweep is None
    # Two factors are a comparison, not a curve.
    assert compare_runs(read_runs([tmp_path / "a"])).sweep is None


@pytest.mark.parametrize("setup, expected", [
    (setup_with(0), (0.0, ())),
    (setup_with(0.01, ("a/kernel", "b/kernel")), (0.01, ("a/kernel", "b/kernel"))),
    (setup_with(0.01, regularizer="L1"), None),
    (RegularizationSetup(variables=(WeightVariable("a/kernel", 4, True, "L2", l2=0.1),
                                    WeightVariable("b/kernel", 4, True, "L2", l2=0.2))), None),
    (RegularizationSetup(variables=(WeightVariable("a/kernel", 4, True),), weight_decay=0.004), None),
    (None, None),
])
def test_what_counts_as_plain_l2_with_one_factor(setup, expected):
    assert l2_factor_of(setup.to_dict() if setup is not None else None) == expected


def test_a_one_standard_error_choice_at_the_top_of_the_grid_asks_for_larger_factors(tmp_path):
    # The README's own sweep: the lowest mean inside the grid, the one-SE choice its largest factor.
    losses = {0: [0.90, 0.94, 0.92], 1e-3: [0.80, 0.83, 0.81], 1e-2: [0.60, 0.64, 0.62], 1e-1: [0.61, 0.65, 0.62]}
    comparison = compare_runs(read_runs(write_sweep(tmp_path, losses)))
    sweep = comparison.sweep
    recommendation = sweep.recommendation
    assert (recommendation.best_factor, recommendation.one_se_factor) == (1e-2, 1e-1)
    assert (recommendation.edge, recommendation.one_se_edge) == (None, "largest")
    assert sweep.next_factors == (1.0, 10.0, 100.0)
    assert sweep_sentences(comparison)[-1] == (
        "The one-standard-error choice, 0.1, is the largest factor tried, so the rule's answer is capped by the "
        "grid: a larger factor may be within one standard error too; try --l2 1 --l2 10 --l2 100.")
