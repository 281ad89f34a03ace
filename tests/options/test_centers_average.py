"""``centers=`` and ``average=`` of SOAP.compute against DScribe, by finite differences
(positions and strain), against the per-atom rows, and their refusals.

DScribe's conventions: slimsoap.io.translate.dscribe_columns; DScribe returns one
(n_features,) vector for an average of one frame, slimsoap one row per frame.
"""

import numpy as np
import pytest
from ase.build import bulk, molecule
from helpers import assert_position_gradients, assert_strain_gradients, dense_pair_gradients
from scipy.spatial.transform import Rotation

from slimsoap import SOAP
from slimsoap.io.translate import dscribe_columns

dscribe = pytest.importorskip("dscribe.descriptors")

HYPER = dict(n_max=4, l_max=4, sigma=0.5)
MODES = [("nu2", "off"), ("nu1mu1", "mu1nu1"), ("mu2", "mu2")]
WEIGHTING = dict(function="poly", r0=4.0, c=1.0, m=3.0)


def compare(atoms, species, r_cut, compression, mode, periodic, centers, average, weighting):
    soap = SOAP(species, r_cut, compression=compression, weighting=weighting, **HYPER)
    ref = dscribe.SOAP(
        species=species,
        r_cut=r_cut,
        rbf="gto",
        periodic=periodic,
        compression={"mode": mode},
        average=average,
        weighting=None if weighting is None else dict(weighting),
        **HYPER,
    ).create(atoms, centers=centers)
    cols, scale = dscribe_columns(soap)
    ours = soap.compute(atoms, centers=centers, average=average).values[:, cols] * scale
    ref = ref.reshape(ours.shape)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max())


@pytest.mark.parametrize("compression, mode", MODES)
@pytest.mark.parametrize("average", ["off", "outer", "inner"])
@pytest.mark.parametrize("centers", [None, [5, 0, 2, 0]])
def test_molecule_matches_dscribe(compression, mode, average, centers):
    compare(
        molecule("CH3CH2OH"), ["H", "C", "O"], 6.0, compression, mode, False, centers, average, None
    )


@pytest.mark.parametrize("average", ["off", "outer", "inner"])
def test_periodic_cell_matches_dscribe(average):
    """Periodic: poly weighting, zero beyond r0 < r_cut − cutoff_width, so DScribe's cutoff
    padding and our cosine cutoff see the same density."""
    atoms = bulk("Cu", "fcc", a=3.6) * (2, 1, 1)
    atoms.symbols[1] = "Ag"
    atoms.rattle(0.1, seed=1)
    compare(atoms, ["Cu", "Ag"], 5.0, "nu2", "off", True, [1, 0], average, WEIGHTING)


def test_centers_are_the_selected_rows(cluster, periodic):
    soap = SOAP(["H", "C", "N", "O", "Cu", "Ag", "Au"], 3.5, 3, 3, compression="nu1mu1")
    frames = [cluster, periodic]
    full = soap.compute(frames, gradients=True)
    centers = [[4, 1, 4], [2]]
    part = soap.compute(frames, gradients=True, centers=centers)
    rows = [4, 1, 4, len(cluster) + 2]
    np.testing.assert_array_equal(part.values, full.values[rows])
    np.testing.assert_array_equal(part.frame_index, [0, 0, 0, 1])
    np.testing.assert_array_equal(part.strain_gradients, full.strain_gradients[rows])
    n = len(cluster) + len(periodic)
    np.testing.assert_array_equal(
        dense_pair_gradients(part, n), dense_pair_gradients(full, n)[rows]
    )
    full = soap.compute(frames, gradients=True, sparse=True)
    part = soap.compute(frames, gradients=True, sparse=True, centers=centers)
    np.testing.assert_array_equal(part.values.toarray(), full.values.toarray()[rows])
    np.testing.assert_array_equal(
        np.asarray(part.strain_gradients), np.asarray(full.strain_gradients)[rows]
    )
    np.testing.assert_array_equal(
        dense_pair_gradients(part, n), dense_pair_gradients(full, n)[rows]
    )


def test_outer_is_the_mean_of_rows(cluster, periodic):
    soap = SOAP(["H", "C", "N", "O", "Cu", "Ag", "Au"], 3.5, 3, 3)
    frames = [cluster, periodic]
    full = soap.compute(frames, gradients=True)
    mean = soap.compute(frames, gradients=True, average="outer")
    np.testing.assert_array_equal(mean.frame_index, [0, 1])
    for f in range(len(frames)):
        rows = full.frame_index == f
        np.testing.assert_allclose(mean.values[f], full.values[rows].mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(
            mean.strain_gradients[f], full.strain_gradients[rows].mean(axis=0), rtol=1e-12
        )
    sparse = soap.compute(frames, sparse=True, average="outer")
    np.testing.assert_allclose(sparse.values.toarray(), mean.values, rtol=1e-13)


@pytest.mark.parametrize("compression", ["nu2", "nu1mu1", "mu2", "nu1mustar1"])
@pytest.mark.parametrize("average", ["off", "outer", "inner"])
def test_position_gradients_by_finite_differences(cluster, compression, average):
    soap = SOAP(["H", "C", "N", "O"], 3.5, 3, 3, compression=compression)
    assert_position_gradients(soap, cluster, centers=[6, 0, 3], average=average)


@pytest.mark.parametrize("average", ["outer", "inner"])
def test_strain_gradients_by_finite_differences(periodic, average):
    soap = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 3, compression="nu1mu1", weighting=WEIGHTING)
    assert_strain_gradients(soap, periodic, centers=[0, 3, 1], average=average)


@pytest.mark.parametrize("average", ["outer", "inner"])
def test_averages_invariant_to_rotation_and_atom_order(cluster, average):
    soap = SOAP(["H", "C", "N", "O"], 3.5, 4, 4, compression="nu1mu1")
    moved = cluster.copy()
    moved.positions = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).apply(cluster.positions)
    moved = moved[np.random.default_rng(0).permutation(len(moved))]
    np.testing.assert_allclose(
        soap.compute(moved, average=average).values,
        soap.compute(cluster, average=average).values,
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(average="mean"), "average must be"),
        (dict(centers=[]), "list of atom indices"),
        (dict(centers=[0, 99]), "outside 0..8"),
        (dict(centers=[0, -1]), "outside 0..8"),
        (dict(centers=[0.0, 1]), "must be integers"),
        (dict(centers=[[0], [1]]), "2 lists but there are 1 frames"),
        (dict(average="inner", sparse=True), "sparse=False"),
        (dict(average="outer", sparse=True, gradients=True), "sparse=False"),
    ],
)
def test_bad_options_refused(cluster, kwargs, message):
    soap = SOAP(["H", "C", "N", "O"], 3.5, 2, 2)
    with pytest.raises(ValueError, match=message):
        soap.compute(cluster, **kwargs)


@pytest.mark.parametrize("average", ["outer", "inner"])
def test_normalize_normalises_the_average(cluster, periodic, average):
    species = ["H", "C", "N", "O", "Cu", "Ag", "Au"]
    plain = SOAP(species, 3.5, 3, 3).compute([cluster, periodic], average=average).values
    unit = SOAP(species, 3.5, 3, 3, normalize=True).compute([cluster, periodic], average=average)
    by_hand = plain / np.linalg.norm(plain, axis=1, keepdims=True)
    np.testing.assert_allclose(unit.values, by_hand, rtol=1e-13, atol=1e-15)
    soap = SOAP(["H", "C", "N", "O"], 3.5, 3, 3, compression="nu1mu1", normalize=True)
    assert_position_gradients(soap, cluster, centers=[6, 0, 3], average=average)
    soap = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 3, normalize=True)
    assert_strain_gradients(soap, periodic, average=average)
