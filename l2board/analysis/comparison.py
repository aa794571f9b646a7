"""The comparison of runs: one place computes every number of the report.

`compare_runs` turns `RunLog`s into a `Comparison`: per-run numbers (see
`run_analysis`), means and spreads per configuration (runs that differ only
by seed), changes against a baseline, and the verdicts (see `verdict`).
Runs that cannot be analysed are listed as skipped, with their reason. The
terminal table, the JSON, CSV and Markdown, the plot and the TensorBoard
dashboard all render this object (`l2board.rendering`), which holds
numbers and codes, never sentences.
"""

import dataclasses
import json
import math

import numpy as np

from l2board.analysis import claims
from l2board.analysis.changes import Change, change_of, compare_configurations  # noqa: F401 (callers import them here)
from l2board.analysis.factor_search import look_alpha
from l2board.analysis.metrics import MetricChoice, choose_metric, is_fraction
from l2board.analysis.notes import SkippedRun, record_note
from l2board.analysis.factor_sweep import factor_sweep
from l2board.analysis.overfitting import mean_and_std
from l2board.analysis.patience import MAX_PATIENCE
from l2board.analysis.run_analysis import (  # noqa: F401 (the names callers import from here)
    DATA_LOSS_BASES,
    DEFAULT_PATIENCE,
    UNKNOWN_SETUP,
    RunReport,
    analyze_run,
    configuration_of,
    lookup,
    no_shared_values_reason,
    no_validation_reason,
)
from l2board.analysis.verdict import decide, judge, nothing_to_compare
from l2board.errors import L2BoardError
from l2board.log_format import tags

# 2: `loss_basis`, `notes`, `verdicts` and `skipped` added; the loss
# measures of runs without L2Monitor's data loss are computed on their
# logged loss; `runs` and `configurations` put the baseline first.
# 3: every change has its 95% interval over seeds (`low`, `high`, `method`,
# `p_value`, `n_baseline`, `n_value`, `seeds_needed`) and `resolved` means
# the interval excludes zero; `sweep` and `recommendation` (the λ curve);
# runs have `seed`, `val_data_loss_at_stop` and `val_metric_at_stop`;
# configurations `values` and `seeds`; verdicts `val_data_loss`, no `spread`.
# 4: claims are adjusted together (`adjustment`; each change's `claimed`,
# `adjusted_*`, `outcome`, `practical_size`); verdicts' `direction` may be
# `unresolved`, and GL no longer decides it (`decided_by` is the measure or
# null); a non-finite value of one seed leaves that seed out of a paired
# difference instead of turning it into Welch's (`left_out`); `warnings`
# and runs' `warnings` are sentences made from `file_notes` (codes); `view`.
REPORT_FORMAT_VERSION = 4


def reads_tag(tag):
    """Whether `analyze_run` reads a scalar tag; readers may skip the others.

    Example:

    >>> reads_tag("epoch_data_loss"), reads_tag("weight_norm/l1/conv1/kernel"), reads_tag("val_loss")
    (True, False, True)
    """
    return ("/" not in tag  # epoch_<metric>, and TF1-style flat tags
            or tag.startswith((tags.NORM_TOTAL, tags.NORM_PREFIX + "l2/")))


# The numbers that are averaged per configuration and compared with the baseline.
SUMMARY_FIELDS = (
    "final_train_metric", "final_val_metric", "best_val_metric", "best_epoch",
    "metric_gap_final_pp", "metric_gap_best_pp", "final_train_data_loss", "final_val_data_loss",
    "data_loss_gap_final", "data_loss_gap_best", "onset_epoch", "rise_after_onset",
    "generalization_loss_percent", "early_stopping_epoch", "val_data_loss_at_stop", "val_metric_at_stop",
    "final_penalty", "final_penalty_share_percent", "final_weight_l2", "final_init_distance",
)
# The numbers a verdict and the report's intervals lead with.
HEADLINE_FIELDS = (
    "final_val_metric", "best_val_metric", "metric_gap_final_pp", "final_val_data_loss",
    "generalization_loss_percent", "early_stopping_epoch",
)


# Per-variable weight norms join the summary numbers under this prefix.
LAYER_NORM_PREFIX = "weight_l2/"


@dataclasses.dataclass
class ConfigurationReport:
    """Mean and sample standard deviation of each summary number over a configuration's runs.

    `values[field]` holds each run's number (in the order of `runs`, `None`
    where a run has none) and `seeds` each run's seed (`None` when its name
    gives none): what the intervals against the baseline are computed from.
    `hparams` are the hyperparameters its runs logged (the same for all).
    """

    name: str
    label: str
    runs: list
    mean: dict
    std: dict
    diverged: bool = False
    values: dict = dataclasses.field(default_factory=dict)
    seeds: list = dataclasses.field(default_factory=list)
    hparams: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Comparison:
    """Everything `l2board compare` reports, as numbers and codes.

    `runs` and `configurations` start with the baseline's. `verdicts` holds
    one `Verdict` per configuration compared with the baseline; `skipped`
    a `SkippedRun` for each run that could not be analysed. `file_notes`
    are `Note`s about damaged, skipped or restarted files (every run's, and
    folders that could not be searched). `sweep` is the `FactorSweep` (the
    λ curve and the recommended factor) when the configurations differ only
    in their L2 factor, else `None`. `family_size` is the number of claims
    adjusted together (Holm, at `alpha`); `metric_is_fraction` says
    whether the metric lies in [0, 1] (its gaps are then in points);
    `metric_choice` which way it is better, and which other metrics the
    runs log (a `MetricChoice`). `search_look` is the look of the λ search
    that made the runs (`None`: not a search's): its claims are tested at
    that look's level (`factor_search.look_alpha`). `l2board.rendering` words it all.
    """

    metric: str | None
    patience: int
    baseline: str
    runs: list
    configurations: list
    changes: dict
    verdicts: list
    file_notes: list
    skipped: list = dataclasses.field(default_factory=list)
    sweep: object = None
    family_size: int = 0
    alpha: float = claims.ALPHA
    metric_is_fraction: bool = True
    metric_choice: MetricChoice | None = None
    search_look: int | None = None


class NoRunToCompare(L2BoardError):
    """No run could be analysed; `skipped` holds each run's reason (`l2board.rendering.wording` words it)."""

    def __init__(self, skipped):
        super().__init__(f"None of the {len(skipped)} runs can be compared.")
        self.skipped = skipped


class SkippedBaseline(L2BoardError):
    """The baseline asked for is a run that was skipped; `run` is its `SkippedRun`."""

    def __init__(self, run):
        super().__init__(f"Run '{run.name}' cannot be the baseline: it was skipped.")
        self.run = run


def summarize_configurations(reports):
    """Groups runs into configurations and averages their numbers."""
    groups = {}
    for report in reports:
        # Runs with other hyperparameters are other configurations, whatever their names.
        key = (report.configuration, report.label, json.dumps(report.hparams, sort_keys=True))
        groups.setdefault(key, []).append(report)
    configurations = []
    names = [name for name, _, _ in groups]
    labels = [(name, label) for name, label, _ in groups]
    for (name, label, hparams), members in groups.items():
        if names.count(name) > 1:  # same name pattern, different setups: keep apart
            name = f"{name} [{label}]" if labels.count((name, label)) == 1 else f"{name} [{label}; {hparams}]"
        values = {field: [getattr(m, field) for m in members] for field in SUMMARY_FIELDS}
        for variable in sorted(set.intersection(*(set(m.layer_weight_l2) for m in members))):
            values[LAYER_NORM_PREFIX + variable] = [m.layer_weight_l2[variable] for m in members]
        mean, std = {}, {}
        for field, per_run in values.items():
            mean[field], std[field] = mean_and_std(per_run)
        configurations.append(ConfigurationReport(name, label, [m.name for m in members], mean, std,
                                                  diverged=any(m.diverged_epoch is not None for m in members),
                                                  values=values, seeds=[m.seed for m in members],
                                                  hparams=dict(members[0].hparams)))
    return configurations


def _screen(runs, metric, higher_is_better):
    """Splits runs into those that can be analysed and `SkippedRun`s; returns them with the `MetricChoice`."""
    skipped = []

    def keep(candidates, reason_of):
        kept = []
        for run in candidates:
            reason = reason_of(run)
            if reason is None:
                kept.append(run)
            else:
                skipped.append(SkippedRun(run.name, run.path, reason))
        if not kept:
            raise NoRunToCompare(skipped)
        return kept

    analysable = keep(runs, no_validation_reason)
    # Chosen among the runs that have validation values: a run without
    # any must not hide the metric the others share. Runs without the
    # metric stay, compared on their loss, unless they have no validation
    # loss either.
    choice = choose_metric(analysable, metric, higher_is_better)
    return keep(analysable, lambda run: no_shared_values_reason(run, choice.name)), skipped, choice


def _metric_values(runs, metric):
    """Every logged value of `metric`, training and validation, of every run, as one array."""
    arrays = [series.values for run in runs for folder in (tags.TRAIN_DIR, tags.VALIDATION_DIR)
              for series in [lookup(run, folder, metric)] if series is not None]
    return np.concatenate(arrays) if arrays else np.array([])


def _find_baseline(configurations, baseline, reports, skipped):
    """The baseline configuration: the one named `baseline`, or the first."""
    if baseline is None:
        return configurations[0]
    matches = [c for c in configurations if c.name == baseline or baseline in c.runs]
    if matches:
        return matches[0]
    for run in skipped:
        if run.name == baseline:
            raise SkippedBaseline(run)
    names = ", ".join(r.name for r in reports)
    raise L2BoardError(f"No run or configuration named '{baseline}'; the runs are: {names}.")


def _baseline_first(base, configurations, reports):
    """Configurations and runs in their order, with the baseline's first."""
    configurations = [base] + [c for c in configurations if c is not base]
    in_base = set(base.runs)
    reports = [r for r in reports if r.name in in_base] + [r for r in reports if r.name not in in_base]
    return configurations, reports


def _judge_all(base, configurations, reports, metric, higher_is_better=True):
    """The changes and verdict of every configuration against the baseline (directions decided later)."""
    members = {c.name: set(c.runs) for c in configurations}  # a set: 500 seeds of 20 configurations, 10,000 runs
    on_data_loss = {c.name: all(r.loss_basis in DATA_LOSS_BASES for r in reports if r.name in members[c.name])
                    for c in configurations}
    changes, verdicts = {}, []
    for configuration in configurations[1:]:
        changes[configuration.name] = compare_configurations(base, configuration)
        verdicts.append(judge(base, configuration, changes[configuration.name], metric,
                              loss_is_data_loss=on_data_loss[base.name] and on_data_loss[configuration.name],
                              metric_higher_is_better=higher_is_better))
    if len(configurations) == 1:
        verdicts.append(nothing_to_compare(base))
    return changes, verdicts


def _adjust_claims(base, verdicts, changes, sweep, fraction, alpha):
    """Sizes and adjusts every claim of the report together; then decides each verdict's direction.

    Returns the number of claims in the family.
    """
    family = []
    for verdict in verdicts:
        for change in verdict.claims():
            change.practical_size = claims.practical_size(change.field, base.mean, fraction)
            family.append(change)
    if sweep is not None:
        family += sweep.pair_changes()
    size = claims.adjust(family, alpha)
    for verdict in verdicts:
        decide(verdict)
    return size


def compare_reports(reports, skipped=(), baseline=None, metric=None, patience=DEFAULT_PATIENCE,
                    file_notes=(), alpha=claims.ALPHA, metric_choice=None, metric_is_fraction=True,
                    search_look=None):
    """The `Comparison` of analysed runs: configurations, changes, verdicts, λ curve, claims adjusted together.

    Args:
        reports: the `RunReport`s of the runs that could be analysed.
        skipped: the `SkippedRun`s of those that could not.
        baseline: the run or configuration to compare against (default: the first).
        metric: the metric the runs were analysed on, or `None`.
        patience: the EarlyStopping patience replayed.
        file_notes: `Note`s about the files read.
        alpha: the chance of any false direction among the report's claims.
        metric_choice: the `MetricChoice` the runs were analysed with.
        metric_is_fraction: whether the metric's gaps are in points.
        search_look: the look of the λ search the runs come from, or `None`.
    """
    configurations = summarize_configurations(reports)
    base = _find_baseline(configurations, baseline, reports, list(skipped))
    configurations, reports = _baseline_first(base, configurations, reports)
    higher = metric_choice.higher_is_better if metric_choice and metric_choice.name else True
    changes, verdicts = _judge_all(base, configurations, reports, metric, higher)
    sweep = factor_sweep(configurations, reports, metric)
    family = _adjust_claims(base, verdicts, changes, sweep, metric_is_fraction, alpha)
    return Comparison(metric=metric, patience=patience, baseline=base.name, runs=reports,
                      configurations=configurations, changes=changes, verdicts=verdicts,
                      file_notes=list(file_notes), skipped=list(skipped), sweep=sweep, family_size=family,
                      alpha=alpha, metric_is_fraction=metric_is_fraction, metric_choice=metric_choice,
                      search_look=search_look)


def compare_runs(runs, baseline=None, metric=None, patience=DEFAULT_PATIENCE, loss_includes_penalty=None,
                 higher_is_better=None):
    """Compares runs on overfitting.

    Args:
        runs: `RunLog`s (see `l2board.reading.logs.read_runs`); the `notes` of a
            `RunLogs` become file notes too.
        baseline: the name of the run (or configuration) to compare against;
            default: the first run's configuration.
        metric: the metric to compare; default: the accuracy-like metric
            the most runs log (`accuracy` on ties), else another whose
            direction is known (`l2board.analysis.metrics`); runs without it
            are compared on their loss, with a note.
        patience: the `EarlyStopping` patience to replay.
        loss_includes_penalty: for runs without L2Monitor's data loss, whether
            their logged loss includes the penalties; `None` (unknown): their
            loss measures are computed on it all the same, with a note.
        higher_is_better: which way `metric` is better, when its name does
            not say (`None`: known from the name, or refused).

    Returns:
        A `Comparison`; runs that cannot be analysed are in its `skipped`.

    Raises:
        L2BoardError: when no run can be analysed (`NoRunToCompare`), no
            run logs the requested metric, or for an unknown or skipped
            baseline (`SkippedBaseline`).

    Example:

    ```python
    from l2board.reading.logs import read_runs
    from l2board.rendering.wording import verdict_sentences
    comparison = compare_runs(read_runs(["runs/no_l2", "runs/l2"]))
    print(verdict_sentences(comparison))
    ```
    """
    if not runs:
        raise L2BoardError("No runs to compare.")
    if not 1 <= patience <= MAX_PATIENCE:
        raise L2BoardError(f"The patience must be from 1 to {MAX_PATIENCE:,} epochs, got {patience}.")
    analysable, skipped, choice = _screen(runs, metric, higher_is_better)
    fraction = choice.name is None or is_fraction(choice.name, _metric_values(analysable, choice.name))
    reports = [analyze_run(run, choice.name, patience, loss_includes_penalty=loss_includes_penalty,
                           higher_is_better=choice.higher_is_better is not False,
                           metric_scale=100.0 if fraction else 1.0)
               for run in analysable]
    # Every run's file notes, skipped runs' too; folders that could not be
    # searched for runs belong to no run.
    records = [record for run in runs for record in run.notes()] + list(getattr(runs, "notes", ()))
    look = search_look(analysable)
    return compare_reports(reports, skipped, baseline=baseline, metric=choice.name, patience=patience,
                           file_notes=[record_note(record) for record in records], metric_choice=choice,
                           metric_is_fraction=fraction, search_look=look,
                           alpha=claims.ALPHA if look is None else look_alpha(look))


def search_look(runs):
    """The look of the λ search these runs are a state of: one more than the latest look that proposed one.

    `None` when no run records a search (`l2board/search_json`). Runs mixed
    with a search's are held to the search's level all the same: its
    looks are what the claims must pay for.
    """
    looks = []
    for run in runs:
        text = run.latest_text(tags.TRAIN_DIR, tags.SEARCH_JSON)
        try:
            record = json.loads(text) if text else None
        except ValueError:
            continue
        look = record.get("look") if isinstance(record, dict) else None
        if isinstance(look, int) and not isinstance(look, bool) and 0 <= look < 10_000:
            looks.append(look)
    return max(looks) + 1 if looks else None
