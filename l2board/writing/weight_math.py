"""Norms and penalties of weight arrays on the host, in NumPy: the definitions of what L2Monitor logs.

L2Monitor computes the same norms and penalties where the weights live (see
`device_statistics`); these plain functions define them, combine
per-variable norms into model totals, and are what its tests check against.

A factor is not a factor everywhere, which is why the penalties have
explicit names:

* Keras `l2(factor)` adds `factor * sum(w**2)`.
* TF1's `tf.contrib.layers.l2_regularizer(scale)` added
  `scale * sum(w**2) / 2` (it is built on `tf.nn.l2_loss`, which halves).
* Keras `l1(factor)` and TF1's `l1_regularizer(scale)` agree:
  `factor * sum(|w|)`.
"""

import numpy as np

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
        largest = float(np.maximum(largest, absolute.max()))  # NaN propagates, as through the sums
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
