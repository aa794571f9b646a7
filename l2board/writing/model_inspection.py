"""What L2Monitor reads of a Keras model: its regularization, its weights, its values, its place in a cluster.

This is the only module that knows where Keras keeps regularizers; the
rest of l2board works on the plain `RegularizationSetup` it returns.
Values are read through `keras.ops`, never through a backend's own API, so
that the JAX and PyTorch backends never import TensorFlow.
"""

import keras
import numpy as np
from keras import ops

from l2board.log_format.regularization_setup import (
    ActivityRegularizedLayer,
    RegularizationSetup,
    WeightVariable,
)


def relative_path(model, path):
    """Returns a variable or layer path without the model's own name in front.

    Sequential models put their name first (`documented_cnn/conv1/kernel`),
    functional ones do not; the name also changes between runs
    (`sequential_3`), so l2board tags never contain it.

    Args:
        model: the Keras model.
        path: a variable's or layer's `path`.

    Returns:
        The path relative to the model, e.g. `conv1/kernel`.
    """
    prefix = model.name + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def unique_weights(model):
    """Returns the model's weight variables, each once (shared layers too)."""
    seen = set()
    weights = []
    for variable in model.weights:
        if id(variable) not in seen:
            seen.add(id(variable))
            weights.append(variable)
    return weights


def penalized_weights(model):
    """Returns the variables whose penalty Keras adds to the loss, in its order.

    Keras 3 sums `variable.regularizer(variable)` over the model's
    trainable weights (`Layer._get_regularization_losses`), so frozen
    variables are left out and a shared layer counts once.
    """
    seen = set()
    chosen = []
    for variable in model.trainable_weights:
        if getattr(variable, "regularizer", None) is not None and id(variable) not in seen:
            seen.add(id(variable))
            chosen.append(variable)
    return chosen


def loss_term(value):
    """Returns a regularizer's value as Keras adds it to the loss.

    Keras 3 sums every term of `model.losses` to a scalar, cast to `floatx`
    first when it is not a float (`Trainer._aggregate_additional_loss`), so
    a regularizer may return a vector or an integer.

    Args:
        value: what a weight or activity regularizer returned.

    Returns:
        The summed value, a float32 scalar tensor.

    Example:

    >>> import numpy as np
    >>> float(loss_term(np.array([1, 2], dtype="int32")))
    3.0
    """
    value = ops.convert_to_tensor(value)
    if not keras.backend.is_float_dtype(value.dtype):
        value = ops.cast(value, keras.config.floatx())
    return ops.cast(ops.sum(value), "float32")


def activity_regularized_layers(model):
    """Returns each sublayer (or the model itself) with an activity regularizer."""
    found = []
    for layer in model._flatten_layers(include_self=True):
        if getattr(layer, "activity_regularizer", None) is not None:
            found.append(layer)
    return found


def layer_path(model, layer):
    """Returns a layer's path relative to the model, or its name."""
    path = getattr(layer, "path", None) or layer.name
    return relative_path(model, path) if layer is not model else layer.name


def describe_regularizer(regularizer):
    """Returns `(kind, l1, l2)` for a Keras regularizer.

    Args:
        regularizer: a `keras.regularizers.Regularizer` or a callable.

    Returns:
        `kind` is `"L1"`, `"L2"`, `"L1L2"` or the class name of anything
        else; `l1` and `l2` are the factors found in its config, or `None`.

    Example:

    >>> import keras
    >>> describe_regularizer(keras.regularizers.l2(0.01))
    ('L2', None, 0.01)
    """
    kind = type(regularizer).__name__
    try:
        config = regularizer.get_config()
    except Exception:  # custom regularizers need not implement get_config
        config = {}

    def factor(key):
        value = config.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    l1, l2 = factor("l1"), factor("l2")
    if kind == "L1L2":
        if not l1:
            kind, l1 = "L2", None
        elif not l2:
            kind, l2 = "L1", None
    return kind, l1, l2


def _weight_decay_of(optimizer):
    decay = getattr(optimizer, "weight_decay", None)
    if decay is None:
        return None
    try:
        decay = float(np.asarray(decay))
    except (TypeError, ValueError):
        return None
    return decay or None


def _decays(optimizer, variable):
    # Keras optimizers skip variables listed by exclude_from_weight_decay.
    use = getattr(optimizer, "_use_weight_decay", None)
    if use is None:
        return True
    try:
        return bool(use(variable))
    except Exception:
        return True


def inspect_regularization(model):
    """Reads everything that regularizes a Keras model.

    Args:
        model: a built Keras model, compiled or not.

    Returns:
        A `RegularizationSetup` with every weight variable (its regularizer,
        factors, whether Keras counts it, the weight decay it gets), the
        layers with activity regularizers and the optimizer's weight decay.

    Example:

    >>> from l2board.training.models import documented_cnn
    >>> inspect_regularization(documented_cnn()).label
    'L2 0.01 on conv1 (0.055% of weights)'
    """
    optimizer = getattr(model, "optimizer", None)
    decay = _weight_decay_of(optimizer) if optimizer is not None else None
    trainable_ids = {id(v) for v in model.trainable_weights}
    variables = []
    for variable in unique_weights(model):
        regularizer = getattr(variable, "regularizer", None)
        kind, l1, l2 = describe_regularizer(regularizer) if regularizer is not None else (None, None, None)
        trainable = id(variable) in trainable_ids
        variables.append(
            WeightVariable(
                path=relative_path(model, variable.path),
                size=int(np.prod(variable.shape)),
                trainable=trainable,
                regularizer=kind,
                l1=l1,
                l2=l2,
                weight_decay=decay if (decay and trainable and _decays(optimizer, variable)) else None,
            )
        )
    activity = []
    for layer in activity_regularized_layers(model):
        kind, l1, l2 = describe_regularizer(layer.activity_regularizer)
        activity.append(ActivityRegularizedLayer(layer_path(model, layer), kind, l1, l2))
    return RegularizationSetup(
        variables=tuple(variables),
        activity_layers=tuple(activity),
        optimizer=type(optimizer).__name__ if optimizer is not None else None,
        weight_decay=decay,
    )


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


def steps_taken(model):
    """How many steps the model's optimizer has taken (0 for a new model); `None` without an optimizer."""
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    return None if iterations is None else int(as_float(iterations))


def sync_weights(model):
    """Puts the current weights back into the model's variables, where a trainer keeps them elsewhere.

    The JAX trainer keeps the weights in its own state during an epoch (the
    model's variables are emptied): its public `jax_state_sync` puts the
    current ones back, without a copy or a wait.
    """
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def is_chief(model):
    """Whether this process writes logs: always, except a non-chief worker of a multi-worker strategy.

    The chief is the task of type `chief`, or worker 0 when the cluster has no
    chief, as `tf.distribute` defines it; on JAX, process 0.
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.process_index() == 0
    strategy = getattr(model, "distribute_strategy", None)
    resolver = getattr(strategy, "cluster_resolver", None)
    in_multi_worker = getattr(getattr(strategy, "extended", None), "_in_multi_worker_mode", None)
    if resolver is None or in_multi_worker is None or not in_multi_worker():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
