"""Statistics over seeds: intervals, sample sizes and the choice of λ.

Pure functions of plain numbers, with SciPy's tests. Results are frozen
dataclasses of numbers and codes, which `l2board.rendering` words:

- `Difference.method`: `paired` (same seeds: a t interval of the per-seed
  differences), `welch` (Welch's t interval), `unreplicated` (one value on
  a side: no interval).
- `Recommendation.edge`: `smallest` (the best factor is the smallest tried,
  0 included: the optimum may be below, or there may be none), `largest`
  (the optimum may be above), or `None`.
"""

import bisect
import dataclasses
import math
import numbers
import warnings

import numpy as np
from scipy import stats

from l2board.analysis import overfitting

EDGES = ("smallest", "largest")
# The grid step when a grid has a single nonzero factor: a decade, as most
# λ grids are.
DEFAULT_RATIO = 10.0


@dataclasses.dataclass(frozen=True)
class Difference:
    """`mean(other) - mean(baseline)`, its interval and p-value (`None`s unreplicated).

    `n_baseline` and `n_other` count the values used (pairs when paired).
    `spread` is what `seeds_needed` takes: the SD of the per-seed
    differences (paired) or the pooled SD of the two sides (Welch).
    """

    difference: float
    low: float | None
    high: float | None
    n_baseline: int
    n_other: int
    method: str
    p_value: float | None
    spread: float | None = None

    @property
    def excludes_zero(self):
        """Whether the interval lies strictly on one side of 0."""
        return self.low is not None and (self.low > 0 or self.high < 0)


@dataclasses.dataclass(frozen=True)
class MeanInterval:
    """A mean with its standard error and t interval (`None`s for one value)."""

    mean: float
    standard_error: float | None
    low: float | None
    high: float | None
    n: int


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """The best and one-standard-error factors (indices into the lists given).

    `one_se_bound` is the mean the one-SE rule compares with: the best mean
    plus (minus, when higher is better) its standard error; `None` without one.
    """

    best_factor: float
    one_se_factor: float
    best_index: int
    one_se_index: int
    edge: str | None
    one_se_bound: float | None = None


def _values(values, name):
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} has no values.")
    return array


def _check_confidence(confidence):
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}.")


def _pairs(baseline, other, baseline_seeds, other_seeds):
    """The values paired by seed, NaN pairs dropped, or `None` if unpairable."""
    if baseline_seeds is None or other_seeds is None:
        return None
    for values, seeds, name in ((baseline, baseline_seeds, "baseline"), (other, other_seeds, "other")):
        if len(seeds) != values.size:
            raise ValueError(f"{name} has {values.size} values but {len(seeds)} seeds.")
    # A repeated seed makes the pairing ambiguous: compare as independent.
    if (set(baseline_seeds) != set(other_seeds) or len(set(baseline_seeds)) != len(baseline_seeds)
            or len(set(other_seeds)) != len(other_seeds)):
        return None
    by_seed = dict(zip(other_seeds, other))
    paired_other = np.array([by_seed[seed] for seed in baseline_seeds])
    kept = ~(np.isnan(baseline) | np.isnan(paired_other))
    if kept.sum() < 2:
        return None
    return baseline[kept], paired_other[kept]


def _zero_spread(difference, method, n_baseline, n_other):
    # Identical runs (a deterministic setup): SciPy's t statistic is 0/0, but
    # the difference is known exactly.
    return Difference(difference, difference, difference, n_baseline, n_other, method,
                      0.0 if difference != 0 else 1.0, 0.0)


def _paired(base, oth, confidence):
    n, difference = base.size, float(np.mean(oth - base))
    if np.ptp(oth - base) == 0:
        return _zero_spread(difference, "paired", n, n)
    result = stats.ttest_rel(oth, base)
    interval = result.confidence_interval(confidence)
    return Difference(difference, float(interval.low), float(interval.high), n, n, "paired",
                      float(result.pvalue), float(np.std(oth - base, ddof=1)))


def difference_interval(baseline, other, baseline_seeds=None, other_seeds=None, confidence=0.95):
    """Returns the difference `mean(other) - mean(baseline)` with its t interval.

    Args:
        baseline: the baseline configuration's values, one per run.
        other: the other configuration's values, one per run.
        baseline_seeds: the seed of each baseline run, or `None`.
        other_seeds: the seed of each other run, or `None`.
        confidence: the interval's confidence level.

    Returns:
        A `Difference`: `paired` when both seed lists hold the same two or
        more distinct seeds, `welch` otherwise when both sides have two
        values, `unreplicated` otherwise. NaN values are dropped first (and
        their partners when paired). Zero spread (identical runs) gives the
        interval `[d, d]` and p-value 0 (1 when `d` is 0).

    Example:

    >>> d = difference_interval([0.80, 0.82, 0.81], [0.85, 0.86, 0.86], [1, 2, 3], [3, 2, 1])
    >>> d.method, round(d.difference, 4), d.excludes_zero
    ('paired', 0.0467, True)
    """
    _check_confidence(confidence)
    baseline, other = _values(baseline, "baseline"), _values(other, "other")
    pairs = _pairs(baseline, other, baseline_seeds, other_seeds)
    if pairs is not None:
        return _paired(*pairs, confidence)
    base, oth = baseline[~np.isnan(baseline)], other[~np.isnan(other)]
    if base.size == 0 or oth.size == 0:
        raise ValueError("baseline and other each need at least one value that is not NaN.")
    difference = float(np.mean(oth) - np.mean(base))
    if base.size < 2 or oth.size < 2:
        return Difference(difference, None, None, base.size, oth.size, "unreplicated", None)
    if np.ptp(base) == 0 and np.ptp(oth) == 0:
        return _zero_spread(difference, "welch", base.size, oth.size)
    with warnings.catch_warnings():
        # One constant group (a deterministic configuration) has variance 0
        # exactly; SciPy warns of precision loss all the same.
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        result = stats.ttest_ind(oth, base, equal_var=False)
    interval = result.confidence_interval(confidence)
    pooled = math.sqrt((np.var(base, ddof=1) + np.var(oth, ddof=1)) / 2)
    return Difference(difference, float(interval.low), float(interval.high), base.size, oth.size,
                      "welch", float(result.pvalue), pooled)


def _power(n, effect, method, alpha):
    """The power of a two-sided t test with `n` seeds per configuration."""
    if method == "paired":
        df, noncentrality = n - 1, effect * np.sqrt(n)
    else:
        # Two samples of n each: TTestIndPower's df and noncentrality.
        df, noncentrality = 2 * n - 2, effect * np.sqrt(n / 2)
    critical = stats.t.ppf(1 - alpha / 2, df)
    # Both tails as upper tails: SciPy's nct.cdf far below a large
    # noncentrality is NaN, its sf at -noncentrality is not.
    power = stats.nct.sf(critical, df, noncentrality) + stats.nct.sf(critical, df, -noncentrality)
    # The series still fails for noncentralities over ~6e4, where the power is 1.
    return np.nan_to_num(power, nan=1.0)


def seeds_needed(difference, spread, method, power=0.8, alpha=0.05, max_seeds=1000):
    """Returns the seeds per configuration a t test needs to detect `difference`.

    Args:
        difference: the true difference to detect (its sign does not matter).
        spread: `paired`: the SD of the paired differences; `welch`: the
            pooled SD of the two configurations.
        method: `"paired"` (one-sample t test on n differences) or `"welch"`
            (two samples of n each, df = 2n - 2).
        power: the probability of detecting the difference.
        alpha: the two-sided test's significance level.
        max_seeds: the largest answer worth giving.

    Returns:
        The smallest n >= 2 whose power reaches `power`, or `None` when the
        difference or spread is 0 or NaN, or more than `max_seeds` are needed.

    Example:

    >>> seeds_needed(1.0, 1.0, "paired"), seeds_needed(1.0, 1.0, "welch")
    (10, 17)
    """
    if method not in ("paired", "welch"):
        raise ValueError(f"method must be 'paired' or 'welch', not {method!r}.")
    if not (0 < power < 1 and 0 < alpha < 1):
        raise ValueError(f"power and alpha must be between 0 and 1, not {power} and {alpha}.")
    if spread < 0:
        raise ValueError(f"spread cannot be negative: {spread}.")
    if not (math.isfinite(difference) and math.isfinite(spread)) or difference == 0 or spread == 0:
        return None
    candidates = range(2, int(max_seeds) + 1)
    # The power grows with n: bisect for the first n with enough of it.
    first = bisect.bisect_left(
        candidates, True, key=lambda n: _power(n, abs(difference) / spread, method, alpha) >= power)
    return candidates[first] if first < len(candidates) else None


def mean_interval(values, confidence=0.95):
    """Returns the mean of `values` (NaN dropped) with its t interval.

    Example:

    >>> m = mean_interval([1.0, 2.0, 3.0])
    >>> m.mean, round(m.standard_error, 4), round(m.low, 4), round(m.high, 4), m.n
    (2.0, 0.5774, -0.4841, 4.4841, 3)
    """
    _check_confidence(confidence)
    array = _values(values, "values")
    array = array[~np.isnan(array)]
    if array.size == 0:
        raise ValueError("values has no value that is not NaN.")
    mean = float(np.mean(array))
    if array.size < 2:
        return MeanInterval(mean, None, None, None, 1)
    error = float(stats.sem(array))
    # SciPy refuses a scale of 0: identical values have the interval [m, m].
    low, high = (mean, mean) if error == 0 else stats.t.interval(confidence, array.size - 1, mean, error)
    return MeanInterval(mean, error, float(low), float(high), int(array.size))


def _factors(factors):
    array = np.asarray(factors, dtype=np.float64).reshape(-1)
    if array.size < 2:
        raise ValueError(f"At least two factors are needed, not {array.size}.")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"Factors must be finite and 0 or more: {array.tolist()}.")
    if np.unique(array).size != array.size:
        raise ValueError(f"Factors must not repeat: {array.tolist()}.")
    return array


def recommend_factor(factors, means, standard_errors, lower_is_better=True):
    """Returns the best factor and the one-standard-error rule's factor.

    The one-SE rule (Breiman et al. 1984; glmnet's `lambda.1se`) picks the
    largest factor whose mean is within the best's standard error of the
    best mean: as good, within noise, and more regularized.

    Args:
        factors: the L2 factors tried (0 allowed, any order, no repeats).
        means: the mean of the metric per factor (NaN: never chosen).
        standard_errors: the standard error per factor (`None` or NaN: one
            seed; the one-SE factor is then the best factor).
        lower_is_better: `True` for losses, `False` for accuracies.

    Returns:
        A `Recommendation`; `edge` says whether the best is the smallest
        or largest factor tried.

    Example:

    >>> r = recommend_factor([0, 1e-4, 1e-3, 1e-2], [0.50, 0.45, 0.46, 0.60], [0.02, 0.02, 0.02, 0.02])
    >>> r.best_factor, r.one_se_factor, r.edge
    (0.0001, 0.001, None)
    """
    array = _factors(factors)
    if not len(means) == len(standard_errors) == array.size:
        raise ValueError(f"{array.size} factors need as many means and standard errors, "
                         f"not {len(means)} and {len(standard_errors)}.")
    mean = np.asarray(means, dtype=np.float64)
    best = overfitting.best_index(mean, higher_is_better=not lower_is_better)
    if best is None:
        raise ValueError("No mean is a number.")
    error = standard_errors[best]
    error = math.nan if error is None else float(error)
    if error < 0:
        raise ValueError(f"A standard error cannot be negative: {error}.")
    one_se, bound = best, None
    if math.isfinite(error):
        bound = float(mean[best] + error if lower_is_better else mean[best] - error)
        within = np.flatnonzero(mean <= bound if lower_is_better else mean >= bound)
        one_se = int(within[np.argmax(array[within])])
    edge = ("smallest" if array[best] == array.min()
            else "largest" if array[best] == array.max() else None)
    return Recommendation(float(array[best]), float(array[one_se]), best, one_se, edge, bound)


def next_grid(factors, edge, points=3):
    """Returns `points` factors to try beyond the edge of the grid, ascending.

    The grid goes on geometrically with the step between the two outermost
    nonzero factors (a decade when there is one). Below 0 there is nothing,
    so a best factor of 0 asks for factors between 0 and the smallest
    nonzero one, as a best smallest nonzero factor does.

    Args:
        factors: the factors tried.
        edge: a `Recommendation.edge`: `"smallest"`, `"largest"` or `None`.
        points: how many factors to suggest.

    Returns:
        The factors, rounded to 3 significant digits; `[]` when `edge` is
        `None`.

    Example:

    >>> next_grid([1e-4, 1e-3, 1e-2, 1e-1], "largest"), next_grid([0, 1e-4, 1e-3], "smallest")
    ([1.0, 10.0, 100.0], [1e-07, 1e-06, 1e-05])
    """
    if edge is not None and edge not in EDGES:
        raise ValueError(f"edge must be 'smallest', 'largest' or None, not {edge!r}.")
    if isinstance(points, bool) or not isinstance(points, numbers.Integral) or points < 1:
        raise ValueError(f"points must be a whole number of 1 or more, not {points!r}.")
    nonzero = np.sort(_factors(factors))
    nonzero = nonzero[nonzero > 0]
    if edge is None:
        return []
    if edge == "largest":
        ratio = nonzero[-1] / nonzero[-2] if nonzero.size > 1 else DEFAULT_RATIO
        grid = [nonzero[-1] * ratio ** k for k in range(1, points + 1)]
    else:
        ratio = nonzero[1] / nonzero[0] if nonzero.size > 1 else DEFAULT_RATIO
        grid = [nonzero[0] / ratio ** k for k in range(points, 0, -1)]
    # Powers of a float ratio drift (0.30000000000000004): keep 3 digits.
    return [float(f"{value:.3g}") for value in grid]
