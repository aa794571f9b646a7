"""Histogram buckets in TensorBoard's format, computed with NumPy.

TensorBoard's own `tf.summary.histogram` builds a one-hot matrix of
`values x buckets` in float64 (770 MB for 3.2M weights and 30 buckets),
which is why `keras.callbacks.TensorBoard(histogram_freq=1)` is slow on
large layers. `np.bincount` over the bucket index gives the same counts
with memory linear in the number of weights.
"""

import numpy as np

DEFAULT_BUCKET_COUNT = 30


def histogram_buckets(values, bucket_count=DEFAULT_BUCKET_COUNT):
    """Groups values into equal-width buckets, as TensorBoard's histograms do.

    Args:
        values: array-like of any shape; it is flattened.
        bucket_count: the number of buckets, at least 1.

    Returns:
        A float64 array of shape `[bucket_count, 3]`: left edge, right edge
        and count of each bucket. Buckets span `[min, max]`; the maximum
        falls in the last bucket. When every value is the same, all buckets
        have that value as both edges and the last one holds the count, as
        in TensorBoard. Empty input gives all zeros. Non-finite values are
        left out of the buckets.

    Example:

    >>> histogram_buckets([0.0, 1.0, 1.0, 2.0], bucket_count=2).tolist()
    [[0.0, 1.0, 1.0], [1.0, 2.0, 3.0]]
    """
    if bucket_count < 1:
        raise ValueError(f"bucket_count must be at least 1, got {bucket_count}.")
    data = np.asarray(values).ravel()
    if not np.all(np.isfinite(data)):
        data = data[np.isfinite(data)]
    buckets = np.zeros((bucket_count, 3), dtype=np.float64)
    if data.size == 0:
        return buckets
    low = float(data.min())
    high = float(data.max())
    if low == high:
        buckets[:, 0] = high
        buckets[:, 1] = high
        buckets[-1, 2] = data.size
        return buckets
    if data.dtype.kind != "f":
        data = data.astype(np.float64)
    # Computed in the data's own dtype (float32 for weights) so that no
    # float64 copy of every weight is made; the index is clamped, so rounding
    # can only move a value lying on an edge into the neighbouring bucket.
    cast = data.dtype.type
    with np.errstate(over="ignore"):
        scale = cast(bucket_count / (high - low))
    if not np.isfinite(scale):
        # A range so narrow (subnormal weights) that its scale overflows the
        # data's dtype: float64 holds it.
        data, cast = data.astype(np.float64), np.float64
        scale = bucket_count / (high - low)
    index = ((data - cast(low)) * scale).astype(np.int64)
    np.clip(index, 0, bucket_count - 1, out=index)
    counts = np.bincount(index, minlength=bucket_count)
    edges = np.linspace(low, high, bucket_count + 1)
    edges[-1] = high
    buckets[:, 0] = edges[:-1]
    buckets[:, 1] = edges[1:]
    buckets[:, 2] = counts
    return buckets
