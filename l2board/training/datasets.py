"""Data for training the documented CNN: Keras's datasets, offline digits, .npz files.

`load_dataset` returns images scaled to [0, 1] as the tutorial scales them
(÷255) and integer labels (one-hot labels are read as class numbers). It
checks the arrays first and refuses malformed ones (label counts, shapes,
NaN, labels that are not class numbers, absurd class counts) in one
sentence naming the file and the array. `digits` turns scikit-learn's
bundled handwritten digits (1,797 real 8x8 scans shipped inside the
package, no download) into CIFAR-shaped images, so the tutorial's network
runs unchanged on a machine without network access.
"""

import dataclasses
import numbers
import os
import stat

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

    try:
        parts = [load_batch(os.path.join(root, f), label_key=label_key) for f in train_files]
        x_train = np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)
        y_train = np.concatenate([np.asarray(p[1]) for p in parts])
        x_test, y_test = load_batch(os.path.join(root, test_file), label_key=label_key)
    except Exception as error:  # noqa: BLE001 - a damaged pickle raises anything from EOFError to KeyError
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise L2BoardError(f"The {name} files Keras keeps in '{root}' are damaged or incomplete ({reason}); "
                           "remove that folder and Keras downloads them again.") from None
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


_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_NPY_MAGIC = b"\x93NUMPY"  # how a single saved array (.npy) starts
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a .npz is a zip archive of .npy files (or an empty one)

# The most classes l2board trains. The class count is the largest label + 1,
# and each class adds a row of 1,025 weights (fc1's 1,024 outputs and a bias)
# to the output layer, times four with Adam's two moments and the gradient:
# at 10,000 classes the output layer alone (10.25M weights) is already more
# than twice the rest of the tutorial's network (4.25M), which was built for
# 100 classes. Beyond that a label is almost surely a mistake (one label of
# 10**7 asked for a 40 GB layer); datasets with more classes need another
# network than this CIFAR one.
MAX_CLASSES = 10_000
# A label set that uses fewer than 1 in MIN_SHARE_USED of the class numbers
# 0..max is refused: 3 labels in 0..100000 build a 100,001-class model
# for a stray number. With at most 100 classes this never triggers.
MIN_SHARE_USED = 100


def _load_npz(path):
    """Reads x_train, y_train, x_test, y_test from a .npz; one sentence for any unreadable file."""
    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # open() would wait forever on a FIFO
            raise L2BoardError(f"'{path}' is not a regular file (a FIFO, socket or device), so not a .npz file.")
        with open(path, "rb") as file:
            head = file.read(len(_NPY_MAGIC))
    except OSError as error:
        raise L2BoardError(f"Cannot read '{path}': {error.strerror or error}.") from None
    if not head:
        raise L2BoardError(f"'{path}' is empty (0 bytes), not a NumPy .npz file.")
    if head.startswith(_NPY_MAGIC):
        raise L2BoardError(f"'{path}' holds a single array (a .npy file), not a .npz archive "
                           "with x_train, y_train, x_test and y_test.")
    if not head.startswith(_ZIP_MAGICS):
        raise L2BoardError(f"'{path}' is not a NumPy .npz file (those are zip archives, and it is not one).")
    key = None
    try:
        with np.load(path) as data:  # allow_pickle=False: nothing in the file is run
            missing = [k for k in _NPZ_KEYS if k not in data]
            if missing:
                raise L2BoardError(f"'{path}' has no {', '.join(missing)}; it needs x_train, y_train, x_test, y_test.")
            arrays = []
            for key in _NPZ_KEYS:
                arrays.append(data[key])
            return arrays
    except L2BoardError:
        raise
    except MemoryError as error:
        raise L2BoardError(f"'{path}': {key or 'its archive'} does not fit in memory ({error}).") from None
    except Exception as error:  # noqa: BLE001 - damaged zips raise a dozen types (BadZipFile, zlib.error, EOFError...)
        raise L2BoardError(_unreadable(path, key, error)) from None


def _unreadable(path, key, error):
    """The sentence for an array (or archive, when `key` is None) that np.load could not read."""
    reason = (str(error).splitlines() or [""])[0][:160] or type(error).__name__
    if key and isinstance(error, ValueError) and "allow_pickle" in reason:  # numpy's refusal of object arrays
        return (f"'{path}': {key} holds Python objects (an object array), which l2board does not load "
                "because loading them could run code; save it as an array of numbers.")
    what = f"{key} cannot be read" if key else "it cannot be opened"
    return f"'{path}' is damaged or incomplete: {what} ({reason})."


def _check_kind(where, key, array, what):
    """Refuses arrays that are not numbers, 0-d arrays and empty arrays."""
    kinds = {"U": "text (strings)", "S": "bytes (strings)", "c": "complex numbers", "O": "Python objects"}
    if array.dtype.kind not in "biuf":
        holds = kinds.get(array.dtype.kind, f"values of type {array.dtype}")
        raise L2BoardError(f"{where}: {key} holds {holds}; {what} must be real numbers.")
    if array.ndim == 0:
        raise L2BoardError(f"{where}: {key} is a single number (a 0-d array), not an array of {what}.")
    if len(array) == 0:
        raise L2BoardError(f"{where}: {key} holds no {what} (its shape is {array.shape}).")


def _first_bad_image(x, test):
    """Index of the first image with a value for which `test` is true, scanning in chunks."""
    for start in range(0, len(x), 1024):
        hits = test(x[start:start + 1024].reshape(min(1024, len(x) - start), -1)).any(axis=1)
        if hits.any():
            return start + int(hits.argmax())
    return None  # pragma: no cover - only called when min() or max() found one


def _check_images(where, key, x):
    """Refuses image arrays that the CNN cannot take or that would train on NaN."""
    _check_kind(where, key, x, "images")
    if x.ndim not in (3, 4):
        raise L2BoardError(f"{where}: {key} has shape {x.shape}; images must be (n, height, width) "
                           "or (n, height, width, channels).")
    if 0 in x.shape:
        raise L2BoardError(f"{where}: {key} has shape {x.shape}; an image cannot have a side of 0.")
    if x.dtype.kind != "f":
        return
    low, high = float(x.min()), float(x.max())  # NaN propagates; no copy of the array
    for name, bad, test in (("NaN", np.isnan(low) or np.isnan(high), np.isnan),
                            ("infinite", np.isinf(low) or np.isinf(high), np.isinf)):
        if bad:
            index = _first_bad_image(x, test)
            raise L2BoardError(f"{where}: {key} has {name} pixel values (the first in image {index}).")
    limit = float(np.finfo(np.float32).max)
    if max(-low, high) > limit:
        raise L2BoardError(f"{where}: {key} has values up to {max(-low, high):g}, beyond the float32 "
                           "range the network computes in.")


def _image_shape(x):
    return x.shape[1:] + (1,) if x.ndim == 3 else x.shape[1:]


def _is_one_hot(y):
    return bool(((y == 0) | (y == 1)).all() and (y.sum(axis=1) == 1).all())


def _class_numbers(where, key, y, count, images_key):
    """Returns labels as a 1-D array of whole numbers >= 0, and the columns of one-hot rows (or None)."""
    _check_kind(where, key, y, "labels")
    columns = None
    if y.ndim > 1 and y.size == len(y):  # (n, 1) and the like, as before
        y = y.reshape(-1)
    elif y.ndim == 2 and _is_one_hot(y):
        columns, y = y.shape[1], y.argmax(axis=1)
    elif y.ndim > 1:
        rows = " and its rows are not one-hot (a single 1 among 0s)" if y.ndim == 2 else ""
        raise L2BoardError(f"{where}: {key} has shape {y.shape}{rows}; labels must be class numbers "
                           "of shape (n,) or (n, 1), or one-hot rows of shape (n, classes).")
    if len(y) != count:
        raise L2BoardError(f"{where}: {key} has {len(y)} labels for {count} images in {images_key}.")
    if y.dtype.kind == "f":
        for name, test in (("a NaN label", np.isnan), ("an infinite label", np.isinf),
                           ("a non-integer label", lambda v: v % 1 != 0)):
            wrong = np.flatnonzero(test(y))
            if len(wrong):
                value = f" ({_number(y[wrong[0]])})" if "integer" in name else ""
                raise L2BoardError(f"{where}: {key} has {name}{value} at index {wrong[0]}; "
                                   "labels must be whole class numbers from 0 up.")
    if y.min() < 0:
        index = int(y.argmin())
        raise L2BoardError(f"{where}: {key} has a negative label ({_number(y[index])}) at index {index}; "
                           "class numbers start at 0.")
    return y, columns


def _number(value):
    value = value.item()
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e16 else value


def _class_count(where, labels):
    """The number of classes, refused when absurd for the data; `labels` holds (key, y, columns)."""
    key, y, _ = max(labels, key=lambda item: item[1].max())
    largest, index = _number(y.max()), int(y.argmax())
    wide_key, _, widest = max(labels, key=lambda item: item[2] or 0)
    count = max(int(largest) + 1, widest or 0)
    if count > (widest or 0):
        culprit, verb, check = f"{key}'s largest label, {largest} at index {index},", "is", "that label"
    else:
        culprit, verb, check = f"{wide_key}'s one-hot rows, {widest:,} columns wide,", "are", "those rows"
    if count > MAX_CLASSES:
        classes = f"{count:,}" if count < 10 ** 16 else f"about {float(count):.3g}"
        raise L2BoardError(f"{where}: {culprit} would make {classes} classes, more than the {MAX_CLASSES:,} "
                           f"this network trains; check {check}.")
    used = len(np.unique(np.concatenate([values.astype(np.int64) for _, values, _ in labels])))
    if used * MIN_SHARE_USED < count:
        raise L2BoardError(f"{where}: the labels use only {used} of the {count:,} class numbers 0 to "
                           f"{count - 1}, so {culprit} {verb} likely a mistake; number the classes 0, 1, 2 "
                           "and so on without gaps.")
    return count


def _validated(where, x_train, y_train, x_test, y_test):
    """Checks loaded arrays before any conversion; one sentence naming the file and array if not sane.

    Returns:
        `(x_train, y_train, x_test, y_test, num_classes, one_hot)`: the images
        as given, int64 class numbers, and whether one-hot labels were converted.
    """
    x_train, y_train, x_test, y_test = (np.asarray(a) for a in (x_train, y_train, x_test, y_test))
    _check_images(where, "x_train", x_train)
    _check_images(where, "x_test", x_test)
    if _image_shape(x_train) != _image_shape(x_test):
        shapes = ["x".join(map(str, _image_shape(x))) for x in (x_train, x_test)]
        raise L2BoardError(f"{where}: x_train's images are {shapes[0]} but x_test's are {shapes[1]} "
                           "(height x width x channels); both must have the same shape.")
    labels = [("y_train", *_class_numbers(where, "y_train", y_train, len(x_train), "x_train")),
              ("y_test", *_class_numbers(where, "y_test", y_test, len(x_test), "x_test"))]
    num_classes = _class_count(where, labels)
    one_hot = any(columns for _, _, columns in labels)
    return x_train, labels[0][1].astype(np.int64), x_test, labels[1][1].astype(np.int64), num_classes, one_hot


def _as_images(x):
    """Float32 NHWC images in [0, 1] from validated images (integers are divided by 255)."""
    if x.ndim == 3:  # grayscale without a channel axis (MNIST)
        x = x[..., None]
    if np.issubdtype(x.dtype, np.integer):
        return (x / 255.0).astype(np.float32)  # the tutorial's scaling
    return x.astype(np.float32)


def _checked_options(validation, train_size, label_noise, seed):
    """Checks the arguments that need no data.

    Returns:
        `(fraction, label_noise)`: the validation fraction (None for the
        test set) and the label noise as floats.
    """
    fraction = None
    if not (isinstance(validation, str) and validation == "test"):
        try:
            fraction = float(validation)
        except (TypeError, ValueError):
            fraction = float("nan")
        if not 0 < fraction < 1:  # also refuses NaN
            raise L2BoardError(f"--validation must be 'test' or a fraction between 0 and 1, got {validation}.")
    if train_size is not None and (isinstance(train_size, bool) or not isinstance(train_size, numbers.Integral)):
        raise L2BoardError(f"--train-size must be a whole number, got {train_size}.")
    try:
        noise_ok = 0 <= float(label_noise) <= 1  # False for NaN
    except (TypeError, ValueError):
        noise_ok = False
    if not noise_ok:
        raise L2BoardError(f"--label-noise must be between 0 and 1, got {label_noise}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise L2BoardError(f"--seed must be a whole number 0 or above, got {seed}.")
    return fraction, float(label_noise)


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
        L2BoardError: unknown dataset, unreadable or damaged file, no
            network for a download, arrays that are not images and class
            numbers for them (see `_validated`), an absurd class count, or
            impossible options or sizes; one sentence each, naming the file
            and the array at fault. Nothing is converted before the checks.
    """
    fraction, label_noise = _checked_options(validation, train_size, label_noise, seed)
    name = os.fspath(name) if isinstance(name, os.PathLike) else name
    if name == "digits":
        (x_train, y_train), (x_test, y_test) = digits_images(seed=seed)
        source = where = "scikit-learn's handwritten digits enlarged to 32x32x3"
    elif name in KERAS_DATASETS:
        (x_train, y_train), (x_test, y_test) = _load_keras_dataset(name)
        source, where = f"{name} from keras.datasets", name
    elif isinstance(name, str) and name.endswith(".npz"):
        x_train, y_train, x_test, y_test = _load_npz(name)
        source = where = f"'{name}'"
    else:
        raise L2BoardError(f"Unknown dataset '{name}'; use one of {', '.join(DATASETS)} or a .npz file.")
    x_train, y_train, x_test, y_test, num_classes, one_hot = _validated(where, x_train, y_train, x_test, y_test)
    if one_hot:
        source += " (one-hot labels read as class numbers)"
    x_train, x_test = _as_images(x_train), _as_images(x_test)
    rng = np.random.default_rng(seed)
    if fraction is None:
        x_val, y_val = x_test, y_test
        held_out = "validated on the test set"
    else:
        order = rng.permutation(len(y_train))
        n_val = max(1, int(round(fraction * len(y_train))))
        if n_val >= len(y_train):
            raise L2BoardError(f"--validation {validation} holds out all {len(y_train)} training images of "
                               f"{where}, leaving none to train on.")
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
        y_train = add_label_noise(y_train, label_noise, num_classes, seed)
        noise = f", {100 * label_noise:.0f}% of training labels replaced by random ones"
    description = f"{len(y_train)} training images of {source}{noise}; {held_out} ({len(y_val)} images)."
    return Dataset(name, x_train, y_train, x_val, y_val, num_classes, description)
