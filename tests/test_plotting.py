"""`plot_comparison`: names drawn as text, paths checked up front, old plots never damaged."""

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
