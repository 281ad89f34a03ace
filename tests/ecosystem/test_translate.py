"""Translators: each reproduces the peer's numbers after the documented factors."""

import numpy as np
import pytest
from ase.build import molecule
from structures import random_alloy

from slimsoap import SOAP
from slimsoap.io.translate import (
    dscribe_columns,
    dscribe_compute_options,
    featomic_columns,
    quippy_columns,
    quippy_compute_options,
    soap_from_dscribe,
    soap_from_quippy,
    soap_to_featomic,
)


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


POW = {"function": "pow", "r0": 1.5, "c": 2.0, "d": 1.0, "m": 3.0, "w0": 0.3}
WEIGHTS = {"O": -1.5, "H": 0.5, "C": 2.0}
#: DScribe settings (beyond species, r_cut, n_max, l_max, sigma) that translate.
DSCRIBE_CASES = [
    {"compression": {"mode": "off"}},
    {"compression": {"mode": "mu1nu1"}},
    {"compression": {"mode": "mu2"}},
    {"compression": {"mode": "crossover"}},
    {"weighting": {"function": "poly", "r0": 4.0, "c": 2.0, "m": 2.0}},
    {"weighting": dict(POW), "compression": {"mode": "mu1nu1"}},
    {"weighting": {"function": "exp", "r0": 1.0, "c": 1.0, "d": 0.5}, "dtype": "float32"},
    {"weighting": {"w0": 0.0}, "compression": {"mode": "crossover"}},
    {"compression": {"mode": "mu1nu1", "species_weighting": WEIGHTS}},
    {"compression": {"mode": "mu2", "species_weighting": WEIGHTS}, "weighting": dict(POW)},
    {"compression": {"mode": "off", "species_weighting": {"O": 1, "H": 1, "C": 1}}},
    {"average": "inner"},
    {"average": "outer", "compression": {"mode": "mu1nu1", "species_weighting": WEIGHTS}},
    {"average": "inner", "compression": {"mode": "mu2"}, "weighting": dict(POW)},
]


def dscribe_peer(**kwargs):
    dscribe = pytest.importorskip("dscribe.descriptors")
    args = dict(species=["O", "H", "C"], r_cut=7.0, n_max=4, l_max=5, sigma=0.45, rbf="gto")
    args.update(kwargs)
    return dscribe.SOAP(**args)


def dscribe_rel(peer, soap, atoms):
    """Relative difference of slimsoap's translated numbers (after dscribe_columns) to
    DScribe's own on ``atoms``."""
    cols, scale = dscribe_columns(soap)
    ref = np.atleast_2d(peer.create(atoms))
    assert len(cols) == ref.shape[1]
    x = soap.compute(atoms, **dscribe_compute_options(peer)).values
    assert x.dtype == ref.dtype and x.shape[0] == ref.shape[0]
    return rel(x[:, cols].astype(np.float64) * scale, ref.astype(np.float64))


@pytest.mark.parametrize("case", DSCRIBE_CASES, ids=lambda c: str(c))
def test_from_dscribe_reproduces_dscribe(case):
    atoms = molecule("CH3CH2OH")
    peer = dscribe_peer(**case)
    soap = SOAP.from_dscribe(peer)
    assert soap.species == ["H", "C", "O"] and soap.sigma == 0.45 and soap.r_cut == 7.0
    assert atoms.get_all_distances().max() < soap.r_cut - soap.cutoff_width
    tol = 1e-6 if case.get("dtype") == "float32" else 1e-8
    assert dscribe_rel(peer, soap, atoms) <= tol


@pytest.mark.parametrize("average", ["off", "inner", "outer"])
def test_from_dscribe_reproduces_dscribe_on_a_periodic_cell(average):
    """poly weighting, zero beyond r0 < r_cut − cutoff_width (DScribe has no smooth cutoff),
    with species weighting."""
    atoms = random_alloy(["Cu", "Ag"], repeat=1, seed=3)
    peer = dscribe_peer(
        species=["Cu", "Ag"], r_cut=5.0, periodic=True, average=average,
        weighting={"function": "poly", "r0": 4.0, "c": 1.0, "m": 3.0},
        compression={"mode": "mu1nu1", "species_weighting": {"Cu": 1.0, "Ag": 0.3}},
    )  # fmt: skip
    soap = soap_from_dscribe(peer)
    assert soap.weighting == {"function": "poly", "r0": 4.0, "c": 1.0, "m": 3.0}
    assert dscribe_compute_options(peer) == ({} if average == "off" else {"average": average})
    assert dscribe_rel(peer, soap, atoms) <= 1e-8


def test_from_dscribe_with_dscribes_own_basis_at_n_max_12():
    """N = 12, L = 9, r_cut 5 Å: DScribe's basis is orthonormal to 6.5e-6 only, so its numbers
    are reproduced with radial_basis='gto_dscribe' (test_gto_nmax12.py)."""
    atoms = molecule("CH3OH")
    peer = dscribe_peer(r_cut=5.0, n_max=12, l_max=9, sigma=0.5)
    with pytest.warns(UserWarning, match="orthonormal only to"):
        soap = soap_from_dscribe(peer, radial_basis="gto_dscribe")
    assert soap.radial_basis == "gto_dscribe"
    assert dscribe_rel(peer, soap, atoms) <= 1e-8
    assert dscribe_rel(peer, soap_from_dscribe(peer), atoms) > 1e-6  # "gto": the exact basis


def test_from_dscribe_refuses_what_it_cannot_translate():
    args = dict(species=["H", "C"], r_cut=4.0, n_max=3, l_max=3)
    with pytest.raises(ValueError, match="rbf='polynomial'"):
        soap_from_dscribe(dscribe_peer(**args, rbf="polynomial"))
    for mode in ("off", "crossover"):
        weighted = dscribe_peer(
            **args, compression={"mode": mode, "species_weighting": {"H": 1.0, "C": 2.0}}
        )
        with pytest.raises(ValueError, match=f"species_weighting with mode '{mode}'.*w_a·w_b"):
            soap_from_dscribe(weighted)
    with pytest.raises(ValueError, match="radial_basis must be 'gto' or 'gto_dscribe'"):
        soap_from_dscribe(dscribe_peer(**args), radial_basis="gaussian")


QUIPPY = [
    "soap cutoff=3.5 n_max=5 l_max=4 atom_sigma=0.45 n_species=3 species_Z={1 6 8} normalise=F",
    "soap cutoff=3.2 n_max=4 l_max=3 atom_sigma=0.5 cutoff_transition_width=0.8 "
    "central_weight=0.3 n_species=3 species_Z={1 6 8} n_Z=3 Z={1 6 8} normalise=F "
    "nu_R=2 nu_S=1",
    "soap cutoff=3.2 n_max=3 l_max=3 atom_sigma=0.5 n_species=3 species_Z={1 6 8} "
    "normalise=F nu_R=1 nu_S=1",
    "soap cutoff=3.2 n_max=3 l_max=3 atom_sigma=0.5 n_species=3 species_Z={1 6 8} "
    "normalise=F Z_map={1 6, 8}",
    "soap cutoff=3.2 n_max=3 l_max=3 atom_sigma=0.5 n_species=3 species_Z={1 6 8} "
    "normalise=F diagonal_radial=T",
    # GAP's radial scaling: Willatt2018 (rate > 0), DScribe's pow with d = 0 (rate = 0), and
    # GAP's defaults for scale and rate (1, 1)
    "soap cutoff=3.5 n_max=4 l_max=3 atom_sigma=0.45 n_species=3 species_Z={1 6 8} normalise=F "
    "central_weight=0.7 cutoff_dexp=3 cutoff_scale=1.3 cutoff_rate=0.5",
    "soap cutoff=3.5 n_max=4 l_max=3 atom_sigma=0.45 n_species=3 species_Z={1 6 8} normalise=F "
    "central_weight=0.7 cutoff_dexp=2 cutoff_scale=2.0 cutoff_rate=0",
    "soap cutoff=3.5 n_max=4 l_max=3 atom_sigma=0.45 n_species=3 species_Z={1 6 8} normalise=F "
    "cutoff_dexp=2 nu_R=2 nu_S=1 central_reference_all_species=F",
]


def quippy_values(text, atoms):
    descriptors = pytest.importorskip("quippy.descriptors")
    out = descriptors.Descriptor(text).calc(atoms)["data"]
    return out[:, :-1]  # the trailing column is covariance_sigma0


@pytest.mark.parametrize("text", QUIPPY)
def test_from_quippy_reproduces_quippy(text):
    atoms = molecule("CH3CH2OH")
    atoms.positions += np.random.default_rng(0).normal(scale=0.05, size=atoms.positions.shape)
    ref = quippy_values(text, atoms)
    soap = SOAP.from_quippy(text)
    cols, scale = quippy_columns(soap)
    assert len(cols) == ref.shape[1] == soap.n_features
    assert rel(soap.compute(atoms).values[:, cols] * scale, ref) <= 1e-8


def test_from_quippy_defaults_and_normalise():
    # GAP's defaults: cutoff_transition_width 0.5, central_weight 1, normalise T
    text = "soap cutoff=3.5 n_max=4 l_max=3 atom_sigma=0.5 n_species=2 species_Z={1 8}"
    atoms = molecule("H2O")
    ref = quippy_values(text, atoms)
    soap = soap_from_quippy(text)
    assert (soap.cutoff_width, soap.center_weight, soap.normalize) == (0.5, 1.0, True)
    raw = SOAP(soap.species, r_cut=3.5, n_max=4, l_max=3, sigma=0.5, radial_basis="gaussian")
    cols, scale = quippy_columns(raw)
    x = raw.compute(atoms).values[:, cols] * scale
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert rel(x, ref) <= 1e-8


@pytest.mark.parametrize("normalise", ["F", "T"])
def test_from_quippy_average_is_the_inner_average(normalise):
    """quippy's average=T sums the coefficients over the frame (n_atoms² × slimsoap's inner
    average; quippy_compute_options), on a molecule and a cell; normalise=T normalises
    quippy's scaled vector (module docstring of slimsoap.io.translate)."""
    cell = random_alloy(["Cu", "Ag"], repeat=1, seed=4)
    for atoms, species in (
        (molecule("CH3CH2OH"), "n_species=3 species_Z={1 6 8}"),
        (cell, "n_species=2 species_Z={29 47}"),
    ):
        text = (
            f"soap cutoff=3.5 n_max=4 l_max=3 atom_sigma=0.45 {species} "
            f"cutoff_dexp=2 cutoff_scale=1.5 average=T normalise={normalise}"
        )
        ref = quippy_values(text, atoms)
        soap = soap_from_quippy(text)
        options = quippy_compute_options(text)
        assert options == {"average": "inner"}
        assert soap.normalize == (normalise == "T")
        raw = SOAP(**{**soap.get_params(), "normalize": False})
        cols, scale = quippy_columns(raw)
        x = raw.compute(atoms, **options).values[:, cols] * scale * len(atoms) ** 2
        if normalise == "T":
            x /= np.linalg.norm(x, axis=1, keepdims=True)
        assert ref.shape == x.shape == (1, soap.n_features)
        assert rel(x, ref) <= 1e-8


@pytest.mark.parametrize("average", ["F", "T"])
def test_from_quippy_centres_of_some_elements(average):
    """Z={6 8}: quippy describes the C and O atoms only, in atom order (centers=); with
    average=T their summed coefficients (n_centres² × the inner average)."""
    frames = [molecule("CH3CH2OH"), molecule("CH3OH")]
    text = (
        "soap cutoff=3.5 n_max=4 l_max=3 atom_sigma=0.45 n_species=3 species_Z={1 6 8} "
        f"n_Z=2 Z={{6 8}} normalise=F average={average}"
    )
    soap = soap_from_quippy(text)
    options = quippy_compute_options(text, frames)
    chosen = [np.flatnonzero(a.numbers != 1) for a in frames]
    for got, want in zip(options["centers"], chosen):
        np.testing.assert_array_equal(got, want)
    cols, scale = quippy_columns(soap)
    x = soap.compute(frames, **options).values[:, cols] * scale
    if average == "T":
        x *= np.array([len(c) ** 2 for c in chosen])[:, None]
    ref = np.vstack([quippy_values(text, a) for a in frames])
    assert x.shape == ref.shape
    assert rel(x, ref) <= 1e-8
    with pytest.raises(ValueError, match="pass the frames"):
        quippy_compute_options(text)
    # Z listing every species (or 0) is every atom: no centers
    assert "centers" not in quippy_compute_options(text.replace("n_Z=2 Z={6 8}", "Z={0}"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} Z_mix=T K=3", "GAP's random"),
        (
            "soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} "
            "central_reference_all_species=T",
            "every species channel",
        ),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} average=maybe", "T/F"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} foo=1", r"\['foo'\]"),
        ("soap n_max=2 l_max=2 atom_sigma=0.5 species_Z={1}", "needs cutoff="),
        ("distance_2b cutoff=3", "starts with 'soap'"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1 8} Z={7}", "not in species_Z"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1 8} Z={8} n_Z=2", "n_Z=2"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1 8} n_species=3", "n_species"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} nu_R=3", "nu_R, nu_S"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} normalise=maybe", "T/F"),
    ],
)
def test_from_quippy_refuses_bad_strings(text, message):
    with pytest.raises(ValueError, match=message):
        soap_from_quippy(text)


FEATOMIC_WEIGHTINGS = [
    None,
    {"function": "willatt2018", "rate": 0.5, "scale": 1.3, "exponent": 3.0},
    {"function": "pow", "r0": 1.2, "c": 2.0, "d": 2.0, "m": 4.0, "w0": 0.3},
    {"w0": 0.0},
]


@pytest.mark.parametrize("weighting", FEATOMIC_WEIGHTINGS, ids=lambda w: str(w))
@pytest.mark.parametrize("radial_basis", ["gto", "gaussian"])
def test_to_featomic_reproduces_featomic(radial_basis, weighting):
    featomic = pytest.importorskip("featomic")
    frames = [molecule("CH3CH2OH"), random_alloy(["Cu", "Ag"], repeat=1, seed=2)]
    soap = SOAP(
        ["H", "C", "O", "Cu", "Ag"], r_cut=3.5, n_max=4, l_max=3, sigma=0.4, cutoff_width=0.7,
        center_weight=0.6, radial_basis=radial_basis, weighting=weighting,
    )  # fmt: skip
    hypers = soap.to_featomic()
    if weighting is not None and "function" in weighting:
        assert hypers["density"]["scaling"]["type"] == "Willatt2018"
    tm = featomic.SoapPowerSpectrum(**hypers).compute(frames)
    x = soap.compute(frames).values
    offsets = np.cumsum([0] + [len(a) for a in frames])
    assert len(tm.keys) > 0
    for key, block in tm.items():
        _, a, b = (int(v) for v in key.values)
        cols, scale = featomic_columns(soap, (a, b), block.properties.values)
        rows = offsets[block.samples.values[:, 0]] + block.samples.values[:, 1]
        ours = x[rows][:, cols] * scale  # a block can be all zeros (w0 = 0: a lone centre)
        assert np.abs(ours - block.values).max() <= 1e-8 * np.abs(block.values).max()


def test_to_featomic_refuses_what_featomic_cannot_do():
    with pytest.raises(ValueError, match="only compression='nu2'"):
        soap_to_featomic(SOAP(["H"], r_cut=3.0, n_max=2, l_max=1, compression="mu2"))
    for weighting in (
        {"function": "pow", "r0": 1.2, "c": 1.0, "d": 2.0, "m": 4.0},
        {"function": "poly", "r0": 2.0, "c": 1.0, "m": 2.0},
    ):
        soap = SOAP(["H"], r_cut=3.0, n_max=2, l_max=1, weighting=weighting)
        with pytest.raises(ValueError, match="only radial scaling is Willatt2018"):
            soap_to_featomic(soap)


def test_the_calculator_methods_are_the_translators():
    """SOAP.from_dscribe / from_quippy / to_featomic (used above against the peers) build
    what the functions of slimsoap.io.translate build, options passed through."""
    peer = dscribe_peer(compression={"mode": "mu1nu1"})
    for kwargs in ({}, {"cutoff_width": 0.0, "radial_basis": "gto_dscribe"}):
        assert SOAP.from_dscribe(peer, **kwargs).to_dict() == (
            soap_from_dscribe(peer, **kwargs).to_dict()
        )
    text = QUIPPY[0]
    assert SOAP.from_quippy(text).to_dict() == soap_from_quippy(text).to_dict()
    soap = SOAP(["H", "O"], r_cut=3.0, n_max=3, l_max=2, sigma=0.5)
    ours, theirs = soap.to_featomic(points_per_sigma=16), soap_to_featomic(soap, 16)
    assert ours.keys() == theirs.keys() and repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="only compression='nu2'"):
        SOAP(["H"], r_cut=3.0, n_max=2, l_max=1, compression="mu2").to_featomic()
