"""Histogram buckets agree with TensorBoard's own summary op."""

import numpy as np
import pytest

from l2board.writing.histograms import histogram_buckets


def test_matches_tensorboard_buckets():
    import tensorflow as tf
    from tensorboard.plugins.histogram import summary_v2

    data = np.random.default_rng(0).normal(size=10_000).astype(np.float32)
    ours = histogram_buckets(data, 30)
    theirs = summary_v2._buckets(tf.constant(data), 30).numpy()
    np.testing.assert_allclose(ours[:, :2], theirs[:, :2], rtol=1e-6, atol=1e-7)
    # Float32 index arithmetic may put a value lying on an edge into the
    # neighbouring bucket; totals are exact and buckets agree to a few counts.
    assert ours[:, 2].sum() == data.size
    assert np.abs(ours[:, 2] - theirs[:, 2]).max() <= 2


def test_small_known_values():
    assert histogram_buckets([0.0, 1.0, 1.0, 2.0], 2).tolist() == [[0.0, 1.0, 1.0], [1.0, 2.0, 3.0]]


def test_single_value_goes_to_last_bucket():
    buckets = histogram_buckets(np.full(5, 3.0), 3)
    assert buckets.tolist() == [[3.0, 3.0, 0.0], [3.0, 3.0, 0.0], [3.0, 3.0, 5.0]]


def test_empty_and_non_finite():
    assert histogram_buckets([], 4).tolist() == [[0.0, 0.0, 0.0]] * 4
    buckets = histogram_buckets([0.0, np.nan, 1.0, np.inf], 2)
    assert buckets[:, 2].sum() == 2


def test_rejects_no_buckets():
    with pytest.raises(ValueError, match="at least 1"):
        histogram_buckets([1.0], 0)


def test_a_range_too_narrow_for_float32_is_bucketed_without_warnings():
    import warnings

    values = np.array([0.0, 1e-44, 1e-44, 2e-44], dtype=np.float32)  # subnormal weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's cast warning printed on the GPU benchmark
        buckets = histogram_buckets(values, bucket_count=30)
    assert buckets[:, 2].sum() == 4 and buckets[0, 2] == 1 and buckets[-1, 2] == 1
