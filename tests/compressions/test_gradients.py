"""Gradients of every registered compression against central finite differences."""

import pytest
from cases import CASES, IDS, check_gradients, gradient_atoms, make


@pytest.fixture(scope="module")
def atoms():
    return gradient_atoms()


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_finite_differences(atoms, case, normalize):
    name, options = case
    check_gradients(make(name, options, [atoms], normalize=normalize), atoms)
