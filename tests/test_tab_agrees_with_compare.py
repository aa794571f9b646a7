"""The L2 tab and `l2board compare --format json` give identical numbers on every writer's layout,
with TensorBoard's Rust loader (`--load_fast=true`) and its Python loader (`--load_fast=false`, which
keeps both points of a repeated step): both hand their records to the one builder."""

import json
import urllib.parse

import pytest
from conftest import installed_script, run_child
from log_writers import CASES, PATIENCE, write_all

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("tab_agrees_with_compare")

# Notes may differ in wording of their source (a file, a TensorBoard run) and
# in what TensorBoard purged before the tab saw it; the numbers may not.
NOT_NUMBERS = ("path", "warnings", "notes", "file_notes")


@pytest.fixture(scope="module")
def cases_root(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("tab_cases"))


@pytest.fixture(scope="module")
def compared(cases_root):
    out = run_child([installed_script("l2board"), "compare", str(cases_root), "--format", "json",
                     "--patience", str(PATIENCE)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def numbers(report):
    return {run["name"]: {k: v for k, v in run.items() if k not in NOT_NUMBERS} for run in report["runs"]}


def served_report(root, load_fast, names, epochs, query=()):
    """The tab's /report of `names`, from a real tensorboard over `root`, once every run has `epochs` epochs."""
    from test_tensorboard_server import get_json, tensorboard_server

    with tensorboard_server(root, load_fast) as port:
        get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == len(names))
        return get_json(port, "/data/plugin/l2board/report?" + urllib.parse.urlencode(
            [("run", name) for name in names] + list(query)),
            until=lambda d: all(run["epochs"] == epochs for run in d["runs"]))


@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_the_tab_shows_the_numbers_of_compare(cases_root, compared, load_fast):
    names = [run["name"] for run in compared["runs"]]
    assert sorted(names) == sorted(CASES)
    served = served_report(cases_root, load_fast, names, epochs=6, query=[("patience", PATIENCE)])
    assert numbers(served) == numbers(compared)
    assert (served["metric"], served["baseline"]) == (compared["metric"], compared["baseline"])


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory):
    from test_factor_sweep import INTERIOR, write_sweep

    root = tmp_path_factory.mktemp("tab_sweep")
    write_sweep(root, INTERIOR)
    return root


@pytest.mark.parametrize("load_fast", ["true"])  # both loaders are compared on every other layout above
def test_the_tab_shows_the_lambda_curve_of_compare(sweep_root, load_fast):
    """A factor sweep: the λ curve, the recommendation, and every change with its interval, as compare gives them."""
    out = run_child([installed_script("l2board"), "compare", str(sweep_root), "--format", "json"],
                    capture_output=True, text=True, check=True).stdout
    compared = json.loads(out)
    assert compared["format_version"] == 4 and len(compared["sweep"]["points"]) == 5
    served = served_report(sweep_root, load_fast, [run["name"] for run in compared["runs"]], epochs=4)
    assert numbers(served) == numbers(compared)
    for key in ("format_version", "baseline", "configurations", "changes", "verdicts", "verdict", "sweep",
                "recommendation", "adjustment"):
        assert served[key] == compared[key], key


@pytest.fixture(scope="module")
def long_root(tmp_path_factory):
    """A 100,000-epoch run (TensorBoard keeps 1,000 points of each tag), a run refused as ambiguous, a short run."""
    from log_writers import keras_folders, long_run, two_training_losses

    root = tmp_path_factory.mktemp("tab_long")
    _, val = long_run(root / "long")
    for name, write in (("two_losses", two_training_losses), ("short", keras_folders)):
        (root / name).mkdir()
        write(root / name)
    return root, val


def replayed_stop(values, patience):
    """Keras's EarlyStopping(patience) over a validation loss, written out here: the epoch it stops at."""
    best, wait = None, 0
    for epoch, value in enumerate(values):
        wait += 1
        if best is None or value < best:
            best, wait = value, 0
        elif wait >= patience:
            return epoch
    return None


@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_a_long_run_is_read_whole_and_an_ambiguous_run_is_listed_as_skipped(long_root, load_fast):
    from test_tensorboard_server import get_json, tensorboard_server

    root, val = long_root
    out = run_child([installed_script("l2board"), "compare", str(root), "--format", "json", "--patience", "5"],
                         capture_output=True, text=True, check=True).stdout
    compared = json.loads(out)
    (long,) = [run for run in compared["runs"] if run["name"] == "long"]
    assert (long["epochs"], long["early_stopping_epoch"]) == (len(val), replayed_stop(val, 5))
    assert [(s["name"], s["reason"]["code"]) for s in compared["skipped"]] == [("two_losses", "ambiguous_role")]
    with tensorboard_server(root, load_fast) as port:
        listed = get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == 3)
        assert {run["name"]: run["skipped"] for run in listed["runs"]} == {
            "long": None, "short": None, "two_losses": compared["skipped"][0]["reason"]}
        assert "two_losses" not in listed["baseline_order"]
        served = get_json(port, "/data/plugin/l2board/report?patience=5",
                          until=lambda d: {r["name"]: r["epochs"] for r in d["runs"]} == {"long": len(val), "short": 6})
    assert numbers(served) == numbers(compared)
    assert [(s["name"], s["reason"]) for s in served["skipped"]] == [
        (s["name"], s["reason"]) for s in compared["skipped"]]
