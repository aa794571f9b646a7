"""Finding runs and reading their series: layouts, globs, restarts, damage."""

import os

import numpy as np
import pytest
from conftest import run_child, said, write_run

from l2board.errors import L2BoardError
from l2board.log_format.framing import frame_record
from l2board.reading.logs import Restart, SkippedFile, find_runs, read_run, read_runs


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


def test_restarted_run_replaces_points_from_the_restart_step_and_says_so(tmp_path):
    write_run(tmp_path / "run", train={"epoch_loss": [5.0, 4.0, 3.0, 2.0], "epoch_accuracy": [0.1, 0.2, 0.3, 0.4]})
    # Resumed from a checkpoint of epoch 1: epochs 2 and 3 are trained again.
    write_run(tmp_path / "run", train={"epoch_loss": {2: 2.5, 3: 1.5, 4: 1.0}, "epoch_accuracy": {2: 0.5}})
    run = read_run(tmp_path / "run")
    series = run.scalar("train", "epoch_loss")
    assert series.steps.tolist() == [0, 1, 2, 3, 4]
    assert series.values.tolist() == [5.0, 4.0, 2.5, 1.5, 1.0]
    assert run.scalar("train", "epoch_accuracy").steps.tolist() == [0, 1, 2]
    later = max((tmp_path / "run" / "train").glob("events.out.tfevents.*"), key=os.path.getmtime)
    assert run.restarts == [Restart(str(later), 2, 4)]
    assert said(run.restarts[0]) == (f"{later} goes back to step 2: its values replace 4 points logged before "
                                          "from step 2 on, as TensorBoard shows a restarted run.")


def scalar_event(step, wall_time, **values):
    """One framed event of `tf.summary.scalar` values (float32 tensors, plugin `scalars`)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    summary = summary_pb2.Summary(value=[
        summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor_pb2.TensorProto(
            dtype=1, tensor_content=np.float32(value).tobytes())) for tag, value in values.items()])
    return frame_record(event_pb2.Event(step=step, wall_time=wall_time, summary=summary).SerializeToString())


def file_version_event(wall_time):
    """The first event TensorFlow writes to every event file, at its creation."""
    from tensorboard.compat.proto import event_pb2

    return frame_record(event_pb2.Event(wall_time=wall_time, file_version="brain.Event:2").SerializeToString())


def test_a_restart_within_one_file_is_reported_too(tmp_path):
    path = tmp_path / "events.out.tfevents.1700000000.vm.7.0.v2"
    steps = [0, 1, 2, 1, 2, 3]
    path.write_bytes(file_version_event(1.0) + b"".join(
        scalar_event(step, 2.0 + i, loss=float(i), val_loss=float(i)) for i, step in enumerate(steps)))
    run = read_run(tmp_path)
    assert run.scalar("train", "epoch_loss").values.tolist() == [0.0, 3.0, 4.0, 5.0]
    assert run.restarts == [Restart(str(path), 1, 4, within_file=True)]
    assert "goes back within itself to step 1: its values replace 4 points" in said(run.restarts[0])


def test_files_are_read_in_the_order_they_were_written_not_by_name(tmp_path):
    # Resuming epoch by epoch with one callback, `for e in range(6):
    # model.fit(..., initial_epoch=e, epochs=e + 1)`, writes a train/ and a
    # validation/ file per fit. TensorFlow names them by the second, the
    # host, the process and a counter of its writers: one process, one
    # second, counters 0 to 11. By name, `...10.v2` came before `...2.v2`
    # and the restart rule cut real epochs.
    scratch, run = tmp_path / "scratch", tmp_path / "run"
    for epoch in range(6):
        write_run(scratch / str(epoch), train={"epoch_loss": {epoch: 1.0 / (epoch + 1)}},
                  validation={"epoch_loss": {epoch: 2.0 / (epoch + 1)}})
        for counter, sub in enumerate(("train", "validation"), start=2 * epoch):
            (written,) = (scratch / str(epoch) / sub).glob("events.out.tfevents.*")
            os.makedirs(run / sub, exist_ok=True)
            written.rename(run / sub / f"events.out.tfevents.1795765158.vm.16550.{counter}.v2")
    log = read_run(run)
    for sub, scale in (("train", 1.0), ("validation", 2.0)):
        series = log.scalar(sub, "epoch_loss")
        assert series.steps.tolist() == [0, 1, 2, 3, 4, 5]
        assert series.values.tolist() == pytest.approx([scale / (e + 1) for e in range(6)])
    assert log.restarts == []


def test_files_of_two_processes_in_one_second_are_ordered_by_their_first_event(tmp_path):
    # Process 95 trains epochs 0 to 3 and is killed; process 12, resumed
    # from the checkpoint of epoch 1 in the same second, trains 2 to 4.
    # Neither the pids' string nor their number order is the order of creation.
    first = tmp_path / "events.out.tfevents.1700000000.vm.95.0.v2"
    first.write_bytes(file_version_event(1700000000.1) + b"".join(
        scalar_event(step, 1700000000.2 + step / 10, epoch_loss=10.0 + step, epoch_val_loss=20.0 + step)
        for step in range(4)))
    resumed = tmp_path / "events.out.tfevents.1700000000.vm.12.0.v2"
    resumed.write_bytes(file_version_event(1700000000.8) + b"".join(
        scalar_event(step, 1700000000.9, epoch_loss=step, epoch_val_loss=step) for step in (2, 3, 4)))
    run = read_run(tmp_path)
    assert run.scalar("train", "epoch_loss").values.tolist() == [10.0, 11.0, 2.0, 3.0, 4.0]
    assert run.restarts == [Restart(str(resumed), 2, 4)]


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
    # Recognised as the losses, under the keys Keras writes, with what was logged kept.
    assert run.scalar("train", "epoch_loss").values.tolist() == pytest.approx([1.0, 0.6])
    assert run.scalar("validation", "epoch_loss").values.tolist() == pytest.approx([1.2, 1.0])
    assert run.source_of("validation", "epoch_loss") == ("", "val_loss")


def test_damaged_and_unreadable_files_are_reported_and_the_rest_read(tmp_path):
    write_run(tmp_path / "run", train={"epoch_loss": [3.0, 2.0, 1.0]})
    (path,) = (tmp_path / "run" / "train").glob("events.out.tfevents.*")
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # killed while writing the last record
    (tmp_path / "run" / "train" / "events.out.tfevents.9.broken").mkdir()  # not a file: passed over, with a note
    run = read_run(tmp_path / "run")
    assert run.scalar("train", "epoch_loss").values.tolist() == [3.0, 2.0]
    assert len(run.damage) == 1 and run.damage[0].truncated
    assert "cut off" in said(run.damage[0])
    assert run.skipped == [SkippedFile(str(tmp_path / "run" / "train" / "events.out.tfevents.9.broken"), "folder")]


def test_reading_needs_no_tensorflow(runs_root):
    import sys

    code = ("import sys; from l2board.reading.logs import read_runs; "
            f"runs = read_runs([{str(runs_root / 'exp')!r}]); "
            "print(len(runs), 'tensorflow' in sys.modules)")
    out = run_child([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2", "False"]


def test_values_are_read_exactly(runs_root):
    runs = read_runs([runs_root / "exp"])
    series = runs[1].scalar("validation", "epoch_loss")
    assert series.values.dtype == np.float64
    assert series.values.tolist() == pytest.approx([1.1, 0.9], rel=1e-7)
    assert os.path.basename(runs[1].path) == "no_l2"
