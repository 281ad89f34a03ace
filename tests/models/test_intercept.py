"""EnergyModel's ``intercept``: an unpenalised constant energy per structure."""

import numpy as np
import pytest

from slimsoap.models.ridge import EnergyModel
from tests.models.test_choices import energies, structures


def _counts(s, spc):
    return np.stack([np.bincount(s, weights=spc == z) for z in np.unique(spc)], axis=1)


@pytest.mark.parametrize("alpha", [1e-3, 0.5, 30.0])
def test_separate_mu_per_structure_intercept_is_sklearn_ridge_on_scaled_sums(alpha):
    """μ by least squares, then StandardScaler + Ridge(α) (with intercept) on the summed
    descriptors: the same model as EnergyModel at σ = √α (an independent implementation)."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X, s, spc = structures(rng, 60)
    Xt, st, spt = structures(rng, 25)
    E = energies(X, s, "quadratic") + 2.0 + rng.normal(scale=0.05, size=60)
    options = {"feature_scaling": "standard", "loss": "per_structure"}
    model = EnergyModel(sigma=np.sqrt(alpha), chemical_potentials="separate", intercept=True,
                        **options).fit(X, s, E, spc)  # fmt: skip

    def phi(X, s):
        return np.stack([np.bincount(s, weights=X[:, j]) for j in range(X.shape[1])], axis=1)

    C, Ct = _counts(s, spc), _counts(st, spt)
    mu = np.linalg.lstsq(C, E, rcond=None)[0]
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(phi(X, s), E - C @ mu)
    expected = ridge.predict(phi(Xt, st)) + Ct @ mu
    np.testing.assert_allclose(model.predict(Xt, st, spt), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.mu_, mu, rtol=1e-12)
    # without the intercept it is another model
    plain = EnergyModel(sigma=np.sqrt(alpha), chemical_potentials="separate", **options)
    plain.fit(X, s, E, spc)
    assert plain.intercept_ == 0.0
    assert np.max(np.abs(plain.predict(Xt, st, spt) - expected)) > 1e-3


@pytest.mark.parametrize(
    "loss, solver", [("per_atom", "primal"), ("per_structure", "primal"), ("per_atom", "exact"),
                     ("per_structure", "sparse")],
)  # fmt: skip
def test_joint_intercept_recovers_a_constant_energy_per_structure(loss, solver):
    """E = b + Σ μ + a linear local energy: exact with ``intercept``, not without (a constant
    per structure is no sum of per-atom terms when the structures' sizes differ)."""
    rng = np.random.default_rng(1)
    (X, s, spc), (Xt, st, spt) = structures(rng, 80), structures(rng, 30)
    X, Xt = X[:, 1:], Xt[:, 1:]  # no constant column: μ is then determined
    w = np.array([1.0, -0.5, 0.3, 0.2])
    mu = {1: -0.5, 6: -37.8, 8: -75.0}

    def energy(X, s, spc):
        return 4.2 + np.bincount(s, weights=X @ w + np.vectorize(mu.get)(spc))

    options = {"sigma": 1e-7, "loss": loss, "solver": solver, "n_sparse": 50}
    fit = EnergyModel(intercept=True, **options).fit(X, s, energy(X, s, spc), spc)
    assert fit.intercept_ == pytest.approx(4.2, abs=1e-5)
    np.testing.assert_allclose(fit.mu_, [-0.5, -37.8, -75.0], atol=1e-5)
    np.testing.assert_allclose(fit.predict(Xt, st, spt), energy(Xt, st, spt), atol=1e-5)
    without = EnergyModel(**options).fit(X, s, energy(X, s, spc), spc)
    assert np.abs(without.predict(Xt, st, spt) - energy(Xt, st, spt)).mean() > 0.1


def test_cross_validated_intercept_fits_and_predicts_like_a_fixed_sigma():
    rng = np.random.default_rng(2)
    X, s, spc = structures(rng, 50)
    E = energies(X, s, "linear") - 3.0 + rng.normal(scale=0.01, size=50)
    cv = EnergyModel(n_folds=5, intercept=True).fit(X, s, E, spc)
    fixed = EnergyModel(sigma=cv.sigma_, intercept=True).fit(X, s, E, spc)
    assert cv.intercept_ == fixed.intercept_
    assert np.isfinite(cv.cv_predictions_).all()
    # a constant in the energies is fitted: the CV error is that of the noise
    assert cv.cv_best_ < 0.05


def test_ase_calculator_shares_the_intercept_among_the_atoms():
    from ase.build import molecule

    from slimsoap import SOAP

    frames = []
    for seed in range(12):
        a = molecule("CH3OH")
        a.rattle(0.05, seed=seed)
        frames.append(a)
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=3, l_max=2, sigma=0.5)
    F = soap.compute(frames)
    X, s = np.asarray(F.values), np.asarray(F.frame_index)
    Z = np.concatenate([a.numbers for a in frames])
    E = np.bincount(s, weights=X[:, 0] + Z) + 7.0
    model = EnergyModel(sigma=1e-3, intercept=True).fit(X, s, E, Z)
    assert model.intercept_ != 0.0
    a = frames[0]
    a.calc = model.calculator(soap)
    assert a.get_potential_energy() == pytest.approx(model.predict(X, s, Z)[0], rel=1e-10)
    assert a.get_potential_energies().sum() == pytest.approx(a.get_potential_energy(), rel=1e-10)


def test_bad_intercept_is_refused():
    rng = np.random.default_rng(3)
    X, s, spc = structures(rng, 20)
    with pytest.raises((TypeError, ValueError), match="intercept"):
        EnergyModel(sigma=0.1, intercept="yes").fit(X, s, energies(X, s, "linear"), spc)
