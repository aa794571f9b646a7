"""The words of the report: verdicts, notes and skip reasons as sentences.

The analysis returns numbers and codes (`Verdict`, `Note`, `SkippedRun`);
this module alone turns them into English, for the table, Markdown, CSV,
JSON, the plot and the TensorBoard tab. Nothing here computes a number or
decides anything: it words what the analysis decided.
"""

import math

from l2board.analysis.verdict import COMPARED, DIVERGED, GENERALIZATION_LOSS, METRIC_GAP, SINGLE

# Run notes: code -> sentence (no final period: notes are listed after run
# names, "a, b: <note>.") from the note's values.
_NOTES = {
    "no_metric": lambda v: "no run logs an accuracy-like metric: gaps are measured on losses only",
    "metric_not_logged": lambda v: (
        f"the validation {v['metric']} the other runs are compared on is not logged: {v['metric']} numbers are "
        "empty, and the run is compared on its loss"),
    "no_training_metric": lambda v: (
        f"no training {v['metric']} is logged: only the validation {v['metric']} is reported, without a gap"),
    "steps_differ": lambda v: (
        f"training values are logged at other steps (up to step {v['train_last_step']}) than validation values "
        f"(up to step {v['validation_last_step']}), so they are not paired: no training value or gap is "
        "computed, and epochs are counted from the validation values; log both per epoch, or at the same "
        "steps, to get them"),
    "loss_may_include_penalty": lambda v: (
        "regularization unknown (not logged by L2Monitor): overfitting onset, generalization loss and loss "
        "gaps are measured on the loss as logged, which may include penalties (Keras adds the penalties to "
        "loss and val_loss); l2board compare --loss-includes-penalty or --loss-excludes-penalty says which"),
    "loss_includes_penalty": lambda v: (
        "the logged loss includes the penalties (--loss-includes-penalty): overfitting onset, generalization "
        "loss and loss gaps are measured on it, penalties included"),
    "no_validation_loss": lambda v: (
        "no validation loss is logged: no overfitting onset, generalization loss or loss gap"),
    "no_training_loss": lambda v: "no training loss is logged: no loss gap",
    "incomplete": lambda v: (
        f"training did not finish: the log stops after epoch {v['last_epoch']} without L2Monitor's "
        "end-of-training record (killed, crashed or interrupted)"),
    "diverged": lambda v: (
        f"diverged: the loss is not finite from epoch {v['epoch']} on, so no gap, onset or generalization "
        "loss is computed"),
    "no_weight_norms": lambda v: "weight norms and penalties are logged by L2Monitor only",
}


def note_sentence(note):
    """Returns a run note as words, without a final period.

    Example:

    >>> from l2board.analysis.notes import Note
    >>> note_sentence(Note("diverged", epoch=3))
    'diverged: the loss is not finite from epoch 3 on, so no gap, onset or generalization loss is computed'
    """
    return _NOTES[note.code](note.values)


def _listing(names, most=12):
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


# Skip reasons: code -> predicate of a sentence about the run ("Run 'a' <predicate>.").
_SKIP_REASONS = {
    "no_validation": lambda v: (
        "has no validation values; train it with validation data (validation_data or validation_split) to "
        "measure overfitting" + (f" (its scalar tags: {', '.join(v['tags'])})" if v.get("tags") else "")),
    "unrecognised": lambda v: (
        "has no series recognised as the validation loss or metric (it needs a validation loss, or a metric "
        f"logged for training and validation) among its scalar tags {_listing(v['tags'])}; map them with "
        "--tag loss=TRAIN,VAL or --tag METRIC=TRAIN,VAL (docs/log-layouts.md lists the layouts recognised)"),
    "unreadable_validation": lambda v: "has no readable validation values: " + ", ".join(
        f"{f['path']} {f['problem']}" for f in v["files"]),
    "no_scalars": lambda v: (
        f"holds no scalar values, only {' and '.join(v['other_kinds'])}" if v["other_kinds"] else
        "holds no scalar values: its event file holds no summary" if v["event_files"] == 1 else
        f"holds no scalar values: its {v['event_files']} event files hold no summary"),
    "ambiguous_role": lambda v: (
        f"logs {len(v['tags'])} series that could be the {v['split']} {v['role']} ({', '.join(v['tags'])}); name "
        f"the pair to read with --tag {v['role']}=TRAIN,VAL"),
    "sampled": lambda v: (  # placeholder (issue 18): the L2 tab's only; the lead words it
        f"is a sample in TensorBoard ({v['kept']:,} points kept of {', '.join(v['series'])}), and its event files "
        "cannot be read here; start TensorBoard with --samples_per_plugin=scalars=0, or run l2board compare"),
    "no_shared_values": lambda v: (
        f"has neither a validation loss nor the validation {v['metric']} the other runs are compared on"
        if v["metric"] else "has no validation loss to compare"),
}


def skip_predicate(reason):
    """Returns why a run was skipped, as the predicate of a sentence about it."""
    return _SKIP_REASONS[reason.code](reason.values)


def skip_sentence(skipped):
    """Returns one sentence: the skipped run and why.

    Example:

    >>> from l2board.analysis.notes import Note, SkippedRun
    >>> skip_sentence(SkippedRun("a", "/runs/a", Note("no_scalars", event_files=1, other_kinds=["histograms"])))
    "Run 'a' holds no scalar values, only histograms."
    """
    return f"Run '{skipped.name}' {skip_predicate(skipped.reason)}."


def nothing_analysed(skipped):
    """Returns the one sentence of the error when no run can be analysed."""
    if len(skipped) == 1:
        return skip_sentence(skipped[0])
    reasons = "; ".join(f"'{s.name}' {skip_predicate(s.reason)}" for s in skipped)
    return f"None of the {len(skipped)} runs can be compared: {reasons}."


def _pct(fraction):
    return f"{100 * fraction:.1f}%"


def _signed(value, unit):
    text = f"{abs(value):.1f} {unit}".strip() if unit else f"{abs(value):.3f}"
    return ("+" if value >= 0 else "-") + text


def _plain(value, unit):
    return f"{value:.1f} {unit}".strip() if unit else f"{value:.3f}"


_DIRECTIONS = {"less": "overfits less than", "more": "overfits more than", "same": "overfits about as much as"}


def _measure_words(verdict):
    """The measure's name and unit ("pp" for accuracy points, "" for a loss)."""
    if verdict.measure == METRIC_GAP:
        metric = verdict.metric
        return ("final accuracy gap" if metric and "acc" in metric else f"final {metric} gap"), "pp"
    loss = "data-loss" if verdict.loss_is_data_loss else "loss"
    return f"final {loss} gap (validation minus training)", ""


def interval_words(change, unit="", scale=1.0):
    """The difference with its interval over seeds: `-0.31 [-0.45, -0.17], 3 seeds, paired`.

    When the interval holds zero, how many seeds per configuration would
    resolve a difference that large is said too.
    """
    if change.difference is None:
        return "not shared"
    text = _signed(scale * change.difference, unit)
    if change.method in (None, "unreplicated"):
        return text + ", unreplicated"
    number = "{:+.1f}" if unit else "{:+.3f}"
    seeds = (f"{change.n_baseline} seeds" if change.n_baseline == change.n_value
             else f"{change.n_value} and {change.n_baseline} seeds")
    text += (f" [{number.format(scale * change.low)}, {number.format(scale * change.high)}], {seeds}, "
             f"{'paired' if change.method == 'paired' else 'Welch'}")
    if change.resolved:
        return text
    if change.seeds_needed:
        return text + f"; {change.seeds_needed} seeds per configuration would resolve it"
    if change.low == change.high:
        return text + "; the same in every seed"
    return text + "; no number of seeds up to 1,000 would resolve it"


def _change_words(verdict, change, unit, scale=1.0):
    if verdict.replicated:
        return interval_words(change, unit, scale)
    return _signed(scale * change.difference, unit)


def _overfitting_sentence(verdict):
    """The first sentence: how the configuration overfits against the baseline, with the numbers."""
    other, base, gap, gl = verdict.configuration, verdict.baseline, verdict.gap, verdict.generalization_loss
    measure, unit = _measure_words(verdict)
    loss = "data loss" if verdict.loss_is_data_loss else "loss"
    gap_part = (f"{measure} {_plain(gap.value, unit)} against {_plain(gap.baseline, unit)} "
                f"({_change_words(verdict, gap, unit)})")
    gl_part = (f"validation {loss} ended {gl.value:.0f}% above its minimum against {gl.baseline:.0f}% "
               f"({_change_words(verdict, gl, 'pp')})") if gl is not None else ""
    if not verdict.replicated:
        first = f"{other} {_DIRECTIONS[verdict.direction]} {base}: {gap_part}"
        first += f", {gl_part}" if gl is not None else ""
        if gap.n_baseline > 1 or gap.n_value > 1:  # several runs, the measure in one of them
            alone = other if gap.n_value <= 1 else base
            return first + f"; unreplicated: only one run of {alone} has it."
        return first + "; unreplicated: one run per configuration."
    if verdict.decided_by == GENERALIZATION_LOSS:
        return (f"{other} overfits {verdict.direction} than {base} by its validation {loss}, which "
                f"{gl_part[len(f'validation {loss} '):]}; its {gap_part}.")
    if verdict.decided_by is None:
        first = f"{other} and {base} overfit alike: {gap_part}"
    else:
        first = f"{other} {_DIRECTIONS[verdict.direction]} {base}: {gap_part}"
    return first + (f"; {gl_part}." if gl is not None else ".")


def _metric_sentence(verdict):
    """The second sentence: what the configuration cost or gained in final validation metric, or None."""
    val, metric = verdict.final_val_metric, verdict.metric
    if val is None:
        return None
    points = 100.0 * val.difference
    interval = f"; {interval_words(val, 'pp', 100.0)}" if verdict.replicated else ""
    if abs(points) < 0.05:  # shown as 0.0 pp
        return f"Final validation {metric} is unchanged ({_pct(val.value)}{interval})."
    verb = "cost" if points < 0 else "gained"
    return (f"It {verb} {abs(points):.1f} pp of final validation {metric} "
            f"({_pct(val.value)} against {_pct(val.baseline)}{interval}).")


def _loss_sentence(verdict):
    """The third sentence, with seeds: the final validation data loss, with its interval."""
    change = verdict.val_data_loss
    if change is None or not verdict.replicated:
        return None
    loss = "data loss" if verdict.loss_is_data_loss else "loss"
    return (f"Final validation {loss} {_plain(change.value, '')} against {_plain(change.baseline, '')} "
            f"({interval_words(change)}).")


def verdict_of(verdict):
    """Returns one `Verdict` as one to three sentences."""
    other, base = verdict.configuration, verdict.baseline
    if verdict.kind == SINGLE:
        return [f"Only one configuration ({base}): nothing to compare it with."]
    if verdict.kind == DIVERGED:
        return [f"{' and '.join(verdict.diverged)} diverged (the loss became NaN or infinite), so "
                f"{other} and {base} cannot be compared on overfitting."]
    if verdict.kind != COMPARED:
        return [f"{other} and {base} cannot be compared on overfitting: "
                "they share neither an accuracy-like metric nor a training and validation loss."]
    others = [_metric_sentence(verdict), _loss_sentence(verdict)]
    return [_overfitting_sentence(verdict)] + [sentence for sentence in others if sentence]


def verdict_sentences(comparison):
    """Returns the verdict of a `Comparison`: one to three sentences per compared configuration."""
    return [sentence for verdict in comparison.verdicts for sentence in verdict_of(verdict)]


def _mean_words(interval):
    return mean_interval_words(interval) + (", one seed" if interval.low is None else f", {interval.n} seeds")


def sweep_sentences(comparison):
    """Returns the recommendation of a factor sweep as sentences (none without a sweep).

    Example: "Recommended L2 factor: 0.001, the lowest mean validation data
    loss at the EarlyStopping epoch (0.512 [0.480, 0.544], 3 seeds); by the
    one-standard-error rule, 0.01 (0.530 [...], 3 seeds), the largest factor
    within one standard error (0.021) of it."
    """
    sweep = comparison.sweep
    if sweep is None:
        return []
    points, chosen = sweep.points, sweep.recommendation
    best, one_se = points[chosen.best_index], points[chosen.one_se_index]
    sentences = [f"Recommended L2 factor: {factor_words(best.factor)}, the lowest mean validation data loss at the "
                 f"EarlyStopping epoch ({_mean_words(best.loss)})"]
    if best.loss.standard_error is None and best.runs == 1:
        sentences[0] += ("; with one seed per factor there is no standard error, so no one-standard-error choice "
                         "(--seeds 3 gives one).")
    elif best.loss.standard_error is None:
        sentences[0] += (f"; only one of its {best.runs} runs has a value there, so there is no standard error "
                         "and no one-standard-error choice.")
    elif one_se is best:
        sentences[0] += "; no larger factor is within one standard error of it (the one-standard-error rule)."
    else:
        sentences[0] += (f"; by the one-standard-error rule, {factor_words(one_se.factor)} ({_mean_words(one_se.loss)}), "
                         f"the largest factor within one standard error ({best.loss.standard_error:.3f}) of it: "
                         "as good within the noise, and more regularized.")
    grid = " ".join(f"--l2 {factor:g}" for factor in sweep.next_factors)
    try_next = f"; try {grid}." if grid else "."
    if chosen.edge == "largest":
        sentences.append("The best factor is the largest tried: the best may lie above it" + try_next)
    elif chosen.edge == "smallest" and best.factor == 0:
        smallest = min(p.factor for p in points if p.factor > 0)
        sentences.append(f"No L2 did best: a factor below {smallest:g}, the smallest tried, may still help, or "
                         "none at all" + try_next)
    elif chosen.edge == "smallest":
        sentences.append("The best factor is the smallest tried: the best may lie below it, or be no L2 at all"
                         + try_next)
    unsafe = [f"{factor_words(p.factor)} ({p.diverged} of {p.runs} runs diverged)" for p in points if p.diverged]
    if unsafe:
        sentences.append(f"Never recommended, as training diverged: {', '.join(unsafe)}.")
    return sentences


def factor_words(value):
    """An L2 factor as the report shows it: `0 (no L2)`, or the factor.

    Example:

    >>> factor_words(0.0), factor_words(0.001)
    ('0 (no L2)', '0.001')
    """
    return "0 (no L2)" if value == 0 else f"{value:g}"


def mean_interval_words(interval, scale=1.0, digits=3, unit=""):
    """A `MeanInterval` as `mean [low, high]` (the mean alone for one value, `n/a` for none).

    `scale` and `unit` show fractions as percentages (`100.0`, `"%"`); a
    number that is not finite is `n/a`, as the JSON's `null`.

    Example:

    >>> from l2board.analysis.statistics import MeanInterval
    >>> mean_interval_words(MeanInterval(0.62, 0.0115, 0.5703, 0.6697, 3))
    '0.620 [0.570, 0.670]'
    >>> mean_interval_words(MeanInterval(0.69, 0.0058, 0.6652, 0.7148, 3), 100.0, 1, "%")
    '69.0% [66.5%, 71.5%]'
    """
    def shown(value):
        if value is None or not math.isfinite(value):
            return "n/a"
        return f"{scale * value:.{digits}f}{unit}"

    if interval is None:
        return "n/a"
    if interval.low is None or interval.high is None:
        return shown(interval.mean)
    return f"{shown(interval.mean)} [{shown(interval.low)}, {shown(interval.high)}]"


def hparams_words(hparams):
    """A run's own hyperparameters in a few words: `l2=0.001, units=64` (empty when none).

    Example:

    >>> hparams_words({"units": 64, "l2": 0.001})
    'l2=0.001, units=64'
    """
    return ", ".join(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
                     for name, value in sorted(hparams.items()))
