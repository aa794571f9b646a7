"""The one run builder (`reading/run_builder.py`): TensorBoard's restart rule, the writer's epoch series,
and which training and validation values are paired.

The restart rule is tested directly on records as event files hand them over
(`RecordSource`, in the order written); the pairing cases are written with a
real writer (tf.summary through `write_run`, tensorboardX for the torch loop's
shape) and read back.
"""

import numpy as np
import pytest
from conftest import installed_script, run_child, write_run

from l2board.analysis.comparison import compare_runs
from l2board.analysis.notes import Note
from l2board.reading.logs import read_runs
from l2board.reading.run_builder import build_run
from l2board.reading.run_model import Restart, RecordSource
from l2board.rendering.report import render_table


def source(path, folder, **tags):
    """One event file's records: `tag=(steps, values)` in the order written."""
    return RecordSource(path=path, folder=folder,
                        scalars={tag.replace("__", "/"): (list(steps), list(values))
                                 for tag, (steps, values) in tags.items()})


def points(run, key):
    series = run.scalars[key]
    return series.steps.tolist(), series.values.tolist()


# --- TensorBoard's rule for restarted runs, applied by the builder ---

def test_a_later_file_going_back_replaces_the_points_from_that_step_on():
    first = source("train/a", "train", epoch_loss=([0, 1, 2, 3], [1.0, 0.8, 0.7, 0.6]))
    resumed = source("train/b", "train", epoch_loss=([2, 3, 4], [0.75, 0.65, 0.5]))
    run = build_run("r", "r", [first, resumed])
    assert points(run, ("train", "epoch_loss")) == ([0, 1, 2, 3, 4], [1.0, 0.8, 0.75, 0.65, 0.5])
    assert run.restarts == [Restart("train/b", 2, 2)]
    assert run.event_files == 2


def test_going_back_within_one_file_replaces_too_and_says_so():
    run = build_run("r", "r", [source("train/a", "train", epoch_loss=([0, 1, 2, 1, 2], [1.0, 0.9, 0.8, 0.85, 0.7]))])
    assert points(run, ("train", "epoch_loss")) == ([0, 1, 2], [1.0, 0.85, 0.7])
    assert run.restarts == [Restart("train/a", 1, 2, within_file=True)]


def test_of_a_repeated_step_the_later_point_counts():
    run = build_run("r", "r", [source("validation/a", "validation", epoch_loss=([0, 1, 1], [1.0, 0.9, 0.95]))])
    assert points(run, ("validation", "epoch_loss")) == ([0, 1], [1.0, 0.95])
    assert run.restarts == [Restart("validation/a", 1, 1, within_file=True)]


def test_the_same_point_written_again_is_a_rewrite_not_a_restart():
    # Lightning writes `epoch` again at the step it has; NaN rewritten as NaN is the same point too.
    run = build_run("r", "r", [source("a", "", epoch=([9, 9, 19], [0.0, 0.0, 1.0])),
                               source("b", "", val_loss=([19], [np.nan])), source("c", "", val_loss=([19], [np.nan]))])
    assert points(run, ("train", "epoch")) == ([0, 1], [0.0, 1.0])  # one point per epoch, on the epoch axis
    assert run.restarts == []


def test_the_rule_is_applied_per_tag():
    first = source("train/a", "train", epoch_loss=([0, 1, 2], [1.0, 0.8, 0.7]), epoch_accuracy=([0, 1, 2], [.5, .6, .7]))
    # The second file goes back only on the loss: the accuracy goes on where it was.
    second = source("train/b", "train", epoch_loss=([1, 2, 3], [0.9, 0.85, 0.6]), epoch_accuracy=([3], [0.8]))
    run = build_run("r", "r", [first, second])
    assert points(run, ("train", "epoch_loss")) == ([0, 1, 2, 3], [1.0, 0.9, 0.85, 0.6])
    assert points(run, ("train", "epoch_accuracy")) == ([0, 1, 2, 3], [0.5, 0.6, 0.7, 0.8])
    assert run.restarts == [Restart("train/b", 1, 2)]


def test_the_writers_epoch_series_turns_global_steps_into_epochs():
    # transformers' Trainer: `train/epoch` (epochs completed) beside eval values at the global step.
    trainer = source("events", "", train__epoch=([13, 26, 39], [1.0, 2.0, 3.0]),
                     eval__loss=([13, 26, 39], [0.9, 0.8, 0.85]), train__loss=([5, 10, 15, 20], [1.2, 1.1, 1.0, 0.9]))
    run = build_run("hf", "hf", [trainer])
    assert run.steps_from == ("", "train/epoch")
    assert points(run, ("validation", "epoch_loss")) == ([0, 1, 2], [0.9, 0.8, 0.85])
    # A per-step series keeps its global steps, and the run says so.
    assert Note("steps_not_epochs", series=["train/loss"], epoch_series="train/epoch") in run.read_notes


def test_a_repeated_step_in_a_real_event_file_is_read_as_tensorboard_shows_it(tmp_path):
    # Written twice from step 0 with the real writer: the second file replaces the first's points.
    run = tmp_path / "restarted"
    write_run(run, train={"epoch_loss": [1.0, 0.8, 0.7]}, validation={"epoch_loss": [1.1, 0.9, 0.95]})
    write_run(run, train={"epoch_loss": [1.0, 0.7]}, validation={"epoch_loss": [1.1, 0.92]})
    (read,) = read_runs([run])
    assert points(read, ("validation", "epoch_loss")) == ([0, 1], [pytest.approx(1.1), pytest.approx(0.92)])
    assert sorted((r.step, r.replaced) for r in read.restarts) == [(0, 3), (0, 3)]


def test_a_restart_warning_is_shown_once(tmp_path):
    run = tmp_path / "restarted"
    write_run(run, train={"epoch_loss": [1.0, 0.8, 0.7]}, validation={"epoch_loss": [1.1, 0.9, 0.95]})
    write_run(run, train={"epoch_loss": [1.0, 0.7]}, validation={"epoch_loss": [1.1, 0.92]})
    result = run_child([installed_script("l2board"), "compare", str(run)],
                       capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    both = result.stdout + result.stderr
    assert both.count("train/events.out.tfevents.") == 1 and both.count("goes back to step 0") == 2
    assert "goes back to step 0" in result.stderr
    # A report written to a file keeps them: stderr is not in the file.
    out = tmp_path / "report.txt"
    result = run_child([installed_script("l2board"), "compare", str(run), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and out.read_text().count("goes back to step 0") == 2


# --- Which training and validation values are paired ---

EPOCHS, BATCHES = 20, 10
EPOCH = np.arange(EPOCHS)
VAL_LOSS = 0.5 + (EPOCH - 10) ** 2 / 100  # minimum 0.5 at epoch 10
VAL_ACC = 0.7 - 0.001 * (EPOCH - 12) ** 2  # best 0.7 at epoch 12, final 0.651
STEP = np.arange(EPOCHS * BATCHES)
TRAIN_ACC = 0.5 + 0.0019 * STEP  # per batch: 0.8781 at the last one, 0.5361 at step 19
TRAIN_LOSS = 1.0 / (STEP + 1)


def assert_validation_only(run):
    """The numbers a torch loop's logs give when training is per batch and validation per epoch."""
    assert run.final_val_metric == pytest.approx(VAL_ACC[-1])
    assert (run.best_val_metric, run.best_epoch) == (pytest.approx(0.7), 12)
    assert (run.onset_epoch, run.min_val_data_loss) == (10, pytest.approx(0.5))
    assert run.generalization_loss_percent == pytest.approx(100 * (VAL_LOSS[-1] / 0.5 - 1), rel=1e-5)
    assert run.early_stopping_epoch == 15  # best at 10, five epochs without improvement
    # Nothing is paired: training batch 19 is not validation epoch 19.
    for field in ("final_train_metric", "train_metric_at_best", "metric_gap_final_pp", "metric_gap_best_pp",
                  "final_train_data_loss", "data_loss_gap_final", "data_loss_gap_best"):
        assert getattr(run, field) is None, field
    assert (run.epochs, run.last_epoch) == (EPOCHS, EPOCHS - 1)
    # The validation loss gives its own numbers all the same (issue 18, item 5: they were null).
    assert run.final_val_data_loss == pytest.approx(VAL_LOSS[-1]) and run.val_data_loss_at_stop is not None
    assert Note("steps_differ", train_last_step=EPOCHS * BATCHES - 1, validation_last_step=EPOCHS - 1,
                train_points=EPOCHS * BATCHES, validation_points=EPOCHS, shared=EPOCHS) in run.notes
    assert run.diverged_epoch is None


def test_training_per_batch_and_validation_per_epoch_are_not_paired(tmp_path):
    write_run(tmp_path / "torch_loop",
              train={"epoch_loss": dict(zip(STEP.tolist(), TRAIN_LOSS)),
                     "epoch_accuracy": dict(zip(STEP.tolist(), TRAIN_ACC))},
              validation={"epoch_loss": VAL_LOSS.tolist(), "epoch_accuracy": VAL_ACC.tolist()})
    comparison = compare_runs(read_runs([tmp_path / "torch_loop"]))
    (run,) = comparison.runs
    assert_validation_only(run)
    # The table words the note, and has no training number to show.
    table = render_table(comparison)
    assert ("training values are logged at other steps (up to step 199) than validation values (up to step 19), "
            "so they are not paired") in table
    assert "final training accuracy            n/a" in table


def test_torch_tutorial_tags_written_by_tensorboardx_are_not_paired(tmp_path):
    from tensorboardX import SummaryWriter

    # The common torch loop: training at the global step, validation at the epoch.
    writer = SummaryWriter(str(tmp_path / "tbx_loop"))
    for step in STEP.tolist():
        writer.add_scalar("Loss/train", TRAIN_LOSS[step], step)
        writer.add_scalar("Accuracy/train", TRAIN_ACC[step], step)
        if step % BATCHES == BATCHES - 1:
            epoch = step // BATCHES
            writer.add_scalar("Loss/val", VAL_LOSS[epoch], epoch)
            writer.add_scalar("Accuracy/val", VAL_ACC[epoch], epoch)
    writer.close()
    (run,) = compare_runs(read_runs([tmp_path / "tbx_loop"])).runs
    assert run.metric == "accuracy"
    assert_validation_only(run)


def test_training_and_validation_at_the_same_global_steps_are_still_paired(tmp_path):
    # Validation logged at the global step of each epoch's last batch shares
    # every one of its steps with the per-batch training values.
    val_steps = (EPOCH * BATCHES + BATCHES - 1).tolist()
    write_run(tmp_path / "global",
              train={"epoch_accuracy": dict(zip(STEP.tolist(), TRAIN_ACC))},
              validation={"epoch_accuracy": dict(zip(val_steps, VAL_ACC))})
    (run,) = compare_runs(read_runs([tmp_path / "global"])).runs
    assert run.final_train_metric == pytest.approx(TRAIN_ACC[-1])
    assert run.metric_gap_final_pp == pytest.approx(100 * (TRAIN_ACC[-1] - VAL_ACC[-1]), rel=1e-5)
    assert all(note.code != "steps_differ" for note in run.notes)
