import numpy as np
import pytest
from ase import Atoms

import slimsoap
from slimsoap import SOAP


def test_length_formula():
    for N, L, S in [(8, 6, 5), (3, 2, 1), (6, 9, 4)]:
        soap = SOAP(list(range(1, S + 1)), r_cut=5.0, n_max=N, l_max=L)
        expected = N * S * (N * S + 1) // 2 * (L + 1)
        assert soap.n_features == expected == len(soap.labels())
        assert slimsoap.descriptor_length("nu2", n_max=N, l_max=L, n_species=S) == expected
    assert slimsoap.descriptor_length("nu2", n_max=12, l_max=9, n_species=4) == 11760


def test_kernel_identity(cluster):
    """Packed x·x' equals Σ_l Σ_ab p_l[a,b] p'_l[a,b] of the unpacked blocks."""
    species = ["H", "C", "N", "O"]
    N, L = 3, 4
    soap = SOAP(species, r_cut=3.5, n_max=N, l_max=L, center_weight=0.7)
    x = soap.compute(cluster).values
    from slimsoap._validation import species_index
    from slimsoap.soap.expansion import expand
    from slimsoap.systems.neighbours import neighbour_list

    c = expand(
        species_index(cluster.numbers, soap.species_z, 0),
        4,
        soap.basis,
        soap.cutoff_width,
        soap.center_weight,
        False,
        neighbour_list(cluster, soap.r_cut),
    ).coefficients
    i, j = 1, 4
    full = 0.0
    for l in range(L + 1):
        Xi = c[i, :, :, l * l : (l + 1) ** 2].reshape(4 * N, -1)
        Xj = c[j, :, :, l * l : (l + 1) ** 2].reshape(4 * N, -1)
        full += np.sum((Xi @ Xi.T) * (Xj @ Xj.T))
    assert x[i] @ x[j] == pytest.approx(full, rel=1e-12)


def test_labels_name_blocks():
    soap = SOAP(["H", "O"], r_cut=4.0, n_max=2, l_max=1)
    labels = soap.labels()
    assert labels[0] == (0, "H:n0", "H:n0")
    assert labels[1] == (0, "H:n0", "H:n1")
    assert labels[-1] == (1, "O:n1", "O:n1")


def test_float32_and_normalize(cluster):
    s64 = SOAP(["H", "C", "N", "O"], r_cut=3.5, n_max=3, l_max=3, normalize=True)
    s32 = SOAP(["H", "C", "N", "O"], r_cut=3.5, n_max=3, l_max=3, normalize=True, dtype=np.float32)
    x64, x32 = s64.compute(cluster).values, s32.compute(cluster, gradients=True)
    assert x32.values.dtype == np.float32 and x32.gradients.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x64, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(x32.values, x64, atol=1e-6)


def test_center_weight_zero_isolated_atom():
    soap = SOAP(["H"], r_cut=3.0, n_max=3, l_max=2, center_weight=0.0)
    x = soap.compute(Atoms("H", positions=[[0, 0, 0]])).values
    np.testing.assert_array_equal(x, 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(r_cut=0.0), r"r_cut must be > 0, got 0.0"),
        (dict(r_cut=-1.0), r"r_cut must be > 0"),
        (dict(n_max=0), r"n_max must be >= 1, got 0"),
        (dict(l_max=-2), r"l_max must be >= 0"),
        (dict(sigma=0.0), r"sigma must be > 0"),
        (dict(cutoff_width=5.0), r"cutoff_width .* must be smaller than r_cut"),
        (dict(species=["H", "Xx"]), r"unknown chemical species 'Xx'"),
        (dict(species=["H", "H"]), r"lists an element twice"),
        (dict(compression="nu7"), r"unknown compression 'nu7'"),
        (dict(dtype=np.int32), r"dtype must be float32 or float64"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    args = dict(species=["H", "O"], r_cut=4.0, n_max=3, l_max=2) | kwargs
    with pytest.raises(ValueError, match=message):
        SOAP(**args)


def test_bad_frames():
    soap = SOAP(["H", "O"], r_cut=4.0, n_max=3, l_max=2)
    with pytest.raises(ValueError, match=r"frame 0 contains species \['C'\]"):
        soap.compute(Atoms("HOC", positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]]))
    with pytest.raises(ValueError, match="empty frame list"):
        soap.compute([])
    nan = Atoms("HO", positions=[[0, 0, 0], [np.nan, 0, 0]])
    with pytest.raises(ValueError, match=r"frame 0: positions of atoms \[1\] are NaN"):
        soap.compute(nan)
    with pytest.raises(ValueError, match="atoms 0 and 1 are at the same position"):
        soap.compute(Atoms("HO", positions=[[1, 1, 1], [1, 1, 1]]))
    with pytest.raises(ValueError, match="frame 1 has no atoms"):
        soap.compute([Atoms("H"), Atoms()])


def test_small_molecules_batched_equal_one_by_one(monkeypatch):
    """Runs of small non-periodic frames share one pair search and expansion; rows equal
    those of frames computed one at a time, periodic and large frames in between too."""
    from ase.build import molecule
    from structures import random_alloy

    frames = [molecule("CH4"), molecule("H2O"), random_alloy(["C", "O"], repeat=1, seed=2)]
    frames += [molecule("CH3OH"), molecule("CO2"), molecule("C6H6")]
    soap = SOAP(["H", "C", "O"], 4.0, 4, 3, compression="nu1mu1")
    batched = soap.compute(frames).values
    monkeypatch.setattr("slimsoap.systems.batching.SMALL_FRAME", 0)
    single = soap.compute(frames).values
    np.testing.assert_allclose(batched, single, rtol=1e-13, atol=1e-15)
    bad = molecule("H2O")
    bad.positions[2] = bad.positions[1]
    with pytest.raises(ValueError, match="frame 4: atoms 1 and 2 are at the same position"):
        soap.compute(frames[:4] + [bad])
