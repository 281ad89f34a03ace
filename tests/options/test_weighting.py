"""Radial scaling of neighbour weights (``weighting=``) against DScribe, by finite
differences, under rotation, through to_dict, and its refusals.

DScribe's conventions (tests/peers/test_dscribe_soap.py, slimsoap.io.translate.dscribe_columns)
carry over unchanged: the weight only multiplies each Gaussian. DScribe has no smooth cutoff,
so molecules sit well inside r_cut − cutoff_width, and the periodic cell uses ``poly`` with
r0 < r_cut − cutoff_width, where the weight itself is exactly zero beyond r0.
"""

import numpy as np
import pytest
from ase.build import bulk, molecule
from helpers import assert_position_gradients, assert_strain_gradients
from scipy.spatial.transform import Rotation
from structures import random_alloy

from slimsoap import SOAP
from slimsoap.io import calculator_from_dict
from slimsoap.io.translate import dscribe_columns, featomic_columns, soap_to_featomic
from slimsoap.soap.weighting import RadialWeighting

dscribe = pytest.importorskip("dscribe.descriptors")

HYPER = dict(n_max=4, l_max=4, sigma=0.5)
WEIGHTINGS = [
    dict(function="poly", r0=4.0, c=2.0, m=2.0),
    dict(function="pow", r0=1.5, c=1.0, d=1.0, m=3.0),
    dict(function="pow", r0=1.5, c=2.0, d=1.0, m=3.0, w0=0.3),
    dict(function="exp", r0=1.0, c=1.0, d=0.5),
    dict(w0=0.0),
]
MODES = [("nu2", "off"), ("nu1mu1", "mu1nu1"), ("mu2", "mu2")]


def dscribe_values(atoms, species, r_cut, weighting, mode, periodic=False):
    return dscribe.SOAP(
        species=species,
        r_cut=r_cut,
        rbf="gto",
        periodic=periodic,
        weighting=dict(weighting),
        compression={"mode": mode},
        **HYPER,
    ).create(atoms)


@pytest.mark.parametrize("weighting", WEIGHTINGS, ids=lambda w: str(w))
@pytest.mark.parametrize("compression, mode", MODES)
def test_molecule_matches_dscribe(weighting, compression, mode):
    atoms = molecule("CH3CH2OH")
    r_cut = 6.0
    assert atoms.get_all_distances().max() < r_cut - 0.5
    soap = SOAP(["H", "C", "O"], r_cut, compression=compression, weighting=weighting, **HYPER)
    cols, scale = dscribe_columns(soap)
    ours = soap.compute(atoms).values[:, cols] * scale
    ref = dscribe_values(atoms, ["H", "C", "O"], r_cut, weighting, mode)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max())


def test_periodic_cell_matches_dscribe():
    atoms = bulk("Cu", "fcc", a=3.6) * (2, 1, 1)
    atoms.symbols[1] = "Ag"
    atoms.rattle(0.1, seed=1)
    weighting = dict(function="poly", r0=4.0, c=1.0, m=3.0)
    soap = SOAP(["Cu", "Ag"], 5.0, cutoff_width=0.5, weighting=weighting, **HYPER)
    cols, scale = dscribe_columns(soap)
    ours = soap.compute(atoms).values[:, cols] * scale
    ref = dscribe_values(atoms, ["Cu", "Ag"], 5.0, weighting, "off", periodic=True)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max())


@pytest.mark.parametrize("rate", [0.5, 2.0])
def test_willatt2018_matches_featomic(rate):
    """featomic's SoapPowerSpectrum with density scaling Willatt2018 (the radial basis
    tabulated from slimsoap's by soap_to_featomic; factors of featomic_columns)."""
    featomic = pytest.importorskip("featomic")
    frames = [molecule("CH3CH2OH"), random_alloy(["Cu", "Ag"], repeat=1, seed=2)]
    scaling = {"rate": rate, "scale": 1.3, "exponent": 3.0}
    soap = SOAP(
        ["H", "C", "O", "Cu", "Ag"], r_cut=3.5, n_max=4, l_max=3, sigma=0.4, cutoff_width=0.7,
        center_weight=0.6, weighting={"function": "willatt2018", **scaling},
    )  # fmt: skip
    hypers = soap_to_featomic(soap)
    hypers["density"]["scaling"] = {"type": "Willatt2018", **scaling}
    tm = featomic.SoapPowerSpectrum(**hypers).compute(frames)
    x = soap.compute(frames).values
    offsets = np.cumsum([0] + [len(a) for a in frames])
    assert len(tm.keys) > 0
    for key, block in tm.items():
        _, a, b = (int(v) for v in key.values)
        cols, scale = featomic_columns(soap, (a, b), block.properties.values)
        rows = offsets[block.samples.values[:, 0]] + block.samples.values[:, 1]
        np.testing.assert_allclose(
            x[rows][:, cols] * scale, block.values, atol=1e-9 * np.abs(block.values).max()
        )


def test_willatt2018_is_dscribe_pow_with_c_equal_d():
    """featomic's Willatt2018 g = rate / (rate + (r/scale)^exponent) is DScribe's pow with
    c = d = rate, r0 = scale, m = exponent (both leave the centre at weight 1)."""
    atoms = molecule("CH3CH2OH")
    soap = SOAP(
        ["H", "C", "O"],
        6.0,
        weighting=dict(function="willatt2018", rate=0.5, scale=1.2, exponent=4.0),
        **HYPER,
    )
    cols, scale = dscribe_columns(soap)
    pow_ = dict(function="pow", r0=1.2, c=0.5, d=0.5, m=4.0)
    ref = dscribe_values(atoms, ["H", "C", "O"], 6.0, pow_, "off")
    np.testing.assert_allclose(
        soap.compute(atoms).values[:, cols] * scale, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max()
    )


@pytest.mark.parametrize(
    "weighting, g, dg",
    [
        # poly at r/r0 = 1/2: base = 1 + 1/4 − 3/4 = 1/2; d base/dr = 6 x (x−1)/r0 = −3/4
        (dict(function="poly", r0=2.0, c=3.0, m=2.0), 3.0 * 0.25, 3.0 * 2 * 0.5 * -0.75),
        # pow: 2 / (1 + 0.5³) and −2·3·0.5²/(2 (1.125)²) = −0.75 / 1.125²
        (dict(function="pow", r0=2.0, c=2.0, d=1.0, m=3.0), 2 / 1.125, -0.75 / 1.125**2),
        # exp: 1 / (0.5 + e^{−1/2}) and e^{−1/2} / (2 (0.5 + e^{−1/2})²)
        (
            dict(function="exp", r0=2.0, c=1.0, d=0.5),
            1 / (0.5 + np.exp(-0.5)),
            np.exp(-0.5) / (2 * (0.5 + np.exp(-0.5)) ** 2),
        ),
        # willatt2018: 1 / (1 + 2²) and −1·2·2 / (0.5 · 5²)
        (dict(function="willatt2018", rate=1.0, scale=0.5, exponent=2.0), 0.2, -0.32),
    ],
)
def test_weight_functions_by_hand(weighting, g, dg):
    value, derivative = RadialWeighting.parse(weighting)(np.array([1.0]))
    np.testing.assert_allclose([value[0], derivative[0]], [g, dg], rtol=1e-12)


@pytest.mark.parametrize("m", [0.0, 2.0])
def test_poly_is_zero_from_r0_on(m):
    g, dg = RadialWeighting.parse(dict(function="poly", r0=2.0, c=3.0, m=m))(
        np.array([1.0, 2.0, 2.5])
    )
    assert g[0] > 0 and np.all(g[1:] == 0) and np.all(dg[1:] == 0)


@pytest.mark.parametrize("compression", ["nu2", "nu1mu1", "mu2", "nu1mustar1"])
@pytest.mark.parametrize("weighting", WEIGHTINGS[:4], ids=lambda w: w["function"])
def test_position_gradients_by_finite_differences(cluster, compression, weighting):
    soap = SOAP(["H", "C", "N", "O"], 3.5, 3, 3, compression=compression, weighting=weighting)
    assert_position_gradients(soap, cluster)


def test_strain_gradients_by_finite_differences(periodic):
    weighting = dict(function="pow", r0=2.0, c=1.0, d=1.0, m=4.0, w0=0.5)
    soap = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 3, compression="nu1mu1", weighting=weighting)
    assert_strain_gradients(soap, periodic)


def test_rotation_invariance(cluster):
    soap = SOAP(["H", "C", "N", "O"], 3.5, 4, 4, weighting=WEIGHTINGS[1])
    rotated = cluster.copy()
    rotated.positions = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).apply(cluster.positions)
    np.testing.assert_allclose(
        soap.compute(rotated).values, soap.compute(cluster).values, atol=1e-12
    )


def test_weighting_changes_the_numbers_and_none_does_not(cluster):
    plain = SOAP(["H", "C", "N", "O"], 3.5, 3, 3).compute(cluster).values
    scaled = SOAP(["H", "C", "N", "O"], 3.5, 3, 3, weighting=WEIGHTINGS[1]).compute(cluster)
    assert np.abs(scaled.values - plain).max() > 1e-3 * np.abs(plain).max()
    w0_one = SOAP(["H", "C", "N", "O"], 3.5, 3, 3, weighting={"w0": 1.0}).compute(cluster)
    np.testing.assert_array_equal(w0_one.values, plain)


@pytest.mark.parametrize("weighting", WEIGHTINGS[:3] + [WEIGHTINGS[4]])
def test_saved_and_reloaded(cluster, weighting):
    soap = SOAP(["H", "C", "N", "O"], 3.5, 3, 3, compression="nu1mu1", weighting=weighting)
    again = calculator_from_dict(soap.to_dict())
    assert again.weighting == soap.weighting
    np.testing.assert_array_equal(again.compute(cluster).values, soap.compute(cluster).values)


@pytest.mark.parametrize(
    "weighting, message",
    [
        ({}, "non-empty dict"),
        ("pow", "non-empty dict"),
        ({"function": "gauss", "r0": 1.0}, "must be one of"),
        ({"function": "pow", "r0": 1.0, "c": 1.0, "m": 2.0}, r"missing \['d'\]"),
        ({"function": "poly", "r0": 1.0, "c": 1.0, "m": 2.0, "d": 1.0}, r"unknown \['d'\]"),
        ({"function": "poly", "r0": 0.0, "c": 1.0, "m": 2.0}, "r0 must be > 0"),
        ({"function": "willatt2018", "rate": 0, "scale": 1, "exponent": 2}, "rate must be > 0"),
        ({"function": "poly", "r0": 1.0, "c": -1.0, "m": 2.0}, "finite and ≥ 0"),
        ({"function": "poly", "r0": 1.0, "c": "1", "m": 2.0}, "must be a number"),
        ({"function": "pow", "r0": 1.0, "c": 1.0, "d": 0.0, "m": 2.0}, "infinite at r = 0"),
        (
            {"function": "willatt2018", "rate": 1, "scale": 1, "exponent": 2, "w0": 1},
            "center_weight",
        ),
        ({"c": 1.0}, "takes only 'w0'"),
    ],
)
def test_bad_weighting_refused(weighting, message):
    with pytest.raises(ValueError, match=message):
        SOAP(["H", "C"], 3.0, 2, 2, weighting=weighting)
