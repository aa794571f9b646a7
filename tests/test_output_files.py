"""Outputs are written whole or not at all, beside their target, then renamed into place."""

import os

import pytest
from conftest import run_child

from l2board.errors import L2BoardError
from l2board.output_files import atomic_output, check_outside_runs


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("old report")
    with pytest.raises(UnicodeEncodeError):
        with atomic_output(target, "the report") as handle:
            handle.write("half of the new report, then a name that cannot be encoded: \udcff")
    assert target.read_text() == "old report"
    assert os.listdir(tmp_path) == ["report.txt"]


def test_interrupt_mid_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old plot")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(target, "the plot", binary=True) as handle:
            handle.write(b"new")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old plot" and os.listdir(tmp_path) == ["plot.png"]


def test_replacing_keeps_permissions_and_links(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with atomic_output(link, "the report") as handle:
        handle.write("new")
    assert link.is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o640
    with atomic_output(tmp_path / "fresh.txt", "the report") as handle:
        handle.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "fresh.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_an_unwritable_place_is_one_sentence(tmp_path):
    (tmp_path / "file").write_text("kept")
    with pytest.raises(L2BoardError, match=r"^Cannot write the report to '.*file/x.txt': Not a directory\.$"):
        with atomic_output(tmp_path / "file" / "x.txt", "the report") as handle:
            handle.write("never")
    assert (tmp_path / "file").read_text() == "kept"


def test_outputs_inside_a_run_are_refused_through_links_too(tmp_path):
    run = tmp_path / "run"
    (run / "train").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(run)
    check_outside_runs(str(tmp_path / "report.txt"), "-o", [str(run)])
    check_outside_runs(str(tmp_path / "run2" / "x.txt"), "-o", [str(run)])  # a name that only starts alike
    with pytest.raises(L2BoardError, match="is inside the run folder"):
        check_outside_runs(str(tmp_path / "alias" / "train" / "x.png"), "--plot", [str(run)])


def test_streams_and_fifos_are_written_in_place_never_replaced(tmp_path):
    import sys
    import threading

    log = tmp_path / "build.log"
    log.write_text("earlier lines\n")
    code = ("from l2board.output_files import atomic_output\n"
            "with atomic_output('/dev/stderr', 'the report') as handle:\n    handle.write('the report\\n')\n")
    with open(log, "a") as stderr:  # as `l2board compare ... -o /dev/stderr 2>>build.log`
        run_child([sys.executable, "-c", code], stderr=stderr, check=True, timeout=60)
    assert log.read_text() == "earlier lines\nthe report\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with atomic_output(fifo, "the report") as handle:
        handle.write("through the pipe")
    reader.join(timeout=60)
    assert received == ["through the pipe"] and fifo.is_fifo()


def test_a_name_as_long_as_names_can_be_is_written(tmp_path):
    target = tmp_path / ("r" * 250 + ".txt")
    with atomic_output(target, "the report") as handle:
        handle.write("x")
    assert target.read_text() == "x" and os.listdir(tmp_path) == [target.name]
