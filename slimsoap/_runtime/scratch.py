"""Per-thread scratch arrays for the temporaries a kernel thread needs range after range.

A coefficient stream expands one range of centres at a time (≤ 4 MiB of blocks) and the
contraction reads them at once. Allocated and freed per range, those blocks made glibc trim
the worker threads' heaps after each call and fault the pages in again on the next one
(QM9, 500 molecules on 2 threads: ~7,800 page faults and ~20 ms of system time per call in 3
of 5 runs, none with scratch arrays).

:func:`scratch` hands out a view of the calling thread's buffer for a key, grown when a
request is larger: it is valid until that thread asks for the same key again, so only a
caller that finishes with the array before its next request may use it (the stream's
blocks are contracted before the next range is expanded). :func:`clear` releases every
thread's buffers.
"""

from __future__ import annotations

import threading

import numpy as np

_LOCAL = threading.local()
_ALL: list[dict] = []  # every thread's buffers, for clear()
_LOCK = threading.Lock()


def scratch(key: object, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` in the calling thread's buffer for
    ``key`` (reused: valid until this thread's next request for ``key``)."""
    buffers = getattr(_LOCAL, "buffers", None)
    if buffers is None:
        buffers = _LOCAL.buffers = {}
        with _LOCK:
            _ALL.append(buffers)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = buffers.get(key)
    if raw is None or raw.nbytes < nbytes:
        raw = buffers[key] = np.empty(max(nbytes, 1), dtype=np.uint8)
    return raw[:nbytes].view(dtype).reshape(shape)


def clear() -> int:
    """Drop every thread's scratch buffers (arrays still viewing one keep it alive);
    returns the bytes released."""
    with _LOCK:
        freed = sum(raw.nbytes for buffers in _ALL for raw in list(buffers.values()))
        for buffers in _ALL:
            buffers.clear()
    return freed
