"""Recognising roles: grouping folders into runs, naming series, mapping tags, and the error for the rest."""

import pytest
from log_writers import _tbx_folder

from l2board.errors import L2BoardError
from l2board.reading.logs import read_runs
from l2board.analysis.comparison import compare_runs
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
    with pytest.raises(L2BoardError) as refused:
        compare_runs(read_runs([unknown_run]))
    message = str(refused.value)
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
    with pytest.raises(L2BoardError) as refused:
        compare_runs(runs)
    assert "holds no scalar values" in str(refused.value)


def test_a_keras_run_without_validation_is_left_to_the_analysis(tmp_path):
    _tbx_folder(tmp_path / "run" / "train", {"epoch_loss": [1.0, 0.5]})
    (run,) = read_runs([tmp_path / "run"])
    assert unrecognised_tags(run) is None  # "train it with validation data" is the right advice there
