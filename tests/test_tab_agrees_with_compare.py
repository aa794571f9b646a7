"""The L2 tab and `l2board compare --format json` give identical numbers on every writer's layout,
with TensorBoard's Rust loader (`--load_fast=true`) and its Python loader (`--load_fast=false`, which
keeps both points of a repeated step): both hand their records to the one builder."""

import json
import urllib.parse

import pytest
from conftest import installed_script, run_child
from log_writers import CASES, PATIENCE, write_all

# Notes may differ in wording of their source (a file, a TensorBoard run) and
# in what TensorBoard purged before the tab saw it; the numbers may not.
NOT_NUMBERS = ("path", "warnings", "notes")


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
    from test_tensorboard_server import get_json, start_tensorboard

    process, port = start_tensorboard(root, load_fast)
    try:
        get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == len(names))
        return get_json(port, "/data/plugin/l2board/report?" + urllib.parse.urlencode(
            [("run", name) for name in names] + list(query)),
            until=lambda d: all(run["epochs"] == epochs for run in d["runs"]))
    finally:
        process.terminate()
        process.wait(timeout=30)


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
    assert compared["format_version"] == 3 and len(compared["sweep"]["points"]) == 5
    served = served_report(sweep_root, load_fast, [run["name"] for run in compared["runs"]], epochs=4)
    assert numbers(served) == numbers(compared)
    for key in ("format_version", "baseline", "configurations", "changes", "verdicts", "verdict", "sweep",
                "recommendation"):
        assert served[key] == compared[key], key
