"""The comparison of runs: one place computes every number of the report.

`compare_runs` turns `RunLog`s into a `Comparison`: per-run numbers, means
and spreads per configuration (runs that differ only by seed), changes
against a baseline, and the verdict. The terminal table, the JSON, CSV and
Markdown, the plot and the TensorBoard dashboard all render this object.
"""

import dataclasses
import json
import math
import os
import re

import numpy as np

from l2board.log_format import tags
from l2board.errors import L2BoardError
from l2board.analysis.overfitting import (
    best_index,
    difference_is_resolved,
    early_stopping_epoch,
    generalization_gap,
    generalization_loss,
    mean_and_std,
    overfitting_onset,
)
from l2board.log_format.regularization_setup import RegularizationSetup

REPORT_FORMAT_VERSION = 1
DEFAULT_PATIENCE = 5
UNKNOWN_SETUP = "regularization unknown (not logged by L2Monitor)"
# Metrics of Keras's epoch logs that are not model-quality metrics.
_NOT_METRICS = {"loss", "learning_rate", "steps_per_second", "data_loss", "penalty", "penalty_share"}
_SEED_SUFFIX = re.compile(r"^(?P<config>.*?)[-_.]?seed[-_=]?\d+$", re.IGNORECASE)


def reads_tag(tag):
    """Whether `analyze_run` reads a scalar tag; readers may skip the others.

    Example:

    >>> reads_tag("epoch_data_loss"), reads_tag("weight_norm/l1/conv1/kernel"), reads_tag("val_loss")
    (True, False, True)
    """
    return ("/" not in tag  # epoch_<metric>, and TF1-style flat tags
            or tag.startswith((tags.NORM_TOTAL, tags.NORM_PREFIX + "l2/")))


def _lookup(run, folder, name):
    """The epoch series of a metric: `epoch_<name>`, or `<name>` (TF1 style)."""
    return run.scalar(folder, tags.EPOCH_PREFIX + name) or run.scalar(folder, name)


def metrics_of(run):
    """Returns the metric names a run logs for both training and validation."""
    names = set()
    for folder, tag in run.scalars:
        if folder != tags.TRAIN_DIR:
            continue
        name = tag[len(tags.EPOCH_PREFIX):] if tag.startswith(tags.EPOCH_PREFIX) else tag
        if "/" in name or name in _NOT_METRICS:
            continue
        if _lookup(run, tags.VALIDATION_DIR, name) is not None:
            names.add(name)
    return names


def choose_metric(runs, requested=None):
    """Chooses the accuracy-like metric all runs share.

    Args:
        runs: the `RunLog`s.
        requested: a metric name the user asked for, or `None`.

    Returns:
        The metric name, or `None` when no run logs an accuracy-like metric
        (a regression, say: the report then compares losses only).

    Raises:
        L2BoardError: when the requested metric is missing from a run, or
            some runs log an accuracy-like metric but not one they all share.
    """
    per_run = [(run.name, metrics_of(run)) for run in runs]
    if requested:
        for name, metrics in per_run:
            if requested not in metrics:
                have = ", ".join(sorted(metrics)) or "no metric besides the loss"
                raise L2BoardError(
                    f"Run '{name}' has no metric '{requested}' for both training and validation; it has: {have}.")
        return requested
    common = set.intersection(*(m for _, m in per_run)) if per_run else set()
    if "accuracy" in common:
        return "accuracy"
    accuracy_like = sorted(m for m in common if "acc" in m)
    if accuracy_like:
        return accuracy_like[0]
    if any(any("acc" in m for m in metrics) for _, metrics in per_run):
        logged = "; ".join(f"'{name}' logs {', '.join(sorted(metrics)) or 'only the loss'}" for name, metrics in per_run)
        raise L2BoardError(f"The runs share no accuracy metric to compare: {logged}.")
    return None


@dataclasses.dataclass
class RunReport:
    """The numbers of one run. Accuracies are fractions; `_pp` values are
    accuracy points (0-100 scale), `_percent` values percentages; losses are
    in the loss's units; epochs are 0-based, as Keras logs them.
    """

    name: str
    path: str
    label: str
    configuration: str
    logged_by_l2monitor: bool
    metric: str | None
    epochs: int
    last_epoch: int | None
    final_train_metric: float | None = None
    final_val_metric: float | None = None
    best_val_metric: float | None = None
    best_epoch: int | None = None
    train_metric_at_best: float | None = None
    metric_gap_final_pp: float | None = None
    metric_gap_best_pp: float | None = None
    final_train_data_loss: float | None = None
    final_val_data_loss: float | None = None
    data_loss_gap_final: float | None = None
    data_loss_gap_best: float | None = None
    onset_epoch: int | None = None
    min_val_data_loss: float | None = None
    rise_after_onset: float | None = None
    generalization_loss_percent: float | None = None
    early_stopping_epoch: int | None = None
    early_stopping_monitor: str | None = None
    final_penalty: float | None = None
    final_penalty_share_percent: float | None = None
    final_weight_l2: float | None = None
    final_init_distance: float | None = None
    layer_weight_l2: dict = dataclasses.field(default_factory=dict)
    complete: bool | None = None
    diverged_epoch: int | None = None
    setup: dict | None = None
    curves: dict = dataclasses.field(default_factory=dict)
    missing: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)


# The numbers that are averaged per configuration and compared with the baseline.
SUMMARY_FIELDS = (
    "final_train_metric", "final_val_metric", "best_val_metric", "best_epoch",
    "metric_gap_final_pp", "metric_gap_best_pp", "final_train_data_loss", "final_val_data_loss",
    "data_loss_gap_final", "data_loss_gap_best", "onset_epoch", "rise_after_onset",
    "generalization_loss_percent", "early_stopping_epoch", "final_penalty",
    "final_penalty_share_percent", "final_weight_l2", "final_init_distance",
)


# Per-variable weight norms join the summary numbers under this prefix.
LAYER_NORM_PREFIX = "weight_l2/"


def _aligned(a, b):
    """Values of two series at the steps both have."""
    common, ia, ib = np.intersect1d(a.steps, b.steps, return_indices=True)
    return common, a.values[ia], b.values[ib]


def _last(series):
    return None if series is None or not len(series) else series.last()


def _finite_or_none(value):
    return None if value is None or not math.isfinite(value) else float(value)


# Measures of overfitting that a diverged run does not get.
_OVERFITTING_FIELDS = (
    "metric_gap_final_pp", "metric_gap_best_pp", "data_loss_gap_final", "data_loss_gap_best", "onset_epoch",
    "min_val_data_loss", "rise_after_onset", "generalization_loss_percent", "early_stopping_epoch",
)


def _divergence(run):
    """The first epoch at which a loss of the run is NaN or infinite, or None."""
    first = None
    for folder in (tags.TRAIN_DIR, tags.VALIDATION_DIR):
        for name in ("loss", "data_loss"):
            series = _lookup(run, folder, name)
            if series is None:
                continue
            bad = ~np.isfinite(series.values)
            if bad.any():
                epoch = int(series.steps[np.argmax(bad)])
                first = epoch if first is None else min(first, epoch)
    return first


def configuration_of(name):
    """Returns the configuration a run belongs to: its name without a seed suffix.

    Runs named `l2-0.01-seed0`, `l2-0.01_seed1` (or folders `l2-0.01/seed2`)
    are seeds of one configuration when their regularization labels agree too
    (see `summarize_configurations`).

    Example:

    >>> configuration_of("exp/l2-0.01-seed3"), configuration_of("exp/l2-0.01/seed3")
    ('exp/l2-0.01', 'exp/l2-0.01')
    """
    match = _SEED_SUFFIX.match(name)
    base = match.group("config") if match else name
    return base.rstrip("/-_.") or name


def _no_validation_values(run):
    """The error for a run without validation values: what went wrong, if something did."""
    troubles = run.troubles_in(tags.VALIDATION_DIR)
    if not troubles:
        return (f"Run '{run.name}' has no validation values; train it with validation data "
                "(validation_data or validation_split) to measure overfitting.")
    named = ", ".join(f"{os.path.relpath(t.path, run.path)} {t.in_brief()}" for t in troubles)
    return f"Run '{run.name}' has no readable validation values: {named}."


def analyze_run(run, metric, patience=DEFAULT_PATIENCE):
    """Computes the numbers of one run.

    Args:
        run: a `RunLog`.
        metric: the accuracy-like metric to use, or `None` (losses only).
        patience: the `EarlyStopping` patience to replay.

    Returns:
        A `RunReport`.

    Raises:
        L2BoardError: when the run has no validation values at all (naming
            the files that could have held them but were damaged, unreadable
            or skipped, if any).
    """
    train, validation = tags.TRAIN_DIR, tags.VALIDATION_DIR
    val_loss = _lookup(run, validation, "loss")
    if val_loss is None and (metric is None or _lookup(run, validation, metric) is None):
        raise L2BoardError(_no_validation_values(run))
    setup_json = run.latest_text(train, tags.SETUP_JSON)
    setup = None
    if setup_json:
        try:
            setup = json.loads(setup_json)
            label = RegularizationSetup.from_dict(setup).label
        except (ValueError, TypeError):
            setup, label = None, UNKNOWN_SETUP
    else:
        label = UNKNOWN_SETUP
    by_l2monitor = run.scalar(train, tags.DATA_LOSS) is not None
    report = RunReport(name=run.name, path=run.path, label=label, configuration=configuration_of(run.name),
                       logged_by_l2monitor=by_l2monitor, metric=metric, epochs=0, last_epoch=None, setup=setup)
    report.warnings = [note.describe() for note in run.notes()]

    curves = {}
    if metric is not None:
        train_metric, val_metric = _lookup(run, train, metric), _lookup(run, validation, metric)
        steps, train_values, val_values = _aligned(train_metric, val_metric)
        if len(steps):
            gap = generalization_gap(train_values, val_values) * 100.0
            best = best_index(val_values, higher_is_better=True)
            report.final_train_metric = float(train_values[-1])
            report.final_val_metric = float(val_values[-1])
            report.metric_gap_final_pp = float(gap[-1])
            if best is not None:
                report.best_val_metric = float(val_values[best])
                report.best_epoch = int(steps[best])
                report.train_metric_at_best = float(train_values[best])
                report.metric_gap_best_pp = float(gap[best])
            curves.update({
                "metric_epochs": steps.tolist(), "train_metric": train_values.tolist(),
                "val_metric": val_values.tolist(), "metric_gap_pp": gap.tolist(),
            })
    else:
        report.missing.append("no accuracy-like metric shared by all runs: gaps are measured on losses only")

    train_data, val_data = run.scalar(train, tags.DATA_LOSS), run.scalar(validation, tags.DATA_LOSS)
    if train_data is not None and val_data is not None:
        steps, train_values, val_values = _aligned(train_data, val_data)
        if len(steps):
            loss_gap = generalization_gap(val_values, train_values)
            report.final_train_data_loss = float(train_values[-1])
            report.final_val_data_loss = float(val_values[-1])
            report.data_loss_gap_final = float(loss_gap[-1])
            if report.best_epoch is not None and report.best_epoch in steps:
                report.data_loss_gap_best = float(loss_gap[list(steps).index(report.best_epoch)])
            onset = overfitting_onset(val_values)
            if onset is not None:
                report.onset_epoch = int(steps[onset])
                report.min_val_data_loss = float(val_values[onset])
                report.rise_after_onset = float(val_values[-1] - val_values[onset])
            report.generalization_loss_percent = _finite_or_none(generalization_loss(val_values))
            curves.update({
                "data_loss_epochs": steps.tolist(), "train_data_loss": train_values.tolist(),
                "val_data_loss": val_values.tolist(), "data_loss_gap": loss_gap.tolist(),
            })
    else:
        report.missing.append(
            "data loss: Keras adds the penalties to loss and val_loss, so without L2Monitor's "
            "epoch_data_loss the loss without regularization is unknown (no overfitting onset, "
            "generalization loss or data-loss gap)")

    if val_loss is not None and len(val_loss):
        # EarlyStopping monitors val_loss as Keras logs it, penalty included.
        report.early_stopping_epoch = early_stopping_epoch(val_loss.values, patience, epochs=val_loss.steps)
        report.early_stopping_monitor = "val_loss"
        curves.update({"val_loss_epochs": val_loss.steps.tolist(), "val_loss": val_loss.values.tolist()})

    epochs = set()
    for folder_tag, series in run.scalars.items():
        if folder_tag[0] in (train, validation) and folder_tag[1].startswith(tags.EPOCH_PREFIX):
            epochs.update(series.steps.tolist())
    report.epochs = len(epochs)
    report.last_epoch = max(epochs) if epochs else None
    if by_l2monitor:
        ends = run.texts.get((train, tags.TRAINING_END), [])
        report.complete = bool(ends) and report.last_epoch is not None and ends[-1][0] >= report.last_epoch
        if not report.complete:
            report.missing.append(f"training did not finish: the log stops after epoch {report.last_epoch} "
                                  "without L2Monitor's end-of-training record (killed, crashed or interrupted)")
    report.diverged_epoch = _divergence(run)
    if report.diverged_epoch is not None:
        for field in _OVERFITTING_FIELDS:
            setattr(report, field, None)
        report.missing.append(f"diverged: the loss is not finite from epoch {report.diverged_epoch} on, "
                              "so no gap, onset or generalization loss is computed")

    penalty, share = run.scalar(train, tags.PENALTY), run.scalar(train, tags.PENALTY_SHARE)
    norm, distance = run.scalar(train, tags.norm_total("l2")), run.scalar(train, tags.norm_total("init_distance"))
    report.final_penalty = _last(penalty)
    report.final_penalty_share_percent = None if share is None else _finite_or_none(100.0 * share.last())
    report.final_weight_l2 = _last(norm)
    report.final_init_distance = _last(distance)
    prefix = tags.NORM_PREFIX + "l2/"
    report.layer_weight_l2 = {tag[len(prefix):]: s.last() for (folder, tag), s in sorted(run.scalars.items())
                              if folder == train and tag.startswith(prefix) and len(s)}
    for name, series in (("penalty", penalty), ("weight_l2", norm)):
        if series is not None:
            curves[name + "_epochs"] = series.steps.tolist()
            curves[name] = series.values.tolist()
    if norm is None:
        report.missing.append("weight norms and penalties are logged by L2Monitor only")
    report.curves = curves
    return report


@dataclasses.dataclass
class ConfigurationReport:
    """Mean and sample standard deviation of each summary number over a configuration's runs."""

    name: str
    label: str
    runs: list
    mean: dict
    std: dict
    diverged: bool = False


@dataclasses.dataclass
class Change:
    """How a configuration differs from the baseline in one number."""

    field: str
    baseline: float | None
    value: float | None
    difference: float | None
    relative_percent: float | None
    resolved: bool | None


@dataclasses.dataclass
class Comparison:
    """Everything `l2board compare` reports."""

    metric: str | None
    patience: int
    baseline: str
    runs: list
    configurations: list
    changes: dict
    verdict: list
    warnings: list

    def to_dict(self):
        """Returns the documented JSON structure (docs/compare-json.md)."""
        data = dataclasses.asdict(self)
        data["format_version"] = REPORT_FORMAT_VERSION
        return _clean(data)

    def to_json(self):
        """Returns `to_dict()` as JSON text (NaN and infinities as null)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)


def _clean(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def summarize_configurations(reports):
    """Groups runs into configurations and averages their numbers."""
    groups = {}
    for report in reports:
        groups.setdefault((report.configuration, report.label), []).append(report)
    configurations = []
    names = [name for name, _ in groups]
    for (name, label), members in groups.items():
        if names.count(name) > 1:  # same name pattern, different setups: keep apart
            name = f"{name} [{label}]"
        mean, std = {}, {}
        for field in SUMMARY_FIELDS:
            mean[field], std[field] = mean_and_std([getattr(m, field) for m in members])
        for variable in sorted(set.intersection(*(set(m.layer_weight_l2) for m in members))):
            field = LAYER_NORM_PREFIX + variable
            mean[field], std[field] = mean_and_std([m.layer_weight_l2[variable] for m in members])
        configurations.append(ConfigurationReport(name, label, [m.name for m in members], mean, std,
                                                  diverged=any(m.diverged_epoch is not None for m in members)))
    return configurations


def compare_configurations(baseline, other):
    """Returns `{field: Change}` of `other` against `baseline`."""
    changes = {}
    for field in other.mean:
        a, b = baseline.mean.get(field), other.mean[field]
        if a is None or b is None:
            changes[field] = Change(field, a, b, None, None, None)
            continue
        relative = 100.0 * (b - a) / abs(a) if a else None
        resolved = difference_is_resolved(a, baseline.std.get(field), b, other.std[field])
        changes[field] = Change(field, a, b, b - a, relative, resolved)
    return changes


def _fmt_pct(fraction):
    return f"{100 * fraction:.1f}%"


def _signed(value, unit):
    text = f"{abs(value):.1f} {unit}".strip() if unit else f"{abs(value):.3f}"
    return ("+" if value >= 0 else "-") + text


def _plain(value, unit):
    return f"{value:.1f} {unit}".strip() if unit else f"{value:.3f}"


def _direction(difference, unit):
    if unit == "pp" and abs(difference) < 1.0:
        return "overfits about as much as"
    return "overfits less than" if difference < 0 else "overfits more than"


def verdict_sentences(baseline, other, changes, metric):
    """Writes the verdict on `other` against `baseline` in one or two sentences.

    The overfitting measure is the final accuracy gap (or, without an
    accuracy-like metric, the data-loss gap), seconded by Prechelt's
    generalization loss of the validation data loss. With several seeds per
    configuration, a difference is claimed only beyond the seed-to-seed
    spread; with one, the verdict says it is unreplicated.
    """
    replicated = len(baseline.runs) > 1 and len(other.runs) > 1
    diverged = [c.name for c in (other, baseline) if c.diverged]
    if diverged:
        return [f"{' and '.join(diverged)} diverged (the loss became NaN or infinite), so "
                f"{other.name} and {baseline.name} cannot be compared on overfitting."]
    gap = changes["metric_gap_final_pp"]
    measure, unit = ("final accuracy gap" if metric and "acc" in metric else f"final {metric} gap"), "pp"
    if gap.difference is None:
        gap = changes["data_loss_gap_final"]
        measure, unit = "final data-loss gap (validation minus training)", ""
    if gap.difference is None:
        return [f"{other.name} and {baseline.name} cannot be compared on overfitting: "
                "neither an accuracy-like metric nor L2Monitor's data loss is shared."]
    gl = changes["generalization_loss_percent"]
    has_gl = gl.difference is not None
    gap_text = f"{measure} {_plain(gap.value, unit)} against {_plain(gap.baseline, unit)} ({_signed(gap.difference, unit)}"
    gl_text = (f"validation data loss ended {gl.value:.0f}% above its minimum against {gl.baseline:.0f}% "
               f"({_signed(gl.difference, 'pp')}") if has_gl else ""
    if not replicated:
        first = f"{other.name} {_direction(gap.difference, unit)} {baseline.name}: {gap_text})"
        first += f", {gl_text})" if has_gl else ""
        first += "; unreplicated: one run per configuration."
    else:
        def spread(change, unit_):
            width = math.hypot(baseline.std.get(change.field) or 0.0, other.std.get(change.field) or 0.0)
            where = "beyond" if change.resolved else "within"
            return f", {where} the seed-to-seed spread of ±{_plain(width, unit_)})"

        gap_part = gap_text + spread(gap, unit)
        gl_part = gl_text + spread(gl, "pp") if has_gl else ""
        if gap.resolved:
            first = f"{other.name} {_direction(gap.difference, unit)} {baseline.name}: {gap_part}"
            first += f"; {gl_part}." if has_gl else "."
        elif has_gl and gl.resolved:
            less = "less" if gl.difference < 0 else "more"
            first = (f"{other.name} overfits {less} than {baseline.name} by its validation data loss, which "
                     f"{gl_part[len('validation data loss '):]}; its {gap_part}.")
        else:
            first = f"{other.name} and {baseline.name} overfit alike: {gap_part}"
            first += f"; {gl_part}." if has_gl else "."
    sentences = [first]
    val = changes["final_val_metric"]
    if val.difference is not None:
        points = 100.0 * val.difference
        if abs(points) < 0.05:
            sentences.append(f"Final validation {metric} is unchanged ({_fmt_pct(val.value)}).")
        else:
            verb = "cost" if points < 0 else "gained"
            spread_note = ""
            if replicated:
                width = 100.0 * math.hypot(baseline.std.get(val.field) or 0.0, other.std.get(val.field) or 0.0)
                spread_note = f", {'beyond' if val.resolved else 'within'} the spread of ±{width:.1f} pp"
            sentences.append(f"It {verb} {abs(points):.1f} pp of final validation {metric} "
                             f"({_fmt_pct(val.value)} against {_fmt_pct(val.baseline)}{spread_note}).")
    return sentences


def compare_runs(runs, baseline=None, metric=None, patience=DEFAULT_PATIENCE):
    """Compares runs on overfitting.

    Args:
        runs: `RunLog`s (see `l2board.reading.logs.read_runs`); the `notes` of a
            `RunLogs` become warnings too.
        baseline: the name of the run (or configuration) to compare against;
            default: the first run's configuration.
        metric: the accuracy-like metric; default: `accuracy`, or another
            accuracy-like metric all runs share.
        patience: the `EarlyStopping` patience to replay.

    Returns:
        A `Comparison`.

    Raises:
        L2BoardError: for runs without validation values, runs sharing no
            metric, or an unknown baseline.

    Example:

    ```python
    from l2board.reading.logs import read_runs
    comparison = compare_runs(read_runs(["runs/no_l2", "runs/l2"]))
    print(comparison.verdict)
    ```
    """
    if not runs:
        raise L2BoardError("No runs to compare.")
    if patience < 1:
        raise L2BoardError(f"The patience must be at least 1 epoch, got {patience}.")
    metric = choose_metric(runs, metric)
    reports = [analyze_run(run, metric, patience) for run in runs]
    configurations = summarize_configurations(reports)
    base = configurations[0]
    if baseline is not None:
        matches = [c for c in configurations if c.name == baseline or baseline in c.runs]
        if not matches:
            names = ", ".join(r.name for r in reports)
            raise L2BoardError(f"No run or configuration named '{baseline}'; the runs are: {names}.")
        base = matches[0]
    changes, verdict = {}, []
    for configuration in configurations:
        if configuration is base:
            continue
        changes[configuration.name] = compare_configurations(base, configuration)
        verdict.extend(verdict_sentences(base, configuration, changes[configuration.name], metric))
    if len(configurations) == 1:
        verdict.append(f"Only one configuration ({base.name}): nothing to compare it with.")
    # Folders that could not be searched for runs belong to no run.
    warnings = [w for r in reports for w in r.warnings if w] + [n.describe() for n in getattr(runs, "notes", ())]
    return Comparison(metric=metric, patience=patience, baseline=base.name, runs=reports,
                      configurations=configurations, changes=changes, verdict=verdict, warnings=warnings)
