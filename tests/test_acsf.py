"""ACSF: known values, compressions as maps, lengths, gradients, invariance, bad input."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from checks import assert_strain_gradients
from structures import random_alloy

from slimsoap.acsf import compressions
from slimsoap.acsf.calculator import ACSF, acsf_length
from slimsoap.acsf.compressions import species_pairs
from slimsoap.acsf.presets import REFERENCE_CUTOFF, behler_preset

G2 = [[0.5, 0.0], [1.2, 1.5]]
G4 = [[0.05, 1, 1], [0.1, 2, -1], [0.0, 3.5, 1]]
G5 = [[0.02, 1, -1], [0.3, 4, 1]]
SPECIES = ["Cu", "Ag", "Au"]
#: (compression, ACSF keyword arguments) of every registered ACSF compression and example.
CASES = [
    (name, options)
    for name in compressions.names()
    for options in compressions.get(name).example_options(len(SPECIES))
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def alloy(n_rep=(2, 1, 1), seed=0, rattle=0.15) -> Atoms:
    """Small periodic 3-element fcc cell; at r_cut 4.5 Å atoms see their own images."""
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(n_rep)
    atoms.symbols = rng.choice(SPECIES, len(atoms))
    atoms.rattle(rattle, seed=seed + 1)
    return atoms


def cluster() -> Atoms:
    """Non-periodic 3-element cluster with some pairs beyond the cutoff."""
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 5.0, size=(9, 3))
    return Atoms(rng.choice(SPECIES, 9).tolist(), positions=pos)


def calc(compression="nu2", **kw) -> ACSF:
    return ACSF(SPECIES, 4.5, G2, G4, G5, compression=compression, g1=True, **kw)


def dense_gradients(features, n_atoms):
    out = np.zeros((n_atoms, n_atoms, 3, features.gradients.shape[2]))
    np.add.at(
        out, (features.gradient_pairs[:, 0], features.gradient_pairs[:, 1]), features.gradients
    )
    return out


def fc(r, rc):
    return 0.5 * (np.cos(np.pi * r / rc) + 1.0)


def test_known_values_of_a_right_angle():
    """Centre at the origin, two H at unit distance at 90°: every term by hand."""
    rc = 3.0
    atoms = Atoms("OHH", positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    eta2, rs, eta4, zeta, eta5 = 0.7, 0.4, 0.2, 2.0, 0.3
    a = ACSF(
        ["H", "O"],
        rc,
        [[eta2, rs]],
        [[eta4, zeta, 1.0], [eta4, zeta, -1.0]],
        [[eta5, 1.0, 1.0]],
        g1=True,
    )
    x = a.compute(atoms).values[0]
    # radial blocks: H then O (sorted by Z); pairs (H,H), (H,O), (O,O)
    g2 = 2 * np.exp(-eta2 * (1 - rs) ** 2) * fc(1.0, rc)
    g4p = 2 ** (1 - zeta) * 1.0 * np.exp(-eta4 * 4.0) * fc(1.0, rc) ** 2 * fc(np.sqrt(2), rc)
    g5 = 2**0 * np.exp(-eta5 * 2.0) * fc(1.0, rc) ** 2
    expected = np.zeros(a.n_features)
    expected[0:2] = [2 * fc(1.0, rc), g2]
    expected[4:7] = [g4p, g4p, g5]  # cos θ = 0: λ = ±1 agree
    np.testing.assert_allclose(x, expected, rtol=1e-14, atol=1e-15)
    assert a.labels()[4].endswith("|H-H")


@pytest.mark.parametrize("s", [1, 2, 3, 5])
@pytest.mark.parametrize("compression", ["nu2", "nu1mu1", "mu2", "weighted"])
def test_lengths(s, compression):
    species = ["H", "C", "N", "O", "S"][:s]
    n2, n4, n5 = 2, 3, 2
    expected = {
        "nu2": s * (n2 + 1) + s * (s + 1) // 2 * (n4 + n5),
        "nu1mu1": s * (n2 + 1) + s * (n4 + n5),
        "mu2": (n2 + 1) + (n4 + n5),
        "weighted": (n2 + 1) + (n4 + n5),
    }[compression]
    a = ACSF(species, 4.0, G2, G4, G5, compression=compression, g1=True)
    assert a.n_features == expected == acsf_length(compression, s, n2, n4, n5, g1=True)
    assert len(a.labels()) == expected == len(set(a.labels()))
    assert (
        a.compute(
            molecule("CH4") if s >= 2 else Atoms("H2", [[0, 0, 0], [0, 0, 0.8]])
        ).values.shape[1]
        == expected
    )


def test_paper_lengths_behler_preset_five_species():
    """8 G2 + 18 G4 at S = 5: ν=2 is 310 long, ν,μ=1,1 is 130, μ=2 and wACSF 26."""
    assert acsf_length("nu2", 5, 8, 18) == 5 * 8 + 15 * 18 == 310
    assert acsf_length("nu1mu1", 5, 8, 18) == 130
    assert acsf_length("mu2", 5, 8, 18) == acsf_length("weighted", 5, 8, 18) == 26
    a = ACSF.preset("behler", ["Cu", "Ag", "Au", "Ni", "Pd"], 6.0, compression="nu2")
    assert a.n_features == 310


@pytest.mark.parametrize("atoms", [alloy(), cluster()], ids=["periodic", "cluster"])
def test_compressions_are_sums_of_nu2_blocks(atoms):
    full = calc("nu2").compute(atoms).values
    s, n_rad, n_ang = len(SPECIES), 1 + len(G2), len(G4) + len(G5)
    rad = full[:, : s * n_rad].reshape(-1, s, n_rad)
    ang = full[:, s * n_rad :].reshape(-1, s * (s + 1) // 2, n_ang)
    pairs = species_pairs(s)
    nu1mu1 = calc("nu1mu1").compute(atoms).values
    per_alpha = np.stack(
        [ang[:, [p for p, (b, g) in enumerate(pairs) if a in (b, g)]].sum(1) for a in range(s)],
        axis=1,
    )
    np.testing.assert_allclose(nu1mu1[:, : s * n_rad], full[:, : s * n_rad], rtol=1e-13)
    np.testing.assert_allclose(
        nu1mu1[:, s * n_rad :], per_alpha.reshape(len(atoms), -1), rtol=1e-13, atol=1e-15
    )
    mu2 = calc("mu2").compute(atoms).values
    np.testing.assert_allclose(mu2, np.hstack([rad.sum(1), ang.sum(1)]), rtol=1e-13, atol=1e-15)
    z = np.array([29.0, 47.0, 79.0])  # Cu, Ag, Au sorted by Z
    wz = np.array([z[b] * z[g] for b, g in pairs])
    weighted = calc("weighted").compute(atoms).values
    np.testing.assert_allclose(
        weighted,
        np.hstack([np.einsum("isk,s->ik", rad, z), np.einsum("ipk,p->ik", ang, wz)]),
        rtol=1e-13,
        atol=1e-12,
    )


def test_mu2_is_the_single_species_descriptor():
    atoms = alloy()
    mono = atoms.copy()
    mono.symbols = ["Cu"] * len(mono)
    single = ACSF(["Cu"], 4.5, G2, G4, G5, g1=True).compute(mono).values
    np.testing.assert_allclose(calc("mu2").compute(atoms).values, single, rtol=1e-13)


def test_weights_follow_the_given_species_order():
    a = ACSF(["Au", "Cu", "Ag"], 4.5, G2, G4, compression="weighted", weights=[3.0, 1.0, 2.0])
    b = ACSF(["Cu", "Ag", "Au"], 4.5, G2, G4, compression="weighted", weights=[1.0, 2.0, 3.0])
    atoms = alloy()
    np.testing.assert_array_equal(a.compute(atoms).values, b.compute(atoms).values)


@pytest.mark.parametrize("s", [1, 2, 4])
@pytest.mark.parametrize("compression", compressions.names())
def test_registered_lengths_and_labels(s, compression):
    """Every registered compression: n_features = acsf_length = number of unique labels,
    K2 rows per radial function, K3 per angular one."""
    spec = compressions.get(compression)
    w2, w3 = spec.maps(np.arange(1, s + 1), spec.parse({}))
    assert w2.shape[1] == s and w3.shape[1] == s * (s + 1) // 2
    a = ACSF(["H", "C", "N", "O"][:s], 4.0, G2, G4, G5, compression=compression, g1=True)
    expected = w2.shape[0] * (1 + len(G2)) + w3.shape[0] * (len(G4) + len(G5))
    assert a.n_features == expected == acsf_length(compression, s, len(G2), len(G4), 2, True)
    assert len(set(a.labels())) == len(a.labels()) == expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("atoms", [alloy(), cluster()], ids=["periodic", "cluster"])
def test_gradients_match_central_finite_differences(case, atoms):
    compression, options = case
    a = calc(compression, **options)
    f = a.compute(atoms, gradients=True)
    analytic = dense_gradients(f, len(atoms))
    h = 1e-5
    numeric = np.zeros_like(analytic)
    for k in range(len(atoms)):
        for x in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[k, x] += h
            minus.positions[k, x] -= h
            numeric[:, k, x] = (a.compute(plus).values - a.compute(minus).values) / (2 * h)
    scale = np.abs(numeric).max()
    assert scale > 0
    assert np.abs(analytic - numeric).max() <= 1e-6 * scale


def test_gradient_pair_format():
    atoms = cluster()
    f = calc().compute(atoms, gradients=True)
    rows = f.gradient_pairs[:, 0]
    assert np.all(np.diff(rows) >= 0)
    starts = np.flatnonzero(np.r_[True, np.diff(rows) > 0])
    np.testing.assert_array_equal(f.gradient_pairs[starts, 1], np.arange(len(atoms)))
    d = atoms.get_all_distances()
    for row in range(len(atoms)):
        got = sorted(f.gradient_pairs[rows == row, 1].tolist())
        assert got == sorted(np.flatnonzero(d[row] < 4.5).tolist())
    # translation invariance: the gradients of a row sum to zero over atoms
    total = np.zeros((len(atoms), 3, f.gradients.shape[2]))
    np.add.at(total, rows, f.gradients)
    assert np.abs(total).max() < 1e-12 * np.abs(f.gradients).max()


def test_rotation_translation_permutation_invariance():
    a = calc("nu2")
    atoms = alloy(n_rep=(2, 2, 1))
    x = a.compute(atoms).values
    q, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(3, 3)))
    moved = atoms.copy()
    moved.set_cell(atoms.cell @ q.T, scale_atoms=False)
    moved.positions = atoms.positions @ q.T + np.array([0.3, -1.7, 2.2])
    np.testing.assert_allclose(a.compute(moved).values, x, rtol=1e-10, atol=1e-12)
    perm = np.random.default_rng(6).permutation(len(atoms))
    np.testing.assert_allclose(a.compute(atoms[perm]).values, x[perm], rtol=1e-12, atol=1e-14)


def test_frames_rows_and_float32():
    frames = [cluster(), alloy()]
    a = ACSF(SPECIES, 4.5, G2, G4, dtype=np.float32)
    f = a.compute(frames, gradients=True)
    assert f.values.dtype == np.float32 and f.gradients.dtype == np.float32
    np.testing.assert_array_equal(f.frame_index, np.repeat([0, 1], [9, 8]))
    one = ACSF(SPECIES, 4.5, G2, G4).compute(frames[1]).values
    np.testing.assert_allclose(f.frame(1), one, rtol=1e-6)
    assert f.gradient_pairs[:, 1].max() >= 9  # global atom indices of frame 1


def test_behler_preset_scales_with_the_cutoff():
    ref = behler_preset(REFERENCE_CUTOFF)
    assert ref["g2_params"].shape == (8, 2) and ref["g4_params"].shape == (18, 3)
    np.testing.assert_allclose(
        ref["g2_params"][:, 0] * 0.28, [0.0009, 0.01, 0.02, 0.035, 0.06, 0.1, 0.2, 0.4], rtol=1e-3
    )
    for rc in (4.0, 6.0):
        p = behler_preset(rc)
        np.testing.assert_allclose(p["g2_params"][:, 0] * rc**2, ref["g2_params"][:, 0] * 36.0)
        np.testing.assert_allclose(p["g4_params"][:, 0] * rc**2, ref["g4_params"][:, 0] * 36.0)
        np.testing.assert_array_equal(p["g4_params"][:, 1:], ref["g4_params"][:, 1:])
    assert set(map(tuple, ref["g4_params"][:, 1:])) == {
        (z, lam) for z in (1.0, 2.0, 4.0) for lam in (1.0, -1.0)
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"r_cut": 0.0}, "r_cut must be > 0"),
        ({"r_cut": -1.0}, "r_cut must be > 0"),
        ({"g2_params": [0.5, 0.0]}, r"g2_params must be an \(n, 2\) array .* shape \(2,\)"),
        ({"g2_params": [[0.5, 0.0, 1.0]]}, r"g2_params must be an \(n, 2\)"),
        ({"g2_params": [[-0.5, 0.0]]}, "g2_params: eta must be > 0"),
        ({"g2_params": [["a", 0.0]]}, "non-numeric"),
        ({"g4_params": [[0.1, 1.0]]}, r"g4_params must be an \(n, 3\)"),
        ({"g4_params": [[0.1, 0.5, 1.0]]}, "g4_params: zeta must be >= 1"),
        ({"g5_params": [[0.1, 1.0, 0.5]]}, "g5_params: lambda must be"),
        ({"g5_params": [[np.nan, 1.0, 1.0]]}, "g5_params contains NaN"),
        ({"compression": "nu3"}, "unknown ACSF compression 'nu3'"),
        ({"weights": [1, 2, 3]}, "weights only apply to compression='weighted', not 'nu2'"),
        ({"compression": "weighted", "weights": [1, 2]}, "weights must be 3 finite numbers"),
        ({"g2_params": None, "g4_params": None}, "at least one function"),
        ({"species": ["Cu", "Xx"]}, "unknown chemical species 'Xx'"),
    ],
)
def test_bad_parameters(kwargs, message):
    args = {"species": SPECIES, "r_cut": 4.5, "g2_params": G2, "g4_params": G4} | kwargs
    with pytest.raises(ValueError, match=message):
        ACSF(**args)


def test_bad_frames():
    a = ACSF(SPECIES, 4.5, G2, G4)
    with pytest.raises(ValueError, match="empty frame list"):
        a.compute([])
    with pytest.raises(ValueError, match=r"frame 1 contains species \['Pt'\]"):
        a.compute([alloy(), Atoms("CuPt", positions=[[0, 0, 0], [0, 0, 2.5]])])
    with pytest.raises(ValueError, match="unknown ACSF preset 'smith'"):
        ACSF.preset("smith", SPECIES, 4.5)


@pytest.mark.parametrize("gradients", [False, True])
def test_batched_molecule_pairs_equal_the_general_neighbour_list(monkeypatch, gradients):
    frames = [cluster(), molecule("CH3CH2OH"), alloy(), cluster(), molecule("HCOOH")]
    a = ACSF(["H", "C", "O"] + SPECIES, 4.5, G2, G4, G5)
    batched = a.compute(frames, gradients=gradients)
    monkeypatch.setattr("slimsoap.systems.batching.SMALL_FRAME", 0)
    general = a.compute(frames, gradients=gradients)
    np.testing.assert_allclose(batched.values, general.values, rtol=1e-13, atol=1e-15)
    if gradients:  # slot order may differ with the neighbour order: compare densely
        n = len(batched.values)
        np.testing.assert_allclose(
            dense_gradients(batched, n), dense_gradients(general, n), rtol=1e-12, atol=1e-14
        )


def test_coincident_atoms_in_a_molecule():
    bad = Atoms("CuAgAu", positions=[[0, 0, 0], [0, 0, 2.5], [0, 0, 2.5]])
    with pytest.raises(ValueError, match="frame 1: atoms 1 and 2 are at the same position"):
        calc().compute([cluster(), bad])


@pytest.mark.parametrize("compression", ["nu2", "weighted"])
def test_strain_gradients_finite_strain(compression):
    """∂x/∂ε_ba (cell and positions deformed by 1 + ε) equals strain_gradients[:, a, b]."""
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.symbols = ["Cu", "Ag", "Au", "Cu"]
    atoms.rattle(0.1, seed=4)
    calc = ACSF.preset("behler", ["Cu", "Ag", "Au"], 4.5)
    calc = ACSF(
        ["Cu", "Ag", "Au"],
        4.5,
        calc.g2_params,
        calc.g4_params,
        g5_params=[[0.01, 1.0, 1.0]],
        compression=compression,
    )
    assert_strain_gradients(calc, atoms)


def test_threads_give_the_same_values_and_gradients():
    """Centre ranges in two threads give the numbers of one thread, bit for bit."""
    import slimsoap
    from slimsoap._runtime import threads as _threads

    frames = [random_alloy(["C", "O", "N"], repeat=3, seed=8)]
    acsf = ACSF(["C", "N", "O"], 3.5, G2, G4, G5, compression="nu1mu1")
    before = slimsoap.get_num_threads()
    try:
        slimsoap.set_num_threads(1)
        one = acsf.compute(frames, gradients=True)
        slimsoap.set_num_threads(2)
        two = acsf.compute(frames, gradients=True)
        assert _threads._THREADS._pool is not None  # the work was really split
    finally:
        slimsoap.set_num_threads(before)
    np.testing.assert_array_equal(two.values, one.values)
    np.testing.assert_array_equal(two.gradients, one.gradients)
    np.testing.assert_array_equal(two.strain_gradients, one.strain_gradients)
