"""Reading damaged event files: the recovery search against reading intact records, side by side.

After broken framing the reader searches the rest of the file for the next
intact record. Since issue 9 that search covers the whole file (no cap on
candidates): this script checks that it runs at the speed of a byte scan
even on bytes built to defeat its cheap prefilter.

Four files are made by the script (no TensorFlow: records are framed with
l2board's own `frame_record`), each read by `iter_records` in a rotating
order, several rounds, medians:

- intact: 20,000 scalar events (about 1 MB);
- foreign int64s: the same, with 800 kB of small little-endian int64s (every
  offset passes the "length below 256 MB" prefilter) inserted after record 10;
- random bytes: the same, with 800 kB of random bytes inserted there;
- garbage: 40 MB of random bytes.

It prints each file's median read time, the time per MB of damaged bytes
searched, and the ratio of that to the time per MB of reading intact
records. Every record of the intact part must be found in each file.

Usage:
    python benchmarks/damaged_log_reading.py [--rounds 7]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tensorboard.compat.proto import event_pb2  # noqa: E402

from l2board.log_format.framing import frame_record  # noqa: E402
from l2board.reading.event_files import FileDamage, iter_records  # noqa: E402

RECORDS, INSERT_AFTER, FOREIGN_BYTES, GARBAGE_BYTES = 20_000, 10, 800_000, 40 << 20


def records():
    framed = []
    for step in range(RECORDS):
        event = event_pb2.Event(step=step, wall_time=1.0 + step)
        event.summary.value.add(tag="epoch_loss", simple_value=1.0 / (step + 1))
        framed.append(frame_record(event.SerializeToString()))
    return framed


def make_files(folder):
    rng = np.random.default_rng(0)
    framed = records()
    head, tail = b"".join(framed[:INSERT_AFTER]), b"".join(framed[INSERT_AFTER:])
    int64s = rng.integers(0, 256, FOREIGN_BYTES // 8, dtype="<i8").tobytes()
    contents = {
        "intact": head + tail,
        "foreign int64s": head + int64s + tail,
        "random bytes": head + rng.integers(0, 256, FOREIGN_BYTES, dtype=np.uint8).tobytes() + tail,
        "garbage": rng.integers(0, 256, GARBAGE_BYTES, dtype=np.uint8).tobytes(),
    }
    paths = {}
    for name, data in contents.items():
        paths[name] = os.path.join(folder, name.replace(" ", "_") + ".tfevents")
        with open(paths[name], "wb") as handle:
            handle.write(data)
    return paths


def read(path):
    damage = FileDamage(path)
    start = time.perf_counter()
    count = sum(1 for _ in iter_records(path, damage))
    return time.perf_counter() - start, count, damage


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = make_files(folder)
        times = {name: [] for name in paths}
        names = list(paths)
        for round_number in range(args.rounds):
            for name in names[round_number % len(names):] + names[:round_number % len(names)]:
                elapsed, count, damage = read(paths[name])
                expected = 0 if name == "garbage" else RECORDS
                assert count == expected, (name, count, damage)
                times[name].append(elapsed)
        sizes = {name: os.path.getsize(path) for name, path in paths.items()}
    intact = statistics.median(times["intact"])
    intact_per_mb = intact / (sizes["intact"] / 1e6)
    print(f"{'file':<16} {'median read':>12} {'damaged MB':>11} {'ms per damaged MB':>18} {'/ intact ms per MB':>19}")
    for name in paths:
        median = statistics.median(times[name])
        damaged = (sizes[name] - sizes["intact"]) / 1e6 if name != "garbage" else sizes[name] / 1e6
        if name == "intact":
            print(f"{name:<16} {median:>11.3f}s {'':>11} {1e3 * intact_per_mb:>17.2f}* {'1.00':>19}")
            continue
        searched = max(median - (intact if name != "garbage" else 0.0), 0.0)
        per_mb = searched / damaged
        print(f"{name:<16} {median:>11.3f}s {damaged:>11.1f} {1e3 * per_mb:>18.2f} {per_mb / intact_per_mb:>19.2f}")
    print("* for intact records: ms per MB of records read, the unit the last column compares with")


if __name__ == "__main__":
    main()
