"""The l2board command line, in-process and as the installed command."""

import os
import subprocess
import sys

from click.testing import CliRunner
from conftest import installed_script, read_run

from l2board.cli import cli


def run_command(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")  # the command must quiet TensorFlow itself
    return subprocess.run([installed_script("l2board"), *args], capture_output=True, text=True, timeout=240, cwd=cwd, env=env)


def test_demo_in_process(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--logdir", str(tmp_path), "--epochs", "2", "--train-size", "64"])
    assert result.exit_code == 0, result.output
    run_dir = result.output.split("Logs written to ")[1].splitlines()[0]
    assert os.path.dirname(run_dir) == str(tmp_path) and os.path.basename(run_dir).startswith("demo-")
    assert f"tensorboard --logdir {tmp_path}" in result.output
    train = read_run(os.path.join(run_dir, "train"))
    assert sorted(train["epoch_data_loss"]) == [0, 1]
    assert sorted(read_run(os.path.join(run_dir, "validation"))["epoch_data_loss"]) == [0, 1]
    assert "L2 0.01 on conv1" in train["l2board/setup"][0]


def test_demo_as_installed_command(tmp_path):
    result = run_command("demo", "--logdir", "runs", "--epochs", "1", "--train-size", "64", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Logs written to runs/demo-" in result.stdout
    assert "Open them with: tensorboard --logdir runs" in result.stdout
    # One plain warning about the tutorial's tiny coverage; no TensorFlow start-up noise.
    assert "Warning: L2 0.01 on conv1" in result.stderr
    assert "oneDNN" not in result.stderr and "cuda" not in result.stderr.lower()
    assert len(os.listdir(tmp_path / "runs")) == 1


def test_usage_error_exits_2():
    result = run_command("demo", "--epochs", "0")
    assert result.returncode == 2
    assert "Invalid value for '--epochs'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_logdir_is_one_sentence(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("kept")
    result = run_command("demo", "--logdir", str(blocker / "runs"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: Cannot write TensorBoard logs to '{blocker / 'runs'}': Not a directory."]
    assert blocker.read_text() == "kept"


def test_reading_tools_do_not_import_tensorflow():
    code = ("import sys, l2board, l2board.penalties, l2board.histograms, l2board.tags, "
            "l2board.regularization_setup, l2board.cli, l2board.errors; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
