"""The words of the report: verdicts, the λ recommendation, notes, skip reasons and errors as sentences.

The analysis returns numbers and codes (`Verdict`, `Change.outcome`,
`Note`, `SkippedRun`); this module alone turns them into English, for the
table, Markdown, CSV, JSON, the plot and the TensorBoard tab (through
`l2board.rendering.view`). Nothing here computes a statistic or decides
anything: it words what the analysis decided, and a sentence states a
difference or a sameness only when the claim's outcome (its interval
adjusted with the report's other claims) says so.
"""

import math

from l2board.analysis.comparison import NoRunToCompare, SkippedBaseline
from l2board.analysis.verdict import COMPARED, DIVERGED, METRIC_GAP, SINGLE
from l2board.safe_text import listing

# Run notes: code -> sentence (no final period: notes are listed after run
# names, "a, b: <note>.") from the note's values.
_NOTES = {
    "no_metric": lambda v: "no metric is compared: gaps are measured on losses only",
    "metric_not_logged": lambda v: (
        f"the validation {v['metric']} the other runs are compared on is not logged: {v['metric']} numbers are "
        "empty, and the run is compared on its loss"),
    "no_training_metric": lambda v: (
        f"no training {v['metric']} is logged: its final and best validation values are reported, and its "
        "train-validation gap needs the training side"),
    "steps_differ": lambda v: _steps_differ_words(v),
    "steps_not_epochs": lambda v: (
        f"{_listing(v['series'])} {'stays' if len(v['series']) == 1 else 'stay'} at the writer's global steps, "
        "not epochs: "
        + (f"its epoch series ({v['epoch_series']}) has no whole epoch at each of their steps"
           if v.get("epoch_series") else "the run logs no epoch series to place them")),
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
    "setup_unreadable": lambda v: f"its logged regularization setup (l2board/setup_json) cannot be read: {v['problem']}",
}

# File notes: code -> one whole sentence (they are listed alone).
_FILE_NOTES = {
    "unreadable_file": lambda v: f"Could not read {v['path']}: {v['reason']}; its run is reported without it.",
    "damaged_file": lambda v: f"{v['path']}: " + "; ".join(_damage_parts(v)) + ".",
    "not_a_file": lambda v: (
        f"Skipped {v['path']}: it is named like an event file but is a {v['kind']}, not a regular file."),
    "unlisted_folder": lambda v: f"Could not look inside {v['path']}: {v['reason']}; what it holds is left out.",
    "restart": lambda v: (
        f"{v['path']} goes back {'within itself ' if v['within_file'] else ''}to step {v['step']}: its values "
        f"replace {v['replaced']} point{'s' if v['replaced'] != 1 else ''} logged before from step {v['step']} "
        "on, as TensorBoard shows a restarted run."),
}
# The same, as the predicate of a sentence naming the file ("is damaged (...)").
_FILE_PREDICATES = {
    "unreadable_file": lambda v: f"could not be read ({v['reason']})",
    "damaged_file": lambda v: f"is damaged ({'; '.join(_damage_parts(v))})",
    "not_a_file": lambda v: f"is a {v['kind']}, not a regular file",
    "unlisted_folder": lambda v: f"could not be listed ({v['reason']})",
}


def _damage_parts(values):
    parts = []
    if values.get("bad_records"):
        count = values["bad_records"]
        parts.append(f"{count} damaged record{'s' if count != 1 else ''} skipped")
    if values.get("resyncs"):
        parts.append(f"{values['skipped_bytes']} bytes of broken framing passed over")
    if values.get("unframed_tail"):
        parts.append("no intact record in the rest of the file")
    if values.get("truncated"):
        parts.append("the last record is cut off, as when the run is still writing or was killed")
    return parts


def file_note_sentence(note):
    """Returns a file note (damage, a skipped file, a restart...) as one sentence.

    Example:

    >>> from l2board.analysis.notes import Note
    >>> file_note_sentence(Note("damaged_file", path="a/events", bad_records=2, resyncs=0, skipped_bytes=0,
    ...                         truncated=False, unframed_tail=False))
    'a/events: 2 damaged records skipped.'
    """
    return _FILE_NOTES[note.code](note.values)


def _steps_differ_words(values):
    """Why training and validation values are not paired: other step axes, or too few shared steps."""
    train, validation = values["train_last_step"], values["validation_last_step"]
    if train != validation or "shared" not in values:
        where = f"at other steps (up to step {train}) than validation values (up to step {validation})"
    else:
        where = (f"at steps that validation values share only {values['shared']} of (training: "
                 f"{values['train_points']} values, validation: {values['validation_points']}, both up to step "
                 f"{train})")
    return (f"training values are logged {where}, so they are not paired: no training value or gap is computed, "
            "and epochs are counted from the validation values; log both per epoch, or at the same steps, to get "
            "them")


def note_sentence(note):
    """Returns a run note as words, without a final period.

    Example:

    >>> from l2board.analysis.notes import Note
    >>> note_sentence(Note("diverged", epoch=3))
    'diverged: the loss is not finite from epoch 3 on, so no gap, onset or generalization loss is computed'
    """
    return _NOTES[note.code](note.values)


def _listing(names):
    return listing(names, most=12)


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
        f"{f['path']} {_FILE_PREDICATES[f['code']](f)}" for f in v["files"]),
    "no_scalars": lambda v: (
        f"holds no scalar values, only {' and '.join(v['other_kinds'])}" if v["other_kinds"] else
        "holds no scalar values: its event file holds no summary" if v["event_files"] == 1 else
        f"holds no scalar values: its {v['event_files']} event files hold no summary"),
    "ambiguous_role": lambda v: (
        f"logs {len(v['tags'])} series that could be the {v['split']} {v['role']} ({', '.join(v['tags'])}); name "
        f"the pair to read with --tag {v['role']}=TRAIN,VAL"),
    "sampled": lambda v: (  # the L2 tab only: compare reads every point
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


def error_sentence(error):
    """Returns the one sentence a user reads for an `L2BoardError`, wording the analysis's coded ones.

    `NoRunToCompare` and `SkippedBaseline` carry the skipped runs' reasons
    as codes; every other error is already a sentence.
    """
    if isinstance(error, NoRunToCompare):
        return nothing_analysed(error.skipped)
    if isinstance(error, SkippedBaseline):
        return f"Run '{error.run.name}' cannot be the baseline: {skip_sentence(error.run)}"
    return str(error)


def _pct(fraction):
    return f"{100 * fraction:.1f}%"


# How each claimed field is shown: (unit, scale, digits) of its differences.
# Fractions (accuracy) are shown in points; a metric in other units (mae,
# perplexity) and losses as numbers.
def _units(field, metric_is_fraction=True):
    if field == "generalization_loss_percent" or (field == METRIC_GAP and metric_is_fraction):
        return "pp", 1.0, 1
    if field in ("final_val_metric", "best_val_metric", "val_metric_at_stop") and metric_is_fraction:
        return "pp", 100.0, 1
    if field in ("early_stopping_epoch", "onset_epoch", "best_epoch"):
        return "epochs", 1.0, 1
    return "", 1.0, 3


def _signed(value, unit, digits=None):
    digits = (1 if unit else 3) if digits is None else digits
    text = f"{abs(value):.{digits}f}" + (f" {unit}" if unit else "")
    return ("+" if value >= 0 else "-") + text


def _plain(value, unit, digits=None):
    digits = (1 if unit else 3) if digits is None else digits
    return f"{value:.{digits}f}" + (f" {unit}" if unit else "")


def _bounds(low, high, scale, digits):
    return f"[{scale * low:+.{digits}f}, {scale * high:+.{digits}f}]"


def _value(change_value, field, metric_is_fraction):
    """A configuration's value of a claimed field: `73.5%`, `22.8 pp`, `0.947`."""
    if field in ("final_val_metric", "best_val_metric", "val_metric_at_stop"):
        return _pct(change_value) if metric_is_fraction else f"{change_value:.4g}"
    if field == METRIC_GAP:
        return _plain(change_value, "pp") if metric_is_fraction else f"{change_value:.4g}"
    return _plain(change_value, "")


def seeds_words(change, names=None):
    """How many runs a difference rests on, and how they were compared.

    `3 seeds, paired`; `2 seeds paired, 1 left out (not finite)`; `4 runs of
    l2 and 3 of none, unpaired (Welch)`. `names` are the configuration and
    the baseline, to say which count is whose.
    """
    if change.method == "paired":
        text = f"{change.n_value} seeds, paired" if not change.left_out else (
            f"{change.n_value} seeds paired, {change.left_out} run{'s' if change.left_out != 1 else ''} left out "
            "(without a partner seed, or not finite)")
    elif names:
        other, base = names
        text = f"{change.n_value} runs of {other} and {change.n_baseline} of {base}, unpaired (Welch)"
    else:
        text = f"{change.n_value} and {change.n_baseline} runs, unpaired (Welch)"
    if change.method == "welch" and change.left_out:
        text += f"; {change.left_out} not finite, left out"
    if change.floored:
        text += "; spread taken as at least the rounding to whole epochs"
    return text


def interval_words(change, unit="", scale=1.0, names=None, digits=None):
    """The unadjusted difference with its 95% interval: `-0.31 [-0.45, -0.17], 3 seeds, paired`.

    Numbers only, for the table of differences, which is labelled
    unadjusted: no word of a difference being resolved.
    """
    if change.difference is None:
        return "not shared"
    digits = (1 if unit else 3) if digits is None else digits
    text = _signed(scale * change.difference, unit, digits)
    if change.method in (None, "unreplicated"):
        return text + ", one run on a side: no interval"
    return f"{text} {_bounds(change.low, change.high, scale, digits)}, {seeds_words(change, names)}"


def _claim_numbers(change, field, names, metric_is_fraction):
    """`+3.3 pp [-1.8, +8.5] (3 seeds, paired)`: a claim's difference with its adjusted interval."""
    unit, scale, digits = _units(field, metric_is_fraction)
    text = _signed(scale * change.difference, unit, digits)
    if change.adjusted_low is None:
        return text
    return (f"{text} {_bounds(change.adjusted_low, change.adjusted_high, scale, digits)} "
            f"({seeds_words(change, names)})")


def _size_words(change, field, metric_is_fraction):
    unit, scale, digits = _units(field, metric_is_fraction)
    size = scale * change.practical_size
    shown = f"{size:.{digits}f}".rstrip("0").rstrip(".") if unit else f"{size:.3g}"
    return f"±{shown}" + (f" {unit}" if unit else "")


def _resolving_words(change, field, metric_is_fraction):
    """What would resolve an unresolved claim: seeds per configuration, and what that assumes."""
    assumes = "if the observed difference and spread are the true ones"
    if change.seeds_needed_for == "sameness":
        if change.seeds_needed:
            return (f"about {change.seeds_needed} seeds per configuration would show whether they are the same "
                    f"within {_size_words(change, field, metric_is_fraction)} ({assumes})")
        return "no number of seeds up to 1,000 would show that at this spread"
    if change.seeds_needed:
        return (f"about {change.seeds_needed} seeds per configuration would resolve a difference this large "
                f"(80% power at the adjusted level, {assumes})")
    if change.spread == 0:
        return "it is the same in every seed"
    return "no number of seeds up to 1,000 would resolve it at this spread"


def metric_words(comparison):
    """The sentence that says which metric the report compares, which way is better and why, and what else is
    logged (`None` when the runs log no metric)."""
    choice = comparison.metric_choice
    if choice is None or not choice.offered:
        return None
    others = [name for name in choice.offered if name != choice.name]
    also = ""
    if others:
        also = f"; also logged: {_listing(others)} (compare on one with --metric NAME"
        unknown = [name for name in others if name in choice.unknown]
        also += (f"; for {_listing(unknown)}, say which way is better with --higher-is-better or "
                 "--lower-is-better)" if unknown else ")")
    if choice.name is None:
        return (f"No metric is compared: the runs log {_listing(list(choice.offered))}, and l2board does not know "
                "which way each is better; compare on one with --metric NAME and --higher-is-better or "
                "--lower-is-better.")
    way = "higher" if choice.higher_is_better else "lower"
    why = "as you said" if choice.said_by == "user" else "known from its name"
    return f"Compared on the validation {choice.name}, where {way} is better ({why}){also}."


def adjustment_words(comparison):
    """The sentence that says how the verdict's intervals are adjusted (`None` without claims)."""
    if not comparison.family_size:
        return None
    count = comparison.family_size
    claims = f"{count} claim{'s' if count != 1 else ''}"
    if comparison.search_look is not None:
        look = comparison.search_look
        level = (f"the level of look {look} of the λ search that made these runs (5% x 6/(π² x {look}²) = "
                 f"{comparison.alpha:.4f}), so that the chance of any false direction over all of the search's looks "
                 "is at most 5%")
        return (f"Intervals in the verdict and the λ curve are adjusted together (Holm) for the report's {claims} at "
                f"{level}; a difference is stated only when its adjusted interval excludes zero and it is at least "
                "the measure's practical size, and \"about the same\" only when the whole interval lies within that "
                "size.")
    return (f"Intervals in the verdict are adjusted together (Holm) for the report's {claims}, so that the chance of "
            f"any false direction in it is at most {100 * comparison.alpha:.0f}%; a difference is stated only when its "
            "adjusted interval excludes zero and it is at least the measure's practical size, and \"about the same\" "
            "only when the whole interval lies within that size.")


def gap_words(metric, higher_is_better):
    """A metric's gap as named in sentences: `accuracy gap`, `mae gap (validation minus training)`.

    >>> gap_words("accuracy", True), gap_words("auc", True), gap_words("mae", False)
    ('accuracy gap', 'auc gap (training minus validation)', 'mae gap (validation minus training)')
    """
    if metric and "acc" in metric and higher_is_better:
        return "accuracy gap"
    return f"{metric} gap ({'training minus validation' if higher_is_better else 'validation minus training'})"


def _measure_words(verdict):
    """The measure's name ("final accuracy gap")."""
    if verdict.measure == METRIC_GAP:
        return "final " + gap_words(verdict.metric, verdict.metric_higher_is_better)
    loss = "data-loss" if verdict.loss_is_data_loss else "loss"
    return f"final {loss} gap (validation minus training)"


def _against(change, field, fraction):
    return f"{_value(change.value, field, fraction)} against {_value(change.baseline, field, fraction)}"


def _claim_sentence(change, field, leads, values, names, fraction):
    """A claim as a sentence: the lead its outcome picks (`leads[outcome]`), the values, the adjusted interval.

    A difference is stated only for `larger` and `smaller`; `same` names
    the practical size the interval lies within; `unresolved` says what
    would resolve it.
    """
    text = f"{leads[change.outcome]}: {values}, {_claim_numbers(change, field, names, fraction)}"
    if change.outcome == "same":
        return text + f", inside the practical size {_size_words(change, field, fraction)}."
    if change.outcome == "unresolved":
        return text + f"; {_resolving_words(change, field, fraction)}."
    return text + "."


def _overfitting_sentence(verdict, names, fraction):
    """The first sentence: how the configuration overfits against the baseline, with the numbers."""
    other, base, gap = verdict.configuration, verdict.baseline, verdict.gap
    leads = {"smaller": f"{other} overfits less than {base}", "larger": f"{other} overfits more than {base}",
             "same": f"{other} overfits about as much as {base}",
             "unresolved": f"Whether {other} overfits less or more than {base} is not resolved"}
    values = f"{_measure_words(verdict)} {_against(gap, verdict.measure, fraction)}"
    return _claim_sentence(gap, verdict.measure, leads, values, names, fraction)


_FIELD_NAMES = {"final_val_metric": "final validation {metric}", "final_val_data_loss": "final validation {loss}"}


def _field_name(change, verdict):
    return _FIELD_NAMES[change.field].format(metric=verdict.metric,
                                             loss="data loss" if verdict.loss_is_data_loss else "loss")


def _field_sentence(change, verdict, names, fraction):
    """A sentence on the final validation metric or data loss: higher, lower, about the same, or not resolved."""
    name = _field_name(change, verdict)
    named = name[0].upper() + name[1:]
    leads = {"larger": f"{named} is higher", "smaller": f"{named} is lower", "same": f"{named} is about the same",
             "unresolved": f"Whether {name} is higher or lower is not resolved"}
    return _claim_sentence(change, change.field, leads, _against(change, change.field, fraction), names, fraction)


def _unreplicated_sentences(verdict, fraction):
    """What one run per configuration showed, worded as these runs, with what would make it a conclusion."""
    other, base, gap = verdict.configuration, verdict.baseline, verdict.gap
    field = verdict.measure
    unit, scale, digits = _units(field, fraction)
    values = f"{_measure_words(verdict)} {_against(gap, field, fraction)} ({_signed(scale * gap.difference, unit, digits)})"
    if verdict.direction == "same":
        first = (f"In these runs, {other} and {base} overfit about as much: {values}, under the practical size "
                 f"{_size_words(gap, field, fraction)}.")
    else:
        first = f"In these runs, {other} overfit {verdict.direction} than {base}: {values}."
    parts = []
    for change in (verdict.final_val_metric, verdict.val_data_loss):
        if change is not None:
            unit, scale, digits = _units(change.field, fraction)
            parts.append(f"{_field_name(change, verdict)} {_against(change, change.field, fraction)} "
                         f"({_signed(scale * change.difference, unit, digits)})")
    sentences = [first]
    if parts:
        text = "; ".join(parts)
        sentences.append(text[0].upper() + text[1:] + ".")
    if gap.n_baseline > 1 or gap.n_value > 1:  # several runs, the measure in one of them
        why = f"Only one run of {other if gap.n_value <= 1 else base} has the measure, so nothing"
    else:
        why = "With one run per configuration, nothing"
    sentences.append(f"{why} is known of the seed-to-seed spread, so this is what these runs showed, not a "
                     "conclusion: train at least 3 seeds per configuration (l2board experiment --seeds 3) and the "
                     "report will say which differences are resolved.")
    return sentences


def verdict_of(verdict, fraction=True):
    """Returns one `Verdict` as sentences."""
    other, base = verdict.configuration, verdict.baseline
    if verdict.kind == SINGLE:
        return [f"Only one configuration ({base}): nothing to compare it with."]
    if verdict.kind == DIVERGED:
        return [f"{' and '.join(verdict.diverged)} diverged (the loss became NaN or infinite), so "
                f"{other} and {base} cannot be compared on overfitting."]
    if verdict.kind != COMPARED:
        return [f"{other} and {base} cannot be compared on overfitting: "
                "they share neither a metric nor a training and validation loss."]
    if not verdict.replicated:
        return _unreplicated_sentences(verdict, fraction)
    names = (other, base)
    sentences = [_overfitting_sentence(verdict, names, fraction)]
    for change in (verdict.final_val_metric, verdict.val_data_loss):
        if change is not None:
            sentences.append(_field_sentence(change, verdict, names, fraction))
    return sentences


def verdict_claims(comparison):
    """Returns `[(configuration, sentence, [Change, ...])]`: each verdict sentence with the claims it words.

    A replicated verdict's sentence words one claim, its `Change` (whose
    outcome and adjusted interval back what it says); an unreplicated
    one's, none: it says what these runs showed, and that it is no conclusion.
    """
    fraction = comparison.metric_is_fraction
    result = []
    for verdict in comparison.verdicts:
        sentences = verdict_of(verdict, fraction)
        changes = [[change] for change in verdict.claims()] if verdict.replicated else []
        changes += [[]] * (len(sentences) - len(changes))
        result += [(verdict.configuration, sentence, claimed) for sentence, claimed in zip(sentences, changes)]
    return result


def verdict_sentences(comparison):
    """Returns the verdict of a `Comparison`: its sentences, per compared configuration."""
    return [sentence for _, sentence, _ in verdict_claims(comparison)]


def _mean_words(interval):
    return mean_interval_words(interval) + (", one seed" if interval.low is None else f", {interval.n} seeds")


def _factor_list(items):
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1]


def _lead_sentences(sweep, fraction=True):
    """Whether the lowest mean is told apart from each other factor: resolved, the same, or not."""
    points, best = sweep.points, sweep.recommendation.best_index
    lowest = factor_words(points[best].factor)
    resolved, same, open_ = [], [], []
    for index, point in enumerate(points):
        change = sweep.versus_best(index) if index != best else None
        if change is None or change.outcome is None:
            continue
        interval = _bounds(change.adjusted_low, change.adjusted_high, 1.0, 3)
        numbers = f"{factor_words(point.factor)} by {_signed(change.difference, '', 3)} {interval}"
        {"larger": resolved, "smaller": resolved, "same": same}.get(change.outcome, open_).append((numbers, change))
    sentences = []
    if resolved:
        sentences.append(f"Resolved as higher than at {lowest}: " + _factor_list([n for n, _ in resolved]) + ".")
    if same:
        sentences.append(f"About the same as at {lowest}, within the practical size "
                         f"{_size_words(same[0][1], 'val_data_loss_at_stop', fraction)}: "
                         + _factor_list([n for n, _ in same]) + ".")
    if open_:
        closest = min(open_, key=lambda item: abs(item[1].difference))
        sentences.append(f"Not told apart from {lowest}: " + _factor_list([n for n, _ in open_])
                         + f"; for the closest, {_resolving_words(closest[1], 'val_data_loss_at_stop', fraction)}.")
    return sentences


def sweep_sentences(comparison):
    """Returns the λ curve's recommendation as sentences (none without a sweep).

    The lowest mean, then whether it is told apart from each other factor
    (adjusted claims), the one-standard-error rule's choice, the next grid
    when an answer sits at the grid's edge, and the factors never
    recommended because a run diverged.
    """
    sweep = comparison.sweep
    if sweep is None:
        return []
    points, chosen = sweep.points, sweep.recommendation
    best, one_se = points[chosen.best_index], points[chosen.one_se_index]
    sentences = [f"Lowest mean validation data loss at the EarlyStopping epoch: {factor_words(best.factor)} "
                 f"({_mean_words(best.loss)})."]
    if best.loss.standard_error is None and best.runs == 1:
        sentences.append("With one seed per factor there is no interval and no standard error: this is what these "
                         "runs showed, not a conclusion, and there is no one-standard-error choice (--seeds 3 "
                         "gives both).")
    elif best.loss.standard_error is None:
        sentences.append(f"Only one of its {best.runs} runs has a value there, so there is no standard error and no "
                         "one-standard-error choice.")
    else:
        sentences += _lead_sentences(sweep, comparison.metric_is_fraction)
        bound = f"one standard error ({best.loss.standard_error:.3f})"
        if one_se is best:
            sentences.append(f"No larger factor's mean lies within {bound} of the lowest, so the "
                             f"one-standard-error rule also gives {factor_words(best.factor)}.")
        else:
            sentences.append(f"By the one-standard-error rule (the largest factor whose mean lies within {bound} of "
                             f"the lowest; glmnet's lambda.1se): {factor_words(one_se.factor)} "
                             f"({_mean_words(one_se.loss)}).")
    grid = " ".join(f"--l2 {factor:g}" for factor in sweep.next_factors)
    try_next = f"; try {grid}." if grid else "."
    if chosen.edge == "largest":
        sentences.append("The lowest mean is at the largest factor tried: the best may lie above it" + try_next)
    elif chosen.edge == "smallest" and best.factor == 0:
        smallest = min(p.factor for p in points if p.factor > 0)
        sentences.append(f"The lowest mean is without L2: a factor below {smallest:g}, the smallest tried, may "
                         "still help, or none at all" + try_next)
    elif chosen.edge == "smallest":
        sentences.append("The lowest mean is at the smallest factor tried: the best may lie below it, or be no L2 "
                         "at all" + try_next)
    elif chosen.one_se_edge == "largest":
        sentences.append(f"The one-standard-error choice, {factor_words(one_se.factor)}, is the largest factor "
                         "tried, so the rule's answer is capped by the grid: a larger factor may be within one "
                         "standard error too" + try_next)
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


def search_sentences(decision, comparison, spent, budget):
    """Why a λ search stopped and what it recommends, as sentences.

    Args:
        decision: the last look's `factor_search.Decision`.
        comparison: its `Comparison` (the λ curve the words quote).
        spent: the runs the search has trained.
        budget: its budget.
    """
    from l2board.analysis.factor_search import RESOLVED_L2, RESOLVED_NONE

    sweep = comparison.sweep
    point = {p.factor: p for p in sweep.points} if sweep is not None else {}

    def factor(value):
        shown = factor_words(value)
        return f"{shown} ({_mean_words(point[value].loss)})" if value in point else shown

    looks = f"{decision.look} look{'s' if decision.look != 1 else ''}"
    if decision.outcome == RESOLVED_L2:
        return [f"Resolved after {spent} runs ({looks}): L2 helps; use {factor(decision.recommended)}: no L2's loss is "
                "resolved higher than the best's, and every other factor is resolved higher or the same within the "
                "practical size (the largest of those the same is the one recommended)."]
    if decision.outcome == RESOLVED_NONE:
        return [f"Resolved after {spent} runs ({looks}): no L2 needed; every factor is resolved no better than none "
                "(higher, or the same within the practical size)."]
    why = f"Budget spent ({spent} of {budget} runs, {looks})" if spent >= budget else (
        f"Stopped after {spent} runs ({looks}): the budget left cannot hold the next look's runs")
    sentences = [why + " before the answer was resolved."]
    if decision.recommended:
        sentences.append(f"L2 helps: no L2's loss is resolved higher than the best's; best so far "
                         f"{factor(decision.best)}, recommended {factor(decision.recommended)}.")
    else:
        sentences.append("No factor is resolved better than none: no L2 needed, or no difference found yet.")
    open_ = [factor_words(f) for f in decision.open_factors]
    if open_:
        closest = decision.closest
        more = ""
        if closest is not None and closest.seeds_needed and closest.seeds_needed <= closest.n_value:
            # The spread's estimate says its seeds should do, yet the interval (with runs left out,
            # or at the adjusted level) does not: no count to promise.
            more = "; more seeds of each would narrow their intervals"
        elif closest is not None and closest.seeds_needed:
            extra = 2 * (closest.seeds_needed - closest.n_value)
            more = (f"; about {extra} more runs would resolve the closest of them ({closest.seeds_needed} seeds each, at "
                    "this look's level, if the observed difference and spread are the true ones)")
        elif closest is not None:
            more = "; no number of seeds up to 1,000 would resolve the closest of them at this spread"
        sentences.append(f"Not yet told apart: {_factor_list(open_)}{more}.")
    return sentences
