"""Penalties, norms and histograms of a model's weights, computed where the weights live.

On a GPU, copying every weight to the host each epoch and reducing it in
NumPy costs more than the reductions themselves (on an H100 with JAX:
34-58 ms to copy the documented CNN's 4.35M weights, 63-104 ms for their
norms in NumPy, 11-12 ms for the same norms on the device; see
docs/benchmarks.md). So L2Monitor computes everything on the device with
`keras.ops`, whatever the backend, packs it into one float32 vector and
reads that back once per measurement: one transfer.

On JAX every operation dispatched eagerly costs about as much as a small
kernel, so the functions are compiled once with `jax.jit`; on TensorFlow and
PyTorch they run eagerly (a `tf.function` per monitor would be traced anew
for every model, which costs more than the few operations it saves).

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

# Per variable, in this order, then the histogram counts of every variable.
_SQUARES, _ABSOLUTES, _LARGEST, _CHANGE, _LOW, _HIGH = range(6)
_PER_VARIABLE = 6


def _compiled(function, **options):
    if keras.backend.backend() != "jax":
        return function
    import jax

    return jax.jit(function, **options)


def _variable_statistics(value, initial, bucket_count):
    # Sums of squares and of magnitudes, largest magnitude, squared change
    # since the start, and the finite range with the histogram counts.
    w = ops.reshape(ops.cast(value, "float32"), (-1,))
    w0 = ops.reshape(ops.cast(initial, "float32"), (-1,))
    magnitude = ops.abs(w)
    change = w - w0
    sums = [ops.sum(w * w), ops.sum(magnitude), ops.max(magnitude), ops.sum(change * change)]
    if not bucket_count:
        zero = ops.zeros((), "float32")
        return ops.stack(sums + [zero, zero]), None
    finite = ops.isfinite(w)
    low = ops.min(ops.where(finite, w, np.inf))
    high = ops.max(ops.where(finite, w, -np.inf))
    row = ops.stack(sums + [low, high])
    # As `histogram_buckets` does, in float32: (w - low) * (buckets / span),
    # truncated and clamped. A span float32 cannot scale is redone on the host.
    span = ops.where(high > low, high - low, ops.ones_like(high))
    scale = ops.divide(ops.cast(bucket_count, "float32"), span)
    index = ops.cast(ops.where(finite, (w - low) * scale, 0.0), "int32")
    index = ops.clip(index, 0, bucket_count - 1)
    # Non-finite values go to an extra bucket, dropped once counted.
    index = ops.where(finite, index, bucket_count)
    return row, _bucket_counts(index, bucket_count)


def _bucket_counts(index, bucket_count):
    # int32 counts of each bucket (the extra one for non-finite values left out).
    if keras.backend.backend() == "jax":
        # Compiled: bincount's length would depend on the data; a segment sum's does not.
        counts = ops.segment_sum(ops.ones_like(index), index, num_segments=bucket_count + 1)
    else:
        # Eager: a bincount is 6x faster than a segment sum on TensorFlow, 30x on PyTorch
        # (benchmarks/device_statistics.py; docs/benchmarks.md).
        counts = ops.bincount(index, minlength=bucket_count + 1)
    return ops.cast(counts[:bucket_count], "int32")


# Counts travel in float32 as `count // _SPLIT` and `count % _SPLIT`, each
# exact there (below 2**24) for any int32 count.
_SPLIT = 4096


def _packed_counts(counts):
    return [ops.cast(ops.floor_divide(counts, _SPLIT), "float32"), ops.cast(ops.mod(counts, _SPLIT), "float32")]


def _unpacked_counts(parts):
    high, low = np.split(parts, 2)
    return high * _SPLIT + low


class DeviceStatistics:
    """Measures a model's weights and penalties on its device, read back in one transfer.

    Args:
        weights: the weight variables to measure (norms, histograms).
        penalized: the variables whose regularizer Keras adds to the loss.
        paths: `{id(variable): path}`, to name a regularizer that fails.

    Call `start()` when training begins (it copies the weights, on the
    device, to measure the distance travelled from them), `penalty()` for
    the total weight penalty as a tensor (nothing is read), `measure()` for
    everything at once.
    """

    def __init__(self, weights, penalized, paths):
        self._weights = list(weights)
        self._penalized = list(penalized)
        self._paths = paths
        self._initial = None
        self._per_variable = _compiled(self._penalties_of)
        self._total = _compiled(lambda values: ops.sum(self._penalties_of(values)))
        self._statistics = _compiled(self._statistics_of, static_argnames=("bucket_count",))

    def measures(self, weights, penalized):
        """Whether these are the variables measured (so that a later `fit` reuses what was compiled)."""
        same = lambda a, b: len(a) == len(b) and all(x is y for x, y in zip(a, b))  # noqa: E731
        return same(self._weights, list(weights)) and same(self._penalized, list(penalized))

    def start(self):
        """Keeps a copy of the weights as they are now (on the device) to measure change from."""
        self._initial = [ops.copy(v.value) for v in self._weights]

    def penalty(self):
        """Returns the total weight penalty as a scalar tensor: reading it is left to `measure`."""
        if not self._penalized:
            return ops.zeros(())
        return self._guarded(self._total, [v.value for v in self._penalized])

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
        parts = [self._guarded(self._per_variable, [v.value for v in self._penalized])] if self._penalized else []
        measured = [i for i, v in enumerate(self._weights) if int(np.prod(v.shape))]
        if measured:
            parts.append(self._statistics([self._weights[i].value for i in measured],
                                          [self._initial[i] for i in measured], bucket_count=bucket_count))
        if samples:
            parts.append(ops.stack(list(samples)))
        vector = np.asarray(ops.convert_to_numpy(ops.concatenate([ops.reshape(p, (-1,)) for p in parts])), np.float64) \
            if parts else np.zeros(0)
        sizes = [len(self._penalized), _PER_VARIABLE * len(measured), 2 * bucket_count * len(measured)]
        penalties, rows, counts, sampled = np.split(vector, np.cumsum(sizes))
        rows = rows.reshape(len(measured), _PER_VARIABLE)
        counts = _unpacked_counts(counts).reshape(len(measured), bucket_count)
        norms = [{"l2": 0.0, "l1": 0.0, "max_abs": 0.0, "init_distance": 0.0} for _ in self._weights]
        histograms = [np.zeros((bucket_count, 3)) for _ in self._weights] if bucket_count else None
        for row, i in enumerate(measured):
            values = rows[row]
            norms[i] = {"l2": float(np.sqrt(values[_SQUARES])), "l1": float(values[_ABSOLUTES]),
                        "max_abs": float(values[_LARGEST]), "init_distance": float(np.sqrt(values[_CHANGE]))}
            if bucket_count:
                histograms[i] = self._histogram(i, values[_LOW], values[_HIGH], counts[row], bucket_count)
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

    def _statistics_of(self, values, initial, bucket_count):
        rows, counts = [], []
        for value, start in zip(values, initial):
            row, histogram = _variable_statistics(value, start, bucket_count)
            rows.append(row)
            counts.extend([histogram] if histogram is not None else [])
        # Every variable's counts, then packed at once: the high parts, then the low.
        packed = _packed_counts(ops.concatenate(counts)) if counts else []
        return ops.concatenate([ops.reshape(ops.stack(rows), (-1,))] + packed)

    def _guarded(self, function, values):
        try:
            return function(values)
        except Exception as error:  # noqa: BLE001 - a user's regularizer may raise anything
            culprit = self._culprit()
            if culprit is None:
                raise
            path, regularizer, reason = culprit
            raise RegularizerError(f"The regularizer of {path} ({type(regularizer).__name__}) failed: {reason}; "
                                   "Keras would fail on it too.") from error

    def _culprit(self):
        # Which regularizer failed: each is tried alone, eagerly.
        for variable in self._penalized:
            try:
                loss_term(variable.regularizer(variable))
            except Exception as error:  # noqa: BLE001
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                return self._paths.get(id(variable), variable.path), variable.regularizer, reason
        return None
