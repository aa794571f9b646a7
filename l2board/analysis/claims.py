"""What a report may claim: practical sizes, and one adjustment for all of its claims.

A report words a difference in one of four ways, and this module alone
decides which, from the numbers (`Change.outcome`):

- `larger` or `smaller`: the adjusted interval excludes zero and the
  difference is at least the measure's practical size;
- `same`: the whole adjusted interval lies within plus or minus the
  practical size (equivalence, as in two one-sided tests);
- `unresolved`: anything else. `seeds_needed` then says how many seeds per
  configuration would resolve it, taking the observed difference and spread
  as the true ones, at the claim's adjusted level: a difference at least
  the practical size with 80% power (`seeds_needed_for` `difference`), a
  smaller one by an interval inside the band (`sameness`).

Every claim a report can word (each configuration's overfitting measure,
final validation metric and final validation data loss against the
baseline, and every pair of factors of a λ curve) is one family, adjusted
by Holm's step-down procedure: the chance that a report states any false
direction is at most `ALPHA`, however many configurations it compares.
Changes outside the family keep their unadjusted 95% intervals, which the
report labels as such and never words as a claim.
"""

import math

from l2board.analysis.statistics import holm, seeds_for_sameness, seeds_needed, t_interval

ALPHA = 0.05
POWER = 0.8

# A difference smaller than this is no difference worth stating, however
# sure: 1 accuracy point (a fraction of 0.01) for metrics in [0, 1]; 1
# point for gaps in points and for GL in percent; 1 epoch; for losses and
# other measures in their own units, 2% of the baseline's level.
POINTS = 1.0
FRACTION = 0.01
EPOCHS = 1.0
RELATIVE = 0.02

_EPOCH_FIELDS = ("early_stopping_epoch", "onset_epoch", "best_epoch")
_FRACTION_FIELDS = ("final_val_metric", "best_val_metric", "final_train_metric", "val_metric_at_stop")
_POINT_FIELDS = ("metric_gap_final_pp", "metric_gap_best_pp", "generalization_loss_percent",
                 "final_penalty_share_percent")
# Loss measures are sized against the baseline's validation loss level.
_LOSS_FIELDS = ("final_val_data_loss", "final_train_data_loss", "data_loss_gap_final", "data_loss_gap_best",
                "rise_after_onset", "val_data_loss_at_stop", "min_val_data_loss")
_LOSS_LEVEL_FIELDS = ("final_val_data_loss", "val_data_loss_at_stop", "min_val_data_loss")

# The grid a measure's values lie on: whole epochs.
RESOLUTIONS = {field: 1.0 for field in _EPOCH_FIELDS}


def resolution_of(field):
    """The grid a field's values lie on (1 for epochs), or `None`.

    >>> resolution_of("early_stopping_epoch"), resolution_of("final_val_metric")
    (1.0, None)
    """
    return RESOLUTIONS.get(field)


def practical_size(field, baseline_mean, metric_is_fraction=True):
    """The smallest difference in `field` worth stating, in the field's units (`None` when unknown).

    Args:
        field: a summary field (`final_val_metric`, `metric_gap_final_pp`, ...).
        baseline_mean: `{field: mean}` of the baseline configuration.
        metric_is_fraction: whether the compared metric lies in [0, 1]
            (accuracy, AUC, ...); a metric in other units (mae, perplexity)
            is sized as the losses are, relative to the baseline.

    Example:

    >>> practical_size("final_val_metric", {}), practical_size("early_stopping_epoch", {})
    (0.01, 1.0)
    >>> practical_size("final_val_data_loss", {"final_val_data_loss": 1.5})
    0.03
    """
    if field in _EPOCH_FIELDS:
        return EPOCHS
    if field in _FRACTION_FIELDS and metric_is_fraction:
        return FRACTION
    if field in _POINT_FIELDS and (metric_is_fraction or not field.startswith("metric_gap")):
        return POINTS
    # A metric in its own units (mae, perplexity) is sized against its level, as a loss is against the loss's.
    level_fields = (_LOSS_LEVEL_FIELDS if field in _LOSS_FIELDS
                    else ("final_val_metric", "best_val_metric") if field.startswith("metric_gap")
                    else (field,))
    level = next((abs(baseline_mean[f]) for f in level_fields
                  if baseline_mean.get(f) is not None and math.isfinite(baseline_mean[f]) and baseline_mean[f]),
                 None)
    return None if level is None else round(RELATIVE * level, 12)


def outcome_of(difference, low, high, size):
    """`larger`, `smaller`, `same` or `unresolved` from a difference and its (adjusted) interval.

    >>> outcome_of(-5.7, -9.1, -2.3, 1.0), outcome_of(0.2, -0.5, 0.8, 1.0), outcome_of(-1.9, -32.4, 28.6, 1.0)
    ('smaller', 'same', 'unresolved')
    >>> outcome_of(0.02, 0.01, 0.03, 1.0)  # sure, but below the practical size: it says the two are the same
    'same'
    >>> outcome_of(0.5, 0.1, 1.4, 1.0)  # sure of a difference, not of one that matters
    'unresolved'
    """
    if low is None or high is None:
        return None
    if size is not None and -size < low and high < size:
        return "same"
    if (low > 0 or high < 0) and (size is None or abs(difference) >= size):
        return "larger" if difference > 0 else "smaller"
    return "unresolved"


def adjust(changes, alpha=ALPHA, power=POWER):
    """Adjusts a report's family of claims together (Holm) and decides each one's outcome.

    Args:
        changes: the `Change`s a report may word, with `practical_size`
            set; unreplicated ones (no p-value) are outside the family.
        alpha: the chance of any false direction in the whole family.
        power: for `seeds_needed` of the claims left unresolved.

    Returns:
        The number of claims in the family (each replicated change). Each
        change gets `claimed`, `adjusted_level`, `adjusted_low`,
        `adjusted_high`, `outcome` and, unless decided, `seeds_needed` at
        its adjusted level.
    """
    family = [change for change in changes if change.p_value is not None]
    adjustment = holm([change.p_value for change in family], alpha)
    for change, level in zip(family, adjustment.levels):
        change.claimed = True
        change.adjusted_level = level
        change.adjusted_low, change.adjusted_high = t_interval(change.difference, change.standard_error,
                                                               change.df, 1 - level)
        change.outcome = outcome_of(change.difference, change.adjusted_low, change.adjusted_high,
                                    change.practical_size)
        change.seeds_needed, change.seeds_needed_level, change.seeds_needed_for = None, None, None
        if change.outcome == "unresolved" and change.spread:
            size = change.practical_size
            if size is not None and abs(change.difference) < size:
                # Too small to matter, if real: what would show the two are the same.
                change.seeds_needed = seeds_for_sameness(change.difference, change.spread, change.method, size,
                                                         alpha=level)
                change.seeds_needed_for = "sameness"
            else:
                change.seeds_needed = seeds_needed(change.difference, change.spread, change.method, power=power,
                                                   alpha=level)
                change.seeds_needed_for = "difference"
            change.seeds_needed_level = level
    return len(family)
