"""Large output buffers (zeroed gradients, uninitialised values), recycled between calls
through one bounded pool.

Gradient outputs are hundreds of MB per frame, and mapping fresh pages costs this VM more
system time than the gradient kernel itself: NumPy's huge-page allocations took 0.9–2.4 s
per GB on a first touch (the kernel compacts memory to find huge pages), ordinary pages
populated in one system call (MAP_POPULATE) ~0.3–0.4 s per GB. Allocators that serve many
smaller blocks from the heap (e.g. featomic's) reuse their pages from one call to the next.

So a new buffer is mapped with MAP_POPULATE where the platform has it, and a buffer handed
out by :meth:`BufferPool.zeros` goes back to its pool when the last array viewing it dies:
the next request of a similar size reuses it (zeroed with a memset, no page mapping).
Dense values, which the kernels overwrite entirely, come from :meth:`BufferPool.empty`: a
reused buffer as it is, a new one NumPy's, faulted in by the kernel threads that write it.
Measured on a 2-core Zen 5 VM (values computed and dropped in a loop, as a featurisation
does): 10 fcc 256-atom frames on 2 threads 71 → 41 ms per call (48 ms of system time
gone), 200 4-atom cells 21 → 11 ms.

The bound: a pool keeps at most ``max_buffers`` idle buffers holding at most ``max_bytes``
together (the smallest go first); buffers in use are the caller's and are never counted or
limited. The calculators share :data:`OUTPUT_BUFFERS` (2 buffers, 4 GiB);
:func:`free_cached_buffers` releases its idle buffers.
"""

from __future__ import annotations

import mmap
import threading

import numpy as np

#: Below this many bytes, np.zeros / np.empty are as good (never pooled): glibc serves
#: blocks up to 32 MiB from its heap once one has been freed, and maps every larger one
#: afresh (35 MB of 4-atom-cell values cost 8 ms of page faults in a 21 ms call).
MIN_BYTES = 16 * 2**20
#: A pooled buffer serves a request of at least this fraction of its size.
MIN_FILL = 0.5


class BufferPool:
    """Idle zeroed buffers for reuse, bounded in count and bytes; thread-safe.

    Args:
        max_buffers: idle buffers kept at most (≥ 0).
        max_bytes: bytes of idle buffers kept at most (≥ 0).
    """

    def __init__(self, max_buffers: int, max_bytes: int):
        for name, v in (("max_buffers", max_buffers), ("max_bytes", max_bytes)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be an integer ≥ 0, got {v!r}")
        self.max_buffers, self.max_bytes = int(max_buffers), int(max_bytes)
        self._idle: list[np.ndarray] = []  # ascending size
        # re-entrant: a garbage collection inside a pool operation may return a buffer
        self._lock = threading.RLock()

    @property
    def idle_bytes(self) -> int:
        """Bytes held by idle buffers."""
        with self._lock:
            return sum(r.nbytes for r in self._idle)

    def __len__(self) -> int:
        """Idle buffers held."""
        return len(self._idle)

    def zeros(self, size: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
        """A writable, zero-initialised 1-D array of ``size`` elements; from ``MIN_BYTES``
        on, its memory comes from (and returns to) this pool."""
        return self._array(size, dtype, True)

    def empty(self, size: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
        """A writable 1-D array of ``size`` elements whose values are undefined (the caller
        writes every one); from ``MIN_BYTES`` on, its memory comes from (and returns to)
        this pool, as :meth:`zeros`, reused without a memset, and a new buffer is NumPy's
        (its pages mapped on first touch, by whichever kernel thread writes them)."""
        return self._array(size, dtype, False)

    def _array(self, size: int, dtype: np.dtype | type, zeroed: bool) -> np.ndarray:
        """:meth:`zeros` (``zeroed``) or :meth:`empty`."""
        dtype = np.dtype(dtype)
        nbytes = int(size) * dtype.itemsize
        if nbytes < MIN_BYTES:
            return (np.zeros if zeroed else np.empty)(int(size), dtype=dtype)
        raw = self._take(nbytes)
        if raw is None:
            raw = _fresh(nbytes) if zeroed else np.empty(nbytes, dtype=np.uint8)
        elif zeroed:
            raw[:nbytes] = 0
        return np.asarray(_Owner(self, raw, nbytes)).view(dtype)

    def _take(self, nbytes: int) -> np.ndarray | None:
        """An idle buffer that can serve ``nbytes`` (removed from the pool), or None."""
        with self._lock:
            for k, r in enumerate(self._idle):
                if nbytes <= r.nbytes and nbytes >= MIN_FILL * r.nbytes:
                    return self._idle.pop(k)
        return None

    def clear(self) -> int:
        """Release every idle buffer; returns the bytes freed."""
        with self._lock:
            freed = sum(r.nbytes for r in self._idle)
            self._idle.clear()
        return freed

    def _give_back(self, raw: np.ndarray) -> None:
        with self._lock:
            self._idle.append(raw)
            self._idle.sort(key=lambda r: r.nbytes)
            total = sum(r.nbytes for r in self._idle)
            while self._idle and (len(self._idle) > self.max_buffers or total > self.max_bytes):
                total -= self._idle.pop(0).nbytes


class _Owner:
    """Exports a raw buffer to NumPy and gives it back to its pool when no array uses it."""

    def __init__(self, pool: BufferPool, raw: np.ndarray, nbytes: int):
        self.pool, self.raw = pool, raw
        self.__array_interface__ = dict(raw[:nbytes].__array_interface__)

    def __del__(self):
        try:
            self.pool._give_back(self.raw)
        except Exception:  # interpreter shutdown
            pass


def _fresh(nbytes: int) -> np.ndarray:
    """Zeroed bytes, their pages mapped up front where the platform allows."""
    populate = getattr(mmap, "MAP_POPULATE", None)
    if populate is None:
        return np.zeros(nbytes, dtype=np.uint8)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=flags), dtype=np.uint8)


#: The pool of the calculators' gradient outputs.
OUTPUT_BUFFERS = BufferPool(max_buffers=2, max_bytes=4 * 2**30)


def zeros(size: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """A zeroed 1-D output array from :data:`OUTPUT_BUFFERS` (see :meth:`BufferPool.zeros`)."""
    return OUTPUT_BUFFERS.zeros(size, dtype)


def empty(shape: int | tuple[int, ...], dtype: np.dtype | type = np.float64) -> np.ndarray:
    """An uninitialised C-contiguous output array of ``shape`` from :data:`OUTPUT_BUFFERS`
    (see :meth:`BufferPool.empty`): for outputs the caller overwrites entirely."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return OUTPUT_BUFFERS.empty(int(np.prod(shape, dtype=np.int64)), dtype).reshape(shape)


def free_cached_buffers() -> int:
    """Release the idle output buffers of :data:`OUTPUT_BUFFERS` and the kernel threads'
    scratch arrays (:mod:`slimsoap._runtime.scratch`); returns the bytes freed."""
    from slimsoap._runtime import scratch

    return OUTPUT_BUFFERS.clear() + scratch.clear()
