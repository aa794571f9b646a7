"""A cache of parsed event files, so that a second `l2board compare` does not parse them again.

One entry per event file, keyed by its absolute path, size, modification
time (`st_mtime_ns`), inode and change time: a file that grows (a run still
training), is rewritten or replaced is parsed again. Entries live in the
user's cache folder, never beside the logs: `$XDG_CACHE_HOME/l2board`
(`~/.cache/l2board` without it). `L2BOARD_CACHE=off` turns the cache off;
`L2BOARD_CACHE_MAX_MB` bounds its size (default 1024, `inf` for no bound).

No one but the user can change a report through the cache (and the user's
own account could as well change the logs themselves):

* An entry is used only where nobody else can have written it. As pip and
  ssh do, the cache folder (and its entry folder) must be the user's own
  and writable by nobody else; otherwise the cache is not used at all, with
  one warning that says why. Folders are created so (mode 700), and an entry
  file that is not the user's, or that others may write, is ignored.
* An entry stands for the bytes it was parsed from: it holds their CRC-32C
  (computed in hardware; docs/benchmarks.md measures its cost on the warm
  read) and is used only while the file's bytes still have it, whatever
  its size and times say.
* Every field of its header must have the type this module writes.

An entry is l2board's own binary format, not a pickle: a checksummed (CRC-32) body
holding a JSON header (the key, the file's digest, texts, other tags, damage notes) and the
steps and values of every scalar as int64 and float64 arrays, which load
with one read and no parsing per point. Reading an entry is never an
error: a damaged, foreign, stale or ill-typed one is ignored and written again.

* Versioned: the entry folder and every entry carry `FORMAT` and a
  fingerprint of the reader (l2board's version and the size and
  modification time of the modules that parse), so an l2board that reads
  differently never reads an older cache.
* Safe under concurrent processes: an entry is written to a temporary file
  in the same folder and renamed over the old one; readers see a whole
  entry or none. An entry is stored only when the event file did not change
  while it was parsed.
* Bounded: when a process has stored entries and the cache exceeds its cap,
  the least recently used entries go (a hit marks an entry used at most
  once a day, so that warm reads write nothing), those of the read that
  stored last. A read larger than the cap keeps its first entries and
  parses the rest each time, with a warning, rather than evict what its
  next time will need first. Entries of files that are
  gone, or of an older reader, are never used again and age out so.
* Local files only: a path with `://` is never cached.
"""

import json
import math
import os
import stat
import struct
import tempfile
import time
import warnings
import zlib

import google_crc32c
import numpy as np

FORMAT = 1
ENV_SWITCH = "L2BOARD_CACHE"
ENV_MAX_MB = "L2BOARD_CACHE_MAX_MB"
DEFAULT_MAX_BYTES = 1 << 30
_OFF = {"off", "0", "false", "no", "none", "disabled"}
_MAGIC = b"L2BCACHE"
# magic | uint32 format | uint64 body length | uint32 CRC-32 (zlib) of the body
_PREAMBLE = struct.Struct("<8sIQI")
_JSON_LENGTH = struct.Struct("<I")
_SUFFIX = ".l2c"
# A hit refreshes its entry's modification time (the LRU order) when older than this.
_TOUCH_AFTER_S = 86400
# After pruning, the cache holds at most this share of its cap.
_PRUNE_TO = 0.8
_READ_CHUNK = 1 << 20


class CacheWarning(UserWarning):
    """The parse cache cannot be used as configured; l2board reads without it (or with its default)."""


# What this process did (workers of a parallel read count in their own process).
stats = {"hits": 0, "misses": 0, "stores": 0, "ignored": 0, "pruned": 0}
_fingerprint = None
# The files of the code that parses, handed over by the parser (`event_records`, which imports this module).
_reader_files = ()


def use_reader(*files):
    """Takes the files of the parser's code, its version: a change to any of them makes every entry stale."""
    global _reader_files, _fingerprint
    _reader_files, _fingerprint = files, None


def cache_root():
    """Returns the cache folder for this process, or `None` when the cache is off.

    `$XDG_CACHE_HOME/l2board`, or `~/.cache/l2board` when that is unset or
    not absolute (as the XDG specification says); `None` when
    `L2BOARD_CACHE` is `off` (or `0`, `false`, `no`) or no home folder is known.
    """
    if os.environ.get(ENV_SWITCH, "").strip().lower() in _OFF:
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "l2board")


def usable_root():
    """Returns the cache folder when the cache is on and the folder may be trusted, else `None`.

    A folder that is not the user's own, or that others may write, is not
    used: one `CacheWarning` says why and what to do. A folder that does not
    exist yet is fine (it is created private).
    """
    root = cache_root()
    if root is None:
        return None
    reason = refusal(root)
    if reason is None:
        return root
    warnings.warn(f"l2board's parse cache '{root}' is not used: {reason}; make it yours alone (chmod 700, owned by "
                  f"you) or set {ENV_SWITCH}=off.", CacheWarning, stacklevel=2)
    return None


def refusal(root):
    """Why the cache folder `root` may not be trusted, or `None` (it is the user's alone, or absent)."""
    for folder in (root, entries_folder(root)):
        try:
            info = os.stat(folder)
        except FileNotFoundError:
            return None
        except OSError as error:
            return f"it cannot be examined ({error.strerror or error})"
        if not stat.S_ISDIR(info.st_mode):
            return f"'{folder}' is not a folder"
        if info.st_uid != os.geteuid():
            return f"'{folder}' is owned by user {info.st_uid}, not by you (user {os.geteuid()})"
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"others may write to '{folder}' (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def entries_folder(root):
    """The folder of this format's entries inside a cache folder."""
    return os.path.join(root, f"parsed-v{FORMAT}")


def max_bytes():
    """The cache's size cap in bytes: `L2BOARD_CACHE_MAX_MB` megabytes (default 1024; `inf`: no cap).

    Anything but a number of 0 or more gives one `CacheWarning` and the default.
    """
    text = os.environ.get(ENV_MAX_MB, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if math.isnan(megabytes) or megabytes < 0:
        warnings.warn(f"{ENV_MAX_MB} is '{text}', not a number of megabytes (0 or more, or inf for no cap); "
                      f"the default, {DEFAULT_MAX_BYTES >> 20}, is used.", CacheWarning, stacklevel=2)
        return DEFAULT_MAX_BYTES
    return math.inf if math.isinf(megabytes) else int(megabytes * (1 << 20))


def reader_fingerprint():
    """A string that changes whenever the reader may read differently (version and parsing modules)."""
    global _fingerprint
    if _fingerprint is None:
        import l2board

        parts = [f"format {FORMAT}", f"l2board {l2board.__version__}"]
        for path in (*_reader_files, __file__):
            try:
                info = os.stat(path)
                parts.append(f"{os.path.basename(path)} {info.st_size} {info.st_mtime_ns}")
            except (OSError, TypeError):
                parts.append(f"{path} unknown")
        _fingerprint = "; ".join(parts)
    return _fingerprint


def file_key(path):
    """Returns what identifies one state of a local regular file, or `None` (remote, absent, not a file)."""
    if "://" in str(path):
        return None
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return [os.path.abspath(path), info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]


def content_digest(path):
    """The CRC-32C of a local file's bytes, or `None` when it cannot be read (or is no regular file)."""
    try:
        # O_NONBLOCK: a file replaced by a FIFO since it was examined must not wait for a writer.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError):
        return None
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                return None
            digest = 0
            while chunk := handle.read(_READ_CHUNK):
                digest = google_crc32c.extend(digest, chunk)
            return digest
        except OSError:
            return None


def entry_path(root, absolute_path):
    """The entry file of one event file (its absolute path hashed, with the reader's fingerprint)."""
    import hashlib

    digest = hashlib.sha256(f"{reader_fingerprint()}\0{absolute_path}".encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(entries_folder(root), digest[:2], digest + _SUFFIX)


def load(path, folder, key=None, root=None):
    """Returns the cached `RecordSource` of an event file in the state `key`, or `None`.

    Args:
        path: the event file, as the caller names it (the source and its
            damage note carry this path).
        folder: its folder relative to the run.
        key: `file_key(path)`, when already known.
        root: the cache folder, vetted by `usable_root()` (default: `usable_root()`).
    """
    root = root or usable_root()
    key = key or file_key(path)
    if root is None or key is None:
        return None
    entry = entry_path(root, key[0])
    try:
        with open(entry, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise ValueError("an entry someone else may have written")
            data = bytearray(info.st_size)
            if handle.readinto(data) != info.st_size:
                raise ValueError("short read")
    except FileNotFoundError:
        stats["misses"] += 1
        return None
    except (OSError, ValueError):
        stats["ignored"] += 1
        return None
    try:
        source = _decode(data, key, path, folder)
    except Exception:  # noqa: BLE001 - any damage to an entry means: parse the file again
        source = None
    if source is None:
        stats["ignored"] += 1
        return None
    stats["hits"] += 1
    if time.time() - info.st_mtime > _TOUCH_AFTER_S:
        try:
            os.utime(entry)
        except OSError:
            pass
    return source


def store(source, key, digest, root=None):
    """Writes the entry of `source`, the parse of the file in state `key` whose bytes have `digest`.

    Returns whether it was written. Never raises: a cache that cannot be
    written (read-only home, full disk) leaves the reading as it was.
    """
    root = root or usable_root()
    if root is None or key is None or digest is None:
        return False
    entry = entry_path(root, key[0])
    folder = os.path.dirname(entry)
    temporary = None
    try:
        data = _encode(source, key, digest)
        if not os.path.isdir(folder):
            os.makedirs(root, mode=0o700, exist_ok=True)  # what the logs hold is the user's alone
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if refusal(root) is not None:  # made by someone else meanwhile
                return False
        descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=folder)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, entry)
        temporary = None
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
    stats["stores"] += 1
    return True


def prune(root=None, limit=None, in_use=()):
    """Deletes the least recently used entries until the cache holds at most 80% of its cap, or its cap.

    `in_use` names the entries of the read that calls it (`entry_path`s, in
    the read's order): they go last, and only down to the cap (others go
    down to 80% of it). Should they alone exceed the cap, those
    last in the read's order go, so that the same read done again finds the
    same first entries every time, and the others parsed (a cyclic read of a
    set larger than the cache would otherwise find none: least recently used
    is its worst case); one `CacheWarning` says what cap would hold them all.

    Also deletes temporary files left by a process killed while writing
    (older than an hour). Returns how many files were deleted; never raises.
    """
    root = root or usable_root()
    if root is None:
        return 0
    limit = max_bytes() if limit is None else limit
    rank = {path: position for position, path in enumerate(in_use)}
    others, used, total, deleted = [], [], 0, 0
    now = time.time()
    try:
        folders = [e.path for e in os.scandir(entries_folder(root)) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return 0
    for folder in folders:
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    try:
                        info = item.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if item.name.startswith(".tmp-"):
                        if now - info.st_mtime > 3600 and _unlink(item.path):
                            deleted += 1
                        continue
                    if item.name.endswith(_SUFFIX):
                        position = rank.get(item.path)
                        if position is None:
                            others.append((info.st_mtime, info.st_size, item.path))
                        else:
                            used.append((-position, info.st_size, item.path))
                        total += info.st_size
        except OSError:
            continue
    if total > limit:
        in_use_bytes = sum(size for _, size, _ in used)
        others.sort()
        used.sort()  # the last of the read first
        for keep_at_most, group in ((limit * _PRUNE_TO, others), (limit, used)):
            for _, size, path in group:
                if total <= keep_at_most:
                    break
                if _unlink(path):
                    deleted += 1
                    total -= size
        if in_use_bytes > limit > 0:
            warnings.warn(f"l2board's parse cache holds part of these runs only: their entries take "
                          f"{_megabytes(in_use_bytes)} MB, over its cap of {limit / (1 << 20):.10g} MB; set "
                          f"{ENV_MAX_MB}={_megabytes(in_use_bytes * 1.25)} or more to read them all from it.",
                          CacheWarning, stacklevel=2)
    stats["pruned"] += deleted
    return deleted


def _megabytes(size):
    """Bytes as whole megabytes (MiB, as `L2BOARD_CACHE_MAX_MB` counts them), rounded up."""
    return -(-int(size) // (1 << 20))


def _unlink(path):
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


# -- the entry format ------------------------------------------------------------------------------------------

def _encode(source, key, digest):
    """`RecordSource` -> entry bytes; the path is left out (the caller's name for the file is used on load)."""
    tags, steps, values = [], [], []
    for tag, (tag_steps, tag_values) in source.scalars.items():
        tag_steps = np.asarray(tag_steps, dtype=np.int64)
        tag_values = np.asarray(tag_values, dtype=np.float64)
        if tag_steps.shape != tag_values.shape or tag_steps.ndim != 1:
            raise ValueError("a series whose steps and values differ in length")
        tags.append([tag, len(tag_steps)])
        steps.append(tag_steps)
        values.append(tag_values)
    damage = source.damage
    header = {
        "format": FORMAT, "reader": reader_fingerprint(), "key": key, "digest": digest, "tags": tags,
        "texts": [[tag, [[int(step), text] for step, text in points]] for tag, points in source.texts.items()],
        "other_tags": [[tag, plugin] for tag, plugin in source.other_tags.items()],
        "damage": None if damage is None else {
            "bad_records": damage.bad_records, "resyncs": damage.resyncs, "skipped_bytes": damage.skipped_bytes,
            "truncated": damage.truncated, "unreadable": damage.unreadable, "unframed_tail": damage.unframed_tail},
        "first_wall_time": source.first_wall_time,
    }
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = -(_JSON_LENGTH.size + len(text)) % 8  # the arrays start 8-byte aligned
    body = b"".join([_JSON_LENGTH.pack(len(text) + pad), text, b" " * pad,
                     np.concatenate(steps).tobytes() if steps else b"",
                     np.concatenate(values).tobytes() if values else b""])
    return _PREAMBLE.pack(_MAGIC, FORMAT, len(body), zlib.crc32(body)) + body


def _decode(data, key, path, folder):
    """Entry bytes -> `RecordSource`, or `None` when the entry is not one of this file's bytes and this reader."""
    from l2board.reading.event_files import FileDamage
    from l2board.reading.run_model import RecordSource

    if len(data) < _PREAMBLE.size:
        return None
    magic, version, length, checksum = _PREAMBLE.unpack_from(data, 0)
    if magic != _MAGIC or version != FORMAT or length != len(data) - _PREAMBLE.size:
        return None
    body = memoryview(data)[_PREAMBLE.size:]
    if zlib.crc32(body) != checksum:
        return None
    (text_length,) = _JSON_LENGTH.unpack_from(body, 0)
    start = _JSON_LENGTH.size + text_length
    header = json.loads(bytes(body[_JSON_LENGTH.size:start]))
    if not _well_typed(header) or header["format"] != FORMAT or header["reader"] != reader_fingerprint() \
            or header["key"] != key:
        return None
    counts = [count for _, count in header["tags"]]
    points = sum(counts)
    if len(body) != start + 16 * points or content_digest(path) != header["digest"]:
        return None
    steps = np.frombuffer(data, dtype="<i8", count=points, offset=_PREAMBLE.size + start)
    values = np.frombuffer(data, dtype="<f8", count=points, offset=_PREAMBLE.size + start + 8 * points)
    scalars, position = {}, 0
    for (tag, _), count in zip(header["tags"], counts):
        scalars[tag] = (steps[position:position + count], values[position:position + count])
        position += count
    damage = header["damage"]
    if damage is not None:
        damage = FileDamage(path, **damage)
    return RecordSource(
        path, folder, scalars,
        texts={tag: [(step, text) for step, text in points_] for tag, points_ in header["texts"]},
        other_tags=dict(header["other_tags"]), damage=damage, first_wall_time=header["first_wall_time"])


def _is_count(value):
    return type(value) is int and value >= 0


def _pairs(value, first, second):
    return type(value) is list and all(
        type(pair) is list and len(pair) == 2 and first(pair[0]) and second(pair[1]) for pair in value)


def _is_text(value):
    return type(value) is str


def _is_flag(value):
    return type(value) is bool


# The fields of a FileDamage an entry keeps, each with the test its value must pass.
_DAMAGE_FIELDS = {"bad_records": _is_count, "resyncs": _is_count, "skipped_bytes": _is_count, "truncated": _is_flag,
                  "unreadable": lambda value: value is None or _is_text(value), "unframed_tail": _is_flag}


def _well_typed(header):
    """Whether every field of an entry's header has the type `_encode` writes (what `_decode` relies on)."""
    if type(header) is not dict:
        return False
    damage = header.get("damage")
    return (type(header.get("format")) is int and type(header.get("reader")) is str
            and type(header.get("key")) is list and _is_count(header.get("digest"))
            and _pairs(header.get("tags"), _is_text, _is_count)
            and len({tag for tag, _ in header["tags"]}) == len(header["tags"])
            and _pairs(header.get("texts"), _is_text,
                       lambda points: _pairs(points, lambda step: type(step) is int, _is_text))
            and _pairs(header.get("other_tags"), _is_text, _is_text)
            and (damage is None or (type(damage) is dict and damage.keys() == _DAMAGE_FIELDS.keys()
                                    and all(check(damage[name]) for name, check in _DAMAGE_FIELDS.items())))
            and (header.get("first_wall_time") is None or type(header["first_wall_time"]) is float))
