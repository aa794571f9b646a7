"""Regularization penalties and weight norms as plain functions on arrays.

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


_CHUNK = 1 << 16


def weight_norms(weights, initial_weights=None):
    """Returns the norms of one weight array, and its distance from the start.

    Sums are taken in float64, a block at a time: as exact as converting
    the whole array, without a float64 copy of millions of weights.

    Args:
        weights: array-like of any shape.
        initial_weights: the same variable's values at the start of
            training, or `None`.

    Returns:
        A dict with `l2` (Frobenius norm), `l1` (sum of absolute values),
        `max_abs` (largest absolute value; 0 for an empty array) and, when
        `initial_weights` is given, `init_distance` (the L2 norm of the
        change since the start).

    Example:

    >>> weight_norms([[3, 0], [0, -4]], initial_weights=[[3, 0], [0, 0]])
    {'l2': 5.0, 'l1': 7.0, 'max_abs': 4.0, 'init_distance': 4.0}
    """
    w = np.asarray(weights).ravel()
    start = None if initial_weights is None else np.asarray(initial_weights).ravel()
    squares = absolutes = change = 0.0
    largest = 0.0
    for i in range(0, w.size, _CHUNK):
        block = w[i:i + _CHUNK].astype(np.float64)
        squares += float(np.dot(block, block))
        absolute = np.abs(block)
        absolutes += float(absolute.sum())
        largest = max(largest, float(absolute.max()))
        if start is not None:
            block -= start[i:i + _CHUNK]
            change += float(np.dot(block, block))
    norms = {"l2": float(np.sqrt(squares)), "l1": absolutes, "max_abs": largest}
    if start is not None:
        norms["init_distance"] = float(np.sqrt(change))
    return norms


def total_norms(per_variable):
    """Combines per-variable norms into the norms of the whole model.

    The model's L2 norm is the Frobenius norm of all its weights taken as
    one vector, so squares add; L1 norms add; the largest magnitude is
    the largest of the largest.

    Args:
        per_variable: an iterable of dicts as returned by `weight_norms`.

    Returns:
        A dict with the same keys, for all variables together. Keys that
        some variable lacks (`init_distance`) are left out.

    Example:

    >>> total_norms([{"l2": 3.0, "l1": 3.0, "max_abs": 3.0},
    ...              {"l2": 4.0, "l1": 4.0, "max_abs": 4.0}])
    {'l2': 5.0, 'l1': 7.0, 'max_abs': 4.0}
    """
    per_variable = list(per_variable)
    if not per_variable:
        return {}
    keys = set.intersection(*(set(n) for n in per_variable))
    totals = {}
    for key in ("l2", "l1", "max_abs", "init_distance"):
        if key not in keys:
            continue
        values = np.array([n[key] for n in per_variable], dtype=np.float64)
        if key in ("l2", "init_distance"):
            totals[key] = float(np.sqrt(np.square(values).sum()))
        elif key == "l1":
            totals[key] = float(values.sum())
        else:
            totals[key] = float(values.max())
    return totals


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


def sample_batches(n_batches, max_samples):
    """Chooses the batches before which to measure a changing penalty.

    Measuring before every batch costs a call per batch; a penalty changes
    smoothly over an epoch, so up to `max_samples` evenly spaced batches,
    always including the first, are enough for its mean (see
    `mean_over_batches`).

    Args:
        n_batches: the batches in the epoch.
        max_samples: the most batches to choose, at least 1.

    Returns:
        A sorted list of batch indices.

    Example:

    >>> sample_batches(5, 32), sample_batches(10, 4)
    ([0, 1, 2, 3, 4], [0, 3, 6, 9])
    """
    if n_batches <= max_samples:
        return list(range(n_batches))
    return sorted({int(round(i)) for i in np.linspace(0, n_batches - 1, max_samples)})


def mean_over_batches(batches, values, n_batches, end_value):
    """Returns the mean over an epoch's batches of a penalty measured at some of them.

    Between measurements the penalty is interpolated linearly; after the last
    one it runs towards `end_value`, the penalty of the weights at the end
    of the epoch (what a batch after the last one would see). Measured
    before every batch, this is the plain mean.

    Args:
        batches: indices of the batches the penalty was measured before.
        values: the penalty measured before each of those batches.
        n_batches: the batches in the epoch.
        end_value: the penalty after the last batch.

    Returns:
        The mean penalty over batches `0 .. n_batches - 1`.

    Example:

    >>> mean_over_batches([0, 2], [4.0, 2.0], 4, 0.0)  # 4, 3, 2, 1
    2.5
    """
    if n_batches <= 0 or not len(batches):
        return float(end_value)
    xs = np.append(np.asarray(batches, dtype=np.float64), n_batches)
    ys = np.append(np.asarray(values, dtype=np.float64), end_value)
    return float(np.interp(np.arange(n_batches), xs, ys).mean())


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
