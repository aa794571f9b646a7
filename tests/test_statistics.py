"""Statistics over seeds, against SciPy, statsmodels and closed forms on known values."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from l2board.analysis.statistics import (
    Difference,
    difference_interval,
    mean_interval,
    next_grid,
    recommend_factor,
    seeds_needed,
)

BASELINE = [1.0, 2.0, 3.0, 4.0]
OTHER = [1.5, 2.4, 3.6, 4.5]  # differences 0.5, 0.4, 0.6, 0.5


def test_paired_interval_is_scipys_and_the_closed_form():
    d = difference_interval(BASELINE, OTHER, [1, 2, 3, 4], [1, 2, 3, 4])
    assert (d.method, d.n_baseline, d.n_other) == ("paired", 4, 4)
    assert d.difference == pytest.approx(0.5)
    # By hand: mean 0.5, SD sqrt(0.02 / 3), t(0.975, 3) = 3.182446.
    half = 3.182446305284263 * math.sqrt(0.02 / 3) / 2
    assert (d.low, d.high) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-12)
    assert (d.low, d.high) == pytest.approx((0.370077, 0.629923), abs=1e-6)
    result = stats.ttest_rel(OTHER, BASELINE)
    interval = result.confidence_interval(0.95)
    assert (d.low, d.high, d.p_value) == pytest.approx((interval.low, interval.high, result.pvalue))
    assert d.excludes_zero


def test_confidence_level_widens_the_interval():
    d90, d99 = (difference_interval(BASELINE, OTHER, [1, 2, 3, 4], [1, 2, 3, 4], confidence=c)
                for c in (0.90, 0.99))
    se = math.sqrt(0.02 / 3) / 2
    assert d90.high - 0.5 == pytest.approx(stats.t.ppf(0.95, 3) * se)
    assert d99.high - 0.5 == pytest.approx(stats.t.ppf(0.995, 3) * se)


def test_values_are_paired_by_seed_not_by_position():
    shuffled = difference_interval(BASELINE, [4.5, 1.5, 3.6, 2.4], [10, 20, 30, 40], [40, 10, 30, 20])
    in_order = difference_interval(BASELINE, OTHER, [10, 20, 30, 40], [10, 20, 30, 40])
    assert shuffled == in_order
    assert shuffled.method == "paired"


def test_welch_interval_is_scipys_and_the_closed_form():
    baseline, other = np.array([0.80, 0.82, 0.81, 0.79]), np.array([0.85, 0.86, 0.88])
    d = difference_interval(baseline, other)
    assert (d.method, d.n_baseline, d.n_other) == ("welch", 4, 3)
    v1, v2 = baseline.var(ddof=1) / 4, other.var(ddof=1) / 3
    df = (v1 + v2) ** 2 / (v1 ** 2 / 3 + v2 ** 2 / 2)  # Welch-Satterthwaite
    half = stats.t.ppf(0.975, df) * math.sqrt(v1 + v2)
    diff = other.mean() - baseline.mean()
    assert d.difference == pytest.approx(diff)
    assert (d.low, d.high) == pytest.approx((diff - half, diff + half), abs=1e-12)
    result = stats.ttest_ind(other, baseline, equal_var=False)
    interval = result.confidence_interval(0.95)
    assert (d.low, d.high, d.p_value) == pytest.approx((interval.low, interval.high, result.pvalue))
    assert d.excludes_zero


@pytest.mark.parametrize("other_seeds", [None, [1, 1, 2, 3], [5, 6, 7, 1]])
def test_seeds_that_cannot_pair_are_compared_as_independent_samples(other_seeds):
    other = OTHER[:len(other_seeds)] if other_seeds else OTHER
    d = difference_interval(BASELINE, other, [1, 2, 3, 4], other_seeds)
    assert d.method == "welch"
    interval = stats.ttest_ind(other, BASELINE, equal_var=False).confidence_interval(0.95)
    assert (d.low, d.high) == pytest.approx((interval.low, interval.high))
    assert not d.excludes_zero


@pytest.mark.parametrize("other_seeds, common", [([1, 2, 5, 4], [1, 2, 4]), ([1, 2, 3], [1, 2, 3])])
def test_seeds_both_ran_stay_paired_and_the_others_are_left_out(other_seeds, common):
    other = OTHER[:len(other_seeds)]
    d = difference_interval(BASELINE, other, [1, 2, 3, 4], other_seeds)
    base = [BASELINE[[1, 2, 3, 4].index(seed)] for seed in common]
    paired = [other[other_seeds.index(seed)] for seed in common]
    interval = stats.ttest_rel(paired, base).confidence_interval(0.95)
    assert (d.method, d.n_baseline, d.n_other) == ("paired", len(common), len(common))
    assert (d.low, d.high) == pytest.approx((interval.low, interval.high))


@pytest.mark.parametrize("baseline, other", [([1.0], [2.0, 3.0]), ([1.0, 2.0], [3.0]), ([1.0], [2.5])])
def test_one_value_is_unreplicated_without_interval(baseline, other):
    d = difference_interval(baseline, other, list(range(len(baseline))), list(range(len(other))))
    assert d == Difference(float(np.mean(other) - np.mean(baseline)), None, None, len(baseline), len(other),
                           "unreplicated", None)
    assert not d.excludes_zero


def test_nan_values_are_dropped_with_their_pairs():
    paired = difference_interval(BASELINE + [5.0], OTHER + [math.nan], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert paired == difference_interval(BASELINE, OTHER, [1, 2, 3, 4], [1, 2, 3, 4])
    welch = difference_interval([math.nan] + BASELINE, OTHER + [math.nan])
    assert welch == difference_interval(BASELINE, OTHER)
    assert difference_interval([1.0, math.nan], [2.0, 3.0]).method == "unreplicated"
    # One pair left after dropping: two values a side remain, unpaired.
    left = difference_interval([1.0, 2.0, math.nan], [math.nan, 2.5, 3.5], [1, 2, 3], [1, 2, 3])
    assert (left.method, left.n_baseline, left.n_other) == ("welch", 2, 2)


def test_zero_spread_gives_an_exact_difference():
    # A deterministic setup: every seed gives the same numbers.
    paired = difference_interval([1.0, 2.0, 3.0], [1.5, 2.5, 3.5], [1, 2, 3], [1, 2, 3])
    assert (paired.method, paired.low, paired.high, paired.p_value) == ("paired", 0.5, 0.5, 0.0)
    assert paired.excludes_zero
    welch = difference_interval([0.7, 0.7], [0.9, 0.9, 0.9])
    assert (welch.method, welch.low, welch.high, welch.p_value) == ("welch", welch.difference,
                                                                   welch.difference, 0.0)
    same = difference_interval([0.7, 0.7], [0.7, 0.7], [1, 2], [2, 1])
    assert (same.difference, same.low, same.high, same.p_value, same.excludes_zero) == (0.0, 0.0, 0.0,
                                                                                         1.0, False)
    # One side constant is still Welch's ordinary case, and exact: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_sided = difference_interval([0.7, 0.7], [0.8, 0.9])
    assert one_sided.low < one_sided.difference < one_sided.high


@pytest.mark.parametrize("call, message", [
    (lambda: difference_interval([], [1.0]), "baseline has no values"),
    (lambda: difference_interval([math.nan], [1.0]), "at least one value"),
    (lambda: difference_interval([1.0, 2.0], [1.0], [1], [1]), "baseline has 2 values but 1 seeds"),
    (lambda: difference_interval([1.0], [1.0], confidence=95), "confidence must be between 0 and 1"),
])
def test_bad_difference_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("effect, alpha", [(14.7, 0.05 / 39), (10.0, 1e-3), (40.0, 1e-4), (3.0, 1e-5)])
def test_seeds_needed_at_a_reports_small_adjusted_levels_is_the_smallest_n_with_the_power(effect, alpha):
    # SciPy's nctdtr is NaN far in a tail (statsmodels' power too, here): the power of 2 seeds at a level of
    # 0.0013 was taken as 1, and a report said "about 2 seeds per configuration would resolve" a difference that
    # 2 seeds left wide open. The reference: both tails by scipy.stats.nct's survival function.
    from scipy import stats

    def power(n):
        critical = stats.t.ppf(1 - alpha / 2, n - 1)
        return stats.nct.sf(critical, n - 1, effect * math.sqrt(n)) + stats.nct.sf(critical, n - 1, -effect * math.sqrt(n))

    paired = seeds_needed(effect, 1.0, "paired", alpha=alpha)
    assert power(paired) >= 0.8 > power(paired - 1) and paired > 2


@pytest.mark.parametrize("effect", [0.3, 0.5, 0.8, 1.0, 1.5])
@pytest.mark.parametrize("power", [0.8, 0.9])
def test_seeds_needed_agrees_with_statsmodels(effect, power):
    smp = pytest.importorskip("statsmodels.stats.power")
    # Effect sizes from a difference and spread: seeds_needed takes both.
    paired = seeds_needed(effect * 0.02, 0.02, "paired", power=power)
    welch = seeds_needed(effect * 0.02, 0.02, "welch", power=power)
    assert paired == math.ceil(smp.TTestPower().solve_power(effect, power=power, alpha=0.05))
    assert welch == math.ceil(smp.TTestIndPower().solve_power(effect, power=power, alpha=0.05))
    # And n is the smallest with enough power, by statsmodels' own power.
    assert smp.TTestPower().power(effect, paired, 0.05) >= power > smp.TTestPower().power(effect, paired - 1, 0.05)
    assert smp.TTestIndPower().power(effect, welch, 0.05) >= power > smp.TTestIndPower().power(effect, welch - 1, 0.05)


@pytest.mark.parametrize("effect", [0.2, 0.5, 1.0])
def test_seeds_needed_is_near_the_normal_approximation(effect):
    # n ~ ((z_(1-a/2) + z_power) / effect)^2 per sample; t needs a little more.
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    normal = (z / effect) ** 2
    assert normal <= seeds_needed(effect, 1.0, "paired") <= normal + 3
    assert 2 * normal <= seeds_needed(effect, 1.0, "welch") <= 2 * normal + 3


@settings(max_examples=50, deadline=None)
@given(st.floats(0.2, 3.0), st.floats(1.05, 3.0))
def test_seeds_needed_is_monotonic(effect, factor):
    def needed(difference, spread, method="paired", **options):
        return seeds_needed(difference, spread, method, max_seeds=10**5, **options)

    n = needed(effect, 1.0)
    assert needed(effect * factor, 1.0) <= n  # bigger differences: fewer
    assert needed(effect, factor) >= n  # more noise: more
    assert needed(-effect, 1.0) == n  # the sign does not matter
    assert needed(effect, 1.0, power=0.9) >= n
    assert needed(effect, 1.0, alpha=0.01) >= n
    assert needed(effect, 1.0, "welch") >= n


@settings(max_examples=300, deadline=None)
@given(st.floats(1e-3, 1e2), st.floats(1e-2, 30.0), st.sampled_from(["paired", "welch"]), st.floats(0.05, 0.99),
       st.floats(1e-6, 0.9), st.sampled_from([2, 3, 4, 7, 40, 1000]))
def test_seeds_needed_is_the_first_n_with_the_power_among_every_n_up_to_its_limit(
        difference, spread, method, power, alpha, max_seeds):
    # The search starts from the normal approximation and gallops: it must land where a look at every n does.
    from l2board.analysis.statistics import _power

    effect = difference / spread
    enough = [n for n in range(2, max_seeds + 1) if _power(n, effect, method, alpha) >= power]
    assert seeds_needed(difference, spread, method, power=power, alpha=alpha, max_seeds=max_seeds) == (
        enough[0] if enough else None)


def test_seeds_needed_none_and_floor():
    assert seeds_needed(0.0, 1.0, "paired") is None
    assert seeds_needed(1.0, 0.0, "welch") is None
    assert seeds_needed(1.0, math.nan, "welch") is None
    assert seeds_needed(math.nan, 1.0, "paired") is None
    assert seeds_needed(0.01, 1.0, "paired") is None  # ~78,500 seeds
    assert seeds_needed(0.01, 1.0, "paired", max_seeds=100_000) == pytest.approx(78_500, rel=0.01)
    assert seeds_needed(100.0, 1.0, "paired") == 2  # never fewer than 2
    with pytest.raises(ValueError, match="method must be 'paired' or 'welch'"):
        seeds_needed(1.0, 1.0, "unreplicated")
    with pytest.raises(ValueError, match="power and alpha"):
        seeds_needed(1.0, 1.0, "paired", power=80)
    with pytest.raises(ValueError, match="spread cannot be negative"):
        seeds_needed(1.0, -1.0, "paired")


def test_mean_interval_is_the_t_interval():
    values = np.array([0.81, 0.84, 0.80, 0.83, 0.82])
    m = mean_interval(values, confidence=0.9)
    se = values.std(ddof=1) / math.sqrt(5)
    assert (m.mean, m.standard_error, m.n) == (pytest.approx(0.82), pytest.approx(se), 5)
    half = stats.t.ppf(0.95, 4) * se
    assert (m.low, m.high) == pytest.approx((0.82 - half, 0.82 + half))
    assert (m.low, m.high) == pytest.approx(stats.t.interval(0.9, 4, values.mean(), stats.sem(values)))


def test_mean_interval_of_one_value_nan_and_zero_spread():
    assert mean_interval([0.5, math.nan]) == mean_interval([0.5])
    one = mean_interval([0.5])
    assert (one.mean, one.standard_error, one.low, one.high, one.n) == (0.5, None, None, None, 1)
    same = mean_interval([0.5, 0.5, 0.5])
    assert (same.standard_error, same.low, same.high) == (0.0, 0.5, 0.5)
    with pytest.raises(ValueError, match="no value that is not NaN"):
        mean_interval([math.nan])
    with pytest.raises(ValueError, match="values has no values"):
        mean_interval([])


def test_one_se_rule_with_an_interior_best():
    # Validation loss per λ: best at 1e-3; 1e-2 is within one SE of it, 1e-1 not.
    factors = [0.0, 1e-4, 1e-3, 1e-2, 1e-1]
    r = recommend_factor(factors, [0.60, 0.52, 0.50, 0.52, 0.70], [0.03, 0.03, 0.025, 0.03, 0.03])
    assert (r.best_factor, r.best_index, r.one_se_factor, r.one_se_index, r.edge) == (1e-3, 2, 1e-2, 3, None)
    # The bound is the best's SE and includes equality.
    exact = recommend_factor(factors, [0.60, 0.52, 0.50, 0.525, 0.70], [0.03, 0.03, 0.025, 0.0, 0.03])
    assert exact.one_se_factor == 1e-2
    tight = recommend_factor(factors, [0.60, 0.52, 0.50, 0.52, 0.70], [0.03, 0.03, 0.01, 0.03, 0.03])
    assert tight.one_se_factor == 1e-3


def test_one_se_rule_at_the_edges():
    largest = recommend_factor([1e-3, 1e-2, 1e-1], [0.9, 0.7, 0.5], [0.05, 0.05, 0.05])
    assert (largest.best_factor, largest.one_se_factor, largest.edge) == (0.1, 0.1, "largest")
    # λ = 0 best: the one-SE rule still regularizes if that costs little.
    zero = recommend_factor([1e-2, 0, 1e-3, 1e-1], [0.42, 0.40, 0.41, 0.6], [0.02, 0.02, 0.02, 0.02])
    assert (zero.best_factor, zero.best_index, zero.one_se_factor, zero.one_se_index, zero.edge) == (
        0.0, 1, 1e-2, 0, "smallest")
    smallest = recommend_factor([1e-5, 1e-4], [0.3, 0.5], [0.01, 0.01])
    assert (smallest.best_factor, smallest.one_se_factor, smallest.edge) == (1e-5, 1e-5, "smallest")


def test_one_se_rule_for_a_higher_is_better_metric():
    factors = [0.0, 1e-4, 1e-3, 1e-2]
    r = recommend_factor(factors, [0.80, 0.90, 0.89, 0.70], [0.01, 0.015, 0.01, 0.01], lower_is_better=False)
    assert (r.best_factor, r.one_se_factor, r.edge) == (1e-4, 1e-3, None)
    # Read as a loss, the same numbers pick the other end.
    assert recommend_factor(factors, [0.80, 0.90, 0.89, 0.70], [0.01] * 4).edge == "largest"


def test_one_se_rule_without_a_standard_error_and_with_nan_means():
    r = recommend_factor([0.0, 1e-3, 1e-2], [0.5, 0.4, 0.41], [None, None, None])
    assert (r.best_factor, r.one_se_factor) == (1e-3, 1e-3)
    r = recommend_factor([0.0, 1e-3, 1e-2], [0.5, 0.4, 0.41], [0.1, math.nan, 0.1])
    assert r.one_se_factor == 1e-3
    r = recommend_factor([0.0, 1e-3, 1e-2], [0.5, 0.4, math.nan], [0.1, 0.2, 0.1])
    assert (r.best_factor, r.one_se_factor) == (1e-3, 1e-3)  # a NaN mean is never within


@pytest.mark.parametrize("factors, means, errors, message", [
    ([1e-3], [0.5], [0.1], "At least two factors are needed, not 1"),
    ([0.0, 1e-3], [0.5], [0.1, 0.1], "2 factors need as many means"),
    ([0.0, -1e-3], [0.5, 0.4], [0.1, 0.1], "finite and 0 or more"),
    ([0.0, math.nan], [0.5, 0.4], [0.1, 0.1], "finite and 0 or more"),
    ([1e-3, 1e-3], [0.5, 0.4], [0.1, 0.1], "must not repeat"),
    ([0.0, 1e-3], [math.nan, math.nan], [0.1, 0.1], "No mean is a number"),
    ([0.0, 1e-3], [0.5, 0.4], [0.1, -0.1], "cannot be negative"),
])
def test_bad_recommendation_inputs(factors, means, errors, message):
    with pytest.raises(ValueError, match=message):
        recommend_factor(factors, means, errors)


def test_next_grid_goes_on_geometrically():
    assert next_grid([1e-4, 1e-3, 1e-2, 1e-1], "largest") == [1.0, 10.0, 100.0]
    assert next_grid([0.1, 0.3], "largest", points=2) == [0.9, 2.7]  # not 0.8999999999999999
    assert next_grid([0.0, 0.1], "largest") == [1.0, 10.0, 100.0]  # one nonzero factor: decades
    assert next_grid([1e-2, 1e-3, 1e-4], "smallest") == [1e-7, 1e-6, 1e-5]
    assert next_grid([1e-4, 1e-2], "smallest", points=2) == [1e-8, 1e-6]


def test_next_grid_below_zero_fills_in_below_the_smallest_nonzero_factor():
    assert next_grid([0.0, 1e-4, 1e-3, 1e-2], "smallest") == [1e-7, 1e-6, 1e-5]
    assert next_grid([0.0, 1e-4], "smallest", points=1) == [1e-5]
    assert next_grid([0.0, 3e-4, 1e-3], "smallest", points=2) == [2.7e-5, 9e-5]


def test_next_grid_from_a_recommendation():
    factors = [0.0, 1e-4, 1e-3]
    r = recommend_factor(factors, [0.3, 0.4, 0.5], [0.01] * 3)
    assert next_grid(factors, r.edge) == [1e-7, 1e-6, 1e-5]
    assert next_grid(factors, None) == []


@pytest.mark.parametrize("edge, points, message", [
    ("middle", 3, "edge must be 'smallest', 'largest' or None"),
    ("largest", 0, "points must be a whole number"),
    ("largest", 2.5, "points must be a whole number"),
])
def test_bad_grid_inputs(edge, points, message):
    with pytest.raises(ValueError, match=message):
        next_grid([1e-3, 1e-2], edge, points)
