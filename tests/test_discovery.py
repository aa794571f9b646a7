"""Finding runs (`reading/discovery.py`): every way a user names them, each run once, which folders make
one run, names relative to the folders holding them, the order a run's files were written, and bad paths
as one sentence. Logs are written with a real writer (tf.summary through `write_run`)."""

import os

import pytest
from conftest import write_run

from l2board.errors import L2BoardError
from l2board.reading.discovery import file_order, find_run_folders, find_runs, listing, members_of, name_runs
from l2board.reading.run_model import SkippedFile


def test_find_runs_in_every_way_a_user_names_them(runs_root):
    exp = runs_root / "exp"
    assert find_runs([exp]) == [("l2", str(exp / "l2")), ("no_l2", str(exp / "no_l2"))]
    assert find_runs([exp / "no_l2"]) == [("no_l2", str(exp / "no_l2"))]
    assert [n for n, _ in find_runs([exp / "no_l2", exp / "l2"])] == ["no_l2", "l2"]
    assert [n for n, _ in find_runs([str(exp / "*")])] == ["l2", "no_l2"]  # a glob the shell left alone
    event_file = next((exp / "l2" / "train").glob("events.out.tfevents.*"))
    assert find_runs([event_file]) == [("l2", str(exp / "l2"))]
    assert len(find_runs([exp, exp / "l2"])) == 2  # each run once


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "No such file or folder: '.*missing'"),
    (lambda root: root / "nothing*", "No file or folder matches"),
    (lambda root: (root / "empty").mkdir() or root / "empty", "No TensorBoard event files in '.*empty'"),
    (lambda root: (root / "notes.txt").write_text("hi") and root / "notes.txt", "neither a log folder nor"),
])
def test_bad_paths_are_one_sentence(tmp_path, make, message):
    with pytest.raises(L2BoardError, match=message):
        find_runs([make(tmp_path)])


def test_a_run_is_its_folders_by_the_layouts_rule(tmp_path):
    # Keras's train/ and validation/; torch's Loss_train/ + Loss_val/ siblings; a folder with files of its own.
    write_run(tmp_path / "keras", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [1.1]})
    for member in ("Loss_train", "Loss_val"):
        write_run(tmp_path / "torch" / member / "x", train={"epoch_loss": [1.0]})
        (tmp_path / "torch" / member / "x" / "train").rename(tmp_path / "torch" / member / "tmp")
        (tmp_path / "torch" / member / "x").rmdir()
        for event_file in (tmp_path / "torch" / member / "tmp").iterdir():
            event_file.rename(tmp_path / "torch" / member / event_file.name)
        (tmp_path / "torch" / member / "tmp").rmdir()
    found = {name: members for name, _, members in find_run_folders([tmp_path])}
    assert found == {"keras": ["train", "validation"], "torch": ["Loss_train", "Loss_val"]}
    assert members_of(str(tmp_path / "keras")) == ["train", "validation"]


def test_runs_are_named_by_their_paths_below_the_folder_holding_them_all(tmp_path):
    assert name_runs([]) == []
    assert name_runs([(str(tmp_path / "a" / "run"), [""])]) == [("run", str(tmp_path / "a" / "run"), [""])]
    assert [name for name, _, _ in name_runs([(str(tmp_path / "a" / "x"), [""]), (str(tmp_path / "b" / "y"), [""])])] \
        == [os.path.join("a", "x"), os.path.join("b", "y")]


def test_the_same_run_named_twice_or_through_a_link_is_one_run(runs_root, tmp_path):
    exp = runs_root / "exp"
    os.symlink(exp / "l2", tmp_path / "link")
    assert [folder for _, folder in find_runs([exp / "l2", tmp_path / "link", exp / "l2" / "train"])] == \
        [str(exp / "l2")]


def test_a_fifo_named_like_an_event_file_is_listed_as_skipped_never_opened(tmp_path):
    write_run(tmp_path, train={"epoch_loss": [1.0]})
    fifo = tmp_path / "train" / "events.out.tfevents.1.host.2.0.v2"
    os.mkfifo(fifo)
    paths, skipped, reason = listing(str(tmp_path / "train"))
    assert len(paths) == 1 and str(fifo) not in paths and reason is None
    assert skipped == [SkippedFile(str(fifo), "named pipe (FIFO)")]
    assert listing(str(tmp_path / "nowhere")) == ([], [], None)  # a folder that is not there is no trouble


def test_files_are_ordered_as_created_not_as_named():
    # One process resuming epoch by epoch in one second: its writers' counter orders them, as a number.
    names = [f"events.out.tfevents.1795765158.vm.16550.{n}.v2" for n in (11, 5, 2, 10)]
    assert [n.split(".")[-2] for n in sorted(names, key=lambda n: file_order(n, None))] == ["2", "5", "10", "11"]
    # Two processes in one second: the wall time of the first event decides, not the pid.
    later, earlier = "events.out.tfevents.1700000000.vm.12.0.v2", "events.out.tfevents.1700000000.vm.95.0.v2"
    assert sorted([later, earlier], key=lambda n: file_order(n, 1700000000.8 if n == later else 1700000000.1)) == \
        [earlier, later]
    # The second comes first, even when a file's first records are lost.
    assert sorted(["events.out.tfevents.1700000001.vm.1.0.v2", "events.out.tfevents.1700000000.vm.9.0.v2"],
                  key=lambda n: file_order(n, None))[0].startswith("events.out.tfevents.1700000000")
