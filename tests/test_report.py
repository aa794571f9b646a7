"""The report's renderers on runs whose names, labels and tags hold hostile text."""

import csv
import glob
import io
import json
import os
import re

import pytest
from conftest import write_run

from l2board.rendering import report
from l2board.analysis.comparison import compare_runs
from l2board.reading.logs import read_runs
from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable
from l2board.safe_text import display_width, printable

# Folder names a file system allows and a terminal, Markdown or matplotlib
# would obey: a newline, a Markdown column bar, a colour code, a
# right-to-left override, mathtext, wide characters, a name matplotlib hides
# from legends, and (created separately) a byte that is not UTF-8.
HOSTILE_NAMES = ("new\nline", "pipe|name", "\x1b[31mred", "\u202eevil", "cost$\\foo$", "実験", "_base")
NOT_UTF8_NAME = b"run\xff"
# Tags and setup text from the files are just as free.
HOSTILE_METRIC = "acc|uracy\n\x1b[2m$x$"
HOSTILE_VARIABLE = "dense|x\n\x1b[1m/kernel"
RAW_CONTROLS = ("\x1b", "\u202e", "\r", "\udcff")


def write_hostile_runs(root):
    """Writes one small run per hostile name under `root`, with a damaged file; returns the folder names."""
    setup = RegularizationSetup(variables=(WeightVariable(HOSTILE_VARIABLE, 100, True, "L2", l2=0.01),))
    for i, name in enumerate(HOSTILE_NAMES + ("plain",)):
        shift = 0.02 * i
        write_run(root / name, setup=setup,
                  train={"epoch_" + HOSTILE_METRIC: [0.5 + shift, 0.7 + shift, 0.9],
                         "epoch_loss": [1.0, 0.7, 0.4], "epoch_data_loss": [0.9, 0.6, 0.3],
                         "weight_norm_total/l2": [1.0, 1.1, 1.2 + shift],
                         "weight_norm/l2/" + HOSTILE_VARIABLE: [1.0, 1.1, 1.2 + shift]},
                  validation={"epoch_" + HOSTILE_METRIC: [0.5, 0.6 - shift, 0.55],
                              "epoch_loss": [1.0, 0.9, 1.0 + shift], "epoch_data_loss": [0.9, 0.8, 0.9 + shift]})
    # TensorFlow cannot write to a path that is not UTF-8, so the run is renamed to one.
    os.rename(os.fsencode(root / "plain"), os.path.join(os.fsencode(root), NOT_UTF8_NAME))
    # A cut-off event file: its warning names the file's path, hostile name included.
    (damaged,) = glob.glob(str(root / "new\nline" / "validation" / "events.out.tfevents.*"))
    with open(damaged, "r+b") as handle:
        handle.truncate(os.path.getsize(damaged) - 3)
    return list(HOSTILE_NAMES) + [os.fsdecode(NOT_UTF8_NAME)]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    names = write_hostile_runs(root)
    comparison = compare_runs(read_runs([str(root)]))
    assert sorted(r.name for r in comparison.runs) == sorted(names)  # the names are the real ones
    assert comparison.metric == HOSTILE_METRIC and comparison.warnings
    return comparison


def assert_shown_not_obeyed(text):
    text.encode("utf-8")  # an undecodable byte of a folder name used to raise UnicodeEncodeError here
    for raw in RAW_CONTROLS:
        assert raw not in text


def expanded(line):
    """The line as a terminal lays it out: one list item per column (a wide character and then '')."""
    return [part for char in line for part in ((char, "") if display_width(char) == 2 else (char,))]


def test_table_escapes_names_and_stays_aligned(hostile):
    text = report.render_table(hostile)
    assert_shown_not_obeyed(text)
    lines = text.split("\n")
    count = len(hostile.configurations)
    # The legend: one line per configuration, the name and setup label escaped.
    assert lines[0] == "Runs (baseline first):" and lines[1 + count] == ""
    for line, configuration in zip(lines[1:1 + count], hostile.configurations):
        assert line.startswith(f"  {printable(configuration.name)}: {printable(configuration.label)}")
    assert any(line.startswith("  new\\nline: L2 0.01 on dense|x\\n\\x1b[1m (100% of weights)")
               for line in lines[1:1 + count])
    # The table: one line per row (the metric's and the variable's names hold a newline).
    header, rule = lines[2 + count], lines[3 + count]
    end = lines.index("", 4 + count)
    body = lines[4 + count:end]
    assert len(body) == len(report.ROWS) + 1  # every row, and the one variable's weight norm
    assert body[0].startswith("final validation acc|uracy\\n\\x1b[2m$x$ ")
    assert any(row.startswith("  dense|x\\n\\x1b[1m/kernel ") for row in body)
    # Each column starts at the same terminal column in every line, wide names included.
    assert display_width(rule) == display_width(header) and set(rule) == {"-"}
    starts, position = [], 0
    for configuration in hostile.configurations:
        position = header.index(printable(configuration.name), position)
        starts.append(display_width(header[:position]))
        position += 1
    for line in body:
        columns = expanded(line)
        for start in starts:
            assert columns[start - 1] == " " and columns[start] not in (" ", ""), (line, start)
    # One verdict line, then one line per note, each a whole note.
    assert lines[end + 1].startswith("Verdict: ") and lines[end + 2] == ""
    notes = lines[end + 3:]
    assert notes and all(note.startswith("Note: ") for note in notes)
    assert any("new\\nline/validation/events.out.tfevents." in note and "cut off" in note for note in notes)


def test_markdown_has_one_column_per_run_and_one_line_per_row(hostile):
    text = report.render_markdown(hostile)
    assert_shown_not_obeyed(text)
    lines = text.split("\n")
    table = [line for line in lines if line.startswith("|")]
    assert lines[:len(table)] == table and len(table) == 3 + len(report.ROWS) + 1
    for line in table:
        # Cell separators: bars not escaped by a backslash.
        assert len(re.findall(r"(?<!\\)\|", line)) == len(hostile.configurations) + 2, line
    assert "pipe\\|name" in table[0] and "dense\\|x\\n\\x1b[1m (100% of weights)" in table[2]
    rest = lines[len(table):]
    assert rest[0] == "" and rest[1].startswith("**Verdict:** ") and rest[2] == ""
    assert all(line.startswith("- ") for line in rest[3:]) and len(rest) > 3


def test_csv_escapes_names_and_json_keeps_them(hostile):
    text = report.render(hostile, "csv")
    assert_shown_not_obeyed(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + len(hostile.runs) and {len(row) for row in rows} == {len(rows[0])}
    assert [row[0] for row in rows[1:]] == [printable(run.name) for run in hostile.runs]
    assert "run\\xff" in [row[0] for row in rows[1:]]
    assert all("\n" not in field for row in rows for field in row)
    assert {row[3] for row in rows[1:]} == {printable(HOSTILE_METRIC)}
    # JSON is for programs: the real names, in ASCII escapes that always encode.
    served = report.render(hostile, "json")
    served.encode("ascii")
    assert sorted(run["name"] for run in json.loads(served)["runs"]) == sorted(run.name for run in hostile.runs)
