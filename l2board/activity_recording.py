"""Measures activity-regularization penalties while Keras trains.

An activity penalty depends on each batch's activations, so it cannot be
recomputed from the weights afterwards. During `fit`, `ActivityRecorder`
gives each activity regularizer a twin that returns the same value and also
adds it to a running mean, weighted by batch size exactly as Keras weights
the batch losses in `loss` and `val_loss`. The originals come back when
training ends.
"""

import copy

import keras
from keras import ops

from l2board.model_inspection import activity_regularized_layers, layer_path


def _recording_class(regularizer_class):
    # A subclass that keeps the original's name and module, so that a model
    # saved by a checkpoint during training serializes the same config.
    def __call__(self, x):
        value = regularizer_class.__call__(self, x)
        if not keras.backend.is_keras_tensor(x):
            value32 = ops.cast(value, "float32")
            if len(x.shape) > 0:
                # Keras divides the layer's penalty by the batch size before
                # adding it to the loss; the running mean is weighted by
                # batch size like the loss tracker.
                batch = ops.cast(ops.shape(x)[0], "float32")
                self._l2board_mean.update_state(ops.divide_no_nan(value32, batch), sample_weight=batch)
            else:
                self._l2board_mean.update_state(value32)
        return value

    return type(
        regularizer_class.__name__,
        (regularizer_class,),
        {"__call__": __call__, "__module__": regularizer_class.__module__,
         "__qualname__": regularizer_class.__qualname__},
    )


class ActivityRecorder:
    """Records the mean activity penalty of every layer during training.

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
        self._originals = []
        self._means = {}
        for layer in activity_regularized_layers(model):
            original = layer.activity_regularizer
            twin = copy.copy(original)
            twin.__class__ = _recording_class(type(original))
            twin._l2board_mean = _mean_for(model, f"activity_penalty_{len(self._means)}")
            self._originals.append((layer, original))
            self._means[layer_path(model, layer)] = twin._l2board_mean
            layer.activity_regularizer = twin
        if self._originals:
            # Functions traced before the twins existed would not record.
            _forget_traced_functions(model)

    def __bool__(self):
        return bool(self._originals)

    def reset(self):
        """Starts new running means."""
        for mean in self._means.values():
            mean.reset_state()

    def means(self):
        """Returns `{layer path: mean activity penalty}` since the last reset."""
        return {path: float(mean.result()) for path, mean in self._means.items()}

    def restore(self):
        """Puts the original activity regularizers back."""
        for layer, original in self._originals:
            layer.activity_regularizer = original
        if self._originals:
            _forget_traced_functions(self._model)
        self._originals = []


def _mean_for(model, name):
    # Under a tf.distribute strategy the running mean must be created in its
    # scope, so that every replica adds to it.
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None:
        return keras.metrics.Mean(name=name)
    with strategy.scope():
        return keras.metrics.Mean(name=name)


def _forget_traced_functions(model):
    for name in ("train_function", "test_function", "predict_function"):
        if getattr(model, name, None) is not None:
            setattr(model, name, None)
