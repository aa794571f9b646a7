"""Which metric a comparison is made on: any metric the runs log is offered, and which way is better is never guessed."""

import json
import pathlib
import shutil
import subprocess

import pytest
from conftest import installed_script, write_run

from l2board.analysis.comparison import compare_runs
from l2board.analysis.metrics import choose_metric, direction_of, is_fraction
from l2board.analysis.notes import Note
from l2board.errors import L2BoardError
from l2board.reading.logs import read_runs
from l2board.rendering import report
from l2board.rendering.report import render

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "real_writers"


@pytest.mark.parametrize("name, direction", [
    ("accuracy", "higher"), ("sparse_categorical_accuracy", "higher"), ("auc", "higher"), ("f1_score", "higher"),
    ("precision", "higher"), ("mean_iou", "higher"), ("mae", "lower"), ("mean_squared_error", "lower"),
    ("rmse", "lower"), ("perplexity", "lower"), ("sparse_categorical_crossentropy", "lower"), ("wer", "lower"),
    ("reference", None), ("objective", None)])
def test_known_names_and_their_direction(name, direction):
    assert direction_of(name) == direction


def test_a_regression_is_compared_on_its_mae_where_lower_is_better():
    (run,) = read_runs([FIXTURES / "keras_regression" / "logs"])
    comparison = compare_runs([run])
    truth = json.loads((FIXTURES / "keras_regression" / "truth.json").read_text())
    (analysed,) = comparison.runs
    choice = comparison.metric_choice
    assert (choice.name, choice.higher_is_better, choice.said_by, choice.offered) == ("mae", False, "name",
                                                                                       ("mae", "mse"))
    # The best is the lowest; the gap is validation minus training (positive: overfitting), in mae's units.
    assert analysed.best_val_metric == pytest.approx(min(truth["history"]["val_mae"]), rel=1e-6)
    assert analysed.metric_gap_final_pp == pytest.approx(truth["final_val_metric"] - truth["final_train_metric"],
                                                         rel=1e-5)
    assert not comparison.metric_is_fraction
    view = json.loads(report.report_json(comparison))["view"]
    assert view["notes"][0] == ("Compared on the validation mae, where lower is better (known from its name); also "
                                "logged: mse (compare on one with --metric NAME).")
    titles = [row["title"] for row in view["table"]["rows"]]
    assert "mae gap, final (val - train)" in titles and "final validation mae" in titles
    # Numbers in mae's units, not percentages.
    (final,) = [row for row in view["table"]["rows"] if row["field"] == "final_val_metric"]
    assert final["cells"][0]["text"] == f"{truth['final_val_metric']:.4g}"


def test_a_lower_is_better_metric_tones_a_fall_as_better(tmp_path):
    for config, maes in (("base", [[1.0, 0.9, 0.80], [1.0, 0.9, 0.82], [1.0, 0.9, 0.81]]),
                         ("l2", [[1.0, 0.8, 0.60], [1.0, 0.8, 0.61], [1.0, 0.8, 0.605]])):
        for seed, values in enumerate(maes):
            write_run(tmp_path / f"{config}-seed{seed}", train={"epoch_mae": [0.9, 0.6, 0.4], "epoch_loss": [1, 0.5, 0.3]},
                      validation={"epoch_mae": values, "epoch_loss": [1, 0.9, 0.8]})
    comparison = compare_runs(read_runs([tmp_path]), baseline="base")
    change = comparison.changes["l2"]["final_val_metric"]
    assert change.outcome == "smaller"
    view = json.loads(report.report_json(comparison))["view"]
    (final,) = [row for row in view["table"]["rows"] if row["field"] == "final_val_metric"]
    assert final["cells"][1]["tone"] == "better"
    assert any(s["text"].startswith("Final validation mae is lower:") for s in view["verdict"]["sentences"])


def test_a_metric_of_unknown_direction_is_offered_never_guessed(tmp_path):
    write_run(tmp_path / "a", train={"epoch_objective": [0.5, 0.6], "epoch_loss": [1.0, 0.8]},
              validation={"epoch_objective": [0.4, 0.5], "epoch_loss": [1.1, 1.0]})
    runs = read_runs([tmp_path / "a"])
    comparison = compare_runs(runs)
    assert comparison.metric is None and comparison.metric_choice.unknown == ("objective",)
    view = json.loads(report.report_json(comparison))["view"]
    assert view["notes"][0] == (
        "No metric is compared: the runs log objective, and l2board does not know which way each is better; compare "
        "on one with --metric NAME and --higher-is-better or --lower-is-better.")
    with pytest.raises(L2BoardError, match=r"^l2board does not know whether a higher 'objective' is better; say so "
                                           r"with --higher-is-better or --lower-is-better\.$"):
        compare_runs(runs, metric="objective")
    said = compare_runs(runs, metric="objective", higher_is_better=False)
    assert (said.metric, said.metric_choice.said_by) == ("objective", "user")
    assert said.runs[0].best_val_metric == pytest.approx(0.4)  # the lowest, as the user said


def test_choosing_prefers_accuracy_then_any_known_metric():
    class Run:
        def __init__(self, name, *validation):
            self.name = name
            self.scalars = {("validation", "epoch_" + metric): object() for metric in validation}

        def scalar(self, folder, tag):
            return self.scalars.get((folder, tag))

    assert choose_metric([Run("a", "auc", "accuracy"), Run("b", "auc")]).name == "accuracy"
    assert choose_metric([Run("a", "auc", "mae"), Run("b", "auc")]).name == "auc"
    assert choose_metric([Run("a", "mse", "objective")]).name == "mse"
    assert choose_metric([Run("a", "objective")]).name is None


def test_fractions_are_shown_in_points_and_other_units_as_they_are():
    assert is_fraction("accuracy", [0.2, 0.9]) and is_fraction("auc", [0.5])
    assert not is_fraction("mae", [0.2, 0.3]) and not is_fraction("accuracy", [12.0])


def test_the_command_line_says_which_way_in_one_sentence(tmp_path):
    shutil.copytree(FIXTURES / "keras_regression" / "logs", tmp_path / "run")
    command = installed_script("l2board")
    no_metric = subprocess.run([command, "compare", str(tmp_path / "run"), "--lower-is-better"],
                               capture_output=True, text=True)
    assert no_metric.returncode == 2 and "name the metric with --metric too" in no_metric.stderr
    assert "Traceback" not in no_metric.stderr
    unknown = subprocess.run([command, "compare", str(tmp_path / "run"), "--metric", "learning_rate_x"],
                             capture_output=True, text=True)
    assert unknown.returncode == 1 and unknown.stderr.strip() == (
        "Error: Run 'run' has no validation metric 'learning_rate_x'; it logs: mae, mse.")
    said = subprocess.run([command, "compare", str(tmp_path / "run"), "--metric", "mse", "--format", "json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(said.stdout)["metric_choice"]["higher_is_better"] is False


def test_a_run_with_another_metric_is_compared_on_its_loss(tmp_path):
    write_run(tmp_path / "good", train={"epoch_loss": [1.0, 0.6, 0.4], "epoch_accuracy": [0.5, 0.7, 0.9]},
              validation={"epoch_loss": [1.1, 0.9, 1.0], "epoch_accuracy": [0.45, 0.6, 0.58]})
    write_run(tmp_path / "regression", train={"epoch_loss": [2.0, 1.5, 1.0], "epoch_mae": [1.0, 0.8, 0.6]},
              validation={"epoch_loss": [2.2, 1.8, 1.9], "epoch_mae": [1.1, 0.9, 0.95]})
    write_run(tmp_path / "valonly", validation={"epoch_loss": [1.5, 1.2, 1.3]})
    # Only a metric the others are not compared on: nothing comparable.
    write_run(tmp_path / "binary", train={"epoch_binary_accuracy": [0.5]},
              validation={"epoch_binary_accuracy": [0.4]})
    runs = read_runs([tmp_path / name for name in ("good", "regression", "valonly", "binary")])
    comparison = compare_runs(runs)
    assert comparison.metric == "accuracy"
    good, regression, valonly = comparison.runs
    assert good.final_val_metric == pytest.approx(0.58)
    assert regression.final_val_metric is None and regression.metric_gap_final_pp is None
    assert regression.data_loss_gap_final == pytest.approx(0.9) and regression.onset_epoch == 1
    assert Note("metric_not_logged", metric="accuracy") in regression.notes
    assert valonly.onset_epoch == 1 and valonly.early_stopping_epoch is None
    assert [(s.name, s.reason) for s in comparison.skipped] == [
        ("binary", Note("no_shared_values", metric="accuracy"))]
    # The regression run is judged on the loss gap against the baseline's.
    assert comparison.verdicts[0].measure == "data_loss_gap_final"
    assert "regression, valonly: the validation accuracy the other runs are compared on is not logged" in \
        render(comparison, "table")


def test_the_metric_most_runs_log_is_chosen_and_a_missing_requested_metric_is_one_sentence(tmp_path):
    for name in ("a1", "a2"):
        write_run(tmp_path / name, train={"epoch_accuracy": [0.5, 0.6]}, validation={"epoch_accuracy": [0.4, 0.5]})
    write_run(tmp_path / "b", train={"epoch_binary_accuracy": [0.5], "epoch_loss": [1.0]},
              validation={"epoch_binary_accuracy": [0.4], "epoch_loss": [1.2]})
    runs = read_runs([tmp_path / "b", tmp_path / "a1", tmp_path / "a2"])
    comparison = compare_runs(runs)
    assert comparison.metric == "accuracy" and [r.name for r in comparison.runs] == ["b", "a1", "a2"]
    assert compare_runs(runs, metric="binary_accuracy").metric == "binary_accuracy"
    with pytest.raises(L2BoardError) as error:
        compare_runs(runs, metric="auc")
    assert str(error.value) == ("No run has a validation metric 'auc': 'b' logs binary_accuracy; 'a1' logs "
                                "accuracy; 'a2' logs accuracy.")
