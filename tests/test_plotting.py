"""`plot_comparison`: names drawn as text, paths checked up front, old plots never damaged."""

import math
import os
import sys
import xml.etree.ElementTree as ElementTree

import pytest
from conftest import run_child, write_run
from test_report import hostile  # noqa: F401 (a fixture)

from l2board.errors import L2BoardError
from l2board.rendering.plotting import check_plot_path, plot_comparison
from l2board.safe_text import printable

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_check_plot_path_refuses_what_cannot_work(tmp_path):
    with pytest.raises(L2BoardError, match=r"^Cannot write a plot to '.*report\.gif': use a \.png, \.svg or \.pdf"):
        check_plot_path(str(tmp_path / "report.gif"))
    with pytest.raises(L2BoardError, match=r"the folder '.*missing' does not exist\.$"):
        check_plot_path(str(tmp_path / "missing" / "report.png"))
    (tmp_path / "taken.png").mkdir()
    with pytest.raises(L2BoardError, match=r"^Cannot write the plot to '.*taken\.png': it is a folder\.$"):
        check_plot_path(str(tmp_path / "taken.png"))
    check_plot_path(str(tmp_path / "report.PDF"))
    assert os.listdir(tmp_path) == ["taken.png"]  # a check creates nothing


@pytest.mark.parametrize("extension", ["png", "svg", "pdf"])
def test_hostile_names_are_drawn_as_text(hostile, tmp_path, extension, recwarn):  # noqa: F811
    # Before, a byte that is not UTF-8 made matplotlib raise TypeError, and
    # "$\foo$" a mathtext ValueError: no plot in any format.
    path = str(tmp_path / f"plot.{extension}")
    assert plot_comparison(hostile, path) == path
    assert os.path.getsize(path) > 10_000
    # "実験" is drawn as boxes by the default font, without a warning per glyph on stderr.
    assert not [w for w in recwarn if "Glyph" in str(w.message)]


def test_legend_and_titles_show_names_as_they_are(hostile, tmp_path):  # noqa: F811
    import matplotlib

    # With fonttype "none" the SVG keeps each text as a <text> element, as drawn.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot_comparison(hostile, str(tmp_path / "plot.svg"))
    root = ElementTree.parse(tmp_path / "plot.svg").getroot()
    texts = ["".join(node.itertext()) for node in root.iter("{http://www.w3.org/2000/svg}text")]
    legend = [printable(f"{c.name}: {c.label}") for c in hostile.configurations]
    # Every configuration, "_base" too, once, escaped; "$" shown, not typeset.
    assert sorted(t for t in texts if t in legend) == sorted(legend)
    assert "cost$\\foo$: L2 0.01 on dense|x\\n\\x1b[1m (100% of weights)" in legend
    assert printable(hostile.metric) + " (%)" in texts
    assert not any(raw in text for text in texts for raw in ("\x1b", "\u202e", "\n"))


CHILD = """
import resource, signal, sys
from l2board.analysis.comparison import compare_runs
from l2board.errors import L2BoardError
from l2board.reading.logs import read_runs
from l2board.rendering.plotting import plot_comparison
import matplotlib.pyplot  # before the limit: matplotlib may write its font cache

comparison = compare_runs(read_runs([sys.argv[1]]))
# Writes past 4 kB fail with EFBIG, as they would on a full disk.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    plot_comparison(comparison, sys.argv[2])
except L2BoardError as error:
    print(error)
"""


@pytest.mark.parametrize("extension", ["png", "pdf"])
def test_a_failed_plot_leaves_the_old_file_as_it_was(tmp_path, extension):
    run = write_run(tmp_path / "runs" / "a", train={"epoch_accuracy": [0.5, 0.9], "epoch_loss": [1.0, 0.4]},
                    validation={"epoch_accuracy": [0.5, 0.6], "epoch_loss": [1.0, 0.9]})
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / f"plot.{extension}"
    old = b"the plot of yesterday\n" * 10
    path.write_bytes(old)
    env = dict(PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    result = run_child([sys.executable, "-c", CHILD, run, str(path)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Cannot write the plot to '{path}': File too large.\n"
    # Before, savefig wrote into the file itself: 4 kB of a new PNG or PDF was left there.
    assert path.read_bytes() == old
    assert os.listdir(tmp_path / "out") == [path.name]  # no temporary file left behind


# The λ curve: a sweep of L2 factors gets a row of its own, drawn from the comparison's numbers.

def artists(axis, gid):
    """The artists of `axis` whose gid is `gid`."""
    return [child for child in axis.get_children() if child.get_gid() == gid]


def axes_with(figure, gid):
    found = [axis for axis in figure.axes if axis.get_gid() == gid]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    from test_factor_sweep import INTERIOR, write_sweep

    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs

    losses = dict(INTERIOR)
    losses[1e-2] = [0.61, 0.64, 0.63]  # within one standard error of 1e-3: the one-SE rule picks 1e-2
    root = tmp_path_factory.mktemp("sweep")
    return compare_runs(read_runs(write_sweep(root, losses)), baseline="l2_0")


@pytest.fixture
def figure_of():
    import matplotlib.pyplot as plt

    from l2board.rendering.plotting import comparison_figure

    figures = []

    def draw(comparison):
        figures.append(comparison_figure(comparison))
        return figures[-1]

    yield draw
    for figure in figures:
        plt.close(figure)


def test_lambda_curve_draws_the_comparisons_means_and_intervals(swept, figure_of):
    from l2board.rendering.plotting import LAMBDA_LOSS, LAMBDA_METRIC

    sweep = swept.sweep
    assert sweep.points[0].factor == 0 and sweep.replicated
    figure = figure_of(swept)
    zero, curve = axes_with(figure, LAMBDA_LOSS + "-zero"), axes_with(figure, LAMBDA_LOSS)
    assert curve.get_xscale() == "log" and zero.get_xscale() == "linear"
    assert zero.get_shared_y_axes().joined(zero, curve)
    # λ = 0 apart, at 0 on its own axis; the others at their factors on the log axis.
    assert [t.get_text() for t in zero.get_xticklabels()] == ["0"]
    nonzero = [p for p in sweep.points if p.factor > 0]
    assert list(curve.get_xticks()) == [p.factor for p in nonzero]
    assert [t.get_text() for t in curve.get_xticklabels()] == [f"{p.factor:g}" for p in nonzero]
    for axis, points in ((zero, sweep.points[:1]), (curve, nonzero)):
        (line,) = artists(axis, LAMBDA_LOSS + "-mean")
        assert list(line.get_xdata()) == [p.factor for p in points]
        assert list(line.get_ydata()) == [p.loss.mean for p in points]
        (bars,) = artists(axis, LAMBDA_LOSS + "-interval")
        assert [segment.tolist() for segment in bars.get_segments()] == [
            [[p.factor, p.loss.low], [p.factor, p.loss.high]] for p in points]
        assert len(artists(axis, LAMBDA_LOSS + "-break")) == 1  # the broken-axis strokes
    # The metric, in %, likewise.
    zero, curve = axes_with(figure, LAMBDA_METRIC + "-zero"), axes_with(figure, LAMBDA_METRIC)
    for axis, points in ((zero, sweep.points[:1]), (curve, nonzero)):
        (line,) = artists(axis, LAMBDA_METRIC + "-mean")
        assert list(line.get_ydata()) == [100.0 * p.metric.mean for p in points]
        (bars,) = artists(axis, LAMBDA_METRIC + "-interval")
        assert [segment.tolist() for segment in bars.get_segments()] == [
            [[p.factor, 100.0 * p.metric.low], [p.factor, 100.0 * p.metric.high]] for p in points]
    assert "accuracy" in curve.get_title()


def test_lambda_curve_marks_the_best_and_one_standard_error_factors(swept, figure_of):
    from l2board.rendering.plotting import LAMBDA_LOSS

    chosen = swept.sweep.recommendation
    best, one_se = swept.sweep.points[chosen.best_index], swept.sweep.points[chosen.one_se_index]
    assert (chosen.best_factor, chosen.one_se_factor) == (1e-3, 1e-2)
    curve = axes_with(figure_of(swept), LAMBDA_LOSS)
    (star,) = artists(curve, LAMBDA_LOSS + "-best")
    (diamond,) = artists(curve, LAMBDA_LOSS + "-one-se")
    assert (list(star.get_xdata()), list(star.get_ydata())) == ([best.factor], [best.loss.mean])
    assert (list(diamond.get_xdata()), list(diamond.get_ydata())) == ([one_se.factor], [one_se.loss.mean])
    (band,) = artists(curve, LAMBDA_LOSS + "-band")
    assert list(band.get_ydata()) == [best.loss.mean + best.loss.standard_error] * 2
    assert band.get_linestyle() == "--"
    labels = [t.get_text() for t in curve.get_legend().get_texts()]
    assert labels == ["mean over seeds", "95% interval", "lowest mean: 0.001", "best + 1 SE", "one-SE choice: 0.01"]
    assert curve.get_title() == "λ curve: validation data loss at the EarlyStopping epoch"
    assert not artists(curve, LAMBDA_LOSS + "-edge")  # the best is inside the grid


def test_lambda_curve_in_the_saved_files(swept, tmp_path):
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot_comparison(swept, str(tmp_path / "plot.svg"))
    root = ElementTree.parse(tmp_path / "plot.svg").getroot()
    ids = {node.get("id") for node in root.iter()}
    assert {"l2board-lambda-loss", "l2board-lambda-loss-zero", "l2board-lambda-metric"} <= ids
    texts = ["".join(node.itertext()) for node in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "λ curve: validation data loss at the EarlyStopping epoch" in texts
    assert "L2 factor λ" in texts and "one-SE choice: 0.01" in texts
    assert plot_comparison(swept, str(tmp_path / "plot.png")) == str(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_best_at_the_edge_is_noted_with_the_next_grid(tmp_path, figure_of):
    from test_factor_sweep import write_sweep

    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs
    from l2board.rendering.plotting import LAMBDA_LOSS

    losses = {0: [0.9, 0.92, 0.91], 1e-3: [0.8, 0.82, 0.81], 1e-2: [0.7, 0.72, 0.71], 1e-1: [0.6, 0.62, 0.61]}
    comparison = compare_runs(read_runs(write_sweep(tmp_path, losses)))
    sweep = comparison.sweep
    assert sweep.recommendation.edge == "largest"
    curve = axes_with(figure_of(comparison), LAMBDA_LOSS)
    (note,) = artists(curve, LAMBDA_LOSS + "-edge")
    assert note.get_text() == "best at the edge: try " + ", ".join(f"{f:g}" for f in sweep.next_factors)
    assert note.get_text() == "best at the edge: try 1, 10, 100"


def test_one_seed_per_factor_draws_no_interval(tmp_path, figure_of):
    from test_factor_sweep import INTERIOR, write_sweep

    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs
    from l2board.rendering.plotting import LAMBDA_LOSS, LAMBDA_METRIC

    comparison = compare_runs(read_runs(write_sweep(tmp_path, INTERIOR, seeds=1)))
    figure = figure_of(comparison)
    for gid in (LAMBDA_LOSS, LAMBDA_METRIC):
        for axis in (axes_with(figure, gid), axes_with(figure, gid + "-zero")):
            assert artists(axis, gid + "-mean")
            assert not artists(axis, gid + "-interval") and not artists(axis, gid + "-caps")
            assert not artists(axis, gid + "-band") and not artists(axis, gid + "-one-se")
    curve = axes_with(figure, LAMBDA_LOSS)
    (star,) = artists(curve, LAMBDA_LOSS + "-best")
    assert list(star.get_xdata()) == [comparison.sweep.recommendation.best_factor]
    assert [t.get_text() for t in curve.get_legend().get_texts()] == ["one seed per factor", "lowest mean: 0.001"]


def test_no_sweep_no_lambda_curve(hostile, tmp_path, figure_of):  # noqa: F811
    import matplotlib

    assert hostile.sweep is None
    figure = figure_of(hostile)
    assert len(figure.axes) == 6
    assert not [axis for axis in figure.axes if (axis.get_gid() or "").startswith("l2board-lambda")]
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot_comparison(hostile, str(tmp_path / "plot.svg"))
    assert "l2board-lambda" not in (tmp_path / "plot.svg").read_text()


# Many runs: configurations drawn as means and bands, the legend capped, the texts off the axes, no warning.

def write_configurations(root, factors, layer_sets, seeds, epochs=5):
    """`len(factors) x len(layer_sets)` configurations of `seeds` runs, curves apart by configuration and seed.

    The second seed of the first configuration stops an epoch early, and
    the second seed of the second diverges at its last epoch: a mean over
    seeds must take both in its stride.
    """
    from test_analysis import l2monitor_like_run
    from test_factor_sweep import setup_with

    index = 0
    for folder, layers in layer_sets.items():
        for factor in factors:
            for seed in range(seeds):
                length = epochs - 1 if (index, seed) == (0, 1) else epochs
                e = range(length)
                val_data = [1.1 - 0.05 * i + 0.01 * index * i + 0.02 * seed for i in e]
                if (index, seed) == (1, 1):
                    val_data[-1] = float("nan")
                l2monitor_like_run(root / folder / f"l2_{factor:g}-seed{seed}", setup_with(factor, layers),
                                   train_acc=[0.5 + 0.08 * i + 0.01 * seed for i in e],
                                   val_acc=[0.5 + 0.03 * i - 0.002 * index * i + 0.01 * seed for i in e],
                                   train_data=[1.0 - 0.15 * i - 0.01 * seed for i in e], val_data=val_data,
                                   penalty=factor)
            index += 1
    return root


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """32 runs: 16 configurations (8 factors on two sets of layers, so no λ sweep) x 2 seeds.

    As many as made matplotlib's constrained layout give up with a warning
    (axes collapsed to zero) and draw the verdict over the axes.
    """
    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs

    root = write_configurations(tmp_path_factory.mktemp("many"), (0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0),
                                {"one": ("dense/kernel",), "two": ("dense/kernel", "conv/kernel")}, seeds=2)
    comparison = compare_runs(read_runs([str(root)]))
    assert len(comparison.runs) == 32 and len(comparison.configurations) == 16 and comparison.sweep is None
    return comparison


@pytest.fixture(scope="module")
def many_swept(tmp_path_factory):
    """33 runs: a λ sweep of 11 factors x 3 seeds."""
    from test_factor_sweep import write_sweep

    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs

    factors = [0] + [10 ** (k / 2 - 6) for k in range(10)]
    losses = {f: [0.6 + 0.01 * (k - 6) ** 2 + 0.02 * seed for seed in range(3)] for k, f in enumerate(factors)}
    comparison = compare_runs(read_runs(write_sweep(tmp_path_factory.mktemp("many-swept"), losses)))
    assert len(comparison.runs) == 33 and comparison.sweep is not None and len(comparison.sweep.points) == 11
    return comparison


@pytest.fixture(scope="module")
def drawn():
    """Draws a comparison's figure once per module, with every warning an error (matplotlib's layout warnings too).

    Only the warnings about glyphs the font lacks ("実験" is drawn as
    boxes) are let through: the plot drops them on purpose.
    """
    import warnings

    import matplotlib.pyplot as plt

    from l2board.rendering.plotting import comparison_figure

    figures = {}

    def draw(comparison):
        if id(comparison) not in figures:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                warnings.filterwarnings("ignore", "Glyph")
                figures[id(comparison)] = comparison_figure(comparison)
                figures[id(comparison)].canvas.draw()
        return figures[id(comparison)]

    yield draw
    for figure in figures.values():
        plt.close(figure)


def panels(figure):
    from l2board.rendering.plotting import PANEL

    found = [axis for axis in figure.axes if (axis.get_gid() or "").startswith(PANEL)]
    assert len(found) == 6
    return found


# Where each panel's epochs are (docs/compare-json.md, `curves`), and its scale.
EPOCHS_OF = {"val_metric": ("metric_epochs", 100.0), "val_data_loss": ("data_loss_epochs", 1.0),
             "metric_gap_pp": ("metric_epochs", 1.0), "val_loss": ("val_loss_epochs", 1.0),
             "penalty": ("penalty_epochs", 1.0), "weight_l2": ("weight_l2_epochs", 1.0)}


def expected_summary(runs, key):
    """Epochs, and the mean, lowest and highest of the runs' finite values at each, computed here."""
    import numpy as np

    x_key, scale = EPOCHS_OF[key]
    at = {}
    for run in runs:
        for epoch, value in zip(run.curves[x_key], run.curves[key]):
            if math.isfinite(value):
                at.setdefault(epoch, []).append(scale * value)
    epochs = sorted(at)
    return (epochs, [float(np.mean(at[e])) for e in epochs], [min(at[e]) for e in epochs],
            [max(at[e]) for e in epochs])


def test_many_runs_are_drawn_as_each_configurations_mean_and_band(many, drawn):
    from l2board.rendering.plotting import BAND, MEAN, MOST_RUNS_DRAWN, OTHERS, PANEL, RUN, TRAINING

    assert len(many.runs) > MOST_RUNS_DRAWN
    figure = drawn(many)
    runs_of = {run.name: run for run in many.runs}
    named = many.configurations[:9]  # the colour cycle's ten, less its grey
    for axis in panels(figure):
        key = axis.get_gid()[len(PANEL):]
        assert not artists(axis, RUN) and not artists(axis, RUN + TRAINING)  # no run is drawn alone
        means, bands = artists(axis, MEAN), artists(axis, BAND)
        assert len(means) == len(bands) == len(named)  # one of each per named configuration
        assert len(artists(axis, MEAN + TRAINING)) == (len(named) if key in ("val_metric", "val_data_loss") else 0)
        (others,) = artists(axis, OTHERS)  # the other seven configurations' means, in grey, together
        assert len(others.get_segments()) == 7
        for configuration, mean, band in zip(named, means, bands):
            epochs, average, lowest, highest = expected_summary([runs_of[n] for n in configuration.runs], key)
            assert list(mean.get_xdata()) == epochs
            assert list(mean.get_ydata()) == pytest.approx(average)
            (outline,) = band.get_paths()
            low, high = outline.vertices[:, 1].min(), outline.vertices[:, 1].max()
            assert (low, high) == (pytest.approx(min(lowest)), pytest.approx(max(highest)))
    # In "one/l2_0" a seed stopped an epoch early; in "one/l2_0.0001" one diverged at the last epoch.
    data_loss = next(axis for axis in panels(figure) if axis.get_gid() == PANEL + "val_data_loss")
    mean_of = {c.name: line for c, line in zip(named, artists(data_loss, MEAN))}
    configuration_of = {c.name: c for c in named}
    short = [runs_of[n] for n in configuration_of["one/l2_0"].runs]
    assert sorted(len(run.curves["val_data_loss"]) for run in short) == [4, 5]
    (full,) = [run.curves["val_data_loss"] for run in short if len(run.curves["val_data_loss"]) == 5]
    assert mean_of["one/l2_0"].get_ydata()[-1] == pytest.approx(full[-1])  # the one seed that got there
    diverged = [runs_of[n].curves["val_data_loss"][-1] for n in configuration_of["one/l2_0.0001"].runs]
    assert sum(math.isnan(v) for v in diverged) == 1
    assert mean_of["one/l2_0.0001"].get_ydata()[-1] == pytest.approx(next(v for v in diverged if v == v))


def legend_texts(figure):
    from l2board.rendering.plotting import LEGEND

    (legend,) = figure.legends
    assert legend.get_gid() == LEGEND
    return [text.get_text() for text in legend.get_texts()]


def figure_texts(figure):
    """The texts of the figure itself (not of its axes or legend): its suptitle among them."""
    from matplotlib.text import Text

    return [child for child in figure.get_children() if isinstance(child, Text) and child.get_text()]


def figure_text(figure, gid):
    found = [text for text in figure_texts(figure) if text.get_gid() == gid]
    assert len(found) <= 1
    return found[0].get_text() if found else None


def test_the_legend_is_capped_and_the_figure_says_what_was_aggregated(many, drawn):
    from l2board.rendering.plotting import MOST_NAMED, NOTE

    figure = drawn(many)
    labels = legend_texts(figure)
    assert len(labels) <= MOST_NAMED + 1
    assert labels == [printable(f"{c.name}: {c.label} (2 runs)") for c in many.configurations[:9]] + [
        "7 other configurations, in grey"]
    assert figure_text(figure, NOTE).replace("\n", " ") == (
        "32 runs in 16 configurations: each configuration is drawn as the mean of its runs at each epoch (line) "
        "and, for validation, the range from the lowest to the highest of them (band). The legend names the "
        "first 9 configurations (the baseline first); the other 7 are drawn in grey, means only, and the "
        "table lists them all.")


def test_few_runs_are_each_drawn_and_nothing_is_said_of_aggregation(hostile, drawn):  # noqa: F811
    from l2board.rendering.plotting import BAND, MEAN, NOTE, OTHERS, PANEL, RUN

    figure = drawn(hostile)
    for axis in panels(figure):
        key = axis.get_gid()[len(PANEL):]
        logged = [run for run in hostile.runs if key in run.curves]
        assert len(artists(axis, RUN)) == len(logged)
        assert not artists(axis, MEAN) and not artists(axis, BAND) and not artists(axis, OTHERS)
    assert figure_text(figure, NOTE) is None
    assert len(legend_texts(figure)) == len(hostile.configurations)


def test_a_long_verdict_is_cut_at_sentences_and_says_where_the_rest_is(many, drawn):
    from l2board.rendering.plotting import MOST_VERDICT_LINES, VERDICT
    from l2board.rendering.wording import verdict_sentences

    lines = figure_text(drawn(many), VERDICT).split("\n")
    assert len(lines) <= MOST_VERDICT_LINES
    sentences = verdict_sentences(many)
    shown = " ".join(lines[:-1])
    # Whole sentences, in their order; the last line counts the others.
    kept = [s for s in sentences if printable(s).replace("$", r"\$") in shown]
    assert " ".join(printable(s).replace("$", r"\$") for s in kept) == shown
    assert lines[-1] == (f"... {len(sentences) - len(kept)} more sentences of the verdict: in the table of "
                         "l2board compare, and in its --format json.")


def bounding_boxes(figure):
    """`{name: Bbox}` of the figure's texts, its legend, and each panel (the λ curve's axes pairs as one)."""
    from matplotlib.transforms import Bbox

    renderer = figure.canvas.get_renderer()
    boxes = {text.get_gid(): text.get_window_extent(renderer) for text in figure_texts(figure)}
    boxes.update({"legend": legend.get_window_extent(renderer) for legend in figure.legends})
    groups = {}
    for axis in figure.axes:
        name = axis.get_gid().removesuffix("-zero")
        groups.setdefault(name, []).append(axis.get_tightbbox(renderer))
    boxes.update({name: Bbox.union(group) for name, group in groups.items()})
    return boxes


@pytest.mark.parametrize("name", ["many", "many_swept", "hostile", "swept"])
def test_no_text_overlaps_the_axes_or_leaves_the_figure(name, request, drawn):
    from l2board.rendering.plotting import MOST_RUNS_DRAWN

    comparison = request.getfixturevalue(name)
    figure = drawn(comparison)
    # Each panel with its title, tick labels and x label (the λ curves' two axes as one), each text, the legend.
    boxes = bounding_boxes(figure)
    # The panels, the λ curves of a sweep, the title, the note where runs were aggregated, the verdict, the legend.
    assert len(boxes) == 6 + 2 * (comparison.sweep is not None) + 1 + (len(comparison.runs) > MOST_RUNS_DRAWN) + 2
    whole = figure.bbox
    for first, box in boxes.items():
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0 and box.y1 <= whole.y1, first
        for second, other in boxes.items():
            assert first == second or not box.overlaps(other), (first, second)


def test_lambda_curve_keeps_its_row_with_many_runs_and_its_labels_apart(many_swept, drawn):
    from l2board.rendering.plotting import LAMBDA_LOSS, LAMBDA_METRIC, MEAN

    figure = drawn(many_swept)
    assert len(figure.axes) == 6 + 4
    assert all(artists(axis, MEAN) for axis in panels(figure))
    renderer = figure.canvas.get_renderer()
    for gid in (LAMBDA_LOSS, LAMBDA_METRIC):
        curve = axes_with(figure, gid)
        (line,) = artists(curve, gid + "-mean")
        assert list(line.get_xdata()) == [p.factor for p in many_swept.sweep.points if p.factor > 0]
        # Every factor has a tick; the labels shown do not run into each other.
        ticks = set(curve.get_xticks()) | set(curve.get_xticks(minor=True))
        assert sorted(ticks) == sorted(line.get_xdata())
        labels = [t for t in curve.get_xticklabels() if t.get_text()]
        assert 2 <= len(labels) < 10
        boxes = [t.get_window_extent(renderer) for t in labels]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_many_runs_are_plotted_without_a_warning(many, many_swept, tmp_path):
    import warnings

    for comparison, extension in ((many, "png"), (many_swept, "svg"), (many, "pdf")):
        path = tmp_path / f"plot.{extension}"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # before, matplotlib warned that the axes collapsed to zero
            plot_comparison(comparison, str(path))
        assert path.stat().st_size > 10_000
