"""What L2Monitor measures of a model in an epoch: the values it writes, tag by tag.

Everything is measured on the device and read back in one transfer (see
`device_statistics`). Keras adds the penalties to `loss` and `val_loss`;
the values here split them off:

- validation data loss is `val_loss` minus the weight penalty at the end of
  the epoch (the weights do not change during evaluation, so this is exact)
  minus the measured mean activity penalty;
- training loss is a mean over the epoch's batches while the weights change
  from batch to batch, so the weight penalty is measured before batches
  (the weights their loss used) and averaged per batch: before every batch
  in epochs of up to `PENALTY_SAMPLES_PER_EPOCH` batches, before that many
  evenly spaced ones, interpolated linearly, in longer epochs.
"""

import keras
import numpy as np

from l2board.log_format import tags
from l2board.writing.device_statistics import DeviceStatistics
from l2board.writing.model_inspection import as_float, penalized_weights, relative_path, sync_weights, unique_weights
from l2board.writing.weight_math import total_norms

# Measurements of the weight penalty per epoch for the training loss split;
# each costs a call into the backend, and a penalty changes smoothly.
PENALTY_SAMPLES_PER_EPOCH = 32


class Measurements:
    """Measures one model during a fit: per-variable penalties, norms, histograms, and the loss split.

    Kept from one fit to the next: the device computations (compiled once on
    JAX) of the weights last measured.
    """

    def __init__(self):
        self._statistics = None
        self._model = None
        self._weight_paths = []
        self._trainable_paths = set()
        self._penalized_paths = []
        self._epoch_steps = None
        self._sample_targets = None  # the batches before which to sample the penalty; None: every one
        self._penalty_samples = []  # (batch, tensor), read at the epoch's end
        self.batches_seen = 0

    def start(self, model):
        """Starts measuring `model`: its weights now are the start that distances are measured from."""
        self._model = model
        weights = unique_weights(model)
        self._weight_paths = [relative_path(model, v.path) for v in weights]
        trainable = {id(v) for v in model.trainable_weights}
        self._trainable_paths = {p for v, p in zip(weights, self._weight_paths) if id(v) in trainable}
        penalized = penalized_weights(model)
        self._penalized_paths = [relative_path(model, v.path) for v in penalized]
        # Keras runs an eager model's regularizers as they are at each batch: so are its penalties measured.
        traced = not getattr(model, "run_eagerly", False)
        if self._statistics is None or not self._statistics.measures(weights, penalized, traced):
            self._statistics = DeviceStatistics(weights, penalized,
                                                {id(v): p for v, p in zip(penalized, self._penalized_paths)}, traced)
        sync_weights(model)
        self._statistics.start()

    def start_epoch(self, steps):
        """Starts an epoch of `steps` batches (`None`: unknown, and then every batch is sampled)."""
        self._epoch_steps = steps
        self._sample_targets = sample_batches(steps, PENALTY_SAMPLES_PER_EPOCH) if steps else None
        self._penalty_samples = []
        self.batches_seen = 0

    def before_batch(self, batch):
        """Samples the weight penalty before a batch when it is due: the loss of the batch uses the weights as they are now."""
        self.batches_seen = batch + 1
        targets = self._sample_targets
        if self._penalized_paths and (targets is None or (targets and batch >= targets[0])):
            sync_weights(self._model)
            # A tensor, not a number: reading it now would make Keras wait.
            self._penalty_samples.append((batch, self._statistics.penalty()))
            while targets and targets[0] <= batch:
                targets.pop(0)

    def values(self, logs, train_activity, val_activity, bucket_count, at_batch_end):
        """Returns the values to write for the train and validation folders, and the histograms.

        Args:
            logs: Keras's logs of the epoch or batch.
            train_activity, val_activity: `{layer path: mean activity penalty}`
                of training and validation (`None`: no validation).
            bucket_count: histogram buckets; 0 for none.
            at_batch_end: whether this is a batch's values (the epoch goes on).

        Returns:
            `(train, validation, histograms)`: `{tag: value}` twice, and
            `{variable path: buckets}` or `None`.
        """
        sync_weights(self._model)
        per_variable, samples, norms, histograms = self._statistics.measure(
            [tensor for _, tensor in self._penalty_samples], bucket_count)
        weight_penalty = float(per_variable.sum())
        train = {tags.PENALTY_TOTAL: weight_penalty}
        train.update({tags.variable_penalty(p): float(v) for p, v in zip(self._penalized_paths, per_variable)})
        train.update({tags.activity_penalty(p): v for p, v in train_activity.items()})
        for path, values in zip(self._weight_paths, norms):
            for kind, value in values.items():
                train[tags.variable_norm(kind, path)] = value
        trainable = [n for p, n in zip(self._weight_paths, norms) if p in self._trainable_paths]
        for kind, value in total_norms(trainable).items():
            train[tags.norm_total(kind)] = value

        n_batches = self.batches_seen if at_batch_end else (self._epoch_steps or self.batches_seen)
        batches = [b for b, _ in self._penalty_samples]
        mean_weight_penalty = mean_over_batches(batches, samples, n_batches, weight_penalty)
        train.update(loss_split(logs.get("loss"), mean_weight_penalty + sum(train_activity.values())))

        validation = {}
        if not at_batch_end and "val_loss" in logs:
            val_penalty = weight_penalty + sum((val_activity or {}).values())
            validation.update(loss_split(logs.get("val_loss"), val_penalty))
        named = dict(zip(self._weight_paths, histograms)) if histograms is not None else None
        return train, validation, named


def loss_split(loss, penalty):
    """`{tag: value}` of a loss split into its penalty, its data loss and the penalty's share.

    Example:

    >>> loss_split(2.0, 0.5)
    {'epoch_penalty': 0.5, 'epoch_data_loss': 1.5, 'epoch_penalty_share': 0.25}
    >>> loss_split(None, 0.5)
    {'epoch_penalty': 0.5}
    """
    values = {tags.PENALTY: penalty}
    if loss is None or not is_number(loss):
        return values
    loss = as_float(loss)
    values[tags.DATA_LOSS] = loss - penalty
    values[tags.PENALTY_SHARE] = penalty_share(penalty, loss)
    return values


def standard_metrics(logs, model):
    """The metrics of `keras.callbacks.TensorBoard` in Keras's logs: `({tag: value} of train/, of validation/)`."""
    train, validation = {}, {}
    for name, value in logs.items():
        if not is_number(value):
            continue
        if name.startswith("val_"):
            validation[tags.EPOCH_PREFIX + name[4:]] = as_float(value)
        else:
            train[tags.EPOCH_PREFIX + name] = as_float(value)
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    if isinstance(optimizer, keras.optimizers.Optimizer) and "learning_rate" not in logs:
        train[tags.EPOCH_PREFIX + "learning_rate"] = as_float(optimizer.learning_rate)
    return train, validation


def is_number(value):
    """Whether a logged value is one number (a Python or NumPy number, a one-element tensor)."""
    try:
        float(np.asarray(value))
    except (TypeError, ValueError):
        return False
    return np.asarray(value).size == 1


def penalty_share(penalty, loss):
    """Returns the share of a loss that is regularization penalty.

    Args:
        penalty: the penalty included in `loss`.
        loss: the total loss.

    Returns:
        `penalty / loss`, or NaN when the loss is zero or not finite.

    Example:

    >>> penalty_share(0.5, 2.0)
    0.25
    """
    if not np.isfinite(loss) or loss == 0:
        return float("nan")
    return float(penalty / loss)


def sample_batches(n_batches, max_samples):
    """Chooses the batches before which to measure a changing penalty.

    Measuring before every batch costs a call per batch; a penalty changes
    smoothly over an epoch, so up to `max_samples` evenly spaced batches,
    always including the first, are enough for its mean (see
    `mean_over_batches`).

    Args:
        n_batches: the batches in the epoch.
        max_samples: the most batches to choose, at least 1.

    Returns:
        A sorted list of batch indices.

    Example:

    >>> sample_batches(5, 32), sample_batches(10, 4)
    ([0, 1, 2, 3, 4], [0, 3, 6, 9])
    """
    if n_batches <= max_samples:
        return list(range(n_batches))
    return sorted({int(round(i)) for i in np.linspace(0, n_batches - 1, max_samples)})


def mean_over_batches(batches, values, n_batches, end_value):
    """Returns the mean over an epoch's batches of a penalty measured at some of them.

    Between measurements the penalty is interpolated linearly; after the last
    one it runs towards `end_value`, the penalty of the weights at the end
    of the epoch (what a batch after the last one would see). Measured
    before every batch, this is the plain mean.

    Args:
        batches: indices of the batches the penalty was measured before.
        values: the penalty measured before each of those batches.
        n_batches: the batches in the epoch.
        end_value: the penalty after the last batch.

    Returns:
        The mean penalty over batches `0 .. n_batches - 1`.

    Example:

    >>> mean_over_batches([0, 2], [4.0, 2.0], 4, 0.0)  # 4, 3, 2, 1
    2.5
    """
    if n_batches <= 0 or not len(batches):
        return float(end_value)
    xs = np.append(np.asarray(batches, dtype=np.float64), n_batches)
    ys = np.append(np.asarray(values, dtype=np.float64), end_value)
    return float(np.interp(np.arange(n_batches), xs, ys).mean())
