"""Translators: each reproduces the peer's numbers after the documented factors."""

import numpy as np
import pytest
from ase.build import molecule
from structures import random_alloy

from slimsoap import SOAP
from slimsoap.io.translate import (
    dscribe_columns,
    featomic_columns,
    quippy_columns,
    soap_from_dscribe,
    soap_from_quippy,
    soap_to_featomic,
)


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("mode", ["off", "mu1nu1", "mu2", "crossover"])
def test_from_dscribe_reproduces_dscribe(mode):
    dscribe = pytest.importorskip("dscribe.descriptors")
    atoms = molecule("CH3CH2OH")
    peer = dscribe.SOAP(
        species=["O", "H", "C"], r_cut=7.0, n_max=4, l_max=5, sigma=0.45, rbf="gto",
        compression={"mode": mode},
    )  # fmt: skip
    soap = soap_from_dscribe(peer)
    assert soap.species == ["H", "C", "O"] and soap.sigma == 0.45 and soap.r_cut == 7.0
    assert atoms.get_all_distances().max() < soap.r_cut - soap.cutoff_width
    cols, scale = dscribe_columns(soap)
    ref = peer.create(atoms)
    assert len(cols) == ref.shape[1]
    assert rel(soap.compute(atoms).values[:, cols] * scale, ref) <= 1e-8


def test_from_dscribe_refuses_what_it_cannot_translate():
    dscribe = pytest.importorskip("dscribe.descriptors")
    args = dict(species=["H", "C"], r_cut=4.0, n_max=3, l_max=3)
    weighted = dscribe.SOAP(**args, weighting={"function": "poly", "r0": 3.0, "c": 1, "m": 2})
    with pytest.raises(ValueError, match="weighting"):
        soap_from_dscribe(weighted)
    with pytest.raises(ValueError, match="average"):
        soap_from_dscribe(dscribe.SOAP(**args, average="inner"))
    with pytest.raises(ValueError, match="rbf='polynomial'"):
        soap_from_dscribe(dscribe.SOAP(**args, rbf="polynomial"))


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
    soap = soap_from_quippy(text)
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


@pytest.mark.parametrize(
    "text, message",
    [
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} foo=1", r"\['foo'\]"),
        ("soap n_max=2 l_max=2 atom_sigma=0.5 species_Z={1}", "needs cutoff="),
        ("distance_2b cutoff=3", "starts with 'soap'"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1 8} Z={8}", "every atom"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1 8} n_species=3", "n_species"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} nu_R=3", "nu_R, nu_S"),
        ("soap cutoff=3 n_max=2 l_max=2 atom_sigma=0.5 species_Z={1} normalise=maybe", "T/F"),
    ],
)
def test_from_quippy_refuses_bad_strings(text, message):
    with pytest.raises(ValueError, match=message):
        soap_from_quippy(text)


@pytest.mark.parametrize("radial_basis", ["gto", "gaussian"])
def test_to_featomic_reproduces_featomic(radial_basis):
    featomic = pytest.importorskip("featomic")
    frames = [molecule("CH3CH2OH"), random_alloy(["Cu", "Ag"], repeat=1, seed=2)]
    soap = SOAP(
        ["H", "C", "O", "Cu", "Ag"], r_cut=3.5, n_max=4, l_max=3, sigma=0.4, cutoff_width=0.7,
        center_weight=0.6, radial_basis=radial_basis,
    )  # fmt: skip
    tm = featomic.SoapPowerSpectrum(**soap_to_featomic(soap)).compute(frames)
    x = soap.compute(frames).values
    offsets = np.cumsum([0] + [len(a) for a in frames])
    assert len(tm.keys) > 0
    for key, block in tm.items():
        _, a, b = (int(v) for v in key.values)
        cols, scale = featomic_columns(soap, (a, b), block.properties.values)
        rows = offsets[block.samples.values[:, 0]] + block.samples.values[:, 1]
        assert rel(x[rows][:, cols] * scale, block.values) <= 1e-8


def test_to_featomic_refuses_compressions():
    with pytest.raises(ValueError, match="only compression='nu2'"):
        soap_to_featomic(SOAP(["H"], r_cut=3.0, n_max=2, l_max=1, compression="mu2"))
