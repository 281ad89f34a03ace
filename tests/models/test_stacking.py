"""Stacking of EnergyModel's choices (``combine="stack"``) and the per-structure loss."""

import numpy as np
import pytest

from slimsoap.models.ridge import CHOICE_PRESETS, EnergyModel
from slimsoap.models.stacking import stack_weights
from tests.models.test_choices import GRID, energies, structures


def _simplex_grid(steps=60):
    """Every point of the 3-simplex with coordinates in multiples of 1/steps."""
    return np.array(
        [(i, j, steps - i - j) for i in range(steps + 1) for j in range(steps + 1 - i)]
    ) / float(steps)


def _score(R, w, metric):
    r = R @ w
    return np.mean(np.abs(r)) if metric == "mae" else np.sqrt(np.mean(r**2))


@pytest.mark.parametrize("metric", ["mae", "rmse"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stack_weights_beat_every_member_and_a_brute_force_grid(metric, seed):
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(200, 1))
    R = 0.5 * common + rng.normal(size=(200, 3)) * [1.0, 1.3, 0.8] + [0.1, -0.2, 0.0]
    w = stack_weights(R, metric)
    assert w.shape == (3,) and np.all(w >= 0) and np.isclose(w.sum(), 1.0)
    best_member = min(_score(R, e, metric) for e in np.eye(3))
    assert _score(R, w, metric) < best_member  # independent errors: a blend is better
    grid = min(_score(R, g, metric) for g in _simplex_grid())
    assert _score(R, w, metric) <= grid + 1e-9


@pytest.mark.parametrize("metric", ["mae", "rmse"])
def test_stack_keeps_a_model_that_is_exactly_right(metric):
    rng = np.random.default_rng(3)
    R = np.column_stack([rng.normal(size=50), np.zeros(50), rng.normal(size=50)])
    np.testing.assert_array_equal(stack_weights(R, metric), [0.0, 1.0, 0.0])


def test_two_independent_equal_models_get_half_each():
    rng = np.random.default_rng(4)
    R = rng.normal(size=(20000, 2))
    np.testing.assert_allclose(stack_weights(R, "rmse"), [0.5, 0.5], atol=0.02)


@pytest.mark.parametrize(
    "R, metric, message",
    [
        (np.zeros((0, 2)), "mae", "residuals must be"),
        (np.zeros(5), "mae", "residuals must be"),
        (np.full((3, 2), np.nan), "mae", "finite"),
        (np.zeros((3, 13)), "mae", "at most 12"),
        (np.zeros((3, 2)), "l1", "metric must be"),
    ],
)
def test_stack_weights_refuse_bad_input(R, metric, message):
    with pytest.raises(ValueError, match=message):
        stack_weights(R, metric)


@pytest.mark.parametrize("kind", ["linear", "quadratic"])
@pytest.mark.parametrize("metric", ["mae", "rmse"])
def test_stack_weights_the_model_that_can_fit_the_energies(kind, metric):
    rng = np.random.default_rng(0)
    X, s, spc = structures(rng, 120)
    Xt, st, spt = structures(rng, 40)
    E = energies(X, s, kind)
    model = EnergyModel(choices="linear_or_kernel", sigma_grid=GRID, n_folds=5,
                        combine="stack", cv_metric=metric).fit(X, s, E, spc)  # fmt: skip
    w = model.stack_weights_
    zetas = np.array([c["zeta"] for c in CHOICE_PRESETS["linear_or_kernel"]])
    right = 1 if kind == "linear" else 2
    assert w[zetas == right].sum() > 0.9
    assert model.zeta_ == right
    # the combination is never worse than the best entry on CV, and predicts Σ w_k E_k
    assert model.cv_best_ <= min(model.cv_choice_rmse_.values())
    by_hand = sum(wk * m.predict(Xt, st, spt) for wk, m in zip(w, model.candidates_))
    np.testing.assert_allclose(model.predict(Xt, st, spt), by_hand, rtol=1e-12, atol=1e-12)
    # the stored out-of-fold predictions give the CV score
    ok = np.isfinite(model.cv_predictions_)
    err = (model.cv_predictions_[ok] - E[ok]) / np.bincount(s)[ok]
    score = np.mean(np.abs(err)) if metric == "mae" else np.sqrt(np.mean(err**2))
    assert np.isclose(model.cv_best_, score, rtol=1e-12)


def test_stack_beats_its_members_when_both_see_part_of_the_energy():
    """Energies = a linear part + a quadratic part + noise: each entry misses part, the
    CV-weighted blend is better than either on held-out structures."""
    rng = np.random.default_rng(5)
    X, s, spc = structures(rng, 200)
    Xt, st, spt = structures(rng, 200)

    def target(X, s, r):
        return energies(X, s, "linear") + 0.5 * energies(X, s, "quadratic") + r

    E = target(X, s, rng.normal(scale=0.3, size=200))
    Et = target(Xt, st, 0.0)
    entries = [{"zeta": 1}, {"zeta": 2, "normalize": True}]
    model = EnergyModel(choices=entries, sigma_grid=GRID, n_folds=5, combine="stack")
    model.fit(X, s, E, spc)
    assert np.all(model.stack_weights_ > 0.05)
    test = np.mean(np.abs(model.predict(Xt, st, spt) - Et))
    members = [np.mean(np.abs(m.predict(Xt, st, spt) - Et)) for m in model.candidates_]
    assert test < min(members)


def test_combine_best_is_the_old_pick_and_refits_forget_a_stack():
    rng = np.random.default_rng(6)
    X, s, spc = structures(rng, 60)
    E = energies(X, s, "quadratic")
    model = EnergyModel(choices="linear_or_kernel", sigma_grid=GRID, n_folds=5, combine="stack")
    model.fit(X, s, E, spc)
    assert np.isclose(model.stack_weights_.sum(), 1.0)
    model.set_params(combine="best").fit(X, s, E, spc)
    assert model.stack_weights_ is None
    alone = EnergyModel(sigma_grid=GRID, n_folds=5, **model.choice_).fit(X, s, E, spc)
    np.testing.assert_array_equal(model.predict(X, s, spc), alone.predict(X, s, spc))


@pytest.mark.parametrize("combine", ["stack", "best"])
def test_candidate_predictions_combine_into_predict_exactly(combine):
    rng = np.random.default_rng(7)
    X, s, spc = structures(rng, 50)
    E = energies(X, s, "quadratic")
    model = EnergyModel(choices="linear_or_kernel", sigma_grid=GRID, n_folds=5, combine=combine)
    model.fit(X, s, E, spc)
    Xt, st, spt = structures(np.random.default_rng(8), 20)
    entries = model.predict_candidates(Xt, st, spt)
    assert len(entries) == len(model.candidates_) == 3
    for m, p in zip(model.candidates_, entries, strict=True):
        np.testing.assert_array_equal(p, m.predict(Xt, st, spt))
    np.testing.assert_array_equal(model.combine_candidates(entries), model.predict(Xt, st, spt))
    if combine == "stack":  # entries of zero weight are not needed
        entries = [p if w > 0 else None for w, p in zip(model.stack_weights_, entries)]
        np.testing.assert_array_equal(model.combine_candidates(entries), model.predict(Xt, st, spt))
    with pytest.raises(RuntimeError, match="fitted with choices"):
        EnergyModel(sigma_grid=GRID, n_folds=5).fit(X, s, E, spc).predict_candidates(Xt, st, spt)


def test_stack_ase_calculator_matches_predict():
    from ase.build import molecule

    from slimsoap import SOAP

    rng = np.random.default_rng(7)
    frames = []
    for _ in range(30):
        a = molecule("CH3OH")
        a.rattle(0.05, seed=int(rng.integers(1 << 30)))
        frames.append(a)
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=3, l_max=2, sigma=0.5)
    F = soap.compute(frames)
    X, s = np.asarray(F.values), np.asarray(F.frame_index)
    Z = np.concatenate([a.numbers for a in frames])
    Xh = X / np.linalg.norm(X, axis=1, keepdims=True)
    E = np.bincount(s, weights=50.0 * (Xh @ Xh[0] - 0.9) ** 2 + 3.0 * Xh[:, 1]) + np.bincount(
        s, weights=Z
    )
    entries = [{"zeta": 1}, {"zeta": 2, "normalize": True}]
    model = EnergyModel(choices=entries, n_folds=3, combine="stack").fit(X, s, E, Z)
    model.stack_weights_ = np.array([0.3, 0.7])  # whatever the CV gave: two members
    calc = model.calculator(soap)
    for a, e in zip(frames[:3], model.predict(X, s, Z)[:3], strict=False):
        a.calc = calc
        assert a.get_potential_energy() == pytest.approx(e, rel=1e-10, abs=1e-10)
        forces = a.get_forces()
        members = []
        for m in model.candidates_:
            a.calc = m.calculator(soap)
            members.append(a.get_forces())
        np.testing.assert_allclose(
            forces, sum(w * f for w, f in zip(model.stack_weights_, members)), atol=1e-10
        )


def test_per_structure_loss_is_plain_ridge_on_summed_descriptors():
    """loss="per_structure", separate μ, fixed σ: w = (ΦᵀΦ + σ²I)⁻¹ Φᵀ(E − Cμ)."""
    rng = np.random.default_rng(8)
    X, s, spc = structures(rng, 50)
    E = energies(X, s, "linear") + rng.normal(scale=0.1, size=50)
    model = EnergyModel(sigma=0.3, loss="per_structure", chemical_potentials="separate")
    model.fit(X, s, E, spc)
    phi = np.stack([np.bincount(s, weights=X[:, j]) for j in range(X.shape[1])], axis=1)
    C = np.stack([np.bincount(s, weights=spc == z) for z in np.unique(spc)], axis=1)
    mu = np.linalg.lstsq(C, E, rcond=None)[0]
    w = np.linalg.solve(phi.T @ phi + 0.09 * np.eye(X.shape[1]), phi.T @ (E - C @ mu))
    np.testing.assert_allclose(model.weights_, w, rtol=1e-8, atol=1e-10)
    per_atom = EnergyModel(sigma=0.3, chemical_potentials="separate").fit(X, s, E, spc)
    assert not np.allclose(per_atom.weights_, w, rtol=1e-3)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"combine": "blend", "choices": "linear_or_kernel"}, "combine must be 'best' or 'stack'"),
        ({"combine": "stack"}, "combine='stack' needs choices"),
        ({"loss": "total"}, "loss must be 'per_atom' or 'per_structure'"),
    ],
)
def test_bad_combine_and_loss_are_refused(params, message):
    rng = np.random.default_rng(9)
    X, s, spc = structures(rng, 20)
    with pytest.raises(ValueError, match=message):
        EnergyModel(**params).fit(X, s, energies(X, s, "linear"), spc)
