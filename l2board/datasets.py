"""Data for training the documented CNN, offline where possible.

`digits_images` turns scikit-learn's bundled handwritten digits (1,797 real
8x8 scans, shipped inside the package, no download) into CIFAR-shaped
images, so the tutorial's network runs unchanged on a machine without
network access.
"""

import numpy as np


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
