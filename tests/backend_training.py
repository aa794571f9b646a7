"""The model test_backends.py trains with L2Monitor on every backend: a script for a child, a function in-process.

    python -P tests/backend_training.py LOG_DIR WEIGHTS save|load [data_parallel]

prints, as its last line, the JSON of `train`'s result.
"""

import json
import sys


def train(log_dir, weights, save, data_parallel=False):
    """Trains a small two-layer model, L2 on both layers, 3 epochs, with `L2Monitor(log_dir)`.

    Args:
        log_dir: the run folder.
        weights: a `.npz` of initial weights: written when `save`, read otherwise (the same start everywhere).
        save: whether to write the initial weights rather than read them.
        data_parallel: with JAX, Keras's `DataParallel` over every device.

    Returns:
        `{"history", "tensorflow" (whether TensorFlow was imported), "backend", "devices"}`.
    """
    import numpy as np
    import keras

    from l2board import L2Monitor

    if keras.backend.backend() == "jax":
        import jax
    if data_parallel:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01),
                                name="h")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01),
                                 name="o")(hidden)
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
    return {"history": history.history, "tensorflow": "tensorflow" in sys.modules,
            "backend": keras.backend.backend(),
            "devices": len(jax.devices()) if keras.backend.backend() == "jax" else 1}


if __name__ == "__main__":
    log_dir, weights, mode, *rest = sys.argv[1:]
    print(json.dumps(train(log_dir, weights, mode == "save", rest == ["data_parallel"])))
