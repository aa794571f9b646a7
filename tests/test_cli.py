"""The l2board command line, in-process and as the installed command."""

import os
import sys

from conftest import installed_script, run_child


def run_command(*args, cwd=None):
    env = {"TF_CPP_MIN_LOG_LEVEL": "0"}  # the command must quiet TensorFlow itself
    return run_child([installed_script("l2board"), *args], capture_output=True, text=True, timeout=240, cwd=cwd, env=env)


def test_demo_as_installed_command(tmp_path):
    # The README's main command, shortened to one epoch a run.
    result = run_command("demo", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (demo,) = os.listdir(tmp_path / "runs")
    assert demo.startswith("demo-")
    assert f"Plot written to runs/{demo}/report.png" in result.stdout
    assert f"Open the runs in TensorBoard with: tensorboard --logdir runs/{demo}" in result.stdout
    assert sorted(os.listdir(tmp_path / "runs" / demo)) == ["l2-0.01-all", "no-l2", "report.png",
                                                            "tutorial-l2-0.01-conv1"]
    # One plain warning about the tutorial's tiny coverage; no TensorFlow start-up noise.
    assert "Warning: L2 0.01 on conv1" in result.stderr
    assert "oneDNN" not in result.stderr and "cuda" not in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2():
    result = run_command("train", "--epochs", "0")
    assert result.returncode == 2
    assert "Invalid value for '--epochs'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_logdir_is_one_sentence(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("kept")
    result = run_command("train", "--dataset", "digits", "--logdir", str(blocker / "run"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: Cannot write TensorBoard logs to '{blocker / 'run'}': Not a directory."]
    assert blocker.read_text() == "kept"


def test_reading_tools_do_not_import_tensorflow():
    code = ("import sys, l2board, l2board.writing.weight_math, l2board.writing.histograms, l2board.log_format.tags, "
            "l2board.log_format.regularization_setup, l2board.cli, l2board.errors, l2board.training.models, l2board.training.runs, "
            "l2board.training.experiment, l2board.training.run_folders, l2board.writing.log_folder, l2board.reading.logs, l2board.analysis.comparison, l2board.rendering.report; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = run_child([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
