"""The TF-free event writer (JAX and PyTorch) writes what tf.summary writes, and TensorBoard serves it.

Most tests write one L2Monitor-shaped run twice, with `RunWriter`
(tf.summary) and with `EventFileRunWriter`, and compare the two as
TensorFlow, l2board and a real TensorBoard read them.
"""

import json
import os
import re
import socket
import sys
import urllib.parse

import numpy as np
import pytest
from conftest import read_events, read_run, run_child
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import plugin_data_pb2

from l2board.rendering.report import report_json
from l2board.analysis.comparison import compare_runs
from l2board.errors import UnwritableLogDirError
from l2board.log_format import tags
from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable
from l2board.writing.histograms import histogram_buckets
from l2board.reading.logs import read_runs
from l2board.writing.event_writer import EventFileRunWriter

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("event_writer")

EPOCHS = 6
SETUP = RegularizationSetup(variables=(
    WeightVariable("hidden/kernel", 64 * 32, True, "L2", l2=0.01), WeightVariable("hidden/bias", 32, True),
    WeightVariable("output/kernel", 320, True, "L1L2", l1=0.001, l2=0.01), WeightVariable("output/bias", 10, True),
), optimizer="Adam")


def write_l2monitor_run(writer_class, folder):
    """Writes, with `writer_class`, what L2Monitor writes for `EPOCHS` epochs of a model set up as `SETUP`."""
    root, train, validation = (writer_class(os.path.join(folder, sub)) for sub in ("", tags.TRAIN_DIR,
                                                                                      tags.VALIDATION_DIR))
    # L2Monitor's trial id is the folder's name; the twins share one, to be comparable byte for byte.
    root.hparams(SETUP.hparams(), trial_id="run")
    train.text({tags.SETUP_TEXT: SETUP.markdown(), tags.SETUP_JSON: SETUP.to_json()}, 0)
    rng = np.random.default_rng(0)
    weights = {v.path: rng.normal(size=v.size).astype(np.float32) for v in SETUP.variables}
    for epoch in range(EPOCHS):
        penalty = 0.3 / (epoch + 1)
        train.scalars({"epoch_loss": 1.0 / (epoch + 1) + penalty, "epoch_accuracy": np.float32(0.5 + 0.05 * epoch),
                       tags.PENALTY: penalty, tags.DATA_LOSS: np.float64(1.0 / (epoch + 1)),
                       tags.PENALTY_SHARE: penalty / (1.0 / (epoch + 1) + penalty), "epoch_learning_rate": 1e-3,
                       tags.PENALTY_TOTAL: penalty, **{f"{tags.NORM_PREFIX}l2/{path}": float(np.linalg.norm(w))
                                                       for path, w in weights.items()}}, epoch)
        # Validation loss falls, then rises: compare has an overfitting onset to find.
        val_data_loss = 1.2 - 0.1 * min(epoch, 3) + 0.08 * max(epoch - 3, 0)
        validation.scalars({"epoch_loss": val_data_loss + penalty, "epoch_accuracy": 0.45 + 0.04 * min(epoch, 3),
                            tags.PENALTY: penalty, tags.DATA_LOSS: val_data_loss}, epoch)
        train.histograms({tags.HISTOGRAM_PREFIX + path: histogram_buckets(w) for path, w in weights.items()}, epoch)
        weights = {path: w * 0.9 for path, w in weights.items()}
        for writer in (root, train, validation):
            writer.flush()
    train.text({tags.WARNINGS_TEXT: "The penalty is **large**: 23% of the loss ✓"}, 1)
    for writer in (root, train, validation):
        writer.close()
    return folder


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """The same run written by tf.summary (`tf_summary`) and without TensorFlow (`tf_free`)."""
    from l2board.writing.summary_writing import RunWriter

    root = tmp_path_factory.mktemp("twins")
    write_l2monitor_run(RunWriter, str(root / "tf_summary"))
    write_l2monitor_run(EventFileRunWriter, str(root / "tf_free"))
    return root


def event_files(folder):
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.startswith("events.out.tfevents."))


def summaries(folder):
    """`[(step, serialized Summary)]` of a folder, read with TensorFlow's reader; HParams start times zeroed."""
    import tensorflow as tf

    rows = []
    for path in event_files(folder):
        for record in tf.compat.v1.io.tf_record_iterator(path):  # TensorFlow checks the CRCs
            event = event_pb2.Event.FromString(record)
            if event.HasField("summary"):
                rows.append((event.step, _without_start_time(event.summary).SerializeToString()))
    return rows


def _without_start_time(summary):
    # The one field that differs between two writes: when the session started.
    for value in summary.value:
        if value.metadata.plugin_data.plugin_name == hparams_metadata.PLUGIN_NAME:
            data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
            data.session_start_info.start_time_secs = 0
            value.metadata.plugin_data.content = data.SerializeToString()
    return summary


@pytest.mark.parametrize("sub", ["", tags.TRAIN_DIR, tags.VALIDATION_DIR])
def test_every_summary_is_the_one_tf_summary_writes(twins, sub):
    expected = summaries(twins / "tf_summary" / sub)
    written = summaries(twins / "tf_free" / sub)
    assert len(written) == len(expected) > 0
    for (step, summary), (tf_step, tf_summary) in zip(written, expected):
        assert (step, summary) == (tf_step, tf_summary), summary_pb2.Summary.FromString(summary)
    # And as the tests' own reader (TensorFlow's summary_iterator) returns them.
    ours, theirs = read_run(twins / "tf_free" / sub), read_run(twins / "tf_summary" / sub)
    assert ours.keys() == theirs.keys()
    for tag in theirs:
        for step, value in theirs[tag].items():
            np.testing.assert_array_equal(ours[tag][step], value, err_msg=tag)


def test_the_first_event_says_the_file_version(twins):
    (path,) = event_files(twins / "tf_free" / tags.TRAIN_DIR)
    with open(path, "rb") as file:
        length = int.from_bytes(file.read(8), "little")
        first = event_pb2.Event.FromString(file.read(4 + length)[4:])
    assert first.file_version == "brain.Event:2" and not first.HasField("summary")
    assert int(first.wall_time) == int(os.path.basename(path).split(".")[3])


def test_both_writers_and_the_discarding_one_are_folder_writers(tmp_path):
    # The callback writes through writers.FolderWriter and never asks which writer it has.
    from l2board.writing.summary_writing import RunWriter
    from l2board.writing.writers import DiscardingWriter, FolderWriter

    for writer in (EventFileRunWriter(str(tmp_path / "tf_free")), RunWriter(str(tmp_path / "tf")), DiscardingWriter()):
        assert isinstance(writer, FolderWriter), type(writer).__name__
        writer.scalars({"x": 1.0}, 0)
        writer.close()
    assert not isinstance(object(), FolderWriter)


@pytest.mark.parametrize("values", [
    # Not -0.0 or subnormals: what TensorFlow writes for those depends on its floating-point mode (after
    # some ops it flushes them to +0); see test_signed_zero_and_subnormals_are_written_as_they_are.
    {"nan": float("nan"), "inf": float("inf"), "-inf": -np.inf, "max": 3.4028234e38},
    {"int": 3, "bool": True, "np.float16": np.float16(0.1), "0-d": np.array(2.5), "int64": np.int64(2**40)},
])
def test_scalars_round_to_float32_as_tensorflow_does(tmp_path, values):
    from l2board.writing.summary_writing import RunWriter

    for writer_class, sub in ((RunWriter, "tf_summary"), (EventFileRunWriter, "tf_free")):
        writer = writer_class(str(tmp_path / sub))
        writer.scalars(values, 7)
        writer.close()
    assert summaries(tmp_path / "tf_free") == summaries(tmp_path / "tf_summary")


def test_signed_zero_and_subnormals_are_written_as_they_are(tmp_path):
    writer = EventFileRunWriter(str(tmp_path))
    writer.scalars({"-0": -0.0, "tiny": 1e-45}, 0)
    writer.close()
    (negative_zero, tiny) = [row[3] for row in read_events(tmp_path)]
    assert negative_zero == 0.0 and np.signbit(negative_zero)
    assert tiny == float(np.float32(1e-45)) and tiny > 0


def test_a_number_beyond_float32_is_written_as_infinity(tmp_path):
    # tf.summary.scalar raises on it; a diverging loss is better logged than lost.
    writer = EventFileRunWriter(str(tmp_path))
    writer.scalars({"loss": 1e39, "gain": -1e39}, 0)
    writer.close()
    assert [row[2:] for row in read_events(tmp_path)] == [("loss", np.inf), ("gain", -np.inf)]


def test_hparams_are_byte_for_byte_those_of_the_hparams_api(tmp_path):
    from l2board.writing.summary_writing import RunWriter

    values = {"regularization": "L2 0.01 on hidden", "coverage": np.float32(0.25), "epochs": 12, "frozen": True,
              "l2/hidden/kernel": 0.01}
    for trial_id in ("run-1", None):  # None: the id is a hash of the values
        for writer_class, sub in ((RunWriter, "tf_summary"), (EventFileRunWriter, "tf_free")):
            writer = writer_class(str(tmp_path / str(trial_id) / sub))
            writer.hparams(values, trial_id=trial_id)
            writer.close()
        (written,) = summaries(tmp_path / str(trial_id) / "tf_free")
        assert [written] == summaries(tmp_path / str(trial_id) / "tf_summary")


def test_compare_reads_the_twins_alike(twins):
    runs = read_runs([twins / "tf_summary", twins / "tf_free"])
    assert not runs.notes
    report = json.loads(report_json(compare_runs(runs)))
    tf_written, tf_free = (run for run in report["runs"])
    for run in (tf_written, tf_free):
        run.pop("name"), run.pop("path"), run.pop("configuration")  # the folder's name
    assert tf_free == tf_written
    assert tf_free["epochs"] == EPOCHS and tf_free["label"] == SETUP.label


def test_writing_never_imports_tensorflow_or_keras(tmp_path):
    code = f"""
import sys, numpy as np
from l2board.writing.event_writer import EventFileRunWriter
writer = EventFileRunWriter({str(tmp_path / "run")!r})
writer.scalars({{"epoch_loss": np.float32(0.5)}}, 0)
writer.histograms({{"weight_histogram/w": np.array([[0.0, 1.0, 10.0]])}}, 0)
writer.text({{"l2board/setup": "x"}}, 0)
writer.hparams({{"l2/w": 0.01}}, trial_id="run")
writer.flush()
writer.close()
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""
    out = run_child([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert len(read_events(tmp_path / "run")) == 4


def test_file_names_are_tensorflows_and_sort_in_creation_order(tmp_path):
    writers = [EventFileRunWriter(str(tmp_path)) for _ in range(12)]
    pattern = rf"^events\.out\.tfevents\.\d{{10}}\.{re.escape(socket.gethostname())}\.{os.getpid()}\.\d+\.v2$"
    names = [os.path.basename(w.file_path) for w in writers]
    assert all(re.match(pattern, name) for name in names), names
    # TensorBoard loads a folder's files in name order: it is the order they were opened, within a
    # second too (TensorFlow's own `.5.v2` sorts after `.11.v2`).
    assert sorted(names) == names and len(set(names)) == len(names)
    for writer in writers:
        writer.close()


def test_flush_puts_every_summary_on_disk(tmp_path):
    writer = EventFileRunWriter(str(tmp_path))
    writer.scalars({f"s{i}": i for i in range(50)}, 3)
    assert read_events(tmp_path) == []  # buffered in memory until flush()
    writer.flush()  # without closing: what TensorBoard reads from a run still training
    assert [(tag, value) for _, step, tag, value in read_events(tmp_path)] == [(f"s{i}", i) for i in range(50)]
    writer.close()


def test_unwritable_folders_are_one_sentence(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UnwritableLogDirError,
                       match=rf"^Cannot write TensorBoard logs to '{re.escape(str(tmp_path))}/a-file/run': "
                             r"Not a directory\.$"):
        EventFileRunWriter(str(tmp_path / "a-file" / "run"))
    with pytest.raises(UnwritableLogDirError, match=r"^Cannot write TensorBoard logs to 'gs://b/run': remote .*\.$"):
        EventFileRunWriter("gs://b/run")


def test_closing_closes_the_file_and_later_writes_are_refused(tmp_path):
    writer = EventFileRunWriter(str(tmp_path))
    writer.scalars({"a": 1.0}, 0)
    assert writer.file_path in open_files()
    writer.close()
    assert writer.file_path not in open_files()
    writer.close()  # twice: nothing more to do
    with pytest.raises(ValueError, match="is closed"):
        writer.scalars({"a": 1.0}, 1)
    assert [row[2:] for row in read_events(tmp_path)] == [("a", 1.0)]


def open_files():
    return {os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")}


# What runs under a file-size limit of 60,000 bytes: 100 scalars flushed step
# by step until a write fails; then, in a second file, summaries left
# unflushed past the limit, so that only close() meets the error.
_UNDER_A_SIZE_LIMIT = """
import json, os, sys
from l2board.errors import LogWriteError
from l2board.writing.event_writer import EventFileRunWriter

def open_files():
    return {os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")}

result = {}
writer, step = EventFileRunWriter(sys.argv[1]), 0
try:
    while step < 1000:
        writer.scalars({f"weight_norm/l2/layer{i}/kernel": step + i / 100 for i in range(100)}, step)
        writer.flush()
        step += 1
except LogWriteError as error:
    result["error"], result["flushed_steps"] = str(error), step
try:
    writer.close()
except LogWriteError as error:
    result["close_error"] = str(error)
result["open_after_close"] = writer.file_path in open_files()

buffered, step = EventFileRunWriter(sys.argv[2]), 0
while os.path.getsize(buffered.file_path) < 57_000:
    buffered.scalars({"a": step}, step)
    buffered.flush()
    step += 1
buffered.scalars({f"b{i}": i for i in range(50)}, step)  # about 3 kB, written at close
try:
    buffered.close()
except LogWriteError as error:
    result["buffered_close_error"] = str(error)
result["buffered_open_after_close"] = buffered.file_path in open_files()
print(json.dumps(result))
"""


def test_full_disk_is_one_sentence_keeps_what_was_flushed_and_still_closes(tmp_path):
    from l2board.reading.event_files import FileDamage, iter_events

    # What `ulimit -f` does: the process is told (EFBIG), not killed.
    flushed, buffered = tmp_path / "flushed", tmp_path / "buffered"
    child = run_child([sys.executable, "-c", _UNDER_A_SIZE_LIMIT, flushed, buffered], capture_output=True, text=True,
                      file_size_limit=60_000)
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    sentence = (f"Could not write TensorBoard logs to '{flushed}': File too large (is the disk full?); "
                "the epochs written before are kept.")
    assert result["error"] == sentence and 1 <= result["flushed_steps"] < 1000
    assert result["buffered_close_error"] == sentence.replace(str(flushed), str(buffered))
    # close() closes the file even though its last flush failed.
    assert result["open_after_close"] is False and result["buffered_open_after_close"] is False
    # Every flushed step is whole, and the file ends where it did: no torn record at its end.
    for folder, values_per_step in ((flushed, 100), (buffered, 1)):
        (path,) = event_files(folder)
        damage, per_step = FileDamage(path), {}
        for event in iter_events(path, damage):
            if event.HasField("summary"):
                per_step[event.step] = per_step.get(event.step, 0) + len(event.summary.value)
        assert not damage, damage.describe()
        assert set(per_step.values()) == {values_per_step}
    assert sorted(per_step) == list(range(len(per_step)))
    assert len(read_events(flushed)) == 100 * result["flushed_steps"]  # TensorFlow's reader agrees


# -- a real TensorBoard -----------------------------------------------------------

def served_without_wall_times(port, plugin, route, run, tag, until):
    from test_tensorboard_server import get_json

    query = urllib.parse.urlencode({"run": run, "tag": tag})
    data = get_json(port, f"/data/plugin/{plugin}/{route}?{query}", until=until)
    return [{k: v for k, v in point.items() if k != "wall_time"} if isinstance(point, dict) else point[1:]
            for point in data]


def hparams_session_groups(port):
    """`{group: (hparams, session names)}` as the HParams dashboard lists them."""
    from test_tensorboard_server import get_json

    request = {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                                          "STATUS_RUNNING"], "colParams": [], "startIndex": 0,
               "sliceSize": 10}
    listing = get_json(port, "/data/plugin/hparams/session_groups", post=request,
                       until=lambda d: sum(len(g["sessions"]) for g in d.get("sessionGroups", [])) == 2)
    return {group["name"]: (group["hparams"], sorted(s["name"] for s in group["sessions"]))
            for group in listing["sessionGroups"]}


@pytest.mark.parametrize("load_fast", ["false", "true"])
def test_real_tensorboard_serves_the_tf_free_run_as_the_tf_summary_one(twins, load_fast):
    from test_tensorboard_server import get_json, tensorboard_server

    with tensorboard_server(twins, load_fast) as port:
        def every_epoch(points):
            return len(points) == EPOCHS

        for plugin, route, sub, tag in (("scalars", "scalars", "train", "epoch_loss"),
                                        ("scalars", "scalars", "validation", tags.DATA_LOSS),
                                        ("histograms", "histograms", "train", "weight_histogram/hidden/kernel")):
            ours, theirs = (served_without_wall_times(port, plugin, route, f"{run}/{sub}", tag, every_epoch)
                            for run in ("tf_free", "tf_summary"))
            assert ours == theirs and len(ours) == EPOCHS, (plugin, tag)
        texts = {run: served_without_wall_times(port, "text", "text", f"{run}/train", tags.SETUP_TEXT,
                                                lambda points: len(points) == 1) for run in ("tf_free", "tf_summary")}
        assert texts["tf_free"] == texts["tf_summary"] and "hidden/kernel" in texts["tf_free"][0]["text"]
        experiment = get_json(port, "/data/plugin/hparams/experiment", post={"experimentName": ""},
                              until=lambda d: len(d.get("hparamInfos", [])) == len(SETUP.hparams()))
        hparams = {h["name"]: h for h in experiment["hparamInfos"]}
        assert hparams["regularization"]["domainDiscrete"] == [SETUP.label]
        assert hparams["l1/output/kernel"]["domainInterval"]["minValue"] == pytest.approx(0.001)
        metrics = {(m["name"]["group"], m["name"]["tag"]) for m in experiment["metricInfos"]}
        assert ("validation", tags.DATA_LOSS) in metrics
        # The twins share a trial id: one trial, one session per run.
        assert hparams_session_groups(port) == {"run": (SETUP.hparams(), ["tf_free", "tf_summary"])}
        listing = get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == 2)
        runs = {run.pop("name"): run for run in listing["runs"]}
        assert runs["tf_free"] == runs["tf_summary"] and runs["tf_free"]["logged_by_l2monitor"]
