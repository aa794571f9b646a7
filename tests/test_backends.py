"""L2Monitor on Keras's JAX backend: its test suite, the numbers TensorFlow logs, and no TensorFlow.

Each backend runs in its own process, as Keras requires. PyTorch is not
tested: its wheel on PyPI pulls several GB of CUDA libraries (see
docs/benchmarks.md), and L2Monitor refuses that backend until it is.
"""

import json
import os
import subprocess
import sys

import pytest

from l2board.analysis.comparison import compare_runs
from l2board.log_format import tags
from l2board.reading.logs import read_runs

pytest.importorskip("jax")

TRAINING = """
import json, os, sys
import numpy as np
import keras
from l2board import L2Monitor

log_dir, weights, save = sys.argv[1], sys.argv[2], sys.argv[3] == "save"
rng = np.random.default_rng(0)
x = rng.normal(size=(200, 6)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
inputs = keras.Input((6,))
hidden = keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01), name="h")(inputs)
outputs = keras.layers.Dense(2, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01), name="o")(hidden)
model = keras.Model(inputs, outputs)
if save:
    np.savez(weights, *model.get_weights())
else:
    with np.load(weights) as saved:
        model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
model.compile("adam", "sparse_categorical_crossentropy",
              metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="reference")])
history = model.fit(x, y, validation_split=0.25, epochs=3, batch_size=16, shuffle=False, verbose=0,
                    callbacks=[L2Monitor(log_dir, verbose=0)])
print(json.dumps({"history": history.history, "tensorflow": "tensorflow" in sys.modules,
                  "backend": keras.backend.backend()}))
"""


def train_on(backend, log_dir, weights, save):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", TRAINING, str(log_dir), str(weights), "save" if save else "load"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """The same model, data and initial weights trained with L2Monitor on JAX and on TensorFlow."""
    root = tmp_path_factory.mktemp("backends")
    jax = train_on("jax", root / "runs" / "jax", root / "weights.npz", save=True)
    tensorflow = train_on("tensorflow", root / "runs" / "tensorflow", root / "weights.npz", save=False)
    return root / "runs", jax, tensorflow


def test_jax_never_imports_tensorflow(twins):
    _, jax, tensorflow = twins
    assert jax["backend"] == "jax" and jax["tensorflow"] is False
    assert tensorflow["backend"] == "tensorflow"


def test_jax_logs_the_numbers_tensorflow_logs(twins):
    root, jax, _ = twins
    by_name = {run.name: run for run in compare_runs(read_runs([root / "jax", root / "tensorflow"])).runs}
    on_jax, on_tensorflow = by_name["jax"], by_name["tensorflow"]
    for field in ("final_train_data_loss", "final_val_data_loss", "final_penalty", "final_weight_l2",
                  "final_init_distance", "final_val_metric", "generalization_loss_percent"):
        assert getattr(on_jax, field) == pytest.approx(getattr(on_tensorflow, field), rel=1e-4, abs=1e-6), field
    assert on_jax.epochs == on_tensorflow.epochs == 3 and on_jax.complete
    # As exact as on TensorFlow: the validation data loss is the reference metric, the training one within 1e-3.
    assert on_jax.final_val_data_loss == pytest.approx(jax["history"]["val_reference"][-1], rel=1e-5)
    assert on_jax.final_train_data_loss == pytest.approx(jax["history"]["reference"][-1], rel=1e-3)


def test_jax_logs_open_in_tensorboard(twins):
    from test_tensorboard_server import get_json, start_tensorboard

    root, _, _ = twins
    process, port = start_tensorboard(root, "true")
    try:
        scalars = get_json(port, f"/data/plugin/scalars/scalars?run=jax/validation&tag={tags.DATA_LOSS}",
                           until=lambda points: len(points) == 3)
        assert [point[1] for point in scalars] == [0, 1, 2]
        histograms = get_json(port, "/data/plugin/histograms/histograms?run=jax/train&tag=weight_histogram/h/kernel",
                              until=lambda points: len(points) == 3)
        assert len(histograms) == 3
        text = get_json(port, f"/data/plugin/text/text?run=jax/train&tag={tags.SETUP_TEXT}",
                        until=lambda points: len(points) == 1)
        assert "h/kernel" in text[0]["text"]
        experiment = get_json(port, "/data/plugin/hparams/experiment", post={"experimentName": ""},
                              until=lambda d: len(d.get("hparamInfos", [])) > 0)
        assert "regularization" in {h["name"] for h in experiment["hparamInfos"]}
        runs = get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == 2)
        assert all(run["logged_by_l2monitor"] for run in runs["runs"])
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_callback_suite_passes_on_jax():
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_callback.py")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests],
                            capture_output=True, text=True, timeout=600, env=env,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout and "3 skipped" in result.stdout  # the activity tests: TensorFlow only
