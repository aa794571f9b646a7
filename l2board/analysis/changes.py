"""How one configuration differs from another in one number: the difference and its interval over seeds.

`change_of` is the one place a difference between configurations is
computed, for the verdicts and the table (against the baseline) and for
the λ curve (between factors).
"""

import dataclasses
import math

from l2board.analysis import claims
from l2board.analysis.statistics import difference_interval

CONFIDENCE = 0.95


@dataclasses.dataclass
class Change:
    """How a configuration differs from the baseline in one number.

    `difference` is the mean difference over the runs its interval uses;
    `low` and `high` its 95% confidence interval over seeds, unadjusted
    (`method`: `paired` by seed over the seeds both configurations ran,
    when they share two or more, else `welch`; `unreplicated`, without an
    interval, when either has one run). With runs left out it can differ
    from `value - baseline`, the means over all runs.
    `resolved` says whether that unadjusted interval excludes zero (`None`
    unreplicated). `left_out` counts the runs not used: a value that is not
    finite (a diverged seed: paired, its partner is left out too), or a
    seed the other configuration did not run.

    A change the report may word as a claim (see `l2board.analysis.claims`)
    has `claimed` set, its interval at the report's adjusted level
    (`adjusted_level`, `adjusted_low`, `adjusted_high`), the measure's
    `practical_size` and its `outcome`: `larger`, `smaller`, `same` or
    `unresolved`, with `seeds_needed` (at `seeds_needed_level`, for a
    `difference` or for `sameness`) when unresolved.
    """

    field: str
    baseline: float | None
    value: float | None
    difference: float | None
    relative_percent: float | None
    resolved: bool | None
    low: float | None = None
    high: float | None = None
    method: str | None = None
    p_value: float | None = None
    n_baseline: int = 0
    n_value: int = 0
    seeds_needed: int | None = None
    spread: float | None = None
    standard_error: float | None = None
    df: float | None = None
    floored: bool = False
    left_out: int = 0
    practical_size: float | None = None
    claimed: bool = False
    adjusted_level: float | None = None
    adjusted_low: float | None = None
    adjusted_high: float | None = None
    outcome: str | None = None
    seeds_needed_level: float | None = None
    seeds_needed_for: str | None = None


def _finite(value):
    return value is not None and math.isfinite(value)


def change_of(field, baseline, other):
    """How `other` differs from `baseline` (two `ConfigurationReport`s) in one number, with its interval.

    A run whose value is not finite (a diverged seed) is left out; when
    the configurations ran the same seeds, its seed is left out on both
    sides and the rest stay paired.
    """
    a, b = baseline.mean.get(field), other.mean.get(field)
    if a is None or b is None:
        return Change(field, a, b, None, None, None)
    base_values = [v if _finite(v) else math.nan for v in baseline.values[field]]
    values = [v if _finite(v) else math.nan for v in other.values[field]]
    paired = None not in baseline.seeds and None not in other.seeds
    estimate = difference_interval(base_values, values, baseline.seeds if paired else None,
                                   other.seeds if paired else None, confidence=CONFIDENCE,
                                   resolution=claims.resolution_of(field))
    # The difference is the estimate's, over the runs its interval uses (paired: the seeds both ran,
    # finite on both sides), so that a difference and its interval never come from different runs.
    difference = estimate.difference
    change = Change(field, a, b, difference, 100.0 * difference / abs(a) if a else None, None, method=estimate.method,
                    n_baseline=estimate.n_baseline, n_value=estimate.n_other,
                    left_out=len(base_values) + len(values) - estimate.n_baseline - estimate.n_other)
    if estimate.method == "unreplicated":
        return change
    change.low, change.high, change.p_value = estimate.low, estimate.high, estimate.p_value
    change.spread, change.standard_error, change.df = estimate.spread, estimate.standard_error, estimate.df
    change.floored = estimate.floored
    change.resolved = estimate.excludes_zero
    return change


def compare_configurations(baseline, other):
    """Returns `{field: Change}` of `other` against `baseline`."""
    return {field: change_of(field, baseline, other) for field in other.mean}
