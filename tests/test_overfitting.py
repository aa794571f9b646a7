"""Overfitting measures, on exact values and against Keras's own EarlyStopping."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import write_run

from l2board.analysis.comparison import compare_runs
from l2board.analysis.overfitting import (
    best_index,
    early_stopping_epoch,
    generalization_gap,
    generalization_loss,
    mean_and_std,
    overfitting_onset,
)
from l2board.reading.logs import read_runs
from l2board.rendering.report import render_table


def test_gap_and_best():
    assert generalization_gap([1.0, 0.9], [0.6, 0.7]).tolist() == pytest.approx([0.4, 0.2])
    assert best_index([0.1, 0.5, 0.5]) == 1
    assert best_index([np.nan, 0.2, np.nan]) == 1
    assert best_index([np.nan]) is None


def test_onset_and_prechelt_generalization_loss():
    losses = [2.0, 1.0, 0.8, 1.0, 1.2]
    assert overfitting_onset(losses) == 2
    assert generalization_loss(losses) == pytest.approx(50.0)
    assert generalization_loss(losses, at=3) == pytest.approx(25.0)
    assert generalization_loss([1.0, 0.9, 0.8]) == 0.0
    assert math.isnan(generalization_loss([]))
    assert math.isnan(generalization_loss([0.0, 1.0]))


def test_mean_and_std():
    assert mean_and_std([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))
    assert mean_and_std([None, float("nan")]) == (None, None)


def keras_early_stopping(values, patience, min_delta):
    """Runs the real keras.callbacks.EarlyStopping over logged values."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, min_delta=min_delta)
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            return epoch
    return None


def test_early_stopping_known_case():
    values = [1.0, 0.8, 0.7, 0.75, 0.9, 0.72, 0.8, 0.85, 0.9]
    assert early_stopping_epoch(values, patience=5) == 7
    assert early_stopping_epoch(values, patience=5) == keras_early_stopping(values, 5, 0.0)
    assert early_stopping_epoch(values, patience=20) is None


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(0.01, 5.0), min_size=1, max_size=25),
       patience=st.integers(1, 6), min_delta=st.sampled_from([0.0, 0.01, 0.1]))
def test_early_stopping_replay_matches_keras(values, patience, min_delta):
    assert early_stopping_epoch(values, patience, min_delta) == keras_early_stopping(values, patience, min_delta)


# A diverged run's EarlyStopping replay, and a run with nothing to replay on, read from real event files.

EPOCHS = 20
VAL_LOSS = 0.5 + (np.arange(EPOCHS) - 10) ** 2 / 100  # minimum 0.5 at epoch 10
VAL_ACC = 0.7 - 0.001 * (np.arange(EPOCHS) - 12) ** 2


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
