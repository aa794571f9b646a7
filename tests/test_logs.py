"""Finding runs and reading their series: layouts, globs, restarts, damage."""

import os

import numpy as np
import pytest
from conftest import write_run

from l2board.errors import L2BoardError
from l2board.event_files import frame_record
from l2board.logs import find_runs, read_run, read_runs


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name in ("no_l2", "l2"):
        write_run(root / "exp" / name, train={"epoch_loss": [1.0, 0.5]}, validation={"epoch_loss": [1.1, 0.9]})
    return root


def test_find_runs_in_every_way_a_user_names_them(runs_root):
    exp = runs_root / "exp"
    assert find_runs([exp]) == [("l2", str(exp / "l2")), ("no_l2", str(exp / "no_l2"))]
    assert find_runs([exp / "no_l2"]) == [("no_l2", str(exp / "no_l2"))]
    assert [n for n, _ in find_runs([exp / "no_l2", exp / "l2"])] == ["no_l2", "l2"]
    assert [n for n, _ in find_runs([str(exp / "*")])] == ["l2", "no_l2"]  # a glob the shell left alone
    event_file = next((exp / "l2" / "train").glob("events.out.tfevents.*"))
    assert find_runs([event_file]) == [("l2", str(exp / "l2"))]
    assert len(find_runs([exp, exp / "l2"])) == 2  # each run once


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "No such file or folder: '.*missing'"),
    (lambda root: root / "nothing*", "No file or folder matches"),
    (lambda root: (root / "empty").mkdir() or root / "empty", "No TensorBoard event files in '.*empty'"),
    (lambda root: (root / "notes.txt").write_text("hi") and root / "notes.txt", "neither a log folder nor"),
])
def test_bad_paths_are_one_sentence(tmp_path, make, message):
    with pytest.raises(L2BoardError, match=message):
        find_runs([make(tmp_path)])


def test_restarted_run_replaces_points_from_the_restart_step(tmp_path):
    write_run(tmp_path / "run", train={"epoch_loss": [5.0, 4.0, 3.0, 2.0]})
    # Resumed from a checkpoint of epoch 1: epochs 2 and 3 are trained again.
    write_run(tmp_path / "run", train={"epoch_loss": {2: 2.5, 3: 1.5, 4: 1.0}})
    series = read_run(tmp_path / "run").scalar("train", "epoch_loss")
    assert series.steps.tolist() == [0, 1, 2, 3, 4]
    assert series.values.tolist() == [5.0, 4.0, 2.5, 1.5, 1.0]


def test_missing_epochs_are_tolerated(tmp_path):
    write_run(tmp_path / "run", train={"epoch_accuracy": {0: 0.5, 3: 0.8}}, validation={"epoch_accuracy": {3: 0.6}})
    run = read_run(tmp_path / "run")
    assert run.scalar("train", "epoch_accuracy").steps.tolist() == [0, 3]


def test_tf1_simple_values_in_a_flat_folder(tmp_path):
    from tensorboard.compat.proto import event_pb2, summary_pb2

    records = b""
    for step, (loss, val_loss) in enumerate([(1.0, 1.2), (0.6, 1.0)]):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="loss", simple_value=loss),
                                             summary_pb2.Summary.Value(tag="val_loss", simple_value=val_loss)])
        records += frame_record(event_pb2.Event(step=step, wall_time=1.0, summary=summary).SerializeToString())
    (tmp_path / "events.out.tfevents.1.tf1").write_bytes(records)
    run = read_run(tmp_path)
    assert run.scalar("train", "loss").values.tolist() == pytest.approx([1.0, 0.6])
    assert run.scalar("validation", "loss").values.tolist() == pytest.approx([1.2, 1.0])


def test_damaged_and_unreadable_files_are_reported_and_the_rest_read(tmp_path):
    write_run(tmp_path / "run", train={"epoch_loss": [3.0, 2.0, 1.0]})
    (path,) = (tmp_path / "run" / "train").glob("events.out.tfevents.*")
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # killed while writing the last record
    (tmp_path / "run" / "train" / "events.out.tfevents.9.broken").mkdir()  # not a file: passed over
    run = read_run(tmp_path / "run")
    assert run.scalar("train", "epoch_loss").values.tolist() == [3.0, 2.0]
    assert len(run.damage) == 1 and run.damage[0].truncated
    assert "cut off" in run.damage[0].describe()


def test_reading_needs_no_tensorflow(runs_root):
    import subprocess
    import sys

    code = ("import sys; from l2board.logs import read_runs; "
            f"runs = read_runs([{str(runs_root / 'exp')!r}]); "
            "print(len(runs), 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2", "False"]


def test_values_are_read_exactly(runs_root):
    runs = read_runs([runs_root / "exp"])
    series = runs[1].scalar("validation", "epoch_loss")
    assert series.values.dtype == np.float64
    assert series.values.tolist() == pytest.approx([1.1, 0.9], rel=1e-7)
    assert os.path.basename(runs[1].path) == "no_l2"
