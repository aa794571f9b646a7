"""L2Monitor's health warnings: each a sentence about the model's regularization or its training, given once.

What is wrong and what to do is said in plain words: nothing regularizes
the model, penalties cover under 1% of its parameters, activity penalties
cannot be measured on this backend, a loss or penalty is NaN or infinite,
or the penalty is over half of the loss, with its cause (a factor so large
that the penalty is large against the data loss of the first epoch, or a
data loss that has all but vanished because the model fits its training
set). The callback gives each warning as an `L2MonitorWarning` and writes
it into the run (`l2board/warnings`).
"""

import math

import numpy as np

from l2board.log_format import tags
from l2board.log_format.regularization_setup import format_percent

LOW_COVERAGE = 0.01
HIGH_PENALTY_SHARE = 0.5


class L2MonitorWarning(UserWarning):
    """A plain-words warning about a model's regularization, given once per run."""


class HealthWarnings:
    """The warnings of one monitor: each given once, across its fits.

    Each method returns the sentences not given before, in order; saying
    them (and writing them into the run) is the callback's.
    """

    def __init__(self):
        self._given = set()
        self._first_data_loss = None  # the training data loss of the first epoch: what the model started from

    def start_fit(self):
        """Forgets the data loss of the last fit's first epoch."""
        self._first_data_loss = None

    def about_setup(self, setup, backend, activity_measured):
        """The warnings about a model's regularization setup.

        Args:
            setup: the model's `RegularizationSetup`.
            backend: Keras's backend, by name.
            activity_measured: whether activity penalties are measured on it.
        """
        found = []
        if setup.activity_layers and not activity_measured:
            found.append(("activity", "Activity penalties are measured on the TensorFlow and PyTorch backends only: "
                          f"on {backend} the logged data loss still includes those of "
                          f"{', '.join(layer.path for layer in setup.activity_layers)}."))
        if not setup.is_regularized:
            found.append(("none", "Nothing regularizes this model: no weight or activity "
                          "regularizer and no weight decay, so L2Monitor has no penalty to show."))
        elif setup.coverage < LOW_COVERAGE and not setup.activity_layers:
            # (Coverage counts weights; activity regularization acts on activations.)
            found.append(("coverage", f"{setup.label}: regularization that covers under "
                          f"{format_percent(LOW_COVERAGE)} of the trainable parameters can hardly change "
                          "how the model fits."))
        return self._new(found)

    def about_epoch(self, train, validation, epoch):
        """The warnings about an epoch's values (`{tag: value}` of train/ and validation/)."""
        found = []
        for folder, values in ((tags.TRAIN_DIR, train), (tags.VALIDATION_DIR, validation)):
            for tag in (tags.EPOCH_PREFIX + "loss", tags.PENALTY, tags.DATA_LOSS):
                value = values.get(tag)
                if value is not None and not math.isfinite(value):
                    found.append(("nonfinite", f"The {folder} {tag} is {value} at epoch {epoch}; training "
                                  "has diverged (a smaller learning rate or regularization factor may help)."))
        found += self._about_penalty_share(train, epoch)
        return self._new(found)

    def _about_penalty_share(self, train, epoch):
        penalty, data_loss, share = (train.get(tag) for tag in (tags.PENALTY, tags.DATA_LOSS, tags.PENALTY_SHARE))
        if data_loss is None:
            return []
        if self._first_data_loss is None and math.isfinite(data_loss):
            self._first_data_loss = data_loss
        first = self._first_data_loss
        if first is None:
            return []
        cause = diagnose_penalty_share(penalty, data_loss, first, high_share=HIGH_PENALTY_SHARE)
        if cause == "large_factor":
            return [("share", f"The penalty is {100 * share:.0f}% of the training loss at epoch {epoch}, "
                     f"{penalty / first:.3g} times the data loss of the first epoch: the factor is so large "
                     "that regularization dominates what the model learns; consider a smaller factor.")]
        if cause == "memorized":
            return [("memorized", f"The training data loss has fallen to {format_percent(data_loss / first)} "
                     f"of the first epoch's at epoch {epoch}: the model fits its training set almost exactly "
                     f"(it may be memorizing it), which is why the penalty is {100 * share:.0f}% of the "
                     "training loss, not a large factor; the validation data loss shows whether it overfits.")]
        return []

    def _new(self, found):
        said = []
        for key, message in found:
            if key not in self._given:
                self._given.add(key)
                said.append(message)
        return said


def diagnose_penalty_share(penalty, data_loss, first_data_loss, high_share=0.5, vanished=0.05):
    """Says why a penalty is a large share of the training loss, if it is.

    A large share has two causes that call for opposite actions. A factor
    too large makes the penalty large against the data loss the model
    started from: regularization then dominates what the model learns. A
    vanished data loss (the network fits, often memorizes, its training
    set) makes even a small penalty most of the loss: the factor is not the
    problem. A share high for neither clear reason gets no verdict.

    Args:
        penalty: the penalty in this epoch's training loss.
        data_loss: this epoch's training loss without the penalty.
        first_data_loss: the training data loss of the first epoch, what the
            model started from.
        high_share: the share of the loss (`penalty / (penalty + data_loss)`)
            above which to look for a cause; the penalty counts as large when
            it is above this fraction of `first_data_loss`.
        vanished: the fraction of `first_data_loss` under which the data loss
            counts as gone.

    Returns:
        `None` (nothing to say), `"large_factor"` or `"memorized"`.

    Example:

    >>> diagnose_penalty_share(3.0, 1.0, first_data_loss=1.0)   # the penalty is most of the loss from the start
    'large_factor'
    >>> diagnose_penalty_share(0.05, 0.01, first_data_loss=2.3)  # the data loss went to almost nothing
    'memorized'
    >>> diagnose_penalty_share(0.5, 2.0, first_data_loss=2.3) is None  # a fifth of the loss
    True
    >>> diagnose_penalty_share(0.5, 0.4, first_data_loss=2.3) is None  # high, but neither cause is clear
    True
    """
    values = np.array([penalty, data_loss, first_data_loss], dtype=np.float64)
    if not np.all(np.isfinite(values)) or penalty <= 0 or data_loss < 0 or first_data_loss <= 0:
        return None
    if penalty <= high_share * (penalty + data_loss):
        return None
    if penalty > high_share * first_data_loss:
        return "large_factor"
    if data_loss < vanished * first_data_loss:
        return "memorized"
    return None
