"""Information imbalance: DADApy's values, identical spaces, blocked == dense, the plane."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from slimsoap.analysis import imbalance_plane, information_imbalance


def dadapy_inputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    Y = X[:, :1] + 0.1 * rng.normal(size=(50, 1))
    return X, Y


def dense_imbalance(A, B, k):
    """Reference written from DADApy's algorithm: full argsort of each row, rank = position."""
    n = len(A)
    order_a = np.argsort(cdist(A, A) - 2 * np.eye(n), axis=1, kind="stable")
    order_b = np.argsort(cdist(B, B) - 2 * np.eye(n), axis=1, kind="stable")
    ranks = [
        np.flatnonzero(order_b[i] == order_a[i, q])[0] for i in range(n) for q in range(1, k + 1)
    ]
    return 2.0 * np.mean(ranks) / n


@pytest.mark.parametrize("k, expected", [(1, (0.2744, 0.5000)), (3, (0.3488, 0.5888))])
def test_matches_dadapy(k, expected):
    # Values computed with dadapy 0.3.4 (given to 4 decimals in issue 6).
    X, Y = dadapy_inputs()
    assert information_imbalance(X, Y, k=k) == pytest.approx(expected, abs=5e-5)


def test_identical_spaces_give_two_over_n():
    X, _ = dadapy_inputs()
    assert information_imbalance(X, X) == pytest.approx((0.04, 0.04), abs=1e-15)
    # k neighbours of identical spaces have mean rank (k + 1) / 2.
    assert information_imbalance(X, 3.0 * X, k=4) == pytest.approx((5 / 50, 5 / 50), abs=1e-15)


@pytest.mark.parametrize("block_size", [1, 7, 64])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_blocked_equals_dense(block_size, k):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(40, 6))
    B = np.tanh(A[:, :2]) + 0.3 * rng.normal(size=(40, 2))
    got = information_imbalance(A, B, k=k, block_size=block_size)
    assert got == pytest.approx((dense_imbalance(A, B, k), dense_imbalance(B, A, k)), abs=1e-14)


def test_ties_are_broken_by_index():
    # Integer coordinates: many exactly equal distances, and duplicate environments.
    rng = np.random.default_rng(2)
    A = rng.integers(0, 3, size=(30, 2)).astype(float)
    B = rng.integers(0, 2, size=(30, 3)).astype(float)
    for k in (1, 3):
        got = information_imbalance(A, B, k=k, block_size=4)
        assert got == pytest.approx((dense_imbalance(A, B, k), dense_imbalance(B, A, k)))


def test_uninformative_space_gives_about_one():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(400, 5))
    B = rng.normal(size=(400, 5))
    a_to_b, b_to_a = information_imbalance(A, B)
    # Independent spaces: the rank in B of A's neighbour is uniform on 1..N-1, mean ~N/2.
    # Its standard error is (N/sqrt(12))/sqrt(N) * 2/N ~ 0.029 here.
    assert a_to_b == pytest.approx(1.0, abs=0.15)
    assert b_to_a == pytest.approx(1.0, abs=0.15)


def test_sparse_input_accepted():
    sp = pytest.importorskip("scipy.sparse")
    X, Y = dadapy_inputs()
    assert information_imbalance(sp.csr_matrix(X), Y) == pytest.approx((0.2744, 0.5), abs=5e-5)


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(k=0), "k must be >= 1, got 0"),
        (dict(k=50), "needs at least k \\+ 1"),
        (dict(B=np.zeros((49, 1))), "same environments"),
        (dict(B=np.full((50, 1), np.nan)), "NaN"),
        (dict(B=np.zeros(50)), "2-D"),
    ],
)
def test_bad_input(args, message):
    X, Y = dadapy_inputs()
    kwargs = dict(A=X, B=Y, k=1)
    kwargs.update(args)
    with pytest.raises(ValueError, match=message):
        information_imbalance(**kwargs)


def test_plane_without_subsampling_equals_pairwise():
    X, Y = dadapy_inputs()
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(50, 4))
    plane = imbalance_plane(X, {"y": Y, "z": Z}, k=1)
    assert plane.names == ["y", "z"]
    for i, D in enumerate([Y, Z]):
        a, b = information_imbalance(X, D)
        assert plane.from_reference[i] == pytest.approx(a, abs=1e-15)
        assert plane.to_reference[i] == pytest.approx(b, abs=1e-15)
    assert np.all(plane.from_reference_err == 0)


def test_plane_with_subsampling():
    rng = np.random.default_rng(5)
    ref = rng.normal(size=(300, 4))
    plane = imbalance_plane(
        ref, [ref * 2.0, rng.normal(size=(300, 3))], n_samples=60, n_repeats=5, seed=1
    )
    assert plane.samples.shape == (5, 2, 2)
    assert plane.n_samples == 60
    # A rescaled copy: exactly 2/n_samples on every subset, zero spread.
    assert plane.from_reference[0] == pytest.approx(2 / 60, abs=1e-15)
    assert plane.to_reference_err[0] == pytest.approx(0.0, abs=1e-15)
    # Independent noise: about 1 with a nonzero standard error.
    assert plane.from_reference[1] == pytest.approx(1.0, abs=0.25)
    assert plane.to_reference_err[1] > 0
    expected_err = plane.samples[:, 1, 1].std(ddof=1) / np.sqrt(5)
    assert plane.to_reference_err[1] == pytest.approx(expected_err)
    # The same seed gives the same subsets.
    again = imbalance_plane(ref, [ref * 2.0], n_samples=60, n_repeats=5, seed=1)
    np.testing.assert_array_equal(again.samples[:, 0], plane.samples[:, 0])


def test_plane_bad_input():
    X, Y = dadapy_inputs()
    with pytest.raises(ValueError, match="n_repeats > 1 needs n_samples"):
        imbalance_plane(X, [Y], n_repeats=3)
    with pytest.raises(ValueError, match="n_samples must be"):
        imbalance_plane(X, [Y], n_samples=51)
    with pytest.raises(ValueError, match="empty"):
        imbalance_plane(X, [])
    with pytest.raises(ValueError, match="has 10 rows"):
        imbalance_plane(X, {"short": Y[:10]})
