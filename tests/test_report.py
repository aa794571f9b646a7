"""The report's renderers: hostile text in names, labels and tags; intervals over seeds and the λ curve."""

import csv
import glob
import io
import json
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import write_run
from scipy import stats
from test_analysis import L2, NO_L2, l2monitor_like_run
from test_factor_sweep import INTERIOR, write_sweep

from l2board.rendering import report, view, wording
from l2board.analysis.comparison import compare_runs
from l2board.reading.logs import read_runs
from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable
from l2board.safe_text import display_width, printable

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("report")

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
    assert comparison.metric == HOSTILE_METRIC and comparison.file_notes
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
    assert len(body) == len(view.ROWS) + 1  # every row, and the one variable's weight norm
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
    # One verdict line per configuration compared, then one line per note, each a whole note.
    verdict_end = lines.index("", end + 1)
    verdict = lines[end + 1:verdict_end]
    assert verdict[0].startswith("Verdict: ") and len(verdict) == count - 1
    assert all(line.startswith(" " * len("Verdict: ")) and line.strip() for line in verdict[1:])
    notes = lines[verdict_end + 1:]
    assert notes and all(note.startswith("Note: ") for note in notes)
    assert any("new\\nline/validation/events.out.tfevents." in note and "cut off" in note for note in notes)


def test_markdown_has_one_column_per_run_and_one_line_per_row(hostile):
    text = report.render_markdown(hostile)
    assert_shown_not_obeyed(text)
    lines = text.split("\n")
    table = [line for line in lines if line.startswith("|")]
    assert lines[:len(table)] == table and len(table) == 3 + len(view.ROWS) + 1
    for line in table:
        # Cell separators: bars not escaped by a backslash.
        assert len(re.findall(r"(?<!\\)\|", line)) == len(hostile.configurations) + 2, line
    assert "pipe\\|name" in table[0] and "dense\\|x\\n\\x1b[1m (100% of weights)" in table[2]
    rest = lines[len(table):]
    # A paragraph per configuration compared, then the notes as bullets.
    verdict = rest[:2 * (len(hostile.configurations) - 1)]
    assert verdict[0::2] == [""] * len(verdict[0::2]) and verdict[1].startswith("**Verdict:** ")
    assert all(line and not line.startswith(("- ", "|")) for line in verdict[1::2])
    notes = rest[len(verdict):]
    assert notes[0] == "" and all(line.startswith("- ") for line in notes[1:]) and len(notes) > 1


def test_csv_escapes_names_and_json_keeps_them(hostile):
    text = report.render(hostile, "csv")
    assert_shown_not_obeyed(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + len(hostile.runs) and {len(row) for row in rows} == {len(rows[0])}
    assert [row[0] for row in rows[1:]] == [printable(run.name) for run in hostile.runs]
    assert "run\\xff" in [row[0] for row in rows[1:]]
    assert all("\n" not in field for row in rows for field in row)
    assert {row[4] for row in rows[1:]} == {printable(HOSTILE_METRIC)}
    # JSON is for programs: the real names, in ASCII escapes that always encode.
    served = report.render(hostile, "json")
    served.encode("ascii")
    assert sorted(run["name"] for run in json.loads(served)["runs"]) == sorted(run.name for run in hostile.runs)



# Intervals over seeds and the λ curve, on logs written with known values.

# Final validation accuracy and data loss per seed: L2's accuracy is higher
# in every seed (the interval excludes zero); its loss is not (it holds zero).
BASE_ACC, BASE_LOSS = [0.60, 0.64, 0.62], [1.00, 1.10, 1.05]
L2_ACC, L2_LOSS = [0.66, 0.70, 0.69], [1.02, 1.05, 1.10]
# Four other seeds: not the baseline's, so compared by Welch's interval.
WIDE_ACC, WIDE_LOSS = [0.70, 0.72, 0.69, 0.73], [0.95, 0.97, 0.96, 0.99]


def logged(values):
    """The values as the event files hold them (float32), as floats."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def write_seeds(root, name, setup, accuracies, losses, seeds=None):
    folders = []
    for seed, accuracy, loss in zip(seeds or range(len(accuracies)), accuracies, losses):
        folder = root / f"{name}-seed{seed}"
        l2monitor_like_run(folder, setup, train_acc=[0.5, 0.7, 0.9, 1.0], val_acc=[0.45, 0.55, 0.58, accuracy],
                           train_data=[1.2, 0.8, 0.5, 0.3], val_data=[1.2, 0.9, 0.95, loss])
        folders.append(folder)
    return folders


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    return {"no_l2": write_seeds(root, "no_l2", NO_L2, BASE_ACC, BASE_LOSS),
            "l2": write_seeds(root, "l2", L2, L2_ACC, L2_LOSS),
            "wide": write_seeds(root, "wide", L2, WIDE_ACC, WIDE_LOSS, seeds=(10, 11, 12, 13))}


def compare(seeded, *names, seeds=None):
    return compare_runs(read_runs([folder for name in names for folder in seeded[name][:seeds]]), baseline="no_l2")


def section(text, title):
    """The lines of a report section, after its title line and up to the next empty line."""
    lines = text.split("\n")
    (start,) = [i for i, line in enumerate(lines) if line.startswith(title)]
    end = lines.index("", start)
    return lines[start + 1:end]


def cells(line):
    return re.split(r" {2,}", line.strip())


def pp(difference, low, high, seeds):
    return f"{100 * difference:+.1f} pp [{100 * low:+.1f}, {100 * high:+.1f}], {seeds}"


DIFFERENCES = ("Differences against no_l2 (mean difference [95% interval of each alone, unadjusted], runs, "
               "pairing)")


def test_paired_differences_with_their_intervals(seeded):
    comparison = compare(seeded, "no_l2", "l2")
    text = report.render_table(comparison)
    base, other = logged(BASE_ACC), logged(L2_ACC)
    interval = stats.ttest_rel(other, base).confidence_interval(0.95)
    accuracy = pp(np.mean(other - base), interval.low, interval.high, "3 seeds, paired")
    assert interval.low > 0
    base, other = logged(BASE_LOSS), logged(L2_LOSS)
    interval = stats.ttest_rel(other, base).confidence_interval(0.95)
    assert interval.low < 0 < interval.high
    # The table of differences is numbers, labelled unadjusted: no word of what is resolved.
    loss = f"{np.mean(other - base):+.3f} [{interval.low:+.3f}, {interval.high:+.3f}], 3 seeds, paired"
    rows = section(text, DIFFERENCES + ":")
    assert rows[0] == "  l2:"
    shown = dict(cells(row) for row in rows[1:])
    assert shown["final validation accuracy"] == accuracy
    assert shown["final validation data loss"] == loss
    assert list(shown) == ["final validation accuracy", "best validation accuracy",
                           "accuracy gap, final (train - val)", "final validation data loss",
                           "generalization loss GL at end"]  # no run stops: no EarlyStopping difference
    # The main table keeps its cells: mean ± std and the change.
    (row,) = [line for line in text.split("\n") if line.startswith("final validation accuracy ")]
    change = 100 * np.mean(logged(L2_ACC) - logged(BASE_ACC))
    assert cells(row)[1:] == ["62.0% ± 2.0%", f"68.3% ± 2.1% ({change:+.1f} pp)"]
    # Markdown: the same, as a table.
    markdown = report.render_markdown(comparison)
    lines = markdown.split("\n")
    start = lines.index(f"**{DIFFERENCES}**")
    assert lines[start + 1:start + 4] == ["", "| configuration | number | difference [95% CI, unadjusted], runs, "
                                          "pairing |", "|---|---|---|"]
    assert f"| l2 | final validation accuracy | {accuracy} |" in markdown.split("\n")
    assert f"| l2 | final validation data loss | {loss} |" in markdown.split("\n")


def test_welch_differences_when_the_seeds_differ(seeded):
    comparison = compare(seeded, "no_l2", "wide")
    base, other = logged(BASE_ACC), logged(WIDE_ACC)
    interval = stats.ttest_ind(other, base, equal_var=False).confidence_interval(0.95)
    # Which count is whose, and that the runs are not paired.
    expected = pp(other.mean() - base.mean(), interval.low, interval.high, "4 runs of wide and 3 of no_l2, "
                  "unpaired (Welch)")
    rows = section(report.render_table(comparison), "Differences against no_l2")
    assert dict(cells(row) for row in rows[1:])["final validation accuracy"] == expected
    assert f"| wide | final validation accuracy | {expected} |" in report.render_markdown(comparison).split("\n")


def test_a_change_whose_interval_holds_zero_is_not_coloured(seeded):
    import click

    comparison = compare(seeded, "no_l2", "l2")
    coloured = report.render_table(comparison, colour=True)
    lines = {line.split("  ")[0]: line for line in coloured.split("\n")}
    # Resolved after the report's adjustment, and better.
    assert comparison.changes["l2"]["final_val_metric"].outcome == "larger"
    assert "\x1b[32m" in lines["final validation accuracy"]
    # -0.02 [-0.15, +0.11]: not a change to colour; nor is one the verdict does not claim (best accuracy).
    assert comparison.changes["l2"]["final_val_data_loss"].outcome == "unresolved"
    assert "\x1b[" not in lines["final validation data loss"] and "\x1b[" not in lines["best validation accuracy"]
    assert click.unstyle(coloured) == report.render_table(compare(seeded, "no_l2", "l2"))


def test_unreplicated_shows_no_interval(seeded):
    # One run each: no section of intervals, and the verdict says so.
    comparison = compare(seeded, "no_l2", "l2", seeds=1)
    text, markdown = report.render_table(comparison), report.render_markdown(comparison)
    assert "Differences against" not in text and "Differences against" not in markdown
    assert "With one run per configuration, nothing is known of the seed-to-seed spread" in text
    # Three seeds against one run: the section says there is no interval.
    runs = read_runs(seeded["no_l2"] + seeded["l2"][:1])
    comparison = compare_runs(runs, baseline="no_l2")
    rows = section(report.render_table(comparison), "Differences against no_l2")
    difference = 100 * (logged(L2_ACC)[0] - logged(BASE_ACC).mean())
    shown = dict(cells(row) for row in rows[1:])
    assert shown["final validation accuracy"] == f"{difference:+.1f} pp, one run on a side: no interval"
    assert all(row.endswith(", one run on a side: no interval") and "[" not in row for row in rows[1:])
    assert "Only one run of l2 has the measure, so nothing is known" in report.render_table(comparison)


def sweep_cells(losses, factor, marks):
    """The expected row of one factor: its mean data loss and accuracy with their t intervals."""
    loss = logged(losses[factor])
    accuracy = logged([1.0 - final / 2 for final in losses[factor]])
    low, high = stats.t.interval(0.95, 2, loc=loss.mean(), scale=stats.sem(loss))
    a_low, a_high = stats.t.interval(0.95, 2, loc=accuracy.mean(), scale=stats.sem(accuracy))
    return ([wording.factor_words(factor), "3", f"{loss.mean():.3f} [{low:.3f}, {high:.3f}]",
             f"{100 * accuracy.mean():.1f}% [{100 * a_low:.1f}%, {100 * a_high:.1f}%]"] + ([marks] if marks else []))


SWEEP_TITLE = "L2 factor sweep (validation data loss and accuracy at the EarlyStopping epoch, mean [95% CI])"


def test_sweep_section_rows_and_choices(tmp_path):
    losses = dict(INTERIOR)
    losses[1e-2] = [0.61, 0.64, 0.63]  # within one standard error of 1e-3's mean: the one-SE choice
    comparison = compare_runs(read_runs(write_sweep(tmp_path, losses)), baseline="l2_0")
    text = report.render_table(comparison)
    rows = section(text, SWEEP_TITLE + ":")
    assert cells(rows[0]) == ["factor", "runs", "data loss", "accuracy", "choice"]
    marks = {1e-3: "best", 1e-2: "one-SE"}
    factors = len(losses)
    assert [cells(row) for row in rows[1:1 + factors]] == [sweep_cells(losses, f, marks.get(f)) for f in losses]
    assert rows[1 + factors:] == wording.sweep_sentences(comparison)
    assert rows[1 + factors].startswith("Lowest mean validation data loss at the EarlyStopping epoch: 0.001")
    assert cells(rows[1])[0] == "0 (no L2)"
    # The same rows in Markdown, then the recommendation as a paragraph.
    markdown = report.render_markdown(comparison).split("\n")
    start = markdown.index(f"**{SWEEP_TITLE}**")
    assert markdown[start + 2:start + 4] == ["| factor | runs | data loss | accuracy | choice |",
                                             "|---:|---:|---|---|---|"]
    expected = [sweep_cells(losses, f, marks.get(f)) for f in losses]
    assert markdown[start + 4:start + 9] == ["| " + " | ".join(row + [""] * (5 - len(row))) + " |"
                                             for row in expected]
    assert markdown[start + 10] == " ".join(wording.sweep_sentences(comparison))
    # The notes stay the only bullets (the TensorBoard tab lists them).
    assert [line for line in markdown if line.startswith("- ")] == [
        f"- {note}" for note in [wording.metric_words(comparison)] + view.run_notes(comparison)]


def test_sweep_with_one_seed_per_factor(tmp_path):
    comparison = compare_runs(read_runs(write_sweep(tmp_path, INTERIOR, seeds=1)), baseline="l2_0")
    text = report.render_table(comparison)
    assert "Differences against" not in text  # nothing is replicated
    rows = section(text, SWEEP_TITLE + ":")
    best = [cells(row) for row in rows[1:] if row.rstrip().endswith("best, one-SE")]
    assert best == [["0.001", "1", f"{logged([0.60])[0]:.3f}", f"{100 * logged([0.70])[0]:.1f}%", "best, one-SE"]]
    assert any(row.startswith("With one seed per factor there is no interval") for row in rows)


def test_json_numbers_are_the_tables(tmp_path, seeded):
    comparison = compare_runs(read_runs(write_sweep(tmp_path, INTERIOR)), baseline="l2_0")
    text = report.render(comparison, "table")
    data = json.loads(report.render(comparison, "json"))
    assert data["format_version"] == 4
    rows = {cells(row)[0]: cells(row) for row in section(text, SWEEP_TITLE + ":")[1:1 + len(INTERIOR)]}
    for point in data["sweep"]["points"]:
        loss, accuracy = point["loss"], point["metric"]
        row = rows[wording.factor_words(point["factor"])]
        assert row[1] == str(point["runs"]) == str(loss["n"])
        assert row[2] == f"{loss['mean']:.3f} [{loss['low']:.3f}, {loss['high']:.3f}]"
        assert row[3] == (f"{100 * accuracy['mean']:.1f}% "
                          f"[{100 * accuracy['low']:.1f}%, {100 * accuracy['high']:.1f}%]")
    chosen = data["sweep"]["recommendation"]
    assert rows[wording.factor_words(chosen["best_factor"])][-1] == "best, one-SE"
    assert data["recommendation"] == wording.sweep_sentences(comparison)
    # The differences and their intervals, paired.
    comparison = compare(seeded, "no_l2", "l2")
    text = report.render(comparison, "table")
    data = json.loads(report.render(comparison, "json"))
    shown = dict(cells(row) for row in section(text, "Differences against no_l2")[1:])
    change = data["changes"]["l2"]["final_val_metric"]
    assert (change["method"], change["n_baseline"], change["n_value"], change["resolved"]) == ("paired", 3, 3, True)
    assert shown["final validation accuracy"] == pp(change["difference"], change["low"], change["high"],
                                                    "3 seeds, paired")
    change = data["changes"]["l2"]["final_val_data_loss"]
    assert change["resolved"] is False and change["seeds_needed"] > 3 and 0 < change["p_value"] < 1
    # +0.007 is under the practical size (2% of the baseline's 1.05): more seeds could show they are the same.
    assert (change["claimed"], change["outcome"], change["seeds_needed_for"]) == (True, "unresolved", "sameness")
    # Holm's third step of three (the gap and the accuracy were resolved first): the full 5%.
    assert change["seeds_needed_level"] == change["adjusted_level"] == pytest.approx(data["adjustment"]["alpha"])
    assert shown["final validation data loss"] == (
        f"{change['difference']:+.3f} [{change['low']:+.3f}, {change['high']:+.3f}], 3 seeds, paired")
    assert (f"about {change['seeds_needed']} seeds per configuration would show whether they are the same within "
            "±0.021") in " ".join(data["verdict"])
    configuration = data["configurations"][1]
    mean, std = configuration["mean"]["final_val_metric"], configuration["std"]["final_val_metric"]
    assert configuration["values"]["final_val_metric"] == pytest.approx(list(logged(L2_ACC)))
    assert configuration["seeds"] == [0, 1, 2] and [r["seed"] for r in data["runs"]] == [0, 1, 2] * 2
    (row,) = [line for line in text.split("\n") if line.startswith("final validation accuracy ")]
    assert cells(row)[2].startswith(f"{100 * mean:.1f}% ± {100 * std:.1f}% ")


def test_json_of_a_sweep_is_valid_with_one_seed(tmp_path):
    # One seed: standard errors, intervals and p-values are null, never NaN.
    comparison = compare_runs(read_runs(write_sweep(tmp_path, INTERIOR, seeds=1)), baseline="l2_0")
    data = json.loads(report.render(comparison, "json"))
    point = data["sweep"]["points"][0]
    assert point["loss"]["standard_error"] is None and point["loss"]["low"] is None and point["loss"]["n"] == 1
    change = data["changes"]["l2_0.001"]["final_val_data_loss"]
    assert (change["method"], change["low"], change["p_value"], change["resolved"]) == (
        "unreplicated", None, None, None)


def test_csv_and_pandas_have_each_runs_seed(seeded):
    comparison = compare(seeded, "no_l2", "wide")
    rows = list(csv.DictReader(io.StringIO(report.render(comparison, "csv"))))
    assert list(rows[0])[:5] == ["name", "label", "configuration", "seed", "metric"]
    assert [(row["name"], row["seed"]) for row in rows] == [
        (f"no_l2-seed{s}", str(s)) for s in range(3)] + [(f"wide-seed{s}", str(s)) for s in range(10, 14)]
    frame = report.ComparisonReport.of(comparison).to_pandas()
    assert list(frame.columns) == [field for field in report.CSV_FIELDS if field != "skipped"]
    assert list(frame["seed"]) == [0, 1, 2, 10, 11, 12, 13]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
                       st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
                                max_size=4), max_size=4))
def test_json_text_escapes_what_is_beyond_ascii_as_the_standard_library_does(data):
    from l2board.rendering.report import json_text

    text = json_text(data)
    assert text.isascii() and json.loads(text) == data
    assert text == json.dumps(data, separators=(",", ":"))  # orjson's compact text, escaped as json.dumps escapes
