"""The Pozdnyakov pair X± (slimsoap.analysis.degenerate): equal ν=2 spectra, distinct
environments, distinct body-order-4 features; the two-element colourings of Fig. S1."""

import itertools

import numpy as np
import pytest
from ase import Atoms
from scipy.spatial.transform import Rotation

from slimsoap import SOAP
from slimsoap.analysis.degenerate import (
    NEIGHBOURS,
    congruent,
    pozdnyakov_pair,
    triangle_multiset,
)
from slimsoap.bispectrum.calculator import Bispectrum


def _family_member(seed):
    """A random member of the family, coordinates in [-2.5, 2.5] Å, and a cutoff enclosing
    it."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(-2.5, 2.5, 2), rng.uniform(-2.5, 2.5, 3), rng.uniform(-2.5, 2.5, 2)
    plus, minus = pozdnyakov_pair(a=a, b=b, c=c)
    r_cut = float(np.linalg.norm(plus.positions, axis=1).max()) + 1.0
    return plus, minus, r_cut


def _centre(calc, atoms):
    return np.asarray(calc.compute(atoms).values)[0]


def _rel(x, y):
    return float(np.abs(x - y).max() / np.abs(x).max())


def _isometric_copy(atoms, seed, reflect=True):
    """``atoms`` rotated, reflected (if ``reflect``) and with its neighbours permuted (centre
    kept first)."""
    rng = np.random.default_rng(seed)
    q = Rotation.random(random_state=seed).as_matrix() @ np.diag(
        [1.0, 1.0, -1.0 if reflect else 1.0]
    )
    order = np.concatenate([[0], 1 + rng.permutation(len(atoms) - 1)])
    return Atoms(atoms.numbers[order], positions=atoms.positions[order] @ q.T)


@pytest.mark.parametrize(("n_max", "l_max", "r_extra"), [(4, 3, 0.5), (6, 6, 1.0), (8, 8, 2.5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_family_has_equal_power_spectra(seed, n_max, l_max, r_extra):
    """Equal to the last bit as built (the differing terms vanish by exact sign symmetries of
    the real harmonics about z), and to rounding once both members share a random rotation."""
    plus, minus, r_cut = _family_member(seed)
    soap = SOAP(["Cu"], r_cut + r_extra, n_max, l_max)
    q = Rotation.random(random_state=seed).as_matrix()
    for rotation in (np.eye(3), q):
        p = _centre(soap, Atoms(plus.numbers, positions=plus.positions @ rotation.T))
        m = _centre(soap, Atoms(minus.numbers, positions=minus.positions @ rotation.T))
        assert np.abs(p).max() > 0
        np.testing.assert_allclose(p, m, rtol=0, atol=1e-12 * np.abs(p).max())


def test_published_coordinates_have_equal_power_spectra():
    plus, minus = pozdnyakov_pair()
    for radial_basis in ("gto", "gaussian"):
        soap = SOAP(["Cu"], 4.5, 8, 6, radial_basis=radial_basis)
        p, m = _centre(soap, plus), _centre(soap, minus)
        np.testing.assert_allclose(p, m, rtol=0, atol=1e-12 * np.abs(p).max())


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_members_are_distinct_but_homometric(seed):
    plus, minus = pozdnyakov_pair() if seed is None else _family_member(seed)[:2]
    assert not congruent(plus, minus) and not congruent(minus, plus)
    # same sorted distances and same labelled triangles: invisible to 2- and 3-body counts
    d = [np.sort(a.get_all_distances()[np.triu_indices(5, 1)]) for a in (plus, minus)]
    np.testing.assert_allclose(d[0], d[1], atol=1e-12)
    assert triangle_multiset(plus) == triangle_multiset(minus)
    # positive control: an isometric, permuted copy is recognised
    assert congruent(plus, _isometric_copy(plus, 3), atol=1e-8)
    assert congruent(minus, _isometric_copy(minus, 4), atol=1e-8)


def test_congruent_rejects_other_species_and_perturbations():
    plus, _ = pozdnyakov_pair()
    moved = plus.copy()
    moved.positions[2] += [0.0, 0.0, 1e-4]
    assert not congruent(plus, moved)
    recoloured = plus.copy()
    recoloured.symbols[2] = "Au"
    assert not congruent(plus, recoloured)


@pytest.mark.parametrize("parity", ["even", "all"])
@pytest.mark.parametrize("name", ["nu3", "nu1mu2"])
@pytest.mark.parametrize("seed", [None, 0, 1])
def test_bispectrum_separates_the_pair(seed, name, parity):
    plus, minus, r_cut = (*pozdnyakov_pair(), 4.5) if seed is None else _family_member(seed)
    calc = Bispectrum(["Cu", "Au"], r_cut, 4, 4, compression=name, parity=parity)
    p, m = _centre(calc, plus), _centre(calc, minus)
    assert _rel(p, m) > 1e-3
    # the difference is not noise: an isometric copy (proper for SO(3) invariants) gives the
    # same features
    copy = _isometric_copy(plus, 5, reflect=parity == "even")
    assert _rel(p, _centre(calc, copy)) < 1e-10


COLOURINGS = list(itertools.product(("Cu", "Au"), repeat=len(NEIGHBOURS)))


@pytest.mark.parametrize("centre", ["Cu", "Au"])
def test_colourings_keep_nu2_exactly_when_b_and_bprime_agree(centre):
    """Fig. S1: ν=2 and ν,μ=1,1 are degenerate together, exactly for s_B = s_B'; μ=2 (blind
    to elements) always; a generic family member so equality is not a coincidence of the
    published coordinates."""
    a, b, c = (1.9, 1.4), (1.6, 1.1, 2.2), (1.3, 1.7)
    calcs = {n: SOAP(["Cu", "Au"], 4.5, 6, 4, compression=n) for n in ("nu2", "nu1mu1", "mu2")}
    for colouring in COLOURINGS:
        plus, minus = pozdnyakov_pair(colouring, centre, a=a, b=b, c=c)
        rel = {n: _rel(_centre(s, plus), _centre(s, minus)) for n, s in calcs.items()}
        if colouring[1] == colouring[2]:
            assert max(rel.values()) < 1e-12, (colouring, rel)
        else:
            assert rel["nu2"] > 1e-3 and rel["nu1mu1"] > 1e-3, (colouring, rel)
        assert rel["mu2"] < 1e-12, (colouring, rel)
        for resolve in ((True, True), (True, False)):
            same = triangle_multiset(plus, 0, resolve) == triangle_multiset(minus, 0, resolve)
            assert same == (colouring[1] == colouring[2])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"colouring": ("Cu", "Cu", "Cu")}, ValueError, "one element for each"),
        ({"colouring": "CuCuCuCu"}, ValueError, "one element for each"),
        ({"colouring": ("Cu", "Cu", "Xx", "Cu")}, ValueError, "Xx"),
        ({"colouring": ("Cu", "Cu", 29, "Cu")}, TypeError, "29"),
        ({"centre": "Qq"}, ValueError, "Qq"),
        ({"a": (1.0, float("nan"))}, ValueError, "NaN"),
        ({"b": (1.0, 2.0)}, ValueError, "3 numbers"),
        ({"c": ("x", 1.0)}, TypeError, "2 numbers"),
        ({"c": (0.0, 2.0)}, ValueError, "congruent"),
        ({"a": (0.0, 2.0)}, ValueError, "congruent"),
        ({"b": (0.0, 2.0, 2.0)}, ValueError, "apart"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        pozdnyakov_pair(**kwargs)


def test_congruent_bad_centre():
    plus, minus = pozdnyakov_pair()
    with pytest.raises(ValueError, match="centre 7"):
        congruent(plus, minus, centre=7)


@pytest.mark.parametrize("rbf", ["gto", "polynomial"])
def test_dscribe_cannot_tell_the_members_apart_either(rbf):
    """The degeneracy is the geometry's, not slimsoap's: DScribe's power spectrum (another
    code, another radial basis) is equal on X± too, and not on a slightly moved X-."""
    dscribe = pytest.importorskip("dscribe.descriptors")
    plus, minus, r_cut = _family_member(7)
    moved = minus.copy()
    moved.positions[4] += [1e-3, 0.0, 0.0]
    ref = dscribe.SOAP(species=["Cu"], r_cut=r_cut, n_max=6, l_max=6, rbf=rbf, periodic=False)
    p, m, x = (ref.create(a, centers=[0])[0] for a in (plus, minus, moved))
    assert _rel(p, m) < 1e-12
    assert _rel(p, x) > 1e-6
