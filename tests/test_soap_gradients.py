import numpy as np
import pytest
from ase import Atoms
from checks import assert_strain_gradients

from slimsoap import SOAP


def finite_difference_check(soap, atoms, h=1e-5, rtol=1e-6, strain=True):
    """Compare every (row, atom) analytic gradient with central differences."""
    F = soap.compute(atoms, gradients=True, strain=strain)
    n = len(atoms)
    dense = np.zeros((n, n, 3, soap.n_features))
    for (row, atom), g in zip(F.gradient_pairs, F.gradients):
        dense[row, atom] = g
    scale = 0.0
    worst = 0.0
    for a in range(n):
        for d in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[a, d] += h
            m.positions[a, d] -= h
            fd = (soap.compute(p).values - soap.compute(m).values) / (2 * h)
            worst = max(worst, np.abs(dense[:, a, d] - fd).max())
            scale = max(scale, np.abs(fd).max())
    assert worst <= rtol * scale, f"max |analytic - FD| = {worst:.3e}, scale {scale:.3e}"
    return F


@pytest.mark.parametrize("normalize", [False, True])
def test_cluster(cluster, normalize):
    soap = SOAP(["H", "C", "N", "O"], r_cut=3.5, n_max=4, l_max=4, sigma=0.4, normalize=normalize)
    finite_difference_check(soap, cluster)


@pytest.mark.parametrize("strain", [True, False])
def test_periodic(periodic, strain):
    """Without strain the kernel sums the images of one atom before contracting them."""
    soap = SOAP(["Cu", "Ag", "Au"], r_cut=4.0, n_max=3, l_max=3, sigma=0.5)
    F = finite_difference_check(soap, periodic, strain=strain)
    # small cell: each row has gradient entries for several atoms, centre included
    rows = F.gradient_pairs[:, 0]
    assert np.all(
        np.isin(np.arange(len(periodic)), F.gradient_pairs[rows == F.gradient_pairs[:, 1], 0])
    )


def test_neighbour_in_cutoff_transition():
    """An atom inside the smooth cutoff region (r_cut - w < r < r_cut)."""
    atoms = Atoms("CHO", positions=[[0, 0, 0], [1.1, 0.2, 0.0], [0.2, 2.75, 0.3]])
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=4, l_max=3, sigma=0.4, cutoff_width=0.6)
    assert 2.4 < np.linalg.norm(atoms.positions[2]) < 3.0
    finite_difference_check(soap, atoms)


def test_pairs_sorted_and_complete(cluster):
    soap = SOAP(["H", "C", "N", "O"], r_cut=3.0, n_max=2, l_max=2)
    F = soap.compute([cluster, cluster], gradients=True)
    keys = F.gradient_pairs[:, 0] * 1000 + F.gradient_pairs[:, 1]
    assert np.all(np.diff(keys) > 0)
    # second frame's pairs refer to global atom indices of the second frame
    second = F.gradient_pairs[F.gradient_pairs[:, 0] >= len(cluster)]
    assert second[:, 1].min() >= len(cluster)
    assert F.gradients.shape == (len(F.gradient_pairs), 3, soap.n_features)


@pytest.mark.parametrize("normalize", [False, True])
def test_strain_gradients_finite_strain(periodic, normalize):
    """∂x/∂ε_ba (cell and positions deformed by 1 + ε) equals strain_gradients[:, a, b]."""
    soap = SOAP(["Cu", "Ag", "Au"], r_cut=4.0, n_max=3, l_max=3, sigma=0.5, normalize=normalize)
    assert_strain_gradients(soap, periodic)


def test_threads_give_the_same_gradients(monkeypatch):
    """Centres split over threads (expansion, contraction, gradients) give the same numbers
    as one thread, bit for bit."""
    from concurrent.futures import ThreadPoolExecutor

    from structures import random_alloy

    import slimsoap
    from slimsoap._runtime import threads as _threads

    submitted = []

    class CountingPool(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(_threads, "ThreadPoolExecutor", CountingPool)
    frames = [random_alloy(["C", "O", "N"], repeat=4, seed=5), random_alloy(["C", "N"], seed=6)]
    soap = SOAP(["C", "N", "O"], 3.0, 3, 3, compression="nu1mu1")
    before = slimsoap.get_num_threads()
    try:
        slimsoap.set_num_threads(1)
        one = soap.compute(frames, gradients=True, sparse=True)
        dense_one = soap.compute(frames, gradients=True)
        values_one = soap.compute(frames).values
        assert not submitted
        slimsoap.set_num_threads(2)
        two = soap.compute(frames, gradients=True, sparse=True)
        dense_two = soap.compute(frames, gradients=True)
        values_two = soap.compute(frames).values
    finally:
        slimsoap.set_num_threads(before)
    assert len(submitted) > 0  # the work was really split
    np.testing.assert_array_equal(values_two, values_one)
    np.testing.assert_array_equal(two.gradients.data, one.gradients.data)
    np.testing.assert_array_equal(two.strain_gradients.data, one.strain_gradients.data)
    np.testing.assert_array_equal(dense_two.gradients, dense_one.gradients)
    np.testing.assert_array_equal(dense_two.strain_gradients, dense_one.strain_gradients)


def test_normalize_in_chunks_equals_whole(monkeypatch, cluster):
    """The gradient projection of normalize=True runs in row chunks; any chunk size gives
    the same numbers."""
    soap = SOAP(["H", "C", "N", "O"], r_cut=3.5, n_max=3, l_max=3, normalize=True)
    whole = soap.compute(cluster, gradients=True)
    monkeypatch.setattr("slimsoap._linalg.PROJECT_CHUNK", 7)
    chunked = soap.compute(cluster, gradients=True)
    assert len(whole.gradients) > 7 and len(whole.strain_gradients) > 7
    np.testing.assert_allclose(chunked.gradients, whole.gradients, rtol=0, atol=1e-15)
    np.testing.assert_allclose(chunked.strain_gradients, whole.strain_gradients, atol=1e-15)


def test_gradient_plans_are_immutable_and_cached_per_layout(periodic):
    """A plan is built once per (species, layout) on the calculator and cannot be changed;
    a layout refuses a plan of the other kind and outputs of the wrong size."""
    from dataclasses import FrozenInstanceError

    from slimsoap.soap.gradients.layout import frame_layout
    from slimsoap.systems.neighbours import neighbour_list

    soap = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 2, compression="nu1mu1")
    dense = soap._contraction.gradient_plan((0, 1, 2), False)
    sparse = soap._contraction.gradient_plan((0, 1, 2), True)
    assert soap._contraction.gradient_plan((0, 1, 2), False) is dense
    assert sparse is not dense and sparse.tables.n_direct == 3 and dense.tables.n_direct == 1
    np.testing.assert_array_equal(sparse.columns, dense.columns)
    with pytest.raises(FrozenInstanceError):
        dense.tables = sparse.tables
    nl = neighbour_list(periodic, soap.r_cut, 0)
    with pytest.raises(ValueError, match="sparse gradient plan needs atom_slot"):
        frame_layout(nl, sparse)
    with pytest.raises(ValueError, match="sparse gradient plan needs atom_slot"):
        frame_layout(nl, dense, np.zeros(len(periodic), dtype=np.int64))
    layout = frame_layout(nl, dense)
    with pytest.raises(ValueError, match="layout needs out"):
        layout.output(np.zeros(layout.size - 1), np.zeros(0))
    assert layout.output(np.zeros(layout.size), np.zeros(layout.strain_size)).out.size == (
        layout.size
    )


@pytest.mark.parametrize("compression", ["nu2", "nu1mu1", "mu2", "nuhat2"])
@pytest.mark.parametrize("sparse", [False, True])
def test_images_grouped_without_strain_equal_pair_by_pair(compression, sparse):
    """strain=False sums the periodic images of a neighbour atom at the density (symmetric
    identity blocks) and visits pairs in another order; strain=True computes every image
    alone in neighbour-list order: the same gradients to rounding, on 1- and 4-atom cells
    whose centres see each atom through ~10 images."""
    from ase.build import bulk

    cells = [bulk("Cu", "fcc", a=3.6, cubic=True), bulk("Cu", "fcc", a=3.6)]
    cells[0].numbers[[1, 3]] = 47
    for k, a in enumerate(cells):
        a.rattle(0.1, seed=k)
    soap = SOAP(["Cu", "Ag"], r_cut=5.0, n_max=4, l_max=4, sigma=0.5, compression=compression)
    grouped = soap.compute(cells, gradients=True, sparse=sparse, strain=False)
    alone = soap.compute(cells, gradients=True, sparse=sparse, strain=True)
    assert np.array_equal(grouped.gradient_pairs, alone.gradient_pairs)
    g, r = np.asarray(grouped.gradients), np.asarray(alone.gradients)
    assert np.abs(r[:, :, :]).max() > 1e-3
    assert np.abs(g - r).max() <= 1e-13 * np.abs(r).max()


def test_pair_order_puts_images_side_by_side():
    """Pairs of one entry follow the first of them; first occurrences keep their order."""
    from slimsoap.soap.gradients.layout import pair_order

    entries = np.array([4, 2, 4, 7, 2, 4, 9])
    assert pair_order(entries, 10).tolist() == [0, 2, 5, 1, 4, 3, 6]
    assert pair_order(np.arange(5), 5).tolist() == list(range(5))
    assert pair_order(np.zeros(0, dtype=np.int64), 0).tolist() == []
