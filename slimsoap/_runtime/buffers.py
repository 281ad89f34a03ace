"""Large zero-initialised output buffers, recycled between calls.

Gradient outputs are hundreds of MB per frame, and mapping fresh pages costs this VM more
system time than the gradient kernel itself: NumPy's huge-page allocations took 0.9–2.4 s
per GB on a first touch (the kernel compacts memory to find huge pages), ordinary pages
populated in one system call (MAP_POPULATE) ~0.3–0.4 s per GB. Allocators that serve many
smaller blocks from the heap (e.g. featomic's) reuse their pages from one call to the next.

So a new buffer is mapped with MAP_POPULATE where the platform has it, and the buffers
handed out go back to a small pool when the last array viewing them dies: the next request
of a similar size reuses one (zeroed with a memset, no page mapping). At most
:data:`MAX_POOLED` buffers are kept; :func:`free_cached_buffers` releases them.
"""

from __future__ import annotations

import mmap
import threading

import numpy as np

#: Below this many bytes, np.zeros is as good.
MIN_BYTES = 64 * 2**20
#: Buffers kept for reuse.
MAX_POOLED = 2
#: A pooled buffer serves a request of at least this fraction of its size.
MIN_FILL = 0.5

_pool: list[np.ndarray] = []
#: Guards the pool: arrays die (and return their buffers) in any thread. Re-entrant, since a
#: garbage collection inside a pool operation may run another buffer's return.
_lock = threading.RLock()


class _Owner:
    """Exports a raw buffer to NumPy and returns it to the pool when no array uses it."""

    def __init__(self, raw: np.ndarray, nbytes: int):
        self.raw = raw
        self.__array_interface__ = dict(raw[:nbytes].__array_interface__)

    def __del__(self):
        try:
            with _lock:
                _pool.append(self.raw)
                _pool.sort(key=lambda r: r.nbytes)
                while len(_pool) > MAX_POOLED:
                    _pool.pop(0)
        except Exception:  # interpreter shutdown
            pass


def zeros(size: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """A writable, zero-initialised 1-D array of ``size`` elements (recycled when large)."""
    dtype = np.dtype(dtype)
    nbytes = int(size) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.zeros(int(size), dtype=dtype)
    raw = None
    with _lock:
        for k, r in enumerate(_pool):
            if nbytes <= r.nbytes and nbytes >= MIN_FILL * r.nbytes:
                raw = _pool.pop(k)
                break
    if raw is None:
        raw = _fresh(nbytes)
    else:
        raw[:nbytes] = 0
    return np.asarray(_Owner(raw, nbytes)).view(dtype)


def _fresh(nbytes: int) -> np.ndarray:
    """Zeroed bytes, their pages mapped up front where the platform allows."""
    populate = getattr(mmap, "MAP_POPULATE", None)
    if populate is None:
        return np.zeros(nbytes, dtype=np.uint8)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=flags), dtype=np.uint8)


def free_cached_buffers() -> int:
    """Release the recycled output buffers; returns the bytes freed."""
    with _lock:
        freed = sum(r.nbytes for r in _pool)
        _pool.clear()
    return freed
