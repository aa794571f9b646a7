"""Activity penalties as Keras adds them: shared, reused and nested layers, odd regularizers, custom loops.

The models have no weight regularizer, so `loss - penalty` is exact on both
sides and must equal the data loss compiled as a metric. 100 samples at
batch 16 and 37 validation samples leave a smaller last batch, which Keras
weights by its size.
"""

import numpy as np
import pytest
from conftest import read_run

import keras
from keras import layers, ops, regularizers

from l2board import L2Monitor

# Run on every backend by tests/test_backends.py: JAX's stateless step keeps no recording.
pytestmark = pytest.mark.skipif(keras.backend.backend() == "jax",
                                reason="activity penalties are not measured on the JAX backend")


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def with_head(inputs, hidden):
    return keras.Model(inputs, layers.Dense(2, activation="softmax", name="head")(hidden))


def compile_with_reference(model, **kwargs):
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalCrossentropy(name="reference")], **kwargs)
    return model


def shared_layer():
    inputs = keras.Input((6,))
    dense = layers.Dense(6, activation="tanh", activity_regularizer=regularizers.L2(0.1), name="shared")
    return with_head(inputs, dense(dense(inputs)))


def reused_nested_model():
    # A model used as a layer, twice, with activity regularizers on a layer
    # inside it and on the inner model itself.
    inner = keras.Sequential([keras.Input((6,)), layers.Dense(
        6, activation="tanh", activity_regularizer=regularizers.L1(0.02), name="dense")], name="block")
    inner.activity_regularizer = regularizers.L2(0.05)
    inputs = keras.Input((6,))
    return with_head(inputs, inner(inner(inputs)))


class TwoOutputs(layers.Layer):
    """One layer, two outputs: Keras regularizes each of them."""

    def build(self, input_shape):
        self.dense = layers.Dense(6)
        self.dense.build(input_shape)

    def call(self, x):
        h = self.dense(x)
        return h, ops.relu(h)


def two_output_layer():
    inputs = keras.Input((6,))
    first, second = TwoOutputs(activity_regularizer=regularizers.L2(0.1), name="two")(inputs)
    return with_head(inputs, layers.Concatenate()([first, second]))


class VectorL2(regularizers.Regularizer):
    """Returns one penalty per unit; Keras sums it."""

    def __call__(self, x):
        return 0.1 * ops.sum(ops.square(x), axis=0)


def vector_activity():
    inputs = keras.Input((6,))
    return with_head(inputs, layers.Dense(6, activation="tanh", activity_regularizer=VectorL2(), name="d")(inputs))


def integer_function_activity():
    # A plain function, returning an integer tensor: Keras divides it by the
    # batch size as a float.
    inputs = keras.Input((6,))
    hidden = layers.Dense(6, activation="tanh", name="d",
                          activity_regularizer=lambda a: ops.cast(ops.sum(ops.square(a)) / 10, "int32"))(inputs)
    return with_head(inputs, hidden)


@pytest.mark.parametrize("build, steps_per_execution", [
    (shared_layer, 1), (reused_nested_model, 1), (two_output_layer, 3),
    (vector_activity, 1), (integer_function_activity, 1),
])
def test_activity_penalties_are_what_keras_adds(tmp_path, build, steps_per_execution):
    keras.utils.set_random_seed(0)
    if keras.backend.backend() == "torch":
        steps_per_execution = 1  # PyTorch's trainer takes no other
    model = compile_with_reference(build(), steps_per_execution=steps_per_execution)
    history = model.fit(*data(100), validation_data=data(37, seed=1), epochs=2, batch_size=16, verbose=0,
                        callbacks=[L2Monitor(str(tmp_path), verbose=0, histogram_freq=0)]).history
    train, validation = read_run(tmp_path / "train"), read_run(tmp_path / "validation")
    for epoch in range(2):
        assert train["epoch_data_loss"][epoch] == pytest.approx(history["reference"][epoch], rel=1e-5)
        assert validation["epoch_data_loss"][epoch] == pytest.approx(history["val_reference"][epoch], rel=1e-5)
        per_layer = sum(series[epoch] for tag, series in train.items() if tag.startswith("activity_penalty/"))
        assert per_layer == pytest.approx(history["loss"][epoch] - history["reference"][epoch], rel=1e-4)


def test_custom_loop_weighs_every_batch_alike(tmp_path):
    # A loop that calls the callbacks itself and never updates Keras's loss
    # tracker (as tests/test_distribution.py's multi-worker loop): its loss is
    # the mean of the batch losses, and so is the activity penalty.
    keras.utils.set_random_seed(0)
    model = compile_with_reference(shared_layer())  # a loss tracker that stays at 0
    x, y = data(100)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 100, 16)]
    callbacks = keras.callbacks.CallbackList([L2Monitor(str(tmp_path), verbose=0, histogram_freq=0)],
                                             model=model, epochs=1, steps=len(batches))
    losses, data_losses = [], []
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    for step, (bx, by) in enumerate(batches):
        callbacks.on_train_batch_begin(step)
        data_loss = float(ops.mean(keras.losses.sparse_categorical_crossentropy(by, model(bx, training=True))))
        losses.append(data_loss + float(ops.sum(model.losses)))
        data_losses.append(data_loss)
        callbacks.on_train_batch_end(step)
    callbacks.on_epoch_end(0, {"loss": float(np.mean(losses))})
    callbacks.on_train_end()
    assert read_run(tmp_path / "train")["epoch_data_loss"][0] == pytest.approx(np.mean(data_losses), rel=1e-5)
