"""`L2Monitor`: the Keras callback that makes regularization visible in TensorBoard."""

import copy
import json
import math
import numbers
import os
import warnings

import keras
import numpy as np

from l2board.log_format import tags
from l2board.writing.activity_recording import ActivityRecorder, records_activity
from l2board.writing.histograms import DEFAULT_BUCKET_COUNT
from l2board.writing.model_inspection import (
    inspect_regularization,
    penalized_weights,
    relative_path,
    unique_weights,
)
from l2board.writing.device_statistics import DeviceStatistics
from l2board.writing.penalties import diagnose_penalty_share, penalty_share
from l2board.writing.penalty_sampling import mean_over_batches, sample_batches
from l2board.writing.weight_norms import total_norms
from l2board.log_format.regularization_setup import format_percent
from l2board.writing.log_folder import ensure_writable_dir, holds_logged_values, make_fresh_log_dir, sibling_run_dir
from l2board.writing.backend_values import as_float

# Where every number is measured as exactly as on TensorFlow (activity
# penalties not on JAX: see records_activity).
SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")
LOW_COVERAGE = 0.01
HIGH_PENALTY_SHARE = 0.5
# The most histogram buckets: TensorBoard draws a few dozen; each costs a
# row in every histogram of every epoch.
MAX_BUCKET_COUNT = 10_000
# Measurements of the weight penalty per epoch for the training loss split;
# each costs a call into the backend, and a penalty changes smoothly.
PENALTY_SAMPLES_PER_EPOCH = 32


class L2MonitorWarning(UserWarning):
    """A plain-words warning about a model's regularization, given once per run."""


class L2Monitor(keras.callbacks.Callback):
    """Logs what regularization does to a model to TensorBoard during `fit`.

    At the end of every epoch (and every `update_freq` batches) it writes,
    beside the standard metrics of `keras.callbacks.TensorBoard`:

    - the penalty of every regularized variable (what Keras adds to the
      loss: `variable.regularizer(variable)`), the activity penalty of each
      layer, and their total;
    - the *data loss*, training and validation loss without any penalty,
      which is what runs with different regularization can be compared on
      (Keras adds the penalties to both `loss` and `val_loss`);
    - the penalty's share of the loss;
    - the L2, L1 and max-abs norms of every weight variable, its distance
      from the weights at the start of `fit`, and model totals;
    - weight histograms every `histogram_freq` epochs;
    - the regularization setup (regularizer and factor of each variable,
      the optimizer's weight decay, coverage) as text and as HParams.

    It warns once, in plain words, when nothing regularizes the model,
    when penalties cover under 1% of the parameters, when the penalty is
    over half of the loss (naming the cause: a factor so large that the
    penalty is large against the data loss of the first epoch, or a data
    loss that has all but vanished because the model fits its training set),
    and when the loss or penalty is NaN or infinite.
    The tags and folder layout are documented in `docs/log-format.md`.

    How the data loss is computed: validation data loss is `val_loss`
    minus the weight penalty at the end of the epoch (the weights do not
    change during evaluation, so this is exact) minus the measured mean
    activity penalty. Training loss is a mean over the epoch's batches
    while the weights change from batch to batch, so the weight penalty is
    measured before batches (the weights their loss used) and averaged per
    batch: before every batch in epochs of up to 32 batches, before 32
    evenly spaced ones, interpolated linearly, in longer epochs. That costs
    a few milliseconds an epoch and agrees with the loss Keras computes to
    well within 0.1% (a smaller last batch counts as much as the others,
    where Keras weights by size). Activity penalties depend on the data and
    are measured as the model runs, as Keras adds them: every call of a
    layer and every output, each divided by its batch size, and batches
    weighted as in `loss`. Other `add_loss` terms are not regularization
    and stay in the data loss.

    Args:
        log_dir: the run folder; `train/` and `validation/` are written
            inside it, as by `keras.callbacks.TensorBoard`. Default: a new
            folder under `logs/` named by date and time, created when
            training begins (`log_dir` is `None` until then). A `fit` that
            goes on training the same model (or one restored from a
            checkpoint) adds to the run; a `fit` of a new model into a
            folder that already holds a run (the script run again, a second
            model given this callback, a stock KerasTuner search) writes to
            a new sibling folder, `<log_dir>-2`, `-3`, ..., with an
            `L2MonitorWarning`: two models never make one run.
            `run_dir` is the folder the current or last fit writes to.
        histogram_freq: write weight histograms every this many epochs;
            0 turns them off. Default: 1.
        update_freq: `"epoch"` (default), `"batch"`, or an integer N to
            also write batch-level values every N batches, at the
            optimizer's iteration count as step, under tags prefixed
            `batch_`.
        bucket_count: histogram buckets, 1 to 10,000. Default: 30, as
            TensorBoard.
        write_standard_metrics: `True` (default) also writes the standard
            metrics of `keras.callbacks.TensorBoard` (`epoch_loss`,
            `epoch_accuracy`, ..., and `batch_` ones with `update_freq`), so
            that one callback is enough. Pass `False` when a
            `keras.callbacks.TensorBoard` writes to the same folder.
        verbose: 1 or 2 (default 1) prints once where the logs go; 0 is
            silent. A bool means 1 or 0.
        hparams: the run's own hyperparameters, `{name: number, string or
            bool}`, written beside the regularization setup for
            TensorBoard's HParams dashboard and for `l2board compare`, which
            groups runs by them. In a KerasTuner search made with
            `l2board.tuning`, each trial's hyperparameters are added.

    Every argument is checked when the callback is created: a `ValueError`
    (a `TypeError` for a `log_dir` that is no path) names the one that is
    wrong.

    Example:

    ```python
    model.fit(x, y, validation_data=(x_val, y_val), epochs=10,
              callbacks=[l2board.L2Monitor("logs/run1")])
    # then: tensorboard --logdir logs
    ```
    """

    def __init__(
        self,
        log_dir=None,
        histogram_freq=1,
        update_freq="epoch",
        bucket_count=DEFAULT_BUCKET_COUNT,
        write_standard_metrics=True,
        verbose=1,
        hparams=None,
    ):
        super().__init__()
        self.log_dir = _checked_log_dir(log_dir)
        self.hparams = _checked_hparams(hparams)
        if isinstance(update_freq, str) and update_freq in ("epoch", "batch"):
            update_freq = 1 if update_freq == "batch" else update_freq
        else:
            update_freq = _checked_int("update_freq", update_freq, 1, None, "'epoch', 'batch' or a positive integer")
        self.histogram_freq = _checked_int("histogram_freq", histogram_freq, 0, None, "a non-negative integer")
        self.update_freq = update_freq
        self.bucket_count = _checked_int("bucket_count", bucket_count, 1, MAX_BUCKET_COUNT,
                                         f"an integer from 1 to {MAX_BUCKET_COUNT:,}")
        if not isinstance(write_standard_metrics, (bool, np.bool_)):
            raise ValueError(f"write_standard_metrics must be True or False, got {write_standard_metrics!r} (False "
                             "when a keras.callbacks.TensorBoard writes to the same folder).")
        self.write_standard_metrics = bool(write_standard_metrics)
        if isinstance(verbose, bool):
            verbose = int(verbose)
        self.verbose = _checked_int("verbose", verbose, 0, 2, "0, 1, 2 or a bool")
        if update_freq == "epoch":
            # A callback that overrides on_train_batch_end makes Keras wait
            # for every batch; with nothing to do there, keep Keras's default.
            self.on_train_batch_end = keras.callbacks.Callback.on_train_batch_end.__get__(self)
        # Kept from one fit to the next: the warnings given, the announcement,
        # the activity recorder of the model last set, and the measurements
        # (compiled once on JAX) of the weights last measured.
        self._warned = set()
        self._announced = False
        self._activity = None
        self._statistics = None
        # Set by l2board.tuning for a tuner's trial: the HParams group, and
        # the folder each copy (one per execution) writes to.
        self._hparams_group = None
        self._copy_folders = None
        # The folder the current or last fit writes to, and the log_dir it was
        # chosen for (see `_run_folder`); a default log_dir names dated folders.
        self.run_dir = None
        self._run_dir_of = None
        self._dated = False
        self._reset()

    def _reset(self):
        """Sets the state of one `fit`: what is known of the model and of the epoch under way."""
        self._in_fit = False
        self._writers = None
        self._setup = None
        self._weights = []  # every weight variable, once
        self._weight_paths = []
        self._trainable_paths = set()
        self._penalized_paths = []
        self._setup_written = False
        self._first_data_loss = None  # the training data loss of the first epoch: what the model started from
        self._epoch = None
        self._epoch_steps = None
        self._sample_targets = None  # the batches before which to sample the penalty; None: every one
        self._penalty_samples = []  # (batch, tensor), read at the epoch's end
        self._batches_seen = 0
        self._train_activity = None  # the training activity penalties, kept while validation runs

    # -- Keras hooks --------------------------------------------------------

    def set_model(self, model):
        super().set_model(model)
        if not records_activity():
            return  # see on_train_begin
        if self._activity is None or self._activity.model is not model:
            if self._activity is not None:
                self._activity.restore()
            # Before fit traces its train function, so the twins are traced.
            self._activity = ActivityRecorder(model)

    def on_train_begin(self, logs=None):
        _check_backend()
        self._reset()
        self._in_fit = True
        self._writers = self._open_writers()
        self._inspect(self.model)
        self._warn_about_setup()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        # With an unknown epoch length every batch is sampled.
        self._epoch_steps = (self.params or {}).get("steps")
        self._sample_targets = sample_batches(self._epoch_steps, PENALTY_SAMPLES_PER_EPOCH) if self._epoch_steps else None
        self._penalty_samples = []
        self._batches_seen = 0
        self._train_activity = None
        if self._activity:
            self._activity.reset()
        if not self._setup_written:
            self._write_setup(epoch)
            self._setup_written = True

    def on_train_batch_begin(self, batch, logs=None):
        # The loss of this batch is computed with the weights as they are now.
        self._batches_seen = batch + 1
        targets = self._sample_targets
        if self._penalized_paths and (targets is None or (targets and batch >= targets[0])):
            self._sync_weights()
            # A tensor, not a number: reading it now would make Keras wait.
            self._penalty_samples.append((batch, self._statistics.penalty()))
            while targets and targets[0] <= batch:
                targets.pop(0)

    def on_train_batch_end(self, batch, logs=None):
        step = int(as_float(self.model.optimizer.iterations)) if self.model.optimizer is not None else None
        if step is None or step % self.update_freq:
            return
        self._sync_weights()
        train, _, _ = self._summaries(logs or {}, self._activity_means(), None, bucket_count=0, at_batch_end=True)
        batch_values = {tags.at_batch_level(tag): value for tag, value in train.items()}
        if self.write_standard_metrics:
            batch_values.update({f"{tags.BATCH_PREFIX}{name}": as_float(value) for name, value in (logs or {}).items()
                                 if _is_number(value)})
        self._writers[tags.TRAIN_DIR].scalars(batch_values, step)

    def on_test_begin(self, logs=None):
        if self._writers is not None and self._activity and self._train_activity is None:
            self._train_activity = self._activity_means()
            self._activity.reset()

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._release_model()

    def on_predict_end(self, logs=None):
        if not self._in_fit:
            self._release_model()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        activity = self._activity_means()
        train_activity, val_activity = (activity, None) if self._train_activity is None else (self._train_activity,
                                                                                                activity)
        buckets = self.bucket_count if self.histogram_freq and epoch % self.histogram_freq == 0 else 0
        self._sync_weights()
        train, validation, histograms = self._summaries(logs, train_activity, val_activity, buckets, at_batch_end=False)
        if self.write_standard_metrics:
            self._add_standard_metrics(logs, train, validation)
        self._write_epoch(epoch, train, validation, histograms)
        self._check_health(train, validation, epoch)

    def on_train_end(self, logs=None):
        if self._writers and self._epoch is not None:
            end = {"last_epoch": self._epoch, "epochs_requested": (self.params or {}).get("epochs"),
                   "stopped_early": bool(getattr(self.model, "stop_training", False))}
            self._writers[tags.TRAIN_DIR].text({tags.TRAINING_END: json.dumps(end)}, self._epoch)
        if self._writers:
            for writer in self._writers.values():
                writer.close()
        self._writers = None
        self._in_fit = False
        self._release_model()

    # -- what the hooks need --------------------------------------------------

    def _inspect(self, model):
        self._setup = inspect_regularization(model)
        self._weights = unique_weights(model)
        self._weight_paths = [relative_path(model, v.path) for v in self._weights]
        trainable = {id(v) for v in model.trainable_weights}
        self._trainable_paths = {p for v, p in zip(self._weights, self._weight_paths) if id(v) in trainable}
        penalized = penalized_weights(model)
        self._penalized_paths = [relative_path(model, v.path) for v in penalized]
        if self._statistics is None or not self._statistics.measures(self._weights, penalized):
            self._statistics = DeviceStatistics(self._weights, penalized,
                                                {id(v): p for v, p in zip(penalized, self._penalized_paths)})
        self._sync_weights()
        self._statistics.start()

    def _warn_about_setup(self):
        setup = self._setup
        if setup.activity_layers and not records_activity():
            self._warn_once("activity", f"Activity penalties are measured on the TensorFlow and PyTorch backends only: on "
                            f"{keras.backend.backend()} the logged data loss still includes those of "
                            f"{', '.join(layer.path for layer in setup.activity_layers)}.")
        if not setup.is_regularized:
            self._warn_once("none", "Nothing regularizes this model: no weight or activity "
                            "regularizer and no weight decay, so L2Monitor has no penalty to show.")
        elif setup.coverage < LOW_COVERAGE and not setup.activity_layers:
            # (Coverage counts weights; activity regularization acts on activations.)
            self._warn_once("coverage", f"{setup.label}: regularization that covers under "
                            f"{format_percent(LOW_COVERAGE)} of the trainable parameters can hardly change "
                            "how the model fits.")

    def _open_writers(self):
        # In multi-worker training every worker computes the same numbers (its
        # reads must match the others'), but only the chief writes.
        if not is_chief(self.model):
            return {name: _DiscardingWriter() for name in ("root", tags.TRAIN_DIR, tags.VALIDATION_DIR)}
        self.run_dir = self._run_folder()
        ensure_writable_dir(self.run_dir)
        writer = _writer_class()
        if self.verbose and not self._announced:
            print(f"L2Monitor: writing TensorBoard logs to {self.run_dir}")
            self._announced = True
        return {"root": writer(self.run_dir),
                tags.TRAIN_DIR: writer(os.path.join(self.run_dir, tags.TRAIN_DIR)),
                tags.VALIDATION_DIR: writer(os.path.join(self.run_dir, tags.VALIDATION_DIR))}

    def _run_folder(self):
        """Where this fit writes: never into a run of another model.

        A fit that goes on training a model (its optimizer has stepped:
        a second `fit`, or a model restored from a checkpoint) writes where
        the last fit wrote, or to `log_dir`, as `keras.callbacks.TensorBoard`
        does. A fit of a new model whose folder already holds logged values
        (a script run twice, a second model given the same callback, a stock
        KerasTuner search) writes to a new sibling, `<log_dir>-2`, `-3`, ...,
        and says so; with `log_dir=None` each new model gets a new dated
        folder under `logs/`.
        """
        fresh = _steps_taken(self.model) == 0
        if self.log_dir is None or self._dated:
            self._dated = True
            if self.run_dir is None or (fresh and holds_logged_values(self.run_dir)):
                self.log_dir = make_fresh_log_dir("logs")
                return self.log_dir
            return self.run_dir
        last = self.run_dir if self._run_dir_of == self.log_dir else None
        folder = self.log_dir if last is None or fresh else last
        if fresh and holds_logged_values(folder):
            taken, folder = folder, sibling_run_dir(self.log_dir)
            warnings.warn(f"{taken} already holds a run, so this fit of a new model writes to {folder} instead of "
                          "mixing the two (in a KerasTuner search, l2board.TensorBoard or l2board.tuning gives each "
                          "trial and execution a folder of its own).", L2MonitorWarning, stacklevel=4)
        self._run_dir_of = self.log_dir
        return folder

    def _sync_weights(self):
        # The JAX trainer keeps the weights in its own state during an epoch
        # (the model's variables are emptied): its public jax_state_sync puts
        # the current ones back, without a copy or a wait.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def _release_model(self):
        # Whatever ran (fit, evaluate, predict), the model gets its own
        # activity regularizers back.
        if self._activity is not None:
            self._activity.restore()
            self._activity = None

    # -- measuring ----------------------------------------------------------

    def _activity_means(self):
        # Batches seen: the weighting when Keras's loss tracker counts none.
        return self._activity.means(max(self._batches_seen, 1)) if self._activity else {}

    def _summaries(self, logs, train_activity, val_activity, bucket_count, at_batch_end):
        """Returns the values to write for the train and validation folders, and the histograms.

        Everything is measured on the device and read back in one transfer.
        """
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

        n_batches = self._batches_seen if at_batch_end else (self._epoch_steps or self._batches_seen)
        batches = [b for b, _ in self._penalty_samples]
        mean_weight_penalty = mean_over_batches(batches, samples, n_batches, weight_penalty)
        self._add_loss_split(train, logs.get("loss"), mean_weight_penalty + sum(train_activity.values()))

        validation = {}
        if not at_batch_end and "val_loss" in logs:
            val_penalty = weight_penalty + sum((val_activity or {}).values())
            self._add_loss_split(validation, logs.get("val_loss"), val_penalty)
        named = dict(zip(self._weight_paths, histograms)) if histograms is not None else None
        return train, validation, named

    @staticmethod
    def _add_loss_split(values, loss, penalty):
        values[tags.PENALTY] = penalty
        if loss is None or not _is_number(loss):
            return
        loss = as_float(loss)
        values[tags.DATA_LOSS] = loss - penalty
        values[tags.PENALTY_SHARE] = penalty_share(penalty, loss)

    def _add_standard_metrics(self, logs, train, validation):
        for name, value in logs.items():
            if not _is_number(value):
                continue
            if name.startswith("val_"):
                validation[tags.EPOCH_PREFIX + name[4:]] = as_float(value)
            else:
                train[tags.EPOCH_PREFIX + name] = as_float(value)
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if isinstance(optimizer, keras.optimizers.Optimizer) and "learning_rate" not in logs:
            train[tags.EPOCH_PREFIX + "learning_rate"] = as_float(optimizer.learning_rate)

    # -- writing and warning ------------------------------------------------

    def _write_setup(self, step):
        texts = {tags.SETUP_TEXT: self._setup.markdown(), tags.SETUP_JSON: self._setup.to_json()}
        if self.hparams:
            texts[tags.HPARAMS_JSON] = json.dumps(self.hparams, sort_keys=True)
        self._writers[tags.TRAIN_DIR].text(texts, step)
        group = self._hparams_group or os.path.basename(os.path.abspath(self.run_dir or ""))
        self._writers["root"].hparams({**self._setup.hparams(), **self.hparams}, trial_id=group)

    def __deepcopy__(self, memo):
        # KerasTuner copies the callbacks for every execution of a trial;
        # in a search made with l2board.tuning each copy gets its own folder.
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        for name, value in self.__dict__.items():
            setattr(copied, name, value if name == "_copy_folders" else copy.deepcopy(value, memo))
        if self._copy_folders is not None:
            copied.log_dir = next(self._copy_folders)
            copied._copy_folders = None
        return copied

    def _write_epoch(self, epoch, train, validation, histograms):
        self._writers[tags.TRAIN_DIR].scalars(train, epoch)
        if validation:
            self._writers[tags.VALIDATION_DIR].scalars(validation, epoch)
        if histograms:
            self._writers[tags.TRAIN_DIR].histograms({tags.weight_histogram(p): h for p, h in histograms.items()},
                                                     epoch)
        for writer in self._writers.values():
            writer.flush()

    def _check_health(self, train, validation, epoch):
        for folder, values in ((tags.TRAIN_DIR, train), (tags.VALIDATION_DIR, validation)):
            for tag in (tags.EPOCH_PREFIX + "loss", tags.PENALTY, tags.DATA_LOSS):
                value = values.get(tag)
                if value is not None and not math.isfinite(value):
                    self._warn_once("nonfinite", f"The {folder} {tag} is {value} at epoch {epoch}; training "
                                    "has diverged (a smaller learning rate or regularization factor may help).",
                                    epoch)
        penalty, data_loss, share = (train.get(tag) for tag in (tags.PENALTY, tags.DATA_LOSS, tags.PENALTY_SHARE))
        if data_loss is None:
            return
        if self._first_data_loss is None and math.isfinite(data_loss):
            self._first_data_loss = data_loss  # what the model started from
        first = self._first_data_loss
        if first is None:
            return
        cause = diagnose_penalty_share(penalty, data_loss, first, high_share=HIGH_PENALTY_SHARE)
        if cause == "large_factor":
            self._warn_once("share", f"The penalty is {100 * share:.0f}% of the training loss at epoch {epoch}, "
                            f"{penalty / first:.3g} times the data loss of the first epoch: the factor is so large "
                            "that regularization dominates what the model learns; consider a smaller factor.", epoch)
        elif cause == "memorized":
            self._warn_once("memorized", f"The training data loss has fallen to {format_percent(data_loss / first)} "
                            f"of the first epoch's at epoch {epoch}: the model fits its training set almost exactly "
                            f"(it may be memorizing it), which is why the penalty is {100 * share:.0f}% of the "
                            "training loss, not a large factor; the validation data loss shows whether it overfits.",
                            epoch)

    def _warn_once(self, key, message, step=None):
        if key in self._warned:
            return
        self._warned.add(key)
        warnings.warn(message, L2MonitorWarning, stacklevel=3)
        if self._writers is not None:
            self._writers[tags.TRAIN_DIR].text({tags.WARNINGS_TEXT: message}, step if step is not None else 0)


def _checked_log_dir(log_dir):
    if log_dir is None:
        return None
    if not isinstance(log_dir, (str, os.PathLike)):
        raise TypeError(f"log_dir must be a folder path (str or os.PathLike) or None, got {log_dir!r}.")
    path = os.fspath(log_dir)
    if not isinstance(path, str) or not path or "\0" in path:
        raise ValueError(f"log_dir must be a non-empty text path without NUL characters, got {log_dir!r}.")
    return path


def _checked_hparams(hparams):
    if hparams is None:
        return {}
    if not isinstance(hparams, dict):
        raise ValueError(f"hparams must be a dict of names to numbers, strings or bools, got {hparams!r}.")
    checked = {}
    for name, value in hparams.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"hparams must be keyed by non-empty strings, got {name!r}.")
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, tags.HPARAM_TYPES) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"hparams must be finite numbers, strings or bools, got {value!r} for '{name}'.")
        checked[name] = value
    return checked


def _checked_int(name, value, low, high, expected):
    # A bool is an int in Python, and not what anyone means by a count.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or not (
            low <= value and (high is None or value <= high)):
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return int(value)


def _check_backend():
    if keras.backend.backend() not in SUPPORTED_BACKENDS:
        # Keras's numpy and openvino backends do not train: nothing to measure.
        raise RuntimeError(
            f"L2Monitor supports Keras's {', '.join(SUPPORTED_BACKENDS)} backends; this one is "
            f"'{keras.backend.backend()}'.")


def _writer_class():
    """The event writer: tf.summary on TensorFlow, TensorBoard's format without TensorFlow elsewhere.

    On TensorFlow, tf.summary writes to any path TensorFlow reads (gs://);
    on JAX, importing TensorFlow would cost seconds and claim GPU memory.
    """
    if keras.backend.backend() == "tensorflow":
        from l2board.writing.summary_writing import RunWriter

        return RunWriter
    from l2board.writing.event_writer import EventFileRunWriter

    return EventFileRunWriter


class _DiscardingWriter:
    """A run writer that writes nothing: what a non-chief worker uses."""

    def __getattr__(self, name):
        if name in ("scalars", "histograms", "text", "hparams", "flush", "close"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


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


def _steps_taken(model):
    """How many steps the model's optimizer has taken (0 for a new model); `None` without an optimizer."""
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None)
    return None if iterations is None else int(as_float(iterations))


def _is_number(value):
    try:
        float(np.asarray(value))
    except (TypeError, ValueError):
        return False
    return np.asarray(value).size == 1
