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


def test_work_spread_from_a_worker_runs_in_that_worker():
    """map_ranges whose work calls run and map_ranges again: the inner calls run in the
    worker that made them (no wait on the occupied pool), one level of threads."""
    import threading

    threads = KernelThreads(2)
    seen = []

    def inner(first, stop):
        seen.append((threading.current_thread().name, threads.n_threads, first, stop))

    def outer(a, b):
        threads.run(inner, (), np.arange(0, 64 * 10 + 1, 64))  # would split in 2 outside
        threads.map_ranges(inner, np.array([0, 3, 6]))

    threads.map_ranges(outer, np.array([0, 1, 2]))
    threads.shutdown()
    assert len(seen) == 2 * (1 + 2)  # per outer range: run unsplit, then the two ranges
    assert {(first, stop) for _, _, first, stop in seen} == {(0, 10), (0, 3), (3, 6)}
    assert all(name.startswith("slimsoap") and n == 1 for name, n, _, _ in seen)


def _parts(x, sparse):
    return (x.data, x.indices, x.indptr) if sparse else (x,)


@pytest.mark.parametrize("sparse", [False, True])
def test_frame_batches_run_side_by_side_with_the_same_bits(monkeypatch, sparse):
    """Values (dense, or CSR) of mixed frames (molecules, small cells, larger cells) with 2
    and 3 threads: the batches' pair searches run in several worker threads, the rows are
    those of one thread bit for bit."""
    import threading

    from ase.build import bulk, molecule

    import slimsoap.soap.calculator as calculator

    rng = np.random.default_rng(3)
    frames = []
    for k in range(40):
        a = [molecule("CH3OH"), bulk("Cu", "fcc", a=3.6), bulk("Ni", "fcc", a=3.5, cubic=True)][
            k % 3
        ]
        a = a.repeat((2, 2, 2)) if k % 7 == 0 and a.pbc.any() else a
        a.positions += rng.normal(scale=0.05, size=a.positions.shape)
        frames.append(a)
    soap = slimsoap.SOAP(["H", "C", "O", "Ni", "Cu"], 4.0, 4, 3, compression="nu1mu1")
    names = set()
    searched = "batch_neighbour_list"
    search = getattr(calculator, searched)

    def watched(*args, **kwargs):
        names.add(threading.current_thread().name)
        return search(*args, **kwargs)

    before = slimsoap.get_num_threads()
    try:
        slimsoap.set_num_threads(1)
        one = soap.compute(frames, sparse=sparse).values
        monkeypatch.setattr(calculator, searched, watched)
        for n in (2, 3):
            slimsoap.set_num_threads(n)
            got = soap.compute(frames, sparse=sparse).values
            for u, v in zip(_parts(got, sparse), _parts(one, sparse)):
                np.testing.assert_array_equal(u, v)
    finally:
        slimsoap.set_num_threads(before)
    assert len(names) >= 2 and all(name.startswith("slimsoap") for name in names)
