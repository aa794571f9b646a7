"""Bad input, tried: one sentence, a non-zero exit, nothing written lost (docs/robustness.md)."""

import os
import shutil

import keras
import numpy as np
import pytest
from conftest import installed_script, read_run, run_child

from l2board import L2Monitor, L2MonitorWarning
from l2board.analysis.comparison import compare_runs
from l2board.errors import RegularizerError
from l2board.reading.logs import read_runs


def l2board(*args, **options):
    return run_child([installed_script("l2board"), *map(str, args)], capture_output=True, text=True, timeout=300,
                     **options)


def small_fit(model, log_dir, epochs=2):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, (x[:, 0] > 0).astype(np.int64), validation_split=0.25, epochs=epochs, verbose=0,
                     callbacks=[L2Monitor(str(log_dir), verbose=0)])


def test_full_disk_is_one_sentence_and_keeps_earlier_epochs(tmp_path):
    # What `ulimit -f` does: the process is told (EFBIG), not killed.
    result = l2board("train", "--dataset", "digits", "--train-size", "64", "--epochs", "30",
                     "--logdir", tmp_path / "run", file_size_limit=60_000)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"Error: Could not write TensorBoard logs to '{tmp_path / 'run'}")
    assert line.endswith("File too large (is the disk full?); the epochs written before are kept.")
    assert "Traceback" not in result.stderr
    (report,) = compare_runs(read_runs([tmp_path / "run"])).runs
    assert report.epochs >= 1 and report.complete is False


def test_failing_custom_regularizer_is_named(tmp_path):
    class Broken(keras.regularizers.Regularizer):
        def __call__(self, x):
            raise ValueError("shape mismatch in my penalty")

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax",
                                                                      kernel_regularizer=Broken(), name="d")])
    with pytest.raises(RegularizerError, match=r"^The regularizer of d/kernel \(Broken\) failed: shape mismatch "
                                               r"in my penalty; Keras would fail on it too\.$"):
        small_fit(model, tmp_path)
    assert int(model.optimizer.iterations) == 0


def test_only_activity_regularizers(tmp_path):
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu", activity_regularizer=keras.regularizers.L1(0.01),
                                name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(hidden))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", L2MonitorWarning)  # regularized: no "nothing regularizes" warning
        small_fit(model, tmp_path)
    train = read_run(tmp_path / "train")
    assert "activity L1 0.01 on hidden" in train["l2board/setup"][0]
    assert train["activity_penalty/hidden"][1] > 0 and train["penalty_total"][1] == 0
    assert train["epoch_penalty"][1] == pytest.approx(train["activity_penalty/hidden"][1])


def test_huge_garbage_file_does_not_stall_the_report(real_runs, tmp_path):
    shutil.copytree(real_runs / "l2", tmp_path / "l2")
    junk = tmp_path / "l2" / "train" / "events.out.tfevents.9999999999.junk"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 40_000_000, dtype=np.uint8).tobytes())
    result = l2board("compare", tmp_path / "l2")
    assert result.returncode == 0 and "Verdict:" in result.stdout
    assert f"Warning: {junk}:" in result.stderr and "no intact record" in result.stderr


def test_unreadable_and_empty_files(real_runs, tmp_path):
    shutil.copytree(real_runs / "l2", tmp_path / "l2")
    broken = tmp_path / "l2" / "train" / "events.out.tfevents.1.broken"
    broken.symlink_to(tmp_path / "nowhere")
    (tmp_path / "l2" / "validation" / "events.out.tfevents.2.empty").write_bytes(b"")
    result = l2board("compare", tmp_path / "l2")
    assert result.returncode == 0
    assert f"Warning: Could not read {broken}: No such file or directory; its run is reported without it." \
        in result.stderr
    (tmp_path / "empty_run").mkdir()
    (tmp_path / "empty_run" / "events.out.tfevents.3.empty").write_bytes(b"")
    result = l2board("compare", tmp_path / "empty_run")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: Run 'empty_run' holds no scalar values: its event file holds no summary."


def test_a_file_where_a_folder_is_expected(tmp_path):
    (tmp_path / "notes.txt").write_text("not logs")
    result = l2board("compare", tmp_path / "notes.txt")
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: '{tmp_path / 'notes.txt'}' is neither a log folder nor a TensorBoard " \
                                    "event file."
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = l2board("experiment", "--dataset", "digits", "--l2", "0", "--logdir", blocker / "exp")
    assert result.returncode == 1 and "Cannot write TensorBoard logs to" in result.stderr
    assert blocker.read_text() == "x"


def _run_with_setup(folder, setup_text, gap):
    """A run as L2Monitor lays it out (its own TF-free writer), with `setup_text` as its logged setup."""
    from l2board.log_format import tags
    from l2board.writing.event_writer import EventFileRunWriter

    writers = {sub: EventFileRunWriter(os.path.join(str(folder), sub)) for sub in ("train", "validation")}
    writers["train"].text({tags.SETUP_JSON: setup_text}, 0)
    for epoch in range(6):
        writers["train"].scalars({"epoch_loss": 1 / (epoch + 1), "epoch_accuracy": 0.5 + 0.05 * epoch,
                                  tags.DATA_LOSS: 1 / (epoch + 1)}, epoch)
        writers["validation"].scalars({"epoch_loss": 1 / (epoch + 1) + gap * epoch, tags.DATA_LOSS: 1 / (epoch + 1)
                                       + gap * epoch, "epoch_accuracy": 0.5 + 0.03 * epoch - gap}, epoch)
    for writer in writers.values():
        writer.close()


def test_a_malformed_logged_setup_is_an_unknown_setup_not_a_crash(tmp_path):
    import json

    def setup(factor):
        variable = {"path": "d/kernel", "size": 10, "trainable": True}
        if factor:
            variable.update(regularizer="L2", l2=factor)
        return json.dumps({"variables": [variable]})

    # A sweep of the factor (0, 0.001, 0.01) over two seeds, beside runs whose setups no L2Monitor writes.
    configurations = {"a": setup(0), "b": setup(0.001), "c": setup(0.01), "negative": setup(-0.01),
                      "infinite": setup(float("inf")), "nan": setup(float("nan")), "list": json.dumps([1, 2]),
                      "variable-list": json.dumps({"variables": [[1]]})}
    for index, (name, text) in enumerate(configurations.items()):
        for seed in range(2):
            _run_with_setup(tmp_path / "runs" / f"{name}-seed{seed}", text, 0.02 - 0.002 * index - 0.001 * seed)
    result = l2board("compare", tmp_path / "runs", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    runs = {run["name"].rsplit("-seed", 1)[0]: run for run in json.loads(result.stdout)["runs"]}
    assert runs["b"]["label"] == "L2 0.001 on d (100% of weights)"
    malformed = ("negative", "infinite", "nan", "list", "variable-list")
    assert {runs[name]["label"] for name in malformed} == {"regularization unknown (its logged setup cannot be read)"}
    # Each says why, as a code with the problem and in words.
    for name in malformed:
        (note,) = [note for note in runs[name]["notes"] if note["code"] == "setup_unreadable"]
        assert note["problem"] and any(m.startswith("its logged regularization setup (l2board/setup_json) cannot be "
                                                    "read: ") for m in runs[name]["missing"])
