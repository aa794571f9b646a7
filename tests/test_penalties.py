"""The regularization arithmetic, against the tutorial and against Keras/TF."""

import numpy as np
import pytest

from l2board.writing.health import diagnose_penalty_share
from l2board.writing.measurements import mean_over_batches, penalty_share, sample_batches
from l2board.writing.weight_math import (
    keras_l2_factor_from_tf1,
    l1_penalty,
    l2_penalty,
    tf1_l2_penalty,
    total_norms,
    weight_norms,
)

TUTORIAL_WEIGHTS = [[1.0, -2.0], [-3.0, 4.0]]


def test_tutorial_arithmetic():
    assert l1_penalty(TUTORIAL_WEIGHTS, 0.5) == 5.0
    assert tf1_l2_penalty(TUTORIAL_WEIGHTS, 0.5) == 7.5
    assert l2_penalty(TUTORIAL_WEIGHTS, 0.5) == 15.0


def test_tutorial_arithmetic_matches_keras_and_tensorflow():
    import keras
    import tensorflow as tf

    w = np.array(TUTORIAL_WEIGHTS, dtype=np.float32)
    assert float(keras.regularizers.L1(0.5)(w)) == pytest.approx(5.0)
    assert float(keras.regularizers.L2(0.5)(w)) == pytest.approx(15.0)
    # TF1's l2_regularizer(scale) was scale * tf.nn.l2_loss(w).
    assert float(0.5 * tf.nn.l2_loss(w)) == pytest.approx(7.5)
    # The conversion gives Keras the TF1 penalty.
    assert float(keras.regularizers.L2(keras_l2_factor_from_tf1(0.5))(w)) == pytest.approx(7.5)


def test_penalties_match_keras_on_random_weights():
    import keras

    w = np.random.default_rng(0).normal(size=(7, 5, 3)).astype(np.float32)
    assert l2_penalty(w, 0.01) == pytest.approx(float(keras.regularizers.L2(0.01)(w)), rel=1e-6)
    assert l1_penalty(w, 0.02) == pytest.approx(float(keras.regularizers.L1(0.02)(w)), rel=1e-6)


def test_weight_norms():
    w = np.array([[3.0, 0.0], [0.0, -4.0]])
    norms = weight_norms(w, initial_weights=np.zeros_like(w))
    assert norms == {"l2": 5.0, "l1": 7.0, "max_abs": 4.0, "init_distance": 5.0}
    assert weight_norms(np.zeros((0,))) == {"l2": 0.0, "l1": 0.0, "max_abs": 0.0}
    assert "init_distance" not in weight_norms(w)
    # A NaN anywhere makes every norm NaN, the largest magnitude too.
    assert all(np.isnan(v) for v in weight_norms([1.0, np.nan, -2.0], initial_weights=[0.0, 0.0, 0.0]).values())


def test_total_norms_equal_norms_of_concatenation():
    rng = np.random.default_rng(1)
    parts = [rng.normal(size=s) for s in [(4, 3), (3,), (2, 2, 2)]]
    starts = [p + rng.normal(size=p.shape) for p in parts]
    totals = total_norms(weight_norms(p, s) for p, s in zip(parts, starts))
    whole = weight_norms(np.concatenate([p.ravel() for p in parts]),
                         np.concatenate([s.ravel() for s in starts]))
    assert totals == pytest.approx(whole)
    assert total_norms([]) == {}


def test_penalty_share():
    assert penalty_share(0.5, 2.0) == 0.25
    assert np.isnan(penalty_share(1.0, 0.0))
    assert np.isnan(penalty_share(1.0, float("nan")))


def test_sampled_mean_of_a_smooth_penalty_is_close_to_the_full_mean():
    n = 313  # CIFAR-100's 10,000 samples at batch 32
    curve = 10.0 * np.exp(-np.arange(n + 1) / 80.0) + 1.0  # a quickly decaying penalty
    chosen = sample_batches(n, 32)
    assert len(chosen) == 32 and chosen[0] == 0 and chosen[-1] == n - 1
    estimate = mean_over_batches(chosen, curve[chosen], n, curve[n])
    # The penalty falls by a factor of 40 within the epoch, and the error
    # of the mean penalty is still under 0.15%; the error of the data loss
    # is that times the penalty's share of the loss.
    assert estimate == pytest.approx(curve[:n].mean(), rel=1.5e-3)
    # Measured before every batch it is the plain mean.
    assert mean_over_batches(list(range(n)), curve[:n], n, curve[n]) == pytest.approx(curve[:n].mean(), rel=1e-12)
    # Nothing measured: the end value is all there is.
    assert mean_over_batches([], [], 5, 3.0) == 3.0


@pytest.mark.parametrize("penalty, data_loss, first_data_loss, cause", [
    # The documented CNN with L2 0.01 on every layer, epoch 0: a share of 75%.
    (13.5, 4.6, 4.6, "large_factor"),
    # A large factor stays one when the data loss also falls.
    (2.0, 0.01, 2.3, "large_factor"),
    # The tutorial's conv1-only L2 after memorizing its training set.
    (0.049, 0.0046, 2.14, "memorized"),
    # Half the loss or less: nothing to explain.
    (0.5, 0.5, 2.3, None),
    (0.05, 2.0, 2.3, None),
    # Over half, but neither a large penalty nor a vanished data loss.
    (0.5, 0.4, 2.3, None),
    # Numbers that cannot carry a verdict.
    (float("nan"), 0.1, 2.3, None),
    (1.0, 0.1, float("inf"), None),
    (1.0, -0.5, 2.3, None),
    (1.0, 0.1, 0.0, None),
    (0.0, 0.0, 2.3, None),
])
def test_diagnose_penalty_share(penalty, data_loss, first_data_loss, cause):
    assert diagnose_penalty_share(penalty, data_loss, first_data_loss) == cause
