"""Reads TensorBoard event files without TensorFlow, and survives damage.

An event file is a sequence of TFRecords:

    uint64 length | uint32 masked CRC32C of length | data | uint32 masked CRC32C of data

each `data` a serialized `tensorboard.compat.proto.event_pb2.Event`.
Importing TensorFlow to read them costs seconds and half a gigabyte; this
module needs only the protos that the `tensorboard` package ships and a C
CRC32C.

Damage is reported, never hidden and never shown as data:

* a record whose data fails its checksum is skipped, and reading goes on
  with the next record (the length was intact);
* a length that fails its checksum breaks the framing; the reader searches
  forward for the next position where a complete record checks out;
* a file that ends inside a record (a run still writing, or killed) keeps
  everything before it.
"""

import dataclasses
import mmap
import os
import struct

import google_crc32c
import numpy as np
from tensorboard.compat.proto import event_pb2

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8
# Longest record searched for while recovering the framing: far above any
# summary TensorBoard writes (its own limit for a plugin's data is lower).
_MAX_RECORD_BYTES = 256 << 20


def masked_crc32c(data):
    """Returns the masked CRC32C that TFRecord stores for `data`.

    Example:

    >>> hex(masked_crc32c(b"hello"))
    '0x191c1fbb'
    """
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame_record(data):
    """Returns `data` framed as one TFRecord (what TensorFlow's writers write)."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


@dataclasses.dataclass
class FileDamage:
    """What went wrong while reading one event file.

    Args:
        path: the file.
        bad_records: records skipped because their data failed its checksum
            or was not an event.
        resyncs: places where the framing was broken and the reader searched
            for the next intact record.
        skipped_bytes: bytes passed over while searching.
        truncated: whether the file ends inside a record.
        unreadable: the reason the file could not be opened, or `None`.
        gave_up: whether the search for intact records was abandoned
            before the end of the file (a huge stretch of garbage).
    """

    path: str
    bad_records: int = 0
    resyncs: int = 0
    skipped_bytes: int = 0
    truncated: bool = False
    unreadable: str | None = None
    gave_up: bool = False

    def __bool__(self):
        return bool(self.bad_records or self.resyncs or self.truncated or self.unreadable or self.gave_up)

    def describe(self):
        """Returns one sentence for the user, or an empty string when intact."""
        name = self.path
        if self.unreadable:
            return f"Could not read {name}: {self.unreadable}; its run is reported without it."
        parts = []
        if self.bad_records:
            parts.append(f"{self.bad_records} damaged record{'s' if self.bad_records != 1 else ''} skipped")
        if self.resyncs:
            parts.append(f"{self.skipped_bytes} bytes of broken framing passed over")
        if self.gave_up:
            parts.append("no intact record could be found in the rest of the file")
        if self.truncated:
            parts.append("the last record is cut off (still being written, or the run was killed)")
        if not parts:
            return ""
        return f"{name}: " + "; ".join(parts) + "."


def _open_bytes(path):
    """Returns the file's bytes as a buffer (memory-mapped when not empty)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def _record_at(buffer, offset, size):
    """Returns `(data_start, data_end)` if an intact record starts at offset, else None."""
    if offset + 12 > size:
        return None
    length, length_crc = _HEADER.unpack_from(buffer, offset)
    if masked_crc32c(buffer[offset:offset + 8]) != length_crc:
        return None
    end = offset + 12 + length
    if length > _MAX_RECORD_BYTES or end + 4 > size:
        return None
    (data_crc,) = _FOOTER.unpack_from(buffer, end)
    if masked_crc32c(buffer[offset + 12:end]) != data_crc:
        return None
    return offset + 12, end


# Searching for the next record checks the CRC of every plausible header;
# past this many checks in one search, the rest of the file is given up on
# (and reported), so a huge file of garbage cannot stall a report.
_MAX_RESYNC_CHECKS = 200_000
_SEARCH_BLOCK = 1 << 20
_EMPTY_RECORD_LENGTH_CRC = None


def _next_record(buffer, offset, size):
    """Returns the offset of the next intact record at or after `offset`, or None.

    Candidates are found with NumPy: a length below `_MAX_RECORD_BYTES` has
    zeros in its top bytes, which random or text data rarely has. Runs of
    zero bytes (files preallocated or cut by a crash) are skipped in bulk:
    a zero length would need a fixed checksum there.
    """
    global _EMPTY_RECORD_LENGTH_CRC
    if _EMPTY_RECORD_LENGTH_CRC is None:
        _EMPTY_RECORD_LENGTH_CRC = masked_crc32c(bytes(8))
    checks = 0
    while offset + 16 <= size:
        count = min(_SEARCH_BLOCK, size - offset)
        block = np.frombuffer(buffer, dtype=np.uint8, count=min(count + 15, size - offset), offset=offset)
        n = len(block) - 15
        if n <= 0:
            return None
        plausible = (block[3:3 + n] < 0x10) & (block[4:4 + n] == 0) & (block[5:5 + n] == 0) & \
            (block[6:6 + n] == 0) & (block[7:7 + n] == 0)
        zero_length = plausible & (block[:n] == 0) & (block[1:1 + n] == 0) & (block[2:2 + n] == 0) & (block[3:3 + n] == 0)
        crc_field = block[8:8 + n + 3]
        stored = (crc_field[:n].astype(np.uint32) | (crc_field[1:1 + n].astype(np.uint32) << 8)
                  | (crc_field[2:2 + n].astype(np.uint32) << 16) | (block[11:11 + n].astype(np.uint32) << 24))
        plausible &= ~zero_length | (stored == _EMPTY_RECORD_LENGTH_CRC)
        for candidate in np.flatnonzero(plausible):
            checks += 1
            if checks > _MAX_RESYNC_CHECKS:
                return None
            if _record_at(buffer, offset + int(candidate), size) is not None:
                return offset + int(candidate)
        offset += n
    return None


def iter_records(path, damage):
    """Yields the data of each intact record of a TFRecord file.

    Args:
        path: the file.
        damage: a `FileDamage` that receives what was skipped.

    Yields:
        `bytes` of each record whose checksums hold.
    """
    try:
        buffer = _open_bytes(path)
    except OSError as error:
        damage.unreadable = error.strerror or str(error)
        return
    crc = google_crc32c.value
    unpack_header = _HEADER.unpack_from
    unpack_footer = _FOOTER.unpack_from
    try:
        size = len(buffer)
        offset = 0
        while offset < size:
            if offset + 12 > size:
                damage.truncated = True
                return
            length, length_crc = unpack_header(buffer, offset)
            # The masking of masked_crc32c, inlined: this loop runs once per record.
            check = crc(buffer[offset:offset + 8])
            if (((check >> 15) | (check << 17)) + _MASK_DELTA) & 0xFFFFFFFF == length_crc:
                end = offset + 12 + length
                if end + 4 > size:
                    damage.truncated = True
                    return
                data = buffer[offset + 12:end]
                check = crc(data)
                if (((check >> 15) | (check << 17)) + _MASK_DELTA) & 0xFFFFFFFF == unpack_footer(buffer, end)[0]:
                    yield data
                else:
                    damage.bad_records += 1
                offset = end + 4
                continue
            # The length is damaged: find the next place a whole record checks out.
            damage.resyncs += 1
            start = offset
            offset = _next_record(buffer, offset + 1, size)
            if offset is None:
                damage.skipped_bytes += size - start
                damage.gave_up = True
                return
            damage.skipped_bytes += offset - start
    finally:
        if isinstance(buffer, mmap.mmap):
            buffer.close()


def iter_events(path, damage):
    """Yields the `Event` protos of one event file, skipping damaged records.

    Args:
        path: the event file.
        damage: a `FileDamage` that receives what was skipped.

    Yields:
        `event_pb2.Event` messages in file order.
    """
    for data in iter_records(path, damage):
        try:
            yield event_pb2.Event.FromString(data)
        except Exception:  # noqa: BLE001 - protobuf raises DecodeError and others
            damage.bad_records += 1


# TensorFlow's DataType enum values for the dtypes a summary may hold.
_NUMPY_DTYPES = {
    1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8,
    9: np.int64, 10: np.bool_, 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64,
}
_VALUE_FIELDS = {
    1: "float_val", 2: "double_val", 3: "int_val", 4: "int_val", 5: "int_val", 6: "int_val",
    9: "int64_val", 10: "bool_val", 17: "int_val", 22: "uint32_val", 23: "uint64_val",
}


_SCALAR_FORMATS = {1: "<f", 2: "<d", 19: "<e"}


def tensor_to_float(tensor):
    """Returns the number in a one-element float `TensorProto`, or `None`.

    The fast path for scalar summaries: no NumPy array per value.
    """
    dtype = tensor.dtype
    if dtype == 1 and len(tensor.float_val) == 1:
        return tensor.float_val[0]
    if dtype == 2 and len(tensor.double_val) == 1:
        return tensor.double_val[0]
    content = tensor.tensor_content
    if content and dtype in _SCALAR_FORMATS and len(content) == struct.calcsize(_SCALAR_FORMATS[dtype]):
        return struct.unpack(_SCALAR_FORMATS[dtype], content)[0]
    try:
        array = tensor_to_array(tensor)
    except ValueError:
        return None
    return float(array.reshape(-1)[0]) if array.size == 1 and array.dtype.kind in "fiub" else None


def tensor_to_array(tensor):
    """Decodes a `TensorProto` of numbers or strings into a NumPy array.

    Args:
        tensor: a `tensorboard.compat.proto.tensor_pb2.TensorProto`.

    Returns:
        A NumPy array of the tensor's shape; strings come back as an object
        array of `bytes`.

    Raises:
        ValueError: for dtypes a summary does not use.
    """
    shape = tuple(d.size for d in tensor.tensor_shape.dim)
    count = int(np.prod(shape)) if shape else 1
    if tensor.dtype == 7:  # DT_STRING
        values = list(tensor.string_val)
        return np.array(values, dtype=object).reshape(shape) if values else np.empty(shape, dtype=object)
    dtype = _NUMPY_DTYPES.get(tensor.dtype)
    if dtype is None:
        raise ValueError(f"unsupported tensor dtype {tensor.dtype}")
    if tensor.tensor_content:
        array = np.frombuffer(tensor.tensor_content, dtype=np.dtype(dtype).newbyteorder("<"))
    elif tensor.dtype == 19:  # DT_HALF keeps its bits in half_val
        array = np.array(tensor.half_val, dtype=np.uint16).view(np.float16)
    else:
        array = np.array(getattr(tensor, _VALUE_FIELDS[tensor.dtype]), dtype=dtype)
    if array.size == count:
        return array.reshape(shape)
    if array.size == 1:  # TensorFlow stores a repeated value once
        return np.full(shape, array[0], dtype=dtype)
    if array.size == 0:
        return np.zeros(shape, dtype=dtype)
    raise ValueError(f"tensor holds {array.size} values for shape {shape}")
