"""Structure builders shared by the tests: small, random, multi-species."""

import numpy as np
from ase import Atoms
from ase.build import bulk


def random_cluster(symbols, seed=0, box=3.0, min_dist=0.9):
    """A random non-periodic cluster with no two atoms closer than ``min_dist`` Å."""
    rng = np.random.default_rng(seed)
    pos = []
    while len(pos) < len(symbols):
        p = rng.uniform(-box / 2, box / 2, 3)
        if all(np.linalg.norm(p - q) > min_dist for q in pos):
            pos.append(p)
    return Atoms(symbols, positions=pos)


def random_alloy(symbols_pool, repeat=2, seed=0, rattle=0.1, a=3.6):
    """A rattled periodic fcc cell with random species from ``symbols_pool``."""
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    atoms.symbols = rng.choice(symbols_pool, len(atoms))
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    return atoms
