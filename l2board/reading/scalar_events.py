"""The one-scalar event, decoded from its bytes without protobuf: most records of most logs.

TensorFlow's `tf.summary.scalar` (Keras's TensorBoard callback, L2Monitor)
writes each scalar as an event of its own, and after a tag's first event in
a file, always in the same bytes: the wall time, the step, and a summary of
one value, the tag and a float32 scalar tensor. tensorboardX and
`torch.utils.tensorboard` write a tag and a `simple_value` instead. Decoding
such a record through protobuf, then walking its messages, is two thirds of
the reader's time per record; matching its bytes is a quarter of that.

Only the exact bytes protobuf writes for those events are decoded here:
each field once, in field order, every length consistent with the record's,
the tag valid UTF-8. Whatever else a record holds (a tag's metadata, another
field, several values, a histogram, damage) gives `None`, and the caller
parses it with protobuf, as before. So a record decoded here is one that
protobuf reads the same (tested on generated and mutated events,
`tests/test_scalar_events.py`).
"""

import re
import struct

# Event: wall_time (1, double), step (2, varint; absent when 0), summary (5, bytes). Summary: value (1, bytes).
# Value: tag (1, bytes), then what follows the tag below. Lengths of at most two varint bytes (16,383), the step's
# of at most ten.
_HEAD = re.compile(rb"\x09.{8}(?:\x10([\x80-\xff]{0,9}[\x00-\x7f]))?\x2a([\x80-\xff]?[\x00-\x7f])"
                   rb"\x0a([\x80-\xff]?[\x00-\x7f])\x0a([\x80-\xff]?[\x00-\x7f])", re.DOTALL)
# A float32 scalar tensor: tensor (8) = dtype (1) DT_FLOAT, tensor_shape (2) empty, tensor_content (4) of 4 bytes;
# then, as TensorFlow 2 writes every scalar, metadata (9) = plugin_data (1) = plugin_name (1) "scalars".
_TENSOR = b"\x42\x0a\x08\x01\x12\x00\x22\x04"
_SCALARS_METADATA = b"\x4a\x0b\x0a\x09\x0a\x07scalars"
# A simple value (2, float), as tensorboardX and torch.utils.tensorboard write.
_SIMPLE = 0x15
_DOUBLE = struct.Struct("<d")
_FLOAT32 = struct.Struct("<f")

TENSOR = "tensor"
SCALARS_TENSOR = "scalars tensor"
SIMPLE_VALUE = "simple_value"


def _varint(raw):
    """The unsigned value of a varint's bytes (as matched: continuation bytes, then a last one)."""
    value, shift = 0, 0
    for byte in raw:
        value |= (byte & 0x7F) << shift
        shift += 7
    return value


# The bytes of a record between its step and its value, for records decoded in full before: `(tag, kind)`.
# Every scalar event of one tag has the same. Those followed by the scalars metadata, and those by nothing.
_MIDDLES_BEFORE_METADATA = {}
_MIDDLES_AT_END = {}
# At most this many of each kept, of at most this many bytes each (a few MB in all).
_MAX_KNOWN = 1 << 14
_MAX_KNOWN_BYTES = 256


def scalar_event(data):
    """Decodes a record that is a one-scalar event, as protobuf writes it.

    Args:
        data: the record's bytes (`event_files.iter_records`).

    Returns:
        `(tag, step, wall_time, kind, value)`: kind `SCALARS_TENSOR` (a
        float32 scalar tensor with metadata naming the scalars plugin, as
        TensorFlow 2 writes), `TENSOR` (the same without metadata) or
        `SIMPLE_VALUE`; value a Python float. `None` for any other record,
        which protobuf then parses.

    Example:

    >>> from tensorboard.compat.proto import event_pb2, summary_pb2
    >>> value = summary_pb2.Summary.Value(tag="epoch_loss", simple_value=0.5)
    >>> scalar_event(event_pb2.Event(wall_time=1.5, step=3, summary=summary_pb2.Summary(value=[value]))
    ...              .SerializeToString())
    ('epoch_loss', 3, 1.5, 'simple_value', 0.5)
    >>> scalar_event(b"not an event") is None
    True
    """
    size = len(data)
    if size < 16 or data[0] != 0x09:
        return None
    # The step as written (absent when 0); steps of up to two varint bytes (16,383) here, longer in full below.
    if data[9] == 0x10:
        low = data[10]
        if low < 0x80:
            step, start = low, 11
        elif data[11] < 0x80:
            step, start = (low & 0x7F) | (data[11] << 7), 12
        else:
            return _decoded(data)
    else:
        step, start = 0, 9
    if data.endswith(_SCALARS_METADATA):
        tail, middles = 17, _MIDDLES_BEFORE_METADATA
    else:
        tail, middles = 4, _MIDDLES_AT_END
    known = middles.get(data[start:size - tail])
    if known is None:
        return _decoded(data)
    return known[0], step, _DOUBLE.unpack_from(data, 1)[0], known[1], _FLOAT32.unpack_from(data, size - tail)[0]


def _decoded(data):
    """`scalar_event` for a record whose middle is not known yet: every byte checked; a decoded middle is kept."""
    head = _HEAD.match(data)
    if head is None:
        return None
    step_bytes, summary_length, value_length, tag_length = head.groups()
    start = head.end()
    end = start + _varint(tag_length)
    rest = len(data) - end
    if rest == 5 and data[end] == _SIMPLE:
        kind = SIMPLE_VALUE
    elif (rest == 12 or (rest == 25 and data.endswith(_SCALARS_METADATA))) and data.startswith(_TENSOR, end):
        kind = TENSOR if rest == 12 else SCALARS_TENSOR
    else:
        return None
    # Each length is that of what follows it, to the record's end (the prefixes' own bytes as written).
    value_size = len(data) - start + len(tag_length) + 1
    if _varint(value_length) != value_size or _varint(summary_length) != value_size + len(value_length) + 1:
        return None
    try:
        tag = data[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if step_bytes is None:
        step = 0
    else:
        step = _varint(step_bytes)
        if step >= 1 << 64:  # more than an int64's ten bytes hold
            return None
        if step >= 1 << 63:  # int64: two's complement
            step -= 1 << 64
    if kind == SCALARS_TENSOR:
        tail, middles = 17, _MIDDLES_BEFORE_METADATA
    else:
        tail, middles = 4, _MIDDLES_AT_END
    middle = data[9 if step_bytes is None else head.end(1):len(data) - tail]
    if len(middle) <= _MAX_KNOWN_BYTES:
        if len(middles) >= _MAX_KNOWN:
            middles.clear()
        middles[middle] = (tag, kind)
    return tag, step, _DOUBLE.unpack_from(data, 1)[0], kind, _FLOAT32.unpack_from(data, len(data) - tail)[0]
