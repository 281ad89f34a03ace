"""DScribe's ``species_weighting`` for nu1mu1 (mu1nu1) and mu2, against DScribe, by finite
differences, against weighted coefficients by hand, through to_dict, and its refusals.

DScribe multiplies each species' coefficients by its weight before any density is formed
(conventions otherwise as slimsoap.io.translate.dscribe_columns).
"""

import numpy as np
import pytest
from ase.build import bulk, molecule
from helpers import assert_position_gradients, assert_strain_gradients

from slimsoap import SOAP
from slimsoap.io import calculator_from_dict
from slimsoap.io.translate import dscribe_columns

dscribe = pytest.importorskip("dscribe.descriptors")

HYPER = dict(n_max=3, l_max=3, sigma=0.5)
MODES = [("nu1mu1", "mu1nu1"), ("mu2", "mu2")]


@pytest.mark.parametrize("compression, mode", MODES)
def test_molecule_matches_dscribe(compression, mode):
    atoms = molecule("CH3CH2OH")
    weights = {"H": 0.5, "C": 2.0, "O": -1.5}
    soap = SOAP(["H", "C", "O"], 6.0, compression=compression, species_weighting=weights, **HYPER)
    ref = dscribe.SOAP(
        species=["H", "C", "O"],
        r_cut=6.0,
        rbf="gto",
        compression={"mode": mode, "species_weighting": weights},
        **HYPER,
    ).create(atoms)
    cols, scale = dscribe_columns(soap)
    ours = soap.compute(atoms).values[:, cols] * scale
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max())


@pytest.mark.parametrize("compression, mode", MODES)
def test_periodic_cell_matches_dscribe(compression, mode):
    """Periodic: with poly weighting, zero beyond r0 < r_cut − cutoff_width (see
    test_weighting.py), combined with the species weights."""
    atoms = bulk("Cu", "fcc", a=3.6) * (2, 1, 1)
    atoms.symbols[1] = "Ag"
    atoms.rattle(0.1, seed=1)
    radial = dict(function="poly", r0=4.0, c=1.0, m=3.0)
    weights = {"Cu": 1.0, "Ag": 0.3}
    soap = SOAP(
        ["Cu", "Ag"], 5.0, compression=compression, species_weighting=weights,
        weighting=radial, **HYPER,
    )  # fmt: skip
    ref = dscribe.SOAP(
        species=["Cu", "Ag"],
        r_cut=5.0,
        rbf="gto",
        periodic=True,
        weighting=dict(radial),
        compression={"mode": mode, "species_weighting": weights},
        **HYPER,
    ).create(atoms)
    cols, scale = dscribe_columns(soap)
    ours = soap.compute(atoms).values[:, cols] * scale
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max())


def test_equals_weighted_coefficients_by_hand(cluster):
    """ν,μ=1,1 of (w_α c^α): Σ_m (w_α c^α_nlm)(Σ_β w_β c^β_n'lm), column by label."""
    species = ["H", "C", "N", "O"]
    w = {"H": 0.5, "C": 2.0, "N": 0.0, "O": 1.5}
    soap = SOAP(species, 3.5, compression="nu1mu1", species_weighting=w, **HYPER)
    c = SOAP(species, 3.5, **HYPER).expand(cluster).coefficients
    cw = c * np.array([w[s] for s in species])[None, :, None, None]
    total = cw.sum(axis=1)
    x = soap.compute(cluster).values
    for k, (l, a, b) in enumerate(soap.labels()):
        el, n = a.split(":n")
        m = int(b.split(":n")[1])
        lm = slice(l * l, (l + 1) ** 2)
        by_hand = (cw[:, species.index(el), int(n), lm] * total[:, m, lm]).sum(axis=1)
        np.testing.assert_allclose(x[:, k], by_hand, rtol=1e-12, atol=1e-14)


def test_unit_weights_change_nothing(cluster):
    species = ["H", "C", "N", "O"]
    plain = SOAP(species, 3.5, compression="nu1mu1", **HYPER).compute(cluster).values
    ones = SOAP(
        species, 3.5, compression="nu1mu1", species_weighting=dict.fromkeys(species, 1), **HYPER
    )
    np.testing.assert_allclose(ones.compute(cluster).values, plain, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("compression", ["nu1mu1", "mu2"])
def test_gradients_by_finite_differences(cluster, periodic, compression):
    w = {"H": 0.5, "C": 2.0, "N": 0.7, "O": 1.5}
    soap = SOAP(["H", "C", "N", "O"], 3.5, 3, 3, compression=compression, species_weighting=w)
    assert_position_gradients(soap, cluster)
    w = {"Cu": 0.5, "Ag": 2.0, "Au": 1.2}
    soap = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 3, compression=compression, species_weighting=w)
    assert_strain_gradients(soap, periodic)


def test_sparse_equals_dense(cluster):
    w = {"H": 0.5, "C": 2.0, "N": 0.7, "O": 1.5, "Cu": 3.0}
    soap = SOAP(["H", "C", "N", "O", "Cu"], 3.5, 3, 3, compression="nu1mu1", species_weighting=w)
    dense = soap.compute(cluster, gradients=True)
    sparse = soap.compute(cluster, gradients=True, sparse=True)
    np.testing.assert_allclose(sparse.values.toarray(), dense.values, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(sparse.gradients), dense.gradients, atol=1e-13)


def test_saved_and_reloaded(cluster):
    soap = SOAP(
        ["H", "C", "N", "O"], 3.5, 3, 3, compression="nu1mu1",
        species_weighting={1: 0.5, "C": 2.0, 7: 0.7, "O": 1.5},
    )  # fmt: skip
    params = soap.to_dict()["params"]
    assert params["species_weighting"] == {"H": 0.5, "C": 2.0, "N": 0.7, "O": 1.5}
    again = calculator_from_dict(soap.to_dict())
    np.testing.assert_array_equal(again.compute(cluster).values, soap.compute(cluster).values)


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0, 2.0], "must be a dict"),
        ({}, "must be a dict"),
        ({"H": 1.0, "Xx": 1.0}, "is no element"),
        ({"H": 1.0, "C": "2"}, "must be a number"),
        ({"H": 1.0, "C": np.inf}, "must be finite"),
        ({"H": 1.0, 1: 2.0, "C": 1.0}, "names H twice"),
        ({"H": 1.0}, r"exactly the species \['H', 'C'\]"),
        ({"H": 1.0, "C": 1.0, "O": 1.0}, "exactly the species"),
    ],
)
def test_bad_weights_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        SOAP(["H", "C"], 3.0, 2, 2, compression="nu1mu1", species_weighting=weights)


def test_other_compressions_refuse_it():
    with pytest.raises(ValueError, match="do not apply to compression 'nu2'"):
        SOAP(["H", "C"], 3.0, 2, 2, species_weighting={"H": 1.0, "C": 1.0})
