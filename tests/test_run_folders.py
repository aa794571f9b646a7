"""Run folders: --overwrite deletes only what l2board wrote, and checks come before any change."""

import os

import pytest
from conftest import installed_script, run_child, write_run

from l2board.errors import L2BoardError, UnwritableLogDirError
from l2board.training.run_folders import check_creatable, make_run_dir, plan_run_dir, survey_run_dir


def l2board(*args, cwd=None):
    return run_child([installed_script("l2board"), *map(str, args)], capture_output=True, text=True,
                     timeout=300, cwd=cwd)


def snapshot(folder):
    """Every file below a folder with its bytes, and every folder: what must survive a refusal."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders:
            found[os.path.relpath(os.path.join(root, name), folder) + "/"] = None
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = os.readlink(path) if os.path.islink(path) else \
                open(path, "rb").read()
    return found


@pytest.fixture
def project(tmp_path):
    """A user's project folder: notes, code, and an old run somewhere below."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "NOTES.md").write_text("three months of notes")
    (root / "src" / "model.py").write_text("import keras\n")
    write_run(root / "runs" / "old", train={"epoch_loss": [1.0, 0.5]}, validation={"epoch_loss": [1.1, 0.9]})
    return root


def test_overwrite_of_a_project_folder_deletes_nothing(project):
    before = snapshot(project)
    result = l2board("train", "--dataset", "digits", "--epochs", "1", "--logdir", project, "--overwrite")
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: '{project}' holds other runs below it ({os.path.join('runs', 'old', 'train')}"
        f"{os.sep}{os.listdir(project / 'runs' / 'old' / 'train')[0]}); choose another --logdir, "
        "such as a new folder inside it."]
    assert snapshot(project) == before


def test_overwrite_of_a_run_with_files_of_the_users_deletes_nothing(tmp_path):
    run = write_run(tmp_path / "run", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [1.0]})
    (tmp_path / "run" / "NOTES.md").write_text("mine")
    (tmp_path / "run" / "train" / "profile.json").write_text("{}")
    before = snapshot(run)
    result = l2board("train", "--dataset", "digits", "--epochs", "1", "--logdir", run, "--overwrite")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (f"Error: --overwrite replaces only a run folder as l2board writes it (train/, validation/ and "
                    f"event files), but '{run}' also holds NOTES.md, train/profile.json; nothing was deleted: "
                    "choose another --logdir or move those away first.")
    assert snapshot(run) == before


def test_links_are_never_taken_for_our_files(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    write_run(elsewhere, train={"epoch_loss": [1.0]})
    run = tmp_path / "run"
    write_run(run, train={"epoch_loss": [1.0]})
    os.symlink(elsewhere / "train", run / "validation")  # a link named like our subfolder
    (event,) = os.listdir(elsewhere / "train")
    os.symlink(elsewhere / "train" / event, run / event)  # a link named like an event file
    survey = survey_run_dir(run)
    assert sorted(survey.foreign) == sorted([event, "validation"])
    with pytest.raises(L2BoardError, match="also holds"):
        plan_run_dir(str(run), overwrite=True)
    assert os.listdir(elsewhere / "train") == [event]


def l2board_run(folder):
    """A run as L2Monitor writes it: its data loss is a record only l2board writes."""
    return write_run(folder, train={"epoch_loss": [1.0], "epoch_data_loss": [0.9]},
                     validation={"epoch_loss": [2.0], "epoch_data_loss": [1.9]})


def test_overwrite_through_a_linked_run_folder_keeps_the_link(tmp_path):
    real = l2board_run(tmp_path / "real")
    link = tmp_path / "link"
    os.symlink(real, link)
    plan = plan_run_dir(str(link), overwrite=True)
    assert plan.note == f"Replaced the run that was in {link}."
    assert make_run_dir(plan) == str(link)
    assert os.path.islink(link) and os.listdir(real) == []  # the old run's files went, nothing else


def test_replacing_waits_until_everything_is_checked(tmp_path):
    run = l2board_run(tmp_path / "run")
    before = snapshot(run)
    # Bad data is found after the folder is planned, but before anything is deleted.
    result = l2board("train", "--dataset", "digits", "--train-size", "100000", "--logdir", run, "--overwrite")
    assert result.returncode == 1 and "--train-size must be between 1 and 1348" in result.stderr
    assert snapshot(run) == before


@pytest.mark.parametrize("args", [
    ["--train-size", "100000"], ["--label-noise", "nan"], ["--seed", "-1"], ["--seed", "99999999999"],
    ["--l2", "inf"], ["--learning-rate", "nan"], ["--weight-decay", "-inf"], ["--l2-layers", "conv9"],
    ["--validation", "nan"], ["--batch-size", "99999999999"], ["--dataset", "missing.npz"],
])
def test_failed_validation_creates_nothing(tmp_path, args):
    result = l2board("train", "--dataset", "digits", "--epochs", "1", *args, "--logdir", tmp_path / "a" / "run")
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    assert "Error: " in result.stderr
    assert not (tmp_path / "a").exists()
    result = l2board("experiment", "--dataset", "digits", "--epochs", "1", "--l2", "0", *args,
                     "--logdir", tmp_path / "b")
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists()


REFUSED_BEFORE_TENSORFLOW = """
import sys
from l2board.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    print(stop.code, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize("command", [["train"], ["experiment", "--l2", "0", "--l2", "0.01"]])
def test_offline_data_too_small_for_the_size_asked_is_refused_before_tensorflow_loads(tmp_path, command):
    import sys

    result = run_child([sys.executable, "-c", REFUSED_BEFORE_TENSORFLOW, *command, "--dataset", "digits",
                        "--train-size", "5000", "--logdir", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["1", "False", "False"], result.stdout + result.stderr
    assert "--train-size must be between 1 and 1348 for digits, got 5000." in result.stderr
    assert not (tmp_path / "run").exists()


def test_options_name_themselves_in_errors(tmp_path):
    for args, message in ((["--seed", "-1"], "Invalid value for '--seed'"),
                          (["--l2", "inf"], "Invalid value for '--l2': inf is not a finite number."),
                          (["--learning-rate", "nan"], "Invalid value for '--learning-rate': nan is not a finite"),
                          (["--label-noise", "nan"], "Invalid value for '--label-noise'"),
                          (["--dataset", tmp_path], "Invalid value for '--dataset'"),
                          (["--logdir", ""], "Invalid value for '--logdir': give a folder name")):
        result = l2board("train", "--logdir", tmp_path / "run", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    fifo = tmp_path / "data.npz"
    os.mkfifo(fifo)  # NumPy would wait on it forever
    result = l2board("train", "--dataset", fifo)
    assert result.returncode == 2 and f"'{fifo}' is not a regular file." in result.stderr


def test_experiment_refuses_a_bad_plot_before_training(tmp_path):
    for plot, message in ((tmp_path / "x.gif", "use a .png, .svg or .pdf file name"),
                          (tmp_path / "exp", "it is the experiment's --logdir"),
                          (tmp_path / "elsewhere" / "r.png", "the folder '" + str(tmp_path / "elsewhere")),
                          (tmp_path / "exp" / "no-l2" / "report.png", "is inside the run folder")):
        result = l2board("experiment", "--dataset", "digits", "--l2", "0", "--logdir", tmp_path / "exp",
                         "--plot", plot)
        assert result.returncode in (1, 2) and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "exp").exists()
    # Into LOGDIR itself, which the experiment creates, is fine: the command gets past the plot's check.
    later = l2board("experiment", "--dataset", "digits", "--l2", "0", "--train-size", "100000",
                    "--logdir", tmp_path / "exp", "--plot", tmp_path / "exp" / "mine.svg")
    assert later.returncode == 1 and "--train-size must be between" in later.stderr
    assert not (tmp_path / "exp").exists()
    seeds = l2board("experiment", "--l2", "0", "--seed", str(2**32 - 1), "--seeds", "2", "--logdir", tmp_path / "e")
    assert seeds.returncode == 2 and "Invalid value for '--seeds'" in seeds.stderr


def test_check_creatable_creates_nothing(tmp_path):
    check_creatable(str(tmp_path / "a" / "b" / "c"))
    assert os.listdir(tmp_path) == []
    (tmp_path / "file").write_text("kept")
    with pytest.raises(UnwritableLogDirError, match="Not a directory"):
        check_creatable(str(tmp_path / "file" / "run"))


def test_only_files_named_as_tensorflow_names_event_files_are_ours(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tfevents_summary.csv").write_text("data")
    plan = plan_run_dir(str(notes), overwrite=True)
    assert plan.replace == [] and make_run_dir(plan) == str(notes)
    assert (notes / "tfevents_summary.csv").read_text() == "data"
    run = l2board_run(tmp_path / "run")
    (tmp_path / "run" / "my_tfevents_notes.md").write_text("mine")
    with pytest.raises(L2BoardError, match="also holds my_tfevents_notes.md; nothing was deleted"):
        plan_run_dir(run, overwrite=True)


def test_overwrite_refuses_a_run_that_l2board_did_not_write(tmp_path):
    run = write_run(tmp_path / "keras", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [2.0]})
    before = snapshot(run)
    with pytest.raises(L2BoardError, match=r"--overwrite replaces only runs l2board wrote, but no event file in "
                                           r"'.*keras' holds an l2board record"):
        plan_run_dir(run, overwrite=True)
    assert snapshot(run) == before


def test_overwrite_replaces_a_run_killed_before_it_wrote_anything(tmp_path):
    # What a run killed in its first epoch leaves: writers opened, no record but the file version.
    from l2board.writing.event_writer import EventFileRunWriter

    run = tmp_path / "killed"
    for folder in (run, run / "train", run / "validation"):
        EventFileRunWriter(str(folder)).close()
    # Only where asked (a distributed worker's own run): a live run of another
    # writer looks the same during its first epoch.
    with pytest.raises(L2BoardError, match="holds an l2board record"):
        plan_run_dir(str(run), overwrite=True)
    plan = plan_run_dir(str(run), overwrite=True, replace_empty=True)
    assert len(plan.replace) == 3
    # One scalar of any writer is data: refused, as above.
    write_run(tmp_path / "other", train={"epoch_loss": [1.0]})
    with pytest.raises(L2BoardError, match="holds an l2board record"):
        plan_run_dir(str(tmp_path / "other"), overwrite=True, replace_empty=True)


def test_a_folder_inside_a_run_is_never_written(tmp_path):
    from l2board.training.experiment import plan_experiment
    from l2board.training.runs import TrainingConfig

    run = l2board_run(tmp_path / "run")
    for inside in ("validation", "train", "sub/deeper"):
        with pytest.raises(L2BoardError, match=f"'{run}/{inside}' is inside the run '{run}'; choose a --logdir "
                                               "outside it"):
            plan_run_dir(f"{run}/{inside}", overwrite=True)
    with pytest.raises(L2BoardError, match="is inside the run"):
        plan_experiment([("no-l2", TrainingConfig(l2=0))], run)  # an experiment's runs would hide this one
    result = l2board("demo", "--logdir", run, "--epochs", "1")
    assert result.returncode == 1 and result.stdout == "" and "is inside the run" in result.stderr


def test_names_tensorflow_cannot_take_are_refused_before_anything_is_made(tmp_path):
    undecodable = os.path.join(os.fsencode(tmp_path), b"z\xff")
    result = run_child([installed_script("l2board"), "train", "--dataset", "digits", "--logdir", undecodable],
                       capture_output=True, timeout=120)
    assert result.returncode == 2 and b"is not valid UTF-8" in result.stderr
    too_long = tmp_path / "newA" / ("x" * 300)
    with pytest.raises(UnwritableLogDirError, match="File name too long"):
        check_creatable(str(too_long))
    result = l2board("train", "--dataset", "digits", "--logdir", too_long)
    assert result.returncode == 1 and "File name too long" in result.stderr
    assert os.listdir(tmp_path) == []


def test_demo_refuses_an_existing_demo_at_once_and_offers_its_overwrite(tmp_path):
    l2board_run(tmp_path / "demo" / "no-l2")
    result = l2board("demo", "--logdir", tmp_path / "demo", "--epochs", "1")
    assert result.returncode == 1 and result.stdout == ""  # before the story and before TensorFlow
    assert "pass --overwrite to replace it" in result.stderr
    assert "--overwrite" in l2board("demo", "--help").stdout
