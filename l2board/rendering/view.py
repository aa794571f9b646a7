"""The report's view: every cell, sentence and label of a `Comparison`, worded once.

`report_view` turns the analysis's numbers and codes into what a reader
sees: the legend, the table's cells (each with its change and tone), the
differences with their unadjusted intervals, the λ curve's rows and
sentences, the verdict (each sentence with the claims it states), the notes,
and the labels and chart specifications of the L2 tab. The terminal table,
Markdown, CSV, JSON and the tab all draw this one structure, so a number
is shown, and a sentence worded, the same everywhere; the tab's JavaScript
only lays it out and draws.

The view holds text as it is (names from the user's files included): each
renderer escapes for its medium (`l2board.safe_text`).
"""

from l2board.analysis.comparison import HEADLINE_FIELDS, LAYER_NORM_PREFIX
from l2board.analysis.run_analysis import DATA_LOSS_BASES
from l2board.rendering import wording

# (row title, field, kind, better): kind says how to print the number,
# better which direction of change is good (None: neither).
ROWS = (
    ("final validation {metric}", "final_val_metric", "fraction", "higher"),
    ("best validation {metric}", "best_val_metric", "fraction", "higher"),
    ("  at epoch", "best_epoch", "epoch", None),
    ("final training {metric}", "final_train_metric", "fraction", None),
    ("{metric} gap, final ({gap_order})", "metric_gap_final_pp", "pp", "lower"),
    ("{metric} gap, at best epoch", "metric_gap_best_pp", "pp", "lower"),
    ("final validation {loss}", "final_val_data_loss", "loss", "lower"),
    ("{loss_}gap, final (val - train)", "data_loss_gap_final", "loss", "lower"),
    ("{loss_}gap, at best epoch", "data_loss_gap_best", "loss", "lower"),
    ("overfitting onset (min val {loss})", "onset_epoch", "epoch", "higher"),
    ("val {loss} rise after onset", "rise_after_onset", "loss", "lower"),
    ("generalization loss GL at end", "generalization_loss_percent", "percent", "lower"),
    ("EarlyStopping(patience={patience}) stops", "early_stopping_epoch", "stop", None),
    ("final penalty", "final_penalty", "loss", None),
    ("penalty share of training loss", "final_penalty_share_percent", "percent", None),
    ("total weight L2 norm", "final_weight_l2", "loss", None),
    ("distance from initial weights", "final_init_distance", "loss", None),
)

# Rows about the accuracy-like metric (and the epoch of its best value),
# left out when the runs share none.
_METRIC_FIELDS = {"final_val_metric", "best_val_metric", "best_epoch", "final_train_metric",
                  "metric_gap_final_pp", "metric_gap_best_pp", "data_loss_gap_best"}

# Each row's title and kind, by field.
_ROW_OF = {field: (template, kind) for template, field, kind, _ in ROWS}
# How a difference of each kind is worded with its interval: (unit, scale).
# Fractions are shown in accuracy points, GL's percentages in points.
_INTERVAL_UNITS = {"fraction": ("pp", 100.0), "pp": ("pp", 1.0), "percent": ("pp", 1.0), "loss": ("", 1.0),
                   "epoch": ("epochs", 1.0), "stop": ("epochs", 1.0)}

# The tab's fixed words.
LABELS = {
    "title": "Is L2 regularization fighting overfitting?",
    "runs": "Runs: ",
    "baseline": "Baseline: ",
    "choose": "Choose runs above.",
    "loading": "Loading…",
    "updated": "Updated",
    "verdict": "Verdict",
    "differences": "Differences",
    "sweep": "λ curve",
    "layers": "Per layer, for run ",
    "not_l2monitor": " (not logged by L2Monitor)",
    "epoch": "epoch",
    "empty_chart": "not logged (L2Monitor logs it)",
    "penalty_chart": "penalty per variable (dashed: activity)",
    "no_penalty": "no penalty in this run: nothing is regularized",
    "norm_chart": "weight L2 norm per variable",
    "distance_chart": "distance from initial weights per variable",
}


def _metric_number(value, fraction):
    return f"{100 * value:.1f}%" if fraction else f"{value:.4g}"


def number_text(value, kind, fraction=True):
    """A table number as shown: `71.5%`, `22.8 pp`, `epoch 12`, `1.381`; `n/a` when unknown.

    `fraction`: whether the metric lies in [0, 1]: its values are shown as
    percentages and its gaps in points, else as numbers in its own units.

    >>> number_text(0.715, "fraction"), number_text(12, "stop"), number_text(None, "loss")
    ('71.5%', 'epoch 12', 'n/a')
    """
    if value is None:
        return "n/a"
    if kind == "fraction":
        return _metric_number(value, fraction)
    if kind == "pp":
        return f"{value:.1f} pp" if fraction else f"{value:.4g}"
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "epoch":
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    if kind == "stop":
        return f"epoch {value:.0f}" if float(value).is_integer() else f"epoch {value:.1f}"
    return f"{value:.4g}"


def _difference_text(change, kind, fraction):
    """The difference of the two means a row shows, beside them (with runs left out of the pairs,
    `change.difference`, over the pairs, is the one the differences' section shows with its interval)."""
    if change is None or change.difference is None:
        return ""
    d = change.value - change.baseline
    relative = 100.0 * d / abs(change.baseline) if change.baseline else None
    if kind == "fraction":
        return f" ({100 * d:+.1f} pp)" if fraction else f" ({d:+.3g})"
    if kind == "pp":
        return f" ({d:+.1f} pp)" if fraction else f" ({d:+.3g})"
    if kind == "percent":
        return f" ({d:+.1f} pp)" if change.field.endswith("share_percent") else f" ({d:+.0f} pp)"
    if kind in ("epoch", "stop"):
        return f" ({d:+.0f})" if float(d).is_integer() else f" ({d:+.1f})"
    return f" ({d:+.3g}" + (f", {relative:+.0f}%)" if relative is not None else ")")


def tone(change, better):
    """`better` or `worse` for a change the report claims (adjusted, resolved), else `None`.

    A difference that is not a resolved claim is not coloured: colour would
    state what its interval does not support.
    """
    if change is None or better is None or change.outcome not in ("larger", "smaller"):
        return None
    return "better" if (change.outcome == "smaller") == (better == "lower") else "worse"


def _on_data_loss(comparison):
    """Whether every run's loss measures are on the data loss (penalties excluded)."""
    return all(run.loss_basis in DATA_LOSS_BASES for run in comparison.runs if run.loss_basis)


def _higher_is_better(comparison):
    choice = comparison.metric_choice
    return choice is None or choice.higher_is_better is not False


def row_title(template, comparison):
    """A row's title, with the metric's name, its gap's order, and whether the loss is the data loss."""
    data = _on_data_loss(comparison)
    return template.format(metric=comparison.metric or "metric", patience=comparison.patience,
                           loss="data loss" if data else "loss", loss_="data-loss " if data else "loss ",
                           gap_order="train - val" if _higher_is_better(comparison) else "val - train")


def _better(field, better, comparison):
    """Which way a row's change is better: the metric's rows follow the metric's direction."""
    if better is not None and field in ("final_val_metric", "best_val_metric") and not _higher_is_better(comparison):
        return "lower"
    return better


def _cell(configuration, changes, field, kind, better, fraction, replayed=True):
    """One cell: the mean (± std), its change against the baseline, and the change's tone.

    `replayed`: whether EarlyStopping was replayed on every run of the
    configuration; only then is a missing stop epoch "does not stop" (a run
    without a validation loss has no replay: n/a).
    """
    mean, std = configuration.mean.get(field), configuration.std.get(field)
    text = number_text(mean, kind, fraction)
    if kind == "stop" and mean is None and replayed:
        text = "does not stop"
    if std is not None and mean is not None:
        text += " ± " + number_text(std, kind, fraction).replace("epoch ", "")
    change = changes.get(field) if changes else None
    return {"text": text, "change": _difference_text(change, kind, fraction), "tone": tone(change, better)}


def _table(comparison):
    """`{"columns", "rows": [{"field", "title", "cells": [{"text", "change", "tone"}]}]}`, configurations as columns."""
    fraction = comparison.metric_is_fraction
    columns = [(c, comparison.changes.get(c.name)) for c in comparison.configurations]
    monitor = {run.name: run.early_stopping_monitor for run in comparison.runs}
    replayed = [all(monitor.get(name) for name in c.runs) for c, _ in columns]
    rows = []
    for template, field, kind, better in ROWS:
        if comparison.metric is None and field in _METRIC_FIELDS:
            continue
        rows.append({"field": field, "title": row_title(template, comparison),
                     "cells": [_cell(c, ch, field, kind, _better(field, better, comparison), fraction, replayed=r)
                               for (c, ch), r in zip(columns, replayed)]})
        if field == "final_weight_l2":
            # Per-variable kernels' norms, where every configuration logged them.
            shared = set.intersection(*(set(c.mean) for c, _ in columns))
            for layer_field in sorted(f for f in shared if f.startswith(LAYER_NORM_PREFIX) and f.endswith("kernel")):
                rows.append({"field": layer_field, "title": "  " + layer_field[len(LAYER_NORM_PREFIX):],
                             "cells": [_cell(c, ch, layer_field, "loss", None, fraction) for c, ch in columns]})
    return {"columns": [c.name for c, _ in columns], "rows": rows}


def _status(run):
    if run.diverged_epoch is not None:
        return f"diverged at epoch {run.diverged_epoch}"
    if run.complete is False:
        return "incomplete"
    return ""


def _legend(comparison):
    """Each configuration (baseline first) with its label, runs and flags; the skipped runs with why."""
    status = {run.name: _status(run) for run in comparison.runs}
    entries = []
    for configuration in comparison.configurations:
        hparams = wording.hparams_words(configuration.hparams)
        entry = {
            "name": configuration.name,
            "label": configuration.label + (f"; {hparams}" if hparams else ""),
            "runs": f"{len(configuration.runs)} runs (mean ± std)" if len(configuration.runs) > 1 else "",
            "baseline": configuration.name == comparison.baseline,
            "flags": sorted({status[name] for name in configuration.runs if status[name]}),
        }
        entry["text"] = (f"{entry['name']}: {entry['label']}" + (f", {entry['runs']}" if entry["runs"] else "")
                         + ("  (baseline)" if entry["baseline"] else "")
                         + (f"  [{', '.join(entry['flags'])}]" if entry["flags"] else ""))
        entries.append(entry)
    title = "Runs (baseline first):" if len(comparison.configurations) > 1 else "Run:"
    skipped = [{"name": run.name, "reason": wording.skip_predicate(run.reason), "text": wording.skip_sentence(run)}
               for run in comparison.skipped]
    return {"title": title, "configurations": entries, "skipped_title": "Skipped (not compared):",
            "skipped": skipped}


def _differences(comparison):
    """The headline differences of each configuration, with unadjusted intervals; `None` without seeds."""
    if not any(len(configuration.runs) > 1 for configuration in comparison.configurations):
        return None
    fraction = comparison.metric_is_fraction
    sections = []
    for configuration in comparison.configurations[1:]:
        changes = comparison.changes.get(configuration.name) or {}
        rows = []
        for field in HEADLINE_FIELDS:
            change = changes.get(field)
            if change is None or change.difference is None:
                continue
            template, kind = _ROW_OF[field]
            unit, scale = _INTERVAL_UNITS[kind]
            if kind in ("fraction", "pp") and field != "generalization_loss_percent" and not fraction:
                unit, scale = "", 1.0
            rows.append({"field": field, "title": row_title(template, comparison).strip(),
                         "text": wording.interval_words(change, unit, scale,
                                                        names=(configuration.name, comparison.baseline))})
        if rows:
            sections.append({"configuration": configuration.name, "rows": rows})
    title = (f"Differences against {comparison.baseline} (mean difference [95% interval of each alone, "
             "unadjusted], runs, pairing)")
    return {"title": title, "sections": sections}


def _sweep_chart(comparison):
    sweep = comparison.sweep
    points = []
    for index, point in enumerate(sweep.points):
        marks = [mark for mark, chosen in (("best", sweep.recommendation.best_index),
                                           ("one-SE", sweep.recommendation.one_se_index)) if chosen == index]
        loss = point.loss
        seeds = f", {loss.n} seed{'s' if loss.n != 1 else ''}" if loss is not None else ""
        points.append({"factor": point.factor, "tick": f"{point.factor:g}", "marks": ", ".join(marks),
                       "mean": None if loss is None else loss.mean, "low": None if loss is None else loss.low,
                       "high": None if loss is None else loss.high,
                       "tooltip": f"λ = {wording.factor_words(point.factor)}: {wording.mean_interval_words(loss)}{seeds}"})
    return {"title": "validation data loss at the EarlyStopping epoch, by L2 factor",
            "x_label": "L2 factor (log scale; 0 apart)", "bound_label": "best + 1 SE",
            "empty": "no loss at the EarlyStopping epoch",
            "bound": sweep.recommendation.one_se_bound, "points": points}


def _sweep(comparison):
    """The λ curve: its title, header and rows, its sentences, and the chart's points; `None` without one."""
    sweep = comparison.sweep
    if sweep is None:
        return None
    metric = f" and {comparison.metric}" if comparison.metric else ""
    header = ["factor", "runs", "data loss"] + ([comparison.metric] if comparison.metric else []) + ["choice"]
    rows = []
    for index, point in enumerate(sweep.points):
        marks = [mark for mark, chosen in (("best", sweep.recommendation.best_index),
                                           ("one-SE", sweep.recommendation.one_se_index)) if chosen == index]
        runs = f"{point.runs} ({point.diverged} diverged)" if point.diverged else str(point.runs)
        row = [wording.factor_words(point.factor), runs, wording.mean_interval_words(point.loss)]
        if comparison.metric:
            row.append(wording.mean_interval_words(point.metric, 100.0, 1, "%") if comparison.metric_is_fraction
                       else wording.mean_interval_words(point.metric))
        rows.append(row + [", ".join(marks)])
    layers = f"L2 on {', '.join(sweep.layers)}; " if sweep.layers else ""
    caption = layers + "mean over seeds with its 95% interval" + (
        "." if sweep.replicated else " (one seed per factor: no interval).")
    return {"title": f"L2 factor sweep (validation data loss{metric} at the EarlyStopping epoch, mean [95% CI])",
            "caption": caption, "header": header, "rows": rows, "sentences": wording.sweep_sentences(comparison),
            "chart": _sweep_chart(comparison)}


def _claim(change, configuration):
    return {"configuration": configuration, "field": change.field, "outcome": change.outcome,
            "difference": change.difference, "low": change.adjusted_low, "high": change.adjusted_high,
            "level": change.adjusted_level, "practical_size": change.practical_size}


def _verdict(comparison):
    """The verdict's sentences, each with the claims it words (`claims`: outcome and adjusted interval)."""
    sentences = [{"configuration": configuration, "text": text,
                  "claims": [_claim(change, configuration) for change in changes]}
                 for configuration, text, changes in wording.verdict_claims(comparison)]
    return {"adjustment": wording.adjustment_words(comparison), "sentences": sentences}


def verdict_paragraphs(view):
    """The verdict's sentences joined per configuration: one paragraph each, in order."""
    paragraphs = {}
    for sentence in view["verdict"]["sentences"]:
        paragraphs.setdefault(sentence["configuration"], []).append(sentence["text"])
    return [" ".join(texts) for texts in paragraphs.values()]


def run_notes(comparison):
    """Each distinct run note once, after the names of the runs it is about.

    Notes are the same when their code and numbers are: two runs stopped
    at different epochs are two notes.
    """
    groups = []
    for run in comparison.runs:
        for note in run.notes:
            names = next((names for known, names in groups if known == note), None)
            if names is None:
                groups.append((note, [run.name]))
            else:
                names.append(run.name)
    return [f"{', '.join(names)}: {wording.note_sentence(note)}." for note, names in groups]


def _charts(comparison):
    """The tab's run charts: titles, and per series the run and the curves (in `runs[i].curves`) it draws."""
    data_loss, gap = [], []
    for index, run in enumerate(comparison.runs):
        curves = run.curves
        if curves.get("data_loss_epochs"):
            if curves.get("train_data_loss"):
                data_loss.append({"run": index, "label": f"{run.name} training", "x": "data_loss_epochs",
                                  "y": "train_data_loss", "dashed": True})
            data_loss.append({"run": index, "label": f"{run.name} validation", "x": "data_loss_epochs",
                              "y": "val_data_loss", "dashed": False})
        if curves.get("metric_epochs") and curves.get("metric_gap_pp"):
            gap.append({"run": index, "label": run.name, "x": "metric_epochs", "y": "metric_gap_pp",
                        "dashed": False})
    loss = "data loss (no penalty)" if _on_data_loss(comparison) else "data loss or loss as logged (see notes)"
    order = "train − val" if _higher_is_better(comparison) else "val − train"
    unit = " (pp)" if comparison.metric_is_fraction else ""
    return [{"title": f"{loss}, dashed: training", "series": data_loss},
            {"title": f"{comparison.metric or 'metric'} gap, {order}{unit}", "series": gap}]


def report_view(comparison):
    """Returns the view of a `Comparison`: a JSON-ready dict every output draws (see the module's doc).

    Keys: `legend`, `table`, `differences` (or `None`), `sweep` (or
    `None`), `verdict` (`adjustment`, `paragraphs` (one per configuration)
    and `sentences`, each `{"configuration", "text", "claims"}`), `recommendation` (the sweep's sentences), `notes` (run
    notes), `warnings` (file notes), `note_lines` (the skipped runs, the
    notes and the warnings, as the tab and Markdown list them), `charts`,
    `labels`.
    """
    sweep = _sweep(comparison)
    verdict = _verdict(comparison)
    legend = _legend(comparison)
    notes = [sentence for sentence in [wording.metric_words(comparison)] if sentence] + run_notes(comparison)
    warnings = [wording.file_note_sentence(note) for note in comparison.file_notes]
    verdict["paragraphs"] = verdict_paragraphs({"verdict": verdict})
    return {
        "legend": legend,
        "table": _table(comparison),
        "differences": _differences(comparison),
        "sweep": sweep,
        "verdict": verdict,
        "recommendation": sweep["sentences"] if sweep else [],
        "notes": notes,
        "warnings": warnings,
        # Everything a reader is told besides the verdict, one line each: the
        # skipped runs, the run notes, the files' warnings.
        "note_lines": [f"Skipped (not compared): {run['text']}" for run in legend["skipped"]] + notes + warnings,
        "charts": _charts(comparison),
        "labels": LABELS,
    }
