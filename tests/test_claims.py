"""Calibrated claims: what a report may state, its false-direction rate under the null, and its words everywhere.

The null simulation runs the report's own decision code (`compare_reports`,
from analysed runs onward: configurations, changes, Holm's adjustment,
verdicts) on runs whose numbers are drawn with nothing different between
configurations, and counts the reports that state any direction.
"""

import json
import math

import matplotlib
import numpy as np
import pytest
from conftest import record_run
from test_analysis import L2, NO_L2, l2monitor_like_run

from l2board.analysis import claims
from l2board.analysis.comparison import compare_reports, compare_runs
from l2board.analysis.run_analysis import RunReport
from l2board.analysis.statistics import difference_interval, holm
from l2board.reading.logs import read_runs
from l2board.rendering import plotting, report

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("claims")

ALPHA = 0.05
# Reports simulated per number of configurations: the rate's standard error
# is about sqrt(0.05 * 0.95 / 2000) = 0.5 points.
REPORTS = 2000


def simulated_run(config, seed, values):
    run = RunReport(name=f"{config}-seed{seed}", path=f"/sim/{config}-seed{seed}", label=config,
                    configuration=config, logged_by_l2monitor=True, metric="accuracy", epochs=10, last_epoch=9,
                    seed=seed, loss_basis="data_loss")
    for field, value in values.items():
        setattr(run, field, value)
    return run


def simulated_report(rng, others, seeds=3, gap_shift=0.0):
    """A report of a baseline and `others` configurations, `seeds` paired seeds each.

    Each seed shares its initial weights and data order across
    configurations (a common seed effect, as `experiment` pairs them); the
    accuracy gap and GL correlate (0.7), the final accuracy falls as the gap
    grows. The spreads are large against each measure's practical size, so
    that the decision rests on the intervals. Only configuration 1's gap
    differs, by `gap_shift` points.
    """
    seed_effect = rng.normal(size=(seeds, 3))
    runs = []
    for config in range(others + 1):
        for seed in range(seeds):
            z = seed_effect[seed] + rng.normal(size=3)
            shift = gap_shift if config == 1 else 0.0
            runs.append(simulated_run(f"c{config}", seed, {
                "metric_gap_final_pp": 20.0 + 5.0 * z[0] + shift,
                "final_val_metric": 0.7 + 0.03 * (-0.7 * z[0] + 0.71 * z[1]) - shift / 200,
                "final_val_data_loss": 1.0 + 0.1 * z[2],
                "generalization_loss_percent": 50.0 + 20.0 * (0.7 * z[0] + 0.71 * z[2]),
            }))
    return compare_reports(runs)


def directions(comparison):
    """The report's claimed changes whose outcome is a direction (all false under the null)."""
    return [change for verdict in comparison.verdicts for change in verdict.claims()
            if change.outcome in ("larger", "smaller")]


@pytest.mark.parametrize("others", [1, 4])
def test_false_direction_rate_under_the_null_is_at_most_five_percent(others):
    rng = np.random.default_rng(14 + others)
    stated = unadjusted = 0
    for _ in range(REPORTS):
        comparison = simulated_report(rng, others)
        stated += bool(directions(comparison))
        # What the rule before gave: each interval alone, unadjusted.
        unadjusted += any(change.resolved and abs(change.difference) >= change.practical_size
                          for verdict in comparison.verdicts for change in verdict.claims())
    rate, error = stated / REPORTS, math.sqrt(ALPHA * (1 - ALPHA) / REPORTS)
    # At most 5%, within two standard errors of the simulation.
    assert rate <= ALPHA + 2 * error, rate
    # The simulation can tell: intervals taken one by one claim directions far more often.
    assert unadjusted / REPORTS > 2.5 * ALPHA, unadjusted / REPORTS


@pytest.mark.parametrize("seeds, shift, power", [(5, -15.0, 0.6), (10, -10.0, 0.8)])
def test_a_planted_difference_is_still_found(seeds, shift, power):
    # The gap falls by `shift` points (per-run spread 5 points, so paired differences spread 7): the
    # report must say "overfits less" with at least the stated power (measured: 0.73 and 0.91).
    rng = np.random.default_rng(17)
    found = sum(simulated_report(rng, 1, seeds=seeds, gap_shift=shift).verdicts[0].direction == "less"
                for _ in range(300))
    assert found / 300 >= power


def test_holm_agrees_with_statsmodels(monkeypatch):
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    # multipletests runs a full garbage collection on every call: about a second each in a test
    # process holding TensorFlow's objects, and nothing to do with the answer.
    monkeypatch.setattr("gc.collect", lambda *args: 0)
    rng = np.random.default_rng(3)
    for _ in range(200):
        p_values = list(rng.uniform(0, 0.2, size=int(rng.integers(1, 12))))
        adjustment = holm(p_values, ALPHA)
        reject, *_ = multitest.multipletests(p_values, alpha=ALPHA, method="holm")
        assert list(adjustment.rejected) == list(reject)
        # A claim's interval at its level excludes zero exactly when Holm rejects it.
        assert [p < level for p, level in zip(p_values, adjustment.levels)] == list(reject)


def test_whole_epochs_that_agree_in_two_seeds_are_not_certain():
    # Both seeds stop exactly one epoch later: before, "+1.0 epochs [+1.0, +1.0]", resolved, p = 0.
    early = difference_interval([10, 14], [11, 15], [0, 1], [0, 1], resolution=1)
    assert early.floored and early.low < 0 < early.high and early.p_value > 0.05
    # Spread that is really there is kept as it is.
    spread = difference_interval([10, 14, 12], [13, 15, 16], [0, 1, 2], [0, 1, 2], resolution=1)
    assert not spread.floored and spread == difference_interval([10, 14, 12], [13, 15, 16], [0, 1, 2], [0, 1, 2])


def test_a_diverged_seed_leaves_its_pair_out_and_the_rest_paired(tmp_path):
    for config, setup, finals in (("none", NO_L2, [1.00, 1.10, 1.05]), ("l2", L2, [0.80, float("nan"), 0.82])):
        for seed, final in enumerate(finals):
            l2monitor_like_run(tmp_path / f"{config}-seed{seed}", setup, train_acc=[0.5, 0.9], val_acc=[0.5, 0.7],
                               train_data=[1.0, 0.5], val_data=[1.1, final])
    comparison = compare_runs(read_runs(sorted(tmp_path.iterdir())), baseline="none")
    change = comparison.changes["l2"]["final_val_data_loss"]
    # Before, the NaN seed turned this one measure into Welch's while the accuracy stayed paired.
    assert (change.method, change.n_baseline, change.n_value, change.left_out) == ("paired", 2, 2, 2)
    assert comparison.changes["l2"]["final_val_metric"].method == "paired"
    differences = json.loads(report.report_json(comparison))["view"]["differences"]
    rows = {row["field"]: row["text"] for row in differences["sections"][0]["rows"]}
    assert rows["final_val_data_loss"].endswith("2 seeds paired, 2 runs left out (without a partner seed, or not "
                                                "finite)")


def test_a_difference_and_its_interval_come_from_the_same_runs():
    # The baseline ran seeds 0-2, the other 0-1: seed 2 is left out of the pairs. Over all runs the means
    # differ by +7.7 pp of gap; over the pairs, by +3 and +4 pp. Before, the report printed the first with the
    # second's interval, which does not hold it.
    gaps = {"base": [0.20, 0.25, 0.10], "l2": [0.23, 0.29]}
    runs = [record_run(f"{name}-seed{seed}", gap) for name, values in gaps.items() for seed, gap in enumerate(values)]
    comparison = compare_runs(runs, baseline="base")
    change = comparison.changes["l2"]["metric_gap_final_pp"]
    assert (change.method, change.n_value, change.left_out) == ("paired", 2, 1)
    assert change.difference == pytest.approx(3.5)
    assert change.value - change.baseline == pytest.approx(26.0 - 18.333, abs=1e-3)  # the means stay all runs'
    assert change.low <= change.difference <= change.high
    assert change.adjusted_low <= change.difference <= change.adjusted_high
    # The table of means shows the means' difference beside them; the differences' section, the pairs'.
    table = report.render_table(comparison)
    (means_row,) = [line for line in table.splitlines() if line.startswith("accuracy gap, final")]
    assert means_row.rstrip().endswith("(+7.7 pp)")
    assert "+3.5 pp [" in table and "2 seeds paired, 1 run left out" in table


# Runs with every kind of outcome: a resolved difference, a sameness, an unresolved difference.
OUTCOMES = {
    "none": {"gaps": [0.30, 0.34, 0.32], "finals": [1.00, 1.10, 1.05]},
    "strong": {"gaps": [0.10, 0.13, 0.12], "finals": [0.70, 0.81, 0.75]},
    "noisy": {"gaps": [0.20, 0.42, 0.30], "finals": [1.05, 0.95, 1.30]},
    "same": {"gaps": [0.301, 0.341, 0.321], "finals": [1.001, 1.101, 1.051]},
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("outcomes")
    for config, values in OUTCOMES.items():
        for seed, (gap, final) in enumerate(zip(values["gaps"], values["finals"])):
            l2monitor_like_run(root / f"{config}-seed{seed}", NO_L2 if config == "none" else L2,
                               train_acc=[0.8, 1.0], val_acc=[0.7, 1.0 - gap], train_data=[0.6, 0.2],
                               val_data=[0.9, final])
    return compare_runs(read_runs([root]), baseline="none")


def backed(claim):
    """Whether a claim's adjusted interval supports its outcome."""
    low, high, size = claim["low"], claim["high"], claim["practical_size"]
    if claim["outcome"] in ("larger", "smaller"):
        return (low > 0 or high < 0) and abs(claim["difference"]) >= size and (
            (claim["outcome"] == "larger") == (claim["difference"] > 0))
    if claim["outcome"] == "same":
        return -size < low and high < size
    return claim["outcome"] == "unresolved" and low <= 0 <= high or abs(claim["difference"]) < size


def test_every_sentence_that_states_a_difference_is_backed_in_every_format(outcomes):
    data = json.loads(report.render(outcomes, "json"))
    sentences = data["view"]["verdict"]["sentences"]
    found = {claim["outcome"] for sentence in sentences for claim in sentence["claims"]}
    assert found == {"larger", "smaller", "same", "unresolved"}
    for sentence in sentences:
        (claim,) = sentence["claims"]
        assert backed(claim), sentence
        # The words follow the outcome: a difference is never stated of an unresolved claim.
        stated = not sentence["text"].startswith("Whether") and any(
            word in sentence["text"] for word in ("overfits less", "overfits more", " is higher:", " is lower:"))
        assert stated == (claim["outcome"] in ("larger", "smaller")), sentence
        assert ("about the same" in sentence["text"] or "about as much" in sentence["text"]) == (
            claim["outcome"] == "same"), sentence
        assert ("not resolved" in sentence["text"]) == (claim["outcome"] == "unresolved"), sentence
    # The same sentences in every output that words them.
    texts = [sentence["text"] for sentence in sentences]
    assert data["verdict"] == texts
    table, markdown = report.render(outcomes, "table"), report.render(outcomes, "markdown")
    figure = plotting.comparison_figure(outcomes)
    title = figure._suptitle.get_text()
    matplotlib.pyplot.close(figure)
    for text in texts:
        assert text in table.replace("\n         ", " ") and text in markdown
        assert plotting._shown(text) in title.replace("\n", " ")
    assert data["adjustment"] == {"method": "holm", "alpha": ALPHA, "claims": 9, "text": data["view"]["verdict"]
                                  ["adjustment"]}
    assert data["adjustment"]["text"] in table


def test_about_the_same_needs_the_whole_interval_inside_the_band(outcomes):
    same = outcomes.changes["same"]["metric_gap_final_pp"]
    assert same.outcome == "same" and -1.0 < same.adjusted_low and same.adjusted_high < 1.0
    # A wide interval around a small difference is not sameness: it is not resolved, with what would resolve it.
    noisy = outcomes.changes["noisy"]["final_val_data_loss"]
    assert noisy.adjusted_high - noisy.adjusted_low > 2 * noisy.practical_size
    assert noisy.outcome == "unresolved" and noisy.seeds_needed_for in ("difference", "sameness")
    assert claims.outcome_of(-1.9, -32.4, 28.6, 1.0) == "unresolved"
