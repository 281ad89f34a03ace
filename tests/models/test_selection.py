"""Sparse-point selection: farthest-point sampling and leverage-score CUR."""

import numpy as np
import pytest
import scipy.sparse as sp

from slimsoap.models.selection import (
    cur_selection,
    farthest_point_sampling,
    leverage_scores,
    select_sparse_points,
)


def test_fps_on_a_line_takes_ends_then_midpoints():
    X = np.arange(11.0)[:, None]  # points 0..10
    np.testing.assert_array_equal(farthest_point_sampling(X, 4, start=0), [0, 10, 5, 2])
    np.testing.assert_array_equal(farthest_point_sampling(sp.csr_matrix(X), 3, start=3), [3, 10, 0])


def test_fps_never_repeats_and_skips_duplicates_while_distinct_rows_remain():
    X = np.array([[0.0, 0], [0, 0], [1, 0], [1, 0], [0, 1]])
    chosen = farthest_point_sampling(X, 3, start=0)
    assert len(set(chosen.tolist())) == 3
    assert {tuple(X[i]) for i in chosen} == {(0, 0), (1, 0), (0, 1)}


def test_leverage_scores_known_values():
    # three rows alone along e1, e2, e3 (leverage 1 each) and four identical rows sharing e4
    X = np.zeros((8, 5))
    X[0, 0], X[1, 1], X[2, 2] = 1.0, 2.0, 3.0
    X[3:7, 3] = 1.0
    p = leverage_scores(X, 4)
    np.testing.assert_allclose(p, [0.25, 0.25, 0.25, 1 / 16, 1 / 16, 1 / 16, 1 / 16, 0], atol=1e-12)


def test_cur_never_selects_zero_rows_and_is_reproducible():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 30))
    X[::2] = 0.0
    idx = cur_selection(X, 40, random_state=3)
    assert np.all(idx % 2 == 1) and len(np.unique(idx)) == 40
    np.testing.assert_array_equal(idx, cur_selection(X, 40, random_state=3))
    with pytest.raises(ValueError, match="only 100 rows have non-zero leverage"):
        cur_selection(X, 150)


def test_cur_randomized_path_matches_exact_leverage():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 120))  # rank 6, d=120 > 2k+20
    X = np.hstack([X, np.zeros((400, 80))])
    u, s, _ = np.linalg.svd(X, full_matrices=False)
    exact = np.sum(u[:, :6] ** 2, axis=1) / 6
    np.testing.assert_allclose(leverage_scores(sp.csr_matrix(X), 6), exact, atol=1e-10)


def test_bad_requests():
    X = np.ones((5, 2))
    with pytest.raises(ValueError, match="cannot select 6 rows out of 5"):
        farthest_point_sampling(X, 6)
    with pytest.raises(ValueError, match="unknown sparse point selection"):
        select_sparse_points(X, 2, method="kmeans")


def test_wide_sparse_matrix_leverage_from_gram_matches_svd_without_densifying(monkeypatch):
    """n ≤ 2k+20 and d > 2n: the Gram branch gives the exact SVD leverage (also when X has
    lower rank than k) and never builds the dense n × d matrix."""
    import slimsoap.models.selection as selection

    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 7)) @ rng.normal(size=(7, 900))  # rank 7
    X[:, rng.random(900) < 0.7] = 0.0  # sparse columns, rank still 7
    Xs = sp.csr_matrix(X)
    u, s, _ = np.linalg.svd(X, full_matrices=False)
    rank = int(np.sum(s > 1e-10 * s[0]))
    assert rank == 7
    shapes = []
    real_dense = selection.dense
    monkeypatch.setattr(
        selection, "dense", lambda a, *args: shapes.append(a.shape) or real_dense(a, *args)
    )
    for k in (5, rank, 40):
        exact = np.sum(u[:, : min(k, rank)] ** 2, axis=1) / min(k, rank)
        np.testing.assert_allclose(leverage_scores(Xs, k), exact, atol=1e-10)
    assert (60, 900) not in shapes and shapes
    idx = cur_selection(Xs, 30, random_state=2)
    assert len(np.unique(idx)) == 30
