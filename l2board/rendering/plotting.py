"""Draws a `Comparison` as one figure, with matplotlib and no display."""

import os
import warnings

from l2board.analysis.run_analysis import DATA_LOSS_BASES
from l2board.errors import L2BoardError
from l2board.output_files import atomic_output
from l2board.rendering.wording import verdict_sentences
from l2board.safe_text import printable

PLOT_FORMATS = ("png", "svg", "pdf")


def check_plot_path(path, created_folder=None):
    """Refuses a plot path that cannot work, before anything is computed or trained.

    Args:
        path: the file the plot is to be written to.
        created_folder: a folder that will be created before the plot is
            written (an experiment's): the plot may go into it, but not be it.

    Raises:
        L2BoardError: for an extension other than .png, .svg or .pdf, a
            folder that does not exist, a folder (not a file) at `path`, or
            no permission to write there.

    Example:

    >>> check_plot_path("report.gif")
    Traceback (most recent call last):
    ...
    l2board.errors.L2BoardError: Cannot write a plot to 'report.gif': use a .png, .svg or .pdf file name.
    """
    path = os.fspath(path)
    if created_folder is not None and os.path.abspath(path) == os.path.abspath(created_folder):
        raise L2BoardError(f"Cannot write the plot to '{path}': it is the experiment's --logdir.")
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension not in PLOT_FORMATS:
        raise L2BoardError(f"Cannot write a plot to '{path}': use a .png, .svg or .pdf file name.")
    folder = os.path.dirname(os.path.abspath(path))
    if created_folder is not None and folder == os.path.abspath(created_folder) and not os.path.exists(folder):
        return extension  # whether the folder can be created is checked with it
    if not os.path.isdir(folder):
        raise L2BoardError(f"Cannot write the plot to '{path}': the folder '{folder}' does not exist.")
    if os.path.isdir(path):
        raise L2BoardError(f"Cannot write the plot to '{path}': it is a folder.")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise L2BoardError(f"Cannot write the plot to '{path}': permission denied.")
    return extension


def _shown(text):
    """`text` as matplotlib must get it to draw it as it is.

    Control characters and undecodable bytes are escaped (matplotlib would
    fail on a lone surrogate, and draw a newline as a new line), and every
    `$` is escaped, or a name like `run$\\alpha$` would be typeset as
    mathtext, and one like `$\\foo$` would make the whole plot fail.
    """
    return printable(text).replace("$", r"\$")


def _panels(comparison):
    """The six panels: (title, (epochs key, training curve key or None, curve key), scale, unit)."""
    metric = _shown(comparison.metric or "metric")
    on_data_loss = all(run.loss_basis in DATA_LOSS_BASES for run in comparison.runs if run.loss_basis)
    loss_title = "data loss (no penalty)" if on_data_loss else "loss of the overfitting measures (see notes)"
    return (
        (f"{metric}", ("metric_epochs", "train_metric", "val_metric"), 100.0, "%"),
        (loss_title, ("data_loss_epochs", "train_data_loss", "val_data_loss"), 1.0, ""),
        (f"{metric} gap: train - val", ("metric_epochs", None, "metric_gap_pp"), 1.0, "pp"),
        ("val_loss as Keras logs it (with penalty)", ("val_loss_epochs", None, "val_loss"), 1.0, ""),
        ("training penalty", ("penalty_epochs", None, "penalty"), 1.0, ""),
        ("total weight L2 norm", ("weight_l2_epochs", None, "weight_l2"), 1.0, ""),
    )


def _draw_panel(axis, panel, comparison, colour_of):
    """Draws one panel's curves, one colour per configuration; returns its legend entries."""
    from matplotlib.ticker import MaxNLocator

    title, (x_key, train_key, val_key), scale, unit = panel
    configuration_of = {run: c for c in comparison.configurations for run in c.runs}
    entries, labelled = [], set()
    for run in comparison.runs:
        curves = run.curves
        if x_key not in curves or val_key not in curves:
            continue
        configuration = configuration_of[run.name]
        colour = colour_of[configuration.name]
        if train_key and train_key in curves:
            axis.plot(curves[x_key], [scale * v for v in curves[train_key]], "--", color=colour, alpha=0.7)
        (line,) = axis.plot(curves[x_key], [scale * v for v in curves[val_key]], "-", color=colour)
        if configuration.name not in labelled:
            labelled.add(configuration.name)
            seeds = f" ({len(configuration.runs)} runs)" if len(configuration.runs) > 1 else ""
            entries.append((line, _shown(f"{configuration.name}: {configuration.label}{seeds}")))
    axis.set_title(title + (f" ({unit})" if unit else ""))
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    if not labelled:
        axis.text(0.5, 0.5, "not logged (L2Monitor logs it)", ha="center", va="center",
                  transform=axis.transAxes, color="grey")
    return entries


def _save(figure, path, extension):
    """Writes the figure whole or not at all."""
    # Into a temporary file beside `path`, renamed over it once complete:
    # a failure halfway (a full disk, Ctrl-C) leaves an old plot as it was.
    with atomic_output(path, "the plot", binary=True) as handle, warnings.catch_warnings():
        # A run name in a script the font lacks (CJK, say) is drawn as
        # boxes, and the table shows it; a warning per glyph on stderr
        # would only bury the report.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        figure.savefig(handle, format=extension, dpi=110)


def plot_comparison(comparison, path):
    """Writes the comparison's curves to a PNG, SVG or PDF file.

    Six panels: accuracy (training dashed, validation solid), the loss the
    overfitting measures use (likewise; L2Monitor's data loss where logged),
    the accuracy gap, the validation loss as Keras logs it (penalty
    included), the mean training penalty, and the total weight L2 norm; one
    colour per configuration, the baseline's first.

    Args:
        comparison: a `Comparison`.
        path: the file to write; its extension picks the format.

    Raises:
        L2BoardError: for a path `check_plot_path` refuses or a file that
            cannot be written; an existing file at `path` is then unchanged.
    """
    extension = check_plot_path(path)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    # One colour per configuration: the seeds of a configuration share it.
    colour_of = {c.name: colours[i % len(colours)] for i, c in enumerate(comparison.configurations)}
    # The legend's lines and labels, from the first panel that drew a run.
    # They go to figure.legend explicitly: matplotlib would silently drop a
    # label it collected itself that starts with "_" (a run named "_base").
    handles, labels = [], []
    for axis, panel in zip(axes.flat, _panels(comparison)):
        entries = _draw_panel(axis, panel, comparison, colour_of)
        if entries and not handles:
            handles, labels = (list(column) for column in zip(*entries))
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncol=min(3, len(handles)), fontsize="small")
    verdict = _shown(" ".join(verdict_sentences(comparison)))
    figure.suptitle("l2board compare: solid = validation, dashed = training\n" + verdict, fontsize="medium", wrap=True)
    try:
        _save(figure, path, extension)
    finally:
        plt.close(figure)
    return path
