"""Position and strain gradients of the bispectrum against central finite differences."""

import numpy as np
import pytest
from checks import assert_strain_gradients
from structures import random_alloy, random_cluster

from slimsoap.bispectrum.calculator import Bispectrum

H = 1e-5
CASES = [("nu3", "even"), ("nu2mu1", "all"), ("nu1mu1muhat1", "all"), ("random", "even")]


@pytest.fixture(scope="module")
def atoms():
    return random_cluster(["H", "C", "O", "C", "H", "O"], seed=2, box=2.6)


def _calc(name, parity, **kw):
    return Bispectrum(["H", "C", "O"], 3.0, 2, 2, compression=name, parity=parity, **kw)


def _dense(F, n):
    out = np.zeros((n, n, 3, F.values.shape[1]))
    out[F.gradient_pairs[:, 0], F.gradient_pairs[:, 1]] = F.gradients
    return out


@pytest.mark.parametrize(("name", "parity"), CASES)
def test_position_gradients(atoms, name, parity):
    calc = _calc(name, parity)
    F = calc.compute(atoms, gradients=True)
    np.testing.assert_array_equal(F.values, calc.compute(atoms).values)
    pairs = F.gradient_pairs
    assert np.all(np.diff(pairs[:, 0] * len(atoms) + pairs[:, 1]) > 0)  # unique, sorted
    dense = _dense(F, len(atoms))
    scale = np.abs(F.gradients).max()
    for k in (0, 2):
        for d in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[k, d] += H
            minus.positions[k, d] -= H
            fd = (calc.compute(plus).values - calc.compute(minus).values) / (2 * H)
            np.testing.assert_allclose(dense[:, k, d], fd, atol=1e-6 * scale)


@pytest.mark.parametrize(("name", "parity"), CASES[:2])
def test_strain_gradients_cluster_and_periodic(atoms, name, parity):
    boxed = atoms.copy()
    boxed.set_cell(np.diag([9.0, 10.0, 11.0]))  # a cell to deform; still not periodic
    assert_strain_gradients(_calc(name, parity), boxed)
    crystal = random_alloy(["H", "C", "O"], repeat=1, seed=3, a=3.4)
    assert_strain_gradients(_calc(name, parity), crystal)


def test_periodic_position_gradients_merge_images():
    crystal = random_alloy(["C", "O"], repeat=1, seed=4, a=2.6)
    calc = Bispectrum(["C", "O"], 3.0, 2, 2, compression="nu1mu2")
    F = calc.compute(crystal, gradients=True)
    dense = _dense(F, len(crystal))
    scale = np.abs(F.gradients).max()
    for d in range(3):
        plus, minus = crystal.copy(), crystal.copy()
        plus.positions[1, d] += H
        minus.positions[1, d] -= H
        fd = (calc.compute(plus).values - calc.compute(minus).values) / (2 * H)
        np.testing.assert_allclose(dense[:, 1, d], fd, atol=1e-6 * scale)


def test_float32_output(atoms):
    calc64, calc32 = _calc("nu3", "even"), _calc("nu3", "even", dtype=np.float32)
    F64, F32 = calc64.compute(atoms, gradients=True), calc32.compute(atoms, gradients=True)
    for a, b in [(F64.values, F32.values), (F64.gradients, F32.gradients)]:
        assert b.dtype == np.float32
        np.testing.assert_array_equal(b, a.astype(np.float32))
    assert F32.strain_gradients.dtype == np.float32


def test_several_frames_and_no_strain(atoms):
    calc = _calc("nu1mu2", "even")
    other = random_cluster(["O", "H", "C"], seed=9)
    F = calc.compute([atoms, other], gradients=True, strain=False)
    assert F.strain_gradients is None
    single = calc.compute(other, gradients=True)
    rows = F.gradient_pairs[:, 0] >= len(atoms)
    np.testing.assert_array_equal(F.gradient_pairs[rows] - len(atoms), single.gradient_pairs)
    np.testing.assert_array_equal(F.gradients[rows], single.gradients)
    np.testing.assert_array_equal(F.frame_index, [0] * len(atoms) + [1] * len(other))
