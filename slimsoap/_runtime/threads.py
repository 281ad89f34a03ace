"""The threads slimsoap's kernels run in: one owned pool, sized by ``set_num_threads``.

The Numba kernels release the GIL and write disjoint outputs per centre, so ranges of
centres run in plain Python threads (no Numba threading layer is used). The number of
threads is ``NUMBA_NUM_THREADS`` from the environment (default: the CPUs this process may
run on) until :func:`set_num_threads` changes it. The one pool of worker threads is made
on first use, replaced when the count changes, and shut down at interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Below this much work (e.g. pairs) per call, a kernel runs in the calling thread.
MIN_WORK = 128
#: Least work per thread when a call is split.
WORK_PER_THREAD = 64


#: Set in the pool's worker threads: work submitted from a worker runs in that worker
#: (nested splitting would wait on the pool it occupies).
_WORKER = threading.local()


def _in_worker(work: Callable, *args) -> None:
    _WORKER.inside = True
    try:
        work(*args)
    finally:
        _WORKER.inside = False


class KernelThreads:
    """A thread count and the pool of that many workers that kernels are split over.

    Calls made from inside a worker (work spread with :meth:`map_ranges` that itself calls
    kernels through :meth:`run` or :meth:`map_ranges`) run in that worker: one level of
    threads, never a wait on the pool from within it."""

    def __init__(self, n_threads: int):
        self._n = _check_threads(n_threads)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> int:
        """The thread count set (:func:`set_num_threads`)."""
        return self._n

    @property
    def n_threads(self) -> int:
        """Threads a kernel call is split over (at most): 1 inside a worker."""
        return 1 if getattr(_WORKER, "inside", False) else self._n

    def set(self, n_threads: int) -> None:
        """Use ``n_threads`` (≥ 1) from the next kernel call; the old pool is shut down
        (calls already running finish in it)."""
        n = _check_threads(n_threads)
        with self._lock:
            if n != self._n and self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None
            self._n = n

    def run(self, kernel: Callable, args: tuple, offsets: np.ndarray) -> None:
        """kernel(*args, first, stop) over all centres, split into up to ``n_threads``
        ranges of about equal work ``offsets`` (n_centres + 1,) cumulative."""
        n = len(offsets) - 1
        work = int(offsets[-1])
        threads = 1 if work < MIN_WORK else min(self.n_threads, n, work // WORK_PER_THREAD)
        if threads <= 1:
            kernel(*args, 0, n)
            return
        cuts = np.searchsorted(offsets, np.linspace(0, offsets[-1], threads + 1)[1:-1])
        bounds = np.concatenate([[0], cuts, [n]]).astype(np.int64)
        with self._lock:  # submitted under the lock: set() cannot shut the pool down between
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._n, thread_name_prefix="slimsoap")
            jobs = [
                self._pool.submit(_in_worker, kernel, *args, int(a), int(b))
                for a, b in zip(bounds[:-1], bounds[1:])
                if b > a
            ]
        for job in jobs:
            job.result()

    def map_ranges(self, work: Callable[[int, int], None], bounds: np.ndarray) -> None:
        """work(a, b) for every range of consecutive ``bounds`` (k+1,), spread over the
        threads (each takes the next range when it is free); in the calling thread when
        there is one thread or one range. ``work`` may call kernels directly or through
        :meth:`run` and :meth:`map_ranges`, which then run them in its worker."""
        ranges = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        if self.n_threads <= 1 or len(ranges) <= 1:
            for a, b in ranges:
                work(a, b)
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._n, thread_name_prefix="slimsoap")
            jobs = [self._pool.submit(_in_worker, work, a, b) for a, b in ranges]
        for job in jobs:
            job.result()

    def shutdown(self) -> None:
        """Stop the worker threads (a later call makes a new pool)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


def _check_threads(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"the number of threads must be an integer ≥ 1, got {n!r}")
    return int(n)


def _default_threads() -> int:
    """``NUMBA_NUM_THREADS`` if set, else the CPUs available to this process."""
    value = os.environ.get("NUMBA_NUM_THREADS")
    if value is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        return len(cpus) if cpus else os.cpu_count() or 1
    try:
        return _check_threads(int(value))
    except ValueError:
        raise ValueError(f"NUMBA_NUM_THREADS must be an integer ≥ 1, got {value!r}") from None


_THREADS = KernelThreads(_default_threads())
atexit.register(_THREADS.shutdown)


def run_in_threads(kernel: Callable, args: tuple, offsets: np.ndarray) -> None:
    """Run a GIL-releasing kernel over all centres in the kernel threads
    (:meth:`KernelThreads.run`)."""
    _THREADS.run(kernel, args, offsets)


def map_ranges(work: Callable[[int, int], None], bounds: np.ndarray) -> None:
    """Run ``work(a, b)`` over the ranges of ``bounds`` in the kernel threads
    (:meth:`KernelThreads.map_ranges`)."""
    _THREADS.map_ranges(work, bounds)


def work_ranges(offsets: np.ndarray, per_centre: int, per_pair: int, max_bytes: int) -> np.ndarray:
    """Bounds (k+1,) cutting centres into ranges of about equal work for the threads, each
    holding at most ``max_bytes`` of temporaries (``per_centre`` bytes per centre and
    ``per_pair`` per pair, a range holds at least one centre).

    Args:
        offsets: (n_centres+1,) cumulative pairs of the centres.
        per_centre, per_pair: bytes of temporaries a range needs per centre and per pair.
        max_bytes: bound on one range's temporaries.

    There are at least as many ranges as threads when there are that many centres, so a
    single frame is shared out too. The ranges depend on the thread count, never the
    numbers: each centre is computed alone.
    """
    n = len(offsets) - 1
    cost = np.arange(n + 1) * per_centre + np.asarray(offsets, dtype=np.int64) * per_pair
    k = max(min(_THREADS.n_threads, n), int(np.ceil(cost[-1] / max(max_bytes, 1))), 1)
    cuts = np.searchsorted(cost, np.linspace(0, cost[-1], k + 1)[1:-1])
    return np.unique(np.concatenate([[0], cuts, [n]])).astype(np.int64)


def set_num_threads(n: int) -> None:
    """Number of threads slimsoap's kernels use from now on (an integer ≥ 1).

    Results are bit-identical for any count (centres are split, never a sum). The default
    is ``NUMBA_NUM_THREADS`` from the environment, else the CPUs available.
    """
    _THREADS.set(n)


def get_num_threads() -> int:
    """Number of threads slimsoap's kernels use."""
    return _THREADS.configured
