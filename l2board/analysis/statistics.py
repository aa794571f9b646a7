"""Statistics over seeds: intervals, sample sizes, adjustment for several claims, and the choice of λ.

Pure functions of plain numbers. The t and noncentral t distributions are
SciPy's (`scipy.special`, imported when a first interval is asked for: a
report without seeds never loads SciPy). Results are frozen dataclasses of
numbers and codes, which `l2board.rendering` words:

- `Difference.method`: `paired` (same seeds: a t interval of the per-seed
  differences), `welch` (Welch's t interval), `unreplicated` (one value on
  a side: no interval).
- `Recommendation.edge`: `smallest` (the best factor is the smallest tried,
  0 included: the optimum may be below, or there may be none), `largest`
  (the optimum may be above), or `None`; `one_se_edge`: `largest` when the
  one-standard-error choice is the largest factor tried (the rule's answer
  is then capped by the grid), else `None`.
"""

import bisect
import dataclasses
import math
import numbers

import numpy as np

from l2board.analysis import overfitting

EDGES = ("smallest", "largest")
# The grid step when a grid has a single nonzero factor: a decade, as most
# λ grids are.
DEFAULT_RATIO = 10.0


def _special():
    """SciPy's special functions, imported on first use (about 0.3 s; `scipy.stats` takes three times that)."""
    import scipy.special

    return scipy.special


@dataclasses.dataclass(frozen=True)
class Difference:
    """`mean(other) - mean(baseline)`, its interval and p-value (`None`s unreplicated).

    `n_baseline` and `n_other` count the values used (pairs when paired).
    `spread` is what `seeds_needed` takes: the SD of the per-seed
    differences (paired) or the pooled SD of the two sides (Welch).
    `standard_error` and `df` give the interval at any other confidence
    level (`interval_at`): the adjusted intervals of a report's claims.
    `floored` says the spread was raised to the measure's resolution (whole
    epochs that happened to agree in every seed are not known exactly).
    """

    difference: float
    low: float | None
    high: float | None
    n_baseline: int
    n_other: int
    method: str
    p_value: float | None
    spread: float | None = None
    standard_error: float | None = None
    df: float | None = None
    floored: bool = False

    @property
    def excludes_zero(self):
        """Whether the interval lies strictly on one side of 0."""
        return self.low is not None and (self.low > 0 or self.high < 0)

    def interval_at(self, confidence):
        """Returns `(low, high)` at another confidence level; `(None, None)` unreplicated.

        Example:

        >>> d = difference_interval([0.80, 0.82, 0.81], [0.85, 0.86, 0.86], [1, 2, 3], [1, 2, 3])
        >>> [round(v, 4) for v in d.interval_at(0.95)] == [round(d.low, 4), round(d.high, 4)]
        True
        """
        return t_interval(self.difference, self.standard_error, self.df, confidence)


def t_interval(difference, standard_error, df, confidence):
    """Returns `(low, high)`, the t interval of `difference` (`(None, None)` without a standard error).

    Example:

    >>> [round(v, 4) for v in t_interval(1.0, 0.5, 4, 0.95)]
    [-0.3882, 2.3882]
    """
    _check_confidence(confidence)
    if standard_error is None:
        return None, None
    if standard_error == 0:
        return difference, difference
    half = float(_special().stdtrit(df, 0.5 + confidence / 2)) * standard_error
    return difference - half, difference + half


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
    one_se_edge: str | None = None


def _values(values, name):
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} has no values.")
    return array


def _check_confidence(confidence):
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}.")


def _pairs(baseline, other, baseline_seeds, other_seeds):
    """The values paired by seed over the seeds both ran, NaN pairs dropped, or `None` if unpairable.

    A seed one side ran and the other did not has no partner: it is left
    out, and the seeds both ran stay paired (a search adds seeds to the
    factors still open, not to all). Fewer than two pairs, or a repeated
    seed (an ambiguous pairing), is unpairable.
    """
    if baseline_seeds is None or other_seeds is None:
        return None
    for values, seeds, name in ((baseline, baseline_seeds, "baseline"), (other, other_seeds, "other")):
        if len(seeds) != values.size:
            raise ValueError(f"{name} has {values.size} values but {len(seeds)} seeds.")
    if len(set(baseline_seeds)) != len(baseline_seeds) or len(set(other_seeds)) != len(other_seeds):
        return None
    by_seed = dict(zip(other_seeds, other))
    common = [i for i, seed in enumerate(baseline_seeds) if seed in by_seed]
    if len(common) < 2:
        return None
    base = baseline[common]
    paired_other = np.array([by_seed[baseline_seeds[i]] for i in common])
    kept = ~(np.isnan(base) | np.isnan(paired_other))
    if kept.sum() < 2:
        return None
    return base[kept], paired_other[kept]


def _t_result(difference, standard_error, df, confidence, spread, method, n_baseline, n_other, floored):
    """The `Difference` of a t statistic: interval and two-sided p-value from SciPy's t distribution."""
    if standard_error == 0:
        # Identical runs (a deterministic setup): the difference is known exactly.
        p_value = 0.0 if difference != 0 else 1.0
        return Difference(difference, difference, difference, n_baseline, n_other, method, p_value, 0.0,
                          0.0, df, floored)
    special = _special()
    half = float(special.stdtrit(df, 0.5 + confidence / 2)) * standard_error
    p_value = float(2 * special.stdtr(df, -abs(difference) / standard_error))
    return Difference(difference, difference - half, difference + half, n_baseline, n_other, method,
                      min(p_value, 1.0), spread, standard_error, df, floored)


def _paired(base, oth, confidence, resolution):
    n, differences = base.size, oth - base
    difference, sd = float(np.mean(differences)), float(np.std(differences, ddof=1))
    # Values on a grid of `resolution` (whole epochs) differ by at least its
    # rounding noise: the difference of two values rounded to the grid has
    # variance resolution² / 6.
    floor = resolution / math.sqrt(6) if resolution else 0.0
    floored = sd < floor
    sd = max(sd, floor)
    return _t_result(difference, sd / math.sqrt(n), n - 1, confidence, sd, "paired", n, n, floored)


def _welch(base, oth, confidence, resolution):
    floor = resolution ** 2 / 12 if resolution else 0.0
    var_base, var_oth = float(np.var(base, ddof=1)), float(np.var(oth, ddof=1))
    floored = min(var_base, var_oth) < floor
    var_base, var_oth = max(var_base, floor), max(var_oth, floor)
    part_base, part_oth = var_base / base.size, var_oth / oth.size
    error = math.sqrt(part_base + part_oth)
    difference = float(np.mean(oth) - np.mean(base))
    # Welch-Satterthwaite; SciPy's ttest_ind(equal_var=False) takes the same.
    df = ((part_base + part_oth) ** 2 / (part_base ** 2 / (base.size - 1) + part_oth ** 2 / (oth.size - 1))
          if error else float(base.size + oth.size - 2))
    pooled = math.sqrt((var_base + var_oth) / 2)
    return _t_result(difference, error, df, confidence, pooled, "welch", base.size, oth.size, floored)


def difference_interval(baseline, other, baseline_seeds=None, other_seeds=None, confidence=0.95, resolution=None):
    """Returns the difference `mean(other) - mean(baseline)` with its t interval.

    Args:
        baseline: the baseline configuration's values, one per run.
        other: the other configuration's values, one per run.
        baseline_seeds: the seed of each baseline run, or `None`.
        other_seeds: the seed of each other run, or `None`.
        confidence: the interval's confidence level.
        resolution: the grid a measure's values lie on (1 for whole
            epochs), or `None`: the spread is then taken to be at least the
            grid's rounding noise, so that two seeds that agree by the grid
            are not a difference known exactly.

    Returns:
        A `Difference`: `paired` over the seeds both lists hold when they
        share two or more (each once; the others are left out), `welch`
        otherwise when both sides have two values, `unreplicated` otherwise. NaN values are dropped first (and
        their partners when paired). Zero spread (identical runs, without a
        resolution) gives the interval `[d, d]` and p-value 0 (1 when `d` is 0).
        Without a floor, the interval and p-value are SciPy's `ttest_rel` and
        `ttest_ind(equal_var=False)`.

    Example:

    >>> d = difference_interval([0.80, 0.82, 0.81], [0.85, 0.86, 0.86], [1, 2, 3], [3, 2, 1])
    >>> d.method, round(d.difference, 4), d.excludes_zero
    ('paired', 0.0467, True)
    >>> e = difference_interval([10, 12, 11], [11, 13, 12], [1, 2, 3], [1, 2, 3], resolution=1)
    >>> e.difference, e.floored, e.excludes_zero  # one epoch later in each of three seeds: not yet sure
    (1.0, True, False)
    """
    _check_confidence(confidence)
    baseline, other = _values(baseline, "baseline"), _values(other, "other")
    pairs = _pairs(baseline, other, baseline_seeds, other_seeds)
    if pairs is not None:
        return _paired(*pairs, confidence, resolution)
    base, oth = baseline[~np.isnan(baseline)], other[~np.isnan(other)]
    if base.size == 0 or oth.size == 0:
        raise ValueError("baseline and other each need at least one value that is not NaN.")
    difference = float(np.mean(oth) - np.mean(base))
    if base.size < 2 or oth.size < 2:
        return Difference(difference, None, None, base.size, oth.size, "unreplicated", None)
    return _welch(base, oth, confidence, resolution)


def _power(n, effect, method, alpha):
    """The power of a two-sided t test with `n` seeds per configuration."""
    if method == "paired":
        df, noncentrality = n - 1, effect * math.sqrt(n)
    else:
        # Two samples of n each: TTestIndPower's df and noncentrality.
        df, noncentrality = 2 * n - 2, effect * math.sqrt(n / 2)
    critical = _special().stdtrit(df, 1 - alpha / 2)
    # P(T > c) + P(T < -c) under the noncentral t; the lower tail as the upper one of -T, whose
    # noncentrality is -nc (nctdtr's series is NaN far in a tail, not only where the power is 1).
    return min(1.0, _upper_tail(df, noncentrality, critical) + _upper_tail(df, -noncentrality, critical))


def _upper_tail(df, noncentrality, critical):
    """P(T > critical) for a noncentral t.

    `nctdtr` returns NaN where the tail is 0 or 1 to double precision
    (checked against `scipy.stats.nct.sf` over df 1-120, levels 0.05-1e-6
    and noncentralities -400-400): 1 when the noncentrality lies beyond
    the critical value, 0 when it lies below.
    """
    tail = float(1 - _special().nctdtr(df, noncentrality, critical))
    if math.isnan(tail):
        return 1.0 if noncentrality > critical else 0.0
    return tail


def seeds_needed(difference, spread, method, power=0.8, alpha=0.05, max_seeds=1000):
    """Returns the seeds per configuration a t test needs to detect `difference`.

    Args:
        difference: the true difference to detect (its sign does not matter).
        spread: `paired`: the SD of the paired differences; `welch`: the
            pooled SD of the two configurations.
        method: `"paired"` (one-sample t test on n differences) or `"welch"`
            (two samples of n each, df = 2n - 2).
        power: the probability of detecting the difference.
        alpha: the two-sided test's significance level (a report's adjusted
            level for a claim among several).
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
    effect = abs(difference) / spread
    # The power grows with n. The normal approximation's n is close to the t test's (a few seeds short of it,
    # where t's tails are heavier): the search starts there, and the t test's power decides.
    special = _special()
    z = special.ndtri(1 - alpha / 2) + special.ndtri(power)
    guess = (z / effect) ** 2 * (1 if method == "paired" else 2)
    return _first_where(lambda n: _power(n, effect, method, alpha) >= power, guess, 2, int(max_seeds))


def _first_where(holds, guess, low, high):
    """The smallest n in [low, high] where `holds(n)`, which once true stays true as n grows; `None` if none.

    Gallops from `guess` (clipped to the range) to a bracket, then bisects it: a handful of calls to `holds`
    when the guess is near, and never more than about twice a bisection's.
    """
    start = min(max(int(math.ceil(guess)) if math.isfinite(guess) else high, low), high)
    step = 1
    if holds(start):
        found = start  # the answer is at most `found`; look below
        while found > low:
            lower = max(found - step, low)
            if not holds(lower):
                low = lower + 1
                break
            found, step = lower, step * 2
        else:
            return found
        high = found - 1
    else:
        missing = start  # the answer is above `missing`; look above
        while True:
            if missing == high:
                return None
            upper = min(missing + step, high)
            if holds(upper):
                found = upper
                break
            missing, step = upper, step * 2
        low, high = missing + 1, found - 1
    # holds(found); the answer is `found` or in [low, high], where holds(high + 1) and not holds(low - 1).
    candidates = range(low, high + 1)
    first = bisect.bisect_left(candidates, True, key=holds)
    return candidates[first] if first < len(candidates) else found


def seeds_for_sameness(difference, spread, method, size, alpha=0.05, max_seeds=1000):
    """Returns the seeds per configuration whose interval would fit within `±size` around `difference`.

    Equivalence needs the whole interval inside the practical band: with
    the observed difference and spread taken as the true ones, the smallest
    n whose half-width at level `alpha` is at most `size - |difference|`.

    Returns:
        n >= 2, or `None` when `|difference| >= size`, nothing is known of
        the spread, or more than `max_seeds` are needed.

    Example:

    >>> seeds_for_sameness(0.2, 1.0, "paired", 1.0), seeds_for_sameness(0.2, 1.0, "welch", 1.0)
    (9, 14)
    """
    if method not in ("paired", "welch"):
        raise ValueError(f"method must be 'paired' or 'welch', not {method!r}.")
    room = size - abs(difference)
    if not (math.isfinite(room) and math.isfinite(spread)) or room <= 0 or spread <= 0:
        return None
    special = _special()

    def fits(n):
        df, scale = (n - 1, 1 / n) if method == "paired" else (2 * n - 2, 2 / n)
        return special.stdtrit(df, 1 - alpha / 2) * spread * math.sqrt(scale) <= room

    candidates = range(2, int(max_seeds) + 1)
    first = bisect.bisect_left(candidates, True, key=fits)
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
    error = float(np.std(array, ddof=1) / math.sqrt(array.size))
    if error == 0:  # identical values: the interval [m, m]
        return MeanInterval(mean, 0.0, mean, mean, int(array.size))
    half = float(_special().stdtrit(array.size - 1, 0.5 + confidence / 2)) * error
    return MeanInterval(mean, error, mean - half, mean + half, int(array.size))


@dataclasses.dataclass(frozen=True)
class Adjustment:
    """Holm's step-down adjustment of several claims, as levels.

    `levels[i]` is the significance level claim `i` is tested at, so that
    its interval at confidence `1 - levels[i]` excludes zero exactly when
    Holm's procedure rejects its null hypothesis (claims after the step
    where the procedure stops keep that step's level, so no interval
    excludes zero that the procedure does not reject). `alpha` is the
    chance, over the whole family, of any false rejection.
    """

    alpha: float
    levels: tuple
    rejected: tuple


def holm(p_values, alpha=0.05):
    """Returns Holm's adjustment of a family of claims (`None` p-values: not tested, level `alpha`).

    Holm (1979): sort the p-values; reject the smallest while
    `p(j) < alpha / (m - j + 1)`; stop at the first that is not. It keeps
    the chance of any false rejection at most `alpha`, whatever the
    dependence between the claims.

    Example:

    >>> a = holm([0.01, 0.04, 0.03, None])
    >>> [round(level, 4) for level in a.levels], a.rejected
    ([0.0167, 0.025, 0.025, 0.05], (True, False, False, False))
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}.")
    tested = [i for i, p in enumerate(p_values) if p is not None]
    m = len(tested)
    levels, rejected = [alpha] * len(p_values), [False] * len(p_values)
    order = sorted(tested, key=lambda i: p_values[i])
    stopped_at = None
    for step, index in enumerate(order):
        level = alpha / (m - step) if stopped_at is None else stopped_at
        levels[index] = level
        if stopped_at is None and p_values[index] < level:
            rejected[index] = True
        elif stopped_at is None:
            stopped_at = level
    return Adjustment(alpha, tuple(levels), tuple(rejected))


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
        or largest factor tried, `one_se_edge` whether the one-SE choice
        (other than the best) is the largest.

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
    # The rule looks for the largest factor within reach: when that is the
    # largest tried, a larger one might be too.
    one_se_edge = "largest" if one_se != best and array[one_se] == array.max() else None
    return Recommendation(float(array[best]), float(array[one_se]), best, one_se, edge, bound, one_se_edge)


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
