"""The tutorial's networks, built exactly."""

import numpy as np
import pytest

from l2board.writing.model_inspection import inspect_regularization
from l2board.training.models import CNN_LAYER_NAMES, documented_cnn, tutorial_mlp


def test_documented_cnn_is_the_tutorial_network():
    import keras

    model = documented_cnn()
    assert [layer.name for layer in model.layers] == list(CNN_LAYER_NAMES)
    conv1, pool1, conv2, pool2, flatten, fc1, output = model.layers
    assert (conv1.filters, conv1.kernel_size, conv1.strides, conv1.padding) == (32, (5, 5), (1, 1), "same")
    assert (conv2.filters, conv2.kernel_size, conv2.padding) == (64, (5, 5), "same")
    for pool in (pool1, pool2):
        assert (pool.pool_size, pool.strides, pool.padding) == ((2, 2), (2, 2), "same")
    assert conv1.activation.__name__ == conv2.activation.__name__ == fc1.activation.__name__ == "relu"
    assert (fc1.units, output.units, output.activation.__name__) == (1024, 100, "softmax")
    assert model.input_shape == (None, 32, 32, 3)
    assert model.count_params() == 4_351_524
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "sparse_categorical_crossentropy"
    # The tutorial's L2: 0.01 on conv1's kernel only, 2,400 weights.
    assert isinstance(conv1.kernel_regularizer, keras.regularizers.L2)
    assert conv1.kernel_regularizer.l2 == pytest.approx(0.01)
    assert all(layer.kernel_regularizer is None for layer in (conv2, fc1, output))
    setup = inspect_regularization(model)
    assert sum(v.size for v in setup.penalized_variables) == 2400
    assert setup.label == "L2 0.01 on conv1 (0.055% of weights)"


def test_l2_placement_options():
    everywhere = inspect_regularization(documented_cnn(l2=0.001, l2_layers="all"))
    assert [v.path for v in everywhere.penalized_variables] == [
        "conv1/kernel", "conv2/kernel", "fc1/kernel", "output/kernel"]
    assert everywhere.label.startswith("L2 0.001 on every layer")
    chosen = inspect_regularization(documented_cnn(l2_layers=["fc1", "output"]))
    assert [v.path for v in chosen.penalized_variables] == ["fc1/kernel", "output/kernel"]
    twin = documented_cnn(l2=0)
    assert twin.losses == []
    assert inspect_regularization(twin).label == "no regularization"


def test_input_shape_and_classes_follow_the_data():
    model = documented_cnn(input_shape=(28, 28, 1), num_classes=10)
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("kwargs, message", [
    ({"l2": -0.1}, "zero or positive"),
    ({"l2": float("nan")}, "zero or positive"),
    ({"l2_layers": ["conv3"]}, "Unknown layer name.*conv3.*conv1, conv2, fc1, output"),
])
def test_bad_arguments_are_one_sentence(kwargs, message):
    with pytest.raises(ValueError, match=message):
        documented_cnn(**kwargs)


def test_tutorial_mlp_regularizes_every_kernel_like_the_tf1_collection():
    import keras

    model = tutorial_mlp()
    assert [layer.units for layer in model.layers] == [10, 10, 10, 1]
    assert model.input_shape == (None, 2)
    assert [layer.activation.__name__ for layer in model.layers] == ["relu"] * 3 + ["linear"]
    assert model.loss == "mse"
    # TF1 summed l2 over a collection of every weight; Keras sums per kernel.
    kernels = [layer.kernel.numpy() for layer in model.layers]
    expected = sum(0.001 * float(np.square(k).sum()) for k in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-6)
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    history = model.fit(x, x.sum(axis=1, keepdims=True), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
