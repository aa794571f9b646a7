"""The command line's option types: every option is checked where it is parsed.

Each type fails through click (`self.fail`), so the error names its option
("Invalid value for '--l2': inf is not a finite number.") and exits 2
before anything is loaded, created or deleted.
"""

import math
import os

import click

# NumPy's and Keras's seeds are 32-bit.
MAX_SEED = 2**32 - 1
# Counts Keras and TensorFlow take as 32-bit integers (epochs, batch size, images).
MAX_COUNT = 2**31 - 1
# The largest L2 factor, weight decay or learning rate: far past any useful
# value, and small enough that a penalty of float32 weights stays finite.
MAX_FACTOR = 1e6


class FiniteFloat(click.FloatRange):
    """A `click.FloatRange` that also refuses NaN and infinities (which pass its comparisons)."""

    name = "float"

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


class L2Factor(FiniteFloat):
    """An L2 factor from 0 to `MAX_FACTOR`, or `auto`: the λ search finds it."""

    name = "factor|auto"

    def convert(self, value, param, ctx):
        if value == "auto":
            return value
        return super().convert(value, param, ctx)


class ValidationSplit(click.ParamType):
    """`test`, or the fraction of the training set to hold out for validation."""

    name = "test|fraction"

    def convert(self, value, param, ctx):
        if value == "test":
            return value
        try:
            fraction = float(value)
        except (TypeError, ValueError):
            self.fail(f"use 'test' or a fraction such as 0.1, not {value!r}.", param, ctx)
        if not 0 < fraction < 1:
            self.fail(f"the held-out fraction must be between 0 and 1, not {value}.", param, ctx)
        return str(fraction)


class LayerSpec(click.ParamType):
    """Layer names of the documented CNN (`conv1,fc1`) or `all`; converts to a tuple of names."""

    name = "layers"

    def convert(self, value, param, ctx):
        from l2board.errors import L2BoardError
        from l2board.training.runs import parse_layers

        try:
            return parse_layers(value)
        except L2BoardError as error:
            self.fail(str(error), param, ctx)


class DatasetName(click.ParamType):
    """A dataset name l2board knows, or an existing `.npz` file."""

    name = "dataset"

    def convert(self, value, param, ctx):
        from l2board.training.datasets import DATASETS

        if value in DATASETS:
            return value
        if not value.endswith(".npz"):
            self.fail(f"unknown dataset {value!r}; use one of {', '.join(DATASETS)} or a .npz file.", param, ctx)
        if not os.path.exists(value):
            self.fail(f"'{value}' does not exist.", param, ctx)
        if not os.path.isfile(value):  # a folder, or a FIFO that NumPy would wait on forever
            self.fail(f"'{value}' is not a regular file.", param, ctx)
        return value


class PlotPath(click.ParamType):
    """A figure file to write: a .png, .svg or .pdf in an existing folder."""

    name = "file"

    def convert(self, value, param, ctx):
        from l2board.errors import L2BoardError
        from l2board.rendering.plotting import check_plot_path

        try:
            check_plot_path(value)
        except L2BoardError as error:
            self.fail(str(error), param, ctx)
        return value


class Folder(click.Path):
    """A folder to write into: not an existing file, and not an empty name."""

    def __init__(self):
        super().__init__(file_okay=False)

    def convert(self, value, param, ctx):
        if not str(value).strip():
            self.fail("give a folder name, not an empty one.", param, ctx)
        _check_encodable(value, self, param, ctx)
        return super().convert(value, param, ctx)


def _check_encodable(value, param_type, param, ctx):
    # TensorFlow's writer takes UTF-8 paths only, and a name that is not UTF-8
    # (kept by Python as lone surrogates) fails only once a run is half made.
    try:
        str(value).encode("utf-8")
    except UnicodeEncodeError:
        from l2board.safe_text import printable

        param_type.fail(f"'{printable(value)}' is not valid UTF-8; use a name TensorFlow can write to.", param, ctx)


class OutputFile(click.Path):
    """A file to write a report to: a name, in a folder that exists."""

    def __init__(self):
        super().__init__(dir_okay=False, writable=True)

    def convert(self, value, param, ctx):
        if not str(value).strip():
            self.fail("give a file name, not an empty one.", param, ctx)
        folder = os.path.dirname(os.path.abspath(value))
        if not os.path.isdir(folder):
            self.fail(f"the folder '{folder}' does not exist.", param, ctx)
        return super().convert(value, param, ctx)


class TagMapping(click.ParamType):
    """`ROLE=TRAIN,VAL`: which logged tags hold a role (`loss=Loss/train,Loss/val`,
    `accuracy=train_acc,val_acc`); converts to `(role, (train tag, validation tag))`.

    ROLE is `loss` or the name of an accuracy-like metric; each tag is
    `TAG` or `FOLDER/TAG` as logged. Give the option once per role and
    merge the values with `tag_map_of`.
    """

    name = "ROLE=TRAIN,VAL"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        role, equals, tags = str(value).partition("=")
        role, pair = role.strip(), [t.strip() for t in tags.split(",")]
        if not equals or not role or len(pair) != 2 or not all(pair):
            self.fail(f"give ROLE=TRAIN_TAG,VALIDATION_TAG (e.g. loss=Loss/train,Loss/val), not {value!r}.",
                      param, ctx)
        if "/" in role or role.lower().startswith(("epoch_", "val_")):
            self.fail(f"the role is 'loss' or a metric's name such as 'accuracy', not {role!r}.", param, ctx)
        if pair[0] == pair[1]:
            self.fail(f"the training and validation tags of {role!r} are the same tag {pair[0]!r}.", param, ctx)
        return role, tuple(pair)


def tag_map_of(mappings):
    """Merges `TagMapping` values into `{role: (train tag, validation tag)}`, or `None` when there are none.

    Raises:
        click.BadParameter: when a role is given twice.

    Example:

    >>> tag_map_of([("loss", ("Loss/train", "Loss/val")), ("accuracy", ("acc", "val_acc"))])
    {'loss': ('Loss/train', 'Loss/val'), 'accuracy': ('acc', 'val_acc')}
    """
    tag_map = {}
    for role, pair in mappings or ():
        if role in tag_map:
            raise click.BadParameter(f"the role {role!r} is mapped twice.", param_hint="'--tag'")
        tag_map[role] = pair
    return tag_map or None


SEED = click.IntRange(0, MAX_SEED)
COUNT = click.IntRange(1, MAX_COUNT)
