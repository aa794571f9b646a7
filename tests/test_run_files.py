"""What lies in a run folder besides event files: FIFOs, folders, links, folders that cannot be listed."""

import contextlib
import os
import shutil
import signal
import sys
import time

import pytest
from conftest import refusal, run_child, write_run

from l2board.rendering.wording import file_note_sentence
from l2board.analysis.comparison import compare_runs
from l2board.errors import L2BoardError
from l2board.reading.event_files import FileDamage, iter_records
from l2board.reading.logs import SkippedFile, UnlistedFolder, find_runs, read_run, read_runs

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def fails_instead_of_hanging(seconds=30):
    """Turns a hang (an open() waiting on a FIFO for a writer) into a test failure."""
    def hung(signum, frame):
        raise AssertionError(f"still waiting after {seconds} s: it hangs")

    previous_handler = signal.signal(signal.SIGALRM, hung)
    started = time.monotonic()
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_timer[0]:  # pytest-timeout's own alarm, say: give it back what is left
            left = max(previous_timer[0] - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, previous_timer[1])


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run", train={"epoch_loss": [3.0, 2.0]}, validation={"epoch_loss": [3.5, 2.5]})


def test_the_lowest_level_never_waits_on_a_fifo_and_reads_no_folder(tmp_path):
    fifo = tmp_path / "events.out.tfevents.fifo"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "named pipe (FIFO)"), (tmp_path, "folder")):
        damage = FileDamage(str(path))
        with fails_instead_of_hanging():
            assert list(iter_records(str(path), damage)) == []
        assert damage.unreadable == f"not a regular file but a {kind}"


def test_fifos_folders_and_links_to_them_named_like_event_files_are_skipped_with_a_note(run):
    train = os.path.join(run, "train")
    os.mkfifo(os.path.join(train, "events.out.tfevents.1.fifo"))
    os.mkdir(os.path.join(train, "events.out.tfevents.2.folder"))
    os.symlink(train, os.path.join(train, "events.out.tfevents.3.link_to_a_folder"))
    os.symlink(os.path.join(run, "nowhere"), os.path.join(train, "events.out.tfevents.4.broken_link"))
    with fails_instead_of_hanging():
        comparison = compare_runs(read_runs([run]))
    (report,) = comparison.runs
    assert report.epochs == 2
    assert [file_note_sentence(note) for note in comparison.file_notes] == [
        f"Could not read {train}/events.out.tfevents.4.broken_link: No such file or directory; its run is "
        "reported without it.",
        f"Skipped {train}/events.out.tfevents.1.fifo: it is named like an event file but is a named pipe (FIFO), "
        "not a regular file.",
        f"Skipped {train}/events.out.tfevents.2.folder: it is named like an event file but is a folder, "
        "not a regular file.",
        f"Skipped {train}/events.out.tfevents.3.link_to_a_folder: it is named like an event file but is a "
        "folder, not a regular file.",
    ]


def test_a_run_of_fifos_alone_is_found_and_said_to_be_unreadable(tmp_path):
    os.makedirs(tmp_path / "run" / "validation")
    os.mkfifo(tmp_path / "run" / "validation" / "events.out.tfevents.1.v2")
    with fails_instead_of_hanging():
        runs = read_runs([tmp_path / "run"])
    assert runs[0].skipped == [SkippedFile(str(tmp_path / "run" / "validation" / "events.out.tfevents.1.v2"),
                                           "named pipe (FIFO)")]
    assert refusal(runs) == ("Run 'run' has no readable validation values: validation/events.out.tfevents.1.v2 is a "
                             "named pipe (FIFO), not a regular file.")


def test_a_path_that_is_neither_a_folder_nor_a_regular_file_is_one_sentence(tmp_path):
    fifo = tmp_path / "events.out.tfevents.1.v2"
    os.mkfifo(fifo)
    with fails_instead_of_hanging(), pytest.raises(L2BoardError) as raised:
        find_runs([fifo])
    assert str(raised.value) == f"'{fifo}' is a named pipe (FIFO), not a log folder or a TensorBoard event file."
    with pytest.raises(L2BoardError, match=r"^'/dev/null' is a character device, not a log folder"):
        find_runs(["/dev/null"])


def test_a_folder_of_a_run_that_cannot_be_listed_is_named(run):
    # A link that loops cannot be listed, even by root.
    validation = os.path.join(run, "validation")
    shutil.rmtree(validation)
    os.symlink(validation, validation)
    (log,) = read_runs([run])
    assert log.skipped == [UnlistedFolder(validation, "Too many levels of symbolic links")]
    # Once "has no validation values; train it with validation data".
    assert refusal([log]) == ("Run 'run' has no readable validation values: validation could not be listed "
                                 "(Too many levels of symbolic links).")
    # A link to validation data that is gone (an unmounted disk, say) is named too.
    os.remove(validation)
    os.symlink(os.path.join(run, "unmounted", "validation"), validation)
    (log,) = read_runs([run])
    assert log.skipped == [UnlistedFolder(validation, "No such file or directory")]


def without_root_privileges(code):
    """Runs Python code in a process that permissions apply to, even when the tests run as root."""
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root reads any folder, and setpriv (util-linux) is not there to drop that right")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search",
                   "--inh-caps=-dac_override,-dac_read_search", *command]
    return run_child(command, capture_output=True, text=True, cwd=REPOSITORY, timeout=120)


def test_folders_that_cannot_be_searched_are_noted_or_named(tmp_path):
    write_run(tmp_path / "exp" / "a", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [1.5]})
    write_run(tmp_path / "exp" / "b", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [1.5]})
    write_run(tmp_path / "locked", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [1.5]})
    os.chmod(tmp_path / "exp" / "b", 0)
    os.chmod(tmp_path / "locked", 0)
    code = (
        "from l2board.reading.logs import read_runs\n"
        "from l2board.analysis.comparison import compare_runs\n"
        "from l2board.errors import L2BoardError\n"
        f"comparison = compare_runs(read_runs([{str(tmp_path / 'exp')!r}]))\n"
        "print([r.name for r in comparison.runs])\n"
        "from l2board.rendering.wording import file_note_sentence\n"
        "print([file_note_sentence(note) for note in comparison.file_notes])\n"
        "try:\n"
        f"    read_runs([{str(tmp_path / 'locked')!r}])\n"
        "except L2BoardError as error:\n"
        "    print(error)\n")
    try:
        result = without_root_privileges(code)
    finally:
        os.chmod(tmp_path / "exp" / "b", 0o755)
        os.chmod(tmp_path / "locked", 0o755)
    assert result.returncode == 0, result.stderr
    names, warnings, error = result.stdout.splitlines()
    # Once run 'b' was left out without a word, and 'locked' had "no TensorBoard event files".
    assert names == "['a']"
    assert warnings == str([f"Could not look inside {tmp_path / 'exp' / 'b'}: Permission denied; what it holds "
                            "is left out."])
    assert error == f"Could not look inside '{tmp_path / 'locked'}': Permission denied."


def test_runs_behind_links_are_found_once(tmp_path):
    write_run(tmp_path / "store" / "a", train={"epoch_loss": [1.0]}, validation={"epoch_loss": [1.5]})
    os.makedirs(tmp_path / "exp")
    os.symlink(tmp_path / "store" / "a", tmp_path / "exp" / "a")
    os.symlink(tmp_path / "store" / "a", tmp_path / "exp" / "same_a")
    os.symlink(tmp_path / "exp", tmp_path / "exp" / "loop")
    # Once: "No TensorBoard event files", the linked run not being followed.
    assert find_runs([tmp_path / "exp"]) == [("a", str(tmp_path / "exp" / "a"))]
    assert read_run(tmp_path / "exp" / "a").scalar("train", "epoch_loss").values.tolist() == [1.0]
