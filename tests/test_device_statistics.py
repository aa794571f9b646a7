"""Norms, histograms and penalties measured on the device equal the NumPy reference, on any backend.

Runs on the backend Keras is set to; tests/test_backends.py runs it on JAX
and PyTorch too.
"""

import keras
import numpy as np
import pytest

from l2board.errors import RegularizerError
from l2board.writing.device_statistics import HOST_AT_MOST, HOST_BUDGET, DeviceStatistics
from l2board.writing.histograms import histogram_buckets
from l2board.writing.weight_math import weight_norms


@pytest.fixture(params=[0, 8, HOST_AT_MOST], ids=["on-the-device", "mixed", "small-on-the-host"])
def host_at_most(request):
    """Every variable measured on the device; those of at most 8 values on the host; the default."""
    return request.param


def variables(*arrays, regularizer=None):
    made = [keras.Variable(np.asarray(a, np.float32), name=f"v{i}") for i, a in enumerate(arrays)]
    for variable in made:
        variable.regularizer = regularizer  # as Layer.add_weight sets it
    return made


def test_norms_and_histograms_equal_the_reference(host_at_most):
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(40, 30)), rng.normal(size=(7,)) * 1e-3, np.full((3, 3), 2.5)]
    weights = variables(*start)
    statistics = DeviceStatistics(weights, [], {}, host_at_most=host_at_most)
    statistics.start()
    now = [a + rng.normal(size=a.shape) for a in start[:2]] + [start[2]]
    for variable, value in zip(weights, now):
        variable.assign(value.astype(np.float32))
    penalties, samples, norms, histograms = statistics.measure(bucket_count=30)
    assert penalties.size == 0 and samples.size == 0
    for variable, value, first, measured, histogram in zip(weights, now, start, norms, histograms):
        value32, first32 = value.astype(np.float32), first.astype(np.float32)
        assert measured == pytest.approx(weight_norms(value32, first32), rel=1e-5, abs=1e-6)
        # The same float32 operations as the host's: the same buckets, exactly.
        np.testing.assert_array_equal(histogram, histogram_buckets(value32, 30))


def test_many_small_variables_go_to_the_host_within_its_budget_the_smallest_first():
    # As a ResNet's mid-sized kernels: not all of them are read to the host.
    rng = np.random.default_rng(0)
    sizes = [60_000 - k for k in range(20)] + [5]
    start = [rng.normal(size=size) for size in sizes]
    weights = variables(*start)
    statistics = DeviceStatistics(weights, [], {})
    statistics.start()
    on_host = [size for size in sizes if size in {weights[i].shape[0] for i in statistics._on_host}]
    assert sum(on_host) <= HOST_BUDGET < sum(sizes) and 5 in on_host and sizes[0] not in on_host
    _, _, norms, histograms = statistics.measure(bucket_count=30)
    for first, measured, histogram in zip(start, norms, histograms):
        value32 = first.astype(np.float32)
        assert measured == pytest.approx(weight_norms(value32, value32), rel=1e-5, abs=1e-6)
        np.testing.assert_array_equal(histogram, histogram_buckets(value32, 30))


def test_non_finite_empty_and_subnormal_variables(host_at_most):
    subnormal = np.array([0.0, 1e-44, 1e-44, 2e-44], np.float32)
    weights = variables([1.0, np.nan, -2.0, np.inf, 0.5], np.zeros((0,)), subnormal, [np.nan, np.nan])
    statistics = DeviceStatistics(weights, [], {}, host_at_most=host_at_most)
    statistics.start()
    _, _, norms, histograms = statistics.measure(bucket_count=4)
    for index in (0, 1, 3):
        expected = histogram_buckets(keras.ops.convert_to_numpy(weights[index].value), 4)
        np.testing.assert_array_equal(histograms[index], expected)
    assert norms[1] == {"l2": 0.0, "l1": 0.0, "max_abs": 0.0, "init_distance": 0.0}
    # A NaN or an infinity in a variable: every norm of it is NaN, as the NumPy definitions give it.
    for index in (0, 3):
        assert all(np.isnan(value) for value in norms[index].values()), norms[index]
    # Subnormal weights: a CPU or GPU that flushes them to zero sees one value;
    # either way every weight is counted, and the edges are what the device saw.
    assert histograms[2][:, 2].sum() == 4 and histograms[2][0, 0] == 0.0


def test_penalties_are_what_the_regularizers_return_and_samples_come_back_in_the_same_read(host_at_most):
    weights = variables([[1.0, -2.0], [-3.0, 4.0]], [0.5, 0.5], regularizer=keras.regularizers.L2(0.5))
    statistics = DeviceStatistics(weights, weights, {}, host_at_most=host_at_most)
    statistics.start()
    first = statistics.penalty()
    weights[0].assign(np.zeros((2, 2), np.float32))
    second = statistics.penalty()
    penalties, samples, _, histograms = statistics.measure([first, second])
    # The tutorial's arithmetic: l2(0.5) on [[1, -2], [-3, 4]] is 15.
    assert penalties.tolist() == pytest.approx([0.0, 0.25])
    assert samples.tolist() == pytest.approx([15.25, 0.25])
    assert histograms is None


def test_a_failing_regularizer_is_named():
    def broken(x):
        raise ValueError("no way")

    weights = variables([1.0, 2.0], regularizer=broken)
    statistics = DeviceStatistics(weights, weights, {id(weights[0]): "dense/kernel"})
    statistics.start()
    with pytest.raises(RegularizerError, match=r"The regularizer of dense/kernel \(function\) failed: no way"):
        statistics.measure()


def test_a_bucket_of_more_than_2_to_the_24_values_is_counted_exactly(host_at_most):
    # float32 holds every integer only up to 2**24: the counts must not travel as one float32.
    values = np.zeros(17_000_001, np.float32)
    values[-1] = 1.0
    weights = variables(values, [np.nan, 0.0, 1.0])
    statistics = DeviceStatistics(weights, [], {}, host_at_most=host_at_most)
    statistics.start()
    _, _, _, histograms = statistics.measure(bucket_count=30)
    assert histograms[0][:, 2].sum() == 17_000_001
    assert histograms[0][0, 2] == 17_000_000 and histograms[0][-1, 2] == 1
    np.testing.assert_array_equal(histograms[0], histogram_buckets(values, 30))
    np.testing.assert_array_equal(histograms[1], histogram_buckets(np.array([np.nan, 0.0, 1.0], np.float32), 30))


def test_a_regularizer_that_runs_only_eagerly_is_measured_eagerly():
    def by_numbers(x):  # reads the weights as NumPy numbers, as Keras allows with run_eagerly=True
        return float(np.sum(np.square(keras.ops.convert_to_numpy(x)))) * 0.5

    weights = variables([[1.0, -2.0], [-3.0, 4.0]], regularizer=by_numbers)
    statistics = DeviceStatistics(weights, weights, {})
    statistics.start()
    penalties, samples, _, _ = statistics.measure([statistics.penalty(), statistics.penalty()])
    assert penalties.tolist() == [15.0] and samples.tolist() == [15.0, 15.0]
