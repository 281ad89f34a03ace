"""Shared fixtures: small random multi-species structures, periodic and not."""

import numpy as np
import pytest
from structures import random_alloy, random_cluster


@pytest.fixture
def cluster():
    return random_cluster(["H", "C", "O", "C", "H", "N", "O", "H", "C"], seed=3)


@pytest.fixture
def periodic():
    atoms = random_alloy(["Cu", "Ag", "Au"], repeat=1, seed=5)
    atoms.set_cell(
        atoms.cell @ np.array([[1.0, 0.1, 0.0], [0.0, 1.0, 0.05], [0.0, 0.0, 1.0]]),
        scale_atoms=True,
    )
    return atoms
