"""Renders a `Comparison` as a terminal table, Markdown, CSV or JSON.

Nothing here computes a number: every value comes from the `Comparison`,
so all formats agree with each other and with the dashboard. The words
(verdict, notes, skip reasons) come from `wording`.

Run names, setup labels, metric and variable names, and the sentences that
quote them (verdict, notes with file paths) all come from the user's files,
so every renderer escapes them (`l2board.safe_text`) before they reach a
terminal, a Markdown table or a CSV file.
"""

import csv
import dataclasses
import io
import json
import math

import click
import numpy as np

from l2board.analysis.comparison import HEADLINE_FIELDS, LAYER_NORM_PREFIX, REPORT_FORMAT_VERSION, SUMMARY_FIELDS
from l2board.analysis.run_analysis import DATA_LOSS_BASES
from l2board.rendering import wording
from l2board.safe_text import display_width, markdown_cell, printable, spreadsheet_cell

# (row title, field, kind, better): kind says how to print the number,
# better which direction of change is good (None: neither).
ROWS = (
    ("final validation {metric}", "final_val_metric", "fraction", "higher"),
    ("best validation {metric}", "best_val_metric", "fraction", "higher"),
    ("  at epoch", "best_epoch", "epoch", None),
    ("final training {metric}", "final_train_metric", "fraction", None),
    ("{metric} gap, final (train - val)", "metric_gap_final_pp", "pp", "lower"),
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


def _number(value, kind):
    if value is None:
        return "n/a"
    if kind == "fraction":
        return f"{100 * value:.1f}%"
    if kind == "pp":
        return f"{value:.1f} pp"
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "epoch":
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    if kind == "stop":
        return f"epoch {value:.0f}" if float(value).is_integer() else f"epoch {value:.1f}"
    return f"{value:.4g}"


def _difference(change, kind):
    if change is None or change.difference is None:
        return ""
    d = change.difference
    if kind == "fraction":
        return f" ({100 * d:+.1f} pp)"
    if kind == "pp":
        return f" ({d:+.1f} pp)"
    if kind == "percent":
        return f" ({d:+.1f} pp)" if change.field.endswith("share_percent") else f" ({d:+.0f} pp)"
    if kind in ("epoch", "stop"):
        return f" ({d:+.0f})" if float(d).is_integer() else f" ({d:+.1f})"
    return f" ({d:+.3g}" + (f", {change.relative_percent:+.0f}%)" if change.relative_percent is not None else ")")


def _columns(comparison):
    """The table's columns: configurations, each with its mean, spread and change."""
    columns = []
    for configuration in comparison.configurations:
        columns.append((configuration, comparison.changes.get(configuration.name)))
    return columns


def _cell(configuration, changes, field, kind, replayed=True):
    """The text of one number, its change against the baseline, and the change.

    `replayed`: whether EarlyStopping was replayed on every run of the
    configuration; only then is a missing stop epoch "does not stop" (a run
    without a validation loss has no replay: n/a).
    """
    mean, std = configuration.mean[field], configuration.std[field]
    text = _number(mean, kind)
    if kind == "stop" and mean is None and replayed:
        text = "does not stop"
    if std is not None and mean is not None:
        spread = _number(std, kind).replace("epoch ", "")
        text += f" ± {spread}"
    change = changes.get(field) if changes else None
    return text, _difference(change, kind), change


def _colour(change, better):
    if change is None or change.difference is None or better is None or change.difference == 0:
        return None
    if change.resolved is False:
        return None
    good = (change.difference < 0) == (better == "lower")
    return "green" if good else "red"


def _on_data_loss(comparison):
    """Whether every run's loss measures are on the data loss (penalties excluded)."""
    return all(run.loss_basis in DATA_LOSS_BASES for run in comparison.runs if run.loss_basis)


def _title(template, comparison):
    # The metric name is a tag from the user's files: shown, never obeyed.
    data = _on_data_loss(comparison)
    return template.format(metric=printable(comparison.metric or "metric"), patience=comparison.patience,
                           loss="data loss" if data else "loss", loss_="data-loss " if data else "loss ")


def _rows(comparison):
    columns = _columns(comparison)
    monitor = {run.name: run.early_stopping_monitor for run in comparison.runs}
    replayed = [all(monitor.get(name) for name in c.runs) for c, _ in columns]
    rows = []
    for template, field, kind, better in ROWS:
        if comparison.metric is None and field in _METRIC_FIELDS:
            continue
        rows.append((_title(template, comparison), [_cell(c, ch, field, kind, replayed=r) + (better,)
                                                    for (c, ch), r in zip(columns, replayed)]))
        if field == "final_weight_l2":
            # Per-variable kernels' norms, where every configuration logged them.
            shared = set.intersection(*(set(c.mean) for c, _ in columns))
            for layer_field in sorted(f for f in shared if f.startswith(LAYER_NORM_PREFIX)
                                      and f.endswith("kernel")):
                title = "  " + printable(layer_field[len(LAYER_NORM_PREFIX):])
                rows.append((title, [_cell(c, ch, layer_field, "loss") + (None,) for c, ch in columns]))
    return rows


def _pad(text, width):
    """`text` left-aligned in `width` terminal columns (wide characters count 2)."""
    return text + " " * (width - display_width(text))


def _legend(comparison, names):
    """The lines naming each configuration (baseline first), and the runs skipped with their reasons."""
    lines = ["Runs (baseline first):" if len(comparison.configurations) > 1 else "Run:"]
    status = {run.name: _status(run) for run in comparison.runs}
    for configuration, shown_name in zip(comparison.configurations, names):
        seeds = f", {len(configuration.runs)} runs (mean ± std)" if len(configuration.runs) > 1 else ""
        mark = "  (baseline)" if configuration.name == comparison.baseline else ""
        flags = sorted({status[name] for name in configuration.runs if status[name]})
        flag = f"  [{', '.join(flags)}]" if flags else ""
        hparams = wording.hparams_words(configuration.hparams)
        label = configuration.label + (f"; {hparams}" if hparams else "")
        lines.append(f"  {shown_name}: {printable(label)}{seeds}{mark}{flag}")
    if comparison.skipped:
        lines.append("Skipped (not compared):")
        lines += [f"  {printable(run.name)}: {printable(wording.skip_predicate(run.reason))}"
                  for run in comparison.skipped]
    return lines


def _replicated(comparison):
    """Whether any configuration has several runs (then the differences have intervals)."""
    return any(len(configuration.runs) > 1 for configuration in comparison.configurations)


def _differences_title(comparison):
    return f"Differences against {printable(comparison.baseline)} (95% confidence intervals over seeds)"


def _differences(comparison):
    """`[(configuration name, [(row title, difference words)])]` for the headline numbers, when replicated.

    Each difference is worded with its interval, seeds, method and, when the
    interval holds zero, the seeds that would resolve it (`wording.interval_words`).
    """
    if not _replicated(comparison):
        return []
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
            rows.append((_title(template, comparison).strip(), wording.interval_words(change, unit, scale)))
        if rows:
            sections.append((configuration.name, rows))
    return sections


def _sweep_title(comparison):
    metric = f" and {printable(comparison.metric)}" if comparison.metric else ""
    return f"L2 factor sweep (validation data loss{metric} at the EarlyStopping epoch, mean [95% CI])"


def _sweep_rows(comparison):
    """The sweep's header and one row per factor: factor, runs, loss, metric (with a metric), choice."""
    sweep = comparison.sweep
    header = ["factor", "runs", "data loss"] + ([printable(comparison.metric)] if comparison.metric else [])
    rows = []
    for index, point in enumerate(sweep.points):
        marks = [mark for mark, chosen in (("best", sweep.recommendation.best_index),
                                           ("one-SE", sweep.recommendation.one_se_index)) if chosen == index]
        runs = f"{point.runs} ({point.diverged} diverged)" if point.diverged else str(point.runs)
        row = [wording.factor_words(point.factor), runs, wording.mean_interval_words(point.loss)]
        if comparison.metric:
            row.append(wording.mean_interval_words(point.metric, 100.0, 1, "%"))
        rows.append(row + [", ".join(marks)])
    return header + ["choice"], rows


def _aligned(rows, indent="  "):
    """Rows of cells as lines, each column left-aligned to its widest cell."""
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(_pad(cell, width) for cell, width in zip(row, widths))).rstrip() for row in rows]


def _table_sections(comparison):
    """The terminal lines after the main table: the differences with intervals, then the λ curve."""
    lines = []
    differences = _differences(comparison)
    if differences:
        lines += ["", _differences_title(comparison) + ":"]
        for name, rows in differences:
            lines.append(f"  {printable(name)}:")
            lines += _aligned([[title, words] for title, words in rows], indent="    ")
    if comparison.sweep is not None:
        header, rows = _sweep_rows(comparison)
        lines += ["", _sweep_title(comparison) + ":"] + _aligned([header] + rows)
        lines += [printable(sentence) for sentence in wording.sweep_sentences(comparison)]
    return lines


def _markdown_sections(comparison):
    """The Markdown after the main table: the same sections as `_table_sections`, as tables."""
    lines = []
    differences = _differences(comparison)
    if differences:
        lines += ["", f"**{_differences_title(comparison)}**", "",
                  "| configuration | number | difference [95% CI], seeds, method |", "|---|---|---|"]
        lines += [f"| {markdown_cell(name)} | {markdown_cell(title)} | {markdown_cell(words)} |"
                  for name, rows in differences for title, words in rows]
    if comparison.sweep is not None:
        header, rows = _sweep_rows(comparison)
        lines += ["", f"**{_sweep_title(comparison)}**", "",
                  "| " + " | ".join(markdown_cell(cell) for cell in header) + " |",
                  "|" + "---:|" * 2 + "---|" * (len(header) - 2)]
        lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
        sentences = wording.sweep_sentences(comparison)
        if sentences:
            lines += ["", printable(" ".join(sentences))]
    return lines


def render_table(comparison, colour=False, warnings=True):
    """Returns the terminal report: legend, aligned table, intervals, λ curve, verdict and notes.

    With several runs in a configuration, the headline differences follow
    the table with their 95% intervals over seeds; with a factor sweep
    (`comparison.sweep`), the λ curve and the recommended factor.

    Args:
        comparison: a `Comparison`.
        colour: mark better and worse changes in green and red (for a
            terminal; click removes the codes elsewhere anyway).
        warnings: list the comparison's warnings after the notes; `False`
            where the caller shows them itself (the CLI, on stderr).
    """
    names = [printable(c.name) for c in comparison.configurations]
    lines = _legend(comparison, names) + [""]
    rows = _rows(comparison)
    # Widths in terminal columns of the escaped text, as it is shown.
    title_width = max(display_width(title) for title, _ in rows)
    widths = []
    for i, name in enumerate(names):
        widths.append(max([display_width(name)] + [display_width(c[i][0] + c[i][1]) for _, c in rows]))
    header = " " * title_width + "".join(f"  {_pad(name, w)}" for name, w in zip(names, widths))
    lines.append(header.rstrip())
    lines.append("-" * display_width(header.rstrip()))
    for title, cells in rows:
        line = _pad(title, title_width)
        for (text, diff, change, better), width in zip(cells, widths):
            padding = " " * (width - display_width(text + diff))
            colour_name = _colour(change, better) if colour else None
            shown = click.style(diff, fg=colour_name) if colour_name and diff else diff
            line += f"  {text}{shown}{padding}"
        lines.append(line.rstrip())
    lines += _table_sections(comparison)
    lines.append("")
    lines.append("Verdict: " + printable(" ".join(wording.verdict_sentences(comparison))))
    notes = _notes(comparison, warnings)
    if notes:
        lines.append("")
        lines.extend(f"Note: {printable(n)}" for n in notes)
    return "\n".join(lines)


def _status(run):
    if run.diverged_epoch is not None:
        return f"diverged at epoch {run.diverged_epoch}"
    if run.complete is False:
        return "incomplete"
    return ""


def _notes(comparison, warnings=True):
    """Each distinct run note once, after the names of the runs it is about, then the warnings (if `warnings`).

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
    notes = [f"{', '.join(names)}: {wording.note_sentence(note)}." for note, names in groups]
    return notes + (list(comparison.warnings) if warnings else [])


def render_markdown(comparison, warnings=True):
    """Returns the report as Markdown: a table, the intervals and λ curve (as `render_table`), the verdict
    and notes (and warnings, as `render_table`).

    The notes are the only `- ` bullets (the TensorBoard tab lists the same).
    """
    ordered = comparison.configurations
    lines = ["| | " + " | ".join(markdown_cell(c.name) for c in ordered) + " |",
             "|---|" + "---:|" * len(ordered),
             "| regularization | " + " | ".join(markdown_cell(c.label) for c in ordered) + " |"]
    if any(c.hparams for c in ordered):
        lines.append("| hyperparameters | " + " | ".join(markdown_cell(wording.hparams_words(c.hparams))
                                                         for c in ordered) + " |")
    for title, cells in _rows(comparison):
        lines.append(f"| {markdown_cell(title.strip())} | "
                     + " | ".join(markdown_cell(text + diff) for text, diff, _, _ in cells) + " |")
    lines += _markdown_sections(comparison)
    lines += ["", "**Verdict:** " + printable(" ".join(wording.verdict_sentences(comparison)))]
    notes = [f"Skipped (not compared): {wording.skip_sentence(run)}" for run in comparison.skipped]
    notes += _notes(comparison, warnings)
    if notes:
        lines += [""] + [f"- {printable(n)}" for n in notes]
    return "\n".join(lines)


# The CSV columns that hold text from the user's files (folder names, setup
# labels, tags) or words; the rest are numbers and codes.
_CSV_TEXT_FIELDS = ("name", "label", "configuration", "metric", "skipped")
CSV_FIELDS = (("name", "label", "configuration", "seed", "metric", "epochs") + SUMMARY_FIELDS
              + ("last_epoch", "loss_basis", "skipped"))


def render_csv(comparison):
    """Returns one CSV row per run with every summary number (units as in the JSON).

    Runs that were skipped get a row with their name and, in `skipped`, the
    reason; their numbers are empty. Names are escaped as in the other
    formats, so the CSV always encodes as UTF-8 and never holds a control
    character; csv quoting handles commas and quotes.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    rows = [{field: getattr(run, field, None) for field in CSV_FIELDS} for run in comparison.runs]
    rows += [{"name": run.name, "skipped": wording.skip_predicate(run.reason)} for run in comparison.skipped]
    for values in rows:
        row = []
        for field in CSV_FIELDS:
            value = values.get(field)
            if value is not None and field in _CSV_TEXT_FIELDS:
                value = printable(value)
            row.append(spreadsheet_cell(value))
        writer.writerow(row)
    return out.getvalue()


def _plain(value):
    """Dataclasses as dicts, tuples as lists and non-finite floats as None, in one pass.

    (`dataclasses.asdict` deep-copies every curve first, and a second walk
    replaced the non-finite values: on 1,000 runs of 100 epochs, 1.2 s.)
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], float):
        # A curve: kept as it is when every value is a finite number.
        try:
            if np.isfinite(np.asarray(value, dtype=np.float64)).all():
                return list(value)
        except (TypeError, ValueError):
            pass
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    return value


# Above this many runs the JSON is written on one line: the indenting
# encoder is pure Python, twice as slow on a large report.
INDENTED_JSON_RUNS = 100


def report_json(comparison):
    """Returns `report_dict` as JSON text (NaN and infinities as null): indented, on one line above 100 runs."""
    indent = 2 if len(comparison.runs) <= INDENTED_JSON_RUNS else None
    return json.dumps(report_dict(comparison), indent=indent, allow_nan=False)


def report_dict(comparison):
    """Returns the documented JSON structure (docs/compare-json.md) of a `Comparison`.

    The structured results (`notes`, `verdicts`, `skipped[].reason`) and
    their words (`missing`, `verdict`, `skipped[].text`) side by side: a
    program reads the first, a person (and the TensorBoard tab) the second.
    """
    data = _plain(comparison)
    for run_data, run in zip(data["runs"], comparison.runs):
        run_data["notes"] = [note.to_dict() for note in run.notes]
        run_data["missing"] = [wording.note_sentence(note) for note in run.notes]
    data["skipped"] = [{"name": run.name, "path": run.path, "reason": run.reason.to_dict(),
                        "text": wording.skip_sentence(run)} for run in comparison.skipped]
    data["verdict"] = wording.verdict_sentences(comparison)
    data["recommendation"] = wording.sweep_sentences(comparison)
    data["format_version"] = REPORT_FORMAT_VERSION
    return data


def render(comparison, output_format, colour=False, warnings=True):
    """Renders in `table`, `json`, `csv` or `markdown`.

    `warnings=False` leaves the warnings out of the table and Markdown, for
    a caller that shows them itself (the CLI prints them on stderr, and a
    report on the same terminal would say each twice); JSON always has them.

    JSON keeps every name exactly as it is (JSON's own escapes, ASCII only:
    an undecodable byte of a folder name is a `\\udcXX` escape), so a
    program reading it can find the folder again.
    """
    if output_format == "json":
        return report_json(comparison)
    if output_format == "csv":
        return render_csv(comparison).rstrip("\n")
    if output_format == "markdown":
        return render_markdown(comparison, warnings=warnings)
    return render_table(comparison, colour=colour, warnings=warnings)
