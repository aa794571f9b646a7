"""What regularizes a model, as plain data that needs no TensorFlow.

`L2Monitor` fills a `RegularizationSetup` from a Keras model and writes it
to the logs as JSON; `l2board compare` reads it back to label each run. The
labelling and coverage arithmetic therefore live here, once.
"""

import dataclasses
import json
import math

SETUP_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class WeightVariable:
    """One weight variable of a model and the regularization it gets.

    Args:
        path: the variable's path inside the model, e.g. `conv1/kernel`.
        size: its number of scalars.
        trainable: whether training updates it. Keras adds the penalty of
            trainable variables only, so a frozen variable's regularizer is
            excluded from the loss.
        regularizer: `"L1"`, `"L2"`, `"L1L2"`, the class name of a custom
            regularizer, or `None`.
        l1: the L1 factor, where the regularizer has one.
        l2: the L2 factor, where the regularizer has one.
        weight_decay: the optimizer's decoupled weight decay applied to it,
            or `None`.
    """

    path: str
    size: int
    trainable: bool
    regularizer: str | None = None
    l1: float | None = None
    l2: float | None = None
    weight_decay: float | None = None

    @property
    def layer(self):
        """The path of the layer holding the variable (all but its last part)."""
        return self.path.rpartition("/")[0] or self.path

    @property
    def penalized(self):
        """Whether Keras adds a penalty for this variable to the loss."""
        return self.trainable and self.regularizer is not None

    @property
    def excluded(self):
        """Whether it has a regularizer that Keras leaves out (frozen)."""
        return self.regularizer is not None and not self.trainable


@dataclasses.dataclass(frozen=True)
class ActivityRegularizedLayer:
    """A layer with an activity regularizer.

    Args:
        path: the layer's path inside the model, e.g. `fc1`.
        regularizer: as in `WeightVariable`.
        l1: the L1 factor, where it has one.
        l2: the L2 factor, where it has one.
    """

    path: str
    regularizer: str
    l1: float | None = None
    l2: float | None = None


@dataclasses.dataclass(frozen=True)
class RegularizationSetup:
    """Everything that regularizes one model during one training run.

    Args:
        variables: every weight variable of the model, regularized or not.
        activity_layers: the layers with an activity regularizer.
        optimizer: the optimizer's class name, or `None`.
        weight_decay: the optimizer's `weight_decay`, or `None`.

    Example:

    >>> setup = RegularizationSetup(variables=(
    ...     WeightVariable("conv1/kernel", 2400, True, "L2", l2=0.01),
    ...     WeightVariable("fc1/kernel", 97600, True)))
    >>> setup.label
    'L2 0.01 on conv1 (2.4% of weights)'
    """

    variables: tuple = ()
    activity_layers: tuple = ()
    optimizer: str | None = None
    weight_decay: float | None = None

    @property
    def trainable_parameters(self):
        """The number of trainable scalars."""
        return sum(v.size for v in self.variables if v.trainable)

    def _share(self, predicate):
        total = self.trainable_parameters
        if total == 0:
            return 0.0
        return sum(v.size for v in self.variables if v.trainable and predicate(v)) / total

    @property
    def penalty_coverage(self):
        """Share of trainable parameters whose regularizer Keras adds to the loss."""
        return self._share(lambda v: v.regularizer is not None)

    @property
    def weight_decay_coverage(self):
        """Share of trainable parameters under the optimizer's weight decay."""
        return self._share(lambda v: bool(v.weight_decay))

    @property
    def coverage(self):
        """Share of trainable parameters under any penalty or weight decay."""
        return self._share(lambda v: v.regularizer is not None or bool(v.weight_decay))

    @property
    def penalized_variables(self):
        """The variables whose penalty Keras adds to the loss."""
        return tuple(v for v in self.variables if v.penalized)

    @property
    def excluded_variables(self):
        """Variables with a regularizer that Keras leaves out because frozen."""
        return tuple(v for v in self.variables if v.excluded)

    @property
    def is_regularized(self):
        """Whether anything regularizes the model at all."""
        return bool(self.penalized_variables or self.activity_layers or self.weight_decay)

    @property
    def label(self):
        """A short description of the run, e.g. `L2 0.01 on conv1 (0.06% of weights)`."""
        if not self.is_regularized:
            return "no regularization"
        parts = []
        groups = {}
        for v in self.penalized_variables:
            groups.setdefault(_describe(v.regularizer, v.l1, v.l2), []).append(v.layer)
        layers_with_weights = _unique(v.layer for v in self.variables if v.trainable)
        for description, layers in groups.items():
            layers = _unique(layers)
            where = "every layer" if layers == layers_with_weights and len(layers) > 1 else ", ".join(layers)
            parts.append(f"{description} on {where}")
        if self.penalized_variables:
            parts[-1] += f" ({format_percent(self.penalty_coverage)} of weights)"
        if self.weight_decay:
            parts.append(f"weight decay {self.weight_decay:g} ({self.optimizer})")
        activity = {}
        for layer in self.activity_layers:
            activity.setdefault(_describe(layer.regularizer, layer.l1, layer.l2), []).append(layer.path)
        for description, layers in activity.items():
            parts.append(f"activity {description} on {', '.join(layers)}")
        return "; ".join(parts)

    def to_dict(self):
        """Returns the setup as JSON-ready data, with the derived numbers."""
        return {
            "format_version": SETUP_FORMAT_VERSION,
            "label": self.label,
            "optimizer": self.optimizer,
            "weight_decay": self.weight_decay,
            "trainable_parameters": self.trainable_parameters,
            "coverage": self.coverage,
            "penalty_coverage": self.penalty_coverage,
            "weight_decay_coverage": self.weight_decay_coverage,
            "variables": [dataclasses.asdict(v) for v in self.variables],
            "activity_layers": [dataclasses.asdict(a) for a in self.activity_layers],
        }

    def to_json(self):
        """Returns `to_dict()` as a JSON string."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data):
        """Builds a setup from `to_dict()` output, as read from a log; derived numbers are recomputed.

        What comes from a file is checked as any input: every field must have
        the type `to_dict` writes, and every factor must be a finite number
        of 0 or more. Keys `to_dict` does not write are ignored (a later
        format may add some).

        Raises:
            MalformedSetupError: (a `ValueError`) naming the first field that is not so.
        """
        data = _object(data, "the setup")
        return cls(
            variables=tuple(_weight_variable(v, f"variables[{i}]")
                            for i, v in enumerate(_array(data.get("variables", []), "variables"))),
            activity_layers=tuple(_activity_layer(a, f"activity_layers[{i}]")
                                  for i, a in enumerate(_array(data.get("activity_layers", []), "activity_layers"))),
            optimizer=_text(data.get("optimizer"), "optimizer", optional=True),
            weight_decay=_factor(data.get("weight_decay"), "weight_decay"),
        )

    @classmethod
    def from_json(cls, text):
        """Builds a setup from a logged `l2board/setup_json` text (see `from_dict`).

        Raises:
            ValueError: for text that is not JSON, or a `MalformedSetupError`.
        """
        return cls.from_dict(json.loads(text))

    def hparams(self):
        """Returns flat values for TensorBoard's HParams dashboard.

        Returns:
            A dict of str to bool, int, float or str: `regularization` (the
            label), `coverage`, `optimizer`, `weight_decay`, and one
            `l1/<variable>` or `l2/<variable>` key per penalized factor.
        """
        values = {
            "regularization": self.label,
            "coverage": float(self.coverage),
            "optimizer": self.optimizer or "none",
            "weight_decay": float(self.weight_decay or 0.0),
        }
        for v in self.penalized_variables:
            for kind in ("l1", "l2"):
                factor = getattr(v, kind)
                if factor is not None:
                    values[f"{kind}/{v.path}"] = float(factor)
        return values

    def markdown(self):
        """Returns a Markdown table of every regularized or decayed variable."""
        lines = [
            f"**{self.label}**",
            "",
            f"Trainable parameters: {self.trainable_parameters:,}; "
            f"under a penalty: {format_percent(self.penalty_coverage)}; "
            f"under weight decay: {format_percent(self.weight_decay_coverage)}.",
            "",
            "| variable | size | regularizer | l1 | l2 | weight decay | in loss |",
            "|---|---:|---|---:|---:|---:|---|",
        ]
        for v in self.variables:
            if v.regularizer is None and not v.weight_decay:
                continue
            in_loss = "yes" if v.penalized else ("excluded (frozen)" if v.excluded else "-")
            lines.append(
                f"| {v.path} | {v.size:,} | {v.regularizer or '-'} | {_fmt(v.l1)} | "
                f"{_fmt(v.l2)} | {_fmt(v.weight_decay)} | {in_loss} |"
            )
        for a in self.activity_layers:
            lines.append(f"| {a.path} (activity) | - | {a.regularizer} | {_fmt(a.l1)} | {_fmt(a.l2)} | - | yes |")
        return "\n".join(lines)


class MalformedSetupError(ValueError):
    """A logged setup that is not what `RegularizationSetup.to_dict` writes; the message names the field."""


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _object(value, where):
    if not isinstance(value, dict):
        raise MalformedSetupError(f"{where} is {_kind(value)}, not an object")
    return value


def _array(value, where):
    if not isinstance(value, list):
        raise MalformedSetupError(f"{where} is {_kind(value)}, not a list")
    return value


def _text(value, where, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise MalformedSetupError(f"{where} is {_kind(value)}, not a string")
    return value


def _factor(value, where):
    """A regularization factor or weight decay: `None`, or a finite number of 0 or more."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedSetupError(f"{where} is {_kind(value)}, not a number")
    if not math.isfinite(value) or value < 0:
        raise MalformedSetupError(f"{where} is {value!r}, not a finite number of 0 or more")
    return float(value)


def _weight_variable(data, where):
    data = _object(data, where)
    size, trainable = data.get("size"), data.get("trainable")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise MalformedSetupError(f"{where}.size is {size!r}, not a count of 0 or more")
    if not isinstance(trainable, bool):
        raise MalformedSetupError(f"{where}.trainable is {_kind(trainable)}, not a boolean")
    return WeightVariable(
        path=_text(data.get("path"), f"{where}.path"), size=size, trainable=trainable,
        regularizer=_text(data.get("regularizer"), f"{where}.regularizer", optional=True),
        l1=_factor(data.get("l1"), f"{where}.l1"), l2=_factor(data.get("l2"), f"{where}.l2"),
        weight_decay=_factor(data.get("weight_decay"), f"{where}.weight_decay"))


def _activity_layer(data, where):
    data = _object(data, where)
    return ActivityRegularizedLayer(
        path=_text(data.get("path"), f"{where}.path"),
        regularizer=_text(data.get("regularizer"), f"{where}.regularizer"),
        l1=_factor(data.get("l1"), f"{where}.l1"), l2=_factor(data.get("l2"), f"{where}.l2"))


def format_percent(share):
    """Formats a share in [0, 1] as a percentage with two significant digits.

    Example:

    >>> format_percent(2400 / 4365412), format_percent(0.25), format_percent(0.99972)
    ('0.055%', '25%', '99.97%')
    """
    percent = 100.0 * share
    if 99.5 <= percent < 100:
        return f"{min(percent, 99.99):.2f}%"  # never round a partial share up to 100%
    if percent == 0 or percent >= 10:
        return f"{percent:.0f}%"
    return f"{percent:.2g}%"


def _describe(regularizer, l1, l2):
    if regularizer == "L1" and l1 is not None:
        return f"L1 {l1:g}"
    if regularizer == "L2" and l2 is not None:
        return f"L2 {l2:g}"
    if regularizer == "L1L2":
        return f"L1L2 (l1 {l1 or 0:g}, l2 {l2 or 0:g})"
    return regularizer


def _unique(items):
    return list(dict.fromkeys(items))


def _fmt(value):
    return "-" if value is None else f"{value:g}"
