"""Penalties, norms and histograms of a model's weights, computed where the weights live.

On a GPU, copying every weight to the host each epoch and reducing it in
NumPy costs more than the reductions themselves (on an H100 with JAX:
34-58 ms to copy the documented CNN's 4.35M weights, 63-104 ms for their
norms in NumPy, 11-12 ms for the same norms on the device; see
docs/benchmarks.md). So L2Monitor computes everything on the device with
`keras.ops`, whatever the backend, packs it into one float32 vector and
reads that back once per measurement: one transfer.

On JAX every operation dispatched eagerly costs about as much as a small
kernel, so the functions are compiled once with `jax.jit`. On TensorFlow
each eager operation costs 0.05-1 ms of Python, more than the arithmetic of
most variables: one variable's statistics are a graph, traced once per
process for a flat variable of any length (a graph of the whole model's
would be traced anew for every model). The penalties, through the user's
regularizers, are a graph per model, as Keras traces its train step through
them, and eager for a model Keras runs eagerly. On PyTorch, whose eager
operations are cheap, everything runs eagerly.

A small variable (at most `HOST_AT_MOST` values: biases, a first
convolution's kernel) travels as it is, in the same vector, and the host
measures it by the NumPy definitions: its values cost less to read than
its statistics cost to compile (JAX compiles per shape, 0.15-0.3 s each
here, which was most of L2Monitor's fixed cost) or to run (TensorFlow's
per-call overhead); its starting values are copied to the host once.

Histogram counts are counted in int32 and travel in the same float32 vector
as two exact parts, `count // 4096` and `count % 4096`, joined again on the
host: exact for any bucket a variable can fill (below 2**31 values; a lone
float32 would stop at 2**24).
"""

import keras
import numpy as np
from keras import ops

from l2board.errors import RegularizerError
from l2board.writing.histograms import bucket_scale, buckets_from_counts, histogram_buckets
from l2board.writing.model_inspection import loss_term
from l2board.writing.weight_math import weight_norms

# Per variable, in this order, then the histogram counts of every variable.
_SQUARES, _ABSOLUTES, _LARGEST, _CHANGE, _LOW, _HIGH = range(6)
_PER_VARIABLE = 6
# The most values a variable may have to be read as it is and measured on the host (256 KB of float32),
# and the most values of all such variables together (4 MB; the smallest go first): a model of many
# mid-sized kernels (a ResNet's) keeps the rest on the device, and the read small.
HOST_AT_MOST = 1 << 16
HOST_BUDGET = 1 << 20


def _compiled(function, **options):
    if keras.backend.backend() != "jax":
        return function
    import jax

    return jax.jit(function, **options)


def _penalty_function(function):
    # The penalties run through the user's regularizers on every sampled
    # batch: compiled on JAX, a graph on TensorFlow (traced once per model, as
    # Keras traces its own train step through them), eager on PyTorch.
    # `DeviceStatistics._guarded` falls back to eager for a regularizer that
    # only runs eagerly.
    if keras.backend.backend() != "tensorflow":
        return _compiled(function)
    import tensorflow as tf

    return tf.function(function, autograph=False)


def _flat(value):
    return ops.reshape(ops.cast(value, "float32"), (-1,))


def _variable_statistics(value, initial, bucket_count):
    # Sums of squares and of magnitudes, largest magnitude, squared change
    # since the start, the range, and the histogram counts: a few passes over
    # the weights, with no masks. A non-finite weight (or a square beyond
    # float32) makes the sum of squares non-finite, and then the host
    # measures that variable itself (`_measured_by_numpy`):
    # the device's counts need only be right for finite weights.
    w = _flat(value)
    change = w - _flat(initial)
    low, high = ops.min(w), ops.max(w)
    row = ops.stack([ops.sum(ops.square(w)), ops.sum(ops.abs(w)), ops.maximum(high, -low),
                     ops.sum(ops.square(change)), low, high])
    if not bucket_count:
        return row, None
    # As `histogram_buckets` does, in float32: (w - low) * (buckets / span),
    # truncated and clamped. A span float32 cannot scale is redone on the host.
    span = ops.where(high > low, high - low, ops.ones_like(high))
    scale = ops.divide(ops.cast(bucket_count, "float32"), span)
    index = ops.clip(ops.cast((w - low) * scale, "int32"), 0, bucket_count - 1)
    return row, _bucket_counts(index, bucket_count)


def _regularizer_settings(variables):
    """Each variable's regularizer and its settings: what a traced penalty of them holds as constants.

    A user who sets another factor (`regularizer.l2 = ...`) and compiles
    again has Keras trace its step anew: the penalties are traced anew too.
    """
    settings = []
    for variable in variables:
        regularizer = variable.regularizer
        try:
            config = repr(regularizer.get_config())
        except Exception:  # noqa: BLE001 - a plain function, or a user's class without a config
            config = None
        settings.append((id(regularizer), config))
    return settings


# {bucket count: TensorFlow graph of `_variable_statistics`}, made once per process.
_GRAPHS = {}


def _one_variable(bucket_count):
    """`_variable_statistics` for a bucket count, as the backend runs it fastest (see the module's docstring).

    On TensorFlow a graph traced once per process for a flat float32
    variable of any length; elsewhere the function itself (compiled with the
    whole measurement on JAX).
    """
    if keras.backend.backend() != "tensorflow":
        return lambda value, initial: _variable_statistics(value, initial, bucket_count)
    if bucket_count not in _GRAPHS:
        import tensorflow as tf

        flat = tf.TensorSpec([None], tf.float32)
        _GRAPHS[bucket_count] = tf.function(lambda value, initial: _variable_statistics(value, initial, bucket_count),
                                            input_signature=[flat, flat], autograph=False)
    return _GRAPHS[bucket_count]


def _bucket_counts(index, bucket_count):
    # int32 counts of each bucket.
    if keras.backend.backend() == "jax":
        # Compiled: bincount's length would depend on the data; a segment sum's does not.
        counts = ops.segment_sum(ops.ones_like(index), index, num_segments=bucket_count)
    else:
        # Eager: a bincount is 6x faster than a segment sum on TensorFlow, 30x on PyTorch
        # (benchmarks/device_statistics.py; docs/benchmarks.md).
        counts = ops.bincount(index, minlength=bucket_count)
    return ops.cast(counts, "int32")


# Counts travel in float32 as `count // _SPLIT` and `count % _SPLIT`, each
# exact there (below 2**24) for any int32 count.
_SPLIT = 4096


def _packed_counts(counts):
    return [ops.cast(ops.floor_divide(counts, _SPLIT), "float32"), ops.cast(ops.mod(counts, _SPLIT), "float32")]


def _unpacked_counts(parts):
    high, low = np.split(parts, 2)
    return high * _SPLIT + low


def _host_copy(value):
    return np.asarray(ops.convert_to_numpy(value), np.float32)


def _measured_by_numpy(w, initial, bucket_count):
    # By the NumPy definitions (float32 weights): a NaN or an infinity
    # propagates through the norms; the histogram counts finite weights.
    with np.errstate(invalid="ignore", over="ignore"):
        norms = weight_norms(w, initial)
    return norms, histogram_buckets(w, bucket_count) if bucket_count else None


class DeviceStatistics:
    """Measures a model's weights and penalties on its device, read back in one transfer.

    Args:
        weights: the weight variables to measure (norms, histograms).
        penalized: the variables whose regularizer Keras adds to the loss.
        paths: `{id(variable): path}`, to name a regularizer that fails.
        traced: whether the penalties may be traced or compiled; `False`
            for a model Keras runs eagerly (`run_eagerly=True`), whose
            regularizers' factors may change from one batch to the next.
        host_at_most: the most values of a variable measured on the host
            (see the module's docstring), `HOST_BUDGET` values in all, the
            smallest variables first; 0 measures every one on the device.

    Call `start()` when training begins (it copies the weights, on the
    device, to measure the distance travelled from them), `penalty()` for
    the total weight penalty as a tensor (nothing is read), `measure()` for
    everything at once.
    """

    def __init__(self, weights, penalized, paths, traced=True, host_at_most=HOST_AT_MOST):
        self._weights = list(weights)
        self._penalized = list(penalized)
        self._regularizers = _regularizer_settings(self._penalized)
        self._paths = paths
        sizes = [int(np.prod(v.shape)) for v in self._weights]
        host, budget = set(), HOST_BUDGET
        for i in sorted((i for i, size in enumerate(sizes) if 0 < size <= host_at_most), key=sizes.__getitem__):
            if sizes[i] > budget:
                break
            host.add(i)
            budget -= sizes[i]
        self._on_device = [i for i, size in enumerate(sizes) if size and i not in host]
        self._on_host = sorted(host)
        self._host_values = sum(sizes[i] for i in self._on_host)
        self._initial = None
        self.traced = traced
        self._eager = {"per_variable": self._penalties_of, "total": lambda values: ops.sum(self._penalties_of(values))}
        self._penalty_functions = {name: _penalty_function(function) if traced else function
                                   for name, function in self._eager.items()}
        self._statistics = _compiled(self._statistics_of, static_argnames=("bucket_count",))

    def measures(self, weights, penalized, traced=True):
        """Whether these are the variables measured, under the same regularizers and as traced (so that a later
        `fit` reuses what was compiled: a traced penalty holds its regularizer's factor)."""
        same = lambda a, b: len(a) == len(b) and all(x is y for x, y in zip(a, b))  # noqa: E731
        return (same(self._weights, list(weights)) and same(self._penalized, list(penalized))
                and self._regularizers == _regularizer_settings(penalized) and self.traced == traced)

    def start(self):
        """Keeps a copy of the weights as they are now to measure change from (on the device; small ones on the host,
        read at once)."""
        self._initial = [None if i in self._on_host else ops.copy(v.value) for i, v in enumerate(self._weights)]
        if self._on_host:
            read = _host_copy(ops.concatenate([_flat(self._weights[i].value) for i in self._on_host]))
            ends = np.cumsum([int(np.prod(self._weights[i].shape)) for i in self._on_host])
            for i, values in zip(self._on_host, np.split(read, ends[:-1])):
                self._initial[i] = values

    def penalty(self):
        """Returns the total weight penalty as a scalar tensor: reading it is left to `measure`."""
        if not self._penalized:
            return ops.zeros(())
        return self._guarded("total", [v.value for v in self._penalized])

    def measure(self, samples=(), bucket_count=0):
        """Measures the weights now, in one transfer to the host.

        Args:
            samples: penalty tensors from `penalty()`, read in the same transfer.
            bucket_count: histogram buckets, or 0 for no histograms.

        Returns:
            `(penalties, samples, norms, histograms)`: the per-variable
            penalties and the samples as float64 arrays, a norms dict per
            weight variable (`l2`, `l1`, `max_abs`, `init_distance`) and a
            `[bucket_count, 3]` histogram per weight variable (or `None`).
        """
        parts = [self._guarded("per_variable", [v.value for v in self._penalized])] if self._penalized else []
        device, host = self._on_device, self._on_host
        if device or host:
            parts.append(self._statistics([self._weights[i].value for i in device], [self._initial[i] for i in device],
                                          [self._weights[i].value for i in host], bucket_count=bucket_count))
        if samples:
            parts.append(ops.stack(list(samples)))
        vector = np.asarray(ops.convert_to_numpy(ops.concatenate([ops.reshape(p, (-1,)) for p in parts])), np.float64) \
            if parts else np.zeros(0)
        sizes = [len(self._penalized), _PER_VARIABLE * len(device), 2 * bucket_count * len(device), self._host_values]
        penalties, rows, counts, read, sampled = np.split(vector, np.cumsum(sizes))
        rows = rows.reshape(len(device), _PER_VARIABLE)
        counts = _unpacked_counts(counts).reshape(len(device), bucket_count)
        norms = [{"l2": 0.0, "l1": 0.0, "max_abs": 0.0, "init_distance": 0.0} for _ in self._weights]
        histograms = [np.zeros((bucket_count, 3)) for _ in self._weights] if bucket_count else None
        for row, i in enumerate(device):
            values = rows[row]
            if not np.isfinite(values[_SQUARES]):
                norms[i], histogram = _measured_by_numpy(_host_copy(self._weights[i].value),
                                                         _host_copy(self._initial[i]), bucket_count)
            else:
                norms[i] = {"l2": float(np.sqrt(values[_SQUARES])), "l1": float(values[_ABSOLUTES]),
                            "max_abs": float(values[_LARGEST]), "init_distance": float(np.sqrt(values[_CHANGE]))}
                histogram = self._histogram(i, values[_LOW], values[_HIGH], counts[row], bucket_count) \
                    if bucket_count else None
            if bucket_count:
                histograms[i] = histogram
        start = 0
        for i in host:
            initial = self._initial[i]
            norms[i], histogram = _measured_by_numpy(read[start:start + initial.size].astype(np.float32),
                                                     initial, bucket_count)
            start += initial.size
            if bucket_count:
                histograms[i] = histogram
        return penalties, sampled, norms, histograms

    def _histogram(self, index, low, high, counts, bucket_count):
        if counts.sum() and bucket_scale(np.float32(low), np.float32(high), bucket_count) is None:
            # A span float32 cannot scale: the host's float64 can (rare enough
            # to afford the copy).
            return histogram_buckets(ops.convert_to_numpy(self._weights[index].value), bucket_count)
        return buckets_from_counts(float(low), float(high), counts)

    def _penalties_of(self, values):
        # What Keras adds to the loss for each variable, with the values given
        # (the model's own, or the tracers of a compiled function).
        with keras.StatelessScope(state_mapping=list(zip(self._penalized, values))):
            return ops.stack([loss_term(v.regularizer(v)) for v in self._penalized])

    def _statistics_of(self, values, initial, small, bucket_count):
        # The statistics of `values` (from `initial`), then the values of `small` as they are.
        rows, counts = [], []
        measure = _one_variable(bucket_count)
        for value, start in zip(values, initial):
            row, histogram = measure(_flat(value), _flat(start))
            rows.append(row)
            counts.extend([histogram] if histogram is not None else [])
        parts = [ops.reshape(ops.stack(rows), (-1,))] if rows else []
        # Every variable's counts, then packed at once: the high parts, then the low.
        parts += _packed_counts(ops.concatenate(counts)) if counts else []
        return ops.concatenate(parts + [_flat(value) for value in small])

    def _guarded(self, name, values):
        function = self._penalty_functions[name]
        try:
            return function(values)
        except Exception as error:  # noqa: BLE001 - a user's regularizer may raise anything
            culprit = self._culprit()
            if culprit is not None:
                path, regularizer, reason = culprit
                raise RegularizerError(f"The regularizer of {path} ({type(regularizer).__name__}) failed: {reason}; "
                                       "Keras would fail on it too.") from error
            if function is self._eager[name]:
                raise
        # Every regularizer runs eagerly but one cannot be traced (it reads a
        # value as a number, say, as Keras's run_eagerly allows): eager from now on.
        self._penalty_functions = dict(self._eager)
        return self._eager[name](values)

    def _culprit(self):
        # Which regularizer failed: each is tried alone, eagerly.
        for variable in self._penalized:
            try:
                loss_term(variable.regularizer(variable))
            except Exception as error:  # noqa: BLE001
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                return self._paths.get(id(variable), variable.path), variable.regularizer, reason
        return None
