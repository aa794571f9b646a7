"""The parse cache (`l2board.reading.parse_cache`): real event files, written by l2board's own writer."""

import json
import math
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import installed_script, run_child, said, start_child

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
        "notes": [said(note) for note in run.notes()], "folders": run.folders, "flat": run.flat,
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


def test_a_read_larger_than_the_cap_keeps_its_first_entries_every_time(tmp_path, cache, monkeypatch):
    # Least recently used is a cyclic read's worst case: each read would evict what the next one needs first.
    for k in range(2):
        Run(tmp_path / "other" / f"run{k}").write(3).close()
    read_runs([str(tmp_path / "other")])
    others = entries(cache)
    for entry in others:
        os.utime(entry, (1_000_000, 1_000_000))
    for k in range(4):
        Run(tmp_path / "logs" / f"run{k}").write(3).close()
    read_runs([str(tmp_path / "logs")])
    mine = {k: [pathlib.Path(parse_cache.entry_path(str(cache), str(path)))
                for path in (tmp_path / "logs" / f"run{k}").rglob("events.out.tfevents.*")] for k in range(4)}
    assert set(entries(cache)) == set(others) | {entry for run in mine.values() for entry in run}
    mine = [entry for k in range(4) for entry in mine[k]]
    mine_bytes = sum(p.stat().st_size for p in mine)
    # A read within the cap, the cache over it: the others go, the read's entries all stay, nothing is said.
    monkeypatch.setenv("L2BOARD_CACHE_MAX_MB", repr(mine_bytes * 1.1 / 2**20))
    mine[0].unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_runs([str(tmp_path / "logs")])
    assert set(mine) <= set(entries(cache)) and set(others) - set(entries(cache))
    cap = mine_bytes * 0.7
    monkeypatch.setenv("L2BOARD_CACHE_MAX_MB", repr(cap / 2**20))
    for entry in mine:  # this read's entries are what the cap must cut
        entry.unlink()
    with pytest.warns(parse_cache.CacheWarning, match=r"holds part of these runs only: .* set L2BOARD_CACHE_MAX_MB="):
        read_runs([str(tmp_path / "logs")])
    kept = entries(cache)
    assert not set(kept) & set(others)  # the entries of other reads go first
    assert sum(p.stat().st_size for p in kept) <= cap and 0 < len(kept) < 8
    assert set(mine[:2]) <= set(kept) and not set(mine[-2:]) & set(kept)  # the first run's kept, the last's not
    for _ in range(2):  # and read from the cache each time, the others parsed again
        monkeypatch.setitem(parse_cache.stats, "hits", 0)
        with pytest.warns(parse_cache.CacheWarning):
            read_runs([str(tmp_path / "logs")])
        assert parse_cache.stats["hits"] == len(kept)
        assert entries(cache) == kept


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


# -- entries written by someone else -----------------------------------------------------------------------------

def craft(entry, header_change=None, values_change=None):
    """Rewrites a cache entry as someone who read parse_cache.py would: changed, with a valid checksum again."""
    import struct
    import zlib

    data = entry.read_bytes()
    preamble = struct.Struct("<8sIQI")
    magic, version, _, _ = preamble.unpack_from(data, 0)
    body = data[preamble.size:]
    (text_length,) = struct.unpack_from("<I", body, 0)
    header = json.loads(body[4:4 + text_length])
    points = sum(count for _, count in header["tags"])
    steps = np.frombuffer(body, "<i8", points, 4 + text_length)
    values = np.frombuffer(body, "<f8", points, 4 + text_length + 8 * points).copy()
    if values_change:
        values_change(header, values)
    if header_change:
        header = header_change(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(4 + len(text)) % 8)
    body = struct.pack("<I", len(text)) + text + steps.tobytes() + values.tobytes()
    entry.write_bytes(preamble.pack(magic, version, len(body), zlib.crc32(body)) + body)


def invent_accuracy(header, values):
    """Sets every epoch_accuracy point of an entry to 0.99."""
    position = 0
    for tag, count in header["tags"]:
        if tag == "epoch_accuracy":
            values[position:position + count] = 0.99
        position += count


def compare_json(logs, env=None):
    result = run_child([installed_script("l2board"), "compare", str(logs), "--format", "json"], capture_output=True,
                       text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.mark.parametrize("change", [
    lambda h: dict(h, first_wall_time="yesterday"),
    lambda h: dict(h, tags=[[tag, str(count)] for tag, count in h["tags"]]),
    lambda h: dict(h, tags=h["tags"] + h["tags"][:1]),
    lambda h: dict(h, texts=[[tag, [[str(step), text] for step, text in points]] for tag, points in h["texts"]]),
    lambda h: dict(h, other_tags=[[tag, 7] for tag, _ in h["other_tags"]] or [["x", 7]]),
    lambda h: dict(h, damage={"bad_records": "many"}),
    lambda h: dict(h, damage=dict(h["damage"] or {}, truncated="yes")),
    lambda h: dict(h, digest=str(h["digest"])),
    lambda h: [h],
], ids=["wall time a string", "a count a string", "a tag twice", "a step a string", "a plugin a number",
        "damage without fields", "a flag a string", "the digest a string", "a list"])
def test_an_entry_with_a_valid_checksum_but_a_wrong_type_is_ignored(tmp_path, cache, change):
    Run(tmp_path / "logs" / "run").write(4).close()
    first = snapshot(read_runs([str(tmp_path / "logs")]))
    changed = 0
    for entry in entries(cache):
        before = entry.read_bytes()
        craft(entry, header_change=change)
        changed += entry.read_bytes() != before
    assert changed  # the validation file has no texts: its entry may stay as it was
    assert snapshot(read_runs([str(tmp_path / "logs")])) == first
    assert parse_cache.stats["ignored"] == changed and parse_cache.stats["hits"] == 2 - changed


def test_an_entry_stands_for_the_bytes_it_was_parsed_from(tmp_path, cache):
    import google_crc32c

    run = Run(tmp_path / "logs" / "run").write(4)
    run.close()
    first = snapshot(read_runs([str(tmp_path / "logs")]))
    path = run.writers["validation"].file_path
    original = open(path, "rb").read()
    # The same bytes digest as the entry says: served by the cache.
    assert parse_cache.content_digest(path) == google_crc32c.value(original)
    assert snapshot(read_runs([str(tmp_path / "logs")])) == first and parse_cache.stats["hits"] == 2
    # Bytes changed under the same size and times (a file system with coarse times, a clock set back):
    # the entry no longer stands for them, and the file is parsed again.
    info = os.stat(path)
    changed = bytearray(original)
    changed[-3] ^= 0x01  # inside the last record's footer: the reader now reports it damaged
    with open(path, "r+b") as handle:
        handle.write(bytes(changed))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    key = parse_cache.file_key(path)
    entry = parse_cache.entry_path(str(cache), key[0])
    craft(pathlib.Path(entry), header_change=lambda h: dict(h, key=key))  # the entry's key made to match
    assert parse_cache.load(path, "validation", key, str(cache)) is None
    assert snapshot(read_runs([str(tmp_path / "logs")])) != first


@pytest.mark.parametrize("how", ["others may write", "entry folder others may write", "owned by someone else",
                                 "an entry of someone else"])
def test_entries_someone_else_could_have_written_change_no_report(tmp_path, cache, how):
    """The issue's attack: invented numbers under the right key, checksum and digest, by someone else."""
    Run(tmp_path / "logs" / "run").write(4).close()
    env = {"XDG_CACHE_HOME": str(cache.parent)}
    first, _ = compare_json(tmp_path / "logs", env)  # parses, fills the cache
    for entry in entries(cache)[:1] if how == "an entry of someone else" else entries(cache):
        craft(entry, values_change=invent_accuracy)
    if how == "others may write":
        os.chmod(cache, 0o777)
        culprit = f"others may write to '{cache}' (mode 777)"
    elif how == "entry folder others may write":
        os.chmod(cache / "parsed-v1", 0o775)
        culprit = f"others may write to '{cache / 'parsed-v1'}' (mode 775)"
    else:
        if os.geteuid() != 0:
            pytest.skip("only root can give a folder or file to another user")
        target = cache if how == "owned by someone else" else entries(cache)[0]
        os.chown(target, 65534, 65534)
        culprit = f"'{cache}' is owned by user 65534, not by you (user 0)"
    before = {entry: (entry.read_bytes(), entry.stat().st_mtime_ns) for entry in entries(cache)}
    again, stderr = compare_json(tmp_path / "logs", env)
    assert again == first and 0.99 not in [run["final_train_metric"] for run in again["runs"]]
    if how == "an entry of someone else":
        assert stderr == ""  # the folder is the user's: only that entry is ignored (and written anew)
        return
    assert stderr == (f"Warning: l2board's parse cache '{cache}' is not used: {culprit}; make it yours alone "
                      f"(chmod 700, owned by you) or set L2BOARD_CACHE=off.\n")
    assert {entry: (entry.read_bytes(), entry.stat().st_mtime_ns) for entry in entries(cache)} == before


@pytest.mark.parametrize("value, cap", [("inf", math.inf), ("1e400", math.inf), ("0.5", 1 << 19), ("0", 0),
                                        (" 2048 ", 2048 << 20)])
def test_the_size_cap_takes_any_number_of_megabytes_and_inf_for_none(monkeypatch, value, cap):
    monkeypatch.setenv("L2BOARD_CACHE_MAX_MB", value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_cache.max_bytes() == cap


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-5", "lots"])
def test_a_size_cap_compare_cannot_use_is_one_warning_never_a_traceback(tmp_path, value):
    Run(tmp_path / "logs" / "run").write(3).close()
    result = run_child([installed_script("l2board"), "compare", str(tmp_path / "logs"), "--format", "csv"],
                       capture_output=True, text=True, timeout=120,
                       env={"XDG_CACHE_HOME": str(tmp_path / "cache-home"), "L2BOARD_CACHE_MAX_MB": value})
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "cache-home").rglob("*.l2c"))) == 2  # stored, then pruned to the cap
    if value in ("inf", "1e400"):
        assert result.stderr == ""
    else:
        assert result.stderr == (f"Warning: L2BOARD_CACHE_MAX_MB is '{value}', not a number of megabytes (0 or more, "
                                 "or inf for no cap); the default, 1024, is used.\n")
