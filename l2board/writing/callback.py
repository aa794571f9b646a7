"""`L2Monitor`: the Keras callback that makes regularization visible in TensorBoard.

This module holds the hooks and the run folder's choice; what is measured
is `measurements`', what regularizes a model `model_inspection`'s, how it
is written `writers`', and what is said about it `health`'s.
"""

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
from l2board.writing.health import HealthWarnings, L2MonitorWarning
from l2board.writing.histograms import DEFAULT_BUCKET_COUNT
from l2board.writing.log_folder import ensure_writable_dir, holds_logged_values, make_fresh_log_dir, sibling_run_dir
from l2board.writing.measurements import Measurements, is_number, standard_metrics
from l2board.writing.model_inspection import as_float, inspect_regularization, is_chief, steps_taken
from l2board.writing.writers import ROOT, open_writers

# Where every number is measured as exactly as on TensorFlow (activity
# penalties not on JAX: see records_activity).
SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")
# The most histogram buckets: TensorBoard draws a few dozen; each costs a
# row in every histogram of every epoch.
MAX_BUCKET_COUNT = 10_000

__all__ = ["L2Monitor", "L2MonitorWarning"]


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
        self._health = HealthWarnings()
        self._announced = False
        self._activity = None
        self._measurements = Measurements()
        # Given by `with_run_folders` (a tuner's trial): the HParams group, and
        # the folder each copy (one per execution) writes to.
        self._hparams_group = None
        self._copy_folders = None
        # The folder the current or last fit writes to, and the log_dir it was
        # chosen for (see `_run_folder`); a default log_dir names dated folders.
        self.run_dir = None
        self._run_dir_of = None
        self._dated = False
        # The state of one fit (see on_train_begin).
        self._in_fit = False
        self._writers = None
        self._pending_warnings = []  # health warnings given before the run's folder is open
        self._setup = None
        self._setup_written = False
        self._epoch = None
        self._train_activity = None  # the training activity penalties, kept while validation runs

    def with_run_folders(self, folders, hparams=None, hparams_group=None):
        """Returns a copy of this monitor whose copies write to the folders given, one each: how a tuner gives runs folders.

        KerasTuner deep-copies the callbacks for every execution of a trial;
        each `copy.deepcopy` of the monitor returned takes the next folder of
        `folders` as its `log_dir` (see `l2board.tuning`).

        Args:
            folders: an iterator of run folders, such as
                `<log_dir>/<trial>/execution0`, `execution1`, ...
            hparams: hyperparameters added to the monitor's own (a trial's).
            hparams_group: the group of the runs in TensorBoard's HParams
                dashboard (a trial's id); default: each run folder's name.

        Returns:
            A new `L2Monitor`, this one unchanged.

        Example:

        ```python
        monitor = L2Monitor("logs/tuning")
        trial = monitor.with_run_folders((f"logs/tuning/07/execution{n}" for n in itertools.count()),
                                         hparams={"l2": 0.01}, hparams_group="07")
        copy.deepcopy(trial).log_dir  # 'logs/tuning/07/execution0'
        ```
        """
        given = copy.copy(self)
        given.hparams = {**self.hparams, **_checked_hparams(hparams)}
        given._hparams_group = None if hparams_group is None else str(hparams_group)
        given._copy_folders = iter(folders)
        return given

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
        self._in_fit, self._setup_written, self._epoch, self._train_activity = True, False, None, None
        self._pending_warnings = []
        self._health.start_fit()
        # Opened at the first epoch, when it is known whether this fit goes on from an earlier one.
        self._writers = None
        self._setup = inspect_regularization(self.model)
        self._measurements.start(self.model)
        for message in self._health.about_setup(self._setup, keras.backend.backend(), records_activity()):
            self._warn(message)

    def on_epoch_begin(self, epoch, logs=None):
        if self._writers is None:
            self._writers = open_writers(self._open_run_folder(epoch) if is_chief(self.model) else None)
            if self._writers is not None:
                for message in self._pending_warnings:
                    self._writers[tags.TRAIN_DIR].text({tags.WARNINGS_TEXT: message}, epoch)
            self._pending_warnings = []
        self._epoch = epoch
        self._measurements.start_epoch((self.params or {}).get("steps"))
        self._train_activity = None
        if self._activity:
            self._activity.reset()
        if not self._setup_written:
            self._write_setup(epoch)
            self._setup_written = True

    def on_train_batch_begin(self, batch, logs=None):
        self._measurements.before_batch(batch)

    def on_train_batch_end(self, batch, logs=None):
        step = steps_taken(self.model)
        if step is None or step % self.update_freq:
            return
        train, _, _ = self._measurements.values(logs or {}, self._activity_means(), None, bucket_count=0,
                                                at_batch_end=True)
        batch_values = {tags.at_batch_level(tag): value for tag, value in train.items()}
        if self.write_standard_metrics:
            batch_values.update({f"{tags.BATCH_PREFIX}{name}": as_float(value) for name, value in (logs or {}).items()
                                 if is_number(value)})
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
        train, validation, histograms = self._measurements.values(logs, train_activity, val_activity, buckets,
                                                                  at_batch_end=False)
        if self.write_standard_metrics:
            metrics = standard_metrics(logs, self.model)
            train.update(metrics[0])
            validation.update(metrics[1])
        self._write_epoch(epoch, train, validation, histograms)
        for message in self._health.about_epoch(train, validation, epoch):
            self._warn(message, epoch)

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

    def _open_run_folder(self, first_epoch):
        self.run_dir = self._run_folder(first_epoch)
        ensure_writable_dir(self.run_dir)
        if self.verbose and not self._announced:
            print(f"L2Monitor: writing TensorBoard logs to {self.run_dir}")
            self._announced = True
        return self.run_dir

    def _run_folder(self, first_epoch):
        """Where this fit writes: never into a run of another model.

        A fit that goes on training a model (its optimizer has stepped:
        a second `fit`, or a model restored from a checkpoint; or its first
        epoch is not 0: `fit(initial_epoch=...)` resuming from weights, or
        Keras's `BackupAndRestore`) writes where the last fit wrote, or to
        `log_dir`, as `keras.callbacks.TensorBoard` does. A fit of a new model whose folder already holds logged values
        (a script run twice, a second model given the same callback, a stock
        KerasTuner search) writes to a new sibling, `<log_dir>-2`, `-3`, ...,
        and says so; with `log_dir=None` each new model gets a new dated
        folder under `logs/`.
        """
        fresh = steps_taken(self.model) == 0 and first_epoch == 0
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

    def _release_model(self):
        # Whatever ran (fit, evaluate, predict), the model gets its own
        # activity regularizers back.
        if self._activity is not None:
            self._activity.restore()
            self._activity = None

    def _activity_means(self):
        # Batches seen: the weighting when Keras's loss tracker counts none.
        return self._activity.means(max(self._measurements.batches_seen, 1)) if self._activity else {}

    def _write_setup(self, step):
        texts = {tags.SETUP_TEXT: self._setup.markdown(), tags.SETUP_JSON: self._setup.to_json()}
        if self.hparams:
            texts[tags.HPARAMS_JSON] = json.dumps(self.hparams, sort_keys=True)
        self._writers[tags.TRAIN_DIR].text(texts, step)
        group = self._hparams_group or os.path.basename(os.path.abspath(self.run_dir or ""))
        self._writers[ROOT].hparams({**self._setup.hparams(), **self.hparams}, trial_id=group)

    def __deepcopy__(self, memo):
        # KerasTuner copies the callbacks for every execution of a trial; a
        # monitor given folders by `with_run_folders` gives each copy the next.
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

    def _warn(self, message, step=None):
        """Gives a health warning, and writes it into the run (once the run's folder is open, at the first epoch)."""
        warnings.warn(message, L2MonitorWarning, stacklevel=2)
        if self._writers is not None:
            self._writers[tags.TRAIN_DIR].text({tags.WARNINGS_TEXT: message}, step if step is not None else 0)
        elif self._in_fit:
            self._pending_warnings.append(message)


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
