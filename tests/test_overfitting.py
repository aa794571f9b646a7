"""Overfitting measures, on exact values and against Keras's own EarlyStopping."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2board.analysis.overfitting import (
    best_index,
    early_stopping_epoch,
    generalization_gap,
    generalization_loss,
    mean_and_std,
    overfitting_onset,
)


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
