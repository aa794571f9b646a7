"""`l2board compare` on real L2Monitor logs: formats, plot, errors."""

import csv
import io
import json
import os
import subprocess

import pytest
from click.testing import CliRunner
from conftest import installed_script

from l2board.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, ["compare", *map(str, args)])


def test_table_report(real_runs):
    result = invoke(real_runs / "no_l2", real_runs / "l2")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "no_l2: no regularization  (baseline)" in out
    assert "l2: L2 0.01 on every layer (99% of weights)" in out
    assert "accuracy gap, final (train - val)" in out and "generalization loss GL at end" in out
    assert "Verdict: l2 overfits" in out and "pp" in out
    assert "  hidden/kernel " in out and "  output/kernel " in out  # per-layer weight norms
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_colour_marks_better_and_worse_only_when_asked(real_runs):
    import click

    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs
    from l2board.rendering.report import render_table

    comparison = compare_runs(read_runs([real_runs / "no_l2", real_runs / "l2"]))
    coloured = render_table(comparison, colour=True)
    assert "\x1b[32m" in coloured or "\x1b[31m" in coloured
    assert click.unstyle(coloured) == render_table(comparison, colour=False)


def test_json_csv_markdown_agree(real_runs):
    data = json.loads(invoke(real_runs, "--format", "json").output)
    assert [r["name"] for r in data["runs"]] == ["l2", "no_l2"]
    by_name = {r["name"]: r for r in data["runs"]}
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(invoke(real_runs, "--format", "csv").output))}
    for name in ("l2", "no_l2"):
        assert float(rows[name]["metric_gap_final_pp"]) == pytest.approx(by_name[name]["metric_gap_final_pp"])
        assert float(rows[name]["final_val_data_loss"]) == pytest.approx(by_name[name]["final_val_data_loss"])
    markdown = invoke(real_runs, "--format", "markdown").output
    gap = by_name["no_l2"]["metric_gap_final_pp"]
    assert f"{gap:.1f} pp" in markdown and "**Verdict:**" in markdown
    assert by_name["l2"]["final_penalty"] > 0 and by_name["no_l2"]["final_penalty"] == 0
    configuration = {c["name"]: c for c in data["configurations"]}["l2"]
    assert configuration["mean"]["weight_l2/hidden/kernel"] == pytest.approx(by_name["l2"]["layer_weight_l2"]["hidden/kernel"])
    assert data["changes"]["no_l2"]["weight_l2/hidden/kernel"]["difference"] > 0  # L2 kept the weights smaller


@pytest.mark.parametrize("name", ["report.png", "report.svg"])
def test_plot(real_runs, tmp_path, name):
    path = tmp_path / name
    result = invoke(real_runs / "no_l2", real_runs / "l2", "--plot", path)
    assert result.exit_code == 0, result.output
    assert f"Plot written to {path}" in result.output
    head = path.read_bytes()[:200]
    assert head.startswith(b"\x89PNG") if name.endswith("png") else b"<svg" in head or b"<?xml" in head


def test_output_file(real_runs, tmp_path):
    result = invoke(real_runs, "--format", "json", "--output", tmp_path / "r.json")
    assert result.exit_code == 0 and json.loads((tmp_path / "r.json").read_text())["metric"] == "accuracy"


def run_command(*args):
    return subprocess.run([installed_script("l2board"), "compare", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (lambda root, tmp: [tmp / "nope"], "Error: No such file or folder: '{tmp}/nope'."),
    (lambda root, tmp: [tmp], "Error: No TensorBoard event files in '{tmp}'."),
    (lambda root, tmp: [root / "no_l2", "--metric", "auc"],
     "Error: Run 'no_l2' has no metric 'auc' for both training and validation; it has: accuracy."),
])
def test_errors_are_one_sentence_and_exit_1(real_runs, tmp_path, args, message):
    result = run_command(*args(real_runs, tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == message.format(tmp=tmp_path)
    assert result.stdout == ""


def test_usage_errors_exit_2(real_runs, tmp_path):
    assert run_command().returncode == 2
    result = run_command(real_runs, "--format", "xml")
    assert result.returncode == 2 and "Invalid value for '--format'" in result.stderr
    for plot, message in ((tmp_path / "missing" / "p.png", f"Cannot write the plot to '{tmp_path}/missing/p.png': "
                                                           f"the folder '{tmp_path}/missing' does not exist."),
                          (tmp_path / "p.gif", f"Cannot write a plot to '{tmp_path}/p.gif': use a .png, .svg or "
                                               ".pdf file name.")):
        result = run_command(real_runs / "no_l2", "--plot", plot)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().splitlines()[-1] == f"Error: Invalid value for '--plot': {message}"


def test_damaged_log_warns_and_reports(real_runs, tmp_path):
    import shutil

    shutil.copytree(real_runs / "no_l2", tmp_path / "no_l2")
    (path,) = (tmp_path / "no_l2" / "validation").glob("events.out.tfevents.*")
    path.write_bytes(path.read_bytes()[:-9])
    result = run_command(tmp_path / "no_l2", real_runs / "l2")
    assert result.returncode == 0
    assert "Warning: " in result.stderr and "cut off" in result.stderr
    assert "Verdict:" in result.stdout and "Traceback" not in result.stderr


def test_compare_does_not_import_tensorflow(real_runs):
    code = ("import sys; from l2board.cli import main; sys.argv = ['l2board', 'compare', "
            f"{str(real_runs)!r}, '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('TF' if 'tensorflow' in sys.modules else 'no TF', file=sys.stderr)")
    result = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().endswith("no TF")


def test_outputs_never_replace_or_enter_an_input_run(real_runs, tmp_path):
    run = real_runs / "l2"
    (event,) = (run / "train").glob("events.out.tfevents.*")
    before, listing = event.read_bytes(), sorted(p.name for p in run.iterdir())
    for option, path in (("-o", event), ("--plot", str(event) + ".png"), ("-o", run / "report.txt"),
                         ("--plot", run / "validation" / "plot.svg")):
        result = subprocess.run([installed_script("l2board"), "compare", str(real_runs / "no_l2"), str(run),
                                 option, str(path)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, result.stderr
        (line,) = result.stderr.strip().splitlines()
        long_name = {"-o": "--output", "--plot": "--plot"}[option]
        assert line == (f"Error: {long_name} '{path}' is inside the run folder '{run}'; write it elsewhere, "
                        "so that the run stays as it is.")
    assert event.read_bytes() == before
    assert sorted(p.name for p in run.iterdir()) == listing
    same = invoke(run, "-o", tmp_path / "r.png", "--plot", tmp_path / "r.png")
    assert same.exit_code == 2 and "is also the --plot file" in same.output
    assert not (tmp_path / "r.png").exists()


def test_a_report_with_an_undecodable_run_name_replaces_the_old_file_whole(real_runs, tmp_path):
    import shutil

    odd = os.path.join(os.fsencode(tmp_path), b"run-\xff")
    shutil.copytree(os.fsencode(real_runs / "l2"), odd)
    previous = tmp_path / "prev.txt"
    previous.write_text("the previous report")
    result = subprocess.run([installed_script("l2board"), "compare", str(real_runs / "no_l2"), odd, "-o",
                             str(previous)], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = previous.read_text(encoding="utf-8")
    assert "run-\\xff" in text and "Verdict:" in text
    assert sorted(os.listdir(tmp_path)) == sorted([b"run-\xff".decode(errors="surrogateescape"), "prev.txt"])


def test_the_same_run_named_twice_is_one_run(real_runs, tmp_path):
    (tmp_path / "alias").symlink_to(real_runs / "l2")
    result = invoke(real_runs / "l2", tmp_path / "alias", os.path.join(str(real_runs), ".", "l2"))
    assert result.exit_code == 0, result.output
    assert "2 runs" not in result.output and "Only one configuration" in result.output
