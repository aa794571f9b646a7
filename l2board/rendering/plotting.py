"""Draws a `Comparison` as one figure, with matplotlib and no display."""

import contextlib
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
    # A fraction (accuracy, AUC) in percent and its gap in points; a metric in its own units as it is.
    fraction = comparison.metric_is_fraction
    choice = comparison.metric_choice
    order = "val - train" if choice is not None and choice.higher_is_better is False else "train - val"
    return (
        (f"{metric}", ("metric_epochs", "train_metric", "val_metric"), 100.0 if fraction else 1.0,
         "%" if fraction else ""),
        (loss_title, ("data_loss_epochs", "train_data_loss", "val_data_loss"), 1.0, ""),
        (f"{metric} gap: {order}", ("metric_epochs", None, "metric_gap_pp"), 1.0, "pp" if fraction else ""),
        ("val_loss as Keras logs it (with penalty)", ("val_loss_epochs", None, "val_loss"), 1.0, ""),
        ("training penalty", ("penalty_epochs", None, "penalty"), 1.0, ""),
        ("total weight L2 norm", ("weight_l2_epochs", None, "weight_l2"), 1.0, ""),
    )


# Up to this many runs, each run is drawn; above, each configuration is drawn
# as the mean of its runs and their range: 500 runs as 3,000 lines are
# neither readable nor quick.
MOST_RUNS_DRAWN = 30
# Configurations named in the legend, each in a colour of its own (the
# colour cycle has ten); the others are drawn in grey: more colours than
# that cannot be told apart.
MOST_NAMED = 10
# Lines of the verdict above the panels; the table has the whole of it.
MOST_VERDICT_LINES = 8
OTHERS_COLOUR, BAND_ALPHA = "0.6", 0.2
# Titles just above their axes, where matplotlib would put them: placed,
# since finding that place measures every tick label again at each draw.
TITLE_PLACE = {"y": 1.0}

# The gids of the figure's parts (in an SVG, the ids of their groups). Each
# panel's axes is PANEL + its validation curve's key (`l2board-panel-val_metric`).
PANEL = "l2board-panel-"
RUN = "l2board-run"  # one run's validation curve; RUN + TRAINING its training curve
MEAN = "l2board-mean"  # a configuration's mean over its runs; MEAN + TRAINING likewise
BAND = "l2board-band"  # the range of a configuration's runs (validation)
OTHERS = "l2board-others"  # the grey curves of the configurations the legend leaves out (one collection)
TRAINING = "-training"
TITLE, NOTE, VERDICT, LEGEND = "l2board-title", "l2board-note", "l2board-verdict", "l2board-legend"


def seed_summary(curves):
    """The mean, lowest and highest of several runs' values, epoch by epoch.

    Args:
        curves: `[(epochs, values)]`, one per run; epochs need not agree.

    Returns:
        `(epochs, mean, lowest, highest)` as arrays over every epoch any run
        logged. Each epoch's numbers are of the runs that logged a finite
        value there (a run that stopped or diverged leaves the rest); NaN
        where none did.

    >>> epochs, mean, low, high = seed_summary([([0, 1], [1.0, 2.0]), ([0, 1, 2], [3.0, float("nan"), 5.0])])
    >>> epochs.tolist(), mean.tolist(), low.tolist(), high.tolist()
    ([0, 1, 2], [2.0, 2.0, 5.0], [1.0, 2.0, 5.0], [3.0, 2.0, 5.0])
    """
    import numpy as np

    epochs = np.unique(np.concatenate([np.asarray(e) for e, _ in curves]))
    table = np.full((len(curves), len(epochs)), np.nan)
    for row, (e, values) in enumerate(curves):
        table[row, np.searchsorted(epochs, e)] = values
    finite = np.isfinite(table)
    count = finite.sum(axis=0)
    none = np.full(len(epochs), np.nan)
    mean = np.divide(np.where(finite, table, 0.0).sum(axis=0), count, out=none.copy(), where=count > 0)
    low = np.where(count > 0, np.where(finite, table, np.inf).min(axis=0), none)
    high = np.where(count > 0, np.where(finite, table, -np.inf).max(axis=0), none)
    return epochs, mean, low, high


def _curves(logged, x_key, key, scale, aggregate):
    """`[(epochs, values, lowest, highest)]` of `key` in `logged` (runs' curves): one a run, or their summary.

    `lowest` and `highest` are `None` where nothing was aggregated.
    """
    import numpy as np

    series = [(curves[x_key], scale * np.asarray(curves[key], dtype=float)) for curves in logged if key in curves]
    if not aggregate or len(series) < 2:
        return [(np.asarray(epochs), values, None, None) for epochs, values in series]
    return [seed_summary(series)]


def _finite_pieces(epochs, values):
    """The stretches of a curve between non-finite values, as `[[(x, y), ...]]` (a line collection's segments)."""
    import numpy as np

    finite = np.isfinite(values)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(int), [0]))))
    return [np.column_stack((epochs[a:b], values[a:b])) for a, b in zip(edges[::2], edges[1::2])]


def _draw_panel(axis, panel, groups, aggregate):
    """Draws one panel: each named configuration in its colour, the others in grey behind them."""
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MaxNLocator

    title, (x_key, train_key, val_key), scale, unit = panel
    axis.set_gid(PANEL + val_key)
    grey, drew = {TRAINING: [], "": []}, False
    for _, colour, runs in groups:
        logged = [run.curves for run in runs if x_key in run.curves and val_key in run.curves]
        for key, part, style in ((train_key, TRAINING, "--"), (val_key, "", "-")):
            for epochs, values, low, high in (_curves(logged, x_key, key, scale, aggregate) if key else ()):
                drew = True
                if colour is None:
                    grey[part] += _finite_pieces(epochs, values)
                    continue
                axis.plot(epochs, values, style, color=colour, alpha=0.7 if part else 1.0,
                          gid=(MEAN if aggregate else RUN) + part)
                if low is not None and not part:
                    axis.fill_between(epochs, low, high, color=colour, alpha=BAND_ALPHA, linewidth=0, gid=BAND)
    for part, style in ((TRAINING, "--"), ("", "-")):
        if grey[part]:
            axis.add_collection(LineCollection(grey[part], colors=OTHERS_COLOUR, linewidths=0.8, linestyles=style,
                                               alpha=0.6, zorder=1.5, gid=OTHERS + part))
    axis.set_title(title + (f" ({unit})" if unit else ""), **TITLE_PLACE)
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    if not drew:
        axis.text(0.5, 0.5, "not logged (L2Monitor logs it)", ha="center", va="center",
                  transform=axis.transAxes, color="grey")


def _groups(comparison, colours):
    """`[(configuration, colour or None, [RunReport])]`: the first `MOST_NAMED` get colours, the others grey."""
    from matplotlib.colors import to_rgb

    report_of = {run.name: run for run in comparison.runs}
    if len(comparison.configurations) > len(colours):
        # The cycle's own grey would pass for one of the grey others.
        colours = [colour for colour in colours if len(set(to_rgb(colour))) > 1]
    named = min(MOST_NAMED, len(colours))
    return [(c, colours[i] if i < named else None, [report_of[name] for name in c.runs])
            for i, c in enumerate(comparison.configurations)]


def _legend_entries(groups, aggregate):
    """The legend's `(handle, label)`s: the named configurations, then one for the grey ones."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    entries, others = [], 0
    for configuration, colour, runs in groups:
        if colour is None:
            others += 1
            continue
        line = Line2D([], [], color=colour)
        handle = (Patch(color=colour, alpha=BAND_ALPHA, linewidth=0), line) if aggregate and len(runs) > 1 else line
        count = f" ({len(runs)} runs)" if len(runs) > 1 else ""
        entries.append((handle, _shown(f"{configuration.name}: {configuration.label}{count}")))
    if others:
        entries.append((Line2D([], [], color=OTHERS_COLOUR),
                        f"{others} other configuration{'s' if others != 1 else ''}, in grey"))
    return entries


def _drawn_words(comparison, groups, aggregate):
    """Says what the curves are when they are not every run in a colour of its own; `""` when they are."""
    sentences = []
    several = sum(len(runs) > 1 for _, _, runs in groups)
    if aggregate and several:
        which = ("each configuration" if several == len(groups) else
                 f"each of the {several} configurations of several runs")
        sentences.append(f"{len(comparison.runs)} runs in {len(groups)} configurations: {which} is drawn as the "
                         "mean of its runs at each epoch (line) and, for validation, the range from the lowest to "
                         "the highest of them (band).")
    grey = [runs for _, colour, runs in groups if colour is None]
    if grey:
        rest = f"the other {len(grey)} are" if len(grey) > 1 else "the other one is"
        means = ", means only" if aggregate and any(len(runs) > 1 for runs in grey) else ""
        sentences.append(f"The legend names the first {len(groups) - len(grey)} configurations (the baseline "
                         f"first); {rest} drawn in grey{means}, and the table lists them all.")
    return " ".join(sentences)


@contextlib.contextmanager
def _glyphs_missing_quietly():
    """Drops matplotlib's warnings about glyphs its font lacks, while text is measured or drawn.

    A run name in a script the font lacks (CJK, say) is drawn as boxes, and
    the table shows it; a warning per glyph on stderr would only bury the
    report.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        yield


def _save(figure, path, extension):
    """Writes the figure whole or not at all."""
    # Into a temporary file beside `path`, renamed over it once complete:
    # a failure halfway (a full disk, Ctrl-C) leaves an old plot as it was.
    with atomic_output(path, "the plot", binary=True) as handle, _glyphs_missing_quietly():
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
    _factor_ticks(axis, [p.factor for p, _ in points if p.factor > 0])
    if intervals is None:
        return [(means, "one seed per factor")]
    return [(means, "mean over seeds"), (intervals, "95% interval")]


def _factor_ticks(axis, factors):
    """A tick at every factor tried, labelled where the labels fit the axis's width (every one, or every n-th)."""
    from matplotlib.ticker import NullFormatter

    labels = [f"{factor:g}" for factor in factors]
    inches = axis.get_position().width * axis.get_figure().get_figwidth()
    # A tick label's digit takes about 0.09 inch at the default size; 0.2 inch between labels.
    fit = max(1, int(inches / (0.09 * max(map(len, labels), default=1) + 0.2)))
    step = -(-len(factors) // fit)
    axis.set_xticks(factors[::step], labels[::step])
    if step == 1:
        axis.minorticks_off()
    else:
        axis.set_xticks(factors, minor=True)
        axis.xaxis.set_minor_formatter(NullFormatter())


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
    axis.set_title("λ curve: validation data loss at the EarlyStopping epoch", **TITLE_PLACE)
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
    axis.set_title(f"validation {_shown(sweep.metric or 'metric')} at that epoch (%)", **TITLE_PLACE)
    axis.set_xlabel("L2 factor λ")
    for target in filter(None, (zero, axis)):
        target.grid(alpha=0.3)


# The figure's geometry, in inches: the panels keep their size, and the
# texts above them and the legend below get the room they take, measured.
# (matplotlib's constrained layout measures every tick label on each of the
# two draws of a save: seconds, and with a long verdict it gave up.)
FIGURE_WIDTH, PANEL_HEIGHT, MARGIN, TEXT_GAP = 15.0, 2.9, 0.15, 0.08
LEFT, RIGHT, COLUMN_GAP = 0.85, 0.25, 0.75
# Above the first row: its titles; between rows: tick labels, "epoch" and
# the next titles; below the last: its tick labels and x label.
ABOVE_PANELS, ROW_GAP, BELOW_PANELS = 0.45, 0.85, 0.65


def _closing_words(rest, what):
    """The line that ends a verdict cut short: how much is left out, and where it is."""
    left_out = (f"{rest} more sentence{'s' if rest != 1 else ''} of {what}" if rest
                else f"the rest of {what}")
    return f"... {left_out}: in the table of l2board compare, and in its --format json."


def verdict_lines(sentences, chars, what="the verdict", most=MOST_VERDICT_LINES):
    """The sentences as at most `most` lines of about `chars` characters.

    When they do not all fit, the sentences that do are kept in their order
    (one too long for the room left is passed over, so that a short answer
    after a long list still shows), and a last line says how many are left
    out and where they all are. When not even the first fits, its beginning
    is shown, cut at a word.

    >>> sentences = [f"Run {name} overfits less than run a." for name in "bcdefgh"]
    >>> for line in verdict_lines(sentences, 100, most=2):
    ...     print(line)
    Run b overfits less than run a. Run c overfits less than run a. Run d overfits less than run a.
    ... 4 more sentences of the verdict: in the table of l2board compare, and in its --format json.
    """
    import textwrap

    def wrap(text):
        # Never inside a word: a name escaped as "\$" must not lose its "\".
        return textwrap.wrap(text, chars, break_long_words=False)

    whole = " ".join(sentences)
    if len(whole) <= most * chars:  # else it cannot fit: a verdict on 500 runs is not wrapped whole
        lines = wrap(whole)
        if len(lines) <= most:
            return lines
    room = max(1, most - len(wrap(_closing_words(len(sentences), what))))
    shown, lines = [], []
    for sentence in sentences:
        if len(lines) == room and len(lines[-1]) + 1 + len(sentence) > chars:
            continue  # cannot fit: saves wrapping the lines again
        candidate = wrap(" ".join(shown + [sentence]))
        if len(candidate) <= room:
            shown, lines = shown + [sentence], candidate
    if shown:
        return lines + wrap(_closing_words(len(sentences) - len(shown), what))
    return wrap(sentences[0])[:room] + wrap(_closing_words(0, what))


def _fitted_lines(text, sentences, width, renderer, most=None, what="the verdict"):
    """Sets `text` (a figure text) to `sentences` in lines no wider than `width` pixels (`verdict_lines`)."""
    sample = " ".join(sentences)[:400]
    text.set_text(sample)
    chars = max(40, int(len(sample) * width / max(1.0, text.get_window_extent(renderer).width)))
    while True:
        lines = verdict_lines(sentences, chars, what, most=most or 10 ** 6)
        text.set_text("\n".join(lines))
        if text.get_window_extent(renderer).width <= width or chars <= 40:
            return text
        chars = int(chars * 0.95)  # these lines are wider than the sample's average


def _header(figure, comparison, groups, aggregate, renderer):
    """The texts above the panels: the line styles, what the curves are, the verdict (cut short)."""
    width = (FIGURE_WIDTH - 2 * MARGIN) * figure.dpi
    place = dict(x=0.5, y=1.0, ha="center", va="top", fontsize="medium")
    texts = [figure.text(s="l2board compare: solid = validation, dashed = training", gid=TITLE, **place)]
    drawn = _drawn_words(comparison, groups, aggregate)
    if drawn:
        texts.append(_fitted_lines(figure.text(s="", gid=NOTE, style="italic", **place), [drawn], width, renderer))
    # With a sweep, the recommendation is the answer; the verdicts of every
    # factor against the baseline are in the table.
    sentences = sweep_sentences(comparison) if comparison.sweep else verdict_sentences(comparison)
    if sentences:
        # The figure's suptitle, as it has always been.
        texts.append(_fitted_lines(figure.suptitle(t="", gid=VERDICT, **place), [_shown(s) for s in sentences],
                                   width, renderer, most=MOST_VERDICT_LINES,
                                   what="the recommendation" if comparison.sweep else "the verdict"))
    return texts


def _legend(figure, entries, renderer):
    """The figure's legend, in as many columns (up to 3) as fit its width; `None` without entries."""
    if not entries:
        return None
    handles, labels = zip(*entries)
    for columns in range(min(3, len(entries)), 0, -1):
        # Given explicitly: matplotlib would silently drop a label it
        # collected itself that starts with "_" (a run named "_base").
        legend = figure.legend(handles, labels, loc="lower center", ncol=columns, fontsize="small")
        legend.set_gid(LEGEND)
        if columns == 1 or legend.get_window_extent(renderer).width <= (FIGURE_WIDTH - 2 * MARGIN) * figure.dpi:
            return legend
        legend.remove()


def _arrange(figure, texts, legend, rows, renderer):
    """Sizes the figure for its texts, `rows` rows of panels and the legend; places them; returns the grid."""
    def inches(artist):
        return artist.get_window_extent(renderer).height / figure.dpi

    heights = [inches(text) for text in texts]
    above = MARGIN + sum(heights) + TEXT_GAP * (len(texts) - 1) + ABOVE_PANELS
    below = MARGIN + (inches(legend) if legend else 0.0) + BELOW_PANELS
    height = above + rows * PANEL_HEIGHT + (rows - 1) * ROW_GAP + below
    figure.set_size_inches(FIGURE_WIDTH, height)
    top = height - MARGIN
    for text, text_height in zip(texts, heights):
        text.set_y(top / height)
        top -= text_height + TEXT_GAP
    if legend:
        legend.set_bbox_to_anchor((0.5, MARGIN / height), transform=figure.transFigure)
    axes_width = (FIGURE_WIDTH - LEFT - RIGHT - 2 * COLUMN_GAP) / 3
    return figure.add_gridspec(rows, 3, left=LEFT / FIGURE_WIDTH, right=1 - RIGHT / FIGURE_WIDTH,
                               top=1 - above / height, bottom=below / height,
                               wspace=COLUMN_GAP / axes_width, hspace=ROW_GAP / PANEL_HEIGHT)


def comparison_figure(comparison):
    """Draws the comparison as a matplotlib `Figure` (Agg), as `plot_comparison` writes it.

    The caller closes it (`matplotlib.pyplot.close(figure)`). Its parts
    have gids: each panel's axes `PANEL` + its key, their curves `RUN`,
    `MEAN` (+ `TRAINING`), `BAND` and `OTHERS`; the texts above the panels
    `TITLE`, `NOTE` and `VERDICT`, the legend `LEGEND`. The λ curve's axes
    have the gids `LAMBDA_LOSS` and `LAMBDA_METRIC` (with `-zero` for the
    axis of λ = 0), and their artists gids that start with these.
    """
    plt = _pyplot()
    sweep = comparison.sweep
    figure = plt.figure(figsize=(FIGURE_WIDTH, 10))  # its height is set once its texts are measured
    renderer = figure.canvas.get_renderer()
    groups = _groups(comparison, plt.rcParams["axes.prop_cycle"].by_key()["color"])
    aggregate = len(comparison.runs) > MOST_RUNS_DRAWN
    with _glyphs_missing_quietly():
        texts = _header(figure, comparison, groups, aggregate, renderer)
        legend = _legend(figure, _legend_entries(groups, aggregate), renderer)
        grid = _arrange(figure, texts, legend, 2 if sweep is None else 3, renderer)
    for index, panel in enumerate(_panels(comparison)):
        _draw_panel(figure.add_subplot(grid[index // 3, index % 3]), panel, groups, aggregate)
    if sweep is not None:
        _draw_sweep(figure, (grid[2, :2], grid[2, 2]), comparison)
    return figure


def plot_comparison(comparison, path):
    """Writes the comparison's curves to a PNG, SVG or PDF file.

    Six panels: accuracy (training dashed, validation solid), the loss the
    overfitting measures use (likewise; L2Monitor's data loss where logged),
    the accuracy gap, the validation loss as Keras logs it (penalty
    included), the mean training penalty, and the total weight L2 norm; one
    colour per configuration, the baseline's first. Above `MOST_RUNS_DRAWN`
    runs, each configuration is drawn as the mean of its runs at each epoch
    and, for validation, a band from their lowest to their highest value;
    the first `MOST_NAMED` configurations (fewer where the colour cycle has
    fewer colours that are not grey) get a colour and a legend entry, the
    others are drawn in grey. The figure says so above the panels, with the
    verdict (cut to `MOST_VERDICT_LINES` lines, saying how much is left
    out). When the configurations are a sweep of L2 factors
    (`comparison.sweep`), a row below draws the λ curve: the validation
    data loss at the EarlyStopping epoch per factor (log axis, λ = 0
    apart), with its 95% interval over seeds, the lowest mean and the
    one-standard-error choice marked, and the metric there.

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
