"""Training the documented CNN with L2Monitor: one run, described by a config.

`l2board train`, `l2board experiment` and `l2board demo` are thin layers over
`train_run`.
"""

import dataclasses

from l2board.errors import L2BoardError
from l2board.training.models import CNN_WEIGHT_LAYERS, TUTORIAL_L2_LAYERS


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines one training run of the documented CNN.

    Args:
        dataset: see `l2board.training.datasets.load_dataset`.
        l2: the Keras L2 factor; 0 for none.
        l2_layers: layer names that carry L2, or `("all",)`.
        weight_decay: decoupled weight decay (AdamW) instead of Adam; 0 for none.
        epochs: training epochs.
        batch_size: 32, as the tutorial.
        train_size: training images to keep, or `None` for all.
        validation: `"test"` or a held-out fraction of the training set.
        label_noise: share of training labels replaced by random ones.
        seed: seeds data, weights and shuffling.
        learning_rate: Adam's learning rate.
    """

    dataset: str = "cifar100"
    l2: float = 0.01
    l2_layers: tuple = TUTORIAL_L2_LAYERS
    weight_decay: float = 0.0
    epochs: int = 10
    batch_size: int = 32
    train_size: int | None = None
    validation: str = "test"
    label_noise: float = 0.0
    seed: int = 0
    learning_rate: float = 0.001

    def __post_init__(self):
        if not self.l2 >= 0:
            raise L2BoardError(f"The L2 factor must be zero or positive, got {self.l2}.")
        if not self.weight_decay >= 0:
            raise L2BoardError(f"The weight decay must be zero or positive, got {self.weight_decay}.")
        layers = parse_layers(self.l2_layers)
        object.__setattr__(self, "l2_layers", layers)

    @property
    def name(self):
        """A run name that says what the run is, e.g. `l2-0.01-conv1` or `no-l2`."""
        if self.l2:
            where = "all" if self.l2_layers == ("all",) else "+".join(self.l2_layers)
            name = f"l2-{self.l2:g}-{where}"
        else:
            name = "no-l2"
        if self.weight_decay:
            name += f"-wd{self.weight_decay:g}"
        return name


def parse_layers(spec):
    """Turns `"conv1,fc1"`, `"all"` or a sequence of names into a tuple of layer names.

    Raises:
        L2BoardError: for an unknown layer name.

    Example:

    >>> parse_layers("conv1, fc1"), parse_layers("all")
    (('conv1', 'fc1'), ('all',))
    """
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    if names == ["all"]:
        return ("all",)
    unknown = [n for n in names if n not in CNN_WEIGHT_LAYERS]
    if unknown or not names:
        raise L2BoardError(
            f"Unknown layer name(s) for L2: {', '.join(unknown) or '(none given)'}; "
            f"use 'all' or names from {', '.join(CNN_WEIGHT_LAYERS)}.")
    return tuple(dict.fromkeys(names))


def build_model(config, input_shape, num_classes):
    """Returns the documented CNN for a config, compiled with Adam (or AdamW for weight decay)."""
    import keras

    from l2board.training.models import documented_cnn

    layers = "all" if config.l2_layers == ("all",) else config.l2_layers
    model = documented_cnn(input_shape=input_shape, num_classes=num_classes, l2=config.l2,
                           l2_layers=layers, compile=False)
    if config.weight_decay:
        optimizer = keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(config.learning_rate)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_run(config, log_dir, dataset=None, verbose=1, callbacks=()):
    """Trains the documented CNN with `L2Monitor` writing to `log_dir`.

    Args:
        config: a `TrainingConfig`.
        log_dir: the run folder.
        dataset: a loaded `l2board.training.datasets.Dataset`, or `None` to load it
            from `config`.
        verbose: Keras's progress output (0, 1 or 2).
        callbacks: more Keras callbacks.

    Returns:
        The `keras.callbacks.History`.

    Example:

    ```python
    train_run(TrainingConfig(dataset="digits", epochs=3, train_size=300), "runs/demo")
    ```
    """
    import keras

    from l2board.writing.callback import L2Monitor
    from l2board.training.datasets import load_dataset

    if dataset is None:
        dataset = load_dataset(config.dataset, config.validation, config.train_size, config.label_noise, config.seed)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, dataset.x_train.shape[1:], dataset.num_classes)
    return model.fit(
        dataset.x_train, dataset.y_train,
        validation_data=(dataset.x_val, dataset.y_val),
        epochs=config.epochs, batch_size=config.batch_size, verbose=verbose,
        callbacks=[L2Monitor(log_dir, verbose=0), *callbacks],
    )
