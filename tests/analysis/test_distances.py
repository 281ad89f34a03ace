"""Distances, ranks and distance correlations: blocked == dense, self = 1, random ≈ 0."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import pearsonr, rankdata, spearmanr

from slimsoap.analysis import (
    distance_blocks,
    distance_correlation,
    environment_ranks,
    max_distance,
    pairwise_distances,
    scaled_distances,
)


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, 8)) + 5.0  # offset: the Gram formula must not lose digits
    B = np.sin(A[:, :3]) + 0.2 * rng.normal(size=(n, 3))
    return A, B


@pytest.mark.parametrize("block_size", [1, 6, 100])
def test_blocks_equal_direct_distances(block_size):
    A, _ = data()
    ref = cdist(A, A)
    got = np.vstack([D for _, _, D in distance_blocks(A, block_size)])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert np.all(np.diag(got) == 0)
    squared = np.vstack([D for _, _, D in distance_blocks(A, block_size, squared=True)])
    np.testing.assert_allclose(squared, ref**2, rtol=0, atol=1e-11)
    assert max_distance(A, block_size) == pytest.approx(ref.max(), rel=1e-14)


def test_scaled_distances_have_largest_one():
    A, _ = data()
    S = scaled_distances(A)
    assert S.max() == 1.0
    np.testing.assert_allclose(S, cdist(A, A) / cdist(A, A).max(), rtol=1e-15)
    np.testing.assert_array_equal(pairwise_distances(A), cdist(A, A))
    with pytest.raises(ValueError, match="identical"):
        scaled_distances(np.ones((4, 2)))


def test_environment_ranks():
    A, _ = data()
    R = environment_ranks(A)
    D = cdist(A, A)
    assert np.all(np.diag(R) == 0)
    for i in range(len(A)):
        others = np.delete(np.arange(len(A)), i)
        expected = rankdata(D[i, others], method="ordinal")
        np.testing.assert_array_equal(R[i, others], expected)


def test_environment_ranks_ties_by_index():
    # Points on a line: from point 1 (x=1), points 0 (x=0) and 2 (x=2) are tied.
    X = np.array([[0.0], [1.0], [2.0], [4.0]])
    R = environment_ranks(X)
    np.testing.assert_array_equal(R[1], [1, 0, 2, 3])
    np.testing.assert_array_equal(R[2], [2, 1, 0, 3])


def dense_reference(A, B, bins):
    n = len(A)
    DA, DB = cdist(A, A), cdist(B, B)
    iu = np.triu_indices(n, k=1)
    da, db = DA[iu] / DA.max(), DB[iu] / DB.max()
    off = ~np.eye(n, dtype=bool)
    RA = np.array([rankdata(np.where(off[i], DA[i], -1), method="ordinal") - 1 for i in range(n)])
    RB = np.array([rankdata(np.where(off[i], DB[i], -1), method="ordinal") - 1 for i in range(n)])
    edges = np.linspace(0, 1, bins + 1)
    return dict(
        pearson=pearsonr(da, db).statistic,
        spearman=spearmanr(da, db).statistic,
        rank_pearson=pearsonr(RA[off], RB[off]).statistic,
        distance_hist=np.histogram2d(da, db, bins=[edges, edges])[0],
        rank_hist=np.histogram2d(RA[off] / (n - 1), RB[off] / (n - 1), bins=[edges, edges])[0],
    )


@pytest.mark.parametrize("block_size", [1, 7, None])
def test_correlation_blocked_equals_dense(block_size):
    A, B = data()
    got = distance_correlation(A, B, bins=12, block_size=block_size)
    ref = dense_reference(A, B, 12)
    assert got.n_environments == 40
    assert got.spearman_pairs == 40 * 39 // 2  # small: every pair, exact
    for key in ("pearson", "spearman", "rank_pearson"):
        assert getattr(got, key) == pytest.approx(ref[key], abs=1e-12), key
    np.testing.assert_array_equal(got.distance_hist, ref["distance_hist"])
    np.testing.assert_array_equal(got.rank_hist, ref["rank_hist"])
    np.testing.assert_allclose(got.max_distance, [cdist(A, A).max(), cdist(B, B).max()])


def test_correlation_with_itself_is_one():
    A, _ = data()
    got = distance_correlation(A, 3.0 * A, bins=10)
    assert got.pearson == pytest.approx(1.0, abs=1e-12)
    assert got.spearman == pytest.approx(1.0, abs=1e-12)
    assert got.rank_pearson == pytest.approx(1.0, abs=1e-12)
    # Everything on the diagonal of both histograms.
    assert np.trace(got.distance_hist) == 40 * 39 // 2
    assert np.trace(got.rank_hist) == 40 * 39


def test_correlation_with_random_descriptor_is_about_zero():
    A, _ = data(n=1000)
    rng = np.random.default_rng(7)
    got = distance_correlation(A, rng.normal(size=(1000, 8)), bins=10)
    # Pair distances share points, so the null spread is ~0.6/sqrt(N) (measured over 40
    # seeds at N = 200: standard deviation 0.04), ~0.02 here: 0.1 is five sigmas.
    assert abs(got.pearson) < 0.1
    assert abs(got.spearman) < 0.1
    assert abs(got.rank_pearson) < 0.1


def test_spearman_subsample_close_to_exact():
    A, B = data(n=300, seed=3)
    exact = distance_correlation(A, B, bins=5)
    sampled = distance_correlation(A, B, bins=5, spearman_pairs=20_000, seed=1)
    assert exact.spearman_pairs == 300 * 299 // 2
    assert sampled.spearman_pairs == 20_000
    # Standard error ~ (1 - rho^2) / sqrt(20000) < 0.007.
    assert sampled.spearman == pytest.approx(exact.spearman, abs=0.03)
    assert sampled.pearson == exact.pearson  # the other statistics do not sample


def test_correlation_bad_input():
    A, B = data()
    with pytest.raises(ValueError, match="same environments"):
        distance_correlation(A, B[:10])
    with pytest.raises(ValueError, match="identical according to B"):
        distance_correlation(A, np.zeros_like(B))
    with pytest.raises(ValueError, match="bins"):
        distance_correlation(A, B, bins=0)
    with pytest.raises(ValueError, match="block_size"):
        distance_correlation(A, B, block_size=0)
    with pytest.raises(ValueError, match="at least 2 environments"):
        distance_correlation(A[:1], B[:1])
