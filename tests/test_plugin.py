"""The L2 dashboard: routes over a real data provider, a real TensorBoard, a real browser."""

import gzip
import json
import os
import re
import shutil
import tempfile

import numpy as np
import pytest
from conftest import run_child, write_run
from test_tensorboard_server import get_json, tensorboard_server
from werkzeug.test import Client

from l2board.rendering.report import report_json
from l2board.analysis.comparison import compare_runs
from l2board.reading.logs import read_runs

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("plugin")

HOSTILE_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def logdir(real_runs, tmp_path_factory):
    """L2Monitor runs, one with a name made of HTML, and a run logged by Keras's callback alone."""
    import keras

    root = tmp_path_factory.mktemp("dashboard")
    shutil.copytree(real_runs / "no_l2", root / "no_l2")
    shutil.copytree(real_runs / "l2", root / "l2")
    shutil.copytree(real_runs / "l2", root / HOSTILE_NAME)
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, (x[:, 0] > 0).astype(int), validation_split=0.25, epochs=3, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(str(root / "keras_only"))])
    return root


def provider_for(folder):
    """TensorBoard's own data provider for --load_fast=false, sized as TensorBoard sizes it."""
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={"scalars": 1000, "text": 10, "histograms": 500})
    multiplexer.AddRunsFromDirectory(str(folder))
    multiplexer.Reload()
    return data_provider.MultiplexerDataProvider(multiplexer, str(folder))


@pytest.fixture(scope="module")
def client(logdir):
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin

    from tensorboard_plugin_l2board.l2_plugin import L2BoardPlugin

    data = provider_for(logdir)
    plugin = L2BoardPlugin(base_plugin.TBContext(data_provider=data, logdir=str(logdir)))
    return Client(application.TensorBoardWSGI([plugin], data_provider=data))


def get(client, path):
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True), response.headers.get("Content-Type", "")


def test_listing_and_runs(client):
    status, body, _ = get(client, "/data/plugins_listing")
    listing = json.loads(body)["l2board"]
    assert listing["enabled"] and listing["tab_name"] == "L2"
    assert listing["loading_mechanism"] == {"type": "IFRAME", "module_path": "/data/plugin/l2board/static/index.js"}
    status, body, _ = get(client, "/data/plugin/l2board/runs")
    listing = json.loads(body)
    runs = {r["name"]: r["logged_by_l2monitor"] for r in listing["runs"]}
    assert runs == {"no_l2": True, "l2": True, HOSTILE_NAME: True, "keras_only": False}
    coverage = {r["name"]: r["coverage"] for r in listing["runs"]}
    assert coverage["no_l2"] == 0.0 and 0.9 < coverage["l2"] < 1 and coverage["keras_only"] is None
    # Least regularized first, unknown setups last, ties by name.
    assert listing["baseline_order"] == ["no_l2", HOSTILE_NAME, "l2", "keras_only"]
    assert listing["default_baseline"] == "no_l2"


@pytest.mark.parametrize("runs, expected", [
    ([], []),
    ([{"name": "b", "coverage": None}, {"name": "a", "coverage": None}], ["a", "b"]),
    # An unknown setup may hide any regularization: it never outranks a known 100%.
    ([{"name": "a", "coverage": None}, {"name": "z", "coverage": 1.0}], ["z", "a"]),
    ([{"name": "l2-0.01-all", "coverage": 0.9987}, {"name": "no-l2", "coverage": 0.0},
      {"name": "tutorial-l2-0.01-conv1", "coverage": 0.024}], ["no-l2", "tutorial-l2-0.01-conv1", "l2-0.01-all"]),
])
def test_baseline_order_prefers_the_least_regularized_run(runs, expected):
    from tensorboard_plugin_l2board.l2_plugin import baseline_order

    assert baseline_order(runs) == expected


def test_report_has_the_numbers_of_compare(client, logdir):
    status, body, content_type = get(client, "/data/plugin/l2board/report?run=no_l2&run=l2")
    assert status == 200 and content_type.startswith("application/json")
    served = json.loads(body)
    direct = json.loads(report_json(compare_runs(read_runs([logdir / "no_l2", logdir / "l2"]))))
    for served_run, direct_run in zip(served["runs"], direct["runs"]):
        served_run.pop("path"), direct_run.pop("path")
        assert served_run == direct_run  # the same core on the same values: identical numbers
    assert served["verdict"] == direct["verdict"]
    assert served["changes"] == direct["changes"]


def test_keras_only_runs_show_what_they_can(client):
    status, body, _ = get(client, "/data/plugin/l2board/report?run=keras_only")
    (run,) = json.loads(body)["runs"]
    # Measured on the loss as logged, and the notes say it may hold penalties.
    assert status == 200 and run["final_val_metric"] is not None and run["loss_basis"] == "logged_loss"
    assert any("may include penalties" in m for m in run["missing"])


def test_layers(client):
    status, body, _ = get(client, "/data/plugin/l2board/layers?run=l2")
    layers = json.loads(body)
    assert status == 200 and set(layers["penalty"]) == {"hidden/kernel", "output/kernel"}
    assert layers["weight_l2"]["hidden/kernel"]["steps"] == list(range(12))
    assert get(client, "/data/plugin/l2board/layers?run=no_l2")[0] == 200


@pytest.mark.parametrize("path, status", [
    ("/data/plugin/l2board/report?patience=0", 400),
    ("/data/plugin/l2board/report?patience=five", 400),
    ("/data/plugin/l2board/report?run=nope", 404),
    ("/data/plugin/l2board/report?run=no_l2&metric=auc", 400),
    ("/data/plugin/l2board/report?run=no_l2&baseline=other", 400),
    ("/data/plugin/l2board/layers", 400),
    ("/data/plugin/l2board/layers?run=../../etc", 404),
    ("/data/plugin/l2board/static/../l2_plugin.py", 404),
    ("/data/plugin/l2board/static/%2e%2e/l2_plugin.py", 404),
    ("/data/plugin/l2board/static/%2e%2e%2fl2_plugin.py", 404),
    ("/data/plugin/l2board/static//etc/passwd", 404),
    ("/data/plugin/l2board/static/nothing.js", 404),
    # patience: "²" passes str.isdigit() and fails int(); "٥" (Arabic-Indic
    # five) passes both; 10,000 digits fail int() (and were a 500).
    ("/data/plugin/l2board/report?patience=%C2%B2", 400),
    ("/data/plugin/l2board/report?patience=%D9%A5", 400),
    pytest.param("/data/plugin/l2board/report?patience=" + "9" * 10_000, 400, id="patience-of-10000-digits"),
    ("/data/plugin/l2board/report?patience=10001", 400),
    ("/data/plugin/l2board/report?patience=5&patience=6", 400),
    # Bounded names and counts, whatever the logdir holds.
    pytest.param("/data/plugin/l2board/report?run=" + "x" * 5_000, 400, id="run-of-5000-characters"),
    pytest.param("/data/plugin/l2board/report?" + "&".join(f"run=r{i}" for i in range(1_001)), 400,
                 id="1001-different-runs"),
    pytest.param("/data/plugin/l2board/report?run=no_l2&baseline=" + "x" * 5_000, 400,
                 id="baseline-of-5000-characters"),
    pytest.param("/data/plugin/l2board/report?run=no_l2&metric=" + "x" * 5_000, 400,
                 id="metric-of-5000-characters"),
    pytest.param("/data/plugin/l2board/layers?run=" + "x" * 5_000, 400, id="layers-run-of-5000-characters"),
    ("/data/plugin/l2board/layers?run=l2&run=no_l2", 400),
    # A typo is not silently a report of every run.
    ("/data/plugin/l2board/report?runs=no_l2", 400),
    ("/data/plugin/l2board/runs?run=no_l2", 400),
    # A name with a newline, quoted in the error: still one line.
    ("/data/plugin/l2board/report?run=no_l2&baseline=a%0Ab%1B[31m", 400),
])
def test_bad_requests_are_400_or_404_without_a_traceback(client, path, status):
    code, body, _ = get(client, path)
    assert code == status
    assert "Traceback" not in body and "def " not in body
    # One short sentence on one line: never the request echoed back whole.
    assert "\n" not in body.strip() and "\x1b" not in body and len(body) < 300, body[:300]


def test_within_the_limits_each_run_is_read_once_however_often_it_is_asked(client):
    status, once, _ = get(client, "/data/plugin/l2board/report?run=no_l2")
    assert status == 200
    # Before: 5,000 copies of the run, a 25 MB reply after seconds of work.
    status, body, _ = get(client, "/data/plugin/l2board/report?" + "&".join(["run=no_l2"] * 5_000))
    assert status == 200 and body == once
    assert [run["name"] for run in json.loads(body)["runs"]] == ["no_l2"]
    # The order is the order each run was first asked for (the first is the baseline).
    pair = get(client, "/data/plugin/l2board/report?run=l2&run=no_l2")[1]
    assert get(client, "/data/plugin/l2board/report?run=l2&run=no_l2&run=l2&run=no_l2")[1] == pair
    assert json.loads(pair)["baseline"] == "l2"
    # The limits themselves are accepted.
    for patience in ("1", "10000", "007"):
        status, body, _ = get(client, f"/data/plugin/l2board/report?run=no_l2&patience={patience}")
        assert status == 200 and json.loads(body)["patience"] == int(patience)


def client_for(folder, logdir):
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin

    from tensorboard_plugin_l2board.l2_plugin import L2BoardPlugin

    data = provider_for(folder)
    plugin = L2BoardPlugin(base_plugin.TBContext(data_provider=data, logdir=logdir))
    return Client(application.TensorBoardWSGI([plugin], data_provider=data))


def test_a_run_tensorboard_samples_is_read_from_its_files_or_skipped_as_sampled(tmp_path):
    from log_writers import long_run

    long_run(tmp_path / "long", epochs=3_000)  # TensorBoard keeps 1,000 points of each tag
    (expected,) = compare_runs(read_runs([tmp_path / "long"])).runs
    status, body, _ = get(client_for(tmp_path, str(tmp_path)), "/data/plugin/l2board/report?run=long")
    (served,) = json.loads(body)["runs"]
    assert status == 200 and served["epochs"] == expected.epochs == 3_000
    assert served["early_stopping_epoch"] == expected.early_stopping_epoch
    # Without a folder to read (--logdir_spec), the sample is never analysed as if it were the run.
    sampled = client_for(tmp_path, None)
    listed = json.loads(get(sampled, "/data/plugin/l2board/runs")[1])
    assert listed["runs"][0]["skipped"] == {"code": "sampled", "series": ["train/loss", "val/loss"], "kept": 1000}
    assert listed["baseline_order"] == []
    status, body, _ = get(sampled, "/data/plugin/l2board/report?run=long")
    assert status == 400 and "--samples_per_plugin=scalars=0" in body


def test_a_tag_whose_points_a_restart_purged_leaves_the_tab_working(tmp_path):
    # TensorBoard's listing gives such a tag no last step (None): the runs' state and the check for a
    # sample took it as a number.
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.context import RequestContext
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
    for folder, stale in (("train", True), ("validation", False)):
        writer = EventFileWriter(str(tmp_path / "run" / folder))
        writer.add_event(event_pb2.Event(wall_time=1_700_000_000.0, step=0, session_log=start))
        for step in range(4) if not stale else [*range(4), 10]:
            tag = "epoch_loss" if step < 10 else "stale"
            writer.add_event(event_pb2.Event(wall_time=1_700_000_000.0 + step, step=step, summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=1.0 / (step + 1))])))
        if stale:  # a restart at step 5 purges the point at step 10, the tag's only one
            writer.add_event(event_pb2.Event(wall_time=1_700_000_020.0, step=5, session_log=start))
        writer.close()
    listing = provider_for(tmp_path).list_scalars(RequestContext(), experiment_id="", plugin_name="scalars")
    assert listing["run/train"]["stale"].max_step is None  # the case this test is about
    client = client_for(tmp_path, str(tmp_path))
    for route in ("runs", "report?run=run"):
        status, body, _ = get(client, f"/data/plugin/l2board/{route}")
        assert status == 200, body
    assert json.loads(body)["runs"][0]["epochs"] == 4


def test_static_files(client):
    status, body, content_type = get(client, "/data/plugin/l2board/static/index.js")
    assert status == 200 and content_type.startswith("text/javascript") and "export async function render" in body
    assert get(client, "/data/plugin/l2board/static/style.css")[0] == 200


def test_active_for_any_run_with_a_loss(logdir, tmp_path):
    from tensorboard.plugins import base_plugin

    from tensorboard_plugin_l2board.l2_plugin import L2BoardPlugin

    def active(folder):
        return L2BoardPlugin(base_plugin.TBContext(data_provider=provider_for(folder), logdir=str(folder))).is_active()

    shutil.copytree(logdir / "keras_only", tmp_path / "keras_only")
    assert active(tmp_path) and active(logdir)
    # Scalars but no loss: nothing for the tab to analyse.
    write_run(tmp_path / "accuracy_only" / "run", train={"epoch_accuracy": [0.5, 0.6]})
    assert not active(tmp_path / "accuracy_only")
    # tensorboardX's layout: one folder, the split in the tag.
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "tensorboardx" / "run"))
    with writer.as_default():
        tf.summary.scalar("Loss/train", 0.5, step=0)
    writer.close()
    assert active(tmp_path / "tensorboardx")


class _CountingProvider:
    """TensorBoard's own data provider, counting the calls that list every scalar series (nothing else changes)."""

    def __init__(self, provider):
        self._provider, self.scalar_listings = provider, 0

    def list_scalars(self, *args, **kwargs):
        self.scalar_listings += 1
        return self._provider.list_scalars(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._provider, name)


def test_tensorboards_page_loads_ask_for_run_names_once_a_loss_is_found(tmp_path):
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin

    from tensorboard_plugin_l2board.l2_plugin import L2BoardPlugin

    write_run(tmp_path / "with_loss", train={"epoch_loss": [1.0, 0.5]}, validation={"epoch_loss": [1.1, 0.9]})
    write_run(tmp_path / "accuracy_only", train={"epoch_accuracy": [0.5, 0.6]})
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"scalars": 1000})
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    provider = _CountingProvider(data_provider.MultiplexerDataProvider(multiplexer, str(tmp_path)))
    plugin = L2BoardPlugin(base_plugin.TBContext(data_provider=provider, logdir=str(tmp_path)))
    # The first look lists every scalar series; later ones, while a run that logs a loss is still there,
    # only the run names (TensorBoard asks on every load of its page).
    assert plugin.is_active() and provider.scalar_listings == 1
    assert plugin.is_active() and plugin.is_active() and provider.scalar_listings == 1
    # The runs that logged a loss gone from TensorBoard (it drops a deleted folder's run on reload):
    # looked at in full again, and inactive.
    shutil.rmtree(tmp_path / "with_loss")
    multiplexer.Reload()
    assert not plugin.is_active() and provider.scalar_listings == 2
    # Inactive is not kept: a loss logged later activates the tab at the next look.
    write_run(tmp_path / "later", train={"loss": [0.7]})
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    assert plugin.is_active() and provider.scalar_listings == 3


def test_plugin_never_imports_tensorflow():
    import sys

    code = ("import sys; import tensorboard_plugin_l2board.l2_plugin; "
            "print('tensorflow' in sys.modules)")
    out = run_child([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- a real TensorBoard and a real browser --------------------------------------

@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_real_tensorboard_serves_the_tab(logdir, load_fast):
    with tensorboard_server(logdir, load_fast) as port:
        listing = get_json(port, "/data/plugins_listing", until=lambda d: d.get("l2board", {}).get("enabled"))
        assert listing["l2board"]["enabled"] and listing["l2board"]["tab_name"] == "L2"
        runs = get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == 4)
        assert len(runs["runs"]) == 4
        report = get_json(port, "/data/plugin/l2board/report?run=no_l2&run=l2",
                          until=lambda d: d["runs"][0]["epochs"] == 12)
        direct = compare_runs(read_runs([logdir / "no_l2", logdir / "l2"]))
        assert report["runs"][1]["metric_gap_final_pp"] == pytest.approx(direct.runs[1].metric_gap_final_pp)
        assert report["verdict"] == json.loads(report_json(direct))["verdict"]


def chromium(*args):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Debian's chromium is needed (.ci/run installs it)"
    with tempfile.TemporaryDirectory() as profile:
        return run_child(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=15000", *args],
            capture_output=True, text=True, timeout=120)


def test_browser_shows_runs_numbers_and_names_as_text(logdir, tmp_path):
    with tensorboard_server(logdir, "true") as port:
        get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == 4)
        url = f"http://127.0.0.1:{port}/data/plugin_entry.html?name=l2board"
        dom = chromium("--dump-dom", url).stdout
        screenshot = tmp_path / "dashboard.png"
        chromium("--window-size=1400,1200", f"--screenshot={screenshot}", url)
    assert "<table class=\"report\">" in dom and "<svg" in dom
    direct = compare_runs(read_runs([logdir / HOSTILE_NAME, logdir / "keras_only", logdir / "l2",
                                     logdir / "no_l2"]))
    gap = next(r for r in direct.runs if r.name == "l2").metric_gap_final_pp
    assert f">{gap:.1f} pp<" in dom
    assert ">no_l2<" in dom and "no regularization" in dom
    # The hostile run name is text in the page, not an element.
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom
    assert not re.search(r"<img[^>]*onerror", dom)
    assert screenshot.exists() and screenshot.stat().st_size > 10_000
    shutil.copy(screenshot, os.path.join(tempfile.gettempdir(), "l2board-dashboard.png"))


def test_a_report_without_run_is_bounded(client, monkeypatch):
    # As a logdir of more than 1,000 runs (the bound, lowered here to the fixture's runs less one).
    from tensorboard_plugin_l2board import l2_plugin

    status, body, _ = get(client, "/data/plugin/l2board/runs")
    count = len(json.loads(body)["runs"])
    monkeypatch.setattr(l2_plugin, "MAX_RUNS", count - 1)
    status, body, _ = get(client, "/data/plugin/l2board/report")
    assert status == 400
    assert body == (f"Invalid argument: The logdir holds {count:,} runs; a report compares at most {count - 1:,}: "
                    "name them with run=.")


def test_the_tab_follows_a_lambda_search_as_its_runs_finish(tmp_path):
    # A search's runs carry their look; the tab holds the claims to the level of the search's latest look.
    from l2board.analysis.factor_search import look_alpha
    from l2board.log_format import tags
    from l2board.writing.event_writer import EventFileRunWriter

    def searched_run(name, look, last_loss):
        write_run(tmp_path / name, train={"epoch_loss": [1.0, 0.8]}, validation={"epoch_loss": [1.1, last_loss]})
        writer = EventFileRunWriter(str(tmp_path / name / tags.TRAIN_DIR))
        writer.text({tags.SEARCH_JSON: json.dumps({"search": "lambda", "look": look})}, 0)
        writer.close()

    def adjustment():
        status, body, _ = get(client_for(tmp_path, str(tmp_path)), "/data/plugin/l2board/report")
        assert status == 200, body
        served = json.loads(body)
        return served["adjustment"], served["view"]["verdict"]["adjustment"]

    for index, (base, l2) in enumerate([(1.0, 0.7), (1.05, 0.72)]):
        searched_run(f"no-l2-seed{index}", 0, base)
        searched_run(f"l2-0.01-seed{index}", 0, l2)
    numbers, words = adjustment()
    assert numbers["alpha"] == pytest.approx(look_alpha(1)) and "look 1 of the λ search" in words
    searched_run("l2-0.01-seed2", 1, 0.71)  # a run the first look proposed has finished
    numbers, words = adjustment()
    assert numbers["alpha"] == pytest.approx(look_alpha(2)) and "look 2 of the λ search" in words


@pytest.fixture
def analysed(monkeypatch):
    """A list that grows by one each time the tab analyses runs (the real analysis, counted)."""
    from tensorboard_plugin_l2board import l2_plugin

    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return compare_runs(*args, **kwargs)

    monkeypatch.setattr(l2_plugin, "compare_runs", counted)
    return calls


def test_an_unchanged_report_is_kept_and_a_run_that_grows_is_analysed_again(tmp_path, monkeypatch, analysed):
    # One plugin over one multiplexer, reloaded as TensorBoard reloads it: the kept answers follow the data.
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin

    from l2board.log_format import tags
    from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable
    from l2board.writing.event_writer import EventFileRunWriter
    from tensorboard_plugin_l2board import l2_plugin

    listed = []
    run_list = l2_plugin.L2BoardPlugin._run_list

    def counted_list(*args):  # the real run list, counted
        listed.append(1)
        return run_list(*args)

    monkeypatch.setattr(l2_plugin.L2BoardPlugin, "_run_list", staticmethod(counted_list))
    writers = {(name, split): EventFileRunWriter(str(tmp_path / name / split))
               for name in ("no_l2", "l2") for split in (tags.TRAIN_DIR, tags.VALIDATION_DIR)}

    def epoch(name, step, loss):  # an epoch as training writes it: appended to the run's open files
        writers[name, tags.TRAIN_DIR].scalars({"epoch_loss": loss}, step)
        writers[name, tags.VALIDATION_DIR].scalars({"epoch_loss": loss + 0.1}, step)
        for split in (tags.TRAIN_DIR, tags.VALIDATION_DIR):
            writers[name, split].flush()

    for name in ("no_l2", "l2"):
        epoch(name, 0, 1.0)
        epoch(name, 1, 0.8)
    data = provider_for(tmp_path)
    plugin = l2_plugin.L2BoardPlugin(base_plugin.TBContext(data_provider=data, logdir=str(tmp_path)))
    client = Client(application.TensorBoardWSGI([plugin], data_provider=data))

    def served(path):
        status, body, _ = get(client, path)
        assert status == 200, body
        return json.loads(body)

    first = served("/data/plugin/l2board/report")
    assert served("/data/plugin/l2board/report") == first and len(analysed) == 1
    # A browser takes it gzipped, as TensorBoard sends JSON: the same answer.
    packed = client.get("/data/plugin/l2board/report", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and len(analysed) == 1
    assert json.loads(gzip.decompress(packed.get_data())) == first
    assert served("/data/plugin/l2board/report?patience=3")["patience"] == 3 and len(analysed) == 2
    runs = served("/data/plugin/l2board/runs")
    assert served("/data/plugin/l2board/runs") == runs and len(listed) == 1
    # A third epoch of one run, then its setup, then a new run: each is a new answer once TensorBoard reloads.
    epoch("l2", 2, 0.7)
    data._multiplexer.Reload()
    grown = served("/data/plugin/l2board/report")
    assert {run["name"]: run["epochs"] for run in grown["runs"]} == {"no_l2": 2, "l2": 3} and len(analysed) == 3
    coverage = {run["name"]: run["coverage"] for run in served("/data/plugin/l2board/runs")["runs"]}
    assert coverage == {"no_l2": None, "l2": None}
    setup = RegularizationSetup(variables=(WeightVariable("dense/kernel", 100, True, "L2", l2=0.01),))
    writers["l2", tags.TRAIN_DIR].text({tags.SETUP_JSON: setup.to_json()}, 0)
    writers["l2", tags.TRAIN_DIR].flush()
    data._multiplexer.Reload()
    coverage = {run["name"]: run["coverage"] for run in served("/data/plugin/l2board/runs")["runs"]}
    assert coverage == {"no_l2": None, "l2": 1.0}
    for writer in writers.values():
        writer.close()
    write_run(tmp_path / "later", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [1.2]})
    data._multiplexer.AddRunsFromDirectory(str(tmp_path))
    data._multiplexer.Reload()
    assert {run["name"] for run in served("/data/plugin/l2board/runs")["runs"]} == {"no_l2", "l2", "later"}
    assert len(served("/data/plugin/l2board/report")["runs"]) == 3 and len(analysed) == 4


def test_a_report_read_from_event_files_follows_them_before_tensorboard_reloads(tmp_path, analysed):
    # A run TensorBoard samples is read again from its event files: the kept answer holds while they are the same.
    from log_writers import long_run

    from l2board.writing.event_writer import EventFileRunWriter

    long_run(tmp_path / "long", epochs=1_500)  # TensorBoard keeps 1,000 points of each tag
    client = client_for(tmp_path, str(tmp_path))

    def epochs():
        status, body, _ = get(client, "/data/plugin/l2board/report?run=long")
        assert status == 200, body
        return json.loads(body)["runs"][0]["epochs"]

    assert epochs() == 1_500 and epochs() == 1_500 and len(analysed) == 1
    writer = EventFileRunWriter(str(tmp_path / "long"))  # ten more epochs, in a file of their own
    for step in range(1_500, 1_510):
        writer.scalars({"train/loss": 0.1, "val/loss": 0.6}, step)
    writer.close()
    assert epochs() == 1_510 and len(analysed) == 2  # TensorBoard has not reloaded: its listing is as before
    assert epochs() == 1_510 and len(analysed) == 2


def test_kept_answers_stay_within_their_bound_without_dropping_the_one_just_kept():
    from types import SimpleNamespace

    from werkzeug.test import EnvironBuilder

    from tensorboard_plugin_l2board.l2_plugin import _Answers

    made = []
    plain = EnvironBuilder().get_request()
    zipped = EnvironBuilder(headers={"Accept-Encoding": "gzip"}).get_request()
    runs = SimpleNamespace(files_read=[], read_failed=False)
    answers = _Answers(1_000)

    def ask(key, length, request=plain):
        def make():
            made.append(key)
            return json.dumps("x" * (length - 2))

        response = answers.respond(request, key, make, runs)
        body = response.get_data()
        return gzip.decompress(body) if response.headers.get("Content-Encoding") == "gzip" else body

    assert len(ask("a", 400)) == 400 and len(ask("b", 400)) == 400 and made == ["a", "b"]
    assert len(ask("huge", 1_500)) == 1_500 and len(ask("huge", 1_500)) == 1_500  # larger than the bound: not kept
    assert ask("a", 400) and ask("b", 400) and made == ["a", "b", "huge", "huge"]  # and it dropped no other
    assert len(ask("c", 300)) == 300 and made[-1] == "c"  # 1,100 bytes: the one asked for longest ago goes
    assert ask("b", 400) and ask("c", 300) and made[-1] == "c"
    assert ask("a", 400) and made[-1] == "a"
    # Its gzip does not fit beside its text: the text stays, and the gzip is made for each request.
    assert len(ask("d", 990, zipped)) == 990 and len(ask("d", 990, zipped)) == 990 and ask("d", 990)
    assert made.count("d") == 1
    # An answer whose reading of event files failed is not kept: the next request tries again.
    runs.read_failed = True
    ask("e", 100)
    ask("e", 100)
    assert made.count("e") == 2


@pytest.mark.parametrize("case", ["made", "maker fails", "files change meanwhile"])
def test_a_request_for_an_answer_being_made_waits_for_it(case, monkeypatch, tmp_path):
    # Three tabs opened on one slow first report: one analysis and one gzip, all answered. A failed analysis,
    # or event files that changed since the first read them, leaves each waiting request to make its own, at
    # once (not one after another).
    import threading
    import time
    from types import SimpleNamespace

    from werkzeug.test import EnvironBuilder

    from l2board.writing.event_writer import EventFileRunWriter
    from tensorboard_plugin_l2board import l2_plugin
    from tensorboard_plugin_l2board.provider_runs import event_files_of

    writer = EventFileRunWriter(str(tmp_path / "run"))
    writer.scalars({"loss": 1.0}, 0)
    writer.flush()
    answers, runs = l2_plugin._Answers(1_000_000), SimpleNamespace(files_read=[], read_failed=False)
    maker_fails = case == "maker fails"
    started, release, together = threading.Event(), threading.Event(), threading.Barrier(2, timeout=120)
    made, zipped, results = [], [], {}
    compress = gzip.compress
    monkeypatch.setattr(l2_plugin.gzip, "compress", lambda *a, **k: zipped.append(1) or compress(*a, **k))

    def make():
        made.append(threading.current_thread().name)
        runs.files_read = [(str(tmp_path / "run"), [""], event_files_of(str(tmp_path / "run"), [""]))]
        if len(made) == 1:
            started.set()
            assert release.wait(120)
            if maker_fails:
                raise RuntimeError("the analysis failed")
        else:
            together.wait()  # the two waiting requests make theirs side by side
        return json.dumps({"made by": threading.current_thread().name})

    def ask():
        request = EnvironBuilder(headers={"Accept-Encoding": "gzip"}).get_request()
        try:
            results[threading.current_thread().name] = gzip.decompress(
                answers.respond(request, "key", make, runs).get_data()).decode()
        except RuntimeError as error:
            results[threading.current_thread().name] = error

    threads = [threading.Thread(target=ask, name=name) for name in ("first", "second", "third")]
    threads[0].start()
    assert started.wait(120)
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 120
    while answers._making["key"].waiters < 2:  # the others wait on the first's answer
        assert time.monotonic() < deadline
        time.sleep(0.01)
    if case == "files change meanwhile":
        writer.scalars({"loss": 0.5}, 1)
        writer.flush()
    release.set()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive()
    writer.close()
    if case != "made":
        assert sorted(made) == ["first", "second", "third"]
        assert isinstance(results["first"], RuntimeError) if maker_fails else results["first"] == '{"made by": "first"}'
        assert {name: json.loads(results[name]) for name in ("second", "third")} == {
            "second": {"made by": "second"}, "third": {"made by": "third"}}
    else:
        assert made == ["first"] and len(zipped) == 1
        assert results["first"] == results["second"] == results["third"] == '{"made by": "first"}'
    assert not answers._making
