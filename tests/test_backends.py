"""L2Monitor on Keras's JAX and PyTorch backends: its test suites, the numbers TensorFlow logs, no TensorFlow.

Each backend runs in its own process, as Keras requires. JAX is in the test
extras; PyTorch is tested where it is installed: its PyPI wheel brings
5.3 GB of CUDA libraries (45 s to install from a nearby mirror), too much to
make every fresh test setup pay for.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from conftest import run_child, start_child

from l2board.analysis.comparison import compare_runs
from l2board.log_format import tags
from l2board.reading.logs import read_runs

TRAINING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend_training.py")

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("backends")

BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(importlib.util.find_spec(name) is None,
                                                         reason=f"{name} is not installed"))
            for name in ("jax", "torch")]


def train_on(backend, log_dir, weights, save, *extra, env=None):
    """Trains `backend_training`'s model with L2Monitor on `backend`: in this process for TensorFlow (this
    session's backend, loaded already), in a child of its own for any other, as Keras requires."""
    if backend == "tensorflow" and not extra and not env:
        import keras
        from backend_training import train

        assert keras.backend.backend() == "tensorflow"
        return train(str(log_dir), str(weights), save)
    env = dict(KERAS_BACKEND=backend, **(env or {}))
    result = run_child([sys.executable, "-P", TRAINING, str(log_dir), str(weights), "save" if save else "load",
                        *extra],
                       capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Trains the same model, data and initial weights with L2Monitor on a backend, once per backend."""
    root = tmp_path_factory.mktemp("backends")
    done = {"tensorflow": train_on("tensorflow", root / "runs" / "tensorflow", root / "weights.npz", save=True)}

    def on(backend):
        if backend not in done:
            done[backend] = train_on(backend, root / "runs" / backend, root / "weights.npz", save=False)
        return root / "runs", done[backend]

    on.root = root
    return on


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_tensorflow_is_imported(trained, backend):
    _, result = trained(backend)
    assert result["backend"] == backend and result["tensorflow"] is False


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_numbers_are_those_tensorflow_logs(trained, backend):
    root, result = trained(backend)
    by_name = {run.name: run for run in compare_runs(read_runs([root / backend, root / "tensorflow"])).runs}
    here, on_tensorflow = by_name[backend], by_name["tensorflow"]
    for field in ("final_train_data_loss", "final_val_data_loss", "final_penalty", "final_weight_l2",
                  "final_init_distance", "final_val_metric", "generalization_loss_percent"):
        assert getattr(here, field) == pytest.approx(getattr(on_tensorflow, field), rel=1e-4, abs=1e-6), field
    assert here.epochs == on_tensorflow.epochs == 3 and here.complete
    # As exact as on TensorFlow: the validation data loss is the reference metric, the training one within 1e-3.
    assert here.final_val_data_loss == pytest.approx(result["history"]["val_reference"][-1], rel=1e-5)
    assert here.final_train_data_loss == pytest.approx(result["history"]["reference"][-1], rel=1e-3)


@pytest.mark.parametrize("backend", BACKENDS[:1])
def test_data_parallel_on_two_devices_logs_the_numbers_of_one(trained, backend):
    root, _ = trained(backend)  # the same model, data and weights on one device
    two = root.parent / "data_parallel"
    result = train_on(backend, two / "two_devices", trained.root / "weights.npz", False, "data_parallel",
                      env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert result["devices"] == 2 and result["tensorflow"] is False
    one, split = compare_runs(read_runs([root / backend, two / "two_devices"])).runs
    assert one.name.endswith(backend) and split.name.endswith("two_devices")
    for field in ("final_train_data_loss", "final_val_data_loss", "final_penalty", "final_weight_l2",
                  "final_init_distance", "final_val_metric", "generalization_loss_percent"):
        assert getattr(split, field) == pytest.approx(getattr(one, field), rel=1e-4, abs=1e-6), field
    assert split.final_val_data_loss == pytest.approx(result["history"]["val_reference"][-1], rel=1e-5)


@pytest.mark.parametrize("backend", BACKENDS[:1])
def test_jax_logs_open_in_tensorboard(trained, backend):
    from test_tensorboard_server import get_json, tensorboard_server

    root, _ = trained(backend)
    with tensorboard_server(root, "true") as port:
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


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_callback_suites_pass(backend):
    env = {"KERAS_BACKEND": backend}
    here = os.path.dirname(os.path.abspath(__file__))
    suites = [os.path.join(here, name) for name in ("test_callback.py", "test_activity_recording.py",
                                                    "test_device_statistics.py")]
    # One process (-n 0): the suites' fixtures are made once, and this session's workers have the cores.
    result = run_child([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *suites],
                       capture_output=True, text=True, timeout=600, env=env, cwd=os.path.dirname(here))
    assert result.returncode == 0, result.stdout[-4000:]
    # Activity penalties are not measured on JAX, and only TensorFlow writes to a URL: those tests are
    # skipped (nine and one), and only they.
    expected_skips = "10 skipped" if backend == "jax" else " passed"
    assert " passed" in result.stdout and expected_skips in result.stdout, result.stdout[-2000:]


MULTI_PROCESS = """
import json, os, sys
import jax
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
import numpy as np, keras
from l2board import L2Monitor
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
    2, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01))])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x, y, validation_split=0.25, epochs=2, verbose=0, callbacks=[L2Monitor(sys.argv[3], verbose=0)])
print(json.dumps({"process": jax.process_index(), "processes": jax.process_count(), "pid": os.getpid()}))
"""


@pytest.mark.parametrize("backend", BACKENDS[:1])
def test_only_process_zero_writes_in_multi_process_jax(tmp_path, backend):
    from conftest import free_port

    address = f"127.0.0.1:{free_port()}"  # for JAX's coordinator
    env = {"KERAS_BACKEND": backend}
    processes = [start_child([sys.executable, "-c", MULTI_PROCESS, address, str(index), str(tmp_path / "run")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for index in (0, 1)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err[-2000:] for _, err in outputs]
    results = {r["process"]: r for r in (json.loads(out.strip().splitlines()[-1]) for out, _ in outputs)}
    assert sorted(results) == [0, 1] and results[0]["processes"] == 2
    writers = {name.split(".")[-3] for _, _, files in os.walk(tmp_path / "run") for name in files}
    assert writers == {str(results[0]["pid"])}
    (run,) = compare_runs(read_runs([tmp_path / "run"])).runs
    assert run.epochs == 2 and run.complete
