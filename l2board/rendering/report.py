"""Renders a `Comparison` as a terminal table, Markdown, CSV or JSON.

Nothing here computes a number: every value comes from the `Comparison`,
so all formats agree with each other and with the dashboard.

Run names, setup labels, metric and variable names, and the sentences that
quote them (verdict, notes with file paths) all come from the user's files,
so every renderer escapes them (`l2board.safe_text`) before they reach a
terminal, a Markdown table or a CSV file.
"""

import csv
import io

import click

from l2board.analysis.comparison import LAYER_NORM_PREFIX, SUMMARY_FIELDS
from l2board.safe_text import display_width, markdown_cell, printable

# (row title, field, kind, better): kind says how to print the number,
# better which direction of change is good (None: neither).
ROWS = (
    ("final validation {metric}", "final_val_metric", "fraction", "higher"),
    ("best validation {metric}", "best_val_metric", "fraction", "higher"),
    ("  at epoch", "best_epoch", "epoch", None),
    ("final training {metric}", "final_train_metric", "fraction", None),
    ("{metric} gap, final (train - val)", "metric_gap_final_pp", "pp", "lower"),
    ("{metric} gap, at best epoch", "metric_gap_best_pp", "pp", "lower"),
    ("final validation data loss", "final_val_data_loss", "loss", "lower"),
    ("data-loss gap, final (val - train)", "data_loss_gap_final", "loss", "lower"),
    ("data-loss gap, at best epoch", "data_loss_gap_best", "loss", "lower"),
    ("overfitting onset (min val data loss)", "onset_epoch", "epoch", "higher"),
    ("val data loss rise after onset", "rise_after_onset", "loss", "lower"),
    ("generalization loss GL at end", "generalization_loss_percent", "percent", "lower"),
    ("EarlyStopping(patience={patience}) stops", "early_stopping_epoch", "stop", None),
    ("final penalty", "final_penalty", "loss", None),
    ("penalty share of training loss", "final_penalty_share_percent", "percent", None),
    ("total weight L2 norm", "final_weight_l2", "loss", None),
    ("distance from initial weights", "final_init_distance", "loss", None),
)


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


def _cell(configuration, changes, field, kind):
    mean, std = configuration.mean[field], configuration.std[field]
    text = _number(mean, kind)
    if kind == "stop" and mean is None:
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


def _title(template, comparison):
    # The metric name is a tag from the user's files: shown, never obeyed.
    return template.format(metric=printable(comparison.metric or "metric"), patience=comparison.patience)


def _rows(comparison):
    columns = _columns(comparison)
    rows = []
    for template, field, kind, better in ROWS:
        if comparison.metric is None and "{metric}" in template:
            continue
        rows.append((_title(template, comparison), [_cell(c, ch, field, kind) + (better,) for c, ch in columns]))
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


def render_table(comparison, colour=False):
    """Returns the terminal report: legend, aligned table, verdict and notes.

    Args:
        comparison: a `Comparison`.
        colour: mark better and worse changes in green and red (for a
            terminal; click removes the codes elsewhere anyway).
    """
    lines = ["Runs (baseline first):" if len(comparison.configurations) > 1 else "Run:"]
    ordered = _columns(comparison)
    names = [printable(c.name) for c, _ in ordered]
    status = {run.name: _status(run) for run in comparison.runs}
    for (configuration, _), shown_name in zip(ordered, names):
        seeds = f", {len(configuration.runs)} runs (mean ± std)" if len(configuration.runs) > 1 else ""
        mark = "  (baseline)" if configuration.name == comparison.baseline else ""
        flags = sorted({status[name] for name in configuration.runs if status[name]})
        flag = f"  [{', '.join(flags)}]" if flags else ""
        lines.append(f"  {shown_name}: {printable(configuration.label)}{seeds}{mark}{flag}")
    lines.append("")
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
    lines.append("")
    lines.append("Verdict: " + printable(" ".join(comparison.verdict)))
    notes = _notes(comparison)
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


def _notes(comparison):
    notes = []
    seen = set()
    for run in comparison.runs:
        for missing in run.missing:
            key = missing.split(":")[0]
            if key not in seen:
                seen.add(key)
                names = [r.name for r in comparison.runs if missing in r.missing]
                notes.append(f"{', '.join(names)}: {missing}.")
    return notes + list(comparison.warnings)


def render_markdown(comparison):
    """Returns the report as Markdown: a table, the verdict and notes."""
    ordered = _columns(comparison)
    lines = ["| | " + " | ".join(markdown_cell(c.name) for c, _ in ordered) + " |",
             "|---|" + "---:|" * len(ordered),
             "| regularization | " + " | ".join(markdown_cell(c.label) for c, _ in ordered) + " |"]
    for title, cells in _rows(comparison):
        lines.append(f"| {markdown_cell(title.strip())} | "
                     + " | ".join(markdown_cell(text + diff) for text, diff, _, _ in cells) + " |")
    lines += ["", "**Verdict:** " + printable(" ".join(comparison.verdict))]
    notes = _notes(comparison)
    if notes:
        lines += [""] + [f"- {printable(n)}" for n in notes]
    return "\n".join(lines)


# The CSV columns that hold text from the user's files (folder names, setup
# labels, tags); the rest are numbers.
_CSV_TEXT_FIELDS = ("name", "label", "configuration", "metric")


def render_csv(comparison):
    """Returns one CSV row per run with every summary number (units as in the JSON).

    Names are escaped as in the other formats, so the CSV always encodes as
    UTF-8 and never holds a control character; csv quoting handles commas
    and quotes.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = ("name", "label", "configuration", "metric", "epochs") + SUMMARY_FIELDS
    writer.writerow(fields)
    for run in comparison.runs:
        row = []
        for field in fields:
            value = getattr(run, field)
            if value is not None and field in _CSV_TEXT_FIELDS:
                value = printable(value)
            row.append("" if value is None else value)
        writer.writerow(row)
    return out.getvalue()


def render(comparison, output_format, colour=False):
    """Renders in `table`, `json`, `csv` or `markdown`.

    JSON keeps every name exactly as it is (JSON's own escapes, ASCII only:
    an undecodable byte of a folder name is a `\\udcXX` escape), so a
    program reading it can find the folder again.
    """
    if output_format == "json":
        return comparison.to_json()
    if output_format == "csv":
        return render_csv(comparison).rstrip("\n")
    if output_format == "markdown":
        return render_markdown(comparison)
    return render_table(comparison, colour=colour)
