"""Sensitivity eigenvalues: 6 zero modes, more for an fcc site, finite-difference Jacobians."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from slimsoap.analysis import (
    jacobian_from_features,
    sensitivity_eigenvalues,
    sensitivity_from_jacobian,
)
from slimsoap.features import Features

ZERO = 1e-10  # "zero" eigenvalue, relative to the largest


class PairHistogram:
    """Toy smooth invariant descriptor with analytic gradients (independent of slimsoap).

    For centre c of a cluster: Gaussian-smeared histograms of the distances r_ca from the
    centre, and of the distances r_ab between the other atoms. Depends on distances only, so
    it is invariant to translations, rotations and reflections of the whole cluster.
    """

    def __init__(self, n_bins=24, r_max=8.0, width=0.35):
        self.mu = np.linspace(0.5, r_max, n_bins)
        self.width = width

    def _phi(self, r):
        g = np.exp(-((r - self.mu) ** 2) / (2 * self.width**2))
        return g, -g * (r - self.mu) / self.width**2

    def _row(self, pos, c):
        n = len(pos)
        nb = self.mu.size
        x = np.zeros(2 * nb)
        dx = np.zeros((n, 3, 2 * nb))
        for a in range(n):
            for b in range(a + 1, n):
                block = slice(0, nb) if c in (a, b) else slice(nb, 2 * nb)
                v = pos[a] - pos[b]
                r = np.linalg.norm(v)
                g, dg = self._phi(r)
                x[block] += g
                dx[a, :, block] += np.outer(v / r, dg)
                dx[b, :, block] -= np.outer(v / r, dg)
        return x, dx

    def compute(self, atoms, gradients=False):
        pos = atoms.positions
        n = len(pos)
        rows = [self._row(pos, c) for c in range(n)]
        values = np.array([x for x, _ in rows])
        frame_index = np.zeros(n, dtype=np.int64)
        if not gradients:
            return Features(values, frame_index)
        pairs = np.array([[c, a] for c in range(n) for a in range(n)], dtype=np.int64)
        grads = np.concatenate([dx for _, dx in rows])
        return Features(values, frame_index, pairs, grads)


def random_cluster(n=7, seed=0, half=2.0, symbols=None):
    """Random cluster around atom 0 at the origin, no two atoms closer than 1 Å."""
    rng = np.random.default_rng(seed)
    pos = [np.zeros(3)]
    while len(pos) < n:
        p = rng.uniform(-half, half, 3)
        if min(np.linalg.norm(p - q) for q in pos) > 1.0:
            pos.append(p)
    return Atoms(symbols or f"Cu{n}", positions=np.array(pos))


def fcc_site():
    """Centre and its 12 nearest neighbours in fcc Cu (a = 3.6 Å), centre first."""
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    centre = crystal.positions[np.argmin(np.linalg.norm(crystal.positions - 5.4, axis=1))]
    d = np.linalg.norm(crystal.positions - centre, axis=1)
    order = np.argsort(d)[:13]
    return Atoms("Cu13", positions=crystal.positions[order] - centre)


def fd_jacobian(descriptor, atoms, center, h=1e-4):
    """(n_features, 3 n_atoms) central-difference Jacobian of row ``center``."""
    cols = []
    for a in range(len(atoms)):
        for d in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[a, d] += h
            minus.positions[a, d] -= h
            xp = descriptor.compute(plus).values[center]
            xm = descriptor.compute(minus).values[center]
            cols.append((xp - xm) / (2 * h))
    return np.array(cols).T


def n_zero(eig):
    return int(np.sum(eig <= ZERO))


def test_toy_gradients_are_right():
    atoms = random_cluster()
    toy = PairHistogram()
    J, order = jacobian_from_features(toy.compute(atoms, gradients=True), 0)
    np.testing.assert_array_equal(order, np.arange(len(atoms)))
    J_fd = fd_jacobian(toy, atoms, 0)
    np.testing.assert_allclose(J, J_fd, atol=1e-7 * np.abs(J).max())


def test_toy_asymmetric_cluster_has_six_zero_modes():
    for seed in range(3):
        eig = sensitivity_eigenvalues(PairHistogram(), random_cluster(seed=seed), 0)
        assert eig[0] == 1.0
        assert np.all(np.diff(eig) <= 0)
        assert n_zero(eig) == 6, eig[-8:]
        assert eig[-7] > 1e-6


def test_toy_fcc_site_has_more_zero_modes():
    eig = sensitivity_eigenvalues(PairHistogram(), fcc_site(), 0)
    assert eig.shape == (39,)
    assert n_zero(eig) > 6


def test_toy_eigenvalues_agree_with_finite_differences():
    atoms = random_cluster(seed=4)
    toy = PairHistogram()
    eig = sensitivity_eigenvalues(toy, atoms, 0, scale=False)
    eig_fd = np.linalg.eigvalsh(fd_jacobian(toy, atoms, 0).T @ fd_jacobian(toy, atoms, 0))[::-1]
    np.testing.assert_allclose(eig[:-6], eig_fd[:-6], rtol=1e-6)


def test_normalized_descriptor_projection():
    """normalize=True gives the eigenvalues of x/|x|, checked by finite differences."""
    atoms = random_cluster(seed=5)
    toy = PairHistogram()

    class Normalized:
        def compute(self, atoms, gradients=False):
            f = toy.compute(atoms)
            return Features(
                f.values / np.linalg.norm(f.values, axis=1, keepdims=True), f.frame_index
            )

    J_fd = fd_jacobian(Normalized(), atoms, 0)
    expected = np.linalg.svd(J_fd, compute_uv=False) ** 2
    got = sensitivity_eigenvalues(toy, atoms, 0, normalize=True, scale=False)
    np.testing.assert_allclose(got[: expected.size - 6], expected[:-6], rtol=1e-6)
    assert n_zero(got / got[0]) == 6


def test_from_jacobian_pads_and_matches_eigh():
    rng = np.random.default_rng(0)
    J = rng.normal(size=(5, 9))
    eig = sensitivity_from_jacobian(J, scale=False)
    assert eig.shape == (9,)
    np.testing.assert_array_equal(eig[5:], 0.0)
    np.testing.assert_allclose(eig, np.linalg.eigvalsh(J.T @ J)[::-1], atol=1e-12)
    scaled = sensitivity_from_jacobian(J)
    assert scaled[0] == 1.0
    np.testing.assert_allclose(scaled, eig / eig[0])


def test_jacobian_sums_duplicate_atoms_and_skips_other_rows():
    grads = np.arange(5 * 3 * 2, dtype=float).reshape(5, 3, 2)
    pairs = np.array([[0, 0], [0, 3], [1, 1], [1, 3], [1, 3]])
    f = Features(np.zeros((4, 2)), np.zeros(4, dtype=np.int64), pairs, grads)
    J, atoms = jacobian_from_features(f, 1)
    np.testing.assert_array_equal(atoms, [1, 3])
    np.testing.assert_array_equal(J[:, :3], grads[2].T)
    np.testing.assert_array_equal(J[:, 3:], grads[3].T + grads[4].T)


def test_bad_input():
    f = Features(np.ones((2, 3)), np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="no gradients"):
        jacobian_from_features(f, 0)
    toy_f = PairHistogram().compute(random_cluster(n=3), gradients=True)
    with pytest.raises(ValueError, match=r"center \(an atom index\) must be an integer in \[0, "):
        jacobian_from_features(toy_f, 3)
    with pytest.raises(ValueError, match="needs the descriptor values"):
        sensitivity_from_jacobian(np.ones((2, 3)), normalize=True)
    with pytest.raises(ValueError, match="J = 0"):
        sensitivity_from_jacobian(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        sensitivity_from_jacobian(np.ones(3))


# --- the real SOAP calculator ------------------------------------------------------------


@pytest.fixture(scope="module")
def soap_cls():
    soap = pytest.importorskip("slimsoap.soap.calculator")
    return soap.SOAP


def test_soap_asymmetric_cluster_has_six_zero_modes(soap_cls):
    soap = soap_cls(["Cu", "Au"], r_cut=5.0, n_max=5, l_max=5, sigma=0.5, center_weight=0.0)
    for seed in range(2):
        eig = sensitivity_eigenvalues(soap, random_cluster(n=8, seed=seed, symbols="CuAu" * 4), 0)
        assert n_zero(eig) == 6, eig[-8:]
        assert eig[-7] > 1e-6


def test_soap_fcc_site_has_more_zero_modes(soap_cls):
    soap = soap_cls(["Cu"], r_cut=4.0, n_max=5, l_max=5, sigma=0.5, center_weight=0.0)
    eig = sensitivity_eigenvalues(soap, fcc_site(), 0)
    assert eig.shape == (39,)
    assert n_zero(eig) > 6


def test_soap_jacobian_agrees_with_finite_differences(soap_cls):
    soap = soap_cls(["Cu", "Au"], r_cut=5.0, n_max=4, l_max=4, sigma=0.5, center_weight=0.0)
    atoms = random_cluster(n=6, seed=3, symbols="CuAuCuCuAuAu")
    J, order = jacobian_from_features(soap.compute(atoms, gradients=True), 0)
    np.testing.assert_array_equal(order, np.arange(6))
    J_fd = fd_jacobian(soap, atoms, 0)
    np.testing.assert_allclose(J, J_fd, atol=1e-6 * np.abs(J).max())
    eig = sensitivity_from_jacobian(J, scale=False)
    eig_fd = np.linalg.svd(J_fd, compute_uv=False) ** 2
    np.testing.assert_allclose(eig[:-6], eig_fd[: eig.size - 6], rtol=1e-5)


def test_soap_normalize_option_matches_normalized_calculator(soap_cls):
    kwargs = dict(species=["Cu", "Au"], r_cut=5.0, n_max=4, l_max=4, sigma=0.5, center_weight=0)
    atoms = random_cluster(n=7, seed=6, symbols="CuAuCuCuAuAuCu")
    projected = sensitivity_eigenvalues(soap_cls(**kwargs), atoms, 0, normalize=True)
    native = sensitivity_eigenvalues(soap_cls(normalize=True, **kwargs), atoms, 0)
    np.testing.assert_allclose(projected[:-6], native[:-6], rtol=1e-8)
