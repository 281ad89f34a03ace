"""Nested sparse-point selections: every prefix of the ranking is a selection."""

import numpy as np
import pytest

from slimsoap.models.selection import rank_sparse_points, select_sparse_points


def test_fps_ranking_prefixes_are_the_fps_selections():
    X = np.random.default_rng(0).normal(size=(60, 5))
    ranking = rank_sparse_points(X, 20, "fps", random_state=3)
    for m in (1, 5, 13, 20):
        np.testing.assert_array_equal(ranking[:m], select_sparse_points(X, m, "fps", 3))


def test_random_ranking_is_a_seeded_permutation_prefix():
    ranking = rank_sparse_points(np.ones((30, 2)), 12, "random", random_state=5)
    assert len(set(ranking.tolist())) == 12
    np.testing.assert_array_equal(ranking, np.random.default_rng(5).permutation(30)[:12])


def test_cur_ranking_draws_in_proportion_to_leverage():
    """Rows e1, e1, e1, e2: with k=2 components the leverages are 1/6, 1/6, 1/6, 1/2, so
    the first ranked row is row 3 half the time; with k=1 row 3 has no leverage."""
    X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    firsts = np.array([rank_sparse_points(X, 2, "cur", random_state=s)[0] for s in range(600)])
    assert abs(np.mean(firsts == 3) - 0.5) < 0.07
    assert all(3 not in rank_sparse_points(X, 1, "cur", random_state=s) for s in range(50))
    ranking = rank_sparse_points(X, 2, "cur", random_state=0)
    assert len(set(ranking.tolist())) == 2


def test_bad_requests():
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="non-zero leverage"):
        rank_sparse_points(X, 3, "cur")
    with pytest.raises(ValueError, match="unknown sparse point selection"):
        rank_sparse_points(X, 2, "kmeans")
    with pytest.raises(ValueError, match="cannot select"):
        rank_sparse_points(X, 4, "fps")
