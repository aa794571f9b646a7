"""The comparison: exact numbers from written logs, seeds, verdicts, Keras-only logs, skipped runs."""

import csv
import io
import json
import os

import numpy as np
import pytest
from conftest import refusal, write_run

from l2board.analysis.comparison import UNKNOWN_SETUP, compare_runs, configuration_of
from l2board.analysis.notes import Note
from l2board.errors import L2BoardError
from l2board.reading.logs import read_runs
from l2board.rendering import report
from l2board.rendering import view, wording
from l2board.rendering.wording import verdict_sentences
from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("analysis")

NO_L2 = RegularizationSetup(variables=(WeightVariable("dense/kernel", 100, True),), optimizer="Adam")
L2 = RegularizationSetup(variables=(WeightVariable("dense/kernel", 100, True, "L2", l2=0.01),), optimizer="Adam")


def l2monitor_like_run(folder, setup, train_acc, val_acc, train_data, val_data, penalty=0.0):
    epochs = len(train_acc)
    write_run(
        folder, setup=setup,
        train={"epoch_accuracy": train_acc, "epoch_data_loss": train_data,
               "epoch_loss": [d + penalty for d in train_data], "epoch_penalty": [penalty] * epochs,
               "epoch_penalty_share": [penalty / (d + penalty) for d in train_data],
               "weight_norm_total/l2": [10.0 - e for e in range(epochs)]},
        validation={"epoch_accuracy": val_acc, "epoch_data_loss": val_data,
                    "epoch_loss": [d + penalty for d in val_data]})


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    l2monitor_like_run(root / "no_l2", NO_L2,
                       train_acc=[0.5, 0.7, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0],
                       val_acc=[0.45, 0.6, 0.65, 0.64, 0.63, 0.62, 0.62, 0.61],
                       train_data=[1.2, 0.8, 0.4, 0.2, 0.1, 0.05, 0.03, 0.02],
                       val_data=[1.0, 0.8, 0.7, 0.75, 0.85, 0.9, 1.0, 1.05])
    l2monitor_like_run(root / "l2", L2,
                       train_acc=[0.5, 0.7, 0.8, 0.85, 0.88, 0.9, 0.9, 0.9],
                       val_acc=[0.45, 0.6, 0.66, 0.68, 0.69, 0.7, 0.7, 0.7],
                       train_data=[1.2, 0.8, 0.6, 0.5, 0.45, 0.4, 0.4, 0.4],
                       val_data=[1.0, 0.8, 0.7, 0.65, 0.62, 0.6, 0.6, 0.61], penalty=0.1)
    return root


def test_exact_numbers(two_runs):
    comparison = compare_runs(read_runs([two_runs / "no_l2", two_runs / "l2"]))
    base, l2 = comparison.runs
    assert comparison.metric == "accuracy" and comparison.baseline == "no_l2"
    assert base.label == "no regularization" and l2.label == "L2 0.01 on dense (100% of weights)"
    assert base.final_val_metric == pytest.approx(0.61)
    assert (base.best_val_metric, base.best_epoch) == (pytest.approx(0.65), 2)
    assert base.metric_gap_final_pp == pytest.approx(39.0)
    assert base.metric_gap_best_pp == pytest.approx(25.0)
    assert base.data_loss_gap_final == pytest.approx(1.03)
    assert base.data_loss_gap_best == pytest.approx(0.3)
    assert (base.onset_epoch, base.min_val_data_loss) == (2, pytest.approx(0.7))
    assert base.rise_after_onset == pytest.approx(0.35)
    assert base.generalization_loss_percent == pytest.approx(50.0)
    assert base.early_stopping_epoch == 7  # best at 2, five epochs without improvement
    assert l2.onset_epoch == 5 and l2.generalization_loss_percent == pytest.approx(100 * (0.61 / 0.6 - 1))
    assert l2.early_stopping_epoch is None
    assert l2.final_penalty == pytest.approx(0.1)
    assert l2.final_penalty_share_percent == pytest.approx(20.0)
    assert l2.final_weight_l2 == 3.0
    change = comparison.changes["l2"]["metric_gap_final_pp"]
    assert change.difference == pytest.approx(20.0 - 39.0) and change.resolved is None
    assert comparison.changes["l2"]["final_val_metric"].difference == pytest.approx(0.09)
    # One run each: what these runs showed, never a conclusion.
    assert verdict_sentences(comparison) == [
        "In these runs, l2 overfit less than no_l2: final accuracy gap 20.0 pp against 39.0 pp (-19.0 pp).",
        "Final validation accuracy 70.0% against 61.0% (+9.0 pp); final validation data loss 0.610 against "
        "1.050 (-0.440).",
        "With one run per configuration, nothing is known of the seed-to-seed spread, so this is what these runs "
        "showed, not a conclusion: train at least 3 seeds per configuration (l2board experiment --seeds 3) and "
        "the report will say which differences are resolved.",
    ]
    assert comparison.family_size == 0 and comparison.verdicts[0].direction == "less"


def test_baseline_choice_and_json_contract(two_runs):
    comparison = compare_runs(read_runs([two_runs / "no_l2", two_runs / "l2"]), baseline="l2", patience=3)
    data = json.loads(report.report_json(comparison))
    assert data["format_version"] == 4 and data["baseline"] == "l2" and data["patience"] == 3
    # The baseline first, as the table's heading says, in every output.
    assert [r["name"] for r in data["runs"]] == ["l2", "no_l2"]
    assert [c["name"] for c in data["configurations"]] == ["l2", "no_l2"]
    assert data["runs"][1]["early_stopping_epoch"] == 5
    assert set(data["changes"]) == {"no_l2"}
    assert data["verdict"][0].startswith("In these runs, no_l2 overfit more than l2")
    (verdict,) = data["verdicts"]
    assert (verdict["configuration"], verdict["baseline"], verdict["kind"]) == ("no_l2", "l2", "compared")
    assert (verdict["measure"], verdict["direction"], verdict["replicated"]) == ("metric_gap_final_pp", "more", False)
    assert verdict["gap"]["difference"] == pytest.approx(39.0 - 20.0)
    with pytest.raises(L2BoardError, match="No run or configuration named 'l3'; the runs are: no_l2, l2."):
        compare_runs(read_runs([two_runs / "no_l2", two_runs / "l2"]), baseline="l3")


@pytest.fixture(scope="module")
def seeded_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    gaps = {"none": [0.30, 0.32, 0.34], "l2": [0.10, 0.12, 0.14], "close": [0.33, 0.31, 0.35]}
    setups = {"none": NO_L2, "l2": L2, "close": L2}
    for config, values in gaps.items():
        for seed, gap in enumerate(values):
            l2monitor_like_run(root / f"{config}-seed{seed}", setups[config],
                               train_acc=[0.9, 1.0], val_acc=[0.8, 1.0 - gap],
                               train_data=[0.5, 0.1], val_data=[0.6, 0.8])
    return root


def test_seeds_are_averaged_and_the_verdict_respects_their_spread(seeded_runs):
    comparison = compare_runs(read_runs([seeded_runs / f"none-seed{s}" for s in range(3)]
                                        + [seeded_runs / f"l2-seed{s}" for s in range(3)]
                                        + [seeded_runs / f"close-seed{s}" for s in range(3)]))
    names = [c.name for c in comparison.configurations]
    assert names == ["none", "l2", "close"]
    none, l2, close = comparison.configurations
    assert none.runs == ["none-seed0", "none-seed1", "none-seed2"]
    assert none.mean["metric_gap_final_pp"] == pytest.approx(32.0)
    assert none.std["metric_gap_final_pp"] == pytest.approx(2.0)
    assert comparison.changes["l2"]["metric_gap_final_pp"].resolved is True
    assert comparison.changes["close"]["metric_gap_final_pp"].resolved is False
    # Paired by seed: l2's gap is 20 pp below in every seed; close's differences
    # (+1, -1, +3 pp) leave zero inside the interval.
    # Six claims (two configurations x gap, accuracy, data loss), adjusted together: l2's gap is 20 pp below
    # in every seed; close's differences (+1, -1, +3 pp) leave zero inside the interval; the data losses
    # are equal in every seed, well inside the practical size (2% of the baseline's 0.8).
    assert comparison.family_size == 6
    seeds_note = ("about 48 seeds per configuration would resolve a difference this large (80% power at the "
                  "adjusted level, if the observed difference and spread are the true ones).")
    assert verdict_sentences(comparison) == [
        "l2 overfits less than none: final accuracy gap 12.0 pp against 32.0 pp, -20.0 pp [-20.0, -20.0] "
        "(3 seeds, paired).",
        "Final validation accuracy is higher: 88.0% against 68.0%, +20.0 pp [+20.0, +20.0] (3 seeds, paired).",
        "Final validation data loss is about the same: 0.800 against 0.800, +0.000 [+0.000, +0.000] "
        "(3 seeds, paired), inside the practical size ±0.016.",
        "Whether close overfits less or more than none is not resolved: final accuracy gap 33.0 pp against "
        "32.0 pp, +1.0 pp [-9.2, +11.2] (3 seeds, paired); " + seeds_note,
        "Whether final validation accuracy is higher or lower is not resolved: 67.0% against 68.0%, "
        "-1.0 pp [-11.2, +9.2] (3 seeds, paired); " + seeds_note,
        "Final validation data loss is about the same: 0.800 against 0.800, +0.000 [+0.000, +0.000] "
        "(3 seeds, paired), inside the practical size ±0.016.",
    ]
    assert [v.direction for v in comparison.verdicts] == ["less", "unresolved"]
    # The interval is SciPy's paired t interval of the per-seed differences.
    from scipy import stats

    gaps = {c.name: c.values["metric_gap_final_pp"] for c in comparison.configurations}
    expected = stats.ttest_rel(gaps["close"], gaps["none"]).confidence_interval(0.95)
    change = comparison.changes["close"]["metric_gap_final_pp"]
    assert (change.low, change.high, change.method) == (pytest.approx(expected.low), pytest.approx(expected.high),
                                                        "paired")


def test_a_difference_below_the_practical_size_never_decides_however_sure(tmp_path):
    for config, setup, val_data in (("none", NO_L2, [[0.6, 0.9], [0.6, 1.0], [0.6, 1.1]]),
                                    ("l2", L2, [[0.6, 0.66], [0.6, 0.76], [0.6, 0.86]])):
        for seed, (gap, losses) in enumerate(zip([0.30, 0.35, 0.25], val_data)):
            l2monitor_like_run(tmp_path / f"{config}-seed{seed}", setup, train_acc=[0.9, 1.0],
                               val_acc=[0.8, 1.0 - gap - (0.0002 if config == "l2" else 0)],
                               train_data=[0.5, 0.1], val_data=losses)
    comparison = compare_runs(read_runs([tmp_path / f"none-seed{s}" for s in range(3)]
                                        + [tmp_path / f"l2-seed{s}" for s in range(3)]))
    # The gap is 0.02 pp more in every seed: sure, and far too small to matter: "about as much", never "more".
    gap = comparison.changes["l2"]["metric_gap_final_pp"]
    assert gap.resolved is True and gap.outcome == "same" and gap.practical_size == 1.0
    sentences = verdict_sentences(comparison)
    assert sentences[0] == ("l2 overfits about as much as none: final accuracy gap 30.0 pp against 30.0 pp, "
                            "+0.0 pp [+0.0, +0.0] (3 seeds, paired), inside the practical size ±1 pp.")
    assert comparison.verdicts[0].direction == "same"
    # The data loss is 0.24 lower in every seed: a difference, and one that matters.
    assert sentences[2] == ("Final validation data loss is lower: 0.760 against 1.000, -0.240 [-0.240, -0.240] "
                            "(3 seeds, paired).")


def test_configuration_names():
    assert configuration_of("runs/l2-seed0") == "runs/l2"
    assert configuration_of("runs/l2_SEED12") == "runs/l2"
    assert configuration_of("runs/l2/seed1") == "runs/l2"
    assert configuration_of("runs/l2") == "runs/l2"


def test_keras_tensorboard_logs_give_what_they_can(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax",
                                                                    kernel_regularizer=keras.regularizers.L2(0.1))])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, validation_split=0.25, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(str(tmp_path / "keras_only"), histogram_freq=1)])
    (report,) = compare_runs(read_runs([tmp_path / "keras_only"])).runs
    assert report.label == UNKNOWN_SETUP and not report.logged_by_l2monitor
    assert report.final_val_metric == pytest.approx(history.history["val_accuracy"][-1])
    assert report.metric_gap_final_pp == pytest.approx(
        100 * (history.history["accuracy"][-1] - history.history["val_accuracy"][-1]))
    # Honest numbers on the loss as logged (penalty included by Keras), and a note saying so.
    val_loss, loss = history.history["val_loss"], history.history["loss"]
    assert report.loss_basis == "logged_loss"
    assert report.onset_epoch == int(np.argmin(val_loss))
    assert report.generalization_loss_percent == pytest.approx(100 * (val_loss[-1] / min(val_loss) - 1), abs=1e-4)
    assert report.data_loss_gap_final == pytest.approx(val_loss[-1] - loss[-1], rel=1e-5)
    assert Note("loss_may_include_penalty") in report.notes
    assert report.early_stopping_monitor == "val_loss"
    # The user says the logged loss is the data loss: the same numbers, no note.
    (said,) = compare_runs(read_runs([tmp_path / "keras_only"]), loss_includes_penalty=False).runs
    assert said.loss_basis == "logged_loss_without_penalty" and said.onset_epoch == report.onset_epoch
    assert [n.code for n in said.notes if n.code.startswith("loss_")] == []
    (said,) = compare_runs(read_runs([tmp_path / "keras_only"]), loss_includes_penalty=True).runs
    assert said.loss_basis == "logged_loss_with_penalty" and Note("loss_includes_penalty") in said.notes


def test_runs_without_validation_or_a_shared_metric_are_refused(tmp_path):
    write_run(tmp_path / "train_only", train={"epoch_loss": [1.0, 0.5], "epoch_accuracy": [0.5, 0.6]})
    assert refusal(read_runs([tmp_path / "train_only"])).startswith("Run 'train_only' has no validation values")
    write_run(tmp_path / "a", train={"epoch_accuracy": [0.5]}, validation={"epoch_accuracy": [0.4]})
    write_run(tmp_path / "b", train={"epoch_binary_accuracy": [0.5]}, validation={"epoch_binary_accuracy": [0.4]})
    # No shared metric: the one run with `accuracy` is compared; 'b' has
    # neither a validation loss nor accuracy, so is skipped with its reason.
    comparison = compare_runs(read_runs([tmp_path / "a", tmp_path / "b"]))
    assert comparison.metric == "accuracy" and [r.name for r in comparison.runs] == ["a"]
    assert [s.name for s in comparison.skipped] == ["b"]
    with pytest.raises(L2BoardError, match="No run has a validation metric 'auc': 'a' logs accuracy; 'b' logs "
                                           "binary_accuracy"):
        compare_runs(read_runs([tmp_path / "a", tmp_path / "b"]), metric="auc")
    # Regression runs share no accuracy metric at all: losses only.
    write_run(tmp_path / "r1", train={"epoch_loss": [1.0], "epoch_data_loss": [1.0]},
              validation={"epoch_loss": [1.2], "epoch_data_loss": [1.2]})
    comparison = compare_runs(read_runs([tmp_path / "r1"]))
    assert comparison.metric is None and comparison.runs[0].data_loss_gap_final == pytest.approx(0.2)


def test_a_damaged_validation_file_is_named_instead_of_asking_for_validation_data(tmp_path):
    write_run(tmp_path / "run", train={"epoch_loss": [1.0, 0.8]}, validation={"epoch_loss": [1.2, 1.1]})
    (path,) = (tmp_path / "run" / "validation").glob("events.out.tfevents.*")
    path.write_bytes(path.read_bytes()[:30])  # not even the first record is whole
    runs = read_runs([tmp_path / "run"])
    # Once: "has no validation values; train it with validation data", and the damage never shown.
    assert refusal(runs) == (
        f"Run 'run' has no readable validation values: validation/{path.name} is damaged (the last record is "
        "cut off, as when the run is still writing or was killed).")
    # Damage in train/ alone says nothing about validation data.
    write_run(tmp_path / "train_only", train={"epoch_loss": [1.0, 0.8]})
    (path,) = (tmp_path / "train_only" / "train").glob("events.out.tfevents.*")
    path.write_bytes(path.read_bytes()[:-3])
    assert "has no validation values; train it with validation data" in refusal(read_runs([tmp_path / "train_only"]))


def test_restarts_and_skipped_files_are_warnings_of_the_comparison(tmp_path):
    write_run(tmp_path / "run", train={"epoch_loss": [1.0, 0.8, 0.6]}, validation={"epoch_loss": [1.2, 1.1, 1.0]})
    # Resumed from the checkpoint of epoch 0: validation values of epochs 1 and 2 replaced.
    write_run(tmp_path / "run", validation={"epoch_loss": {1: 1.15, 2: 1.05}})
    folder = tmp_path / "run" / "train" / "events.out.tfevents.folder"
    folder.mkdir()
    comparison = compare_runs(read_runs([tmp_path / "run"]))
    later = max((tmp_path / "run" / "validation").glob("events.out.tfevents.*"), key=os.path.getmtime)
    assert [wording.file_note_sentence(note) for note in comparison.file_notes] == [
        f"Skipped {folder}: it is named like an event file but is a folder, not a regular file.",
        f"{later} goes back to step 1: its values replace 2 points logged before from step 1 on, as TensorBoard "
        "shows a restarted run.",
    ]
    assert comparison.runs[0].curves["val_loss"] == pytest.approx([1.2, 1.15, 1.05])


def write_flat_run(folder, values):
    """Writes `{tag: [value per epoch]}` at a run's top, as tf.summary or TF1's `simple_value` by hand."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for tag, series in values.items():
            for step, value in enumerate(series):
                tf.summary.scalar(tag, value, step=step)
    writer.close()
    return str(folder)


def test_two_runs_stopped_at_different_epochs_give_two_notes(tmp_path):
    # L2Monitor-like runs without its end-of-training record: killed after epochs 2 and 4.
    l2monitor_like_run(tmp_path / "a", NO_L2, train_acc=[0.5, 0.6, 0.7], val_acc=[0.5, 0.55, 0.6],
                       train_data=[1.0, 0.8, 0.6], val_data=[1.1, 1.0, 0.9])
    l2monitor_like_run(tmp_path / "b", L2, train_acc=[0.5, 0.6, 0.7, 0.8, 0.9], val_acc=[0.5, 0.55, 0.6, 0.6, 0.6],
                       train_data=[1.0, 0.8, 0.6, 0.5, 0.4], val_data=[1.1, 1.0, 0.9, 0.9, 0.95])
    comparison = compare_runs(read_runs([tmp_path / "a", tmp_path / "b"]))
    a, b = comparison.runs
    assert Note("incomplete", last_epoch=2) in a.notes and Note("incomplete", last_epoch=4) in b.notes
    notes = view.run_notes(comparison)
    # Before, notes were grouped by the text before a colon: b's was lost.
    assert "a: training did not finish: the log stops after epoch 2 without L2Monitor's end-of-training " \
           "record (killed, crashed or interrupted)." in notes
    assert "b: training did not finish: the log stops after epoch 4 without L2Monitor's end-of-training " \
           "record (killed, crashed or interrupted)." in notes
    # The same note of two runs is one line naming both.
    assert "a, b: weight norms and penalties are logged by L2Monitor only." not in notes  # both log norms
    data = json.loads(report.report_json(comparison))
    assert data["runs"][1]["notes"][0] == {"code": "incomplete", "last_epoch": 4}
    assert data["runs"][1]["missing"][0].startswith("training did not finish: the log stops after epoch 4 ")


def test_logs_without_l2monitor_get_onset_gl_and_gaps_on_the_loss_as_logged(tmp_path):
    write_run(tmp_path / "keras", train={"epoch_loss": [1.0, 0.6, 0.4, 0.3]},
              validation={"epoch_loss": [1.1, 0.8, 0.9, 1.0]})
    comparison = compare_runs(read_runs([tmp_path / "keras"]), patience=2)
    (run,) = comparison.runs
    assert (run.metric, run.loss_basis, run.logged_by_l2monitor) == (None, "logged_loss", False)
    assert (run.onset_epoch, run.min_val_data_loss) == (1, pytest.approx(0.8))
    assert run.rise_after_onset == pytest.approx(0.2)
    assert run.generalization_loss_percent == pytest.approx(25.0)
    assert run.data_loss_gap_final == pytest.approx(0.7)
    assert run.final_train_data_loss == pytest.approx(0.3) and run.final_val_data_loss == pytest.approx(1.0)
    assert run.early_stopping_epoch == 3
    assert run.notes == [Note("no_metric"), Note("loss_may_include_penalty"), Note("no_weight_norms")]
    text = report.render_table(comparison)
    # Rows say "loss", not "data loss", and nothing about a best metric epoch.
    assert "final validation loss " in text and "data loss" not in text.split("Verdict:")[0]
    assert "at epoch" not in text
    assert "which may include penalties" in text
    # A validation loss alone gives onset and GL, not a gap.
    write_run(tmp_path / "val_only", train={"epoch_accuracy": [0.5, 0.6]},
              validation={"epoch_accuracy": [0.5, 0.55], "epoch_loss": [0.9, 1.0]})
    (run,) = compare_runs(read_runs([tmp_path / "val_only"])).runs
    assert run.onset_epoch == 0 and run.generalization_loss_percent == pytest.approx(100 * (1.0 / 0.9 - 1))
    assert run.data_loss_gap_final is None and Note("no_training_loss") in run.notes


def test_flat_runs_count_their_epochs_from_the_loss_and_metric(tmp_path):
    write_flat_run(tmp_path / "flat", {"loss": [1.0, 0.7, 0.5], "val_loss": [1.1, 0.9, 0.95],
                                       "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.45, 0.6, 0.62]})
    comparison = compare_runs(read_runs([tmp_path / "flat"]))
    (run,) = comparison.runs
    assert (run.epochs, run.last_epoch) == (3, 2)  # were 0 and None
    assert run.final_val_metric == pytest.approx(0.62) and run.onset_epoch == 1
    rows = list(csv.DictReader(io.StringIO(report.render_csv(comparison))))
    assert (rows[0]["epochs"], rows[0]["last_epoch"], rows[0]["loss_basis"]) == ("3", "2", "logged_loss")


def test_a_run_without_validation_is_skipped_and_the_others_compared(two_runs, tmp_path):
    import shutil

    for name in ("no_l2", "l2"):
        shutil.copytree(two_runs / name, tmp_path / name)
    write_run(tmp_path / "train_only", train={"epoch_loss": [1.0, 0.5], "epoch_accuracy": [0.5, 0.6]})
    runs = read_runs([tmp_path / "no_l2", tmp_path / "train_only", tmp_path / "l2"])
    # Before, the run without validation values hid the accuracy the others share:
    # "The runs share no accuracy metric to compare", and no comparison at all.
    comparison = compare_runs(runs)
    assert comparison.metric == "accuracy" and [r.name for r in comparison.runs] == ["no_l2", "l2"]
    (skipped,) = comparison.skipped
    assert skipped.name == "train_only"
    assert skipped.reason == Note("no_validation", tags=["train/epoch_accuracy", "train/epoch_loss"])
    assert verdict_sentences(comparison)[0].startswith("In these runs, l2 overfit less than no_l2")
    assert "Skipped (not compared):\n  train_only: has no validation values; train it with validation data" \
        in report.render_table(comparison)
    assert refusal(runs, baseline="train_only").startswith(
        "Run 'train_only' cannot be the baseline: Run 'train_only' has no ")


def test_runs_without_scalars_are_skipped_with_their_reason(tmp_path):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "histograms" / "train"))
    with writer.as_default():
        tf.summary.histogram("dense/kernel", np.arange(10.0), step=0)
    writer.close()
    tf.summary.create_file_writer(str(tmp_path / "header_only")).close()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "events.out.tfevents.1.host").write_bytes(b"")
    write_run(tmp_path / "good", train={"epoch_loss": [1.0, 0.5]}, validation={"epoch_loss": [1.2, 1.1]})
    names = ("histograms", "header_only", "empty")
    comparison = compare_runs(read_runs([tmp_path / name for name in names + ("good",)]))
    assert [r.name for r in comparison.runs] == ["good"]
    assert [(s.name, s.reason) for s in comparison.skipped] == [
        ("histograms", Note("no_scalars", event_files=1, other_kinds=["histograms"])),
        ("header_only", Note("no_scalars", event_files=1, other_kinds=[])),
        ("empty", Note("no_scalars", event_files=1, other_kinds=[]))]
    # Alone, a run that cannot be analysed is one sentence, and not "train it with validation data".
    assert refusal(read_runs([tmp_path / "histograms"])) == "Run 'histograms' holds no scalar values, only histograms."
    assert refusal(read_runs([tmp_path / name for name in names])) == (
        "None of the 3 runs can be compared: 'histograms' holds no scalar values, only histograms; 'header_only' "
        "holds no scalar values: its event file holds no summary; 'empty' holds no scalar values: its event "
        "file holds no summary.")
