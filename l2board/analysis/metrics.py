"""Which metric a comparison is made on: the metrics runs log, which way each is better, and the choice.

A metric is any series a run logs for validation besides its loss (with a
training twin or not). Whether higher or lower is better is never guessed:
it is known from the metric's name (accuracy, AUC, F1 higher; MAE, MSE,
perplexity lower), or the user says it; a metric of unknown direction is
compared only when the user names it and its direction. Without
`--metric`, the comparison takes an accuracy-like metric, else another
known one, the most runs log; every other metric is offered in the report.
"""

import collections
import dataclasses
import re

import numpy as np

from l2board.errors import L2BoardError
from l2board.log_format import tags
from l2board.reading.roles import is_metric_name

# Metrics of Keras's epoch logs and of L2Monitor that are not model-quality metrics.
NOT_METRICS = frozenset({"loss", "learning_rate", "steps_per_second", "data_loss", "penalty", "penalty_share"})

# Known names, after a Keras prefix (`sparse_categorical_`, `binary_`, ...) and a `top_k_` are set aside.
_HIGHER = re.compile(r"^(.*acc.*|auc|prc|pr_auc|roc_auc|precision|recall|f1|f1_score|f_beta|fbeta|fbeta_score|"
                     r"iou|mean_iou|one_hot_iou|binary_iou|map|bleu|rouge.*|r2|r2_score|dice.*|specificity.*|"
                     r"sensitivity.*|true_positives|true_negatives|cosine_similarity|matthews.*|mcc|kappa)$", re.S)
_LOWER = re.compile(r"^(mae|mse|rmse|msle|mape|mean_absolute_error|mean_squared_error|root_mean_squared_error|"
                    r"mean_absolute_percentage_error|mean_squared_logarithmic_error|.*crossentropy|.*loss|"
                    r"perplexity|ppl|error|err|error_rate|wer|cer|logcosh|log_cosh|hinge|squared_hinge|"
                    r"categorical_hinge|kl_divergence|kld|poisson|false_positives|false_negatives)$", re.S)
_PREFIXES = re.compile(r"^(sparse_categorical_|categorical_|binary_|sparse_|top_k_|top_\d+_|mean_(?=iou))")
# Metrics whose values are fractions in [0, 1] (their differences are shown in points).
_FRACTION = re.compile(r"^(.*acc.*|auc|prc|pr_auc|roc_auc|precision|recall|f1|f1_score|f_beta|fbeta|fbeta_score|"
                       r".*iou|dice.*|specificity.*|sensitivity.*|error_rate|wer|cer)$", re.S)

HIGHER, LOWER = "higher", "lower"


def direction_of(name):
    """Returns `"higher"` or `"lower"` (which is better) for a known metric name, else `None`.

    Example:

    >>> direction_of("sparse_categorical_accuracy"), direction_of("auc"), direction_of("mae"), direction_of("foo")
    ('higher', 'higher', 'lower', None)
    """
    bare = _PREFIXES.sub("", name.lower())
    if _HIGHER.match(bare) or _HIGHER.match(name.lower()):
        return HIGHER
    if _LOWER.match(bare) or _LOWER.match(name.lower()):
        return LOWER
    return None


def _lookup(run, folder, name):
    return run.scalar(folder, tags.EPOCH_PREFIX + name) or run.scalar(folder, name)


def metrics_of(run):
    """Returns `{metric name: whether its training twin is logged}` for the metrics a run logs for validation."""
    names = {}
    for folder, tag in run.scalars:
        if folder != tags.VALIDATION_DIR:
            continue
        name = tag[len(tags.EPOCH_PREFIX):] if tag.startswith(tags.EPOCH_PREFIX) else tag
        if "/" in name or name in NOT_METRICS or not name or not is_metric_name(name):
            continue
        names[name] = _lookup(run, tags.TRAIN_DIR, name) is not None
    return names


@dataclasses.dataclass(frozen=True)
class MetricChoice:
    """The metric a comparison is made on, and what else the runs log.

    `name` is `None` when no run logs a metric of known direction (and the
    user named none): losses only. `higher_is_better` says which way is
    better (`None` without a metric); `said_by` is `name` (known from the
    metric's name) or `user`. `offered` lists every metric the runs log
    (the other candidates for `--metric`), `unknown` those of them whose
    direction l2board does not know.
    """

    name: str | None
    higher_is_better: bool | None
    said_by: str | None
    offered: tuple
    unknown: tuple


def _most_logged(counts, names):
    return max(sorted(names), key=lambda m: (counts[m], m == "accuracy"))


def choose_metric(runs, requested=None, higher_is_better=None):
    """Chooses the metric to compare: the one asked for, else the accuracy-like (then any known) one most runs log.

    A run without it is still compared on its loss (`analyze_run` notes
    it), so one run with another metric does not end the comparison.

    Args:
        runs: the `RunLog`s.
        requested: a metric name the user asked for, or `None`.
        higher_is_better: what the user said of the metric's direction
            (`None`: unsaid, so it must be known from its name).

    Returns:
        A `MetricChoice`.

    Raises:
        L2BoardError: when no run logs the requested metric (the sentence
            lists what the runs log), or its direction is neither known nor said.
    """
    per_run = [(run.name, metrics_of(run)) for run in runs]
    counts = collections.Counter(name for _, metrics in per_run for name in metrics)
    offered = tuple(sorted(counts))
    unknown = tuple(name for name in offered if direction_of(name) is None)
    if requested:
        if requested not in counts:
            raise L2BoardError(_not_logged(requested, per_run))
        known = direction_of(requested)
        if higher_is_better is None and known is None:
            raise L2BoardError(
                f"l2board does not know whether a higher '{requested}' is better; say so with "
                "--higher-is-better or --lower-is-better.")
        said_by = "user" if higher_is_better is not None else "name"
        better = higher_is_better if higher_is_better is not None else known == HIGHER
        return MetricChoice(requested, better, said_by, offered, unknown)
    accuracy_like = [name for name in counts if "acc" in name and direction_of(name) == HIGHER]
    known = [name for name in counts if direction_of(name) is not None]
    candidates = accuracy_like or known
    if not candidates:
        return MetricChoice(None, None, None, offered, unknown)
    name = _most_logged(counts, candidates)
    return MetricChoice(name, direction_of(name) == HIGHER, "name", offered, unknown)


def _not_logged(requested, per_run):
    if len(per_run) == 1:
        name, metrics = per_run[0]
        have = ", ".join(sorted(metrics)) or "no metric besides the loss"
        return f"Run '{name}' has no validation metric '{requested}'; it logs: {have}."
    logged = "; ".join(f"'{name}' logs {', '.join(sorted(metrics)) or 'only the loss'}" for name, metrics in per_run)
    return f"No run has a validation metric '{requested}': {logged}."


def is_fraction(name, values):
    """Whether a metric's values are fractions in [0, 1], shown in points: a known fraction metric whose values
    all lie in [0, 1], or any metric whose do (an unknown name).

    >>> is_fraction("accuracy", [0.5, 0.9]), is_fraction("mae", [0.5, 0.9]), is_fraction("foo", [0.2, 3.0])
    (True, False, False)
    """
    array = np.asarray([np.nan if v is None else v for v in values] if isinstance(values, list) else values,
                       dtype=np.float64)
    finite = array[np.isfinite(array)]
    inside = bool(finite.size == 0 or (finite.min() >= 0.0 and finite.max() <= 1.0))
    if direction_of(name) is not None:
        return inside and bool(_FRACTION.match(_PREFIXES.sub("", name.lower())))
    return inside
