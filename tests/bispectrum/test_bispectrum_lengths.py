"""Descriptor lengths: closed formulas, an independent orbit count, labels; bad options."""

import itertools
from math import comb

import pytest

from slimsoap.bispectrum.calculator import Bispectrum
from slimsoap.bispectrum.compressions import REGISTRY, bispectrum_length


def _orbit_count(densities, K, l_max, parity):
    """Count the distinct non-zero invariants by brute force: every ordered
    ((l1, a), (l2, b), (l3, c)) of the triangle rule, identified under the permutations of
    factors with equal densities; an orbit is zero when an odd permutation fixes it and
    l1 + l2 + l3 is odd (the entry equals minus itself)."""
    perms = [p for p in itertools.permutations(range(3)) if all(
        densities[p[k]] == densities[k] for k in range(3)
    )]  # fmt: skip
    seen, count = set(), 0
    for ls in itertools.product(range(l_max + 1), repeat=3):
        if not abs(ls[0] - ls[1]) <= ls[2] <= ls[0] + ls[1]:
            continue
        odd = sum(ls) % 2 == 1
        if parity == "even" and odd:
            continue
        for ch in itertools.product(*(range(k) for k in K)):
            t = tuple(zip(ls, ch))
            orbit = {tuple(t[p[k]] for k in range(3)) for p in perms}
            key = min(orbit)
            if key in seen:
                continue
            seen.add(key)
            parity_of = lambda p: sum(p[i] > p[j] for i in range(3) for j in range(i + 1, 3)) % 2  # noqa: E731
            zero = odd and any(
                parity_of(p) == 1 and tuple(t[p[k]] for k in range(3)) == t for p in perms
            )
            count += not zero
    return count


def _channels(d, N, S):
    return {"element": S * N, "element_proj": S, "total": N, "total_proj": 1, "random": N}[d]


@pytest.mark.parametrize("parity", ["even", "all"])
@pytest.mark.parametrize("name", sorted(REGISTRY.names()))
@pytest.mark.parametrize(("N", "L", "S"), [(2, 2, 2), (3, 3, 1), (1, 4, 3)])
def test_length_formula_counts_every_invariant_once(name, parity, N, L, S):
    K = [_channels(d, N, S) for d in REGISTRY.get(name).densities]
    expected = _orbit_count(REGISTRY.get(name).densities, K, L, parity)
    assert bispectrum_length(name, N, L, S, parity) == expected
    calc = Bispectrum(["H", "C", "O"][:S], 3.0, N, L, compression=name, parity=parity)
    assert calc.n_features == expected
    assert len(calc.labels()) == expected
    assert len(set(calc.labels())) == expected


def test_hand_formulas():
    K = 3 * 4  # S·N
    assert bispectrum_length("nu3", 4, 0, 3) == comb(K + 2, 3)
    # l_max = 1, even: (0,0,0) and (0,1,1) for nu3; nu1mu2 (l2 <= l3 only) also has (1,0,1)
    assert bispectrum_length("nu3", 4, 1, 3) == comb(K + 2, 3) + K * comb(K + 1, 2)
    assert bispectrum_length("nu1mu2", 4, 1, 3) == 2 * K * comb(4 + 1, 2) + K * 4 * 4
    # all: (1,1,1) joins, antisymmetric in all three channels
    assert bispectrum_length("nu3", 4, 1, 3, "all") == (
        comb(K + 2, 3) + K * comb(K + 1, 2) + comb(K, 3)
    )
    # three different maps: every ordered (l1, l2, l3); l_max = 1 even: (000),(011),(101),(110)
    assert bispectrum_length("nu1mu1muhat1", 4, 1, 3) == 4 * K * 4 * 1
    assert bispectrum_length("random", 4, 2, 3, n_channels=5) == bispectrum_length("mu3", 5, 2, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"compression": "nu4"}, "unknown bispectrum compression"),
        ({"parity": "odd"}, "parity must be"),
        ({"compression": "nu3", "seed": 1}, "does not take option"),
        ({"compression": "random", "seed": -1}, "seed must be"),
        ({"compression": "random", "seed": 1.5}, "seed must be"),
        ({"compression": "random", "n_channels": 0}, "n_channels must be"),
        ({"dtype": int}, "dtype must be"),
        ({"cutoff_width": 4.0}, "cutoff_width"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Bispectrum(["H", "C"], 3.0, 2, 2, **kwargs)


def test_labels_name_channels():
    calc = Bispectrum(["H", "O"], 3.0, 2, 1, compression="nu1mu1muhat1")
    assert calc.labels()[0] == (0, 0, 0, "H:n0", "total:n0", "total:proj")
    assert calc.labels()[-1] == (1, 1, 0, "O:n1", "total:n1", "total:proj")


def test_saved_parameters_rebuild_the_calculator():
    import json

    import numpy as np
    from structures import random_cluster

    calc = Bispectrum(["H", "O"], 3.0, 2, 2, compression="random", seed=7, n_channels=3)
    from slimsoap.io import calculator_from_dict

    again = calculator_from_dict(json.loads(json.dumps(calc.to_dict())))
    assert isinstance(again, Bispectrum)
    atoms = random_cluster(["H", "O", "H"], seed=1)
    np.testing.assert_array_equal(calc.compute(atoms).values, again.compute(atoms).values)
    other = Bispectrum(["H", "O"], 3.0, 2, 2, compression="random", seed=8, n_channels=3)
    assert np.abs(other.compute(atoms).values - calc.compute(atoms).values).max() > 1e-6


def test_bad_frames():
    import numpy as np
    from ase import Atoms

    calc = Bispectrum(["H", "C"], 3.0, 2, 1)
    with pytest.raises(ValueError, match=r"species \['O'\]"):
        calc.compute(Atoms("HO", positions=[[0, 0, 0], [1, 0, 0]]))
    with pytest.raises(ValueError, match="NaN or inf"):
        calc.compute(Atoms("HC", positions=[[0, 0, 0], [np.nan, 0, 0]]))
