"""`plot_comparison`: names drawn as text, paths checked up front, old plots never damaged."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest
from conftest import write_run
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
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", CHILD, run, str(path)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Cannot write the plot to '{path}': File too large.\n"
    # Before, savefig wrote into the file itself: 4 kB of a new PNG or PDF was left there.
    assert path.read_bytes() == old
    assert os.listdir(tmp_path / "out") == [path.name]  # no temporary file left behind
