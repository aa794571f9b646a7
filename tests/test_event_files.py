"""The event-file reader: exact on intact files, honest on damaged ones."""

import glob
import os

import numpy as np
import pytest
from conftest import said
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2board.log_format.framing import frame_record, masked_crc32c
from l2board.reading.event_files import FileDamage, iter_events, iter_records, tensor_to_array


def written_scalars(folder, n_steps=12, n_tags=3):
    """Writes scalars with tf.summary; returns the event file and what was written."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(folder))
    written = set()
    with writer.as_default():
        for step in range(n_steps):
            for t in range(n_tags):
                value = float(np.float32(step * 0.5 + t + 0.125))
                tf.summary.scalar(f"tag{t}", value, step=step)
                written.add((step, f"tag{t}", value))
    writer.close()
    (path,) = glob.glob(os.path.join(folder, "events.out.tfevents.*"))
    return path, written


@pytest.fixture(scope="module")
def event_file(tmp_path_factory):
    path, written = written_scalars(tmp_path_factory.mktemp("events"))
    with open(path, "rb") as handle:
        return handle.read(), written


def scalars_in(path):
    damage = FileDamage(str(path))
    found = set()
    for event in iter_events(str(path), damage):
        for value in event.summary.value:
            if value.WhichOneof("value") == "tensor":
                found.add((event.step, value.tag, float(tensor_to_array(value.tensor))))
    return found, damage


def test_intact_file_reads_exactly_what_was_written(event_file, tmp_path):
    data, written = event_file
    path = tmp_path / "events.out.tfevents.intact"
    path.write_bytes(data)
    found, damage = scalars_in(path)
    assert found == written
    assert not damage


def test_framing_matches_tensorflow(event_file):
    data, _ = event_file
    # Re-framing the first record's data gives TensorFlow's bytes, checksums included.
    first_length = int.from_bytes(data[:8], "little")
    assert frame_record(data[12:12 + first_length]) == data[:12 + first_length + 4]
    assert masked_crc32c(b"hello") == 0x191C1FBB


def test_truncated_last_record_keeps_everything_before(event_file, tmp_path):
    data, written = event_file
    path = tmp_path / "events.out.tfevents.cut"
    path.write_bytes(data[:-7])
    found, damage = scalars_in(path)
    assert damage.truncated and damage.bad_records == 0
    assert found < written and len(found) == len(written) - 1
    assert "cut off" in said(damage)


def test_flipped_data_bit_skips_one_record_and_goes_on(event_file, tmp_path):
    data, written = event_file
    buffer = bytearray(data)
    buffer[len(buffer) // 2] ^= 0x10
    path = tmp_path / "events.out.tfevents.flipped"
    path.write_bytes(bytes(buffer))
    found, damage = scalars_in(path)
    assert found <= written
    assert len(written) - len(found) <= 1
    assert damage.bad_records + damage.resyncs == 1


def test_flipped_length_bit_resynchronizes(event_file, tmp_path):
    data, written = event_file
    first_length = int.from_bytes(data[:8], "little")
    second = 12 + first_length + 4
    buffer = bytearray(data)
    buffer[second] ^= 0x01  # the length of the second record
    path = tmp_path / "events.out.tfevents.length"
    path.write_bytes(bytes(buffer))
    found, damage = scalars_in(path)
    assert damage.resyncs == 1 and damage.skipped_bytes > 0
    assert found <= written and len(found) >= len(written) - 1


def test_empty_unreadable_and_foreign_files(tmp_path):
    empty = tmp_path / "events.out.tfevents.empty"
    empty.write_bytes(b"")
    found, damage = scalars_in(empty)
    assert found == set() and not damage
    missing = FileDamage(str(tmp_path / "nope"))
    assert list(iter_records(str(tmp_path / "nope"), missing)) == []
    assert missing.unreadable and "Could not read" in said(missing)
    foreign = tmp_path / "events.out.tfevents.png"
    foreign.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    found, damage = scalars_in(foreign)
    assert found == set() and damage


def test_string_and_half_tensors():
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2

    text = tensor_pb2.TensorProto(dtype=7, string_val=[b"hello"])
    assert tensor_to_array(text).tolist() == b"hello"
    half = tensor_pb2.TensorProto(dtype=19, half_val=[np.float16(1.5).view(np.uint16)],
                                  tensor_shape=tensor_shape_pb2.TensorShapeProto())
    assert float(tensor_to_array(half)) == 1.5
    with pytest.raises(ValueError):
        tensor_to_array(tensor_pb2.TensorProto(dtype=8))  # complex64


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.one_of(st.none(), st.integers(0, 10_000)),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=6))
def test_damage_never_crashes_hangs_or_invents_values(event_file, tmp_path, cut, flips):
    data, written = event_file
    kept = data if cut is None else data[:cut % (len(data) + 1)]
    buffer = bytearray(kept)
    for position, bit in flips:
        if buffer:
            buffer[position % len(buffer)] ^= 1 << bit
    path = tmp_path / "events.out.tfevents.fuzz"
    path.write_bytes(bytes(buffer))
    found, damage = scalars_in(path)
    # Never a value that was not written, whatever the damage.
    assert found <= written
    # Every byte is under a checksum: a changed byte is always reported.
    if bytes(buffer) != kept:
        assert damage


def numbered_records(count):
    """`count` framed records whose data is its index: which ones were read is plain."""
    return [frame_record(b"record %05d" % i) for i in range(count)]


def read_all(path):
    damage = FileDamage(str(path))
    return [bytes(data) for data in iter_records(str(path), damage)], damage


def foreign_bytes(kind, size=800_000):
    rng = np.random.default_rng(0)
    if kind == "zeros mixed with bytes":
        # Most offsets hold a plausible length, and runs of zeros hold a zero
        # length, whose checksum must be told apart.
        return (rng.integers(1, 256, size, dtype=np.uint8) * (rng.random(size) < 0.1)).astype(np.uint8).tobytes()
    # Small little-endian int64s: 2 or 3 offsets in 8 hold a plausible length.
    return rng.integers(1, {"int64s below 256": 256, "int64s below 2**20": 1 << 20}[kind], size // 8,
                        dtype="<i8").tobytes()


@pytest.mark.parametrize("kind", ["int64s below 256", "int64s below 2**20"])
def test_foreign_bytes_that_look_like_lengths_never_stop_the_search(tmp_path, kind):
    # 800 kB inserted after record 10 of 163 once made the search give up
    # after 200,000 candidates and lose the 153 records after them.
    records = numbered_records(163)
    path = tmp_path / "events.out.tfevents.foreign"
    path.write_bytes(b"".join(records[:10]) + foreign_bytes(kind) + b"".join(records[10:]))
    found, damage = read_all(path)
    assert found == [b"record %05d" % i for i in range(163)]
    assert (damage.resyncs, damage.skipped_bytes, damage.bad_records) == (1, 800_000, 0)
    assert not damage.truncated and not damage.unframed_tail
    assert said(damage) == f"{path}: 800000 bytes of broken framing passed over."


def with_length(record, length):
    """`record` with another length field, whose checksum holds."""
    field = length.to_bytes(8, "little")
    return field + masked_crc32c(field).to_bytes(4, "little") + record[12:]


def test_huge_length_with_a_valid_checksum_mid_file_is_damage_not_the_end(tmp_path):
    records = numbered_records(20)
    records[5] = with_length(records[5], 1 << 40)
    path = tmp_path / "events.out.tfevents.huge"
    path.write_bytes(b"".join(records))
    found, damage = read_all(path)
    # Once reported as "the last record is cut off", with records 6 to 19 dropped.
    assert found == [b"record %05d" % i for i in range(20) if i != 5]
    assert not damage.truncated and damage.resyncs == 1
    assert damage.skipped_bytes == len(records[5])
    assert "cut off" not in said(damage)


def test_a_wrong_length_with_a_valid_checksum_never_hides_intact_records(tmp_path):
    records = numbered_records(20)
    # The length of record 5 now spans records 6 to 9: the data fails its checksum.
    records[5] = with_length(records[5], sum(map(len, records[5:10])) - 16)
    path = tmp_path / "events.out.tfevents.span"
    path.write_bytes(b"".join(records))
    found, damage = read_all(path)
    assert found == [b"record %05d" % i for i in range(20) if i != 5]
    assert damage.resyncs == 1 and damage.bad_records == 0 and damage.skipped_bytes == len(records[5])
    # Damaged data, then garbage: the record is skipped, the garbage passed over.
    bad = bytearray(records[3])
    bad[14] ^= 0xFF
    path.write_bytes(b"".join(records[:3]) + bytes(bad) + bytes(5000) + b"".join(records[6:]))
    found, damage = read_all(path)
    assert found == [b"record %05d" % i for i in range(20) if i not in (3, 4, 5)]
    assert (damage.bad_records, damage.resyncs, damage.skipped_bytes) == (1, 1, 5000)


def test_a_cut_record_is_still_a_truncation_and_garbage_at_the_end_is_named(tmp_path):
    records = numbered_records(8)
    cut = tmp_path / "events.out.tfevents.cut"
    cut.write_bytes(b"".join(records)[:-3])
    found, damage = read_all(cut)
    assert len(found) == 7 and damage.truncated and not damage.resyncs
    tail = tmp_path / "events.out.tfevents.tail"
    tail.write_bytes(b"".join(records) + foreign_bytes("zeros mixed with bytes", 100_000))
    found, damage = read_all(tail)
    assert len(found) == 8 and damage.unframed_tail and damage.skipped_bytes == 100_000
    assert said(damage).endswith("no intact record in the rest of the file.")


def test_many_damaged_records_and_a_wrong_length_lose_only_themselves(tmp_path):
    # Every record's data damaged but every 1000th; record 500's length,
    # with a valid checksum, spans records 500 to 2499. Each search for the
    # next intact record must not rescan the rest of the file: 100,000
    # records, read in linear time.
    records = numbered_records(100_000)
    size = len(records[0])
    records[500] = with_length(records[500], 2000 * size - 16)
    data = bytearray(b"".join(records))
    damaged = [i for i in range(100_000) if i % 1000 and i != 500]
    for i in damaged:
        data[i * size + 14] ^= 0xFF
    path = tmp_path / "events.out.tfevents.rotten"
    path.write_bytes(bytes(data))
    found, damage = read_all(path)
    assert found == [b"record %05d" % i for i in range(0, 100_000, 1000)]
    # From the wrong length on, the search passes over records 500 to 999:
    # the first intact record after it is record 1000.
    assert (damage.resyncs, damage.skipped_bytes) == (1, 500 * size)
    assert damage.bad_records == len(damaged) - 499


def test_the_vectorized_length_check_is_crc32c(tmp_path):
    from l2board.reading.event_files import _length_checks_hold

    rng = np.random.default_rng(1)
    buffer = bytearray(foreign_bytes("zeros mixed with bytes", 20_000))
    for position in rng.integers(0, len(buffer) - 12, 40):
        buffer[position:position + 12] = with_length(bytes(16), int(rng.integers(0, 1 << 28)))[:12]
    for data in (bytes(buffer), rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes() + bytes(buffer[:100])):
        count = len(data) - 11
        expected = [i for i in range(count) if int.from_bytes(data[i:i + 8], "little") < 1 << 28
                    and masked_crc32c(data[i:i + 8]) == int.from_bytes(data[i + 8:i + 12], "little")]
        assert _length_checks_hold(data, 0, count).tolist() == expected
