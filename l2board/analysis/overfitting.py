"""Overfitting measures as plain functions of metric curves.

Every number `l2board compare` and the dashboard show about overfitting is
computed here, from NumPy arrays, once.
"""

import math

import numpy as np


def generalization_gap(train, validation):
    """Returns the generalization gap `train - validation`, elementwise.

    For accuracy this is how much better the model does on data it trained
    on; for a loss, pass `(validation, train)` to keep the gap positive.

    Example:

    >>> generalization_gap([0.9, 1.0], [0.7, 0.6]).round(6).tolist()
    [0.2, 0.4]
    """
    return np.asarray(train, dtype=np.float64) - np.asarray(validation, dtype=np.float64)


def best_index(values, higher_is_better=True):
    """Returns the index of the best value (the first one on ties); NaN never wins.

    Example:

    >>> best_index([0.5, 0.8, 0.8, 0.7]), best_index([3.0, 1.0, 2.0], higher_is_better=False)
    (1, 1)
    """
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.any():
        return None
    masked = np.where(finite, array, -np.inf if higher_is_better else np.inf)
    return int(np.argmax(masked) if higher_is_better else np.argmin(masked))


def overfitting_onset(validation_losses):
    """Returns the index of the minimum validation loss: where overfitting begins.

    Example:

    >>> overfitting_onset([1.0, 0.7, 0.6, 0.8, 0.9])
    2
    """
    return best_index(validation_losses, higher_is_better=False)


def generalization_loss(validation_losses, at=-1):
    """Returns Prechelt's generalization loss GL = 100 * (E_va / E_opt - 1).

    `E_opt` is the lowest validation loss up to and including position
    `at`, `E_va` the validation loss there (Prechelt, "Early Stopping - But
    When?", 1998). 0 means no rise above the best so far.

    Args:
        validation_losses: the validation loss per epoch.
        at: the position to evaluate (default: the last epoch).

    Returns:
        GL in percent, or NaN when it is undefined (no finite loss, or a
        best loss of 0 or below).

    Example:

    >>> generalization_loss([1.0, 0.5, 0.75])
    50.0
    """
    array = np.asarray(validation_losses, dtype=np.float64)
    if array.size == 0:
        return math.nan
    position = at % array.size
    upto = array[:position + 1]
    finite = upto[np.isfinite(upto)]
    if finite.size == 0 or not np.isfinite(array[position]) or finite.min() <= 0:
        return math.nan
    return float(100.0 * (array[position] / finite.min() - 1.0))


def early_stopping_epoch(validation_losses, patience=5, min_delta=0.0, epochs=None):
    """Returns the epoch at which `keras.callbacks.EarlyStopping` would stop.

    Replays `EarlyStopping(monitor="val_loss", patience=patience,
    min_delta=min_delta)` over logged values: a value improves when it is
    below the best so far by more than `min_delta`; training stops at the
    epoch where `patience` epochs have passed without improvement.

    Args:
        validation_losses: the monitored value per logged epoch.
        patience: epochs without improvement before stopping.
        min_delta: smallest decrease that counts as an improvement.
        epochs: the epoch numbers of the values (default: 0, 1, 2, ...).

    Returns:
        The epoch number at which training would have stopped, or `None` if
        it would have run to the end.

    Example:

    >>> early_stopping_epoch([1.0, 0.8, 0.9, 0.95, 0.85], patience=2)
    3
    """
    values = np.asarray(validation_losses, dtype=np.float64)
    epochs = np.arange(values.size) if epochs is None else np.asarray(epochs)
    best = None
    wait = 0
    min_delta = abs(min_delta)
    for epoch, value in zip(epochs, values):
        if not np.isfinite(value):
            # Keras compares NaN as no improvement.
            wait += 1
        else:
            wait += 1
            if best is None or value + min_delta < best:
                best = value
                wait = 0
                continue
        if wait >= patience and epoch > 0:
            return int(epoch)
    return None


def mean_and_std(values):
    """Returns the mean and the sample standard deviation (ddof 1) of finite values.

    Returns:
        `(mean, std)`; `std` is `None` for fewer than two values, and both
        are `None` when there is no finite value.

    Example:

    >>> mean_and_std([1.0, 2.0, 3.0])
    (2.0, 1.0)
    >>> mean_and_std([4.0])
    (4.0, None)
    """
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return None, None
    mean = float(array.mean())
    return mean, (float(array.std(ddof=1)) if array.size > 1 else None)
