"""`l2board.TensorBoard`: Keras's TensorBoard callback and L2Monitor's data in one folder, one run per model."""

import keras
import pytest
from conftest import read_events
from keras import layers, regularizers
from test_callback import compile_with_reference, small_data

import l2board
from l2board import L2MonitorWarning
from l2board.reading.logs import read_runs


def model(seed):
    keras.utils.set_random_seed(seed)
    return compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.1))]))


def fit(net, callback, epochs=2):
    x, y = small_data()
    return net.fit(x, y, validation_data=small_data(32, seed=1), epochs=epochs, batch_size=16, verbose=0,
                   callbacks=[callback])


def points(folder, tag):
    return [step for _, step, logged, _ in read_events(folder) if logged == tag]


def test_it_writes_what_keras_writes_and_what_l2monitor_adds_in_one_run(tmp_path):
    callback = l2board.TensorBoard(str(tmp_path / "run"))
    history = fit(model(0), callback)
    train, validation = tmp_path / "run" / "train", tmp_path / "run" / "validation"
    for tag in ("epoch_loss", "epoch_accuracy", "epoch_learning_rate", "epoch_data_loss", "epoch_penalty"):
        assert points(train, tag) == [0, 1], tag  # once each: Keras's metrics, L2Monitor's data
    assert points(train, "keras") == [0]  # Keras's model summary (write_graph)
    assert points(validation, "epoch_loss") == points(validation, "epoch_data_loss") == [0, 1]
    (run,) = read_runs([tmp_path / "run"])
    assert run.scalar("validation", "epoch_loss").values.tolist() == pytest.approx(history.history["val_loss"])


def test_a_second_model_goes_to_a_sibling_with_its_keras_part(tmp_path):
    callback = l2board.TensorBoard(str(tmp_path / "run"))
    fit(model(0), callback)
    with pytest.warns(L2MonitorWarning, match="this fit of a new model writes to"):
        fit(model(1), callback, epochs=3)
    for folder, epochs in (("run", [0, 1]), ("run-2", [0, 1, 2])):
        assert points(tmp_path / folder / "train", "epoch_loss") == epochs
        assert points(tmp_path / folder / "train", "epoch_data_loss") == epochs
    assert callback.log_dir == str(tmp_path / "run")
