"""load_dataset on malformed .npz files: one sentence naming the file and the array, never a traceback.

Every test calls `load_dataset` directly on files made here; nothing trains
and nothing imports TensorFlow.
"""

import io
import os
import sys

import numpy as np
import pytest
from conftest import run_child

from l2board.training.datasets import load_dataset
from l2board.errors import L2BoardError

N_TRAIN, N_TEST = 40, 20


def arrays(seed=0):
    """A small valid data set: 8x8x3 uint8 images, labels 0 to 3."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (N_TRAIN, 8, 8, 3), dtype=np.uint8),
        "y_train": np.arange(N_TRAIN) % 4,
        "x_test": rng.integers(0, 256, (N_TEST, 8, 8, 3), dtype=np.uint8),
        "y_test": np.arange(N_TEST) % 4,
    }


def save(tmp_path, changes=None, saver=np.savez):
    """Writes `arrays()` with `changes(dict)` applied to data.npz; returns its path as the CLI passes it."""
    data = arrays()
    if changes:
        changes(data)
    path = str(tmp_path / "data.npz")
    saver(path, **data)
    return path


def refused(path, **options):
    """The one sentence load_dataset raises for `path`."""
    with pytest.raises(L2BoardError) as caught:
        load_dataset(path, **options)
    message = str(caught.value)
    assert "\n" not in message and message.endswith("."), message
    return message


def with_item(key, index, value, dtype=None):
    def change(data):
        data[key] = data[key].astype(dtype or data[key].dtype)
        data[key][index] = value
    return change


def setting(**new):
    return lambda data: data.update(new)


def one_hot(labels, columns):
    return np.eye(columns)[labels]


BAD_ARRAYS = [
    # label counts
    ("train_label_count", setting(y_train=np.arange(N_TRAIN - 1) % 4),
     "'PATH': y_train has 39 labels for 40 images in x_train."),
    ("test_label_count", setting(y_test=np.arange(N_TEST + 1) % 4),
     "'PATH': y_test has 21 labels for 20 images in x_test."),
    # 2-D labels that are not one-hot, and other shapes
    ("labels_n_by_3", setting(y_train=np.full((N_TRAIN, 3), 2)),
     "'PATH': y_train has shape (40, 3) and its rows are not one-hot (a single 1 among 0s); labels must be "
     "class numbers of shape (n,) or (n, 1), or one-hot rows of shape (n, classes)."),
    ("soft_labels", setting(y_test=np.full((N_TEST, 4), 0.25)),
     "'PATH': y_test has shape (20, 4) and its rows are not one-hot (a single 1 among 0s); labels must be "
     "class numbers of shape (n,) or (n, 1), or one-hot rows of shape (n, classes)."),
    ("labels_3d", setting(y_train=np.zeros((N_TRAIN // 4, 2, 2), int)),
     "'PATH': y_train has shape (10, 2, 2); labels must be "
     "class numbers of shape (n,) or (n, 1), or one-hot rows of shape (n, classes)."),
    # label values
    ("label_minus_1", with_item("y_train", 7, -1),
     "'PATH': y_train has a negative label (-1) at index 7; class numbers start at 0."),
    ("nan_label", with_item("y_test", 3, np.nan, float),
     "'PATH': y_test has a NaN label at index 3; labels must be whole class numbers from 0 up."),
    ("infinite_label", with_item("y_train", 0, np.inf, float),
     "'PATH': y_train has an infinite label at index 0; labels must be whole class numbers from 0 up."),
    ("label_2_5", with_item("y_train", 5, 2.5, float),
     "'PATH': y_train has a non-integer label (2.5) at index 5; labels must be whole class numbers from 0 up."),
    # empty and 0-d arrays
    ("no_training_images", setting(x_train=np.zeros((0, 8, 8, 3), np.uint8), y_train=np.zeros(0, int)),
     "'PATH': x_train holds no images (its shape is (0, 8, 8, 3))."),
    ("no_test_images", setting(x_test=np.zeros((0, 8, 8, 3), np.uint8), y_test=np.zeros(0, int)),
     "'PATH': x_test holds no images (its shape is (0, 8, 8, 3))."),
    ("no_labels", setting(y_train=np.zeros(0, int)),
     "'PATH': y_train holds no labels (its shape is (0,))."),
    ("0d_images", setting(x_train=np.array(3)),
     "'PATH': x_train is a single number (a 0-d array), not an array of images."),
    ("0d_labels", setting(y_train=np.array(3)),
     "'PATH': y_train is a single number (a 0-d array), not an array of labels."),
    # what the arrays hold
    ("string_labels", setting(y_train=np.array(["cat", "dog"] * (N_TRAIN // 2))),
     "'PATH': y_train holds text (strings); labels must be real numbers."),
    ("string_images", setting(x_test=np.array(["img"] * N_TEST)),
     "'PATH': x_test holds text (strings); images must be real numbers."),
    ("complex_images", setting(x_train=np.ones((N_TRAIN, 8, 8, 3), complex)),
     "'PATH': x_train holds complex numbers; images must be real numbers."),
    ("complex_labels", setting(y_test=np.ones(N_TEST, complex)),
     "'PATH': y_test holds complex numbers; labels must be real numbers."),
    # image shapes
    ("test_height_differs", setting(x_test=np.zeros((N_TEST, 9, 8, 3), np.uint8)),
     "'PATH': x_train's images are 8x8x3 but x_test's are 9x8x3 (height x width x channels); "
     "both must have the same shape."),
    ("test_channels_differ", setting(x_test=np.zeros((N_TEST, 8, 8), np.uint8)),
     "'PATH': x_train's images are 8x8x3 but x_test's are 8x8x1 (height x width x channels); "
     "both must have the same shape."),
    ("images_1d", setting(x_train=np.zeros(N_TRAIN)),
     "'PATH': x_train has shape (40,); images must be (n, height, width) or (n, height, width, channels)."),
    ("images_5d", setting(x_train=np.zeros((N_TRAIN, 8, 8, 3, 1))),
     "'PATH': x_train has shape (40, 8, 8, 3, 1); images must be (n, height, width) "
     "or (n, height, width, channels)."),
    ("images_of_height_0", setting(x_train=np.zeros((N_TRAIN, 0, 8, 3)), x_test=np.zeros((N_TEST, 0, 8, 3))),
     "'PATH': x_train has shape (40, 0, 8, 3); an image cannot have a side of 0."),
    # image values
    ("nan_pixel", with_item("x_train", (17, 2, 2, 0), np.nan, np.float32),
     "'PATH': x_train has NaN pixel values (the first in image 17)."),
    ("infinite_pixel", with_item("x_test", (4, 0, 0, 1), -np.inf, np.float64),
     "'PATH': x_test has infinite pixel values (the first in image 4)."),
    ("pixel_beyond_float32", with_item("x_train", (0, 0, 0, 0), 1e300, np.float64),
     "'PATH': x_train has values up to 1e+300, beyond the float32 range the network computes in."),
    # absurd class counts
    ("label_10_to_the_7", with_item("y_train", 3, 10 ** 7),
     "'PATH': y_train's largest label, 10000000 at index 3, would make 10,000,001 classes, "
     "more than the 10,000 this network trains; check that label."),
    ("label_10_to_the_5", with_item("y_test", 0, 10 ** 5),
     "'PATH': y_test's largest label, 100000 at index 0, would make 100,001 classes, "
     "more than the 10,000 this network trains; check that label."),
    ("label_2_to_the_64_minus_1", setting(y_train=np.full(N_TRAIN, 2 ** 64 - 1, np.uint64)),
     "'PATH': y_train's largest label, 18446744073709551615 at index 0, would make "
     "about 1.84e+19 classes, more than the 10,000 this network trains; check that label."),
    ("float_label_1e300", with_item("y_train", 2, 1e300, float),
     "'PATH': y_train's largest label, 1e+300 at index 2, would make "
     "about 1e+300 classes, more than the 10,000 this network trains; check that label."),
    ("label_500_among_0_to_3", with_item("y_train", 9, 500),
     "'PATH': the labels use only 5 of the 501 class numbers 0 to 500, so y_train's largest label, 500 at "
     "index 9, is likely a mistake; number the classes 0, 1, 2 and so on without gaps."),
    ("one_hot_20000_columns", setting(y_train=one_hot(np.arange(N_TRAIN) % 4, 20_000)),
     "'PATH': y_train's one-hot rows, 20,000 columns wide, would make 20,000 classes, "
     "more than the 10,000 this network trains; check those rows."),
    ("one_hot_5000_columns_using_4", setting(y_train=one_hot(np.arange(N_TRAIN) % 4, 5000)),
     "'PATH': the labels use only 4 of the 5,000 class numbers 0 to 4999, so y_train's one-hot rows, 5,000 "
     "columns wide, are likely a mistake; number the classes 0, 1, 2 and so on without gaps."),
]


@pytest.mark.parametrize("changes, message", [case[1:] for case in BAD_ARRAYS], ids=[case[0] for case in BAD_ARRAYS])
def test_malformed_arrays_are_refused_in_one_sentence_naming_file_and_array(tmp_path, changes, message):
    path = save(tmp_path, changes)
    assert refused(path) == message.replace("PATH", path)


@pytest.mark.parametrize("test_labels", ["one_hot", "class_numbers"])
def test_one_hot_labels_are_trained_on_as_class_numbers_and_said_so(tmp_path, test_labels):
    data = arrays()
    labels = data["y_train"]
    path = save(tmp_path, setting(y_train=one_hot(labels, 6).astype(np.float32),
                                  y_test=one_hot(data["y_test"], 6) if test_labels == "one_hot" else data["y_test"]))
    dataset = load_dataset(path)
    assert dataset.y_train.tolist() == labels.tolist() and dataset.y_train.dtype == np.int64
    assert dataset.y_val.tolist() == data["y_test"].tolist()
    assert dataset.num_classes == 6  # the columns, though only classes 0 to 3 occur
    assert dataset.description == (f"40 training images of '{path}' (one-hot labels read as class numbers); "
                                   "validated on the test set (20 images).")


def test_kept_behaviour_n_by_1_labels_whole_floats_and_boolean_images(tmp_path):
    # Already accepted before the checks (no failure to show); they must stay accepted.
    data = arrays()
    path = save(tmp_path, setting(y_train=data["y_train"].reshape(-1, 1), y_test=data["y_test"].astype(float),
                                  x_train=data["x_train"] > 127, x_test=data["x_test"] > 127))
    dataset = load_dataset(path)
    assert dataset.y_train.tolist() == data["y_train"].tolist()
    assert dataset.y_val.tolist() == data["y_test"].tolist() and dataset.y_val.dtype == np.int64
    assert dataset.x_train.dtype == np.float32 and set(np.unique(dataset.x_train)) == {0.0, 1.0}
    assert dataset.num_classes == 4


def test_class_count_covers_train_and_test_labels_so_a_tiny_train_size_works(tmp_path):
    # Like cifar100 with --train-size 1: the training labels alone use 2 of
    # 1,000 class numbers, but the test labels use all of them.
    path = save(tmp_path, setting(y_train=np.r_[np.zeros(N_TRAIN - 1, int), 999],
                                  x_test=np.zeros((1000, 8, 8, 3), np.uint8), y_test=np.arange(1000)))
    dataset = load_dataset(path, train_size=1)
    assert dataset.num_classes == 1000 and len(dataset.y_train) == 1


def test_npz_loading_imports_no_tensorflow(tmp_path):
    path = save(tmp_path)
    code = ("import sys; from l2board.training.datasets import load_dataset; load_dataset(sys.argv[1]); "
            "assert not {'tensorflow', 'keras'} & set(sys.modules), 'imported'")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run_child([sys.executable, "-c", code, path], check=True, cwd=root)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def valid_npz_bytes(saver=np.savez, small=False):
    data = arrays()
    if small:  # about 1 kB, for trying many damaged copies
        data = {key: value[:6, :4, :4] if key.startswith("x") else value[:6] for key, value in data.items()}
    buffer = io.BytesIO()
    saver(buffer, **data)
    return buffer.getvalue()


def flipped(data, index, bit=0):
    data = bytearray(data)
    data[index] ^= 1 << bit
    return bytes(data)


BAD_FILES = [
    ("empty_file", lambda: b"", "'PATH' is empty (0 bytes), not a NumPy .npz file."),
    ("text_file", lambda: b"x_train,y_train\n1,2\n",
     "'PATH' is not a NumPy .npz file (those are zip archives, and it is not one)."),
    ("renamed_npy", lambda: npy_bytes(np.zeros((4, 8, 8, 3))),
     "'PATH' holds a single array (a .npy file), not a .npz archive with x_train, y_train, x_test and y_test."),
    ("renamed_npy_of_objects", lambda: npy_bytes(np.array([{}], dtype=object)),
     "'PATH' holds a single array (a .npy file), not a .npz archive with x_train, y_train, x_test and y_test."),
    ("zip_cut_in_half", lambda: valid_npz_bytes()[:len(valid_npz_bytes()) // 2],
     "'PATH' is damaged or incomplete: it cannot be opened (File is not a zip file)."),
    ("zip_missing_its_last_byte", lambda: valid_npz_bytes()[:-1],
     "'PATH' is damaged or incomplete: it cannot be opened (File is not a zip file)."),
    ("bit_flipped_in_x_train", lambda: flipped(valid_npz_bytes(), 1000),
     "'PATH' is damaged or incomplete: x_train cannot be read (Bad CRC-32 for file 'x_train.npy')."),
]


@pytest.mark.parametrize("content, message", [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_unreadable_files_are_one_sentence(tmp_path, content, message):
    path = str(tmp_path / "data.npz")
    with open(path, "wb") as file:
        file.write(content())
    assert refused(path) == message.replace("PATH", path)


def test_object_array_is_named(tmp_path):
    path = save(tmp_path, setting(y_train=np.array([None] * N_TRAIN, dtype=object)))
    assert refused(path) == (f"'{path}': y_train holds Python objects (an object array), which l2board does not "
                             "load because loading them could run code; save it as an array of numbers.")


def test_directory_named_like_a_npz(tmp_path):
    # Already one sentence before; kept.
    path = tmp_path / "data.npz"
    path.mkdir()
    assert refused(str(path)) == f"Cannot read '{path}': Is a directory."


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.timeout(30)
def test_fifo_named_like_a_npz_is_refused_without_waiting(tmp_path):
    # open() on a FIFO waits for a writer: before, `train --dataset pipe.npz` hung.
    path = str(tmp_path / "pipe.npz")
    os.mkfifo(path)
    assert refused(path) == f"'{path}' is not a regular file (a FIFO, socket or device), so not a .npz file."


@pytest.mark.parametrize("saver", [np.savez, np.savez_compressed])
def test_truncated_or_bit_flipped_files_never_raise_anything_else(tmp_path, saver):
    # Damaged zips raise BadZipFile, zlib.error, EOFError, ValueError, OSError,
    # NotImplementedError, RuntimeError ("encrypted")...; each must become
    # one sentence, or load the intact arrays unchanged.
    good = valid_npz_bytes(saver, small=True)
    path = str(tmp_path / "data.npz")
    with open(path, "wb") as file:
        file.write(good)
    intact = load_dataset(path)
    rng = np.random.default_rng(0)
    variants = [good[:n] for n in range(0, len(good), 5)]
    places = zip(rng.integers(0, len(good), 300), rng.integers(0, 8, 300))
    variants += [flipped(good, int(index), int(bit)) for index, bit in places]
    outcomes = set()
    for content in variants:
        with open(path, "wb") as file:
            file.write(content)
        try:
            dataset = load_dataset(path)
        except L2BoardError as error:
            message = str(error)
            assert "\n" not in message and message.endswith(".") and path in message, message
            outcomes.add("refused")
            continue
        for field in ("x_train", "y_train", "x_val", "y_val"):
            assert np.array_equal(getattr(dataset, field), getattr(intact, field))
        outcomes.add("intact")
    assert outcomes == {"refused", "intact"}


# label_noise_nan, train_size_0 and train_size_negative were refused before
# too; they stay here so that the early checks keep them.
BAD_OPTIONS = [
    ("label_noise_nan", dict(label_noise=float("nan")), "--label-noise must be between 0 and 1, got nan."),
    ("label_noise_text", dict(label_noise="some"), "--label-noise must be between 0 and 1, got some."),
    ("train_size_0", dict(train_size=0), "--train-size must be between 1 and 40 for PATH, got 0."),
    ("train_size_negative", dict(train_size=-5), "--train-size must be between 1 and 40 for PATH, got -5."),
    ("train_size_2_5", dict(train_size=2.5), "--train-size must be a whole number, got 2.5."),
    ("validation_leaves_no_training_image", dict(validation=0.99),
     "--validation 0.99 holds out all 40 training images of 'PATH', leaving none to train on."),
    ("validation_text", dict(validation="half"),
     "--validation must be 'test' or a fraction between 0 and 1, got half."),
    ("seed_negative", dict(seed=-1), "--seed must be a whole number 0 or above, got -1."),
]


@pytest.mark.parametrize("options, message", [case[1:] for case in BAD_OPTIONS], ids=[case[0] for case in BAD_OPTIONS])
def test_bad_options_are_one_sentence(tmp_path, options, message):
    # The command line checks these too; load_dataset must not rely on it.
    path = save(tmp_path)
    assert refused(path, **options) == message.replace("PATH", path)
