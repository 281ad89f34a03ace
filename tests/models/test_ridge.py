"""EnergyModel (paper §IV.5): exact recovery, solver agreement, cross-validation of σ."""

import numpy as np
import pytest
import scipy.sparse as sp

from slimsoap.models.ridge import EnergyModel, structure_kernel

SPECIES = np.array([1, 6, 8])


def make_structures(rng, n_structures, n_random, min_atoms=2, max_atoms=7):
    """Random per-atom features: one-hot species columns followed by ``n_random`` normals."""
    sizes = rng.integers(min_atoms, max_atoms + 1, size=n_structures)
    s = np.repeat(np.arange(n_structures), sizes)
    species = rng.choice(SPECIES, size=len(s))
    onehot = (species[:, None] == SPECIES[None, :]).astype(float)
    X = np.hstack([onehot, rng.normal(size=(len(s), n_random))])
    return X, s, species


def per_structure(values, s):
    return np.bincount(s, weights=values)


def test_primal_ridge_recovers_linear_target():
    rng = np.random.default_rng(0)
    w = rng.normal(size=8)
    mu = {1: -13.6, 6: -1030.0, 8: -2040.0}
    X, s, spc = make_structures(rng, 80, 5)
    Xt, st, spt = make_structures(rng, 20, 5)

    def energy(X, s, spc):
        return per_structure(X @ w + np.vectorize(mu.get)(spc), s)

    model = EnergyModel(zeta=1, sigma=1e-7).fit(X, s, energy(X, s, spc), spc)
    assert model.solver_ == "primal"
    np.testing.assert_allclose(model.predict(Xt, st, spt), energy(Xt, st, spt), rtol=0, atol=1e-6)


def test_exact_krr_recovers_quadratic_target():
    rng = np.random.default_rng(1)
    v, u = rng.normal(size=(2, 7))
    X, s, spc = make_structures(rng, 90, 4)
    Xt, st, spt = make_structures(rng, 25, 4)

    def energy(X, s):  # a local energy in the span of the zeta=2 kernel (x.x')^2
        return per_structure((X @ v) ** 2 - 0.5 * (X @ u) ** 2, s)

    model = EnergyModel(zeta=2, sigma=1e-8, solver="exact").fit(X, s, energy(X, s), spc)
    err = model.predict(Xt, st, spt) - energy(Xt, st)
    assert np.max(np.abs(err)) < 1e-5 * np.std(energy(Xt, st))


def test_structure_kernel_chunked_and_sparse_match_brute_force():
    rng = np.random.default_rng(2)
    X, s, _ = make_structures(rng, 6, 3)
    Y, t, _ = make_structures(rng, 4, 3)
    brute = np.zeros((6, 4))
    for i in range(len(X)):
        for j in range(len(Y)):
            brute[s[i], t[j]] += (X[i] @ Y[j]) ** 3
    for chunk in (1, 3, 1000):
        K = structure_kernel(X, s, 6, Y, t, 4, zeta=3, chunk_size=chunk)
        np.testing.assert_allclose(K, brute, rtol=1e-12)
    K = structure_kernel(sp.csr_matrix(X), s, 6, sp.csr_matrix(Y), t, 4, zeta=3, chunk_size=4)
    np.testing.assert_allclose(K, brute, rtol=1e-12)


@pytest.mark.parametrize("n_random", [5, 60])  # primal Gram (d < n) and dual Gram (d > n)
def test_primal_zeta1_equals_exact_dual(n_random):
    rng = np.random.default_rng(3)
    X, s, spc = make_structures(rng, 40, n_random)
    E = rng.normal(size=40) + per_structure(np.full(len(s), -3.0), s)
    Xt, st, spt = make_structures(rng, 15, n_random)
    kw = dict(zeta=1, sigma=0.05)
    primal = EnergyModel(solver="primal", **kw).fit(X, s, E, spc)
    dual = EnergyModel(solver="exact", **kw).fit(X, s, E, spc)
    np.testing.assert_allclose(
        primal.predict(Xt, st, spt), dual.predict(Xt, st, spt), rtol=0, atol=1e-8
    )
    sparse_in = EnergyModel(solver="primal", **kw).fit(sp.csr_matrix(X), s, E, spc)
    np.testing.assert_allclose(
        sparse_in.predict(sp.csr_matrix(Xt), st, spt),
        primal.predict(Xt, st, spt),
        rtol=0,
        atol=1e-10,
    )


def _regularised_loss(model, X, s, E, spc):
    """The paper's L = |Σ⁻¹(E − Ê)|² + βᵀKβ of a fitted model, on its training data."""
    n_atoms = np.bincount(s)
    misfit = np.sum(((E - model.predict(X, s, spc)) / (model.sigma_ * n_atoms)) ** 2)
    if model.solver_ == "exact":
        K = structure_kernel(X, s, len(E), X, s, len(E), model.zeta)
        return misfit + model.beta_ @ K @ model.beta_
    K_mm = (model.sparse_points_ @ model.sparse_points_.T) ** model.zeta
    return misfit + model.weights_ @ K_mm @ model.weights_


def test_sparse_krr_approaches_exact_as_m_grows():
    rng = np.random.default_rng(4)
    X, s, spc = make_structures(rng, 30, 9, min_atoms=3, max_atoms=6)
    E = per_structure(np.sin(X @ rng.normal(size=12)), s)  # not in the kernel's span
    Xt, st, spt = make_structures(rng, 20, 9)
    kw = dict(zeta=3, sigma=1e-2)
    exact = EnergyModel(solver="exact", **kw).fit(X, s, E, spc)
    losses, gaps = [], []
    for m in (5, 20, 60, len(X)):  # farthest-point sets with one start are nested
        model = EnergyModel(solver="sparse", n_sparse=m, selection="fps", **kw).fit(X, s, E, spc)
        losses.append(_regularised_loss(model, X, s, E, spc))
        gaps.append(np.max(np.abs(model.predict(Xt, st, spt) - exact.predict(Xt, st, spt))))
    # a larger (nested) set of sparse points can only lower the minimised loss ...
    assert all(a >= b * (1 - 1e-9) for a, b in zip(losses, losses[1:], strict=False))
    # ... and with every training environment the sparse model is the exact one
    assert losses[-1] == pytest.approx(_regularised_loss(exact, X, s, E, spc), rel=1e-8)
    assert gaps[-1] < 1e-6 * np.max(np.abs(exact.predict(Xt, st, spt)))
    assert gaps[0] > 1e3 * gaps[-1]


@pytest.mark.parametrize(
    ("n_structures", "n_features", "scale"), [(300, 100, 0.03), (400, 60, 0.05)]
)
def test_cross_validation_finds_the_noise_level(n_structures, n_features, scale):
    # Bayesian-ridge setting: weights drawn from the unit prior the kernel assumes and noise of
    # std sigma_true * n_atoms per structure, so the best sigma is sigma_true itself. The
    # feature scale makes signal and noise comparable (otherwise the CV curve is flat).
    sigma_true = 0.2
    rng = np.random.default_rng(5)
    X, s, spc = make_structures(rng, n_structures, n_features, min_atoms=1, max_atoms=4)
    X[:, :3] = 0.0  # no species columns: pure ridge target
    X *= scale
    n_atoms = np.bincount(s)
    E = per_structure(X @ rng.normal(size=X.shape[1]), s)
    E += sigma_true * n_atoms * rng.normal(size=len(E))
    grid = np.logspace(-3, 1, 33)
    model = EnergyModel(zeta=1, sigma_grid=grid, n_folds=10).fit(X, s, E, spc)
    assert abs(np.log10(model.sigma_ / sigma_true)) < 0.3
    # held-out error per atom: the noise plus a little estimation error
    assert 0.9 * sigma_true < model.cv_rmse_.min() < 1.5 * sigma_true


def test_bad_input_is_refused():
    rng = np.random.default_rng(6)
    X, s, spc = make_structures(rng, 5, 2)
    E = np.zeros(5)
    with pytest.raises(ValueError, match="energies must have shape"):
        EnergyModel(sigma=1).fit(X, s, E[:4], spc)
    with pytest.raises(ValueError, match="have no atoms"):
        EnergyModel(sigma=1).fit(X, s + (s >= 2), np.zeros(6), spc)
    with pytest.raises(ValueError, match="primal solver needs zeta=1"):
        EnergyModel(zeta=2, solver="primal", sigma=1).fit(X, s, E, spc)
    with pytest.raises(ValueError, match="NaN"):
        EnergyModel(sigma=1).fit(np.where(X > 1, np.nan, X), s, E, spc)
    with pytest.raises(TypeError, match="normalize must be True or False, got 'no'"):
        EnergyModel(sigma=1, normalize="no").fit(X, s, E, spc)
    with pytest.raises(ValueError, match=r"n_folds must be >= 2, got 1"):
        EnergyModel(n_folds=1).fit(X, s, E, spc)
    model = EnergyModel(sigma=1).fit(X, s, E, spc)
    with pytest.raises(ValueError, match=r"\['Fe'\] not in the training data"):
        model.predict(X, s, np.where(spc == 1, 26, spc))
    with pytest.raises(ValueError, match="unknown parameter"):
        model.set_params(zetta=2)
    assert model.get_params()["zeta"] == 1


def test_joint_chemical_potentials_are_exact_where_separate_ones_are_not():
    # features without species columns cannot absorb a wrong mu from a first, separate fit
    rng = np.random.default_rng(8)
    X, s, spc = make_structures(rng, 60, 4)
    X[:, :3] = 0.0
    Xt, st, spt = make_structures(rng, 20, 4)
    Xt[:, :3] = 0.0
    w = rng.normal(size=7)

    def energy(X, s, spc):
        return per_structure(X @ w + np.where(spc == 1, -13.6, -1030.0), s)

    E, Et = energy(X, s, spc), energy(Xt, st, spt)
    joint = EnergyModel(sigma=1e-7).fit(X, s, E, spc)
    np.testing.assert_allclose(joint.predict(Xt, st, spt), Et, rtol=0, atol=1e-6)
    separate = EnergyModel(sigma=1e-7, chemical_potentials="separate").fit(X, s, E, spc)
    assert np.max(np.abs(separate.predict(Xt, st, spt) - Et)) > 1e-3


def test_cv_ignores_held_out_structures_with_unseen_elements():
    # one structure holds the only fluorine: in its fold it cannot be predicted, and must not
    # decide sigma (its error would be the whole chemical potential of F)
    rng = np.random.default_rng(9)
    X, s, spc = make_structures(rng, 200, 20, min_atoms=2, max_atoms=4)
    X[:, :3] = 0.0
    X *= 0.05
    spc[0] = 9
    E = per_structure(X @ rng.normal(size=X.shape[1]) + np.where(spc == 9, -2700.0, -10.0), s)
    E += 0.2 * np.bincount(s) * rng.normal(size=len(E))
    model = EnergyModel(sigma_grid=np.logspace(-3, 1, 33)).fit(X, s, E, spc)
    assert np.all(model.cv_rmse_ < 1.0)
    assert abs(np.log10(model.sigma_ / 0.2)) < 0.5
