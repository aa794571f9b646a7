"""Cases an adversarial review found: step axes that differ, a diverged run's
EarlyStopping replay, runs with another metric, warnings said twice.

Every log is written here with a real writer (tf.summary through
`write_run` for exact values, tensorboardX for the torch loop's shape).
"""

import math

import numpy as np
import pytest
from conftest import installed_script, run_child, write_run

from l2board.analysis.comparison import compare_runs
from l2board.analysis.notes import Note
from l2board.errors import L2BoardError
from l2board.reading.logs import read_runs
from l2board.rendering.report import render, render_table

EPOCHS, BATCHES = 20, 10
EPOCH = np.arange(EPOCHS)
VAL_LOSS = 0.5 + (EPOCH - 10) ** 2 / 100  # minimum 0.5 at epoch 10
VAL_ACC = 0.7 - 0.001 * (EPOCH - 12) ** 2  # best 0.7 at epoch 12, final 0.651
STEP = np.arange(EPOCHS * BATCHES)
TRAIN_ACC = 0.5 + 0.0019 * STEP  # per batch: 0.8781 at the last one, 0.5361 at step 19
TRAIN_LOSS = 1.0 / (STEP + 1)


def assert_validation_only(run):
    """The numbers a torch loop's logs give when training is per batch and validation per epoch."""
    assert run.final_val_metric == pytest.approx(VAL_ACC[-1])
    assert (run.best_val_metric, run.best_epoch) == (pytest.approx(0.7), 12)
    assert (run.onset_epoch, run.min_val_data_loss) == (10, pytest.approx(0.5))
    assert run.generalization_loss_percent == pytest.approx(100 * (VAL_LOSS[-1] / 0.5 - 1), rel=1e-5)
    assert run.early_stopping_epoch == 15  # best at 10, five epochs without improvement
    # Nothing is paired: training batch 19 is not validation epoch 19.
    for field in ("final_train_metric", "train_metric_at_best", "metric_gap_final_pp", "metric_gap_best_pp",
                  "final_train_data_loss", "data_loss_gap_final", "data_loss_gap_best"):
        assert getattr(run, field) is None, field
    assert (run.epochs, run.last_epoch) == (EPOCHS, EPOCHS - 1)
    # The validation loss gives its own numbers all the same (issue 18, item 5: they were null).
    assert run.final_val_data_loss == pytest.approx(VAL_LOSS[-1]) and run.val_data_loss_at_stop is not None
    assert Note("steps_differ", train_last_step=EPOCHS * BATCHES - 1, validation_last_step=EPOCHS - 1,
                train_points=EPOCHS * BATCHES, validation_points=EPOCHS, shared=EPOCHS) in run.notes
    assert run.diverged_epoch is None


def test_training_per_batch_and_validation_per_epoch_are_not_paired(tmp_path):
    write_run(tmp_path / "torch_loop",
              train={"epoch_loss": dict(zip(STEP.tolist(), TRAIN_LOSS)),
                     "epoch_accuracy": dict(zip(STEP.tolist(), TRAIN_ACC))},
              validation={"epoch_loss": VAL_LOSS.tolist(), "epoch_accuracy": VAL_ACC.tolist()})
    comparison = compare_runs(read_runs([tmp_path / "torch_loop"]))
    (run,) = comparison.runs
    assert_validation_only(run)
    # The table words the note, and has no training number to show.
    table = render_table(comparison)
    assert ("training values are logged at other steps (up to step 199) than validation values (up to step 19), "
            "so they are not paired") in table
    assert "final training accuracy            n/a" in table


def test_torch_tutorial_tags_written_by_tensorboardx_are_not_paired(tmp_path):
    from tensorboardX import SummaryWriter

    # The common torch loop: training at the global step, validation at the epoch.
    writer = SummaryWriter(str(tmp_path / "tbx_loop"))
    for step in STEP.tolist():
        writer.add_scalar("Loss/train", TRAIN_LOSS[step], step)
        writer.add_scalar("Accuracy/train", TRAIN_ACC[step], step)
        if step % BATCHES == BATCHES - 1:
            epoch = step // BATCHES
            writer.add_scalar("Loss/val", VAL_LOSS[epoch], epoch)
            writer.add_scalar("Accuracy/val", VAL_ACC[epoch], epoch)
    writer.close()
    (run,) = compare_runs(read_runs([tmp_path / "tbx_loop"])).runs
    assert run.metric == "accuracy"
    assert_validation_only(run)


def test_training_and_validation_at_the_same_global_steps_are_still_paired(tmp_path):
    # Validation logged at the global step of each epoch's last batch shares
    # every one of its steps with the per-batch training values.
    val_steps = (EPOCH * BATCHES + BATCHES - 1).tolist()
    write_run(tmp_path / "global",
              train={"epoch_accuracy": dict(zip(STEP.tolist(), TRAIN_ACC))},
              validation={"epoch_accuracy": dict(zip(val_steps, VAL_ACC))})
    (run,) = compare_runs(read_runs([tmp_path / "global"])).runs
    assert run.final_train_metric == pytest.approx(TRAIN_ACC[-1])
    assert run.metric_gap_final_pp == pytest.approx(100 * (TRAIN_ACC[-1] - VAL_ACC[-1]), rel=1e-5)
    assert all(note.code != "steps_differ" for note in run.notes)


def keras_stop_epoch(val_losses, patience):
    """Where Keras's own EarlyStopping stops on these val_loss values (None: it does not)."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    callback.set_model(model)
    model.stop_training = False  # as fit() sets it before the first epoch
    callback.on_train_begin()
    for epoch, value in enumerate(val_losses):
        callback.on_epoch_end(epoch, {"val_loss": float(value)})
        if model.stop_training:
            return epoch
    return None


def test_a_diverged_run_keeps_its_early_stopping_epoch(tmp_path):
    val_loss = [v if e < 15 else math.nan for e, v in enumerate(VAL_LOSS)]
    write_run(tmp_path / "nan", train={"epoch_loss": [1.0 / (e + 1) if e < 15 else math.nan for e in range(EPOCHS)],
                                       "epoch_accuracy": [0.5 + 0.02 * e for e in range(EPOCHS)]},
              validation={"epoch_loss": val_loss, "epoch_accuracy": VAL_ACC.tolist()})
    comparison = compare_runs(read_runs([tmp_path / "nan"]))
    (run,) = comparison.runs
    assert run.diverged_epoch == 15 and run.generalization_loss_percent is None
    # Keras counts a NaN val_loss as an epoch without improvement, and stops.
    assert keras_stop_epoch(val_loss, patience=5) == 15
    assert run.early_stopping_epoch == 15
    (row,) = [line for line in render_table(comparison).splitlines() if line.startswith("EarlyStopping(")]
    assert row.split()[-2:] == ["epoch", "15"]


def test_no_replay_is_n_a_not_does_not_stop(tmp_path):
    # Accuracy only: no val_loss to replay EarlyStopping on.
    write_run(tmp_path / "acc_only", train={"epoch_accuracy": [0.5, 0.6, 0.7]},
              validation={"epoch_accuracy": [0.4, 0.5, 0.55]})
    comparison = compare_runs(read_runs([tmp_path / "acc_only"]))
    assert comparison.runs[0].early_stopping_monitor is None
    table = render_table(comparison)
    (row,) = [line for line in table.splitlines() if line.startswith("EarlyStopping(patience=5) stops")]
    assert row.split()[-1] == "n/a" and "does not stop" not in table


def test_a_run_with_another_metric_is_compared_on_its_loss(tmp_path):
    write_run(tmp_path / "good", train={"epoch_loss": [1.0, 0.6, 0.4], "epoch_accuracy": [0.5, 0.7, 0.9]},
              validation={"epoch_loss": [1.1, 0.9, 1.0], "epoch_accuracy": [0.45, 0.6, 0.58]})
    write_run(tmp_path / "regression", train={"epoch_loss": [2.0, 1.5, 1.0], "epoch_mae": [1.0, 0.8, 0.6]},
              validation={"epoch_loss": [2.2, 1.8, 1.9], "epoch_mae": [1.1, 0.9, 0.95]})
    write_run(tmp_path / "valonly", validation={"epoch_loss": [1.5, 1.2, 1.3]})
    # Only a metric the others are not compared on: nothing comparable.
    write_run(tmp_path / "binary", train={"epoch_binary_accuracy": [0.5]},
              validation={"epoch_binary_accuracy": [0.4]})
    runs = read_runs([tmp_path / name for name in ("good", "regression", "valonly", "binary")])
    comparison = compare_runs(runs)
    assert comparison.metric == "accuracy"
    good, regression, valonly = comparison.runs
    assert good.final_val_metric == pytest.approx(0.58)
    assert regression.final_val_metric is None and regression.metric_gap_final_pp is None
    assert regression.data_loss_gap_final == pytest.approx(0.9) and regression.onset_epoch == 1
    assert Note("metric_not_logged", metric="accuracy") in regression.notes
    assert valonly.onset_epoch == 1 and valonly.early_stopping_epoch is None
    assert [(s.name, s.reason) for s in comparison.skipped] == [
        ("binary", Note("no_shared_values", metric="accuracy"))]
    # The regression run is judged on the loss gap against the baseline's.
    assert comparison.verdicts[0].measure == "data_loss_gap_final"
    assert "regression, valonly: the validation accuracy the other runs are compared on is not logged" in \
        render(comparison, "table")


def test_the_metric_most_runs_log_is_chosen_and_a_missing_requested_metric_is_one_sentence(tmp_path):
    for name in ("a1", "a2"):
        write_run(tmp_path / name, train={"epoch_accuracy": [0.5, 0.6]}, validation={"epoch_accuracy": [0.4, 0.5]})
    write_run(tmp_path / "b", train={"epoch_binary_accuracy": [0.5], "epoch_loss": [1.0]},
              validation={"epoch_binary_accuracy": [0.4], "epoch_loss": [1.2]})
    runs = read_runs([tmp_path / "b", tmp_path / "a1", tmp_path / "a2"])
    comparison = compare_runs(runs)
    assert comparison.metric == "accuracy" and [r.name for r in comparison.runs] == ["b", "a1", "a2"]
    assert compare_runs(runs, metric="binary_accuracy").metric == "binary_accuracy"
    with pytest.raises(L2BoardError) as error:
        compare_runs(runs, metric="auc")
    assert str(error.value) == ("No run has a validation metric 'auc': 'b' logs binary_accuracy; 'a1' logs "
                                "accuracy; 'a2' logs accuracy.")


def test_a_restart_warning_is_shown_once(tmp_path):
    # Written twice from step 0: the second file replaces the first's points.
    run = tmp_path / "restarted"
    write_run(run, train={"epoch_loss": [1.0, 0.8, 0.7]}, validation={"epoch_loss": [1.1, 0.9, 0.95]})
    write_run(run, train={"epoch_loss": [1.0, 0.7]}, validation={"epoch_loss": [1.1, 0.92]})
    result = run_child([installed_script("l2board"), "compare", str(run)],
                       capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    both = result.stdout + result.stderr
    assert both.count("train/events.out.tfevents.") == 1 and both.count("goes back to step 0") == 2
    assert "goes back to step 0" in result.stderr
    # A report written to a file keeps them: stderr is not in the file.
    out = tmp_path / "report.txt"
    result = run_child([installed_script("l2board"), "compare", str(run), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and out.read_text().count("goes back to step 0") == 2
