"""EnergyModel's feature_scaling: standardised summed descriptors, and the choice by CV."""

import numpy as np
import pytest
import scipy.sparse as sp

from slimsoap.models.ridge import EnergyModel

SPECIES = np.array([1, 6, 8])


def structures(rng, n_structures, scales):
    """Per-atom features: one-hot species, then normals multiplied by ``scales``."""
    sizes = rng.integers(2, 8, size=n_structures)
    s = np.repeat(np.arange(n_structures), sizes)
    species = rng.choice(SPECIES, size=len(s))
    onehot = (species[:, None] == SPECIES[None, :]).astype(float)
    X = np.hstack([onehot, rng.normal(size=(len(s), len(scales))) * np.asarray(scales)])
    return X, s, species


def test_standard_scaling_is_ridge_on_features_divided_by_summed_std():
    rng = np.random.default_rng(1)
    X, s, spc = structures(rng, 60, [1.0, 1e-3, 30.0, 0.2])
    Xt, st, spt = structures(rng, 15, [1.0, 1e-3, 30.0, 0.2])
    E = rng.normal(size=60)
    phi = np.stack([np.bincount(s, weights=X[:, j]) for j in range(X.shape[1])], axis=1)
    std = phi.std(axis=0)
    kwargs = {"sigma": 0.05, "feature_scaling": "standard", "scale_floor": 0.0}
    scaled = EnergyModel(**kwargs).fit(X, s, E, spc)
    by_hand = EnergyModel(sigma=0.05).fit(X / std, s, E, spc)
    np.testing.assert_allclose(scaled.feature_scale_, std, rtol=1e-12)
    floored = EnergyModel(sigma=0.05, feature_scaling="standard").fit(X, s, E, spc)
    np.testing.assert_allclose(floored.feature_scale_, np.maximum(std, 1e-3 * std.max()))
    assert floored.feature_scale_[4] > 30 * std[4]  # the 1e-3 feature against the 30 one
    assert scaled.feature_scaling_ == "standard"
    np.testing.assert_allclose(
        scaled.predict(Xt, st, spt), by_hand.predict(Xt / std, st, spt), rtol=1e-10, atol=1e-10
    )
    sparse = EnergyModel(**kwargs).fit(sp.csr_matrix(X), s, E, spc)
    np.testing.assert_allclose(
        sparse.predict(sp.csr_matrix(Xt), st, spt), scaled.predict(Xt, st, spt), atol=1e-9
    )


def test_constant_feature_keeps_scale_one():
    rng = np.random.default_rng(2)
    X, s, spc = structures(rng, 30, [1.0])
    X = np.hstack([X, np.zeros((len(s), 1))])
    model = EnergyModel(sigma=0.1, feature_scaling="standard").fit(X, s, rng.normal(size=30), spc)
    assert model.feature_scale_[-1] == 1.0


def test_cv_picks_standard_when_the_signal_is_in_a_tiny_feature():
    rng = np.random.default_rng(3)
    scales = [1e-4, 1.0, 1.0]
    X, s, spc = structures(rng, 150, scales)
    Xt, st, spt = structures(rng, 50, scales)
    w = np.array([0.0, 0.0, 0.0, 5e3, 0.0, 0.0])  # only the 1e-4-scaled feature matters

    def energy(X, s):
        return np.bincount(s, weights=X @ w)

    grid = np.logspace(-3, 0, 7)
    plain = EnergyModel(sigma_grid=grid, n_folds=5).fit(X, s, energy(X, s), spc)
    chosen = EnergyModel(sigma_grid=grid, n_folds=5, feature_scaling="cv").fit(
        X, s, energy(X, s), spc
    )
    assert plain.feature_scaling_ is None
    assert chosen.feature_scaling_ == "standard"
    assert set(chosen.cv_scaling_rmse_) == {"None", "standard"}
    assert chosen.cv_scaling_rmse_["standard"] < chosen.cv_scaling_rmse_["None"]
    err_plain = np.abs(plain.predict(Xt, st, spt) - energy(Xt, st)).mean()
    err_chosen = np.abs(chosen.predict(Xt, st, spt) - energy(Xt, st)).mean()
    assert err_chosen < 0.2 * err_plain


def test_default_is_unscaled():
    rng = np.random.default_rng(4)
    X, s, spc = structures(rng, 20, [2.0, 3.0])
    model = EnergyModel(sigma=0.1).fit(X, s, rng.normal(size=20), spc)
    assert model.feature_scaling_ is None
    np.testing.assert_array_equal(model.feature_scale_, np.ones(X.shape[1]))
    assert EnergyModel().get_params()["feature_scaling"] is None


def test_bad_scaling_options():
    rng = np.random.default_rng(5)
    X, s, spc = structures(rng, 20, [1.0])
    E = rng.normal(size=20)
    with pytest.raises(ValueError, match="feature_scaling must be None, 'standard' or 'cv'"):
        EnergyModel(sigma=0.1, feature_scaling="minmax").fit(X, s, E, spc)
    with pytest.raises(ValueError, match="feature_scaling='cv' needs sigma=None"):
        EnergyModel(sigma=0.1, feature_scaling="cv").fit(X, s, E, spc)
    model = EnergyModel(sigma=0.1, feature_scaling="standard").fit(X, s, E, spc)
    with pytest.raises(ValueError, match="features have 3 columns; the model was fitted on 4"):
        model.predict(X[:, :3], s, spc)


@pytest.mark.parametrize("zeta, solver", [(1, "primal"), (2, "exact"), (2, "sparse")])
def test_ase_calculator_of_a_scaled_model_matches_predict(zeta, solver):
    """The stored weights / points include the scale, so the ASE calculator (which sees
    raw features) gives the energies of ``predict``."""
    from ase.build import molecule

    from slimsoap import SOAP

    rng = np.random.default_rng(5)
    frames = []
    for _ in range(20):
        a = molecule("CH3OH")
        a.rattle(0.05, seed=int(rng.integers(1 << 30)))
        frames.append(a)
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=3, l_max=2, sigma=0.5)
    F = soap.compute(frames)
    X, s = np.asarray(F.values), np.asarray(F.frame_index)
    Z = np.concatenate([a.numbers for a in frames])
    E = np.bincount(s, weights=X @ rng.normal(size=X.shape[1]))
    model = EnergyModel(zeta=zeta, solver=solver, n_sparse=30, sigma=1e-3,
                        feature_scaling="standard").fit(X, s, E, Z)  # fmt: skip
    assert not np.allclose(model.feature_scale_, 1.0)
    calc = model.calculator(soap)
    for a, e in zip(frames[:3], model.predict(X, s, Z)[:3], strict=False):
        a.calc = calc
        assert a.get_potential_energy() == pytest.approx(e, rel=1e-9, abs=1e-9)


def test_scale_floor_bounds_the_divisors():
    from slimsoap.models.ridge import standard_scales

    std = np.array([2.0, 1e-35, 0.0, 1e-2])
    np.testing.assert_array_equal(standard_scales(std, 1e-3), [2.0, 2e-3, 1.0, 1e-2])
    np.testing.assert_array_equal(standard_scales(std, 0.0), [2.0, 1e-35, 1.0, 1e-2])
    np.testing.assert_array_equal(standard_scales(std, 1.0), [2.0, 2.0, 1.0, 2.0])
    np.testing.assert_array_equal(standard_scales(np.zeros(3), 1e-3), np.ones(3))
    for bad in (float("nan"), float("inf"), -1e-3):
        with pytest.raises(ValueError, match="scale_floor must be >= 0"):
            standard_scales(std, bad)
    with pytest.raises(ValueError, match=r"scale_floor must be at most 1, got 2.0"):
        standard_scales(std, 2.0)
    with pytest.raises(TypeError, match="scale_floor must be a number"):
        standard_scales(std, "1e-3")


def test_a_feature_negligible_in_training_does_not_blow_up_a_test_structure():
    """The elpasolite failure: an element pair seen in one training structure only at the
    edge of the cut-off (10⁻³⁰) and of ordinary size in a test structure. Standardised
    without a floor its weight reaches ~10³⁰/σ and the test energy as much; with the
    default floor the prediction stays within the energies' spread."""
    rng = np.random.default_rng(6)
    X, s, spc = structures(rng, 80, [1.0, 0.5])
    E = np.bincount(s, weights=X[:, 3]) + 0.05 * rng.normal(size=80)
    rare = np.zeros((len(s), 1))
    rare[np.flatnonzero(s == 7)[0]] = 1e-30
    X = np.hstack([X, rare])
    Xt, st, spt = structures(rng, 5, [1.0, 0.5])
    Xt = np.hstack([Xt, np.ones((len(st), 1))])
    Et = np.bincount(st, weights=Xt[:, 3])
    E = E.copy()
    E[7] += 3.0  # that structure's energy is off: the rare feature can absorb it
    kwargs = {"sigma": 1e-3, "feature_scaling": "standard"}
    exploded = EnergyModel(scale_floor=0.0, **kwargs).fit(X, s, E, spc)
    assert np.max(np.abs(exploded.predict(Xt, st, spt) - Et)) > 1e10
    floored = EnergyModel(**kwargs).fit(X, s, E, spc)
    assert floored.get_params()["scale_floor"] == 1e-3
    assert np.max(np.abs(floored.predict(Xt, st, spt) - Et)) < 5 * np.ptp(E)
