"""The l-by-l verdict of ν=2 rebuilt from ν,μ*=1,1 (Fig. 2), on made-up reports."""

from types import SimpleNamespace

import numpy as np
import pytest

from slimsoap.study.reproduce.fig2 import recovery_by_l

EPS = np.finfo(np.float64).eps
L_OF = np.array([0, 0, 1, 1, 1, 2])  # column → l, three l


def _report(exact, condition, rank=None):
    n_env, n_l = exact.shape
    max_rank = 2 * np.arange(n_l) + 1
    return SimpleNamespace(
        exact=exact,
        condition=condition,
        rank=np.tile(max_rank, (n_env, 1)) if rank is None else rank,
        max_rank=max_rank,
        n_neighbours=np.full(n_env, 10),
    )


def _spectra(errors_by_l):
    """nu2 with max |nu2| = 1 and `full` off by errors_by_l[env][l] in one column of each l."""
    nu2 = np.ones((len(errors_by_l), len(L_OF)))
    full = nu2.copy()
    for i, errs in enumerate(errors_by_l):
        for l, e in enumerate(errs):
            full[i, np.flatnonzero(L_OF == l)[0]] += e
    return full, nu2


def test_errors_within_the_rounding_bound_pass_and_are_reported_by_l():
    full, nu2 = _spectra([[2 * EPS, 1e-12, 1e-9], [3 * EPS, 2e-12, 4e-9]])
    cond = np.array([[1.0, 1e4, 1e7], [1.0, 1e4, 1e7]])
    out = recovery_by_l(full, nu2, _report(np.ones((2, 3), bool), cond), L_OF, n_columns=10)
    assert out["l_without_verified_environments"] == []
    assert out["verified_fraction_by_l"] == [1.0, 1.0, 1.0]
    # l=0: 3 eps against 10·eps·1; l=2: 4e-9 against 10·eps·1e7 = 2.2e-8
    assert 0.1 < out["max_error_over_rounding_bound_verified"] < 1.0
    # 1 + e is rounded to the nearest double, so e comes back to ~eps/e relative
    np.testing.assert_allclose(
        out["median_relative_error_verified_by_l"], [2.5 * EPS, 1.5e-12, 2.5e-9], rtol=1e-3
    )
    assert out["max_relative_error_unverified_by_l"] == [None, None, None]
    assert out["rank_within_min_2l+1_neighbours+1"]


def test_an_error_over_the_bound_and_an_unverifiable_l_are_flagged():
    full, nu2 = _spectra([[EPS, 1e-6, 0.1], [EPS, 1e-12, 0.2]])
    exact = np.array([[True, True, False], [True, True, False]])
    cond = np.array([[1.0, 1e4, 1e12], [1.0, 1e4, 1e12]])
    out = recovery_by_l(full, nu2, _report(exact, cond), L_OF, n_columns=10)
    assert out["l_without_verified_environments"] == [2]
    assert out["median_relative_error_verified_by_l"][2] is None
    assert out["max_relative_error_unverified_by_l"][2] == pytest.approx(0.2)
    # 1e-6 at l=1 against 10·eps·1e4 = 2.2e-11: far over the bound
    assert out["max_error_over_rounding_bound_verified"] > 1e4
    assert out["verified_fraction"] == 4 / 6


def test_a_rank_above_min_2l_plus_1_and_neighbours_is_flagged():
    full, nu2 = _spectra([[0.0, 0.0, 0.0]])
    rank = np.array([[1, 3, 5]])
    report = _report(np.ones((1, 3), bool), np.ones((1, 3)), rank)
    report.n_neighbours = np.array([3])  # l=2 may reach rank min(5, 3+1) = 4 only
    out = recovery_by_l(full, nu2, report, L_OF, n_columns=10)
    assert not out["rank_within_min_2l+1_neighbours+1"]
