"""The L2 tab in a real TensorBoard and a real headless Chromium, on runs laid out as the demo's.

The runs are written with tf.summary, as L2Monitor lays them out, from
known curves; one more run holds only what any Keras user logs. The page is
read from the DOM Chromium renders (`--dump-dom`).
"""

import contextlib
import html.parser
import json
import math
import os
import shutil
import tempfile
import urllib.parse

import pytest
from conftest import write_run
from test_factor_sweep import INTERIOR, write_sweep
from test_plugin import chromium
from test_tensorboard_server import get_json, tensorboard_server

from l2board.analysis.comparison import compare_runs
from l2board.log_format import tags
from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable
from l2board.reading.logs import read_runs
from l2board.rendering.report import render_markdown, report_json

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("tab_browser")

EPOCHS = 10
VARIABLES = {"conv1/kernel": 2400, "conv1/bias": 32, "fc1/kernel": 97600, "fc1/bias": 100}
# Run names of the demo; the run without L2Monitor is named in HTML, which
# must reach the page as text (its notes quote it).
DEMO_RUNS = {"l2-0.01-all": ("conv1/kernel", "fc1/kernel"), "no-l2": (), "tutorial-l2-0.01-conv1": ("conv1/kernel",)}
KERAS_ONLY = "<em>keras-only"


def write_l2monitor_like(folder, regularized):
    """A finished run as L2Monitor logs it: the more weights under L2, the less it overfits."""
    import tensorflow as tf

    setup = RegularizationSetup(variables=tuple(
        WeightVariable(path, size, True, *(("L2", None, 0.01) if path in regularized else ()))
        for path, size in VARIABLES.items()))
    strength = 1.0 - setup.coverage * 0.7
    epochs = range(EPOCHS)
    rise = [max(0, e - 3) for e in epochs]
    penalty = {v: [0.02 * (1 - 0.05 * e) for e in epochs] for v in regularized}
    total_penalty = [sum(p[e] for p in penalty.values()) for e in epochs]
    train_data = [2.0 * math.exp(-e / 3) + 0.05 for e in epochs]
    train = {
        "epoch_data_loss": train_data,
        "epoch_loss": [d + p for d, p in zip(train_data, total_penalty)],
        "epoch_accuracy": [0.5 + (0.49 - 0.1 * (1 - strength)) * (1 - math.exp(-e / 2)) for e in epochs],
        tags.PENALTY: total_penalty,
        tags.PENALTY_SHARE: [p / (d + p) for d, p in zip(train_data, total_penalty)],
        **{tags.variable_penalty(v): values for v, values in penalty.items()},
        tags.norm_total("l2"): [10.0 * (1 + 0.03 * e * strength) for e in epochs],
        tags.norm_total("init_distance"): [e * strength for e in epochs],
        **{tags.variable_norm("l2", v): [(2.0 + i) * (1 + 0.03 * e * strength) for e in epochs]
           for i, v in enumerate(VARIABLES)},
        **{tags.variable_norm("init_distance", v): [0.1 * e * (1 + i) * strength for e in epochs]
           for i, v in enumerate(VARIABLES)},
    }
    val_data = [1.6 * math.exp(-e / 3) + 0.6 + 0.08 * strength * r for e, r in zip(epochs, rise)]
    validation = {
        "epoch_data_loss": val_data,
        "epoch_loss": [d + p for d, p in zip(val_data, total_penalty)],
        "epoch_accuracy": [0.5 + 0.2 * (1 - math.exp(-e / 2)) - 0.015 * strength * r for e, r in zip(epochs, rise)],
    }
    write_run(folder, train, validation, setup=setup)
    # L2Monitor's end-of-training record: without it the run reads as interrupted.
    writer = tf.summary.create_file_writer(os.path.join(str(folder), tags.TRAIN_DIR))
    with writer.as_default():
        tf.summary.text(tags.TRAINING_END, json.dumps({"last_epoch": EPOCHS - 1}), step=EPOCHS - 1)
    writer.close()


@pytest.fixture(scope="module")
def demo_logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    for name, regularized in DEMO_RUNS.items():
        write_l2monitor_like(root / name, regularized)
    write_keras_only(root / KERAS_ONLY)
    return root


def write_keras_only(folder):
    """A run any Keras user has: loss and accuracy, nothing of L2Monitor's."""
    write_run(folder, train={"epoch_loss": [1.2, 0.8, 0.6], "epoch_accuracy": [0.5, 0.7, 0.8]},
              validation={"epoch_loss": [1.3, 1.0, 1.1], "epoch_accuracy": [0.45, 0.6, 0.58]})


class Element:
    """An element of the dumped DOM: its tag, attributes, children and text."""

    def __init__(self, tag, attributes):
        self.tag, self.attributes, self.children, self.parts = tag, dict(attributes), [], []

    @property
    def text(self):
        return "".join(self.parts) + "".join(child.text for child in self.children)

    def find_all(self, predicate):
        for child in self.children:
            if predicate(child):
                yield child
            yield from child.find_all(predicate)

    def has_class(self, name):
        return name in self.attributes.get("class", "").split()


class _TreeBuilder(html.parser.HTMLParser):
    _VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Element(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in self._VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, attrs))

    def handle_endtag(self, tag):
        # Close up to the matching element; a stray end tag closes nothing.
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].parts.append(data)


def parse(dom):
    builder = _TreeBuilder()
    builder.feed(dom)
    builder.close()
    return builder.root


def open_tab(port, *extra):
    """The tab's page as Chromium renders it, once its fetches have settled."""
    return chromium(*extra, f"http://127.0.0.1:{port}/data/plugin_entry.html?name=l2board")


def rendered_tab(port, tries=3):
    """The tab's DOM once its refresh has finished (its status's `data-state` is `updated` or `failed`).

    Chromium dumps the page when its virtual time budget is spent; a page
    dumped before the refresh ended is dumped again, up to `tries` times.
    """
    for _ in range(tries):
        page = parse(open_tab(port, "--dump-dom").stdout)
        status = [e.attributes.get("data-state") for e in page.find_all(lambda e: e.has_class("status"))]
        if status and status[0] in ("updated", "failed"):
            return page
    raise AssertionError(f"the tab did not finish its refresh: {status}")


def assert_tab_draws_the_view(page, view):
    """The page shows the report's view as the server worded it: legend, table, verdict, notes, differences."""
    legend = [li.text for ul in page.find_all(lambda e: e.has_class("configuration-list")) for li in ul.children]
    assert legend == [entry["text"] for entry in view["legend"]["configurations"]]
    (table,) = page.find_all(lambda e: e.tag == "table" and e.has_class("report"))
    header, *rows = list(table.find_all(lambda e: e.tag == "tr"))
    assert [th.text for th in header.children[1:]] == view["table"]["columns"]
    for row, expected in zip(rows, view["table"]["rows"], strict=True):
        assert row.children[0].text == expected["title"]
        for cell, shown in zip(row.children[1:], expected["cells"], strict=True):
            assert cell.text == shown["text"] + shown["change"]
            changes = [c for c in cell.children if c.has_class("change")]
            tones = {name for c in changes for name in ("better", "worse") if c.has_class(name)}
            assert tones == ({shown["tone"]} if shown["tone"] else set())
    paragraphs = [p.text for p in page.find_all(lambda e: e.tag == "p" and e.has_class("verdict"))]
    assert paragraphs == view["verdict"]["paragraphs"]
    adjustment = [p.text for p in page.find_all(lambda e: e.has_class("adjustment"))]
    assert adjustment == ([view["verdict"]["adjustment"]] if view["verdict"]["adjustment"] else [])
    notes = [li.text for ul in page.find_all(lambda e: e.has_class("notes")) for li in ul.children]
    assert notes == view["note_lines"]
    differences = [[td.text for td in tr.children]
                   for table in page.find_all(lambda e: e.tag == "table" and e.has_class("differences"))
                   for tr in table.children]
    expected = [[section["configuration"] if i == 0 else "", row["title"], row["text"]]
                for section in (view["differences"] or {"sections": []})["sections"]
                for i, row in enumerate(section["rows"])]
    assert differences == expected


@contextlib.contextmanager
def serving(logdir, load_fast, until_runs):
    """A TensorBoard over `logdir` once /runs lists what `until_runs` expects; yields its port."""
    with tensorboard_server(logdir, load_fast) as port:
        runs = get_json(port, "/data/plugin/l2board/runs", until=until_runs)
        assert until_runs(runs), runs
        yield port


def line_colours(page, title):
    """`{series label: stroke colour}` of the chart titled `title`."""
    (chart,) = page.find_all(lambda e: e.tag == "svg" and e.attributes.get("aria-label") == title)
    lines = list(chart.find_all(lambda e: e.tag == "polyline"))
    return {line.text: line.attributes["stroke"] for line in lines}


def legend_colours(page):
    """`{variable: colour as #rrggbb}` of the per-layer legend (the browser writes rgb())."""
    colours = {}
    for item in page.find_all(lambda e: e.has_class("legend-item")):
        (swatch,) = [c for c in item.children if c.has_class("swatch")]
        rgb = swatch.attributes["style"].split("rgb(")[1].split(")")[0]
        colours[item.text] = "#" + "".join(f"{int(c):02x}" for c in rgb.split(","))
    return colours


def test_tab_is_listed_for_runs_without_l2monitor(tmp_path):
    write_keras_only(tmp_path / "keras-only")
    with serving(tmp_path, "false", lambda d: len(d["runs"]) == 1) as port:
        listing = get_json(port, "/data/plugins_listing", until=lambda d: d.get("l2board", {}).get("enabled"))
        page = parse(open_tab(port, "--dump-dom").stdout)
    assert listing["l2board"]["enabled"]
    (entry,) = [li.text for ul in page.find_all(lambda e: e.has_class("configuration-list")) for li in ul.children]
    assert entry == "keras-only: regularization unknown (not logged by L2Monitor)  (baseline)"
    assert not any(e.has_class("status") and e.text.startswith("Could not") for e in page.find_all(lambda e: True))


def demo_served(runs):
    return len(runs["runs"]) == 4 and sum(r["coverage"] is not None for r in runs["runs"]) == 3


def test_demo_runs_in_the_browser(demo_logdir, tmp_path):
    with serving(demo_logdir, "true", demo_served) as port:
        runs = get_json(port, "/data/plugin/l2board/runs")
        # Every epoch of every run is loaded before the page is opened.
        everything = urllib.parse.urlencode([("run", r["name"]) for r in runs["runs"]])
        get_json(port, f"/data/plugin/l2board/report?{everything}",
                 until=lambda d: all(r["epochs"] == (3 if r["name"] == KERAS_ONLY else EPOCHS) for r in d["runs"]))
        page = parse(open_tab(port, "--dump-dom").stdout)
        screenshot = tmp_path / "tab.png"
        open_tab(port, "--window-size=1400,1300", f"--screenshot={screenshot}")
    assert runs["default_baseline"] == "no-l2"
    (baseline_select,) = page.find_all(lambda e: e.has_class("baseline-run"))
    (selected,) = [option for option in baseline_select.children if "selected" in option.attributes]
    assert selected.text == "no-l2"
    # The tab's verdict is compare's, with the run without L2 as baseline.
    names = ["no-l2", KERAS_ONLY, "l2-0.01-all", "tutorial-l2-0.01-conv1"]
    direct = compare_runs(read_runs([demo_logdir / n for n in names]))
    view = json.loads(report_json(direct))["view"]
    assert_tab_draws_the_view(page, view)
    verdict = " ".join(p.text for p in page.find_all(lambda e: e.tag == "p" and e.has_class("verdict")))
    assert verdict == " ".join(json.loads(report_json(direct))["verdict"])
    assert "than no-l2" in verdict and "than l2-0.01-all" not in verdict
    assert_notes_are_text(page, direct)
    assert_one_colour_per_variable(page)
    assert screenshot.stat().st_size > 10_000
    shutil.copy(screenshot, os.path.join(tempfile.gettempdir(), "l2board-tab-demo.png"))


def assert_notes_are_text(page, direct):
    notes = [li.text for ul in page.find_all(lambda e: e.has_class("notes")) for li in ul.children]
    # The notes `l2board compare` prints, word for word.
    printed = [line[2:] for line in render_markdown(direct).splitlines() if line.startswith("- ")]
    assert notes == printed
    assert any(n.startswith(f"{KERAS_ONLY}: ") for n in notes), notes
    assert not list(page.find_all(lambda e: e.tag == "em"))


def assert_one_colour_per_variable(page):
    # The layer panel shows the last run in name order: L2 on conv1/kernel only.
    penalty = line_colours(page, "penalty per variable (dashed: activity)")
    norms = line_colours(page, "weight L2 norm per variable")
    assert set(penalty) == {"conv1/kernel"} and set(norms) == set(VARIABLES)
    assert penalty["conv1/kernel"] == norms["conv1/kernel"] != norms["conv1/bias"]
    assert line_colours(page, "distance from initial weights per variable") == norms
    assert legend_colours(page) == norms
    assert len(set(norms.values())) == len(VARIABLES)


# Two seeds per factor: the ten runs are all ticked (the tab ticks at most 12 at first).
SWEEP_SEEDS = 2


@pytest.fixture(scope="module")
def sweep_logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    write_sweep(root, INTERIOR, seeds=SWEEP_SEEDS)
    return root


def minus(text):
    """Python's signed numbers as the tab writes them, with a real minus sign."""
    return text.replace("-", "\u2212")


def test_lambda_curve_in_the_browser(sweep_logdir):
    runs_count = len(INTERIOR) * SWEEP_SEEDS
    with serving(sweep_logdir, "true", lambda d: len(d["runs"]) == runs_count
                            and all(r["coverage"] is not None for r in d["runs"])) as port:
        runs = get_json(port, "/data/plugin/l2board/runs")
        # The report the tab asks for: its baseline first, then the others in name order.
        baseline = runs["baseline_order"][0]
        names = [baseline] + [r["name"] for r in runs["runs"] if r["name"] != baseline]
        query = urllib.parse.urlencode([("run", name) for name in names])
        report = get_json(port, f"/data/plugin/l2board/report?{query}",
                          until=lambda d: d["sweep"] is not None and all(r["epochs"] == 4 for r in d["runs"]))
        page = rendered_tab(port)
    sweep = report["sweep"]
    assert baseline == "l2_0-seed0" and len(sweep["points"]) == len(INTERIOR)
    direct = json.loads(report_json(compare_runs(read_runs([sweep_logdir / name for name in names]))))
    assert report["recommendation"] == direct["recommendation"] and report["sweep"] == direct["sweep"]

    (section,) = page.find_all(lambda e: e.has_class("sweep"))
    assert [h.text for h in section.find_all(lambda e: e.tag == "h2")] == ["\u03bb curve"]
    (chart,) = section.find_all(lambda e: e.tag == "svg" and e.has_class("lambda-curve"))
    points = list(chart.find_all(lambda e: e.tag == "circle" and e.has_class("sweep-point")))
    assert len(points) == len(sweep["points"])
    # Whiskers: three lines (the interval and its two caps) per replicated point.
    assert len(list(chart.find_all(lambda e: e.has_class("whisker")))) == 3 * len(sweep["points"])
    assert len(list(chart.find_all(lambda e: e.has_class("one-se-bound")))) == 1
    (table,) = section.find_all(lambda e: e.has_class("sweep-points"))
    header, *rows = [[cell.text for cell in row.children] for row in table.find_all(lambda e: e.tag == "tr")]
    assert header == report["view"]["sweep"]["header"] and rows == report["view"]["sweep"]["rows"]
    assert [row[0] for row in rows] == ["0 (no L2)", "0.0001", "0.001", "0.01", "0.1"]
    best = sweep["recommendation"]["best_index"]
    loss = sweep["points"][best]["loss"]
    assert rows[best][1:3] == [str(SWEEP_SEEDS), f"{loss['mean']:.3f} [{loss['low']:.3f}, {loss['high']:.3f}]"]
    assert rows[best][-1] == "best, one-SE" and rows[best][3].endswith("%]")
    (recommendation,) = section.find_all(lambda e: e.has_class("recommendation"))
    assert recommendation.text == " ".join(report["recommendation"]) == " ".join(direct["recommendation"])
    assert recommendation.text.startswith("Lowest mean validation data loss at the EarlyStopping epoch: 0.001 ")
    assert_tab_draws_the_view(page, direct["view"])
    assert_claimed_changes_are_coloured(report)


def assert_claimed_changes_are_coloured(report):
    """A cell's change is toned only when the verdict claims it, resolved after the report's adjustment."""
    columns = report["view"]["table"]["columns"]
    toned = 0
    for row in report["view"]["table"]["rows"]:
        for name, cell in zip(columns[1:], row["cells"][1:]):
            change = report["changes"][name].get(row["field"])
            claimed = change is not None and change["claimed"] and change["outcome"] in ("larger", "smaller")
            assert (cell["tone"] is not None) == claimed, (row["field"], name, cell, change)
            toned += cell["tone"] is not None
    assert toned > 0
