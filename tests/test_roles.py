"""Recognising roles: grouping folders into runs, naming series, mapping tags, and the error for the rest."""

import pytest
from conftest import refusal
from log_writers import _tbx_folder

from l2board.errors import L2BoardError
from l2board.reading.logs import read_runs
from l2board.reading.roles import canonical_keys, group_folders, unrecognised_tags


@pytest.mark.parametrize("folders, runs", [
    (["r/train", "r/validation"], {"r": ["train", "validation"]}),
    (["r/train"], {"r": ["train"]}),  # Keras without validation data: still its run
    (["r/train", "r/test"], {"r": ["test", "train"]}),
    (["r/training", "r/validation"], {"r": ["training", "validation"]}),
    (["r", "r/eval"], {"r": ["", "eval"]}),
    (["r", "r/Loss_train", "r/Loss_val"], {"r": ["", "Loss_train", "Loss_val"]}),
    (["r", "r/Loss/train", "r/Loss/val"], {"r": ["", "Loss/train", "Loss/val"]}),
    # An HParams experiment: its top and Keras runs below stay apart.
    (["exp", "exp/a/train", "exp/a/validation"], {"exp": [""], "exp/a": ["train", "validation"]}),
    # A lone `test` or `valid` folder is a run of its own: no pair, no guess.
    (["logs/test", "logs/other"], {"logs/test": [""], "logs/other": [""]}),
])
def test_folders_group_into_runs(folders, runs):
    assert {run: sorted(members) for run, members in group_folders(folders).items()} == runs


def test_a_mapping_wins_and_names_any_tags():
    keys = [("", "my_loss"), ("", "holdout_loss"), ("", "val_loss")]
    mapped = canonical_keys(keys, "flat", {"loss": ("my_loss", "holdout_loss")})
    assert mapped == {("", "my_loss"): ("train", "epoch_loss"), ("", "holdout_loss"): ("validation", "epoch_loss")}


def test_an_ambiguous_mapped_tag_is_one_sentence_naming_the_series():
    keys = [("Loss_train", "Loss"), ("Loss_val", "Loss")]
    with pytest.raises(L2BoardError, match=r"'Loss' names 2 series \(Loss_train/Loss, Loss_val/Loss\); "
                                           "give it as FOLDER/TAG"):
        canonical_keys(keys, None, {"loss": ("Loss", "Loss_val/Loss")})


@pytest.fixture
def unknown_run(tmp_path):
    _tbx_folder(tmp_path / "odd", {"objective": [1.0] * 6, "holdout_objective": [2.0] * 6})
    return tmp_path / "odd"


def test_an_unrecognised_run_lists_its_tags_the_roles_it_needs_and_the_option(unknown_run):
    (run,) = read_runs([unknown_run])
    assert unrecognised_tags(run) == ["holdout_objective", "objective"]
    message = refusal(read_runs([unknown_run]))
    assert message.startswith("Run 'odd' has no series recognised as the validation loss or metric")
    assert "holdout_objective, objective" in message and "--tag loss=TRAIN,VAL" in message
    assert "\n" not in message


def test_the_option_maps_them(unknown_run):
    (run,) = read_runs([unknown_run], tag_map={"loss": ("objective", "holdout_objective")})
    assert unrecognised_tags(run) is None
    assert run.scalar("validation", "epoch_loss").values.tolist() == [2.0] * 6
    assert run.source_of("validation", "epoch_loss") == ("", "holdout_objective")
    with pytest.raises(L2BoardError, match="No run logs a scalar tag 'nothing' \\(from --tag\\)"):
        read_runs([unknown_run], tag_map={"loss": ("objective", "nothing")})


def test_runs_without_scalars_say_what_they_hold(tmp_path):
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "histograms"))
    writer.add_histogram("weights", [0.1, 0.2, 0.3], 0)
    writer.close()
    SummaryWriter(str(tmp_path / "empty")).close()
    histograms, empty = runs = read_runs([tmp_path / "histograms", tmp_path / "empty"])
    assert unrecognised_tags(histograms) is None and unrecognised_tags(empty) is None  # nothing to map
    assert "holds no scalar values, only histograms" in refusal(runs)  # tensorboardX's kind is "histo"


def test_a_keras_run_without_validation_is_left_to_the_analysis(tmp_path):
    _tbx_folder(tmp_path / "run" / "train", {"epoch_loss": [1.0, 0.5]})
    (run,) = read_runs([tmp_path / "run"])
    assert unrecognised_tags(run) is None  # "train it with validation data" is the right advice there


def test_siblings_pair_only_when_their_names_differ_by_the_split_alone():
    # `wide_train` + `narrow_test` are two runs, not one made-up run `r`.
    assert group_folders(["r/wide_train", "r/narrow_test"]) == {"r/wide_train": {"": "r/wide_train"},
                                                                 "r/narrow_test": {"": "r/narrow_test"}}
    assert sorted(group_folders(["r", "r/Loss_train", "r/Loss_val", "r/Acc_test"])["r"]) == ["", "Loss_train",
                                                                                            "Loss_val"]


def test_the_exact_name_wins_over_an_alias(tmp_path):
    curve = [0.5, 0.6]
    _tbx_folder(tmp_path / "run", {"loss": [1.0, 0.9], "val_loss": [1.1, 1.0], "accuracy": curve,
                                   "val_acc": [0.1, 0.2], "val_accuracy": [0.7, 0.8]})
    (run,) = read_runs([tmp_path / "run"])
    assert run.source_of("validation", "epoch_accuracy") == ("", "val_accuracy")
    keys = [("", "acc"), ("", "val_acc"), ("", "val_accuracy")]
    assert canonical_keys(keys, "flat")[("", "val_acc")] == ("validation", "epoch_accuracy")


def test_two_equal_candidates_for_one_role_are_refused_naming_both_and_the_option():
    keys = [("", "acc"), ("", "accuracy"), ("", "val_acc"), ("", "val_accuracy")]
    with pytest.raises(L2BoardError) as refused:
        canonical_keys(keys, "flat", run="r")
    message = str(refused.value)
    assert "Run 'r'" in message and "acc, accuracy" in message and "--tag accuracy=TRAIN,VAL" in message
    assert "\n" not in message


def test_a_metric_mapped_onto_the_loss_is_refused_naming_the_loss_option():
    keys = [("", "Loss/train"), ("", "Loss/val")]
    with pytest.raises(L2BoardError, match=r"holds the loss, to a metric named 'lossy'; .*--tag loss=Loss/train,"
                                           "Loss/val"):
        canonical_keys(keys, "flat", {"lossy": ("Loss/train", "Loss/val")})


def test_add_scalars_main_tags_with_spaces_are_recognised(tmp_path):
    # PyTorch's tutorial: the folder keeps the main tag, the tag has `_` for spaces.
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "run"))
    for step in range(2):
        writer.add_scalars("Training vs. Validation Loss", {"Training": 1.0 - step, "Validation": 2.0 - step}, step)
    writer.close()
    (run,) = read_runs([tmp_path / "run"])
    assert run.scalar("validation", "epoch_training_vs._validation_loss").values.tolist() == [2.0, 1.0]


def _trial(folder, offset):
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(str(folder))
    for step in range(3):
        writer.add_scalar("Loss/train", 1.0 - 0.1 * step, step)
        writer.add_scalar("Loss/val", 1.5 - 0.1 * step + offset, step)
    writer.add_hparams({"lr": 0.1 + offset}, {"hparam/loss": 1.3 + offset})  # writes a `<time>/` folder
    writer.close()


def test_add_hparams_folders_leave_each_trial_a_run(tmp_path):
    for n in range(2):
        _trial(tmp_path / "hp" / f"trial{n}", n / 10)
    assert [run.name for run in read_runs([tmp_path / "hp"])] == ["trial0", "trial1"]
    (trial,) = read_runs([tmp_path / "hp" / "trial1"])
    assert trial.name == "trial1" and trial.scalar("validation", "epoch_loss").values.tolist() == pytest.approx(
        [1.6, 1.5, 1.4])


def test_a_folder_with_a_loss_of_its_own_above_runs_is_a_run_as_in_the_tab(tmp_path):
    for folder in ("parent", "parent/child"):
        _tbx_folder(tmp_path / folder, {"loss": [1.0, 0.5], "val_loss": [1.1, 0.9]})
    assert [run.name for run in read_runs([tmp_path / "parent"])] == ["parent", "parent/child"]
