"""Exact leave-one-out CV (``n_folds="loo"``): the solvers' closed form against refits
without each structure, and EnergyModel's against k-fold with k = n (the same partition)."""

import numpy as np
import pytest
import scipy.sparse as sp

from slimsoap.models.ridge import EnergyModel, as_numbers, element_counts, structure_matrix
from slimsoap.models.solvers import KernelRidge, WeightedRidge
from tests.models.test_choices import energies, structures

#: σ where every refit is well conditioned (at σ → 0 the refits near interpolation lose
#: digits to E − Ê, which the closed form avoids).
SIGMAS = np.array([0.03, 0.3, 3.0])
GRID = np.logspace(-2, 0.5, 11)


def _problem(rng, n, p, sparse=False, offsets=True):
    Z = rng.normal(size=(n, p))
    if sparse:
        Z = sp.csr_matrix(np.where(rng.random((n, p)) < 0.3, Z, 0.0))
    n_atoms = rng.integers(1, 9, n).astype(float)
    C = np.stack([rng.integers(0, 4, n), rng.integers(1, 4, n), np.ones(n)], axis=1)
    return Z, n_atoms, rng.normal(size=n), C.astype(float) if offsets else None


def _refits(make, Z, n_atoms, E, C, test_rows):
    """Each structure predicted by a solver fitted on all the others."""
    out = np.empty((len(E), len(SIGMAS)))
    for i in range(len(E)):
        keep = np.arange(len(E)) != i
        solver = make(Z, keep, n_atoms[keep], E[keep], None if C is None else C[keep])
        out[i] = solver.predict_many(test_rows(Z, i, keep), None if C is None else C[i : i + 1],
                                     SIGMAS)[0]  # fmt: skip
    return out


@pytest.mark.parametrize("p", [6, 60], ids=["primal", "dual"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("offsets", [True, False], ids=["offsets", "none"])
def test_weighted_ridge_loo_equals_refits(p, sparse, offsets):
    Z, n_atoms, E, C = _problem(np.random.default_rng(p + sparse), 30, p, sparse, offsets)
    solver = WeightedRidge(Z, n_atoms, E, C)
    assert solver.primal == (p < 30)
    brute = _refits(lambda Z, keep, *a: WeightedRidge(Z[keep], *a), Z, n_atoms, E, C,
                    lambda Z, i, keep: Z[i : i + 1])  # fmt: skip
    np.testing.assert_allclose(solver.loo_many(SIGMAS), brute, rtol=1e-9, atol=1e-11)


def test_weighted_ridge_loo_takes_the_rows_in_chunks(monkeypatch):
    import slimsoap.models.solvers as solvers

    Z, n_atoms, E, C = _problem(np.random.default_rng(7), 40, 8)
    whole = WeightedRidge(Z, n_atoms, E, C).loo_many(SIGMAS)
    monkeypatch.setattr(solvers, "LEVERAGE_CHUNK", 7)
    np.testing.assert_allclose(WeightedRidge(Z, n_atoms, E, C).loo_many(SIGMAS), whole,
                               rtol=1e-13)  # fmt: skip


def test_kernel_ridge_loo_equals_refits():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(25, 8))
    K = (A @ A.T) ** 2
    _, n_atoms, E, C = _problem(rng, 25, 2)
    brute = _refits(lambda K, keep, *a: KernelRidge(K[np.ix_(keep, keep)], *a), K, n_atoms,
                    E, C, lambda K, i, keep: K[i : i + 1][:, keep])  # fmt: skip
    np.testing.assert_allclose(KernelRidge(K, n_atoms, E, C).loo_many(SIGMAS), brute,
                               rtol=1e-9, atol=1e-11)  # fmt: skip


def test_loo_of_a_rank_deficient_kernel():
    """A kernel of rank 3 on 12 structures has null directions beyond span(C): they count
    fully in 1 − H_ii, as in a refit."""
    rng = np.random.default_rng(4)
    A = rng.normal(size=(12, 3))
    K = A @ A.T
    _, n_atoms, E, C = _problem(rng, 12, 2)
    brute = _refits(lambda K, keep, *a: KernelRidge(K[np.ix_(keep, keep)], *a), K, n_atoms,
                    E, C, lambda K, i, keep: K[i : i + 1][:, keep])  # fmt: skip
    np.testing.assert_allclose(KernelRidge(K, n_atoms, E, C).loo_many(SIGMAS), brute,
                               rtol=1e-9, atol=1e-11)  # fmt: skip


def _data(seed=0, n=30):
    rng = np.random.default_rng(seed)
    X, s, spc = structures(rng, n)
    return X, s, spc, energies(X, s, "quadratic") + rng.normal(scale=0.05, size=n)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"feature_scaling": "standard"},
        {"intercept": True, "loss": "per_structure"},
        {"zeta": 2, "normalize": True, "solver": "sparse", "n_sparse": 20},
        {"zeta": 2, "solver": "exact"},
    ],
    ids=["primal", "standard", "intercept", "sparse", "exact"],
)
def test_energy_model_loo_is_k_fold_with_one_structure_per_fold(params):
    X, s, spc, E = _data()
    loo = EnergyModel(n_folds="loo", sigma_grid=GRID, **params).fit(X, s, E, spc)
    k_fold = EnergyModel(n_folds=len(E), sigma_grid=GRID, **params).fit(X, s, E, spc)
    np.testing.assert_allclose(loo.cv_rmse_, k_fold.cv_rmse_, rtol=1e-9)
    np.testing.assert_allclose(loo.cv_mae_, k_fold.cv_mae_, rtol=1e-9)
    np.testing.assert_allclose(loo.cv_predictions_, k_fold.cv_predictions_, rtol=1e-9)
    assert loo.sigma_ == k_fold.sigma_
    coef = "weights_" if hasattr(loo, "weights_") else "beta_"
    np.testing.assert_array_equal(getattr(loo, coef), getattr(k_fold, coef))


def test_separate_potentials_leave_the_ridge_part_out():
    """With μ fitted first, leave-one-out refits the ridge part on the others' residuals
    E − Cμ (μ from all structures)."""
    X, s, spc, E = _data(seed=1)
    model = EnergyModel(n_folds="loo", sigma_grid=GRID, chemical_potentials="separate")
    model.fit(X, s, E, spc)
    n = len(E)
    counts = element_counts(as_numbers(spc), s, model.elements_, n)
    mu = np.linalg.lstsq(counts, E, rcond=None)[0]
    Phi = np.asarray(structure_matrix(s, n) @ X)
    n_atoms = counts.sum(axis=1)
    brute = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        ridge = WeightedRidge(Phi[keep], n_atoms[keep], (E - counts @ mu)[keep])
        brute[i] = ridge.predict_many(Phi[i : i + 1], None, [model.sigma_])[0, 0] + counts[i] @ mu
    np.testing.assert_allclose(model.cv_predictions_, brute, rtol=1e-9)


def test_a_structure_with_an_element_of_its_own_is_skipped():
    X, s, spc, E = _data(seed=2)
    spc = as_numbers(spc)
    spc[s == 5] = 9  # structure 5 alone has fluorine
    loo = EnergyModel(n_folds="loo", sigma_grid=GRID).fit(X, s, E, spc)
    assert np.isnan(loo.cv_predictions_[5])
    assert np.isfinite(np.delete(loo.cv_predictions_, 5)).all()
    k_fold = EnergyModel(n_folds=len(E), sigma_grid=GRID).fit(X, s, E, spc)
    np.testing.assert_allclose(loo.cv_rmse_, k_fold.cv_rmse_, rtol=1e-9)


def test_stack_on_leave_one_out_predictions():
    X, s, spc, E = _data(seed=3)
    entries = [{"feature_scaling": None}, {"zeta": 2, "normalize": True, "solver": "exact"}]
    stack = EnergyModel(choices=entries, combine="stack", cv_metric="mae", n_folds="loo",
                        sigma_grid=GRID).fit(X, s, E, spc)  # fmt: skip
    k_fold = EnergyModel(choices=entries, combine="stack", cv_metric="mae", n_folds=len(E),
                         sigma_grid=GRID).fit(X, s, E, spc)  # fmt: skip
    np.testing.assert_allclose(stack.stack_weights_, k_fold.stack_weights_, atol=1e-7)
    assert stack.cv_best_ == pytest.approx(k_fold.cv_best_, rel=1e-9)


@pytest.mark.parametrize(
    "bad, error",
    [("lo", ValueError), ("LOO", ValueError), (1, ValueError), (0, ValueError),
     (-3, ValueError), (2.5, ValueError), (np.nan, ValueError), (None, TypeError)],
)  # fmt: skip
def test_bad_n_folds_is_refused(bad, error):
    X, s, spc, E = _data(seed=4, n=12)
    with pytest.raises(error, match="n_folds"):
        EnergyModel(n_folds=bad, sigma_grid=GRID).fit(X, s, E, spc)


def test_loo_has_one_partition():
    X, s, spc, E = _data(seed=5, n=12)
    with pytest.raises(ValueError, match="leave-one-out has one partition"):
        EnergyModel(n_folds="loo", cv_repeats=2, sigma_grid=GRID).fit(X, s, E, spc)


def test_per_structure_loss_with_loo_is_ridge_cv():
    """Loss on the total energies, μ first, an intercept, standardised summed descriptors and
    σ² on RidgeCV's λ grid: the σ and the predictions of scikit-learn's RidgeCV (efficient
    leave-one-out on squared errors of the totals), an independent implementation."""
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(6)
    X, s, spc = structures(rng, 40, d=6)
    E = energies(X[:, :5], s, "quadratic") + rng.normal(scale=0.05, size=40)
    alphas = np.logspace(-4, 3, 15)
    model = EnergyModel(n_folds="loo", sigma_grid=np.sqrt(alphas), loss="per_structure",
                        chemical_potentials="separate", intercept=True,
                        feature_scaling="standard", scale_floor=0.0).fit(X, s, E, spc)  # fmt: skip
    counts = element_counts(as_numbers(spc), s, model.elements_, 40)
    mu = np.linalg.lstsq(counts, E, rcond=None)[0]
    Phi = np.asarray(structure_matrix(s, 40) @ X)
    ridge = RidgeCV(alphas=alphas).fit(StandardScaler().fit_transform(Phi), E - counts @ mu)
    assert model.sigma_**2 == pytest.approx(ridge.alpha_, rel=1e-12)
    # and not the σ of the per-atom RMSE, which this data set sets apart
    per_atom = EnergyModel(**{**model.get_params(), "loss": "per_atom"}).fit(X, s, E, spc)
    assert per_atom.sigma_ != model.sigma_
    np.testing.assert_allclose(model.predict(X, s, spc),
                               ridge.predict(StandardScaler().fit(Phi).transform(Phi))
                               + counts @ mu, rtol=1e-9)  # fmt: skip
