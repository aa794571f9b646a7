"""The words of the report: verdicts, notes and skip reasons as sentences.

The analysis returns numbers and codes (`Verdict`, `Note`, `SkippedRun`);
this module alone turns them into English, for the table, Markdown, CSV,
JSON, the plot and the TensorBoard tab. Nothing here computes a number or
decides anything: it words what the analysis decided.
"""

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


def _spread_words(verdict, change, unit):
    where = "beyond" if change.resolved else "within"
    return f", {where} the seed-to-seed spread of ±{_plain(verdict.spread[change.field], unit)})"


def _overfitting_sentence(verdict):
    """The first sentence: how the configuration overfits against the baseline, with the numbers."""
    other, base, gap, gl = verdict.configuration, verdict.baseline, verdict.gap, verdict.generalization_loss
    measure, unit = _measure_words(verdict)
    loss = "data loss" if verdict.loss_is_data_loss else "loss"
    gap_part = f"{measure} {_plain(gap.value, unit)} against {_plain(gap.baseline, unit)} ({_signed(gap.difference, unit)}"
    gl_part = (f"validation {loss} ended {gl.value:.0f}% above its minimum against {gl.baseline:.0f}% "
               f"({_signed(gl.difference, 'pp')}") if gl is not None else ""
    if not verdict.replicated:
        first = f"{other} {_DIRECTIONS[verdict.direction]} {base}: {gap_part})"
        first += f", {gl_part})" if gl is not None else ""
        return first + "; unreplicated: one run per configuration."
    gap_part += _spread_words(verdict, gap, unit)
    gl_part += _spread_words(verdict, gl, "pp") if gl is not None else ""
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
    if abs(points) < 0.05:  # shown as 0.0 pp
        return f"Final validation {metric} is unchanged ({_pct(val.value)})."
    verb = "cost" if points < 0 else "gained"
    spread = ""
    if verdict.replicated:
        spread = (f", {'beyond' if val.resolved else 'within'} the spread of "
                  f"±{100.0 * verdict.spread[val.field]:.1f} pp")
    return (f"It {verb} {abs(points):.1f} pp of final validation {metric} "
            f"({_pct(val.value)} against {_pct(val.baseline)}{spread}).")


def verdict_of(verdict):
    """Returns one `Verdict` as one or two sentences."""
    other, base = verdict.configuration, verdict.baseline
    if verdict.kind == SINGLE:
        return [f"Only one configuration ({base}): nothing to compare it with."]
    if verdict.kind == DIVERGED:
        return [f"{' and '.join(verdict.diverged)} diverged (the loss became NaN or infinite), so "
                f"{other} and {base} cannot be compared on overfitting."]
    if verdict.kind != COMPARED:
        return [f"{other} and {base} cannot be compared on overfitting: "
                "they share neither an accuracy-like metric nor a training and validation loss."]
    second = _metric_sentence(verdict)
    return [_overfitting_sentence(verdict)] + ([second] if second else [])


def verdict_sentences(comparison):
    """Returns the verdict of a `Comparison`: one or two sentences per compared configuration."""
    return [sentence for verdict in comparison.verdicts for sentence in verdict_of(verdict)]
