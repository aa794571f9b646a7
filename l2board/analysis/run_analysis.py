"""The numbers of one run: `analyze_run` turns a `RunLog` into a `RunReport`.

Each part answers one question about the run (how far apart are training
and validation on the metric, on the loss; when would EarlyStopping stop;
did training finish or diverge; what did regularization do to the
weights) and fills its fields of the report. What the logs cannot give is
a `Note` (a code and its numbers); `l2board.rendering.wording` words it.
"""

import dataclasses
import functools
import json
import math
import re

import numpy as np

from l2board.analysis.metrics import metrics_of
from l2board.analysis.notes import Note, record_note
from l2board.analysis.overfitting import (
    best_index,
    early_stopping_epoch,
    generalization_gap,
    generalization_loss,
    overfitting_onset,
)
from l2board.log_format import tags
from l2board.reading.roles import unrecognised_tags
from l2board.log_format.regularization_setup import RegularizationSetup
from l2board.analysis.patience import DEFAULT_PATIENCE

UNKNOWN_SETUP = "regularization unknown (not logged by L2Monitor)"
UNREADABLE_SETUP = "regularization unknown (its logged setup cannot be read)"
_SEED_SUFFIX = re.compile(r"^(?P<config>.*?)[-_.]?seed[-_=]?(?P<seed>\d+)$", re.IGNORECASE)
# KerasTuner's executions of a trial (`<trial_id>/execution<N>`): repeats of
# one configuration, from unrelated initial weights (never paired).
_EXECUTION_SUFFIX = re.compile(r"^(?P<config>.*?)[-_./]?execution[-_=]?\d+$", re.IGNORECASE)

# What the loss measures (onset, GL, loss gaps) of a run were computed on.
DATA_LOSS = "data_loss"  # L2Monitor's epoch_data_loss: penalties excluded, exactly
LOGGED_LOSS = "logged_loss"  # the loss as logged; whether it includes penalties is unknown
LOGGED_LOSS_WITH_PENALTY = "logged_loss_with_penalty"  # the user said it includes them
LOGGED_LOSS_WITHOUT_PENALTY = "logged_loss_without_penalty"  # the user said it is the data loss
# The bases on which a loss measure is a measure of the data loss.
DATA_LOSS_BASES = (DATA_LOSS, LOGGED_LOSS_WITHOUT_PENALTY)


@dataclasses.dataclass
class RunReport:
    """The numbers of one run. Accuracies are fractions; `_pp` values are
    accuracy points (0-100 scale), `_percent` values percentages; losses are
    in the loss's units; epochs are 0-based, as Keras logs them.

    The `*_data_loss*` fields, `onset_epoch`, `rise_after_onset` and
    `generalization_loss_percent` are computed on the loss `loss_basis` names.
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
    val_data_loss_at_stop: float | None = None
    val_metric_at_stop: float | None = None
    seed: int | None = None
    hparams: dict = dataclasses.field(default_factory=dict)
    final_penalty: float | None = None
    final_penalty_share_percent: float | None = None
    final_weight_l2: float | None = None
    final_init_distance: float | None = None
    layer_weight_l2: dict = dataclasses.field(default_factory=dict)
    complete: bool | None = None
    diverged_epoch: int | None = None
    loss_basis: str | None = None
    setup: dict | None = None
    curves: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)
    file_notes: list = dataclasses.field(default_factory=list)


# Measures of overfitting that a diverged run does not get. The EarlyStopping
# replay keeps its epoch: Keras counts a NaN val_loss as an epoch without
# improvement (`early_stopping_epoch`), so where it stops is well defined.
_OVERFITTING_FIELDS = (
    "metric_gap_final_pp", "metric_gap_best_pp", "data_loss_gap_final", "data_loss_gap_best", "onset_epoch",
    "min_val_data_loss", "rise_after_onset", "generalization_loss_percent",
)

# A series whose last step is beyond this many times the other's (plus one)
# is on another step axis: torch loops log training per batch at the global
# step and validation per epoch, and pairing them by step would pair
# validation epoch 19 with training batch 19.
_STEP_AXIS_RATIO = 2


def configuration_of(name):
    """Returns the configuration a run belongs to: its name without a seed suffix.

    Runs named `l2-0.01-seed0`, `l2-0.01_seed1` (or folders `l2-0.01/seed2`)
    are seeds of one configuration when their regularization labels agree too
    (see `l2board.analysis.comparison.summarize_configurations`).

    Example:

    >>> configuration_of("exp/l2-0.01-seed3"), configuration_of("exp/l2-0.01/seed3")
    ('exp/l2-0.01', 'exp/l2-0.01')
    >>> configuration_of("tuning/0003/execution1")  # a KerasTuner trial's execution
    'tuning/0003'
    """
    match = _SEED_SUFFIX.match(name) or _EXECUTION_SUFFIX.match(name)
    base = match.group("config") if match else name
    return base.rstrip("/-_.") or name


def seed_of(name):
    """Returns the seed a run's name ends with, or `None`.

    Runs of two configurations with the same seed started from the same
    weights and saw the data in the same order (as `l2board experiment`
    runs them), which is what makes comparing them seed by seed legitimate.

    Example:

    >>> seed_of("exp/l2-0.01-seed3"), seed_of("exp/l2-0.01/seed_12"), seed_of("no_l2")
    (3, 12, None)
    """
    match = _SEED_SUFFIX.match(name)
    return int(match.group("seed")) if match else None


def lookup(run, folder, name):
    """The epoch series of a metric: `epoch_<name>`, or `<name>` (TF1 style)."""
    return run.scalar(folder, tags.EPOCH_PREFIX + name) or run.scalar(folder, name)


def no_validation_reason(run):
    """Why a run cannot be analysed at all (a `Note`), or `None` when it has validation values."""
    if run.refused is not None:  # the reader would have had to guess (`ambiguous_role`)
        return run.refused
    if lookup(run, tags.VALIDATION_DIR, "loss") is not None or metrics_of(run):
        return None
    troubles = run.troubles_in(tags.VALIDATION_DIR)
    if troubles:
        return Note("unreadable_validation", files=[record_note(t, relative_to=run.path).to_dict() for t in troubles])
    if not run.scalars:
        # Empty or header-only files, or only histograms (images, ...): no
        # amount of validation data would make these comparable.
        return Note("no_scalars", event_files=run.event_files, other_kinds=sorted(set(run.other_tags.values())))
    unknown = unrecognised_tags(run)
    if unknown:
        return Note("unrecognised", tags=unknown)
    return Note("no_validation", tags=sorted(f"{folder}/{tag}" if folder else tag for folder, tag in run.scalars))


def no_shared_values_reason(run, metric):
    """A `Note` when a run has neither a validation loss nor the compared metric, else `None`."""
    if lookup(run, tags.VALIDATION_DIR, "loss") is None and (
            metric is None or lookup(run, tags.VALIDATION_DIR, metric) is None):
        return Note("no_shared_values", metric=metric)
    return None


def steps_differ(train, validation):
    """Whether a training and a validation series are on different step axes, so must not be paired.

    They are when one's last step is more than `_STEP_AXIS_RATIO` times the
    other's (per batch against per epoch), or when they share fewer than
    half the steps of the shorter one (nothing much to pair).

    Example:

    >>> from l2board.reading.run_model import Series
    >>> per_batch, per_epoch = Series(np.arange(200), np.zeros(200)), Series(np.arange(20), np.zeros(20))
    >>> steps_differ(per_batch, per_epoch), steps_differ(per_epoch, per_epoch)
    (True, False)
    """
    train_last, val_last = int(train.steps[-1]), int(validation.steps[-1])
    if max(train_last, val_last) > _STEP_AXIS_RATIO * (min(train_last, val_last) + 1):
        return True
    if np.array_equal(train.steps, validation.steps):
        return False
    shared = np.intersect1d(train.steps, validation.steps).size
    return shared < min(len(train), len(validation)) / 2


def _steps_differ_note(train, validation):
    return Note("steps_differ", train_last_step=int(train.steps[-1]), validation_last_step=int(validation.steps[-1]),
                train_points=len(train), validation_points=len(validation),
                shared=int(np.intersect1d(train.steps, validation.steps).size))


def _steps_paired(report):
    """False when the run's training and validation values were found on other step axes (not paired)."""
    return all(note.code != "steps_differ" for note in report.notes)


def _aligned(a, b):
    """Values of two series at the steps both have."""
    if np.array_equal(a.steps, b.steps):  # as most logs are: one value per epoch on both sides
        return a.steps, a.values, b.values
    common, ia, ib = np.intersect1d(a.steps, b.steps, return_indices=True)
    return common, a.values[ia], b.values[ib]


def _last(series):
    return None if series is None or not len(series) else series.last()


def _finite_or_none(value):
    return None if value is None or not math.isfinite(value) else float(value)


def _hparams(run):
    """The run's own hyperparameters (`l2board/hparams_json`), or `{}`."""
    text = run.latest_text(tags.TRAIN_DIR, tags.HPARAMS_JSON)
    try:
        values = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): v for k, v in values.items() if isinstance(v, tags.HPARAM_TYPES)} \
        if isinstance(values, dict) else {}


def _setup_and_label(run):
    """The run's logged regularization setup (a dict, or None), its label, and a note when it cannot be read."""
    setup_json = run.latest_text(tags.TRAIN_DIR, tags.SETUP_JSON)
    if not setup_json:
        return None, UNKNOWN_SETUP, None
    return _read_setup(setup_json)


@functools.lru_cache(maxsize=256)
def _read_setup(setup_json):
    """A setup text read once: the seeds of a configuration log the same one (the dict is shared, read only)."""
    try:
        setup = json.loads(setup_json)
        return setup, RegularizationSetup.from_dict(setup).label, None
    except (ValueError, TypeError) as error:
        # Logged, but damaged or written by hand: unknown all the same, and said so with why.
        return None, UNREADABLE_SETUP, Note("setup_unreadable", problem=str(error))


def _measure_metric(report, run, metric, higher_is_better, scale):
    """How far apart training and validation are on the metric.

    The gap is training minus validation for a metric where higher is
    better, validation minus training where lower is (positive: overfitting
    either way), times `scale` (100: points of a fraction). A run without the
    metric is compared on its loss (a note says so); without a training
    series on the validation's steps, only the validation numbers are computed.
    """
    if metric is None:
        report.notes.append(Note("no_metric"))
        return
    train_metric, val_metric = lookup(run, tags.TRAIN_DIR, metric), lookup(run, tags.VALIDATION_DIR, metric)
    if val_metric is None or not len(val_metric):
        report.notes.append(Note("metric_not_logged", metric=metric))
        return
    if train_metric is None or not len(train_metric):
        report.notes.append(Note("no_training_metric", metric=metric))
        _measure_validation_metric(report, val_metric, higher_is_better)
        return
    if steps_differ(train_metric, val_metric):
        report.notes.append(_steps_differ_note(train_metric, val_metric))
        _measure_validation_metric(report, val_metric, higher_is_better)
        return
    steps, train_values, val_values = _aligned(train_metric, val_metric)
    gap = (generalization_gap(train_values, val_values) if higher_is_better
           else generalization_gap(val_values, train_values)) * scale
    best = best_index(val_values, higher_is_better=higher_is_better)
    report.final_train_metric = float(train_values[-1])
    report.final_val_metric = float(val_values[-1])
    report.metric_gap_final_pp = float(gap[-1])
    if best is not None:
        report.best_val_metric = float(val_values[best])
        report.best_epoch = int(steps[best])
        report.train_metric_at_best = float(train_values[best])
        report.metric_gap_best_pp = float(gap[best])
    report.curves.update({
        "metric_epochs": steps.tolist(), "train_metric": train_values.tolist(),
        "val_metric": val_values.tolist(), "metric_gap_pp": gap.tolist(),
    })


def _measure_validation_metric(report, val_metric, higher_is_better):
    """The numbers of the metric that need its validation values only: final, best, and its epoch."""
    best = best_index(val_metric.values, higher_is_better=higher_is_better)
    report.final_val_metric = float(val_metric.values[-1])
    if best is not None:
        report.best_val_metric = float(val_metric.values[best])
        report.best_epoch = int(val_metric.steps[best])
    report.curves.update({"metric_epochs": val_metric.steps.tolist(), "val_metric": val_metric.values.tolist()})


def _losses_to_measure(report, run, loss_includes_penalty):
    """Which training and validation loss series the loss measures use; sets `loss_basis` and its note.

    L2Monitor's data loss where it was logged (exact); otherwise the loss
    as logged, which Keras's own loss includes the penalties in: the user
    may say whether it does (`loss_includes_penalty`), else a note says it may.
    """
    train, validation = tags.TRAIN_DIR, tags.VALIDATION_DIR
    if report.logged_by_l2monitor:
        report.loss_basis = DATA_LOSS
        return run.scalar(train, tags.DATA_LOSS), run.scalar(validation, tags.DATA_LOSS)
    train_loss, val_loss = lookup(run, train, "loss"), lookup(run, validation, "loss")
    if train_loss is None and val_loss is None:
        return None, None
    if loss_includes_penalty is None:
        report.loss_basis = LOGGED_LOSS
        report.notes.append(Note("loss_may_include_penalty"))
    elif loss_includes_penalty:
        report.loss_basis = LOGGED_LOSS_WITH_PENALTY
        report.notes.append(Note("loss_includes_penalty"))
    else:
        report.loss_basis = LOGGED_LOSS_WITHOUT_PENALTY
    return train_loss, val_loss


def _measure_loss(report, run, loss_includes_penalty):
    """Where overfitting sets in on the loss, how far it rises, and the gap between training and validation."""
    train_loss, val_loss = _losses_to_measure(report, run, loss_includes_penalty)
    if val_loss is None or not len(val_loss):
        report.notes.append(Note("no_validation_loss"))
        return
    if train_loss is None or not len(train_loss):
        report.notes.append(Note("no_training_loss"))
        _measure_validation_loss(report, val_loss)
        return
    if steps_differ(train_loss, val_loss):
        note = _steps_differ_note(train_loss, val_loss)
        if note not in report.notes:  # the metric's series said the same
            report.notes.append(note)
        _measure_validation_loss(report, val_loss)
        return
    steps, train_values, val_values = _aligned(train_loss, val_loss)
    loss_gap = generalization_gap(val_values, train_values)
    report.final_train_data_loss = float(train_values[-1])
    report.final_val_data_loss = float(val_values[-1])
    report.data_loss_gap_final = float(loss_gap[-1])
    if report.best_epoch is not None and report.best_epoch in steps:
        report.data_loss_gap_best = float(loss_gap[list(steps).index(report.best_epoch)])
    _measure_onset(report, steps, val_values)
    report.curves.update({
        "data_loss_epochs": steps.tolist(), "train_data_loss": train_values.tolist(),
        "val_data_loss": val_values.tolist(), "data_loss_gap": loss_gap.tolist(),
    })


def _measure_validation_loss(report, val_loss):
    """The numbers of the loss that need its validation values only: the final one, onset, GL, its curve.

    The same validation series gives them whether or not a training loss
    is paired with it (a training loss missing or logged per batch).
    """
    report.final_val_data_loss = float(val_loss.values[-1])
    _measure_onset(report, val_loss.steps, val_loss.values)
    report.curves.update({"data_loss_epochs": val_loss.steps.tolist(), "val_data_loss": val_loss.values.tolist()})


def _measure_onset(report, steps, val_values):
    """The overfitting onset (minimum validation loss), the rise after it, and Prechelt's GL."""
    onset = overfitting_onset(val_values)
    if onset is not None:
        report.onset_epoch = int(steps[onset])
        report.min_val_data_loss = float(val_values[onset])
        report.rise_after_onset = float(val_values[-1] - val_values[onset])
    report.generalization_loss_percent = _finite_or_none(generalization_loss(val_values))


def _replay_early_stopping(report, run, patience):
    """When `EarlyStopping(monitor="val_loss", patience=patience)` would have stopped."""
    val_loss = lookup(run, tags.VALIDATION_DIR, "loss")
    if val_loss is not None and len(val_loss):
        # EarlyStopping monitors val_loss as Keras logs it, penalty included.
        report.early_stopping_epoch = early_stopping_epoch(val_loss.values, patience, epochs=val_loss.steps)
        report.early_stopping_monitor = "val_loss"
        report.curves.update({"val_loss_epochs": val_loss.steps.tolist(), "val_loss": val_loss.values.tolist()})


def _at_stop(report):
    """The validation data loss and metric at the epoch EarlyStopping would stop at (the last one when it would not).

    What a user who trains with EarlyStopping keeps: the numbers a
    recommendation of the factor is made on.
    """
    for field, epochs, values in (("val_data_loss_at_stop", "data_loss_epochs", "val_data_loss"),
                                  ("val_metric_at_stop", "metric_epochs", "val_metric")):
        steps, series = report.curves.get(epochs), report.curves.get(values)
        if not steps or not series:
            continue
        stop = report.early_stopping_epoch
        # The last logged value at or before the stop.
        index = len(steps) - 1 if stop is None else max(
            (i for i, step in enumerate(steps) if step <= stop), default=None)
        if index is not None:
            setattr(report, field, _finite_or_none(series[index]))


def _count_epochs(report, run, metric):
    """How many epochs the run logged, and the last one.

    Epoch-level tags are `epoch_`-prefixed in Keras's logs; flat logs
    (`loss`, `val_loss`, TF1's `simple_value`) have only their loss and
    metric series to count from.
    """
    # Training steps that are batches, not epochs, are not counted.
    folders = (tags.TRAIN_DIR, tags.VALIDATION_DIR) if _steps_paired(report) else (tags.VALIDATION_DIR,)
    epochs = set()
    for (folder, tag), series in run.scalars.items():
        if folder in folders and tag.startswith(tags.EPOCH_PREFIX):
            epochs.update(series.steps.tolist())
    for folder in folders:
        for name in ("loss", "data_loss", metric):
            series = lookup(run, folder, name) if name else None
            if series is not None:
                epochs.update(series.steps.tolist())
    report.epochs = len(epochs)
    report.last_epoch = int(max(epochs)) if epochs else None


def _check_completion(report, run):
    """Whether L2Monitor recorded the end of training after the last epoch logged."""
    if not report.logged_by_l2monitor:
        return
    ends = run.texts.get((tags.TRAIN_DIR, tags.TRAINING_END), [])
    report.complete = bool(ends) and report.last_epoch is not None and ends[-1][0] >= report.last_epoch
    if not report.complete:
        report.notes.append(Note("incomplete", last_epoch=report.last_epoch))


def _divergence(run, folders):
    """The first epoch at which a loss of the run (in `folders`) is NaN or infinite, or None."""
    first = None
    for folder in folders:
        for name in ("loss", "data_loss"):
            series = lookup(run, folder, name)
            if series is None:
                continue
            bad = ~np.isfinite(series.values)
            if bad.any():
                epoch = int(series.steps[np.argmax(bad)])
                first = epoch if first is None else min(first, epoch)
    return first


def _check_divergence(report, run):
    """Whether a loss became NaN or infinite; a diverged run keeps only its EarlyStopping replay."""
    # Training steps that are batches are no epoch to name.
    folders = (tags.TRAIN_DIR, tags.VALIDATION_DIR) if _steps_paired(report) else (tags.VALIDATION_DIR,)
    report.diverged_epoch = _divergence(run, folders)
    if report.diverged_epoch is not None:
        for field in _OVERFITTING_FIELDS:
            setattr(report, field, None)
        report.notes.append(Note("diverged", epoch=report.diverged_epoch))


def _record_weights(report, run):
    """What regularization did to the weights: penalty, its share, norms, per variable."""
    train = tags.TRAIN_DIR
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
            report.curves[name + "_epochs"] = series.steps.tolist()
            report.curves[name] = series.values.tolist()
    if norm is None:
        report.notes.append(Note("no_weight_norms"))


def analyze_run(run, metric, patience=DEFAULT_PATIENCE, loss_includes_penalty=None, higher_is_better=True,
                metric_scale=100.0):
    """Computes the numbers of one run.

    Args:
        run: a `RunLog` with validation values (see `no_validation_reason`).
        metric: the metric to use, or `None` (losses only).
        patience: the `EarlyStopping` patience to replay.
        loss_includes_penalty: for a run without L2Monitor's data loss,
            whether its logged loss includes the penalties (`None`: unknown,
            and a note says the loss measures may include them).
        higher_is_better: which way the metric is better (its best value,
            and the sign of its gap).
        metric_scale: what the metric's gaps are multiplied by: 100 for a
            fraction (points), 1 for a metric in other units.

    Returns:
        A `RunReport`.
    """
    setup, label, unreadable = _setup_and_label(run)
    report = RunReport(name=run.name, path=run.path, label=label, configuration=configuration_of(run.name),
                       logged_by_l2monitor=run.scalar(tags.TRAIN_DIR, tags.DATA_LOSS) is not None,
                       metric=metric, epochs=0, last_epoch=None, setup=setup, seed=seed_of(run.name),
                       hparams=_hparams(run))
    report.file_notes = [record_note(record) for record in run.notes()]
    report.notes += list(run.read_notes) + ([unreadable] if unreadable else [])
    _measure_metric(report, run, metric, higher_is_better, metric_scale)
    _measure_loss(report, run, loss_includes_penalty)
    _replay_early_stopping(report, run, patience)
    _at_stop(report)
    _count_epochs(report, run, metric)
    _check_completion(report, run)
    _check_divergence(report, run)
    _record_weights(report, run)
    return report
