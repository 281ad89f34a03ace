"""Every registered compression is invariant to rotations, reflections and same-species
permutations."""

import pytest
from cases import CASES, IDS, check_invariance, invariance_atoms, make


@pytest.fixture(scope="module")
def atoms():
    return invariance_atoms()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rotation_reflection_permutation(atoms, case):
    name, options = case
    check_invariance(make(name, options, [atoms]), atoms)
