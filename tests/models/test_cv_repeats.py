"""EnergyModel's ``cv_repeats``: repeated k-fold CV pools several partitions' held-out errors."""

import numpy as np
import pytest

from slimsoap.models.ridge import EnergyModel
from slimsoap.models.stacking import stack_weights
from tests.models.test_choices import GRID, energies, structures


def _data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X, s, spc = structures(rng, n)
    E = energies(X, s, "quadratic") + rng.normal(scale=0.05, size=n)
    return X, s, spc, E


def test_repeats_pool_the_partitions_of_consecutive_seeds():
    """Two repeats = the CV of random_state 0 and of 1 (ζ=1: the seed only draws the folds),
    pooled: mean squared and absolute errors averaged over the two, same predictions."""
    X, s, spc, E = _data()
    two = EnergyModel(n_folds=5, sigma_grid=GRID, cv_repeats=2).fit(X, s, E, spc)
    one = [EnergyModel(n_folds=5, sigma_grid=GRID, random_state=r) for r in (0, 1)]
    one = [m.fit(X, s, E, spc) for m in one]
    np.testing.assert_allclose(two.cv_rmse_**2, (one[0].cv_rmse_ ** 2 + one[1].cv_rmse_ ** 2) / 2)
    np.testing.assert_allclose(two.cv_mae_, (one[0].cv_mae_ + one[1].cv_mae_) / 2)
    best = int(np.argmin(two.cv_rmse_))
    assert two.sigma_ == GRID[best]
    assert two.cv_repeat_predictions_.shape == (len(E), 2)
    for r in range(2):
        at = EnergyModel(n_folds=5, sigma_grid=[two.sigma_], random_state=r).fit(X, s, E, spc)
        np.testing.assert_allclose(two.cv_repeat_predictions_[:, r], at.cv_predictions_)
    np.testing.assert_array_equal(two.cv_predictions_, two.cv_repeat_predictions_[:, 0])


def test_one_repeat_is_the_single_k_fold_cv():
    X, s, spc, E = _data(seed=1)
    default = EnergyModel(n_folds=5, sigma_grid=GRID).fit(X, s, E, spc)
    one = EnergyModel(n_folds=5, sigma_grid=GRID, cv_repeats=1).fit(X, s, E, spc)
    np.testing.assert_array_equal(default.cv_rmse_, one.cv_rmse_)
    np.testing.assert_array_equal(default.cv_predictions_, one.cv_repeat_predictions_[:, 0])


def test_stack_weights_come_from_every_partition():
    X, s, spc, E = _data(seed=2)
    entries = [{"feature_scaling": None}, {"feature_scaling": "standard"}]
    stack = EnergyModel(choices=entries, combine="stack", cv_metric="mae", n_folds=4,
                        sigma_grid=GRID, cv_repeats=3).fit(X, s, E, spc)  # fmt: skip
    n_atoms = np.bincount(s)
    residuals = np.stack(
        [
            np.concatenate([(m.cv_repeat_predictions_[:, r] - E) / n_atoms for r in range(3)])
            for m in stack.candidates_
        ],
        axis=1,
    )
    # the same rows, in another order: the LP's optimum is the same
    np.testing.assert_allclose(stack.stack_weights_, stack_weights(residuals, "mae"), atol=1e-9)
    assert stack.cv_repeat_predictions_.shape == (len(E), 3)
    assert stack.cv_best_ == pytest.approx(np.mean(np.abs(residuals @ stack.stack_weights_)))


def test_bad_cv_repeats_is_refused():
    X, s, spc, E = _data(seed=3, n=20)
    with pytest.raises(ValueError, match="cv_repeats"):
        EnergyModel(n_folds=5, cv_repeats=0).fit(X, s, E, spc)
