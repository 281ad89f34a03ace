"""Run a GIL-releasing Numba kernel over ranges of centres in parallel threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np


def run_in_threads(kernel, args: tuple, offsets: np.ndarray) -> None:
    """kernel(*args, first, stop) over all centres, in ``numba.get_num_threads()`` threads.

    The kernel must release the GIL and write disjoint outputs per centre. ``offsets``
    (n_centres + 1,) is the cumulative work (e.g. pairs) of the centres: the ranges get
    about equal shares. Small jobs (under ~64 units of work per thread) run in one call.
    """
    n = len(offsets) - 1
    work = int(offsets[-1])
    threads = 1 if work < 128 else min(numba.get_num_threads(), n, work // 64)
    if threads <= 1:
        kernel(*args, 0, n)
        return
    cuts = np.searchsorted(offsets, np.linspace(0, offsets[-1], threads + 1)[1:-1])
    bounds = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    pool = _executor(threads)
    jobs = [
        pool.submit(kernel, *args, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a
    ]
    for job in jobs:
        job.result()


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    """One long-lived pool per thread count (threads are reused across calls)."""
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="slimsoap")
        return _pools[threads]
