"""Logs written by the real writers (tests/fixtures/real_writers, made by make_real_writer_logs.py with torch,
transformers, Lightning, tensorboardX, Keras and KerasTuner), read back and compared with each writer's own
history: the truth.json beside each. The tab and `l2board compare` agree on all of them."""

import json
import pathlib
import subprocess
import urllib.parse

import pytest
from conftest import installed_script

from l2board.analysis.comparison import compare_runs
from l2board.reading.logs import read_runs

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "real_writers"
# What the writers store is float32; the truth is the writer's own float64.
CLOSE = {"rel": 1e-6}


def truth_of(case, run=None):
    truth = json.loads((FIXTURES / case / "truth.json").read_text())
    return truth["runs"][run] if run else truth


def report_of(case, run=None, metric=None):
    """The report's numbers for one run of a case, with the truth's EarlyStopping patience."""
    truth = truth_of(case, run)
    (logged,) = [r for r in read_runs([FIXTURES / case / "logs"]) if run is None or r.name == run]
    comparison = compare_runs([logged], metric=metric, patience=truth["early_stopping_patience"])
    (report,) = comparison.runs
    return report, truth, logged


def assert_validation_numbers(report, truth):
    assert (report.epochs, report.last_epoch) == (truth["epochs"], truth["last_epoch"])
    assert report.early_stopping_epoch == truth["early_stopping_epoch"]
    assert report.final_val_data_loss == pytest.approx(truth["final_val_loss"], **CLOSE)


def assert_metric_numbers(report, truth):
    assert report.final_val_metric == pytest.approx(truth["final_val_metric"], **CLOSE)
    assert report.best_val_metric == pytest.approx(truth["best_val_metric"], **CLOSE)
    assert report.best_epoch == truth["best_epoch"]


@pytest.mark.parametrize("case, run", [("torch_tensorboard", None), ("tensorboardx", "paired"),
                                       ("keras_tuner_stock", "0000/execution0"),
                                       ("keras_tuner_stock", "0001/execution1")])
def test_paired_layouts_give_the_writers_numbers(case, run):
    report, truth, _ = report_of(case, run)
    assert_validation_numbers(report, truth)
    assert_metric_numbers(report, truth)


def test_a_stock_tuner_search_with_keras_tensorboard_is_four_runs_with_their_own_numbers():
    runs = read_runs([FIXTURES / "keras_tuner_stock" / "logs"])
    truth = truth_of("keras_tuner_stock")["runs"]
    assert sorted(run.name for run in runs) == sorted(truth)
    finals = {run.name: run.scalar("validation", "epoch_loss").last() for run in runs}
    assert finals == {name: pytest.approx(t["final_val_loss"], **CLOSE) for name, t in truth.items()}


def test_transformers_global_steps_are_read_as_the_trainers_epochs():
    """Item 3: an 8-epoch Trainer run logs at global steps 12..96; its `train/epoch` gives the epochs."""
    report, truth, logged = report_of("transformers_trainer")
    assert_validation_numbers(report, truth)
    assert logged.steps_from == ("", "train/epoch")
    assert logged.scalar("validation", "epoch_loss").steps.tolist() == list(range(truth["epochs"]))
    assert logged.scalar("train", "epoch_loss").values.tolist() == pytest.approx(truth["history"]["train_loss"], **CLOSE)
    assert logged.read_notes == []


def test_a_loss_logged_every_few_steps_stays_at_global_steps_and_says_so():
    report, truth, logged = report_of("transformers_trainer_steps")
    assert (report.epochs, report.early_stopping_epoch) == (truth["epochs"], truth["early_stopping_epoch"])
    assert logged.scalar("train", "epoch_loss").steps.tolist() == truth["history"]["train_global_step"]
    assert [note.to_dict() for note in logged.read_notes] == [
        {"code": "steps_not_epochs", "series": ["train/loss"], "epoch_series": "train/epoch"}]


def test_lightning_on_step_and_on_epoch_reads_the_epoch_values():
    """Item 4: `train_loss_epoch`, `train_acc_epoch` are the training values; `_step` series stay per batch."""
    report, truth, logged = report_of("lightning_step_epoch")
    assert_validation_numbers(report, truth)
    assert_metric_numbers(report, truth)
    assert report.final_train_data_loss == pytest.approx(truth["final_train_loss"], **CLOSE)
    assert report.final_train_metric == pytest.approx(truth["final_train_metric"], **CLOSE)
    assert logged.source_of("train", "epoch_loss") == ("", "train_loss_epoch")
    per_batch = logged.scalar("train", "train_loss_step")
    assert len(per_batch) == truth["epochs"] * truth["batches_per_epoch"]
    assert "no_training_loss" not in [note.code for note in report.notes]


# Items 1, 2 and 5 of issue 18: a metric logged for validation alone, any metric whose direction is known,
# and the validation loss's numbers whatever the training loss.
@pytest.mark.parametrize("case, run", [("transformers_trainer", None), ("lightning_val_only_metric", None),
                                       ("keras_val_only_metric", None), ("tensorboardx", "val_metric_only")])
def test_a_metric_logged_for_validation_only_gives_its_final_and_best(case, run):
    report, truth, _ = report_of(case, run)
    assert_metric_numbers(report, truth)


@pytest.mark.parametrize("case", ["keras_auc", "keras_regression"])
def test_any_shared_metric_is_offered_and_lower_is_better_is_known(case):
    report, truth, _ = report_of(case)
    assert_metric_numbers(report, truth)


def test_the_validation_loss_numbers_do_not_depend_on_the_training_loss():
    report, truth, _ = report_of("transformers_trainer_steps")
    assert report.final_val_data_loss == pytest.approx(truth["final_val_loss"], **CLOSE)


@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_the_tab_gives_the_numbers_of_compare_on_every_fixture(load_fast):
    from test_tab_agrees_with_compare import numbers
    from test_tensorboard_server import get_json, tensorboard_server

    out = subprocess.run([installed_script("l2board"), "compare", str(FIXTURES), "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    compared = json.loads(out)
    epochs = {run["name"]: run["epochs"] for run in compared["runs"]}
    assert len(epochs) == 14  # every run of every case
    with tensorboard_server(FIXTURES, load_fast) as port:
        get_json(port, "/data/plugin/l2board/runs", until=lambda d: len(d["runs"]) == len(epochs))
        served = get_json(port, "/data/plugin/l2board/report?" + urllib.parse.urlencode(
            [("run", run["name"]) for run in compared["runs"]]),
            until=lambda d: {r["name"]: r["epochs"] for r in d["runs"]} == epochs)
    assert numbers(served) == numbers(compared)
