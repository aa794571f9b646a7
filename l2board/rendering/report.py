"""Renders a `Comparison` as a terminal table, Markdown, CSV or JSON, from its one view.

Nothing here computes a number or words a sentence: cells, sentences and
labels come from `l2board.rendering.view.report_view`, the numbers from the
`Comparison`, so all formats agree with each other and with the dashboard.

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

from l2board.analysis.comparison import REPORT_FORMAT_VERSION, SUMMARY_FIELDS, Comparison
from l2board.analysis.notes import Note
from l2board.errors import L2BoardError
from l2board.rendering import wording
from l2board.rendering.view import report_view
from l2board.safe_text import display_width, markdown_cell, printable, spreadsheet_cell

_COLOURS = {"better": "green", "worse": "red"}


def _pad(text, width):
    """`text` left-aligned in `width` terminal columns (wide characters count 2)."""
    return text + " " * (width - display_width(text))


def _legend_lines(view):
    legend = view["legend"]
    lines = [legend["title"]]
    lines += [f"  {printable(entry['text'])}" for entry in legend["configurations"]]
    if legend["skipped"]:
        lines.append(legend["skipped_title"])
        lines += [f"  {printable(run['name'])}: {printable(run['reason'])}" for run in legend["skipped"]]
    return lines


def _aligned(rows, indent="  "):
    """Rows of cells as lines, each column left-aligned to its widest cell."""
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(_pad(cell, width) for cell, width in zip(row, widths))).rstrip() for row in rows]


def _table_lines(view, colour):
    table = view["table"]
    names = [printable(name) for name in table["columns"]]
    rows = [(printable(row["title"]), row["cells"]) for row in table["rows"]]
    # Widths in terminal columns of the escaped text, as it is shown.
    title_width = max(display_width(title) for title, _ in rows)
    widths = [max([display_width(name)] + [display_width(cells[i]["text"] + cells[i]["change"]) for _, cells in rows])
              for i, name in enumerate(names)]
    header = " " * title_width + "".join(f"  {_pad(name, w)}" for name, w in zip(names, widths))
    lines = [header.rstrip(), "-" * display_width(header.rstrip())]
    for title, cells in rows:
        line = _pad(title, title_width)
        for cell, width in zip(cells, widths):
            padding = " " * (width - display_width(cell["text"] + cell["change"]))
            shown = cell["change"]
            if colour and cell["tone"] and shown:
                shown = click.style(shown, fg=_COLOURS[cell["tone"]])
            line += f"  {cell['text']}{shown}{padding}"
        lines.append(line.rstrip())
    return lines


def _sections(view):
    """The terminal lines after the main table: the differences with intervals, then the λ curve."""
    lines = []
    differences = view["differences"]
    if differences and differences["sections"]:
        lines += ["", printable(differences["title"]) + ":"]
        for section in differences["sections"]:
            lines.append(f"  {printable(section['configuration'])}:")
            lines += _aligned([[printable(row["title"]), printable(row["text"])] for row in section["rows"]],
                              indent="    ")
    sweep = view["sweep"]
    if sweep is not None:
        cells = [[printable(cell) for cell in row] for row in [sweep["header"]] + sweep["rows"]]
        lines += ["", printable(sweep["title"]) + ":"] + _aligned(cells)
        lines += [printable(sentence) for sentence in sweep["sentences"]]
    return lines


def _verdict_lines(view):
    """`Verdict:` then one paragraph per configuration, and how the intervals are adjusted."""
    verdict = view["verdict"]
    paragraphs = [printable(paragraph) for paragraph in verdict["paragraphs"]]
    lines = ["Verdict: " + paragraphs[0]] + ["         " + paragraph for paragraph in paragraphs[1:]]
    if verdict["adjustment"]:
        lines.append(printable(verdict["adjustment"]))
    return lines


def _note_lines(view, warnings):
    return view["notes"] + (view["warnings"] if warnings else [])


def render_table(comparison, colour=False, warnings=True, view=None):
    """Returns the terminal report: legend, aligned table, intervals, λ curve, verdict and notes.

    With several runs in a configuration, the headline differences follow
    the table with their unadjusted 95% intervals over seeds; with a factor
    sweep (`comparison.sweep`), the λ curve and the recommended factor.

    Args:
        comparison: a `Comparison`.
        colour: mark the changes the verdict claims as better (green) or
            worse (red) (for a terminal; click removes the codes elsewhere anyway).
        warnings: list the comparison's warnings after the notes; `False`
            where the caller shows them itself (the CLI, on stderr).
        view: its `report_view`, when the caller has it already.
    """
    view = view or report_view(comparison)
    lines = _legend_lines(view) + [""] + _table_lines(view, colour) + _sections(view)
    lines += [""] + _verdict_lines(view)
    notes = _note_lines(view, warnings)
    if notes:
        lines.append("")
        lines.extend(f"Note: {printable(n)}" for n in notes)
    return "\n".join(lines)


def _markdown_sections(view):
    """The Markdown after the main table: the same sections as the terminal's, as tables."""
    lines = []
    differences = view["differences"]
    if differences and differences["sections"]:
        lines += ["", f"**{markdown_cell(differences['title'])}**", "",
                  "| configuration | number | difference [95% CI, unadjusted], runs, pairing |", "|---|---|---|"]
        lines += [f"| {markdown_cell(section['configuration'])} | {markdown_cell(row['title'])} | "
                  f"{markdown_cell(row['text'])} |" for section in differences["sections"] for row in section["rows"]]
    sweep = view["sweep"]
    if sweep is not None:
        header = sweep["header"]
        lines += ["", f"**{markdown_cell(sweep['title'])}**", "",
                  "| " + " | ".join(markdown_cell(cell) for cell in header) + " |",
                  "|" + "---:|" * 2 + "---|" * (len(header) - 2)]
        lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in sweep["rows"]]
        if sweep["sentences"]:
            lines += ["", printable(" ".join(sweep["sentences"]))]
    return lines


def render_markdown(comparison, warnings=True, view=None):
    """Returns the report as Markdown: a table, the intervals and λ curve (as `render_table`), the verdict
    and notes (and warnings, as `render_table`).

    The notes are the only `- ` bullets (the TensorBoard tab lists the same).
    """
    view = view or report_view(comparison)
    legend = view["legend"]["configurations"]
    lines = ["| | " + " | ".join(markdown_cell(name) for name in view["table"]["columns"]) + " |",
             "|---|" + "---:|" * len(legend),
             "| regularization | " + " | ".join(markdown_cell(entry["label"]) for entry in legend) + " |"]
    for row in view["table"]["rows"]:
        lines.append(f"| {markdown_cell(row['title'].strip())} | "
                     + " | ".join(markdown_cell(cell["text"] + cell["change"]) for cell in row["cells"]) + " |")
    lines += _markdown_sections(view)
    for i, paragraph in enumerate(view["verdict"]["paragraphs"]):
        lines += ["", ("**Verdict:** " if i == 0 else "") + printable(paragraph)]
    if view["verdict"]["adjustment"]:
        lines += ["", printable(view["verdict"]["adjustment"])]
    notes = view["note_lines"] if warnings else view["note_lines"][:len(view["note_lines"]) - len(view["warnings"])]
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


_LEAVES = frozenset({str, int, bool, type(None)})
# Each dataclass's field names, looked up once: `dataclasses.fields` and
# `is_dataclass` for every value of 1,000 runs took seconds.
_FIELD_NAMES = {}


def _field_names(kind):
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = (tuple(field.name for field in dataclasses.fields(kind))
                                      if dataclasses.is_dataclass(kind) else ())
    return names


def _plain_numbers(values):
    """A list of numbers as the JSON holds it: as it is when every one is finite, else with None for the others."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError):
        return None
    if array.dtype.kind in "iub":
        return list(values)
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        return list(values) if finite.all() else [float(v) if ok else None for v, ok in zip(values, finite)]
    return None


def _plain(value):
    """Dataclasses as dicts, tuples as lists and non-finite floats as None, in one pass.

    (`dataclasses.asdict` deep-copies every curve first, and a second walk
    replaced the non-finite values: on 1,000 runs of 100 epochs, 1.2 s.
    Curves, lists of numbers, are checked as arrays, not number by number.)
    """
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind in _LEAVES:
        return value
    if kind is dict:
        return {k: _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        if value and type(value[0]) in (int, float):
            numbers = _plain_numbers(value)
            if numbers is not None:
                return numbers
        return [_plain(v) for v in value]
    if kind is Note:
        return _plain(value.to_dict())
    names = _field_names(kind)
    if names:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, float):  # a NumPy float
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (int, str)):
        return value
    return value


# Above this many runs the JSON is written on one line: the indenting
# encoder is pure Python, twice as slow on a large report.
INDENTED_JSON_RUNS = 100


def report_json(comparison, view=None):
    """Returns `report_dict` as JSON text (NaN and infinities as null): indented, on one line above 100 runs."""
    indent = 2 if len(comparison.runs) <= INDENTED_JSON_RUNS else None
    return json_text(report_dict(comparison, view), indent)


def json_text(data, indent=None):
    """`data` (plain: dicts, lists, strings, finite numbers) as JSON text in ASCII, as `json.dumps` writes it.

    orjson encodes it (1,000 runs of 100 epochs, 24 MB: 0.1 s where the
    standard library takes 1.5 s); a text it refuses (a folder name that is
    not UTF-8, held as surrogate escapes) goes to `json.dumps`. Characters
    beyond ASCII, and DEL, are written as JSON's `\\uXXXX` escapes either way.
    """
    try:
        import orjson
    except ImportError:  # a platform without its wheel: the same text, slower
        orjson = None
    if orjson is not None:
        try:
            raw = orjson.dumps(data, option=orjson.OPT_INDENT_2 if indent else 0)
        except (TypeError, orjson.JSONEncodeError):
            raw = None
        if raw is not None:
            return raw.decode() if raw.isascii() and b"\x7f" not in raw else _ascii_escaped(raw)
    return json.dumps(data, indent=indent, allow_nan=False)


def _ascii_escaped(raw):
    """orjson's UTF-8 with each character beyond ASCII, and DEL, as its `\\uXXXX` escape, as json.dumps writes it.

    Only strings hold such characters, and a run of bytes of 0x7f and above
    is whole characters. The runs are found with NumPy (a 23 MB report holds
    a few hundred; a regular expression's scan of the text took 0.14-0.2 s).

    >>> print(_ascii_escaped('{"a":"±1 λ","b":"😀"}'.encode()))
    {"a":"\\u00b11 \\u03bb","b":"\\ud83d\\ude00"}
    """
    high = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) >= 0x7F)
    breaks = np.flatnonzero(np.diff(high) != 1)
    starts = [int(high[0])] + (high[breaks + 1]).tolist()
    stops = (high[breaks] + 1).tolist() + [int(high[-1]) + 1]
    parts, at = [], 0
    for start, stop in zip(starts, stops):
        parts.append(raw[at:start].decode("ascii"))
        parts.append(json.dumps(raw[start:stop].decode("utf-8"))[1:-1])
        at = stop
    parts.append(raw[at:].decode("ascii"))
    return "".join(parts)


def report_dict(comparison, view=None):
    """Returns the documented JSON structure (docs/compare-json.md) of a `Comparison`.

    The structured results (`notes`, `verdicts`, `skipped[].reason`,
    `file_notes`, each change's `outcome`) and their words (`missing`,
    `verdict`, `skipped[].text`, `warnings`, and the whole `view`) side by
    side: a program reads the first, a person (and the TensorBoard tab) the
    second.
    """
    view = view or report_view(comparison)
    data = _plain(comparison)
    for run_data, run in zip(data["runs"], comparison.runs):
        run_data["missing"] = [wording.note_sentence(note) for note in run.notes]
        run_data["warnings"] = [wording.file_note_sentence(note) for note in run.file_notes]
    data["skipped"] = [{"name": run.name, "path": run.path, "reason": run.reason.to_dict(),
                        "text": wording.skip_sentence(run)} for run in comparison.skipped]
    data["warnings"] = view["warnings"]
    data["verdict"] = [sentence["text"] for sentence in view["verdict"]["sentences"]]
    data["recommendation"] = view["recommendation"]
    data["adjustment"] = {"method": "holm", "alpha": comparison.alpha, "claims": comparison.family_size,
                          "text": view["verdict"]["adjustment"]}
    data["view"] = view
    data["format_version"] = REPORT_FORMAT_VERSION
    return data


class ComparisonReport(Comparison):
    """A `Comparison` with its renderings: what `l2board.compare` returns to notebooks."""

    @classmethod
    def of(cls, comparison):
        """The same comparison, with `to_dict`, `to_json` and `to_pandas`."""
        return cls(**{field.name: getattr(comparison, field.name) for field in dataclasses.fields(comparison)})

    def to_dict(self):
        """Returns the documented JSON structure (docs/compare-json.md), sentences included."""
        return report_dict(self)

    def to_json(self):
        """Returns `to_dict()` as JSON text (NaN and infinities as null; on one line above 100 runs)."""
        return report_json(self)

    def to_pandas(self):
        """Returns one row per run (baseline's first) with every summary number, as a pandas DataFrame.

        The columns are the CSV's (`CSV_FIELDS`) but `skipped`, with names
        as they are; needs pandas.
        """
        try:
            import pandas
        except ImportError:
            raise L2BoardError('to_pandas() needs pandas: pip install "l2board[pandas]" (or pandas).') from None
        columns = [field for field in CSV_FIELDS if field != "skipped"]
        return pandas.DataFrame([[getattr(run, field) for field in columns] for run in self.runs], columns=columns)


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
