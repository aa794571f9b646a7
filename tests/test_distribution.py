"""L2Monitor under tf.distribute and mixed precision: the same numbers, one writer."""

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import free_port, read_run, run_child, start_child

MIRRORED = textwrap.dedent("""
    import os, sys, json
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np, keras
    from l2board import L2Monitor

    log_root = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def build():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6,))
        hidden = keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(0.05),
                                    name="hidden")(inputs)
        outputs = keras.layers.Dense(2, activation="softmax", kernel_regularizer=keras.regularizers.L1(0.01),
                                     name="out")(hidden)
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy",
                      metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="reference")])
        return model

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = build()
    history = {}
    for name, model in (("mirrored", mirrored), ("single", build())):
        history[name] = model.fit(x, y, validation_data=(x[:32], y[:32]), epochs=3, batch_size=32, shuffle=False,
                                  verbose=0, callbacks=[L2Monitor(os.path.join(log_root, name), verbose=0)]).history
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "losses": float(sum(mirrored.losses)),
                      "history": history}))
""")


# Keras 3.15's model.fit fails under MultiWorkerMirroredStrategy on CPU inside
# Keras (Trainer._maybe_symbolic_build reduces a PerReplica batch) before any
# callback runs, so the workers train in a custom loop that calls the
# callbacks through keras.callbacks.CallbackList, as such loops do.
MULTI_WORKER = textwrap.dedent("""
import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
import numpy as np, keras
from l2board import L2Monitor
log_dir = sys.argv[1]
strategy = tf.distribute.MultiWorkerMirroredStrategy()
rng = np.random.default_rng(0)
x = rng.normal(size=(128, 6)).astype("float32"); y = (x[:, 0] > 0).astype("int64")
with strategy.scope():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu",
        kernel_regularizer=keras.regularizers.L2(0.05), name="hidden"),
        keras.layers.Dense(2, activation="softmax", name="out")])
    optimizer = keras.optimizers.SGD(0.05)
    model.compile(optimizer, "sparse_categorical_crossentropy")
dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(32))

@tf.function
def train_step(batch_x, batch_y):
    def replica(bx, by):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(by, model(bx, training=True)))
            loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    return strategy.reduce("MEAN", strategy.run(replica, args=(batch_x, batch_y)), axis=None)

callbacks = keras.callbacks.CallbackList([L2Monitor(log_dir, verbose=0)], model=model, epochs=3, steps=4)
callbacks.on_train_begin()
for epoch in range(3):
    callbacks.on_epoch_begin(epoch)
    losses = []
    for step, (bx, by) in enumerate(dataset):
        callbacks.on_train_batch_begin(step)
        losses.append(float(train_step(bx, by)))
        callbacks.on_train_batch_end(step)
    callbacks.on_epoch_end(epoch, {"loss": float(np.mean(losses))})
callbacks.on_train_end()
print("DONE", json.loads(os.environ["TF_CONFIG"])["task"]["index"], flush=True)
""")


def test_multi_worker_only_the_chief_writes(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    workers = []
    try:
        for index in range(2):
            config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            workers.append(start_child([sys.executable, "-c", MULTI_WORKER, str(tmp_path / "run")],
                                       env={"TF_CONFIG": config},
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0, err[-3000:]
    files = sorted(p for p in (tmp_path / "run").rglob("*") if p.is_file())
    assert [p.relative_to(tmp_path / "run").parent.as_posix() for p in files] == [".", "train", "validation"]
    # events.out.tfevents.<time>.<host>.<pid>.<n>.v2
    writers = {re.match(r"events\.out\.tfevents\.\d+\.(.+)\.(\d+)\.\d+\.v2$", p.name).group(2) for p in files}
    assert len(writers) == 1  # one process wrote them all
    train = read_run(tmp_path / "run" / "train")
    assert sorted(train["epoch_data_loss"]) == [0, 1, 2] and sorted(train["penalty/hidden/kernel"]) == [0, 1, 2]


def test_mirrored_strategy_logs_the_numbers_of_one_device(tmp_path):
    result = run_child([sys.executable, "-c", MIRRORED, str(tmp_path)], capture_output=True, text=True,
                       timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    mirrored, single = read_run(tmp_path / "mirrored" / "train"), read_run(tmp_path / "single" / "train")
    # Replicated variables are read once: nothing is counted per replica.
    assert mirrored["penalty_total"][2] == pytest.approx(out["losses"], rel=1e-6)
    checked = 0
    for tag, series in single.items():
        if tag.startswith(("penalty", "weight_norm", "epoch_data_loss", "epoch_penalty")):
            assert [mirrored[tag][s] for s in sorted(series)] == pytest.approx(
                [series[s] for s in sorted(series)], rel=1e-4, abs=1e-6), tag
            checked += 1
    assert checked > 20
    for epoch, reference in enumerate(out["history"]["mirrored"]["reference"]):
        assert mirrored["epoch_data_loss"][epoch] == pytest.approx(reference, rel=1e-3)
    validation = read_run(tmp_path / "mirrored" / "validation")
    for epoch, reference in enumerate(out["history"]["mirrored"]["val_reference"]):
        assert validation["epoch_data_loss"][epoch] == pytest.approx(reference, rel=1e-5)


def test_mixed_precision_penalties_and_norms_are_float32(tmp_path):
    import keras

    from l2board import L2Monitor

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(96, 6)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64)
        model = keras.Sequential([
            keras.Input((6,)),
            keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01), name="hidden"),
            keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L1L2(0.001, 0.01), name="logits"),
            keras.layers.Activation("softmax", dtype="float32", name="probabilities"),
        ])
        model.compile("adam", "sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalCrossentropy(name="reference")])
        history = model.fit(x, y, validation_data=(x[:32], y[:32]), epochs=2, verbose=0,
                            callbacks=[L2Monitor(str(tmp_path), verbose=0)]).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    train = read_run(tmp_path / "train")
    hidden = model.get_layer("hidden").kernel
    assert hidden.dtype == "float32" and model.get_layer("hidden").compute_dtype == "float16"
    weights = hidden.numpy().astype(np.float64)
    assert train["penalty/hidden/kernel"][1] == pytest.approx(0.01 * np.square(weights).sum(), rel=1e-6)
    assert train["weight_norm/l2/hidden/kernel"][1] == pytest.approx(np.linalg.norm(weights), rel=1e-6)
    logits = model.get_layer("logits").kernel.numpy().astype(np.float64)
    assert train["penalty/logits/kernel"][1] == pytest.approx(
        0.001 * np.abs(logits).sum() + 0.01 * np.square(logits).sum(), rel=1e-6)
    for epoch, reference in enumerate(history["val_reference"]):
        assert read_run(tmp_path / "validation")["epoch_data_loss"][epoch] == pytest.approx(reference, rel=1e-3)
