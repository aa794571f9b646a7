"""The Python API: the same runs and numbers as `l2board compare`, as objects and DataFrames."""

import json
import sys

import pytest
from click.testing import CliRunner
from conftest import run_child

import l2board
from l2board.cli import cli


def test_runs_as_objects_and_as_a_long_dataframe(real_runs):
    runs = l2board.read_runs(real_runs / "no_l2", real_runs / "l2")
    assert [run.name for run in runs] == ["no_l2", "l2"]
    frame = runs.to_pandas()
    assert list(frame.columns) == ["run", "folder", "tag", "step", "value", "role_folder", "role_tag"]
    assert len(frame) == sum(len(series) for run in runs for series in run.scalars.values())
    l2 = runs[1]
    series = l2.scalars[("validation", "epoch_data_loss")]
    rows = frame[(frame.run == "l2") & (frame.role_folder == "validation") & (frame.role_tag == "epoch_data_loss")]
    assert rows.step.tolist() == series.steps.tolist() and rows.value.tolist() == series.values.tolist()


def test_the_dataframe_names_the_tags_as_logged_beside_their_roles(tmp_path):
    from log_writers import tbx_metric_slash_split

    tbx_metric_slash_split(tmp_path / "tbx")
    frame = l2board.read_runs(tmp_path / "tbx").to_pandas()
    val = frame[frame.tag == "Loss/val"]
    assert set(val.folder) == {""} and set(val.role_folder) == {"validation"} and set(val.role_tag) == {"epoch_loss"}


def test_compare_gives_the_numbers_of_the_command_line(real_runs):
    comparison = l2board.compare(real_runs / "no_l2", real_runs / "l2")
    printed = CliRunner().invoke(cli, ["compare", str(real_runs / "no_l2"), str(real_runs / "l2"), "--format", "json"])
    assert printed.exit_code == 0, printed.output
    assert comparison.to_dict() == json.loads(printed.output)
    again = l2board.compare(l2board.read_runs(real_runs / "no_l2", real_runs / "l2"), baseline="l2")
    assert again.baseline == "l2"
    frame = comparison.to_pandas()
    assert frame.name.tolist() == ["no_l2", "l2"]
    assert frame.set_index("name").loc["l2", "final_val_metric"] == comparison.runs[1].final_val_metric


def test_the_api_imports_no_tensorflow(real_runs):
    code = ("import sys, l2board; runs = l2board.read_runs(sys.argv[1]); l2board.compare(runs); "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = run_child([sys.executable, "-c", code, str(real_runs)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_path_without_runs_is_one_sentence(tmp_path):
    with pytest.raises(l2board.errors.L2BoardError, match=f"^No TensorBoard event files in '{tmp_path}'.$"):
        l2board.read_runs(tmp_path)
