"""Rotation, reflection, translation and permutation invariance of the bispectrum."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from structures import random_alloy, random_cluster

from slimsoap.bispectrum.calculator import Bispectrum

NAMES = ["nu3", "nu2mu1", "nu1mu2", "nu1mu1muhat1", "nuhat3", "random"]


@pytest.fixture(scope="module")
def atoms():
    return random_cluster(["H", "C", "O", "C", "H", "N", "O"], seed=5, box=3.0)


def _calc(name, parity="even"):
    return Bispectrum(["H", "C", "N", "O"], 3.2, 3, 3, compression=name, parity=parity)


def _odd_columns(calc):
    return np.array([(l1 + l2 + l3) % 2 == 1 for l1, l2, l3, *_ in calc.labels()])


@pytest.mark.parametrize("name", NAMES)
def test_rotation_translation_permutation(atoms, name):
    calc = _calc(name, "all")
    x = calc.compute(atoms).values
    assert np.abs(x).max() > 1e-3
    moved = atoms.copy()
    moved.positions = Rotation.random(random_state=3).apply(atoms.positions) + [1.5, -2.0, 0.7]
    np.testing.assert_allclose(calc.compute(moved).values, x, atol=1e-12 * np.abs(x).max())
    order = np.random.default_rng(0).permutation(len(atoms))
    np.testing.assert_allclose(calc.compute(atoms[order]).values, x[order], atol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_reflection_keeps_even_and_flips_odd(atoms, name):
    calc = _calc(name, "all")
    odd = _odd_columns(calc)
    assert odd.any() and (~odd).any()
    x = calc.compute(atoms).values
    mirror = atoms.copy()
    mirror.positions[:, 1] *= -1
    y = calc.compute(mirror).values
    tol = 1e-12 * np.abs(x).max()
    np.testing.assert_allclose(y[:, ~odd], x[:, ~odd], atol=tol)
    np.testing.assert_allclose(y[:, odd], -x[:, odd], atol=tol)
    assert np.abs(x[:, odd]).max() > 1e-4  # the pseudoscalars are not all zero
    even = _calc(name)
    np.testing.assert_allclose(even.compute(mirror).values, x[:, ~odd], atol=tol)


def test_periodic_rotation_and_image_merging():
    atoms = random_alloy(["Cu", "Ag", "Au"], repeat=1, seed=2)
    calc = Bispectrum(["Cu", "Ag", "Au"], 4.0, 2, 2, compression="nu1mu2")
    x = calc.compute(atoms).values
    rot = Rotation.random(random_state=1).as_matrix()
    turned = atoms.copy()
    turned.set_cell(atoms.cell @ rot.T, scale_atoms=False)
    turned.positions = atoms.positions @ rot.T
    np.testing.assert_allclose(calc.compute(turned).values, x, atol=1e-11 * np.abs(x).max())
    bigger = atoms.repeat((2, 1, 1))
    np.testing.assert_allclose(calc.compute(bigger).values[: len(atoms)], x, atol=1e-11)
