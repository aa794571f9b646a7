"""L2Monitor during real fits: event files written, read back, checked tag by tag."""

import os
import re
import warnings

import numpy as np
import pytest
from conftest import read_events, read_run

import keras
from keras import layers, regularizers

from l2board import L2Monitor, L2MonitorWarning
from l2board.errors import UnwritableLogDirError
from l2board.writing.model_inspection import penalized_weights, relative_path

# Run on every backend by tests/test_backends.py; activity penalties are not measured on JAX.
tensorflow_only = pytest.mark.skipif(keras.backend.backend() == "jax",
                                     reason="activity penalties are not measured on the JAX backend")


def small_data(n=96, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, np.minimum(y, classes - 1)


def compile_with_reference(model, optimizer="adam"):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="reference")])
    return model


def fit(model, log_dir, epochs=2, validation=True, monitor=None, **kwargs):
    x, y = small_data()
    monitor = monitor or L2Monitor(str(log_dir), verbose=0)
    return model.fit(x, y, validation_data=small_data(32, seed=1) if validation else None,
                     epochs=epochs, batch_size=16, verbose=0, callbacks=[monitor], **kwargs)


# -- the documented CNN ------------------------------------------------------

def test_cnn_penalty_per_variable_equals_what_keras_adds(cnn_run):
    model, train = cnn_run["model"], cnn_run["train"]
    last = max(train["penalty_total"])
    for variable in penalized_weights(model):
        tag = "penalty/" + relative_path(model, variable.path)
        assert train[tag][last] == pytest.approx(float(variable.regularizer(variable)), rel=1e-6)
    assert train["penalty_total"][last] == pytest.approx(float(sum(model.losses)), rel=1e-6)


def test_cnn_training_data_loss_matches_metric_reference(cnn_run):
    train, history = cnn_run["train"], cnn_run["history"]
    for epoch, reference in enumerate(history["reference"]):
        assert train["epoch_data_loss"][epoch] == pytest.approx(reference, rel=1e-3)
        # The split adds up to what Keras reports.
        assert train["epoch_data_loss"][epoch] + train["epoch_penalty"][epoch] == pytest.approx(
            history["loss"][epoch], rel=1e-6)
        assert train["epoch_penalty_share"][epoch] == pytest.approx(
            train["epoch_penalty"][epoch] / history["loss"][epoch], rel=1e-6)
    # The penalty is a large, quickly changing part of this loss.
    assert train["epoch_penalty_share"][0] > 0.3


def test_cnn_validation_data_loss_is_exact(cnn_run):
    validation, train, history = cnn_run["validation"], cnn_run["train"], cnn_run["history"]
    for epoch, reference in enumerate(history["val_reference"]):
        assert validation["epoch_data_loss"][epoch] == pytest.approx(reference, rel=1e-5)
        assert validation["epoch_penalty"][epoch] == train["penalty_total"][epoch]


def test_cnn_standard_metrics_match_keras_layout(cnn_run):
    train, validation, history = cnn_run["train"], cnn_run["validation"], cnn_run["history"]
    for name in ("loss", "accuracy", "reference"):
        assert [train[f"epoch_{name}"][e] for e in range(2)] == pytest.approx(history[name])
        assert [validation[f"epoch_{name}"][e] for e in range(2)] == pytest.approx(history[f"val_{name}"])
    assert train["epoch_learning_rate"][0] == pytest.approx(0.001)


def test_cnn_norms_and_histograms(cnn_run):
    model, train = cnn_run["model"], cnn_run["train"]
    kernel = model.get_layer("fc1").kernel.numpy().astype(np.float64)
    assert train["weight_norm/l2/fc1/kernel"][1] == pytest.approx(np.linalg.norm(kernel), rel=1e-6)
    assert train["weight_norm/l1/fc1/kernel"][1] == pytest.approx(np.abs(kernel).sum(), rel=1e-6)
    assert train["weight_norm/max_abs/fc1/kernel"][1] == pytest.approx(np.abs(kernel).max(), rel=1e-6)
    assert train["weight_norm/init_distance/fc1/kernel"][1] > train["weight_norm/init_distance/fc1/kernel"][0] > 0
    all_weights = np.concatenate([w.numpy().ravel() for w in model.trainable_weights]).astype(np.float64)
    assert train["weight_norm_total/l2"][1] == pytest.approx(np.linalg.norm(all_weights), rel=1e-6)
    for variable in model.weights:
        histogram = train["weight_histogram/" + relative_path(model, variable.path)][1]
        assert histogram.shape == (30, 3)
        assert histogram[:, 2].sum() == np.prod(variable.shape)


def test_cnn_setup_text_and_hparams(cnn_run):
    import json

    setup = json.loads(cnn_run["train"]["l2board/setup_json"][0])
    assert setup["label"] == "L2 0.01 on every layer (99.97% of weights)"
    assert [v["path"] for v in setup["variables"] if v["regularizer"]] == [
        "conv1/kernel", "conv2/kernel", "fc1/kernel", "output/kernel"]
    assert "| conv1/kernel | 2,400 | L2 |" in cnn_run["train"]["l2board/setup"][0]
    assert "_hparams_/session_start_info" in cnn_run["root"]


def test_tutorial_cnn_warns_about_low_coverage(tmp_path):
    from l2board.training.models import documented_cnn

    keras.utils.set_random_seed(0)
    model = documented_cnn(input_shape=(8, 8, 3), num_classes=3)
    x = np.random.default_rng(0).random((32, 8, 8, 3), dtype=np.float32)
    with pytest.warns(L2MonitorWarning, match=r"L2 0.01 on conv1 \(0.\d+% of weights\): regularization that covers under 1%"):
        model.fit(x, np.arange(32) % 3, epochs=1, verbose=0, callbacks=[L2Monitor(str(tmp_path), verbose=0)])
    assert "under 1%" in read_run(tmp_path / "train")["l2board/warnings"][0]


# -- model shapes ------------------------------------------------------------

class Orthogonality(regularizers.Regularizer):
    """A custom regularizer: penalizes W^T W away from the identity."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x):
        gram = keras.ops.matmul(keras.ops.transpose(x), x)
        return self.factor * keras.ops.sum(keras.ops.square(gram - keras.ops.eye(gram.shape[0])))


def nested_model():
    inner = keras.Sequential([
        layers.Dense(8, activation="relu", kernel_regularizer=regularizers.L1(0.01),
                     bias_regularizer=regularizers.L2(0.1), name="dense"),
    ], name="block")
    shared = layers.Dense(8, activation="relu", kernel_regularizer=regularizers.L1L2(0.001, 0.01), name="shared")
    frozen = layers.Dense(8, kernel_regularizer=regularizers.L2(5.0), name="frozen")
    inputs = keras.Input((6,))
    h = shared(shared(inner(inputs)))
    h = frozen(h)
    outputs = layers.Dense(3, activation="softmax", kernel_regularizer=Orthogonality(0.01), name="head")(h)
    frozen.trainable = False
    return compile_with_reference(keras.Model(inputs, outputs, name="outer"))


def test_nested_shared_frozen_and_custom_regularizers(tmp_path):
    keras.utils.set_random_seed(0)
    model = nested_model()
    history = fit(model, tmp_path)
    train = read_run(tmp_path / "train")
    expected = {
        "block/dense/kernel", "block/dense/bias", "shared/kernel", "head/kernel",
    }
    assert {tag[len("penalty/"):] for tag in train if tag.startswith("penalty/")} == expected
    for variable in penalized_weights(model):
        tag = "penalty/" + relative_path(model, variable.path)
        assert train[tag][1] == pytest.approx(float(variable.regularizer(variable)), rel=1e-6)
    assert train["penalty_total"][1] == pytest.approx(float(sum(model.losses)), rel=1e-6)
    # The frozen layer's penalty would be large; Keras leaves it out and so do we.
    assert "penalty/frozen/kernel" not in train
    import json
    setup = json.loads(train["l2board/setup_json"][0])
    frozen = [v for v in setup["variables"] if v["path"] == "frozen/kernel"][0]
    assert frozen["trainable"] is False and frozen["regularizer"] == "L2"
    assert "excluded (frozen)" in train["l2board/setup"][0]
    for epoch, reference in enumerate(history.history["reference"]):
        assert train["epoch_data_loss"][epoch] == pytest.approx(reference, rel=1e-3)


def test_long_epochs_sample_the_penalty_and_still_match_the_reference(tmp_path):
    keras.utils.set_random_seed(0)
    model = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(32, activation="relu", kernel_regularizer=regularizers.L2(0.05)),
        layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.05))]))
    x, y = small_data(n=400)
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0,  # 100 batches an epoch
                        callbacks=[L2Monitor(str(tmp_path), verbose=0)]).history
    train = read_run(tmp_path / "train")
    assert train["epoch_penalty_share"][0] > 0.1
    for epoch in range(2):
        assert train["epoch_data_loss"][epoch] == pytest.approx(history["reference"][epoch], rel=1e-3)


@tensorflow_only
def test_activity_regularizers_are_measured_and_left_out_of_data_loss(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = layers.Dense(16, activation="relu", activity_regularizer=regularizers.L2(0.05), name="hidden")(inputs)
    outputs = layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.01), name="out")(hidden)
    model = compile_with_reference(keras.Model(inputs, outputs))
    history = fit(model, tmp_path, epochs=3).history
    train, validation = read_run(tmp_path / "train"), read_run(tmp_path / "validation")
    assert all(train["activity_penalty/hidden"][e] > 0 for e in range(3))
    for epoch in range(3):
        assert train["epoch_data_loss"][epoch] == pytest.approx(history["reference"][epoch], rel=1e-3)
        assert validation["epoch_data_loss"][epoch] == pytest.approx(history["val_reference"][epoch], rel=1e-5)
        assert validation["epoch_penalty"][epoch] > train["penalty_total"][epoch]
    # Training ended: the layer has its own regularizer back, and retraining works.
    assert type(model.get_layer("hidden").activity_regularizer) is regularizers.L2
    model.fit(*small_data(), epochs=1, verbose=0)


def test_vector_weight_regularizer_is_summed_as_keras_sums_it(tmp_path):
    keras.utils.set_random_seed(0)
    per_unit = lambda w: 0.05 * keras.ops.sum(keras.ops.square(w), axis=0)  # noqa: E731 - Keras takes a function
    model = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(8, activation="relu", kernel_regularizer=per_unit, name="d"),
        layers.Dense(3, activation="softmax")]))
    history = fit(model, tmp_path).history
    train, validation = read_run(tmp_path / "train"), read_run(tmp_path / "validation")
    assert train["penalty/d/kernel"][1] == pytest.approx(float(keras.ops.convert_to_numpy(model.losses[0]).sum()),
                                                         rel=1e-6)
    for epoch in range(2):
        assert train["epoch_data_loss"][epoch] == pytest.approx(history["reference"][epoch], rel=1e-3)
        assert validation["epoch_data_loss"][epoch] == pytest.approx(history["val_reference"][epoch], rel=1e-5)


@tensorflow_only
def test_evaluate_and_predict_alone_give_the_model_its_regularizers_back(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = layers.Dense(8, activation="relu", activity_regularizer=regularizers.L2(0.01), name="hidden")
    model = compile_with_reference(keras.Model(inputs, layers.Dense(3, activation="softmax")(hidden(inputs))))
    original = hidden.activity_regularizer
    monitor = L2Monitor(str(tmp_path), verbose=0)
    x, y = small_data()
    model.evaluate(x, y, verbose=0, callbacks=[monitor])
    assert hidden.activity_regularizer is original
    model.predict(x, verbose=0, callbacks=[monitor])
    assert hidden.activity_regularizer is original
    # The same monitor still measures a later fit.
    history = fit(model, tmp_path, monitor=monitor).history
    assert hidden.activity_regularizer is original
    validation = read_run(tmp_path / "validation")
    assert validation["epoch_data_loss"][1] == pytest.approx(history["val_reference"][1], rel=1e-5)


@tensorflow_only
def test_a_fit_that_raises_leaves_no_stand_in_behind_the_next_one(tmp_path):
    class Fails(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("stop")

    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = layers.Dense(8, activation="relu", activity_regularizer=regularizers.L2(0.01), name="hidden")
    model = compile_with_reference(keras.Model(inputs, layers.Dense(3, activation="softmax")(hidden(inputs))))
    original = hidden.activity_regularizer
    with pytest.raises(RuntimeError, match="stop"):  # Keras ends no callback then
        model.fit(*small_data(), epochs=1, verbose=0, callbacks=[L2Monitor(str(tmp_path / "a"), verbose=0), Fails()])
    history = fit(model, tmp_path / "b").history
    assert hidden.activity_regularizer is original
    validation = read_run(tmp_path / "b" / "validation")
    assert validation["epoch_data_loss"][1] == pytest.approx(history["val_reference"][1], rel=1e-5)


def test_weight_decay_and_no_validation(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax", name="d")])
    compile_with_reference(model, optimizer=keras.optimizers.AdamW(weight_decay=0.01))
    fit(model, tmp_path, validation=False)
    train = read_run(tmp_path / "train")
    assert "weight decay 0.01 (AdamW)" in train["l2board/setup"][0]
    assert train["epoch_penalty"][0] == 0.0
    assert train["epoch_data_loss"][1] == pytest.approx(train["epoch_loss"][1])
    assert not os.path.exists(tmp_path / "validation") or "epoch_data_loss" not in read_run(tmp_path / "validation")


# -- how it writes -----------------------------------------------------------

def test_integer_update_freq_writes_batches_and_keeps_epochs(tmp_path):
    keras.utils.set_random_seed(0)
    model = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.1), name="d")]))
    # Keras's own callback with an integer update_freq installs a record_if
    # that would drop epoch summaries written at other steps.
    keras_tb = keras.callbacks.TensorBoard(str(tmp_path / "keras"), update_freq=4)
    monitor = L2Monitor(str(tmp_path / "ours"), update_freq=4, verbose=0)
    x, y = small_data()  # 96 samples, batch 16: 6 batches an epoch
    model.fit(x, y, validation_data=small_data(32, seed=1), epochs=3, batch_size=16, verbose=0,
              callbacks=[keras_tb, monitor])
    train = read_run(tmp_path / "ours" / "train")
    assert sorted(train["epoch_data_loss"]) == [0, 1, 2]
    assert sorted(read_run(tmp_path / "ours" / "validation")["epoch_data_loss"]) == [0, 1, 2]
    assert sorted(train["batch_data_loss"]) == [4, 8, 12, 16]
    assert sorted(train["batch_penalty/d/kernel"]) == [4, 8, 12, 16]
    assert sorted(train["batch_loss"]) == [4, 8, 12, 16]


def test_epoch_update_freq_keeps_keras_async_dispatch():
    from keras.src.utils.python_utils import is_default

    assert is_default(L2Monitor("unused", verbose=0).on_train_batch_end)
    assert not is_default(L2Monitor("unused", update_freq=5, verbose=0).on_train_batch_end)


def test_no_duplicate_series_beside_keras_tensorboard_when_asked(tmp_path):
    keras.utils.set_random_seed(0)
    model = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.1))]))
    x, y = small_data()
    model.fit(x, y, validation_data=small_data(32, seed=1), epochs=2, batch_size=16, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(str(tmp_path)),
                         L2Monitor(str(tmp_path), write_standard_metrics=False, verbose=0)])
    for folder in ("train", "validation"):
        events = read_events(tmp_path / folder)
        points = [(step, tag) for _, step, tag, _ in events if tag in ("epoch_loss", "epoch_accuracy")]
        assert sorted(points) == sorted(set(points)) and len(points) == 4
        assert any(tag == "epoch_data_loss" for _, _, tag, _ in events)


def test_every_finished_epoch_is_on_disk_before_training_ends(tmp_path):
    seen = {}

    class ReadBack(keras.callbacks.Callback):
        # Runs after L2Monitor's epoch end, while training goes on.
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = sorted(read_run(tmp_path / "train").get("epoch_data_loss", {}))

    keras.utils.set_random_seed(0)
    model = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.1))]))
    x, y = small_data()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0,
              callbacks=[L2Monitor(str(tmp_path), verbose=0), ReadBack()])
    assert seen == {0: [0], 1: [0, 1], 2: [0, 1, 2]}


def test_resumed_training_continues_steps(tmp_path):
    keras.utils.set_random_seed(0)
    model = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.1))]))
    fit(model, tmp_path, epochs=2)
    fit(model, tmp_path, epochs=4, initial_epoch=2, monitor=L2Monitor(str(tmp_path), verbose=0))
    events = read_events(tmp_path / "train")
    assert len({name for name, *_ in events}) == 2  # the first file is kept, a second one added
    steps = [step for _, step, tag, _ in events if tag == "epoch_data_loss"]
    assert steps == [0, 1, 2, 3]


def test_a_factor_set_anew_between_fits_is_measured_as_keras_adds_it(tmp_path):
    model = regularized_model()
    monitor = L2Monitor(str(tmp_path / "run"), verbose=0)
    fit(model, None, epochs=1, monitor=monitor)
    model.layers[0].kernel.regularizer.l2 = 0.4  # was 0.1; compiling again makes Keras trace its step anew
    history = fit(compile_with_reference(model), None, epochs=2, initial_epoch=1, monitor=monitor)
    train = read_run(monitor.run_dir + "/train")
    assert train["penalty_total"][1] == pytest.approx(float(sum(model.losses)), rel=1e-6)
    assert train["epoch_data_loss"][1] + train["epoch_penalty"][1] == pytest.approx(history.history["loss"][0],
                                                                                     rel=1e-5)


def test_a_factor_changed_during_an_eager_fit_is_measured_as_keras_adds_it(tmp_path):
    class Annealing(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.layers[0].kernel.regularizer.l2 = 0.1 * (epoch + 1)  # Keras runs it as it is now

    model = regularized_model()
    model.run_eagerly = True
    x, y = small_data()
    monitor = L2Monitor(str(tmp_path / "run"), verbose=0)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[Annealing(), monitor])
    train = read_run(tmp_path / "run" / "train")
    assert train["penalty_total"][1] == pytest.approx(float(sum(model.losses)), rel=1e-6)  # with 0.2
    for epoch in (0, 1):
        assert train["epoch_data_loss"][epoch] + train["epoch_penalty"][epoch] == pytest.approx(
            history.history["loss"][epoch], rel=1e-5)


def regularized_model(seed=0):
    keras.utils.set_random_seed(seed)
    return compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(0.1))]))


def data_loss_steps(folder):
    return [step for _, step, tag, _ in read_events(folder / "train") if tag == "epoch_data_loss"]


def test_a_script_run_twice_writes_its_second_model_beside_the_first_run(tmp_path):
    run = tmp_path / "run1"
    fit(regularized_model(0), run, epochs=2)
    before = sorted(p.name for p in (run / "train").iterdir())
    with pytest.warns(L2MonitorWarning, match=re.escape(f"{run} already holds a run, so this fit of a new model "
                                                        f"writes to {run}-2 instead")):
        monitor = L2Monitor(str(run), verbose=0)
        fit(regularized_model(1), run, epochs=3, monitor=monitor)
    assert monitor.run_dir == f"{run}-2" and monitor.log_dir == str(run)
    assert sorted(p.name for p in (run / "train").iterdir()) == before  # the first run is untouched
    assert data_loss_steps(run) == [0, 1] and data_loss_steps(tmp_path / "run1-2") == [0, 1, 2]


def test_one_callback_given_to_a_second_model_starts_a_new_run_and_goes_on_with_the_same_model(tmp_path):
    monitor = L2Monitor(str(tmp_path / "run"), verbose=0)
    first = regularized_model(0)
    fit(first, None, epochs=2, monitor=monitor)
    fit(first, None, epochs=3, initial_epoch=2, monitor=monitor)  # the same model, trained on: one run
    with pytest.warns(L2MonitorWarning, match="this fit of a new model writes to"):
        fit(regularized_model(1), None, epochs=1, monitor=monitor)
    second_run = monitor.run_dir
    fit(monitor.model, None, epochs=2, initial_epoch=1, monitor=monitor)  # goes on where that model writes
    assert second_run == f"{tmp_path / 'run'}-2" and monitor.run_dir == second_run
    assert data_loss_steps(tmp_path / "run") == [0, 1, 2] and data_loss_steps(tmp_path / "run-2") == [0, 1]


def test_unwritable_log_dir_fails_before_the_first_batch(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    model = compile_with_reference(keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax")]))
    with pytest.raises(UnwritableLogDirError, match=r"^Cannot write TensorBoard logs to '.*a-file/run': .*\.$"):
        fit(model, blocker / "run")
    assert int(model.optimizer.iterations) == 0
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a folder named by a URL is written by TensorFlow")
def test_a_folder_named_by_a_url_is_written_through_tensorflow(tmp_path):
    import tensorflow as tf

    url = f"ram://l2board-{os.getpid()}/run"  # TensorFlow's in-memory file system: a URL no other writer opens
    fit(regularized_model(1), url)
    for folder in ("train", "validation"):
        (tmp_path / folder).mkdir()
        for name in tf.io.gfile.listdir(f"{url}/{folder}"):
            tf.io.gfile.copy(f"{url}/{folder}/{name}", str(tmp_path / folder / name))
    train, validation = read_run(tmp_path / "train"), read_run(tmp_path / "validation")
    assert sorted(train["epoch_data_loss"]) == sorted(validation["epoch_data_loss"]) == [0, 1]
    assert sorted(train["penalty_total"]) == [0, 1]


def test_default_log_dir_is_fresh_and_announced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    first, second = L2Monitor(), L2Monitor()
    model = compile_with_reference(keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax")]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", L2MonitorWarning)
        fit(model, None, epochs=1, monitor=first)
        fit(model, None, epochs=1, monitor=second)
    out = capsys.readouterr().out
    assert out.count("L2Monitor: writing TensorBoard logs to logs/") == 2
    runs = sorted(os.listdir(tmp_path / "logs"))
    assert len(runs) == 2 and first.log_dir != second.log_dir
    assert first.log_dir == os.path.join("logs", runs[0]) or first.log_dir == os.path.join("logs", runs[1])


def test_warnings_are_plain_and_given_once(tmp_path):
    keras.utils.set_random_seed(0)
    model = compile_with_reference(keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax")]))
    with pytest.warns(L2MonitorWarning) as caught:
        fit(model, tmp_path / "none", epochs=2)
    assert [str(w.message) for w in caught if w.category is L2MonitorWarning] == [
        "Nothing regularizes this model: no weight or activity regularizer and no weight decay, "
        "so L2Monitor has no penalty to show."]

    heavy = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(50.0))]))
    with pytest.warns(L2MonitorWarning, match="penalty is .*% of the training loss at epoch 0") as caught:
        fit(heavy, tmp_path / "heavy", epochs=2)
    assert len([w for w in caught if "of the training loss" in str(w.message)]) == 1


def test_memorization_is_not_blamed_on_the_factor(tmp_path):
    # 32 random labels memorized by a small MLP with a small L2 on one layer,
    # as the tutorial's conv1-only run memorizes its noisy digits: the
    # penalty becomes most of the loss because the data loss vanishes.
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 8)).astype(np.float32), rng.integers(0, 4, 32)
    model = keras.Sequential([
        keras.Input((8,)), layers.Dense(64, activation="relu", kernel_regularizer=regularizers.L2(0.003)),
        layers.Dense(4, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    with pytest.warns(L2MonitorWarning) as caught:
        model.fit(x, y, epochs=40, batch_size=8, verbose=0,
                  callbacks=[L2Monitor(str(tmp_path), histogram_freq=0, verbose=0)])
    messages = [str(w.message) for w in caught if w.category is L2MonitorWarning]
    train = read_run(tmp_path / "train")
    assert max(train["epoch_penalty_share"].values()) > 0.5
    assert not [m for m in messages if "smaller factor" in m]
    assert [m for m in messages if m.startswith("The training data loss has fallen to ")
            and "it may be memorizing it" in m and "not a large factor" in m]


def test_large_factor_is_named_as_the_cause(tmp_path):
    keras.utils.set_random_seed(0)
    model = compile_with_reference(keras.Sequential([
        keras.Input((6,)), layers.Dense(8, activation="relu", kernel_regularizer=regularizers.L2(1.0)),
        layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(1.0))]))
    with pytest.warns(L2MonitorWarning) as caught:
        fit(model, tmp_path, epochs=2)
    messages = [str(w.message) for w in caught if w.category is L2MonitorWarning]
    assert len([m for m in messages if "memoriz" in m]) == 0
    [message] = [m for m in messages if "of the training loss" in m]
    assert re.match(r"The penalty is \d+% of the training loss at epoch 0, [\d.]+ times the data loss of the "
                    r"first epoch: the factor is so large that regularization dominates what the model learns; "
                    r"consider a smaller factor\.$", message), message


def test_nan_loss_is_logged_and_warned_once(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((6,)), layers.Dense(3, activation="softmax", kernel_regularizer=regularizers.L2(1e6))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=10.0), loss="sparse_categorical_crossentropy")
    with pytest.warns(L2MonitorWarning) as caught:
        fit(model, tmp_path, epochs=3)
    messages = [str(w.message) for w in caught if "diverged" in str(w.message)]
    assert len(messages) == 1
    train = read_run(tmp_path / "train")
    assert sorted(train["epoch_loss"]) == [0, 1, 2]
    assert any(not np.isfinite(v) for v in train["epoch_loss"].values())


@pytest.mark.parametrize("kwargs, message", [
    ({"update_freq": 0}, "update_freq"),
    ({"update_freq": "sometimes"}, "update_freq"),
    ({"update_freq": True}, "update_freq"),  # a bool is an int in Python
    ({"update_freq": 2.5}, "update_freq"),
    ({"histogram_freq": -1}, "histogram_freq"),
    ({"histogram_freq": True}, "histogram_freq"),
    ({"histogram_freq": "1"}, "histogram_freq"),
    ({"bucket_count": 0}, "bucket_count"),  # failed only after the first epoch
    ({"bucket_count": True}, "bucket_count"),
    ({"bucket_count": 30.0}, "bucket_count"),
    ({"bucket_count": 10**9}, "bucket_count"),
    ({"write_standard_metrics": "yes"}, "write_standard_metrics"),
    ({"write_standard_metrics": "auto"}, "write_standard_metrics"),
    ({"hparams": ["l2", 0.1]}, "hparams"),
    ({"hparams": {"l2": float("nan")}}, "hparams"),
    ({"hparams": {"l2": [0.1]}}, "hparams"),
    ({"hparams": {"": 0.1}}, "hparams"),
    ({"write_standard_metrics": 1}, "write_standard_metrics"),
    ({"verbose": 3}, "verbose"),
    ({"verbose": "loud"}, "verbose"),
    ({"log_dir": ""}, "log_dir"),
    ({"log_dir": "logs/\0run"}, "log_dir"),
    ({"log_dir": 5}, "log_dir"),
    ({"log_dir": b"logs"}, "log_dir"),
])
def test_bad_arguments(kwargs, message):
    kwargs = {"log_dir": "unused", **kwargs}
    with pytest.raises((ValueError, TypeError), match=rf"^{message} must be .*, got .*\.$"):
        L2Monitor(**kwargs)


def test_good_arguments_are_kept():
    import pathlib

    monitor = L2Monitor(pathlib.Path("logs") / "run", histogram_freq=np.int64(2), update_freq="batch",
                        bucket_count=10_000, write_standard_metrics=False, verbose=True)
    assert (monitor.log_dir, monitor.histogram_freq, monitor.update_freq, monitor.bucket_count, monitor.verbose) == (
        os.path.join("logs", "run"), 2, 1, 10_000, 1)
    assert type(monitor.histogram_freq) is int
