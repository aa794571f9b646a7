"""Draws a `Comparison` as one figure, with matplotlib and no display."""

import os
import warnings

from l2board.analysis.run_analysis import DATA_LOSS_BASES
from l2board.errors import L2BoardError
from l2board.output_files import atomic_output
from l2board.rendering.wording import sweep_sentences, verdict_sentences
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


def _pyplot():
    """matplotlib's pyplot on the Agg backend: no display is needed or opened."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# The gids of the λ curve's axes and artists: in an SVG, the ids of their groups.
LAMBDA_LOSS = "l2board-lambda-loss"
LAMBDA_METRIC = "l2board-lambda-metric"


def _layout(figure, sweep):
    """The six panels' axes, and the λ row's cells (loss, metric) or `None` without a sweep."""
    grid = figure.add_gridspec(3 if sweep is not None else 2, 3)
    panels = [figure.add_subplot(grid[row, column]) for row in range(2) for column in range(3)]
    if sweep is None:
        return panels, None
    return panels, (grid[2, :2], grid[2, 2])


def _sweep_axes(figure, cell, with_zero, gid, widths):
    """`(zero axis or None, log axis)` in `cell`: λ = 0 on a narrow axis of its own, left, sharing y.

    A log axis has no 0; the break between the two is marked with the
    usual diagonal strokes.
    """
    if not with_zero:
        axis = figure.add_subplot(cell)
        axis.set_gid(gid)
        axis.set_xscale("log")
        return None, axis
    cells = cell.subgridspec(1, 2, width_ratios=widths, wspace=0.02)
    zero = figure.add_subplot(cells[0, 0])
    axis = figure.add_subplot(cells[0, 1], sharey=zero)
    zero.set_gid(gid + "-zero")
    axis.set_gid(gid)
    axis.set_xscale("log")
    zero.set_xlim(-1.0, 1.0)
    zero.set_xticks([0.0], ["0"])
    zero.spines["right"].set_visible(False)
    axis.spines["left"].set_visible(False)
    axis.tick_params(axis="y", which="both", left=False, labelleft=False)
    strokes = dict(marker=[(-1, -2), (1, 2)], markersize=10, linestyle="none", color="k", mec="k", mew=1,
                   clip_on=False)
    zero.plot([1, 1], [0, 1], transform=zero.transAxes, gid=gid + "-break", **strokes)
    axis.plot([0, 0], [0, 1], transform=axis.transAxes, gid=gid + "-break", **strokes)
    return zero, axis


def _draw_curve(zero, axis, points, scale, gid):
    """Draws each `(point, MeanInterval)`'s mean and 95% interval (where it has one); returns legend entries."""
    means, intervals = None, None
    for target, at_zero in ((zero, True), (axis, False)):
        shown = [(p.factor, v) for p, v in points if (p.factor == 0) == at_zero]
        if target is None or not shown:
            continue
        x = [factor for factor, _ in shown]
        (means,) = target.plot(x, [scale * v.mean for _, v in shown], "o-", color="C0", gid=gid + "-mean")
        replicated = [(factor, v) for factor, v in shown if v.low is not None]
        if replicated:
            x = [factor for factor, _ in replicated]
            lows, highs = [scale * v.low for _, v in replicated], [scale * v.high for _, v in replicated]
            intervals = target.vlines(x, lows, highs, color="C0", gid=gid + "-interval")
            target.plot(x + x, lows + highs, "_", color="C0", markersize=8, gid=gid + "-caps")
    factors = [p.factor for p, _ in points if p.factor > 0]
    axis.set_xticks(factors, [f"{factor:g}" for factor in factors])
    axis.minorticks_off()
    if intervals is None:
        return [(means, "one seed per factor")]
    return [(means, "mean over seeds"), (intervals, "95% interval")]


def _on(factor, zero, axis):
    """The axis a factor is drawn on: λ = 0 on its own."""
    return zero if factor == 0 else axis


def _mark_recommendation(zero, axis, sweep):
    """Marks the best and one-standard-error factors and the one-SE band; returns the legend entries."""
    chosen = sweep.recommendation
    best, one_se = sweep.points[chosen.best_index], sweep.points[chosen.one_se_index]
    entries = []
    if chosen.one_se_bound is not None:
        # The one-SE rule's bound (statistics.recommend_factor): the best mean plus its standard error.
        bound = chosen.one_se_bound
        for target in filter(None, (zero, axis)):
            band = target.axhline(bound, linestyle="--", color="grey", linewidth=1, gid=LAMBDA_LOSS + "-band")
        entries.append((band, "best + 1 SE"))
        (mark,) = _on(one_se.factor, zero, axis).plot(
            [one_se.factor], [one_se.loss.mean], "D", markersize=12, markerfacecolor="none", color="C2",
            markeredgewidth=2, gid=LAMBDA_LOSS + "-one-se")
        entries.append((mark, f"one-SE choice: {one_se.factor:g}"))
    (mark,) = _on(best.factor, zero, axis).plot([best.factor], [best.loss.mean], "*", markersize=14, color="C3",
                                                 gid=LAMBDA_LOSS + "-best")
    entries.insert(0, (mark, f"lowest mean: {best.factor:g}"))
    return entries


def _note_edge(axis, sweep):
    """Says so on the curve when the best factor is the smallest or largest tried."""
    edge = sweep.recommendation.edge
    if edge is None:
        return
    text = "best at the edge" + (": try " + ", ".join(f"{f:g}" for f in sweep.next_factors)
                                 if sweep.next_factors else "")
    right = edge == "largest"
    axis.text(0.98 if right else 0.02, 0.96, text, transform=axis.transAxes, ha="right" if right else "left",
              va="top", color="C3", fontsize="small", gid=LAMBDA_LOSS + "-edge")


def _draw_sweep(figure, cells, comparison):
    """The λ curve: the validation data loss per factor, marked, and the metric's beside it if logged."""
    sweep = comparison.sweep
    with_zero = sweep.points[0].factor == 0
    zero, axis = _sweep_axes(figure, cells[0], with_zero, LAMBDA_LOSS, (1, 9))
    entries = _draw_curve(zero, axis, [(p, p.loss) for p in sweep.points], 1.0, LAMBDA_LOSS)
    entries += _mark_recommendation(zero, axis, sweep)
    _note_edge(axis, sweep)
    axis.set_title("λ curve: validation data loss at the EarlyStopping epoch")
    axis.set_xlabel("L2 factor λ")
    (zero or axis).set_ylabel("validation data loss")
    axis.legend(*zip(*entries), fontsize="small", loc="best")
    for target in filter(None, (zero, axis)):
        target.grid(alpha=0.3)
    with_metric = [(p, p.metric) for p in sweep.points if p.metric is not None]
    if not with_metric:
        return
    zero, axis = _sweep_axes(figure, cells[1], with_metric[0][0].factor == 0, LAMBDA_METRIC, (1, 4))
    _draw_curve(zero, axis, with_metric, 100.0, LAMBDA_METRIC)
    axis.set_title(f"validation {_shown(sweep.metric or 'metric')} at that epoch (%)")
    axis.set_xlabel("L2 factor λ")
    for target in filter(None, (zero, axis)):
        target.grid(alpha=0.3)


def comparison_figure(comparison):
    """Draws the comparison as a matplotlib `Figure` (Agg), as `plot_comparison` writes it.

    The caller closes it (`matplotlib.pyplot.close(figure)`). The λ curve's
    axes have the gids `LAMBDA_LOSS` and `LAMBDA_METRIC` (with `-zero` for
    the axis of λ = 0), and their artists gids that start with these.
    """
    plt = _pyplot()
    sweep = comparison.sweep
    figure = plt.figure(figsize=(15, 8.5 if sweep is None else 12.5), layout="constrained")
    panels, sweep_cells = _layout(figure, sweep)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    # One colour per configuration: the seeds of a configuration share it.
    colour_of = {c.name: colours[i % len(colours)] for i, c in enumerate(comparison.configurations)}
    # The legend's lines and labels, from the first panel that drew a run.
    # They go to figure.legend explicitly: matplotlib would silently drop a
    # label it collected itself that starts with "_" (a run named "_base").
    handles, labels = [], []
    for axis, panel in zip(panels, _panels(comparison)):
        entries = _draw_panel(axis, panel, comparison, colour_of)
        if entries and not handles:
            handles, labels = (list(column) for column in zip(*entries))
    if sweep_cells is not None:
        _draw_sweep(figure, sweep_cells, comparison)
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncol=min(3, len(handles)), fontsize="small")
    # With a sweep, the recommendation is the answer; the verdicts of every
    # factor against the baseline are in the table.
    verdict = _shown(" ".join(sweep_sentences(comparison) if comparison.sweep else verdict_sentences(comparison)))
    figure.suptitle("l2board compare: solid = validation, dashed = training\n" + verdict, fontsize="medium", wrap=True)
    return figure


def plot_comparison(comparison, path):
    """Writes the comparison's curves to a PNG, SVG or PDF file.

    Six panels: accuracy (training dashed, validation solid), the loss the
    overfitting measures use (likewise; L2Monitor's data loss where logged),
    the accuracy gap, the validation loss as Keras logs it (penalty
    included), the mean training penalty, and the total weight L2 norm; one
    colour per configuration, the baseline's first. When the configurations
    are a sweep of L2 factors (`comparison.sweep`), a row below draws the λ
    curve: the validation data loss at the EarlyStopping epoch per factor
    (log axis, λ = 0 apart), with its 95% interval over seeds, the lowest
    mean and the one-standard-error choice marked, and the metric there.

    Args:
        comparison: a `Comparison`.
        path: the file to write; its extension picks the format.

    Raises:
        L2BoardError: for a path `check_plot_path` refuses or a file that
            cannot be written; an existing file at `path` is then unchanged.
    """
    extension = check_plot_path(path)
    figure = comparison_figure(comparison)
    try:
        _save(figure, path, extension)
    finally:
        _pyplot().close(figure)
    return path
