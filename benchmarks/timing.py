"""Timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

import time

import numpy as np


def median_time(fn, repeats: int, warmup: bool = True) -> float:
    """Median wall time (s) of ``repeats`` calls of ``fn``, after one untimed warm-up call
    (Numba compilation, caches) unless ``warmup`` is False."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
