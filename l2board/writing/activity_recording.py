"""Measures activity-regularization penalties while Keras trains.

An activity penalty depends on each batch's activations, so it cannot be
recomputed from the weights afterwards. `ActivityRecorder` gives each
activity regularizer a twin that returns the same value and also records
what Keras adds to the loss for it. Keras 3 (`Layer.__call__`) adds a term
for every call of a layer and every output of that call (a shared layer
called twice adds two), the regularizer's value divided by the batch size,
summed to a scalar (`Trainer._aggregate_additional_loss`). Per layer the
recorder sums those terms over a batch, and averages the sums over batches
weighted as Keras weights each batch's loss in `loss` and `val_loss`: by how
far the count of its loss tracker (the `Mean` that the public `model.metrics`
lists as "loss") moves, which is the batch size in `fit` and `evaluate`, and
1 for a custom `train_step` that updates it per batch. The originals come
back when the callback is done with the model.
"""

import copy
import functools

import keras
import numpy as np
from keras import ops

from l2board.writing.model_inspection import activity_regularized_layers, layer_path, loss_term


def added_loss(output, value):
    """Returns what Keras adds to the loss for one output of one layer call.

    Args:
        output: the tensor the activity regularizer was applied to.
        value: what the regularizer returned for it.

    Returns:
        A float32 scalar tensor: `value` divided by the batch size (the
        first dimension of `output`, unless it is a scalar), summed.

    Example:

    >>> import numpy as np
    >>> float(added_loss(np.ones((4, 3)), np.array([2.0, 6.0])))  # (2 + 6) / 4
    2.0
    """
    value = ops.convert_to_tensor(value)
    if len(output.shape) > 0:
        value = ops.divide_no_nan(value, ops.cast(ops.shape(output)[0], value.dtype))
    return loss_term(value)


def _recording_class(regularizer_class):
    # A subclass that keeps the original's name and module, so that a model
    # saved by a checkpoint during training serializes the same config.
    def __call__(self, x):
        value = regularizer_class.__call__(self, x)
        self._l2board_record(x, value)
        return value

    return type(
        regularizer_class.__name__,
        (regularizer_class,),
        {"__call__": __call__, "__module__": regularizer_class.__module__,
         "__qualname__": regularizer_class.__qualname__},
    )


def _twin(original, record):
    if isinstance(original, keras.regularizers.Regularizer):
        twin = copy.copy(original)
        twin.__class__ = _recording_class(type(original))
        twin._l2board_record = record
    else:
        # Keras also takes a plain function; its twin keeps its name and module.
        @functools.wraps(original)
        def twin(x):
            value = original(x)
            record(x, value)
            return value

    twin._l2board_original = original
    return twin


class _Tally(keras.metrics.Metric):
    """Per-layer sums over a batch, weighted by how far a clock moved during it.

    A Keras metric, so that under `tf.distribute` every replica keeps its own
    sums and reading them adds the replicas up, as for Keras's own loss.
    """

    def __init__(self, size):
        super().__init__(name="l2board_activity_penalties", dtype="float32")
        self.totals = self.add_variable((size,), "zeros", name="totals")  # sum of batch sum x weight
        self.weight = self.add_variable((), "zeros", name="weight")  # sum of the weights of ended batches
        self.pending = self.add_variable((size,), "zeros", name="pending")  # this batch's sums
        self.mark = self.add_variable((), "zeros", name="mark")  # the clock when this batch began
        self.open = self.add_variable((), "zeros", name="open")  # 1 once a batch is being summed
        self.size = size

    def update_state(self, index, value, clock):
        # Keras moves the clock after a batch's forward pass, so a moved clock
        # at the next call means the summed batch ended, weighing what it moved
        # (a clock set back mid-batch, a reset, drops that batch).
        clock = ops.cast(clock, "float32")
        moved = clock - self.mark
        ended = self.open * ops.cast(ops.not_equal(moved, 0.0), "float32")
        self.totals.assign_add(self.pending * ops.maximum(moved, 0.0) * ended)
        self.weight.assign_add(ops.maximum(moved, 0.0) * ended)
        self.pending.assign(self.pending * (1.0 - ended))
        self.mark.assign(clock)
        self.open.assign(1.0)
        self.pending.assign_add(ops.one_hot(index, self.size, dtype="float32") * value)

    def result(self, clock=0.0, steps=1):
        totals, weight, pending, mark, is_open = (
            np.asarray(v.numpy(), np.float64) for v in (self.totals, self.weight, self.pending, self.mark, self.open))
        moved = max(float(clock) - float(mark), 0.0) if is_open else 0.0
        totals, weight = totals + pending * moved, weight + moved
        if weight > 0:
            return totals / weight
        # The clock never moved (a custom loop that does not update Keras's
        # loss tracker): every step weighs the same.
        return pending / max(steps, 1)


class ActivityRecorder:
    """Records the activity penalty of every layer as Keras adds it to the loss.

    Args:
        model: the Keras model; its layers' activity regularizers are
            replaced by recording twins until `restore()`.

    Example:

    ```python
    recorder = ActivityRecorder(model)  # before fit traces the model
    model.fit(x, y)
    recorder.means()                    # {'fc1': 0.012, ...}
    recorder.restore()
    ```
    """

    def __init__(self, model):
        self._model = model
        self._tracker = None
        self._originals = []
        self._paths = []
        found = activity_regularized_layers(model)
        self._tally = _tally_for(model, len(found)) if found else None
        for index, layer in enumerate(found):
            # A twin left behind by a fit that raised (Keras then ends no
            # callback) gives way to the original it stands for.
            original = getattr(layer.activity_regularizer, "_l2board_original", layer.activity_regularizer)
            self._originals.append((layer, original))
            self._paths.append(layer_path(model, layer))
            layer.activity_regularizer = _twin(original, functools.partial(self._record, index))
        if self._originals:
            # Functions traced before the twins existed would not record.
            _forget_traced_functions(model)

    def __bool__(self):
        return bool(self._originals)

    @property
    def model(self):
        """The model whose activity regularizers are recorded."""
        return self._model

    def _record(self, index, output, value):
        # Keras applies the regularizer to tensors only; a symbolic build's
        # placeholders and a value Keras itself would refuse are not recorded.
        if ops.is_tensor(output) and ops.is_tensor(value):
            self._tally.update_state(index, added_loss(output, value), self._clock())

    def _clock(self):
        # What Keras weights each batch's loss by in `loss` and `val_loss`:
        # the count of the metric it logs as `loss` (a compiled model lists
        # its loss tracker first in `model.metrics`; a model that overrides
        # `metrics` names its own). 0 before `compile`, or without a count.
        if self._tracker is None:
            self._tracker = next((metric for metric in getattr(self._model, "metrics", ())
                                  if metric.name == "loss" and hasattr(metric, "count")), None)
        return self._tracker.count if self._tracker is not None else 0.0

    def reset(self):
        """Starts new sums."""
        if self._tally is not None:
            self._tally.reset_state()

    def means(self, steps=1):
        """Returns `{layer path: mean over batches of the layer's activity penalty}` since the last reset.

        Args:
            steps: the batches run since the last reset, used only when the
                model's loss tracker did not count them (a custom loop).
        """
        if self._tally is None:
            return {}
        strategy = getattr(self._model, "distribute_strategy", None)
        replicas = getattr(strategy, "num_replicas_in_sync", 1) or 1
        values = self._tally.result(float(np.asarray(self._clock())), steps * replicas)
        return dict(zip(self._paths, (float(v) for v in values)))

    def restore(self):
        """Puts the original activity regularizers back."""
        for layer, original in self._originals:
            layer.activity_regularizer = original
        if self._originals:
            _forget_traced_functions(self._model)
        self._originals = []


def records_activity():
    """Whether activity penalties can be recorded as the model runs on this backend.

    The recording twins add to a Keras metric from inside the train step:
    TensorFlow and PyTorch run it on the metric's own variables; JAX runs a
    stateless step whose state holds only the model's own, so there the
    additions would be lost. Sending each term to the host instead
    (`jax.debug.callback`) records them, but Keras's JAX trainer does not add
    what the other backends add: its `stateless_call` clears a shared
    layer's earlier activity losses at each call, so only the last call
    counts (measured: 0.1421 of the 0.2010 + 0.1421 that TensorFlow adds for
    a layer called twice), and matching it would mean copying Keras's
    private call-context rules.
    """
    return keras.backend.backend() != "jax"


def _tally_for(model, size):
    # Under a tf.distribute strategy the sums must be created in its scope,
    # so that every replica adds to them.
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None:
        return _Tally(size)
    with strategy.scope():
        return _Tally(size)


def _forget_traced_functions(model):
    for name in ("train_function", "test_function", "predict_function"):
        if getattr(model, name, None) is not None:
            setattr(model, name, None)
