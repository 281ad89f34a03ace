"""The bispectrum against an independent brute-force evaluation (SymPy CG, explicit sums)."""

import itertools

import numpy as np
import pytest
from bispectrum_reference import block, factor, reference_row, sympy_cg
from structures import random_alloy, random_cluster

from slimsoap.bispectrum.calculator import Bispectrum
from slimsoap.bispectrum.compressions import REGISTRY
from slimsoap.bispectrum.coupling import clebsch_gordan

SPECIES = ["H", "C", "O"]


@pytest.fixture(scope="module")
def atoms():
    return random_cluster(["H", "C", "O", "C", "H", "O"], seed=4, box=2.8)


def test_clebsch_gordan_matches_sympy():
    for l1, l2 in itertools.product(range(4), repeat=2):
        for l3 in range(abs(l1 - l2), l1 + l2 + 1):
            for m1, m2 in itertools.product(range(-l1, l1 + 1), range(-l2, l2 + 1)):
                m3 = m1 + m2
                if abs(m3) <= l3:
                    assert abs(clebsch_gordan(l1, m1, l2, m2, l3, m3) - sympy_cg(
                        l1, m1, l2, m2, l3, m3
                    )) < 1e-14  # fmt: skip
    assert clebsch_gordan(1, 0, 1, 0, 3, 0) == 0.0  # triangle rule
    assert clebsch_gordan(1, 1, 1, 0, 2, 0) == 0.0  # m1 + m2 != m3


@pytest.mark.parametrize("parity", ["even", "all"])
def test_nu3_equals_brute_force(atoms, parity):
    calc = Bispectrum(SPECIES, 3.5, 2, 3, parity=parity)
    c = calc.expand(atoms).coefficients
    x = calc.compute(atoms).values
    scale = np.abs(x).max()
    for i in range(len(atoms)):
        np.testing.assert_allclose(x[i], reference_row(calc, c[i]), rtol=0, atol=1e-10)
    assert scale > 1e-3


@pytest.mark.parametrize("name", sorted(REGISTRY.names()))
def test_every_compression_is_its_maps_on_the_reference(atoms, name):
    calc = (
        Bispectrum(SPECIES, 3.5, 3, 2, compression=name, parity="all", n_channels=4)
        if REGISTRY.get(name).seeded
        else Bispectrum(SPECIES, 3.5, 3, 2, compression=name, parity="all")
    )
    c = calc.expand(atoms).coefficients
    x = calc.compute(atoms).values
    seed_maps = calc.maps.maps[0] if REGISTRY.get(name).seeded else None
    scale = np.abs(x).max()
    for i in (0, 3):
        ref = reference_row(calc, c[i], seed_maps)
        np.testing.assert_allclose(x[i], ref, rtol=0, atol=1e-10 * scale)


def test_stored_entries_determine_every_ordered_entry():
    """nu3 stores l1 ≤ l2 ≤ l3 and sorted channels: every ordered (l, channel) triple of the
    full tensor is ±√((2l3+1)/(2l3'+1)) times the stored entry of its sorted form, or zero
    (antisymmetric odd entries with repeated channels)."""
    atoms = random_cluster(["H", "C", "C", "H"], seed=1, box=2.5)
    calc = Bispectrum(["H", "C"], 3.5, 2, 2, parity="all")
    c = calc.expand(atoms).coefficients[1]
    x = calc.compute(atoms).values[1]
    h = calc.basis.projection()
    X, names = factor("element", c, h, calc.species_z)
    stored = {
        (l1, l2, l3, names[a], names[b], names[cc]): v
        for (l1, l2, l3, a, b, cc), v in zip(calc.labels(), x)
    }
    K = X.shape[1]
    checked = 0
    for ls in itertools.product(range(3), repeat=3):
        if not abs(ls[0] - ls[1]) <= ls[2] <= ls[0] + ls[1]:
            continue
        full = block(*ls, X, X, X)
        for abc in itertools.product(range(K), repeat=3):
            key = sorted(zip(ls, abc))
            canon = tuple(k[0] for k in key) + tuple(k[1] for k in key)
            expected = stored.get(canon, 0.0) / np.sqrt(2 * canon[2] + 1)
            assert abs(abs(full[abc]) / np.sqrt(2 * ls[2] + 1) - abs(expected)) < 1e-10
            checked += canon in stored
    assert checked > 0


def test_periodic_matches_brute_force():
    atoms = random_alloy(["Cu", "Au"], repeat=1, seed=1)
    calc = Bispectrum(["Cu", "Au"], 3.0, 2, 2, compression="nu2mu1", parity="all")
    c = calc.expand(atoms).coefficients
    x = calc.compute(atoms).values
    np.testing.assert_allclose(x[2], reference_row(calc, c[2]), atol=1e-10 * np.abs(x).max())
