"""One event file -> raw records: its scalars, texts and other tags, in written order.

No rule is applied here: repeated and earlier steps are kept as written,
for `run_builder`, the one place that merges records into a run. Large
sets of files are read by one worker process per core.
"""

import itertools
import os
import struct

import numpy as np

from l2board.reading.event_files import FileDamage, iter_events, tensor_to_array, tensor_to_float
from l2board.reading.run_model import RecordSource

_FLOAT32 = struct.Struct("<f")
# Below this many bytes of event files, starting worker processes costs
# more than it saves.
PARALLEL_MIN_BYTES = 8 << 20
# TF1 summaries (tensorboardX) carry no plugin name, only the kind of value:
# recorded under the names the plugins have, so that a note reads "histograms".
_TF1_KINDS = {"histo": "histograms", "image": "images", "audio": "audio"}


def _scalar_of_unknown_plugin(value):
    # A tag whose metadata was lost with a damaged first record: a
    # one-element float tensor is read as a scalar rather than dropped.
    tensor = value.tensor
    return tensor_to_float(tensor) if tensor.dtype in (1, 2, 19) else None


def read_event_file(path, folder):
    """Reads one event file's records.

    This is the reader's inner loop, once per summary value: it looks the
    plugin of a tag up once (TensorFlow writes the metadata only with a
    tag's first value in each file) and reads scalars without NumPy.

    Args:
        path: the event file.
        folder: its folder relative to the run ("" for the run's top).

    Returns:
        A `RecordSource`; damage is in its `damage`, never in its values.
    """
    damage = FileDamage(path)
    scalars, texts, other_tags, plugins = {}, {}, {}, {}
    unpack_float = _FLOAT32.unpack
    events = iter_events(path, damage)
    first = next(events, None)
    for event in itertools.chain(() if first is None else (first,), events):
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
    return RecordSource(path, folder, scalars, texts, other_tags, damage, None if first is None else first.wall_time)


def text_of(array):
    """Returns the string held by a text summary's tensor (decoded as UTF-8).

    Example:

    >>> text_of(np.array([b"L2 0.01 on conv1"], dtype=object))
    'L2 0.01 on conv1'
    """
    array = np.asarray(array)
    item = array.reshape(-1)[0] if array.size else b""
    return item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)


def _read_job(job):
    return read_event_file(*job)


def read_event_files(jobs):
    """Reads `[(path, folder)]`, in worker processes when that pays and is safe.

    Returns:
        The `RecordSource` of each job, in the order given.
    """
    return _read_in_parallel(jobs) or [read_event_file(path, folder) for path, folder in jobs]


def _read_in_parallel(jobs):
    """Reads files in worker processes when that pays and is safe, else returns None."""
    import multiprocessing
    import sys

    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(jobs) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    if "tensorflow" in sys.modules:
        return None  # forking a process that runs TensorFlow's threads is unsafe
    try:
        size = sum(os.path.getsize(path) for path, _ in jobs)
    except OSError:
        return None
    if size < PARALLEL_MIN_BYTES:
        return None
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_read_job, jobs, chunksize=1)
