"""Training recipes that tie a model, its data and L2Monitor together."""

import keras

from l2board.callback import L2Monitor
from l2board.datasets import digits_images
from l2board.models import TUTORIAL_L2_LAYERS, documented_cnn


def train_documented_cnn_on_digits(
    log_dir,
    epochs=3,
    train_size=600,
    l2=0.01,
    l2_layers=TUTORIAL_L2_LAYERS,
    batch_size=32,
    seed=0,
    verbose=1,
):
    """Trains the tutorial's CNN on the offline digits with `L2Monitor`.

    Args:
        log_dir: the run folder that `L2Monitor` writes.
        epochs: training epochs.
        train_size: images taken from the digits' training split.
        l2: the L2 factor; 0 for none.
        l2_layers: which layers carry L2 (see `documented_cnn`).
        batch_size: 32, as the tutorial.
        seed: seeds weights, shuffling and the data split
            (`keras.utils.set_random_seed`).
        verbose: Keras's progress output (0, 1 or 2).

    Returns:
        The `keras.callbacks.History` of the fit.

    Example:

    ```python
    history = train_documented_cnn_on_digits("runs/demo", epochs=1)
    ```
    """
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = digits_images(seed=seed)
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    model = documented_cnn(input_shape=x_train.shape[1:], num_classes=10, l2=l2, l2_layers=l2_layers)
    return model.fit(
        x_train,
        y_train,
        validation_data=(x_test, y_test),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[L2Monitor(log_dir, verbose=verbose)],
        verbose=verbose,
    )
