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
    if data.size == 0:
        return np.zeros((bucket_count, 3), dtype=np.float64)
    if data.dtype.kind != "f":
        data = data.astype(np.float64)
    low, high = data.min(), data.max()
    scale = bucket_scale(low, high, bucket_count)
    if scale is None:
        # A range so narrow (subnormal weights) or so wide that float32 cannot
        # hold its scale: float64 can.
        data = data.astype(np.float64)
        low, high = data.min(), data.max()
        scale = bucket_scale(low, high, bucket_count)
    # Computed in the data's own dtype (float32 for weights) so that no
    # float64 copy of every weight is made; the index is clamped, so rounding
    # can only move a value lying on an edge into the neighbouring bucket.
    # The same operations, in the same order and dtype, as on the device
    # (`device_statistics`), so both give the same counts.
    index = ((data - low) * scale).astype(np.int64)
    np.clip(index, 0, bucket_count - 1, out=index)
    return buckets_from_counts(float(low), float(high), np.bincount(index, minlength=bucket_count))


def bucket_scale(low, high, bucket_count):
    """Returns `bucket_count / (high - low)` in the dtype of `low` and `high`: the bucket index per unit.

    `None` when that dtype cannot hold it (a span that overflows, or a
    subnormal one whose scale does), and 0 when every value is the same.

    Example:

    >>> float(bucket_scale(np.float32(0.0), np.float32(2.0), 30))
    15.0
    """
    cast = np.asarray(low).dtype.type
    if low == high:
        return cast(0)
    with np.errstate(over="ignore", invalid="ignore"):
        span = cast(high) - cast(low)
        scale = cast(bucket_count) / span
    return scale if np.isfinite(span) and np.isfinite(scale) and scale > 0 else None


def buckets_from_counts(low, high, counts):
    """Returns TensorBoard's `[buckets, 3]` histogram for the counts of equal-width buckets over `[low, high]`.

    Args:
        low, high: the smallest and largest (finite) value counted.
        counts: the count of each bucket.

    Returns:
        A float64 array: left edge, right edge and count of each bucket. When
        `low == high` every edge is that value and the last bucket holds every
        count, as in TensorBoard; no counts give all zeros.

    Example:

    >>> buckets_from_counts(0.0, 2.0, [1, 3]).tolist()
    [[0.0, 1.0, 1.0], [1.0, 2.0, 3.0]]
    """
    counts = np.asarray(counts, dtype=np.float64)
    buckets = np.zeros((counts.size, 3), dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return buckets
    if low == high:
        buckets[:, :2] = high
        buckets[-1, 2] = total
        return buckets
    edges = np.linspace(low, high, counts.size + 1)
    edges[-1] = high
    buckets[:, 0] = edges[:-1]
    buckets[:, 1] = edges[1:]
    buckets[:, 2] = counts
    return buckets
