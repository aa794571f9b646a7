"""Reads TensorBoard event files without TensorFlow, and survives damage.

An event file is a sequence of TFRecords (their framing:
`l2board.log_format.framing`), each a serialized `Event`. Importing
TensorFlow to read them costs seconds and half a gigabyte; this module
needs only the protos that the `tensorboard` package ships, a C
CRC32C and NumPy.

Damage is reported, never hidden and never shown as data, and never makes
the reader pass over an intact record:

* a record whose data fails its checksum is skipped, and reading goes on
  with the next intact record after its header (normally right after it:
  the length was intact; if the length was wrong although its checksum
  held, the records it spans are still read);
* a length that fails its checksum breaks the framing; the reader searches
  the whole rest of the file for the next position where a complete record
  (of up to `_MAX_RECORD_BYTES`) checks out, with a vectorized checksum of
  every candidate length, so a search runs at the speed of a byte scan;
* a length that runs past the end of the file is damage when an intact
  record follows, and otherwise a cut-off last record (a run still
  writing, or killed): everything before it is kept;
* anything that is not a regular file (a FIFO, a folder, a device) is
  reported as unreadable without being waited on.

A URL (`s3://...`, see `storage`) is fetched whole and read from memory by
the same code: the same checks, the same damage notes.
"""

import dataclasses
import errno
import mmap
import os
import stat
import struct

import google_crc32c
import numpy as np

from l2board.log_format.framing import FOOTER, HEADER, MASK_DELTA, masked_crc32c, record_at
from l2board.reading import storage

# Longest record searched for while recovering the framing: far above any
# summary TensorBoard writes (its own limit for a plugin's data is lower).
_MAX_RECORD_BYTES = 256 << 20


_KINDS = ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "named pipe (FIFO)"), (stat.S_ISSOCK, "socket"),
          (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))


def file_kind(mode):
    """Names what a `st_mode` is when it is not a regular file ("folder", "socket", ...).

    Example:

    >>> import stat
    >>> file_kind(stat.S_IFIFO), file_kind(stat.S_IFREG)
    ('named pipe (FIFO)', 'regular file')
    """
    if stat.S_ISREG(mode):
        return "regular file"
    return next((name for test, name in _KINDS if test(mode)), "special file")


@dataclasses.dataclass
class FileDamage:
    """What went wrong while reading one event file.

    Args:
        path: the file.
        bad_records: records skipped because their data failed its checksum
            or was not an event.
        resyncs: places where the framing was broken and the reader searched
            for the next intact record.
        skipped_bytes: bytes passed over while searching (broken framing,
            not counting the skipped records).
        truncated: whether the file ends inside a record.
        unreadable: the reason the file could not be opened, or `None`.
        unframed_tail: whether the file ends in bytes that hold no intact
            record, after a place where the framing broke (the whole rest
            of the file was searched).
    """

    path: str
    bad_records: int = 0
    resyncs: int = 0
    skipped_bytes: int = 0
    truncated: bool = False
    unreadable: str | None = None
    unframed_tail: bool = False

    def __bool__(self):
        return bool(self.bad_records or self.resyncs or self.truncated or self.unreadable or self.unframed_tail)


def _open_bytes(path):
    """Returns the file's bytes as a buffer (memory-mapped when local and not empty).

    A URL's bytes are fetched whole through fsspec (`storage.read_bytes`).

    Raises:
        OSError: when the file cannot be opened or is not a regular file.
    """
    if storage.is_url(path):
        return storage.read_bytes(path)
    # Without O_NONBLOCK, opening a FIFO waits for a writer, forever.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file but a {file_kind(info.st_mode)}", path)
        if info.st_size == 0:
            return b""
        return mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(descriptor)


_CRC_TABLES = None


def _length_crc_tables():
    """Returns four 65,536-entry tables whose lookups XOR to the CRC32C of 8 bytes.

    Slicing-by-8 CRC32C (Castagnoli, reflected polynomial 0x82F63B78), with
    the initial and final inversions folded into the tables and pairs of
    byte tables merged, so the CRC of the 8-byte length at every candidate
    offset of a block is four NumPy lookups and three XORs (the masking
    follows on the array).
    """
    global _CRC_TABLES
    if _CRC_TABLES is None:
        byte = np.arange(256, dtype=np.uint32)
        table = byte.copy()
        for _ in range(8):
            table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1).astype(np.uint32)
        # tables[k][b]: the CRC contribution of byte b when 7 - k bytes follow it.
        tables = [table]
        for _ in range(7):
            tables.append((tables[-1] >> np.uint32(8)) ^ table[tables[-1] & np.uint32(0xFF)])
        inverted = byte ^ 0xFF  # the initial 0xFFFFFFFF meets the first four bytes
        by_position = [tables[7 - k][inverted if k < 4 else byte] for k in range(8)]
        by_position[7] = by_position[7] ^ np.uint32(0xFFFFFFFF)  # the final inversion
        pair = np.arange(1 << 16)
        _CRC_TABLES = [by_position[2 * j][pair & 0xFF] ^ by_position[2 * j + 1][pair >> 8] for j in range(4)]
    return _CRC_TABLES


def _unaligned(buffer, dtype, offset, count):
    """A view of `count` little-endian integers starting at every byte from `offset` on."""
    return np.ndarray((count,), dtype=dtype, buffer=buffer, offset=offset, strides=(1,))


def _length_checks_hold(buffer, offset, count):
    """Returns the positions among `offset .. offset + count - 1` whose length field checks out.

    The buffer must hold 12 bytes from each position on. Lengths above
    `_MAX_RECORD_BYTES` (nonzero top bytes) are ruled out first, which for
    random or text bytes leaves almost nothing to checksum.
    """
    block = np.frombuffer(buffer, dtype=np.uint8, count=count + 8, offset=offset)
    plausible = (block[3:3 + count] < 0x10) & (block[4:4 + count] == 0) & (block[5:5 + count] == 0) \
        & (block[6:6 + count] == 0) & (block[7:7 + count] == 0)
    found = np.count_nonzero(plausible)
    if not found:
        return np.flatnonzero(plausible)
    tables = _length_crc_tables()
    pairs = [_unaligned(buffer, "<u2", offset + 2 * j, count) for j in range(4)]
    stored = _unaligned(buffer, "<u4", offset + 8, count)
    # Checksumming every position costs about as much as gathering a
    # quarter of them: below that, only the plausible ones are checked.
    dense = found * 4 > count
    if not dense:
        candidates = np.flatnonzero(plausible)
        pairs = [p[candidates] for p in pairs]
        stored = stored[candidates]
    crc = np.take(tables[0], pairs[0])
    for table, values in zip(tables[1:], pairs[1:]):
        crc ^= np.take(table, values)
    masked = ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(MASK_DELTA)
    return np.flatnonzero((masked == stored) & plausible) if dense else candidates[masked == stored]


class _Search:
    """Finds the next intact record of a buffer; remembers its last answer.

    A search covers the whole rest of the file, bounded by its size. Blocks
    grow from a few kilobytes, so finding the record right after a damaged
    one costs little, and a search that begins inside a stretch already
    searched gets its answer without searching again (which keeps a file of
    many damaged records linear).
    """

    _FIRST_BLOCK = 4 << 10
    _LARGEST_BLOCK = 1 << 20

    def __init__(self, buffer, size):
        self.buffer, self.size = buffer, size
        self._searched = (0, -1, None)  # (from, to, found): no intact record in [from, to)

    def next_record(self, offset):
        """Returns the offset of the next intact record at or after `offset`, or None."""
        start, stop, found = self._searched
        if start <= offset <= stop:
            return found
        result = self._scan(offset)
        self._searched = (offset, self.size if result is None else result, result)
        return result

    def _scan(self, offset):
        block = self._FIRST_BLOCK
        while offset + 16 <= self.size:
            count = min(block, self.size - offset - 15)  # a record takes 16 bytes at least
            for candidate in _length_checks_hold(self.buffer, offset, count):
                if record_at(self.buffer, offset + int(candidate), self.size, _MAX_RECORD_BYTES) is not None:
                    return offset + int(candidate)
            offset += count
            block = min(2 * block, self._LARGEST_BLOCK)
        return None


def _recover(search, offset, damage):
    """Handles the record at `offset`, which did not check out; returns where reading goes on."""
    buffer, size = search.buffer, search.size
    if offset + 12 > size:
        damage.truncated = True
        return size
    length, length_crc = HEADER.unpack_from(buffer, offset)
    if masked_crc32c(buffer[offset:offset + 8]) != length_crc:
        # The length is damaged: the framing is lost until the next intact record.
        damage.resyncs += 1
        following = search.next_record(offset + 1)
        damage.skipped_bytes += (size if following is None else following) - offset
        damage.unframed_tail |= following is None
        return size if following is None else following
    # The length checks out, so the record's header ends at offset + 12; the
    # next intact record after it is normally right after the record.
    end = offset + 12 + length + 4
    following = search.next_record(offset + 12)
    if end > size:
        if following is None:
            damage.truncated = True
            return size
        damage.resyncs += 1  # a wrong length that ran past the end: intact records follow
        damage.skipped_bytes += following - offset
        return following
    if following is not None and following < end:
        damage.resyncs += 1  # a wrong length whose checksum held: it spans intact records
        damage.skipped_bytes += following - offset
        return following
    damage.bad_records += 1
    return end


# The masked CRC-32C of a record's length field, by the length: the field is the length's eight bytes, so each
# is computed once (records of one tag are mostly of one length). At most this many kept.
_LENGTH_CHECKS = {}
_MAX_LENGTH_CHECKS = 1 << 16


def iter_records(path, damage, fetched=None):
    """Yields the data of each intact record of a TFRecord file.

    Args:
        path: the file.
        damage: a `FileDamage` that receives what was skipped.
        fetched: when its bytes were fetched already (a URL's, see
            `storage.fetch_ahead`), what returns them or raises the `OSError`.

    Yields:
        `bytes` of each record whose checksums hold.
    """
    try:
        buffer = _open_bytes(path) if fetched is None else fetched()
    except OSError as error:
        damage.unreadable = error.strerror or str(error)
        return
    crc = google_crc32c.value
    unpack_header = HEADER.unpack_from
    unpack_footer = FOOTER.unpack_from
    length_checks = _LENGTH_CHECKS
    try:
        size = len(buffer)
        search = None
        offset = 0
        while offset < size:
            if offset + 12 <= size:
                length, length_crc = unpack_header(buffer, offset)
                # The masking of masked_crc32c, inlined: this loop runs once per record.
                check = length_checks.get(length)
                if check is None:
                    if len(length_checks) >= _MAX_LENGTH_CHECKS:
                        length_checks.clear()
                    check = crc(buffer[offset:offset + 8])
                    check = length_checks[length] = (((check >> 15) | (check << 17)) + MASK_DELTA) & 0xFFFFFFFF
                end = offset + 12 + length
                if check == length_crc and end + 4 <= size:
                    data = buffer[offset + 12:end]
                    check = crc(data)
                    if (((check >> 15) | (check << 17)) + MASK_DELTA) & 0xFFFFFFFF == unpack_footer(buffer, end)[0]:
                        yield data
                        offset = end + 4
                        continue
            search = search or _Search(buffer, size)
            offset = _recover(search, offset, damage)
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
    from tensorboard.compat.proto import event_pb2  # here: a compare served by the parse cache never needs it

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
