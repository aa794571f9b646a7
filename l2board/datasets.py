"""Data for training the documented CNN: Keras's datasets, offline digits, .npz files.

`load_dataset` returns images scaled to [0, 1] as the tutorial scales them
(÷255) and integer labels. `digits` turns scikit-learn's bundled handwritten
digits (1,797 real 8x8 scans shipped inside the package, no download) into
CIFAR-shaped images, so the tutorial's network runs unchanged on a machine
without network access.
"""

import dataclasses
import os

import numpy as np

from l2board.errors import L2BoardError

KERAS_DATASETS = ("cifar100", "cifar10", "mnist", "fashion_mnist")
DATASETS = KERAS_DATASETS + ("digits",)

# What keras.utils.get_file keeps under <Keras home>/datasets for each
# dataset, and where the original comes from; named in the offline message.
_KERAS_FILES = {
    "cifar100": ("cifar-100-python-target_archive", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"),
    "cifar10": ("cifar-10-batches-py-target_archive", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "mnist": ("mnist.npz", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"),
    "fashion_mnist": ("train-labels-idx1-ubyte.gz (and the other three files)",
                      "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"),
}
# Where keras.utils.get_file extracts the CIFAR archives.
_CIFAR_EXTRACTED = {
    "cifar100": ("cifar-100-python-target", "cifar-100-python", ["train"], "test", "fine_labels"),
    "cifar10": ("cifar-10-batches-py-target", "cifar-10-batches-py",
                [f"data_batch_{i}" for i in range(1, 6)], "test_batch", "labels"),
}


@dataclasses.dataclass
class Dataset:
    """Images and labels ready for the documented CNN.

    Args:
        name: the dataset's name.
        x_train, y_train: training images (float32 in [0, 1], NHWC) and labels.
        x_val, y_val: validation images and labels.
        num_classes: the number of classes.
        description: one sentence on what was done to the data.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    description: str


def digits_images(image_size=32, channels=3, test_fraction=0.25, seed=0):
    """Loads scikit-learn's handwritten digits as CIFAR-shaped images.

    Each 8x8 image (values 0 to 16) is scaled to [0, 1], enlarged by pixel
    repetition to `image_size` and repeated over `channels`. The split
    is shuffled with `seed`, so it is the same every time.

    Args:
        image_size: output height and width; a multiple of 8.
        channels: output channels (3 to match CIFAR).
        test_fraction: share of the 1,797 images held out for testing.
        seed: seed of the shuffle before the split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float32 images of shape
        `(n, image_size, image_size, channels)` and int64 labels 0 to 9.

    Example:

    >>> (x, y), (x_test, y_test) = digits_images()
    >>> x.shape, x_test.shape, int(y.max())
    ((1348, 32, 32, 3), (449, 32, 32, 3), 9)
    """
    from sklearn.datasets import load_digits

    if image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8, got {image_size}.")
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    factor = image_size // 8
    images = images.repeat(factor, axis=1).repeat(factor, axis=2)
    images = np.repeat(images[..., None], channels, axis=-1)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order], labels[order]
    n_test = int(round(len(labels) * test_fraction))
    return (images[n_test:], labels[n_test:]), (images[:n_test], labels[:n_test])


def keras_home():
    """Returns the folder where Keras keeps downloads (`$KERAS_HOME` or `~/.keras`)."""
    try:
        from keras.src.backend.config import keras_home as home

        return home()
    except ImportError:  # pragma: no cover - older Keras
        return os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras"))


def _cached_cifar(name):
    """Loads an already extracted CIFAR archive with Keras's own batch reader, or None."""
    folder, inner, train_files, test_file, label_key = _CIFAR_EXTRACTED[name]
    root = os.path.join(keras_home(), "datasets", folder, inner)
    if not all(os.path.isfile(os.path.join(root, f)) for f in train_files + [test_file]):
        return None
    from keras.src.datasets.cifar import load_batch

    parts = [load_batch(os.path.join(root, f), label_key=label_key) for f in train_files]
    x_train = np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)
    y_train = np.concatenate([np.asarray(p[1]) for p in parts])
    x_test, y_test = load_batch(os.path.join(root, test_file), label_key=label_key)
    return (x_train, y_train), (x_test.transpose(0, 2, 3, 1), np.asarray(y_test))


def _load_keras_dataset(name):
    import keras

    cached = _cached_cifar(name) if name in _CIFAR_EXTRACTED else None
    if cached is not None:
        return cached
    loader = getattr(keras.datasets, name)
    try:
        return loader.load_data()
    except Exception as error:  # noqa: BLE001 - Keras wraps network errors in Exception
        file_name, origin = _KERAS_FILES[name]
        where = os.path.join(keras_home(), "datasets", file_name)
        raise L2BoardError(
            f"Could not load {name} through keras.datasets ({str(error).splitlines()[0][:160]}); "
            f"without network, download {origin} elsewhere and copy it to {where}, "
            "or use --dataset digits, which needs no download.") from None


def _load_npz(path):
    try:
        with np.load(path) as data:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in data]
            if missing:
                raise L2BoardError(f"'{path}' has no {', '.join(missing)}; it needs x_train, y_train, x_test, y_test.")
            return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
    except OSError as error:
        raise L2BoardError(f"Cannot read '{path}': {error.strerror or error}.") from None
    except ValueError:
        raise L2BoardError(f"'{path}' is not a NumPy .npz file.") from None


def _as_images(x):
    x = np.asarray(x)
    if x.ndim == 3:  # grayscale without a channel axis (MNIST)
        x = x[..., None]
    if x.ndim != 4:
        raise L2BoardError(f"Expected images of shape (n, height, width[, channels]), got {x.shape}.")
    if np.issubdtype(x.dtype, np.integer):
        return (x / 255.0).astype(np.float32)  # the tutorial's scaling
    return x.astype(np.float32)


def add_label_noise(labels, fraction, num_classes, seed):
    """Replaces a fraction of the labels with random ones (Zhang et al., 2017).

    Args:
        labels: integer labels.
        fraction: share of the samples whose label is drawn anew, uniformly
            over the classes (so about 1/num_classes of them keep theirs).
        num_classes: the number of classes.
        seed: seed of the choice.

    Returns:
        A new label array.

    Example:

    >>> add_label_noise(np.zeros(10, dtype=int), 0.0, 3, seed=0).tolist()
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    """
    labels = np.array(labels, copy=True)
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(labels)) < fraction
    labels[chosen] = rng.integers(0, num_classes, int(chosen.sum()))
    return labels


def load_dataset(name, validation="test", train_size=None, label_noise=0.0, seed=0):
    """Loads a dataset for the documented CNN.

    Args:
        name: `cifar100`, `cifar10`, `mnist`, `fashion_mnist` (through
            `keras.datasets`), `digits` (offline), or a path to a `.npz`
            with `x_train, y_train, x_test, y_test`.
        validation: `"test"` to validate on the test set, or a fraction in
            (0, 1) of the training set to hold out.
        train_size: keep this many training images (after the hold-out),
            chosen at random with `seed`; `None` keeps all.
        label_noise: share of the training labels replaced by random ones.
        seed: seeds the subsample and the noise.

    Returns:
        A `Dataset`.

    Raises:
        L2BoardError: unknown dataset, unreadable file, no network for a
            download, or impossible sizes; one sentence each.
    """
    if name == "digits":
        (x_train, y_train), (x_test, y_test) = digits_images(seed=seed)
        source = "scikit-learn's handwritten digits enlarged to 32x32x3"
    elif name in KERAS_DATASETS:
        (x_train, y_train), (x_test, y_test) = _load_keras_dataset(name)
        source = f"{name} from keras.datasets"
    elif name.endswith(".npz"):
        (x_train, y_train), (x_test, y_test) = _load_npz(name)
        source = f"'{name}'"
    else:
        raise L2BoardError(f"Unknown dataset '{name}'; use one of {', '.join(DATASETS)} or a .npz file.")
    x_train, x_test = _as_images(x_train), _as_images(x_test)
    y_train, y_test = np.asarray(y_train).reshape(-1).astype(np.int64), np.asarray(y_test).reshape(-1).astype(np.int64)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    rng = np.random.default_rng(seed)
    if validation == "test":
        x_val, y_val = x_test, y_test
        held_out = "validated on the test set"
    else:
        fraction = float(validation)
        if not 0 < fraction < 1:
            raise L2BoardError(f"--validation must be 'test' or a fraction between 0 and 1, got {validation}.")
        order = rng.permutation(len(y_train))
        n_val = max(1, int(round(fraction * len(y_train))))
        x_val, y_val = x_train[order[:n_val]], y_train[order[:n_val]]
        x_train, y_train = x_train[order[n_val:]], y_train[order[n_val:]]
        held_out = f"validated on {n_val} held-out training images"
    if train_size is not None:
        if not 1 <= train_size <= len(y_train):
            raise L2BoardError(f"--train-size must be between 1 and {len(y_train)} for {name}, got {train_size}.")
        keep = np.sort(rng.permutation(len(y_train))[:train_size])
        x_train, y_train = x_train[keep], y_train[keep]
    noise = ""
    if label_noise:
        if not 0 <= label_noise <= 1:
            raise L2BoardError(f"--label-noise must be between 0 and 1, got {label_noise}.")
        y_train = add_label_noise(y_train, label_noise, num_classes, seed)
        noise = f", {100 * label_noise:.0f}% of training labels replaced by random ones"
    description = f"{len(y_train)} training images of {source}{noise}; {held_out} ({len(y_val)} images)."
    return Dataset(name, x_train, y_train, x_val, y_val, num_classes, description)
