"""Every compression is invariant to rotations, reflections and same-species permutations."""

import numpy as np
import pytest
from cases import CASES, IDS, make
from scipy.spatial.transform import Rotation
from structures import random_cluster


@pytest.fixture(scope="module")
def atoms():
    return random_cluster(["H", "C", "O", "C", "H", "O", "C"], seed=9, box=2.8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rotation_reflection_permutation(atoms, case):
    name, options = case
    soap = make(name, options, [atoms])
    x = soap.compute(atoms).values
    scale = np.abs(x).max()
    assert scale > 0
    rot = atoms.copy()
    rot.positions = Rotation.random(random_state=3).apply(atoms.positions) + [0.3, -1.0, 2.0]
    np.testing.assert_allclose(soap.compute(rot).values, x, rtol=0, atol=1e-10 * scale)
    mirror = atoms.copy()
    mirror.positions[:, 0] *= -1
    np.testing.assert_allclose(soap.compute(mirror).values, x, rtol=0, atol=1e-10 * scale)
    perm = np.arange(len(atoms))
    carbons = np.flatnonzero(atoms.numbers == 6)
    perm[carbons] = carbons[::-1]
    swapped = atoms[perm]
    np.testing.assert_allclose(soap.compute(swapped).values, x[perm], rtol=0, atol=1e-10 * scale)
