"""Recycled output buffers: zeroed on reuse, alive while any view is, released on request."""

import numpy as np

from slimsoap import free_cached_buffers
from slimsoap._runtime import buffers as _memory


def test_large_buffers_are_zeroed_recycled_and_released():
    free_cached_buffers()
    n = 2 * _memory.MIN_BYTES // 8 + 1000
    a = _memory.zeros(n)
    assert a.shape == (n,) and a.dtype == np.float64 and not a.any()
    a[:] = 7.0
    address = a.ctypes.data
    view = a[5:10]
    del a
    assert len(_memory._pool) == 0  # the view still uses the buffer
    assert view.sum() == 35.0
    del view
    assert len(_memory._pool) == 1
    b = _memory.zeros(n - 500, np.float32)  # another dtype, 1/2 the bytes: too small to reuse
    assert b.ctypes.data != address and b.dtype == np.float32 and len(_memory._pool) == 1
    c = _memory.zeros(n - 500)
    assert c.ctypes.data == address and len(_memory._pool) == 0
    assert not c.any()  # reused memory is zeroed
    del b, c
    tiny = _memory.zeros(10)  # small requests never touch the pool
    assert len(_memory._pool) == 2 and not tiny.any()
    assert free_cached_buffers() == n * 8 + (n - 500) * 4 and len(_memory._pool) == 0


def test_pool_keeps_at_most_max_pooled():
    free_cached_buffers()
    n = _memory.MIN_BYTES // 8
    bufs = [_memory.zeros(n + k) for k in range(_memory.MAX_POOLED + 2)]
    del bufs
    assert len(_memory._pool) == _memory.MAX_POOLED
    free_cached_buffers()


def test_buffers_returned_from_many_threads_stay_consistent():
    """Arrays dying in several threads while others take buffers: every buffer handed out
    is large enough, zeroed, and not shared."""
    from concurrent.futures import ThreadPoolExecutor

    free_cached_buffers()
    n = _memory.MIN_BYTES // 8

    def work(k):
        a = _memory.zeros(n + 1000 * (k % 3))
        ok = a.shape[0] == n + 1000 * (k % 3) and not a[::4096].any()
        a[::4096] = k + 1  # would show up in another thread's "zeroed" buffer if shared
        return ok

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(40)))
    assert len(_memory._pool) <= _memory.MAX_POOLED
    free_cached_buffers()
