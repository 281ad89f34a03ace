"""Kernel threads: slimsoap.set_num_threads, the NUMBA_NUM_THREADS default, bad counts
refused, the one pool replaced on a change and shut down at interpreter exit."""

import os
import subprocess
import sys

import numpy as np
import pytest

import slimsoap
from slimsoap._runtime.threads import KernelThreads


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", None, True, np.float64(2.0)])
def test_bad_thread_counts_are_refused(bad):
    before = slimsoap.get_num_threads()
    with pytest.raises(ValueError, match="integer ≥ 1"):
        slimsoap.set_num_threads(bad)
    assert slimsoap.get_num_threads() == before


def test_set_num_threads_is_read_back():
    before = slimsoap.get_num_threads()
    try:
        slimsoap.set_num_threads(np.int64(3))
        assert slimsoap.get_num_threads() == 3
    finally:
        slimsoap.set_num_threads(before)


def _split_kernel(log):
    def kernel(first, stop):
        log.append((first, stop))

    return kernel


def _assert_balanced_partition(ranges, n_ranges, offsets):
    """Ranges cover every centre once, in n_ranges pieces of equal work ± one centre."""
    ranges = sorted(ranges)
    assert len(ranges) == n_ranges and ranges[0][0] == 0 and ranges[-1][1] == len(offsets) - 1
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    share, step = offsets[-1] / n_ranges, np.diff(offsets).max()
    assert all(abs(offsets[b] - offsets[a] - share) <= step for a, b in ranges)


def test_work_is_split_in_ranges_and_the_pool_follows_the_count():
    threads = KernelThreads(3)
    log = []
    offsets = np.arange(0, 64 * 10 + 1, 64)  # 10 centres, 64 units of work each
    threads.run(_split_kernel(log), (), offsets)
    _assert_balanced_partition(log, 3, offsets)
    pool = threads._pool
    threads.set(3)
    assert threads._pool is pool  # same count: the pool is kept
    threads.set(2)
    assert threads._pool is None and pool._shutdown
    log.clear()
    threads.run(_split_kernel(log), (), offsets)
    assert sorted(log) == [(0, 5), (5, 10)]  # equal work: cut in the middle
    small = []
    threads.run(_split_kernel(small), (), np.arange(0, 11))  # too little work to split
    assert small == [(0, 10)]
    threads.shutdown()
    assert threads._pool is None


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120
    )


def test_default_comes_from_numba_num_threads():
    code = "from slimsoap._runtime.threads import get_num_threads; print(get_num_threads())"
    assert _python(code, NUMBA_NUM_THREADS="3").stdout.strip() == "3"
    bad = _python(code, NUMBA_NUM_THREADS="many")
    assert bad.returncode != 0 and "NUMBA_NUM_THREADS must be an integer ≥ 1" in bad.stderr


def test_pool_is_shut_down_at_exit():
    code = """
import atexit
import numpy as np
from slimsoap._runtime import threads
threads.set_num_threads(2)
threads.run_in_threads(lambda a, b: None, (), np.arange(0, 1281, 128))
pool = threads._THREADS._pool
assert pool is not None and not pool._shutdown
atexit._run_exitfuncs()
print(pool._shutdown, threads._THREADS._pool is None)
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
