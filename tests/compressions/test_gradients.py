"""Gradients of every compression against central finite differences."""

import numpy as np
import pytest
from cases import CASES, IDS, make
from structures import random_cluster

H = 1e-5


@pytest.fixture(scope="module")
def atoms():
    return random_cluster(["H", "C", "O", "C", "H", "O"], seed=2, box=2.6)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_finite_differences(atoms, case, normalize):
    name, options = case
    soap = make(name, options, [atoms], normalize=normalize)
    F = soap.compute(atoms, gradients=True)
    scale = np.abs(F.values).max()
    n = len(atoms)
    dense = np.zeros((n, n, 3, soap.n_features))
    dense[F.gradient_pairs[:, 0], F.gradient_pairs[:, 1]] = F.gradients
    for k in (0, 3):  # a neighbour-rich atom and another species
        for d in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[k, d] += H
            minus.positions[k, d] -= H
            fd = (soap.compute(plus).values - soap.compute(minus).values) / (2 * H)
            np.testing.assert_allclose(dense[:, k, d], fd, rtol=0, atol=1e-6 * scale)
