"""The parse cache (`l2board.reading.parse_cache`): real event files, written by l2board's own writer."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_child, start_child

from l2board.log_format import tags
from l2board.reading import event_records, parse_cache
from l2board.reading.logs import read_runs
from l2board.writing.event_writer import EventFileRunWriter
from l2board.writing.histograms import histogram_buckets


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own, the cache on, the counters at zero; returns the cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    monkeypatch.delenv("L2BOARD_CACHE", raising=False)
    monkeypatch.delenv("L2BOARD_CACHE_MAX_MB", raising=False)
    for name in parse_cache.stats:
        monkeypatch.setitem(parse_cache.stats, name, 0)
    return tmp_path / "cache-home" / "l2board"


class Run:
    """One run written as L2Monitor lays it out, its writers kept open so that it can grow."""

    def __init__(self, folder):
        self.folder = str(folder)
        self.writers = {sub: EventFileRunWriter(os.path.join(self.folder, sub)) for sub in ("train", "validation")}
        self.writers["train"].text({tags.SETUP_TEXT: "L2 0.01 on conv1 — ünïcode"}, 0)
        self.epochs = 0

    def write(self, epochs):
        for epoch in range(self.epochs, self.epochs + epochs):
            self.writers["train"].scalars({"epoch_loss": 1.0 / (epoch + 1), "epoch_accuracy": epoch / 10,
                                           tags.DATA_LOSS: 0.9 / (epoch + 1), "weight_norm/l2/conv1/kernel": 3.0},
                                          epoch)
            self.writers["train"].histograms({"weight_histogram/conv1/kernel": histogram_buckets(
                np.linspace(-1, 1, 50) * (epoch + 1))}, epoch)
            self.writers["validation"].scalars({"epoch_loss": 1.2 / (epoch + 1), "epoch_accuracy": epoch / 12,
                                                tags.DATA_LOSS: 1.1 / (epoch + 1)}, epoch)
        self.epochs += epochs
        for writer in self.writers.values():
            writer.flush()
        return self

    def close(self):
        for writer in self.writers.values():
            writer.close()


def snapshot(runs):
    """Everything a `RunLogs` holds, as comparable plain data (arrays with their dtypes)."""
    return [{
        "name": run.name, "path": run.path,
        "scalars": {key: (series.steps.dtype.str, series.steps.tolist(), series.values.dtype.str,
                          series.values.tolist()) for key, series in sorted(run.scalars.items())},
        "texts": run.texts, "other_tags": run.other_tags, "event_files": run.event_files,
        "notes": [note.describe() for note in run.notes()], "folders": run.folders, "flat": run.flat,
    } for run in runs]


def entries(cache):
    return sorted(p for p in cache.rglob("*.l2c"))


def test_a_second_read_is_served_by_the_cache_and_equals_the_first(tmp_path, cache, monkeypatch):
    Run(tmp_path / "logs" / "l2-seed0").write(5).close()
    first = snapshot(read_runs([str(tmp_path / "logs")]))
    assert parse_cache.stats["stores"] == 2 and parse_cache.stats["hits"] == 0
    assert len(entries(cache)) == 2

    def parsing_forbidden(*args):
        raise AssertionError("an event file was parsed again")

    monkeypatch.setattr(event_records, "iter_records", parsing_forbidden)
    second = snapshot(read_runs([str(tmp_path / "logs")]))
    assert parse_cache.stats["hits"] == 2
    assert second == first
    assert len(first[0]["scalars"][("train", "epoch_loss")][1]) == 5
    assert first[0]["other_tags"] == {("train", "weight_histogram/conv1/kernel"): "histograms"}


def test_damage_notes_round_trip(tmp_path, cache, monkeypatch):
    run = Run(tmp_path / "logs" / "run").write(6)
    run.close()
    path = run.writers["train"].file_path
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF  # one damaged record
    with open(path, "wb") as handle:
        handle.write(bytes(data[:-7]))  # and a cut-off last record
    first = snapshot(read_runs([str(tmp_path / "logs")]))
    assert any("damaged record" in note and "cut off" in note for note in first[0]["notes"])
    monkeypatch.setattr(event_records, "iter_records", None)  # a parse would fail
    assert snapshot(read_runs([str(tmp_path / "logs")])) == first
    assert parse_cache.stats["hits"] == 2


def test_a_growing_file_is_read_again_and_its_new_points_appear(tmp_path, cache):
    run = Run(tmp_path / "logs" / "run").write(3)
    assert len(read_runs([str(tmp_path / "logs")])[0].scalar("validation", "epoch_loss")) == 3
    run.write(2)  # the same event files grow, as while training
    series = read_runs([str(tmp_path / "logs")])[0].scalar("validation", "epoch_loss")
    run.close()
    assert series.steps.tolist() == [0, 1, 2, 3, 4]
    assert series.values[-1] == pytest.approx(1.2 / 5)
    assert parse_cache.stats["stores"] == 4 and parse_cache.stats["hits"] == 0
    assert len(entries(cache)) == 2  # one entry per file, replaced


@pytest.mark.parametrize("damage", ["flipped byte", "cut short", "empty", "garbage", "other file's entry"])
def test_a_damaged_cache_entry_is_ignored_and_rewritten(tmp_path, cache, damage):
    Run(tmp_path / "logs" / "run").write(4).close()
    first = snapshot(read_runs([str(tmp_path / "logs")]))
    stored = entries(cache)
    contents = [entry.read_bytes() for entry in stored]
    for index, entry in enumerate(stored):
        data = bytearray(contents[index])
        if damage == "flipped byte":
            data[-3] ^= 0x10  # a value's bit: only the checksum sees it
        elif damage == "cut short":
            data = data[:len(data) // 2]
        elif damage == "empty":
            data = b""
        elif damage == "garbage":
            data = os.urandom(len(data))
        else:
            data = contents[1 - index]  # the two files' entries swapped: each is whole, but of the other file
        entry.write_bytes(bytes(data))
    assert snapshot(read_runs([str(tmp_path / "logs")])) == first
    assert parse_cache.stats["hits"] == 0 and parse_cache.stats["ignored"] == 2
    assert snapshot(read_runs([str(tmp_path / "logs")])) == first
    assert parse_cache.stats["hits"] == 2  # rewritten by the read that ignored them


def test_the_cache_never_writes_inside_the_log_folder(tmp_path, cache):
    Run(tmp_path / "logs" / "run").write(3).close()

    def listing():
        return sorted((str(p.relative_to(tmp_path / "logs")), p.stat().st_size, p.stat().st_mtime_ns)
                      for p in (tmp_path / "logs").rglob("*"))

    before = listing()
    read_runs([str(tmp_path / "logs")])
    read_runs([str(tmp_path / "logs")])
    assert listing() == before
    assert parse_cache.stats["stores"] == 2 and parse_cache.stats["hits"] == 2
    assert all(str(entry).startswith(str(cache) + os.sep) for entry in entries(cache))


def test_the_cache_lives_in_the_xdg_cache_folder_or_home(monkeypatch, tmp_path):
    monkeypatch.delenv("L2BOARD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert parse_cache.cache_root() == os.path.join(str(tmp_path), "l2board")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/folder")  # not absolute: ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert parse_cache.cache_root() == os.path.join(str(tmp_path), "home", ".cache", "l2board")
    assert parse_cache.file_key("gs://bucket/run/events.out.tfevents.1") is None


@pytest.mark.parametrize("switch", ["off", "0", "false", "OFF"])
def test_l2board_cache_off_reads_fresh_and_writes_nothing(tmp_path, cache, monkeypatch, switch):
    Run(tmp_path / "logs" / "run").write(3).close()
    first = snapshot(read_runs([str(tmp_path / "logs")]))  # cached
    monkeypatch.setenv("L2BOARD_CACHE", switch)
    calls = []
    real = event_records.iter_records
    monkeypatch.setattr(event_records, "iter_records", lambda *a: calls.append(a) or real(*a))
    assert snapshot(read_runs([str(tmp_path / "logs")])) == first
    assert len(calls) == 2 and parse_cache.stats["hits"] == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another"))
    read_runs([str(tmp_path / "logs")])
    assert not (tmp_path / "another").exists()


def test_a_new_reader_never_reads_an_older_entry(tmp_path, cache, monkeypatch):
    Run(tmp_path / "logs" / "run").write(3).close()
    first = snapshot(read_runs([str(tmp_path / "logs")]))
    monkeypatch.setattr(parse_cache, "_fingerprint", "l2board 99.0 reads differently")
    assert snapshot(read_runs([str(tmp_path / "logs")])) == first
    assert parse_cache.stats["hits"] == 0 and parse_cache.stats["stores"] == 4


def test_pruning_keeps_the_cache_under_its_cap(tmp_path, cache, monkeypatch):
    for k in range(4):
        Run(tmp_path / "logs" / f"run{k}").write(3).close()
    read_runs([str(tmp_path / "logs")])
    stored = entries(cache)
    assert len(stored) == 8
    size = sum(p.stat().st_size for p in stored)
    for age, entry in enumerate(stored):  # the first listed is the least recently used
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))
    (stored[0].parent / ".tmp-left-by-a-killed-process.l2c").write_bytes(b"x")
    os.utime(stored[0].parent / ".tmp-left-by-a-killed-process.l2c", (1_000_000, 1_000_000))
    deleted = parse_cache.prune(limit=size // 2)
    left = entries(cache)
    assert sum(p.stat().st_size for p in left) <= size // 2 * 0.8
    assert left == stored[len(stored) - len(left):]  # the most recently used are kept
    assert deleted == len(stored) - len(left) + 1
    assert parse_cache.prune(limit=size) == 0


_READER = """
import json, sys
from l2board.reading import parse_cache
from l2board.reading.logs import read_runs
for _ in range(int(sys.argv[2])):
    runs = read_runs([sys.argv[1]])
print(json.dumps({"stats": parse_cache.stats, "points": {run.name: {f"{k[0]}/{k[1]}": s.values.tolist()
                  for k, s in run.scalars.items()} for run in runs}}, sort_keys=True))
"""


def test_concurrent_processes_share_the_cache_without_corrupting_it(tmp_path, cache):
    for k in range(6):
        Run(tmp_path / "logs" / f"run{k}").write(20).close()
    env = {"XDG_CACHE_HOME": str(cache.parent)}
    # Two processes read the same files at once: both miss, both write every entry.
    readers = [start_child([sys.executable, "-c", _READER, str(tmp_path / "logs"), "3"], env=env,
                           stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [json.loads(reader.communicate(timeout=120)[0]) for reader in readers]
    assert all(reader.returncode == 0 for reader in readers)
    assert outputs[0]["points"] == outputs[1]["points"]
    assert not list(cache.rglob(".tmp-*"))
    after = json.loads(run_child([sys.executable, "-c", _READER, str(tmp_path / "logs"), "1"], env=env,
                                 stdout=subprocess.PIPE, text=True, check=True).stdout)
    assert after["points"] == outputs[0]["points"]
    assert after["stats"]["hits"] == 12 and after["stats"]["ignored"] == 0
