"""No hidden global state: dropped calculators are collected; the output-buffer pool is
owned, bounded, zeroed on reuse and released on request."""

import gc
import weakref

import numpy as np
import pytest
from ase.build import bulk
from structures import random_alloy

from slimsoap import ACSF, SOAP, free_cached_buffers
from slimsoap._runtime import buffers as _buffers
from slimsoap._runtime.buffers import MIN_BYTES, BufferPool


def _alloy():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.symbols = ["Cu", "Ag", "Au", "Cu"]
    atoms.rattle(0.05, seed=1)
    return atoms


def test_dropped_soap_and_what_it_built_are_collected():
    """Plans and restricted maps are cached on the calculator's own contraction: after
    every kind of compute, dropping the calculator frees all of it (the results live on)."""
    atoms = _alloy()
    soap = SOAP(["Cu", "Ag", "Au"], 3.5, 3, 2, compression="nu1mu1")
    kept = [
        soap.compute(atoms),
        soap.compute(atoms, sparse=True),
        soap.compute(atoms, gradients=True),
        soap.compute(atoms, gradients=True, sparse=True),
    ]
    contraction = soap._contraction
    plans = list(contraction._gradient_plans.values())
    assert len(plans) == 2 and contraction._restricted  # dense and sparse plans were made
    refs = [weakref.ref(x) for x in [soap, contraction, *plans]]
    del soap, contraction, plans
    gc.collect()
    assert [r() for r in refs] == [None] * len(refs)
    assert kept[3].gradients.shape[0] == len(kept[3].gradient_pairs)


def test_dropped_acsf_is_collected():
    acsf = ACSF.preset("behler", ["Cu", "Ag", "Au"], 4.0)
    features = acsf.compute(_alloy(), gradients=True)
    ref = weakref.ref(acsf)
    del acsf
    gc.collect()
    assert ref() is None and features.gradients is not None


def test_plan_caches_are_bounded_and_give_the_same_numbers(monkeypatch):
    """Evicted restricted maps and plans are rebuilt identically."""
    frames = [_alloy()]
    for symbols in (["Cu"] * 4, ["Ag", "Ag", "Au", "Au"], ["Cu", "Ag", "Cu", "Ag"]):
        atoms = _alloy()
        atoms.symbols = symbols
        frames.append(atoms)
    soap = SOAP(["Cu", "Ag", "Au"], 3.5, 3, 2)
    full = soap.compute(frames, gradients=True, sparse=True)
    monkeypatch.setattr("slimsoap.soap.contraction._MAX_RESTRICTED", 2)
    monkeypatch.setattr("slimsoap.soap.contraction._MAX_GRADIENT_PLANS", 2)
    small = SOAP(["Cu", "Ag", "Au"], 3.5, 3, 2)
    bounded = small.compute(frames, gradients=True, sparse=True)
    assert len(small._contraction._restricted) == 2
    assert len(small._contraction._gradient_plans) == 2
    np.testing.assert_array_equal(bounded.gradients.data, full.gradients.data)
    np.testing.assert_array_equal(bounded.values.toarray(), full.values.toarray())


def test_large_buffers_are_zeroed_recycled_and_released():
    pool = BufferPool(max_buffers=2, max_bytes=2**40)
    n = 2 * MIN_BYTES // 8 + 1000
    a = pool.zeros(n)
    assert a.shape == (n,) and a.dtype == np.float64 and not a.any()
    a[:] = 7.0
    address = a.ctypes.data
    view = a[5:10]
    del a
    assert len(pool) == 0  # the view still uses the buffer
    assert view.sum() == 35.0
    del view
    assert len(pool) == 1
    b = pool.zeros(n - 500, np.float32)  # another dtype, 1/2 the bytes: too small to reuse
    assert b.ctypes.data != address and b.dtype == np.float32 and len(pool) == 1
    c = pool.zeros(n - 500)
    assert c.ctypes.data == address and len(pool) == 0
    assert not c.any()  # reused memory is zeroed
    del b, c
    tiny = pool.zeros(10)  # small requests never touch the pool
    assert len(pool) == 2 and not tiny.any()
    assert pool.idle_bytes == n * 8 + (n - 500) * 4
    assert pool.clear() == n * 8 + (n - 500) * 4 and len(pool) == 0


def test_pool_keeps_at_most_max_buffers():
    pool = BufferPool(max_buffers=2, max_bytes=2**40)
    n = MIN_BYTES // 8
    bufs = [pool.zeros(n + k) for k in range(4)]
    del bufs
    assert len(pool) == 2
    assert pool.idle_bytes == 8 * ((n + 2) + (n + 3))  # the largest are kept


def test_pool_keeps_at_most_max_bytes():
    n = MIN_BYTES // 8
    pool = BufferPool(max_buffers=10, max_bytes=int(2.5 * MIN_BYTES))
    bufs = [pool.zeros(n) for _ in range(4)]
    del bufs
    assert len(pool) == 2 and pool.idle_bytes == 2 * MIN_BYTES
    huge = BufferPool(max_buffers=10, max_bytes=MIN_BYTES)
    big = huge.zeros(2 * n)  # larger than the whole bound: never kept
    del big
    assert len(huge) == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"max_buffers": -1}, {"max_bytes": -1}, {"max_buffers": 1.5}, {"max_bytes": True}],
)
def test_pool_bounds_are_checked(kwargs):
    args = {"max_buffers": 2, "max_bytes": 2**30, **kwargs}
    with pytest.raises(ValueError, match="must be an integer ≥ 0"):
        BufferPool(**args)


def test_outputs_use_the_documented_shared_pool():
    """The calculators' pool is the bounded OUTPUT_BUFFERS; free_cached_buffers empties it."""
    pool = _buffers.OUTPUT_BUFFERS
    assert (pool.max_buffers, pool.max_bytes) == (2, 4 * 2**30)
    free_cached_buffers()
    a = _buffers.zeros(MIN_BYTES // 8)
    del a
    assert len(pool) == 1
    assert free_cached_buffers() == MIN_BYTES and len(pool) == 0


def test_buffers_returned_from_many_threads_stay_consistent():
    """Arrays dying in several threads while others take buffers: every buffer handed out
    is large enough, zeroed, and not shared."""
    from concurrent.futures import ThreadPoolExecutor

    pool = BufferPool(max_buffers=2, max_bytes=2**40)
    n = MIN_BYTES // 8

    def work(k):
        a = pool.zeros(n + 1000 * (k % 3))
        ok = a.shape[0] == n + 1000 * (k % 3) and not a[::4096].any()
        a[::4096] = k + 1  # would show up in another thread's "zeroed" buffer if shared
        return ok

    with ThreadPoolExecutor(4) as threads:
        assert all(threads.map(work, range(40)))
    assert len(pool) <= 2


def test_empty_buffers_are_recycled_without_zeroing_and_never_shared():
    """BufferPool.empty: the memory of a dead array is handed out again as it is (no
    memset), never while a view of it lives; small requests are plain arrays."""
    pool = BufferPool(max_buffers=2, max_bytes=2**40)
    n = MIN_BYTES // 8 + 10
    a = pool.empty(n)
    assert a.shape == (n,) and a.dtype == np.float64 and len(pool) == 0
    a[:] = 3.0
    address, view = a.ctypes.data, a[-4:]
    del a
    b = pool.empty(n)  # the first is still viewed: new memory
    assert b.ctypes.data != address
    del view
    c = pool.empty(n)
    assert c.ctypes.data == address and c[0] == 3.0  # reused as it was
    small = pool.empty(10)
    del small
    assert len(pool) == 0


def test_values_reuse_a_dropped_output_and_stay_correct():
    """Dense values of ≥ MIN_BYTES come from the shared pool: a second call after the first
    result is dropped writes into its memory and gives the same numbers; one held result
    is never overwritten by the next call."""
    free_cached_buffers()
    soap = SOAP(["Cu", "Ag", "Au"], 4.0, 8, 6)
    frames = [random_alloy(["Cu", "Ag", "Au"], repeat=2, seed=k) for k in range(60)]
    first = soap.compute(frames).values
    assert first.nbytes >= MIN_BYTES
    kept, address = first.copy(), first.ctypes.data
    held = soap.compute(frames).values  # `first` alive: other memory
    assert held.ctypes.data != address
    np.testing.assert_array_equal(first, kept)
    del first
    again = soap.compute(frames).values
    assert again.ctypes.data == address
    np.testing.assert_array_equal(again, kept)
    np.testing.assert_array_equal(held, kept)


def test_scratch_arrays_are_per_thread_reused_grown_and_cleared():
    """A thread gets back its buffer for a key (grown when a request is larger), another
    thread its own; clear() releases them all."""
    from concurrent.futures import ThreadPoolExecutor

    from slimsoap._runtime import scratch

    scratch.clear()
    a = scratch.scratch("k", (10, 3))
    a[:] = 1.0
    b = scratch.scratch("k", (5, 2))
    assert a.ctypes.data == b.ctypes.data and b.shape == (5, 2)
    c = scratch.scratch("k", (100, 3))  # larger: new memory, `a` keeps the old alive
    assert c.ctypes.data != a.ctypes.data and a.sum() == 30.0
    with ThreadPoolExecutor(1) as other:
        d = other.submit(scratch.scratch, "k", (5, 2)).result()
    assert d.ctypes.data != c.ctypes.data
    assert scratch.clear() >= 100 * 3 * 8 + 5 * 2 * 8
    assert scratch.clear() == 0


def test_values_from_scratch_blocks_equal_fresh_ones_on_two_threads(monkeypatch):
    """Ranges contracted from each thread's scratch blocks: the values of one thread and
    of two, and of fresh blocks, are the same bits."""
    import slimsoap.soap.contraction as contraction
    from slimsoap import set_num_threads
    from slimsoap.systems.neighbours import neighbour_list

    frames = [random_alloy(["Cu", "Ag", "Au"], repeat=2, seed=k) for k in range(12)]
    frames.append(random_alloy(["Cu", "Ag", "Au"], repeat=7, seed=99))  # several ranges
    soap = SOAP(["Cu", "Ag", "Au"], 4.0, 4, 3)
    big = neighbour_list(frames[-1], 4.0)
    stream, _ = soap._coefficient_stream(np.zeros(len(frames[-1]), dtype=np.int64), big, False)
    assert len(stream.ranges()) > 2  # on two threads, one expands two ranges in turn
    try:
        set_num_threads(2)
        two = soap.compute(frames).values
        set_num_threads(1)
        one = soap.compute(frames).values
    finally:
        set_num_threads(2)
    real = contraction.Contraction.values_from

    def fresh(self, source, out):  # the blocks of every range new arrays
        blocks = source.blocks
        source.blocks = lambda a, b, reuse=False: blocks(a, b, False)
        return real(self, source, out)

    monkeypatch.setattr(contraction.Contraction, "values_from", fresh)
    np.testing.assert_array_equal(soap.compute(frames).values, one)
    np.testing.assert_array_equal(two, one)
