"""The λ curve: configurations that differ only in their L2 factor, and which factor to use.

A sweep is what `l2board experiment --l2 0 --l2 1e-4 --l2 1e-3 ...` trains:
the same model with the same layers under L2, one factor per configuration
(0: no regularization), several seeds each. For each factor, the validation
data loss and metric at the epoch `EarlyStopping` would stop at are
averaged over seeds with their 95% t interval; the recommended factor is the
one with the lowest mean validation data loss and, by the one-standard-error
rule (Breiman et al. 1984; glmnet's `lambda.1se`), the largest factor
within one standard error of it: as good within the noise, and more
regularized. A best factor at the edge of the grid suggests the next grid.

Whether the lowest mean is really lower is a claim like any other: every
pair of factors is compared on the same measure (`pairs`, paired by seed),
and those comparisons join the report's claims, adjusted together
(`l2board.analysis.claims`).
"""

import dataclasses
import math

from l2board.analysis.changes import change_of
from l2board.analysis.claims import practical_size
from l2board.analysis.statistics import mean_interval, next_grid, recommend_factor
from l2board.log_format.regularization_setup import RegularizationSetup

# The fewest factors that make a curve (two are a comparison, which the
# verdicts already answer).
MIN_FACTORS = 3
MEASURE = "val_data_loss_at_stop"
METRIC_MEASURE = "val_metric_at_stop"


@dataclasses.dataclass(frozen=True)
class FactorPoint:
    """One factor of the sweep: its configuration, runs, and the means with intervals (`MeanInterval`s)."""

    factor: float
    configuration: str
    runs: int
    loss: object  # MeanInterval of the validation data loss at the EarlyStopping epoch, or None
    metric: object  # MeanInterval of the validation metric there, or None
    diverged: int = 0  # runs whose loss became NaN or infinite: the factor is never recommended


@dataclasses.dataclass(frozen=True)
class FactorPair:
    """Two factors of the sweep compared on the measure: `change` is `higher`'s minus `lower`'s (point indices)."""

    lower: int
    higher: int
    change: object


@dataclasses.dataclass(frozen=True)
class FactorSweep:
    """The λ curve and the recommendation (`statistics.Recommendation`).

    `points` are sorted by factor; `layers` are the variables under L2 (the
    same in every configuration with a factor); `next_factors` the grid to try
    when the best factor, or the one-standard-error choice, is at an edge of
    this one (`recommendation.edge`, `recommendation.one_se_edge`). A factor
    with a diverged run is shown, and never recommended: its mean is that of
    the runs that did not diverge, and it is in no pair. `pairs` compares
    every two other factors on the measure (a `FactorPair` each).
    """

    layers: tuple
    metric: str | None
    points: tuple
    recommendation: object
    next_factors: tuple
    replicated: bool
    pairs: tuple = ()

    def pair_changes(self):
        """The `Change` of every pair: claims of the report, adjusted with the others."""
        return [pair.change for pair in self.pairs]

    def versus(self, anchor, index):
        """The `Change` of point `index` against point `anchor` (its value minus the anchor's), or `None`.

        The pair's change is reoriented when the anchor is the pair's `higher`.
        """
        for pair in self.pairs:
            if (pair.lower, pair.higher) == (anchor, index):
                return pair.change
            if (pair.lower, pair.higher) == (index, anchor):
                return reoriented(pair.change)
        return None

    def versus_best(self, index):
        """The `Change` of point `index` against the best point (its value minus the best's), or `None`."""
        return self.versus(self.recommendation.best_index, index)


def l2_factor_of(setup):
    """Returns `(factor, regularized variable paths)` of a logged setup that is plain L2 with one factor.

    Args:
        setup: the regularization setup L2Monitor logged (a dict), or `None`.

    Returns:
        `(0.0, ())` for a model under no regularization at all, `(factor,
        paths)` when every penalized variable has `L2(factor)` with the same
        factor and nothing else regularizes the model (no L1, activity
        regularizer or weight decay), `None` otherwise.

    Example:

    >>> l2_factor_of({"variables": [{"path": "d/kernel", "size": 4, "trainable": True,
    ...                              "regularizer": "L2", "l2": 0.01}]})
    (0.01, ('d/kernel',))
    """
    if not setup:
        return None
    try:
        setup = RegularizationSetup.from_dict(setup)
    except (TypeError, ValueError, AttributeError):
        return None
    if setup.activity_layers or setup.weight_decay or any(v.weight_decay for v in setup.variables):
        return None
    penalized = setup.penalized_variables
    if not penalized:
        return 0.0, ()
    factors = {v.l2 for v in penalized}
    if any(v.regularizer != "L2" or v.l1 for v in penalized) or len(factors) != 1 or None in factors:
        return None
    return float(factors.pop()), tuple(sorted(v.path for v in penalized))


def differ_only_in_the_factor(factor_and_hparams):
    """Whether configurations' hyperparameters differ only in the L2 factor itself.

    A hyperparameter may differ between configurations only when it is the
    factor (a tuner's `l2` whose value is the factor the setup logged, 0 for
    none); any other difference (units, learning rate, even a co-varying
    one) means the runs are not a curve of the factor alone.

    Example:

    >>> differ_only_in_the_factor([(0.0, {"l2": 0.0, "units": 8}), (0.1, {"l2": 0.1, "units": 8})])
    True
    >>> differ_only_in_the_factor([(0.0, {"l2": 0.0, "units": 8}), (0.1, {"l2": 0.1, "units": 16})])
    False
    """
    keys = set().union(*(set(h) for _, h in factor_and_hparams)) if factor_and_hparams else set()
    for key in keys:
        values = [h.get(key) for _, h in factor_and_hparams]
        if len(set(map(repr, values))) == 1:
            continue
        is_the_factor = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                            and math.isclose(v, factor, rel_tol=1e-6)
                            for (factor, _), v in zip(factor_and_hparams, values))
        if not is_the_factor:
            return False
    return True


def _per_configuration(configurations, reports):
    """`[(factor, layers, configuration)]`, or None when a configuration is not plain L2 with one factor."""
    setups = {report.name: report.setup for report in reports}
    # Seeds of a configuration share their setup: each distinct one is read once.
    read = {}

    def factor_of(setup):
        if id(setup) not in read:
            read[id(setup)] = l2_factor_of(setup)
        return read[id(setup)]

    found = []
    for configuration in configurations:
        factors = {factor_of(setups.get(run)) for run in configuration.runs}
        if len(factors) != 1 or None in factors:
            return None
        factor, layers = factors.pop()
        found.append((factor, layers, configuration))
    return found


def factor_sweep(configurations, reports, metric):
    """Returns the `FactorSweep` of configurations that differ only in their L2 factor, or `None`.

    Args:
        configurations: `ConfigurationReport`s (see `comparison`).
        reports: the `RunReport`s of their runs (for each run's setup).
        metric: the accuracy-like metric compared, or `None`.

    Returns:
        `None` unless every configuration is plain L2 with one factor (see
        `l2_factor_of`), all on the same variables, with at least three
        distinct factors, one configuration each, and a validation data loss
        at the EarlyStopping epoch.
    """
    found = _per_configuration(configurations, reports)
    if found is None or len(found) < MIN_FACTORS:
        return None
    factors = [factor for factor, _, _ in found]
    layer_sets = {layers for factor, layers, _ in found if factor > 0}
    if len(set(factors)) != len(factors) or len(layer_sets) != 1:
        return None
    if not differ_only_in_the_factor([(factor, c.hparams) for factor, _, c in found]):
        return None
    diverged = {report.name for report in reports if report.diverged_epoch is not None}
    points = []
    for factor, _, configuration in sorted(found, key=lambda item: item[0]):
        losses = [v for v in configuration.values.get(MEASURE, ()) if v is not None]
        if not losses:
            return None
        metrics = [v for v in configuration.values.get(METRIC_MEASURE, ()) if v is not None]
        points.append(FactorPoint(factor, configuration.name, len(configuration.runs), mean_interval(losses),
                                  mean_interval(metrics) if metrics else None,
                                  diverged=sum(run in diverged for run in configuration.runs)))
    if all(p.diverged for p in points):
        return None
    recommendation = recommend_factor([p.factor for p in points],
                                      [math.nan if p.diverged else p.loss.mean for p in points],
                                      [p.loss.standard_error for p in points], lower_is_better=True)
    edge = recommendation.edge or recommendation.one_se_edge
    configurations = {c.name: c for _, _, c in found}
    return FactorSweep(layers=layer_sets.pop(), metric=metric, points=tuple(points), recommendation=recommendation,
                       next_factors=tuple(next_grid([p.factor for p in points], edge)),
                       replicated=all(p.loss.n > 1 for p in points),
                       pairs=_pairs(points, configurations, recommendation.best_index))


def _pairs(points, configurations, best):
    """Every two factors without a diverged run, compared on the measure, sized against the best's mean."""
    size = practical_size(MEASURE, {MEASURE: points[best].loss.mean})
    kept = [i for i, point in enumerate(points) if not point.diverged]
    pairs = []
    for position, lower in enumerate(kept):
        for higher in kept[position + 1:]:
            change = change_of(MEASURE, configurations[points[lower].configuration],
                               configurations[points[higher].configuration])
            change.practical_size = size
            pairs.append(FactorPair(lower, higher, change))
    return tuple(pairs)


def reoriented(change):
    """The same comparison the other way round: `baseline` and `value` swapped, every difference negated."""
    def negated(value):
        return None if value is None else -value

    return dataclasses.replace(
        change, baseline=change.value, value=change.baseline, difference=negated(change.difference),
        relative_percent=None if not change.value else 100.0 * -change.difference / abs(change.value),
        low=negated(change.high), high=negated(change.low), n_baseline=change.n_value, n_value=change.n_baseline,
        adjusted_low=negated(change.adjusted_high), adjusted_high=negated(change.adjusted_low),
        outcome={"larger": "smaller", "smaller": "larger"}.get(change.outcome, change.outcome))
