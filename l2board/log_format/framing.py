"""The TFRecord framing of event files: how TensorFlow writes a record, and how one checks out.

An event file is a sequence of records:

    uint64 length | uint32 masked CRC32C of length | data | uint32 masked CRC32C of data

each `data` a serialized `tensorboard.compat.proto.event_pb2.Event`. The
writer without TensorFlow (`writing.event_writer`) frames its records here;
the reader (`reading.event_files`) checks them with the same masking and
recovers from damage on its own.
"""

import struct

import google_crc32c

HEADER = struct.Struct("<QI")
FOOTER = struct.Struct("<I")
MASK_DELTA = 0xA282EAD8


def masked_crc32c(data):
    """Returns the masked CRC32C that TFRecord stores for `data`.

    Example:

    >>> hex(masked_crc32c(b"hello"))
    '0x191c1fbb'
    """
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def frame_record(data):
    """Returns `data` framed as one TFRecord (what TensorFlow's writers write)."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def record_at(buffer, offset, size, longest=None):
    """Returns `(data_start, data_end)` if an intact record starts at `offset` of a buffer of `size` bytes, else None.

    Args:
        longest: the longest data to accept, in bytes (`None`: any).

    Example:

    >>> record_at(frame_record(b"abc"), 0, 19)
    (12, 15)
    """
    if offset + 16 > size:
        return None
    length, length_crc = HEADER.unpack_from(buffer, offset)
    if masked_crc32c(buffer[offset:offset + 8]) != length_crc:
        return None
    end = offset + 12 + length
    if (longest is not None and length > longest) or end + 4 > size:
        return None
    (data_crc,) = FOOTER.unpack_from(buffer, end)
    if masked_crc32c(buffer[offset + 12:end]) != data_crc:
        return None
    return offset + 12, end


def intact_records(buffer):
    """Yields the data of a buffer's records from its start, up to the first that does not check out.

    No recovery: enough to tell what a file begins with (the reader,
    `reading.event_files`, also reads past damage).

    Example:

    >>> [bytes(r) for r in intact_records(frame_record(b"a") + frame_record(b"b") + b"torn")]
    [b'a', b'b']
    """
    offset, size = 0, len(buffer)
    while (span := record_at(buffer, offset, size)) is not None:
        yield buffer[span[0]:span[1]]
        offset = span[1] + 4
