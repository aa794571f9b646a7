"""The one-scalar event decoded from its bytes: what it answers, protobuf reads the same; the rest is protobuf's."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

from l2board.reading.scalar_events import SCALARS_TENSOR, SIMPLE_VALUE, TENSOR, scalar_event

INT64 = st.integers(-(1 << 63), (1 << 63) - 1)
FLOAT32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
# Tags as they come: short and long (lengths over 127 take two bytes), any text.
TAGS = st.one_of(st.text(max_size=20), st.text(min_size=120, max_size=300),
                st.sampled_from(["epoch_loss", "Loss/train"]))


def same_float(a, b):
    """Equal as stored: NaN payloads and signed zeros included."""
    return struct.pack("<d", a) == struct.pack("<d", b)


def protobufs_reading(data):
    """What protobuf reads in a record, as `scalar_event` answers it; `None` when it is no one-scalar event."""
    try:
        event = event_pb2.Event.FromString(data)
    except Exception:  # noqa: BLE001 - protobuf raises DecodeError and others
        return None
    if {field.name for field, _ in event.ListFields()} - {"wall_time", "step", "summary"} or \
            len(event.summary.value) != 1:
        return None
    (value,) = event.summary.value
    fields = {field.name for field, _ in value.ListFields()}
    scalars = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    if fields == {"tag", "simple_value"}:
        return value.tag, event.step, event.wall_time, SIMPLE_VALUE, value.simple_value
    tensor = value.tensor
    if fields - {"tag"} in ({"tensor"}, {"tensor", "metadata"}) and tensor.dtype == 1 and \
            {f.name for f, _ in tensor.ListFields()} == {"dtype", "tensor_shape", "tensor_content"} and \
            not tensor.tensor_shape.ListFields() and len(tensor.tensor_content) == 4 and \
            ("metadata" not in fields or value.metadata == scalars):
        kind = SCALARS_TENSOR if "metadata" in fields else TENSOR
        return value.tag, event.step, event.wall_time, kind, struct.unpack("<f", tensor.tensor_content)[0]
    return None


def agrees(data):
    """`scalar_event`'s answer is protobuf's reading of the record, or it leaves the record to protobuf."""
    answer = scalar_event(data)
    if answer is None:
        return True
    reading = protobufs_reading(data)
    assert reading is not None, (data, answer)
    assert answer[:2] == reading[:2] and answer[3] == reading[3], (answer, reading)
    assert same_float(answer[2], reading[2]) and same_float(answer[4], reading[4]), (answer, reading)
    return True


@st.composite
def events(draw):
    """Events as writers make them: one scalar in each of the three forms, or something else a log holds."""
    value = summary_pb2.Summary.Value(tag=draw(TAGS))
    form = draw(st.sampled_from(["simple", "tensor", "scalars tensor", "other metadata", "other tensor", "two"]))
    if form == "simple":
        value.simple_value = draw(FLOAT32)
    else:
        value.tensor.CopyFrom(tensor_pb2.TensorProto(
            dtype=1 if form != "other tensor" else draw(st.sampled_from([2, 7, 19])),
            tensor_shape=tensor_shape_pb2.TensorShapeProto(),
            tensor_content=struct.pack("<f", draw(FLOAT32))))
        if form in ("scalars tensor", "other metadata"):
            value.metadata.plugin_data.plugin_name = "scalars" if form == "scalars tensor" else "histograms"
        if form == "other metadata" and draw(st.booleans()):
            value.metadata.plugin_data.plugin_name = "scalars"
            value.metadata.display_name = draw(st.text(min_size=1, max_size=5))
    values = [value, summary_pb2.Summary.Value(tag="second", simple_value=1.5)] if form == "two" else [value]
    event = event_pb2.Event(wall_time=draw(st.floats(allow_nan=True)), step=draw(INT64),
                            summary=summary_pb2.Summary(value=values))
    return event.SerializeToString(), form


@settings(max_examples=600, deadline=None)
@given(events())
def test_what_it_decodes_protobuf_reads_the_same_and_the_common_forms_are_decoded(event):
    data, form = event
    assert agrees(data)
    reading = protobufs_reading(data)
    # Every one-scalar event protobuf reads so is decoded here (what the reader's speed rests on), when it
    # holds a wall time, a tag and a simple value other than zero (proto3 leaves zeros and empty text out,
    # which real writers' events do not have).
    written_in_full = reading is not None and reading[0] and struct.pack("<d", reading[2]) != bytes(8) and \
        (form != "simple" or struct.pack("<f", reading[4]) != bytes(4))
    if form in ("simple", "tensor", "scalars tensor") and written_in_full:
        assert scalar_event(data) is not None, (data, reading)


@settings(max_examples=1500, deadline=None)
@given(events(), st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 400),
                                    st.integers(0, 255)), min_size=1, max_size=3))
def test_a_changed_record_is_decoded_only_as_protobuf_reads_it(event, changes):
    data = bytearray(event[0])
    scalar_event(bytes(data))  # its middle now known, as in a file that wrote it before
    for change, where, byte in changes:
        where %= len(data) + 1
        if change == "insert":
            data[where:where] = bytes([byte])
        elif where < len(data):
            if change == "flip":
                data[where] ^= byte or 1
            else:
                del data[where]
    assert agrees(bytes(data))


@pytest.mark.parametrize("data", [b"", b"\x09", b"\x09" + b"\x00" * 20, b"\x0a\x03abc" * 6])
def test_bytes_that_are_no_scalar_event_are_left_to_protobuf(data):
    assert scalar_event(data) is None
