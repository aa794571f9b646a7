"""Crashes, restarts and divergence: every finished epoch kept, the report honest."""

import signal
import subprocess
import sys
import textwrap
import time

from conftest import read_run, start_child

from l2board.analysis.comparison import compare_runs
from l2board.reading.logs import read_runs

TRAINING = textwrap.dedent("""
    import os, sys, time
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras
    from l2board import L2Monitor

    log_dir, initial_epoch, epochs, hang_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    class HangMidEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.params and batch == 2 and getattr(self, "epoch", None) == hang_at:
                print("MID-EPOCH", flush=True)
                time.sleep(600)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu",
                              kernel_regularizer=keras.regularizers.L2(0.01)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, validation_split=0.25, epochs=epochs, initial_epoch=initial_epoch, batch_size=16, verbose=0,
              callbacks=[L2Monitor(log_dir, verbose=0), HangMidEpoch()])
    print("DONE", flush=True)
""")


def train(log_dir, initial_epoch, epochs, hang_at=-1):
    return start_child([sys.executable, "-c", TRAINING, str(log_dir), str(initial_epoch), str(epochs),
                        str(hang_at)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_epoch_keeps_finished_epochs_and_resuming_gives_one_value_per_step(tmp_path):
    run = tmp_path / "run"
    process = train(run, 0, 10, hang_at=3)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while "MID-EPOCH" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
        assert "MID-EPOCH" in line, process.stderr.read()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # l2board reads every finished epoch and says the run did not finish.
    (report,) = compare_runs(read_runs([run])).runs
    assert report.epochs == 3 and report.last_epoch == 2
    assert report.complete is False
    assert any(note.code == "incomplete" for note in report.notes)
    # TensorBoard's own reader sees the same epochs.
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(str(run / "validation"), size_guidance={"tensors": 0})
    accumulator.Reload()
    assert [e.step for e in accumulator.Tensors("epoch_data_loss")] == [0, 1, 2]

    # Resumed from the checkpoint of epoch 1: epochs 2.. are trained again in the same folder.
    resumed = train(run, 2, 5)
    out, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    assert len(list((run / "train").glob("events.out.tfevents.*"))) == 2
    (report,) = compare_runs(read_runs([run])).runs
    assert report.complete is True and report.epochs == 5
    for series in (report.curves["val_data_loss"], report.curves["train_metric"]):
        assert len(series) == 5
    assert report.curves["data_loss_epochs"] == [0, 1, 2, 3, 4]


def test_diverged_run_is_labelled_not_measured(tmp_path):
    import warnings

    import keras
    import numpy as np

    from l2board import L2Monitor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    for name, factor, rate in (("stable", 0.01, 0.01), ("huge_l2", 1e6, 10.0)):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(
            2, activation="softmax", kernel_regularizer=keras.regularizers.L2(factor))])
        model.compile(keras.optimizers.SGD(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, y, validation_split=0.25, epochs=4, verbose=0,
                      callbacks=[L2Monitor(str(tmp_path / name), verbose=0)])
    comparison = compare_runs(read_runs([tmp_path / "stable", tmp_path / "huge_l2"]))
    stable, huge = comparison.runs
    assert stable.diverged_epoch is None and stable.metric_gap_final_pp is not None
    assert huge.diverged_epoch is not None
    assert huge.metric_gap_final_pp is None and huge.generalization_loss_percent is None
    from l2board.rendering.wording import verdict_sentences

    assert verdict_sentences(comparison) == [
        "huge_l2 diverged (the loss became NaN or infinite), so huge_l2 and stable cannot be compared on "
        "overfitting."]
    from l2board.rendering.report import render_table

    assert f"[diverged at epoch {huge.diverged_epoch}]" in render_table(comparison)
    assert not np.isfinite(read_run(tmp_path / "huge_l2" / "train")["epoch_loss"][huge.diverged_epoch])


def test_resuming_epoch_by_epoch_with_one_callback_keeps_every_epoch(tmp_path):
    import warnings

    import keras
    import numpy as np

    from l2board import L2Monitor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(
        2, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01))])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    monitor = L2Monitor(str(tmp_path / "run"), histogram_freq=0, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(12):  # the loop; 12 files so that '...11.v2' sorts before '...5.v2'
            model.fit(x, y, validation_split=0.25, initial_epoch=epoch, epochs=epoch + 1, verbose=0,
                      callbacks=[monitor])
    comparison = compare_runs(read_runs([tmp_path / "run"]))
    (report,) = comparison.runs
    assert report.curves["data_loss_epochs"] == list(range(12))
    assert report.epochs == 12 and report.complete is True
    assert not [note for note in comparison.file_notes if note.code == "restart"]  # nothing was replaced
