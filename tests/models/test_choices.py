"""EnergyModel's ``choices``: a linear model or a kernel, picked by cross-validation."""

import numpy as np
import pytest

from slimsoap.models.ridge import CHOICE_PRESETS, EnergyModel, choice_label

SPECIES = np.array([1, 6, 8])
GRID = np.logspace(-6, 0, 13)


def structures(rng, n_structures, d=4):
    """Per-atom features: a constant 1, then normals (so no row is zero)."""
    sizes = rng.integers(2, 7, size=n_structures)
    s = np.repeat(np.arange(n_structures), sizes)
    species = rng.choice(SPECIES, size=len(s))
    X = np.hstack([np.ones((len(s), 1)), rng.normal(size=(len(s), d))])
    return X, s, species


def energies(X, s, kind):
    """Σ_i of a linear or a quadratic (ζ=2 in the normalised rows) local energy."""
    w = np.array([0.0, 1.0, -0.5, 0.3, 0.2])
    if kind == "linear":
        local = X @ w
    else:
        Xh = X / np.linalg.norm(X, axis=1, keepdims=True)
        local = 3.0 * (Xh @ w) ** 2
    return np.bincount(s, weights=local)


@pytest.mark.parametrize("kind, zeta", [("linear", 1), ("quadratic", 2)])
def test_cv_picks_the_model_that_can_fit_the_energies(kind, zeta):
    rng = np.random.default_rng(0)
    X, s, spc = structures(rng, 120)
    Xt, st, spt = structures(rng, 40)
    model = EnergyModel(choices="linear_or_kernel", sigma_grid=GRID, n_folds=5)
    model.fit(X, s, energies(X, s, kind), spc)
    assert model.zeta_ == zeta
    assert model.choice_["zeta"] == zeta
    labels = [choice_label(c) for c in CHOICE_PRESETS["linear_or_kernel"]]
    assert list(model.cv_choice_rmse_) == labels
    assert model.cv_choice_rmse_[choice_label(model.choice_)] == min(model.cv_choice_rmse_.values())
    # the kept model is the chosen entry fitted alone, number for number
    alone = EnergyModel(sigma_grid=GRID, n_folds=5, **model.choice_).fit(
        X, s, energies(X, s, kind), spc
    )
    np.testing.assert_array_equal(model.predict(Xt, st, spt), alone.predict(Xt, st, spt))
    err = np.abs(model.predict(Xt, st, spt) - energies(Xt, st, kind)).mean()
    others = [
        np.abs(c.predict(Xt, st, spt) - energies(Xt, st, kind)).mean()
        for c in model.candidates_
        if c.zeta_ != zeta
    ]
    assert err < 0.5 * min(others)


def test_kernel_choice_keeps_the_scaling_folded_into_its_points():
    """A ζ=2 entry on standardised features predicts the same as the model fitted on
    features divided by hand: the stored points include the scale."""
    rng = np.random.default_rng(1)
    X, s, spc = structures(rng, 60)
    X[:, 2] *= 1e-3
    Xt, st, spt = structures(rng, 20)
    Xt[:, 2] *= 1e-3
    E = energies(X, s, "quadratic")
    entry = {"zeta": 2, "feature_scaling": "standard", "solver": "sparse", "n_sparse": 50}
    model = EnergyModel(choices=[entry], sigma_grid=GRID, n_folds=4).fit(X, s, E, spc)
    scale = model.feature_scale_
    assert not np.allclose(scale, 1.0)
    by_hand = EnergyModel(zeta=2, solver="sparse", n_sparse=50, sigma_grid=GRID, n_folds=4)
    by_hand.fit(X / scale, s, E, spc)
    np.testing.assert_allclose(
        model.predict(Xt, st, spt), by_hand.predict(Xt / scale, st, spt), rtol=1e-9, atol=1e-9
    )


@pytest.mark.parametrize(
    "choices, message",
    [
        ("best", "unknown choices preset 'best'"),
        ([], "non-empty list of dicts"),
        ({"zeta": 2}, "non-empty list of dicts"),
        (["zeta=2"], "must be a dict"),
        ([{"zeta": 2, "sigma": 0.1}], r"sets \['sigma'\]"),
    ],
)
def test_bad_choices_are_refused(choices, message):
    rng = np.random.default_rng(2)
    X, s, spc = structures(rng, 20)
    with pytest.raises(ValueError, match=message):
        EnergyModel(choices=choices).fit(X, s, energies(X, s, "linear"), spc)


def test_choices_need_sigma_by_cv():
    rng = np.random.default_rng(3)
    X, s, spc = structures(rng, 20)
    with pytest.raises(ValueError, match="choices needs sigma=None"):
        EnergyModel(choices="linear_or_kernel", sigma=0.1).fit(X, s, energies(X, s, "linear"), spc)


def test_ase_calculator_follows_the_chosen_kernel():
    """The ASE calculator reads zeta_/normalize_ (the entry kept), not the constructor's."""
    from ase.build import molecule

    from slimsoap import SOAP

    frames = []
    rng = np.random.default_rng(4)
    for _ in range(30):
        a = molecule("CH3OH")
        a.rattle(0.05, seed=int(rng.integers(1 << 30)))
        frames.append(a)
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=3, l_max=2, sigma=0.5)
    F = soap.compute(frames)
    X = np.asarray(F.values)
    s = np.asarray(F.frame_index)
    Z = np.concatenate([a.numbers for a in frames])
    Xh = X / np.linalg.norm(X, axis=1, keepdims=True)
    E = np.bincount(s, weights=50.0 * (Xh @ Xh[0] - 0.9) ** 2) + np.bincount(s, weights=Z)
    model = EnergyModel(choices=[{"zeta": 2, "normalize": True}], n_folds=3).fit(X, s, E, Z)
    assert (model.zeta, model.normalize) == (1, False)
    assert (model.zeta_, model.normalize_) == (2, True)
    calc = model.calculator(soap)
    for a, e in zip(frames[:3], model.predict(X, s, Z)[:3], strict=False):
        a.calc = calc
        assert a.get_potential_energy() == pytest.approx(e, rel=1e-10, abs=1e-10)


def test_cv_metric_mae_compares_the_entries_by_held_out_mae_at_their_sigma():
    rng = np.random.default_rng(6)
    X, s, spc = structures(rng, 60)
    E = energies(X, s, "quadratic") + rng.normal(scale=0.05, size=60)
    model = EnergyModel(choices="linear_or_kernel", sigma_grid=GRID, n_folds=5, cv_metric="mae")
    model.fit(X, s, E, spc)
    for c in model.candidates_:
        assert c.sigma_ == GRID[np.argmin(c.cv_rmse_)]  # σ by the loss, whatever the metric
        assert c.cv_best_ == c.cv_mae_[np.argmin(c.cv_rmse_)]
    assert list(model.cv_choice_rmse_.values()) == [c.cv_best_ for c in model.candidates_]
    assert model.cv_best_ == min(c.cv_best_ for c in model.candidates_)
    rmse = EnergyModel(sigma_grid=GRID, n_folds=5).fit(X, s, E, spc)
    np.testing.assert_array_equal(rmse.cv_mae_, model.candidates_[0].cv_mae_)  # same folds
    with pytest.raises(ValueError, match="cv_metric must be 'rmse' or 'mae', got 'l1'"):
        EnergyModel(cv_metric="l1").fit(X, s, E, spc)


def test_an_entry_may_bring_its_own_sigma_grid():
    rng = np.random.default_rng(11)
    X, s, spc = structures(rng, 40)
    own = np.logspace(-4, 2, 7)
    entries = [{"zeta": 1}, {"zeta": 1, "loss": "per_structure", "sigma_grid": own}]
    model = EnergyModel(choices=entries, sigma_grid=GRID, n_folds=4)
    model.fit(X, s, energies(X, s, "linear"), spc)
    np.testing.assert_array_equal(model.candidates_[0].cv_sigmas_, GRID)
    np.testing.assert_array_equal(model.candidates_[1].cv_sigmas_, own)
    assert list(model.cv_choice_rmse_) == [
        "zeta=1",
        "zeta=1,loss=per_structure,sigma_grid=0.0001..100(7)",
    ]
