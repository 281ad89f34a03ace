from collections import Counter

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list

from slimsoap.systems.neighbours import neighbour_list


def _as_counter(i, j, D):
    return Counter((a, b, tuple(np.round(v, 6))) for a, b, v in zip(i, j, D))


@pytest.mark.parametrize(
    "atoms",
    [
        bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3),
        bulk("Cu", "fcc", a=3.6),  # primitive: neighbours many images away
        bulk("Mg", "hcp", a=3.1, c=5.1),  # skewed cell
        Atoms(
            "CuAu",
            positions=[[0, 0, 0], [1.2, 0.3, 0.2]],
            cell=[[2.2, 0, 0], [1.0, 2.0, 0], [0.3, 0.2, 1.9]],
            pbc=True,
        ),
        Atoms(
            "CuAu", positions=[[0, 0, 0], [1.1, 0.7, 0.4]], cell=[4, 4, 0], pbc=[True, True, False]
        ),
    ],
)
@pytest.mark.parametrize("r_cut", [2.7, 5.3, 7.9])
def test_matches_ase(atoms, r_cut):
    atoms = atoms.copy()
    atoms.rattle(0.05, seed=2)
    i, j, D = neighbor_list("ijD", atoms, r_cut)
    nl = neighbour_list(atoms, r_cut)
    assert _as_counter(i, j, D) == _as_counter(nl.centres, nl.neighbours, nl.vectors)
    assert np.all(np.diff(nl.centres) >= 0)
    np.testing.assert_array_equal(
        nl.offsets, np.searchsorted(nl.centres, np.arange(len(atoms) + 1))
    )


def test_molecule_no_pbc():
    atoms = Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    nl = neighbour_list(atoms, 1.2)
    assert sorted(zip(nl.centres, nl.neighbours)) == [(0, 1), (0, 2), (1, 0), (2, 0)]


def test_linear_scaling():
    """Pair count per atom is independent of system size (no O(n²) work or output)."""
    small = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    large = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(6)
    n_small = len(neighbour_list(small, 5.0).centres) / len(small)
    n_large = len(neighbour_list(large, 5.0).centres) / len(large)
    assert n_small == n_large


def test_coincident_atoms_refused():
    atoms = Atoms("HH", positions=[[0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="same position"):
        neighbour_list(atoms, 3.0)
