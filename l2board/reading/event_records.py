"""One event file -> raw records: its scalars, texts and other tags, in written order.

No rule is applied here: repeated and earlier steps are kept as written,
for `run_builder`, the one place that merges records into a run. A file
read before and unchanged since is served by `parse_cache`; large sets of
files are read by one worker process per core. Remote files (URLs) are
fetched a window ahead of the parsing, concurrently (`storage.fetch_ahead`).
"""

import os
import struct

import numpy as np

from l2board.reading import event_files, parse_cache, scalar_events, storage
from l2board.reading.event_files import FileDamage, iter_records, tensor_to_array, tensor_to_float
from l2board.reading.run_model import RecordSource
from l2board.reading.scalar_events import SCALARS_TENSOR, SIMPLE_VALUE, scalar_event

# The parse cache's entries go stale whenever the code that parses changes: its files are the parser's version.
parse_cache.use_reader(event_files.__file__, scalar_events.__file__, __file__)

_FLOAT32 = struct.Struct("<f")
# Below this many bytes of event files, starting worker processes costs
# more than it saves.
PARALLEL_MIN_BYTES = 8 << 20
# Below this many remote files, likewise: each costs a request, whatever its
# size, and a worker opens its own connections.
PARALLEL_MIN_URLS = 32
# TF1 summaries (tensorboardX) carry no plugin name, only the kind of value:
# recorded under the names the plugins have, so that a note reads "histograms".
_TF1_KINDS = {"histo": "histograms", "image": "images", "audio": "audio"}


def _scalar_of_unknown_plugin(value):
    # A tag whose metadata was lost with a damaged first record: a
    # one-element float tensor is read as a scalar rather than dropped.
    tensor = value.tensor
    return tensor_to_float(tensor) if tensor.dtype in (1, 2, 19) else None


def read_event_file(path, folder):
    """Reads one event file's records, from the parse cache when the file is unchanged since it was cached.

    Args:
        path: the event file.
        folder: its folder relative to the run ("" for the run's top).

    Returns:
        A `RecordSource` (see `parse_event_file`).
    """
    root = parse_cache.usable_root()
    key = parse_cache.file_key(path) if root else None
    source = parse_cache.load(path, folder, key, root) if key else None
    return source or _parse_and_store(path, folder, key, root)


def _parse_and_store(path, folder, key, root):
    """Parses a file and caches the result, with the digest of its bytes, when the file did not change meanwhile."""
    source = parse_event_file(path, folder)
    if key and not source.damage.unreadable:
        digest = parse_cache.content_digest(path)
        if parse_cache.file_key(path) == key:
            parse_cache.store(source, key, digest, root)
    return source


def parse_event_file(path, folder, fetched=None):
    """Reads one event file's records from the file itself.

    This is the reader's inner loop, once per summary value: it looks the
    plugin of a tag up once (TensorFlow writes the metadata only with a
    tag's first value in each file) and reads scalars without NumPy.

    Args:
        path: the event file.
        folder: its folder relative to the run ("" for the run's top).
        fetched: what returns its bytes when they were fetched already (a
            URL's, see `storage.fetch_ahead`).

    Returns:
        A `RecordSource` whose scalars are `(int64 steps, float64 values)`
        arrays; damage is in its `damage` (a `FileDamage`, also when
        intact), never in its values.
    """
    from tensorboard.compat.proto import event_pb2  # here: a compare served by the parse cache never needs it

    damage = FileDamage(path)
    scalars, texts, other_tags, plugins = {}, {}, {}, {}
    unpack_float = _FLOAT32.unpack
    from_string = event_pb2.Event.FromString
    first_wall_time = None
    # iter_events's loop, inlined: one generator fewer per record.
    for data in iter_records(path, damage, fetched):
        # Most records are one scalar each, decoded from their bytes; a tag's plugin as protobuf's path has it.
        fast = scalar_event(data)
        if fast is not None:
            tag, step, wall_time, kind, number = fast
            plugin = plugins.get(tag)
            if plugin is None:  # the plugin its metadata names, as below
                plugin = plugins[tag] = "scalars" if kind == SCALARS_TENSOR else ""
            # What the path below makes of it: a tensor is a scalar of the scalars plugin, a simple value of
            # any plugin but those two.
            if kind == SIMPLE_VALUE:
                read_as_scalar = plugin != "scalars" and plugin != "text"
            else:
                read_as_scalar = plugin == "scalars"
            if read_as_scalar:
                if first_wall_time is None:
                    first_wall_time = wall_time
                series = scalars.get(tag)
                if series is None:
                    series = scalars[tag] = ([], [])
                series[0].append(step)
                series[1].append(number)
                continue
        try:
            event = from_string(data)
        except Exception:  # noqa: BLE001 - protobuf raises DecodeError and others
            damage.bad_records += 1
            continue
        if first_wall_time is None:
            first_wall_time = event.wall_time
        step = event.step
        for value in event.summary.value:
            key = value.tag
            plugin = plugins.get(key)
            if plugin is None:
                plugin = plugins[key] = value.metadata.plugin_data.plugin_name
            if plugin == "scalars":
                tensor = value.tensor
                content = tensor.tensor_content
                if tensor.dtype == 1 and len(content) == 4:  # float32, as tf.summary.scalar writes
                    number = unpack_float(content)[0]
                else:
                    number = tensor_to_float(tensor)
                    if number is None:
                        damage.bad_records += 1
                        continue
            elif plugin == "text":
                try:
                    texts.setdefault(key, []).append((step, text_of(tensor_to_array(value.tensor))))
                except ValueError:
                    damage.bad_records += 1
                continue
            else:
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    number = value.simple_value
                elif not plugin and kind == "tensor" and (number := _scalar_of_unknown_plugin(value)) is not None:
                    pass
                else:
                    other_tags[key] = plugin or _TF1_KINDS.get(kind, kind)
                    continue
            series = scalars.get(key)
            if series is None:
                series = scalars[key] = ([], [])
            series[0].append(step)
            series[1].append(number)
    arrays = {tag: (np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64))
              for tag, (steps, values) in scalars.items()}
    return RecordSource(path, folder, arrays, texts, other_tags, damage, first_wall_time)


def text_of(array):
    """Returns the string held by a text summary's tensor (decoded as UTF-8).

    Example:

    >>> text_of(np.array([b"L2 0.01 on conv1"], dtype=object))
    'L2 0.01 on conv1'
    """
    array = np.asarray(array)
    item = array.reshape(-1)[0] if array.size else b""
    return item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)


def _worker_started():
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: a terminated worker ends quietly


def _read_job(job):
    return _parse_and_store(*job)


def _read_urls(jobs):
    """Reads `[(url, folder)]`, each file fetched while those before it are parsed. Never cached (see `parse_cache`)."""
    fetched = storage.fetch_ahead([url for url, _ in jobs])
    return [parse_event_file(url, folder, read) for (url, folder), (_, read) in zip(jobs, fetched)]


def read_event_files(jobs):
    """Reads `[(path, folder)]`: unchanged files from the parse cache, the others in worker processes when that pays.

    Returns:
        The `RecordSource` of each job, in the order given.
    """
    root = parse_cache.usable_root()
    keys = [parse_cache.file_key(path) if root else None for path, _ in jobs]
    results = [parse_cache.load(path, folder, key, root) if key else None for (path, folder), key in zip(jobs, keys)]
    missing = [i for i, source in enumerate(results) if source is None]
    if not missing:
        return results
    remote = [i for i in missing if storage.is_url(jobs[i][0])]
    local = [i for i in missing if not storage.is_url(jobs[i][0])]
    work = [(*jobs[i], keys[i], root) for i in local]
    fresh = _read_in_parallel(work) or [_read_job(job) for job in work]
    urls = [jobs[i] for i in remote]
    fresh += _read_urls_in_parallel(urls) or _read_urls(urls)
    for i, source in zip(local + remote, fresh):
        results[i] = source
    if root and any(keys[i] for i in local):
        parse_cache.prune(root, in_use=[parse_cache.entry_path(root, key[0]) for key in keys if key])
    return results


def _workers():
    """How many worker processes may read here, or 0 when forking them is unsafe or pointless."""
    import multiprocessing
    import sys

    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    if "tensorflow" in sys.modules:
        return 0  # forking a process that runs TensorFlow's threads is unsafe
    return workers


def _read_in_parallel(work):
    """Reads `[(path, folder, key, root)]` in worker processes when that pays and is safe, else returns None."""
    workers = _workers()
    if not workers or len(work) < 2:
        return None
    try:
        size = sum(key[1] if key else os.path.getsize(path) for path, _, key, _ in work)
    except OSError:
        return None
    if size < PARALLEL_MIN_BYTES:
        return None
    # Larger files first, in small chunks, so that no worker is left with the largest at the end.
    order = sorted(range(len(work)), key=lambda i: -(work[i][2][1] if work[i][2] else 0))
    chunk = max(1, min(16, len(work) // (workers * 16)))
    done = _in_workers(workers, _read_job, [work[i] for i in order], chunk)
    results = [None] * len(work)
    for i, source in zip(order, done):
        results[i] = source
    return results


def _read_urls_in_parallel(jobs):
    """Reads `[(url, folder)]` in worker processes, each fetching its share ahead, or returns None (too few, unsafe).

    A share is a few fetch windows of files, so that each worker keeps its
    window full and the workers end together.
    """
    workers = _workers()
    if not workers or len(jobs) < PARALLEL_MIN_URLS:
        return None
    size = min(4 * storage.FETCH_WINDOW, -(-len(jobs) // workers))
    done = _in_workers(workers, _read_urls, [jobs[i:i + size] for i in range(0, len(jobs), size)], 1)
    return [source for share in done for source in share]


def _in_workers(workers, function, tasks, chunk):
    """`[function(task) for task in tasks]`, computed by `workers` forked processes."""
    import multiprocessing

    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_started)
    try:
        done = pool.map(function, tasks, chunksize=chunk)
        pool.close()  # the workers end by themselves, not by SIGTERM
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return done
