"""When to measure a penalty that changes during an epoch, and its mean over the epoch's batches."""

import numpy as np


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
