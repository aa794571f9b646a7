"""Hands back to the operating system the memory this process has freed but its C allocator still holds.

A compare reads each event file's parsed records (from the parse cache:
blocks of about 100 KB, one per file) into glibc's heap. Once the runs are
analysed Python frees them, but glibc keeps the freed heap, where the
report's objects (in Python's own arenas) and its text (large blocks, mapped
apart) never go: on 10,000 runs, 850 MiB held for nothing while the report
is made (docs/benchmarks.md). `malloc_trim` returns it. Elsewhere than
glibc (macOS, musl) this does nothing.
"""

import ctypes
import functools


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc
        return None


def return_freed_memory():
    """Returns the C heap's free memory to the operating system, where the C library can (glibc's `malloc_trim`)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
