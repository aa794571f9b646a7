"""Regularization penalties, and what their share of a loss says, as plain functions on arrays.

Everything here is NumPy only, so it can be tested and reused without
TensorFlow. The conventions differ between frameworks, which is the reason
these functions exist with explicit names:

* Keras `l2(factor)` adds `factor * sum(w**2)`.
* TF1's `tf.contrib.layers.l2_regularizer(scale)` added
  `scale * sum(w**2) / 2` (it is built on `tf.nn.l2_loss`, which halves).
* Keras `l1(factor)` and TF1's `l1_regularizer(scale)` agree:
  `factor * sum(|w|)`.
"""

import numpy as np


def _as_float64(weights):
    return np.asarray(weights, dtype=np.float64)


def l1_penalty(weights, factor):
    """Returns the L1 penalty `factor * sum(|w|)`.

    Args:
        weights: array-like of any shape.
        factor: the regularization factor.

    Returns:
        The penalty as a Python float.

    Example:

    >>> l1_penalty([[1, -2], [-3, 4]], 0.5)
    5.0
    """
    return float(factor * np.abs(_as_float64(weights)).sum())


def l2_penalty(weights, factor):
    """Returns the Keras L2 penalty `factor * sum(w**2)`.

    This is what `keras.regularizers.l2(factor)` adds to the loss.

    Args:
        weights: array-like of any shape.
        factor: the regularization factor (Keras calls it `l2`).

    Returns:
        The penalty as a Python float.

    Example:

    >>> l2_penalty([[1, -2], [-3, 4]], 0.5)
    15.0
    """
    return float(factor * np.square(_as_float64(weights)).sum())


def tf1_l2_penalty(weights, scale):
    """Returns the TF1 `l2_regularizer(scale)` penalty `scale * sum(w**2) / 2`.

    TF1 built its L2 regularizer on `tf.nn.l2_loss`, which halves the sum
    of squares, so the same number means half the penalty of Keras `l2`.

    Args:
        weights: array-like of any shape.
        scale: the regularization scale.

    Returns:
        The penalty as a Python float.

    Example:

    >>> tf1_l2_penalty([[1, -2], [-3, 4]], 0.5)
    7.5
    """
    return l2_penalty(weights, scale) / 2.0


def keras_l2_factor_from_tf1(scale):
    """Returns the Keras `l2` factor equivalent to a TF1 `l2_regularizer` scale.

    Args:
        scale: the TF1 scale.

    Returns:
        `scale / 2`, the factor that gives Keras `l2` the same penalty.

    Example:

    >>> keras_l2_factor_from_tf1(0.5)
    0.25
    """
    return scale / 2.0


def penalty_share(penalty, loss):
    """Returns the share of a loss that is regularization penalty.

    Args:
        penalty: the penalty included in `loss`.
        loss: the total loss.

    Returns:
        `penalty / loss`, or NaN when the loss is zero or not finite.

    Example:

    >>> penalty_share(0.5, 2.0)
    0.25
    """
    if not np.isfinite(loss) or loss == 0:
        return float("nan")
    return float(penalty / loss)


def diagnose_penalty_share(penalty, data_loss, first_data_loss, high_share=0.5, vanished=0.05):
    """Says why a penalty is a large share of the training loss, if it is.

    A large share has two causes that call for opposite actions. A factor
    too large makes the penalty large against the data loss the model
    started from: regularization then dominates what the model learns. A
    vanished data loss (the network fits, often memorizes, its training
    set) makes even a small penalty most of the loss: the factor is not the
    problem. A share high for neither clear reason gets no verdict.

    Args:
        penalty: the penalty in this epoch's training loss.
        data_loss: this epoch's training loss without the penalty.
        first_data_loss: the training data loss of the first epoch, what the
            model started from.
        high_share: the share of the loss (`penalty / (penalty + data_loss)`)
            above which to look for a cause; the penalty counts as large when
            it is above this fraction of `first_data_loss`.
        vanished: the fraction of `first_data_loss` under which the data loss
            counts as gone.

    Returns:
        `None` (nothing to say), `"large_factor"` or `"memorized"`.

    Example:

    >>> diagnose_penalty_share(3.0, 1.0, first_data_loss=1.0)   # the penalty is most of the loss from the start
    'large_factor'
    >>> diagnose_penalty_share(0.05, 0.01, first_data_loss=2.3)  # the data loss went to almost nothing
    'memorized'
    >>> diagnose_penalty_share(0.5, 2.0, first_data_loss=2.3) is None  # a fifth of the loss
    True
    >>> diagnose_penalty_share(0.5, 0.4, first_data_loss=2.3) is None  # high, but neither cause is clear
    True
    """
    values = np.array([penalty, data_loss, first_data_loss], dtype=np.float64)
    if not np.all(np.isfinite(values)) or penalty <= 0 or data_loss < 0 or first_data_loss <= 0:
        return None
    if penalty <= high_share * (penalty + data_loss):
        return None
    if penalty > high_share * first_data_loss:
        return "large_factor"
    if data_loss < vanished * first_data_loss:
        return "memorized"
    return None
