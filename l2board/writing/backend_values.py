"""Reading values out of Keras, whatever its backend (TensorFlow, JAX, PyTorch).

The callback reads numbers through `keras.ops`, never through a backend's
own API, so that the JAX and PyTorch backends never import TensorFlow.
"""

import keras
import numpy as np
from keras import ops


def to_numpy(value):
    """Returns a Keras variable, a backend tensor or a number as a NumPy array (on the host)."""
    if isinstance(value, keras.Variable):
        value = value.value
    if ops.is_tensor(value):
        return np.asarray(ops.convert_to_numpy(value))
    return np.asarray(value)


def as_float(value):
    """Returns a logged value (Keras variable, tensor, NumPy or Python number) as a float.

    Example:

    >>> as_float(np.float32(0.5)), as_float(keras.Variable(2.0))
    (0.5, 2.0)
    """
    return float(to_numpy(value))
