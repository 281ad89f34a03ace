import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from slimsoap import SOAP

SPECIES = ["H", "C", "N", "O", "Cu", "Ag", "Au"]


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.fixture(scope="module")
def soap():
    return SOAP(SPECIES, r_cut=4.5, n_max=5, l_max=6, sigma=0.4)


@pytest.mark.parametrize("which", ["cluster", "periodic"])
def test_rotation_translation(soap, which, request):
    atoms = request.getfixturevalue(which)
    ref = soap.compute(atoms).values
    moved = atoms.copy()
    R = Rotation.random(random_state=7).as_matrix()
    moved.positions = atoms.positions @ R.T + np.array([0.3, -1.7, 2.2])
    if moved.pbc.any():
        moved.set_cell(atoms.cell @ R.T)
    assert _rel(soap.compute(moved).values, ref) < 1e-10


@pytest.mark.parametrize("which", ["cluster", "periodic"])
def test_permutation(soap, which, request):
    atoms = request.getfixturevalue(which)
    ref = soap.compute(atoms).values
    perm = np.random.default_rng(1).permutation(len(atoms))
    assert _rel(soap.compute(atoms[perm]).values, ref[perm]) < 1e-10


def test_periodic_wrap(soap, periodic):
    """Moving an atom by a lattice vector changes nothing."""
    ref = soap.compute(periodic).values
    moved = periodic.copy()
    moved.positions[2] += periodic.cell[0] - 2 * periodic.cell[2]
    assert _rel(soap.compute(moved).values, ref) < 1e-10


def test_rows_follow_frames(soap, cluster, periodic):
    both = soap.compute([cluster, periodic])
    np.testing.assert_array_equal(both.frame_index[: len(cluster)], 0)
    np.testing.assert_allclose(both.frame(1), soap.compute(periodic).values, rtol=1e-12)
