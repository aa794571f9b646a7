"""`l2board compare` on real L2Monitor logs: formats, plot, errors."""

import csv
import io
import json
import os

import pytest
from click.testing import CliRunner
from conftest import installed_script, run_child

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
    assert "Verdict: In these runs, l2 " in out and "pp" in out
    assert "  hidden/kernel " in out and "  output/kernel " in out  # per-layer weight norms
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_colour_marks_better_and_worse_only_when_asked(real_runs):
    import click

    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs
    from l2board.rendering.report import render_table

    # One run each: nothing is claimed, so nothing is coloured (test_report colours claims resolved over seeds).
    comparison = compare_runs(read_runs([real_runs / "no_l2", real_runs / "l2"]))
    coloured = render_table(comparison, colour=True)
    assert "\x1b[" not in coloured
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
    return run_child([installed_script("l2board"), "compare", *map(str, args)],
                     capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (lambda root, tmp: [tmp / "nope"], "Error: No such file or folder: '{tmp}/nope'."),
    (lambda root, tmp: [tmp], "Error: No TensorBoard event files in '{tmp}'."),
    (lambda root, tmp: [root / "no_l2", "--metric", "auc"],
     "Error: Run 'no_l2' has no validation metric 'auc'; it logs: accuracy."),
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
    result = run_child([os.sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().endswith("no TF")


def test_outputs_never_replace_or_enter_an_input_run(real_runs, tmp_path):
    run = real_runs / "l2"
    (event,) = (run / "train").glob("events.out.tfevents.*")
    before, listing = event.read_bytes(), sorted(p.name for p in run.iterdir())
    for option, path in (("-o", event), ("--plot", str(event) + ".png"), ("-o", run / "report.txt"),
                         ("--plot", run / "validation" / "plot.svg")):
        result = run_child([installed_script("l2board"), "compare", str(real_runs / "no_l2"), str(run),
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
    result = run_child([installed_script("l2board"), "compare", str(real_runs / "no_l2"), odd, "-o",
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


def test_a_folder_of_mixed_runs_compares_those_it_can(real_runs, tmp_path):
    import shutil

    from conftest import write_run

    for name in ("no_l2", "l2"):
        shutil.copytree(real_runs / name, tmp_path / name)
    write_run(tmp_path / "train_only", train={"epoch_loss": [1.0, 0.5], "epoch_accuracy": [0.5, 0.6]})
    result = run_command(tmp_path)
    # Before: exit 1, "The runs share no accuracy metric to compare", for a run without validation.
    assert result.returncode == 0, result.stderr
    assert "Skipped (not compared):\n  train_only: has no validation values" in result.stdout
    assert "Verdict: In these runs, no_l2 " in result.stdout
    data = json.loads(run_command(tmp_path, "--format", "json").stdout)
    (skipped,) = data["skipped"]
    assert skipped["name"] == "train_only" and skipped["reason"]["code"] == "no_validation"
    assert skipped["text"].startswith("Run 'train_only' has no validation values; train it with validation data")
    rows = list(csv.DictReader(io.StringIO(run_command(tmp_path, "--format", "csv").stdout)))
    assert [(r["name"], bool(r["skipped"])) for r in rows] == [("l2", False), ("no_l2", False), ("train_only", True)]
    # None that can be analysed: exit 1, one sentence.
    result = run_command(tmp_path / "train_only", tmp_path / "train_only" / "train")
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: Run 'train_only' has no validation values; train it with validation data")


def test_the_baseline_comes_first_in_every_output(real_runs):
    table = invoke(real_runs / "no_l2", real_runs / "l2", "--baseline", "l2").output
    legend = table.splitlines()
    assert legend[:3] == ["Runs (baseline first):", "  l2: L2 0.01 on every layer (99% of weights)  (baseline)",
                          "  no_l2: no regularization"]
    header = legend[4].split()
    assert header == ["l2", "no_l2"]
    markdown = invoke(real_runs / "no_l2", real_runs / "l2", "--baseline", "l2", "--format", "markdown").output
    assert markdown.startswith("| | l2 | no_l2 |")
    rows = list(csv.DictReader(io.StringIO(
        invoke(real_runs / "no_l2", real_runs / "l2", "--baseline", "l2", "--format", "csv").output)))
    assert [r["name"] for r in rows] == ["l2", "no_l2"]


def test_the_user_says_whether_a_logged_loss_includes_the_penalty(tmp_path):
    from conftest import write_run

    write_run(tmp_path / "a", train={"epoch_loss": [1.0, 0.6, 0.4]}, validation={"epoch_loss": [1.1, 0.8, 0.9]})
    write_run(tmp_path / "b", train={"epoch_loss": [1.0, 0.7, 0.5]}, validation={"epoch_loss": [1.1, 0.8, 0.85]})
    unknown = json.loads(invoke(tmp_path, "--format", "json").output)
    assert [r["loss_basis"] for r in unknown["runs"]] == ["logged_loss", "logged_loss"]
    assert {"code": "loss_may_include_penalty"} in unknown["runs"][0]["notes"]
    assert unknown["runs"][0]["generalization_loss_percent"] == pytest.approx(100 * (0.9 / 0.8 - 1))
    assert unknown["verdict"][0] == ("In these runs, b overfit less than a: final loss gap (validation minus "
                                     "training) 0.350 against 0.500 (-0.150).")
    said = invoke(tmp_path, "--loss-excludes-penalty")
    assert said.exit_code == 0 and "may include penalties" not in said.output
    assert "data-loss gap, final (val - train)" in said.output
    assert "final data-loss gap (validation minus training)" in said.output
    included = json.loads(invoke(tmp_path, "--loss-includes-penalty", "--format", "json").output)
    assert included["runs"][0]["loss_basis"] == "logged_loss_with_penalty"
    assert included["runs"][0]["missing"][1].startswith("the logged loss includes the penalties")


def test_tag_maps_names_compare_does_not_recognise(tmp_path):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "run"))
    with writer.as_default():
        for step, (train_loss, val_loss, train_acc, val_acc) in enumerate(
                [(1.0, 1.1, 0.5, 0.45), (0.6, 0.9, 0.7, 0.6), (0.4, 0.95, 0.8, 0.62)]):
            for tag, value in (("Loss/train", train_loss), ("Loss/val", val_loss), ("Acc/tr", train_acc),
                               ("Acc/v", val_acc)):
                tf.summary.scalar(tag, value, step=step)
    writer.close()
    data = json.loads(invoke(tmp_path / "run", "--tag", "accuracy=Acc/tr,Acc/v", "--format", "json").output)
    (run,) = data["runs"]
    assert (data["metric"], run["epochs"], run["last_epoch"], run["onset_epoch"]) == ("accuracy", 3, 2, 1)
    assert run["final_val_metric"] == pytest.approx(0.62) and run["metric_gap_final_pp"] == pytest.approx(18.0)
