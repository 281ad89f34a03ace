"""Sparse GP force field: derivatives of its own energy, exact recovery, save/load."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from slimsoap.models.pair_baseline import PairBaseline
from slimsoap.models.sparse_gp import (
    Prediction,
    SparseGP,
    Targets,
    errors_by_config_type,
    read_targets,
)

from .toy_descriptor import PairHistogram


def alloy(seed, n_rep=(2, 1, 1), rattle=0.15):
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(n_rep)
    atoms.numbers = np.where(rng.random(len(atoms)) < 0.4, 79, 29)
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    atoms.cell = atoms.cell * (1 + 0.02 * rng.normal(size=(3, 3)))
    atoms.calc = EMT()
    atoms.info["energy"] = atoms.get_potential_energy()
    atoms.arrays["forces"] = atoms.get_forces()
    atoms.info["virial"] = -atoms.get_stress(voigt=False) * atoms.get_volume()
    atoms.info["config_type"] = "bulk" if seed % 2 else "rattled"
    atoms.calc = None
    return atoms


DESCRIPTOR = PairHistogram([29, 79], r_cut=4.0, n_bins=5)


def test_toy_descriptor_gradients_match_finite_differences():
    atoms = alloy(0)
    F = DESCRIPTOR.compute([atoms], gradients=True)
    h = 1e-5
    for row, atom in F.gradient_pairs[::7]:
        for c in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[atom, c] += h
            m.positions[atom, c] -= h
            fd = (DESCRIPTOR.compute([p]).values[row] - DESCRIPTOR.compute([m]).values[row]) / 2 / h
            k = np.flatnonzero((F.gradient_pairs == [row, atom]).all(axis=1))[0]
            np.testing.assert_allclose(F.gradients[k, c], fd, atol=1e-8)


def strained(atoms, a, b, h):
    eps = np.eye(3)
    eps[a, b] += h
    out = atoms.copy()
    out.set_cell(atoms.cell @ eps.T, scale_atoms=True)
    return out


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel="polynomial", zeta=3, baseline=PairBaseline(r_cut=4.0, n_basis=5)),
        dict(kernel="se", theta=0.3),
    ],
)
def test_forces_and_virial_are_derivatives_of_predicted_energy(kw):
    train = [alloy(s) for s in range(6)]
    model = SparseGP(DESCRIPTOR, n_sparse=20, selection="fps", **kw).fit(train)
    atoms = alloy(11)
    pred = model.predict([atoms], features=DESCRIPTOR.compute([atoms], gradients=True))
    energy = lambda a: model.predict([a], forces=False).energy[0]  # noqa: E731
    h = 1e-4
    scale = np.abs(pred.forces).max()
    for i in range(len(atoms)):
        for c in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[i, c] += h
            m.positions[i, c] -= h
            fd = -(energy(p) - energy(m)) / (2 * h)
            assert pred.forces[i, c] == pytest.approx(fd, abs=1e-6 * scale)
    vscale = np.abs(pred.virial).max()
    for a in range(3):
        for b in range(3):
            fd = -(energy(strained(atoms, a, b, h)) - energy(strained(atoms, a, b, -h))) / 2 / h
            assert pred.virial[0, a, b] == pytest.approx(fd, abs=1e-6 * vscale)


SMALL = PairHistogram([29, 79], r_cut=4.0, n_bins=3)  # 6 features: 21 quadratic forms


def teacher_energy(atoms, Q, e0):
    """A local energy in the span of the zeta=2 kernel: x̂ᵀ Q_s x̂ per atom, plus e0."""
    x = SMALL.compute([atoms]).values
    xh = x / np.linalg.norm(x, axis=1)[:, None]
    spc = (atoms.numbers == 79).astype(int)
    return float(np.einsum("id,ide,ie->", xh, Q[spc], xh) + e0[spc].sum())


def teacher_label(atoms, Q, e0, h=1e-5):
    atoms.info["energy"] = teacher_energy(atoms, Q, e0)
    forces = np.zeros((len(atoms), 3))
    for i in range(len(atoms)):
        for c in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[i, c] += h
            m.positions[i, c] -= h
            forces[i, c] = -(teacher_energy(p, Q, e0) - teacher_energy(m, Q, e0)) / (2 * h)
    atoms.arrays["forces"] = forces
    del atoms.info["virial"]
    return atoms


def test_recovers_a_target_in_the_kernel_span():
    rng = np.random.default_rng(7)
    d = SMALL.n_features
    Q = rng.normal(size=(2, d, d)) * 0.3
    Q = Q + Q.transpose(0, 2, 1)
    e0 = np.array([-3.5, -4.2])
    train = [teacher_label(alloy(s, rattle=0.3), Q, e0) for s in range(12)]
    test = [teacher_label(alloy(s, rattle=0.3), Q, e0) for s in range(100, 103)]
    # 12 frames x 8 atoms give more environments per species than the 21 quadratic forms
    model = SparseGP(
        SMALL, zeta=2, n_sparse=200, sigma_energy=1e-6, sigma_force=1e-5, selection="fps"
    ).fit(train)
    pred = model.predict(test)
    ref = read_targets(test)
    assert np.max(np.abs(pred.energy - ref.energy)) < 1e-5 * np.ptp(ref.energy)
    assert np.max(np.abs(pred.forces - ref.forces)) < 1e-4 * np.abs(ref.forces).max()


def test_chunked_descriptor_calls_give_the_same_model(monkeypatch):
    """Features computed a few frames at a time (fit and predict) give the same numbers
    as features computed for all frames in one call."""
    train = [alloy(s) for s in range(6)]
    test = [alloy(s) for s in range(30, 33)]
    kw = dict(zeta=2, n_sparse=15, selection="fps", baseline=PairBaseline(r_cut=4.0))
    whole = SparseGP(DESCRIPTOR, **kw).fit(
        train, features=DESCRIPTOR.compute(train, gradients=True)
    )
    ref = whole.predict(test, features=DESCRIPTOR.compute(test, gradients=True))
    monkeypatch.setattr("slimsoap.models.sparse_gp._CHUNK_ATOMS", 5)
    chunked = SparseGP(DESCRIPTOR, **kw).fit(train)
    assert len(chunked._frame_chunks(train)) == 6
    pred = chunked.predict(test)
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pred.energy, ref.energy, rtol=1e-12)
    np.testing.assert_allclose(pred.forces, ref.forces, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pred.virial, ref.virial, rtol=1e-9, atol=1e-12)


def test_save_load_round_trip(tmp_path):
    train = [alloy(s) for s in range(4)]
    model = SparseGP(DESCRIPTOR, zeta=2, n_sparse=10, baseline=PairBaseline(r_cut=4.0)).fit(train)
    with pytest.warns(UserWarning, match="without its descriptor"):
        model.save(tmp_path / "gp.npz")  # the toy descriptor is not a slimsoap calculator
    loaded = SparseGP.load(tmp_path / "gp.npz")
    assert loaded.descriptor is None
    loaded.descriptor = DESCRIPTOR
    test = [alloy(20)]
    a, b = model.predict(test), loaded.predict(test)
    np.testing.assert_array_equal(a.energy, b.energy)
    np.testing.assert_array_equal(a.forces, b.forces)
    assert loaded.get_params()["zeta"] == 2 and loaded.baseline.r_cut == 4.0


def test_errors_by_config_type_known_values():
    targets = Targets(
        energy=np.array([1.0, 2.0, 3.0]),
        forces=np.zeros((5, 3)),
        virial=np.full((3, 3, 3), np.nan),
        config_type=np.array(["a", "b", "a"]),
    )
    forces = np.zeros((5, 3))
    forces[2] = [3.0, 0.0, 0.0]  # atom 2 belongs to frame 1 ("b")
    p = Prediction(energy=np.array([1.0, 2.0 + 0.2, 3.0 + 0.3]), forces=forces, virial=None)
    out = errors_by_config_type(p, targets, np.array([2, 1, 2]))
    assert out["a"]["n_configs"] == 2
    assert out["a"]["energy_rmse_per_atom"] == pytest.approx(np.sqrt(0.15**2 / 2))
    assert out["a"]["force_rmse"] == 0.0
    assert out["b"]["energy_rmse_per_atom"] == pytest.approx(0.2)
    assert out["b"]["force_rmse"] == pytest.approx(np.sqrt(9 / 3))


def test_bad_input():
    train = [alloy(0)]
    with pytest.raises(ValueError, match="unknown kernel"):
        SparseGP(DESCRIPTOR, kernel="rbf").fit(train)
    with pytest.raises(ValueError, match="no features given"):
        SparseGP().fit(train)
    model = SparseGP(DESCRIPTOR, n_sparse=5).fit(train)
    other = train[0].copy()
    other.numbers[0] = 47
    with pytest.raises(ValueError, match=r"species \['Ag'\] not in the training data"):
        model.predict([other], features=DESCRIPTOR.compute([train[0]], gradients=True))


def test_species_block_sparse_soap_features_give_the_same_model():
    """SOAP features with sparse values and SparseGradients (compute(sparse=True)) fit and
    predict the same model as the dense arrays."""
    from slimsoap import SOAP, SparseGradients

    soap = SOAP(["Cu", "Au"], r_cut=4.0, n_max=3, l_max=2)
    train = [alloy(s) for s in range(4)]
    test = [alloy(s) for s in range(30, 32)]
    kw = dict(zeta=2, n_sparse=10, selection="fps")
    dense = SparseGP(soap, **kw).fit(train, features=soap.compute(train, gradients=True))
    sparse_features = soap.compute(train, gradients=True, sparse=True)
    assert isinstance(sparse_features.gradients, SparseGradients)
    sparse = SparseGP(soap, **kw).fit(train, features=sparse_features)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    ref = dense.predict(test, features=soap.compute(test, gradients=True))
    pred = sparse.predict(test, features=soap.compute(test, gradients=True, sparse=True))
    np.testing.assert_allclose(pred.energy, ref.energy, rtol=1e-10)
    np.testing.assert_allclose(pred.forces, ref.forces, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(pred.virial, ref.virial, rtol=1e-8, atol=1e-10)


def _energy_rows(model, frames):
    """Σ_i δ²f(x̂_i·x̂_m) per frame and sparse point (F, M), of the same species only."""
    from slimsoap._linalg import unit_rows

    feats = model.descriptor.compute(frames)
    Xh, _ = unit_rows(np.asarray(feats.values, dtype=np.float64))
    spc = model._species_index(frames)
    f0 = model._f(Xh @ model.sparse_points_.T)[0] * (spc[:, None] == model.sparse_species_)
    return np.array([f0[feats.frame_index == f].sum(axis=0) for f in range(len(frames))])


def test_force_and_virial_design_rows_are_derivatives_of_the_energy_rows():
    """The design rows built per centre species (against that species' sparse points only)
    are −∂/∂r and −∂/∂ε of the energy rows, also when one species' points are split in two
    runs of columns."""
    from slimsoap import SOAP
    from slimsoap._linalg import unit_rows

    soap = SOAP(["Cu", "Au"], r_cut=4.0, n_max=3, l_max=2)
    frames = [alloy(s) for s in range(3)]
    model = SparseGP(soap, zeta=3, n_sparse=6, selection="fps").fit(frames)
    order = np.r_[0:3, 6:12, 3:6]  # Cu points | Au points | Cu points
    model.sparse_points_ = model.sparse_points_[order]
    model.sparse_species_ = model.sparse_species_[order]
    assert np.count_nonzero(np.diff(model.sparse_species_)) == 2
    atoms = frames[1]
    feats = soap.compute([atoms], gradients=True)
    Xh, norms = unit_rows(np.asarray(feats.values, dtype=np.float64))
    spc = model._species_index([atoms])
    _, forces, virial = model._gp_rows(
        feats, Xh, norms, spc, np.zeros(len(atoms), int), 1, True, True
    )
    h = 1e-5
    for j, c in [(0, 0), (3, 2), (5, 1)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[j, c] += h
        minus.positions[j, c] -= h
        fd = -(_energy_rows(model, [plus]) - _energy_rows(model, [minus]))[0] / (2 * h)
        np.testing.assert_allclose(forces[j, c], fd, rtol=1e-6, atol=1e-8)
    for a, b in [(0, 0), (1, 2), (2, 1)]:
        rows = []
        for sign in (1, -1):
            strained = atoms.copy()
            eps = np.eye(3)
            eps[a, b] += sign * h
            strained.set_cell(atoms.cell.array @ eps.T, scale_atoms=True)
            rows.append(_energy_rows(model, [strained])[0])
        fd = -(rows[0] - rows[1]) / (2 * h)
        np.testing.assert_allclose(virial[0, a, b], fd, rtol=1e-6, atol=1e-8)
    assert np.abs(forces).max() > 1e-3 and np.abs(virial).max() > 1e-3
