"""The event-file reader: exact on intact files, honest on damaged ones."""

import glob
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2board.event_files import FileDamage, frame_record, iter_events, iter_records, masked_crc32c, tensor_to_array


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
    assert not damage and damage.describe() == ""


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
    assert "cut off" in damage.describe()


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
    assert missing.unreadable and "Could not read" in missing.describe()
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
