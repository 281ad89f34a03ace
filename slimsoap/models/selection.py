"""Choice of representative environments (sparse points) for sparse kernel models.

Two methods, as gap_fit offers them:

- ``farthest_point_sampling``: greedy max-min Euclidean distance, deterministic.
- ``cur_selection``: leverage-score CUR (Mahoney & Drineas 2009): rows are drawn without
  replacement with probability proportional to their statistical leverage on the top
  ``n_components`` singular vectors of the feature matrix (gap_fit's ``cur_points``).

Both accept a dense array or a ``scipy.sparse`` matrix of shape (n_rows, n_features) and
return row indices. ``rank_sparse_points`` orders rows so that every prefix of the ranking is
a selection of its own (nested sets, for fits at several sparse sizes).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from slimsoap._arrays import dense
from slimsoap._validation import check_int

ArrayLike2D = np.ndarray | sp.spmatrix | sp.sparray


def _row_dot(X: ArrayLike2D, x: ArrayLike2D) -> np.ndarray:
    """Dot products of every row of ``X`` with the single row ``x`` (1 × d), as (n,)."""
    return dense(X @ x.T).ravel()


def _row_norms_sq(X: ArrayLike2D) -> np.ndarray:
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", X, X)


def _check_request(X: ArrayLike2D, n_select: int) -> int:
    if X.ndim != 2:
        raise ValueError(f"features must be 2-D (n_rows, n_features), got shape {X.shape}")
    n_select = check_int("n_select", n_select, 1)
    if n_select > X.shape[0]:
        raise ValueError(f"cannot select {n_select} rows out of {X.shape[0]}")
    return n_select


def farthest_point_sampling(X: ArrayLike2D, n_select: int, start: int = 0) -> np.ndarray:
    """Greedy farthest-point sampling of ``n_select`` rows of ``X`` (n, d).

    Starts at row ``start``; each next row is the one whose Euclidean distance to the
    nearest already chosen row is largest (ties: lowest index). Cost O(n · d · n_select).

    Returns:
        (n_select,) int64 row indices, in the order chosen.
    """
    n_select = _check_request(X, n_select)
    n = X.shape[0]
    if not 0 <= start < n:
        raise ValueError(f"start must be a row index in [0, {n}), got {start}")
    norms = _row_norms_sq(X)
    chosen = np.empty(n_select, dtype=np.int64)
    min_d2 = np.full(n, np.inf)
    current = int(start)
    for k in range(n_select):
        chosen[k] = current
        d2 = norms + norms[current] - 2.0 * _row_dot(X, X[current : current + 1])
        np.minimum(min_d2, np.maximum(d2, 0.0), out=min_d2)
        min_d2[chosen[: k + 1]] = -1.0
        current = int(np.argmax(min_d2))
    return chosen


def _top_left_singular_vectors(
    X: ArrayLike2D, k: int, rng: np.random.Generator, n_iter: int = 4
) -> np.ndarray:
    """(n, k) orthonormal approximation of the top-k left singular vectors of ``X``.

    - Few rows and many more columns (n ≤ 2k+20 and d > 2n, e.g. a few thousand sparse
      power spectra of length 50,000): eigenvectors of the n × n Gram matrix X Xᵀ, formed
      by a (sparse) product, so X is never densified. Singular values below ~3e-7 s₀ are
      lost to the squaring and dropped (λ < 1e-13 λ₀).
    - Otherwise small (min(n, d) ≤ 2k+20): exact thin SVD, dropping s < 1e-12 s₀.
    - Otherwise: randomized range finder with power iterations (Halko, Martinsson &
      Tropp 2011).
    """
    n, d = X.shape
    if min(n, d) <= 2 * k + 20:
        if d > 2 * n:
            lam, u = np.linalg.eigh(dense(X @ X.T, np.float64))
            lam, u = lam[::-1], u[:, ::-1]
            keep = lam > lam[0] * 1e-13 if len(lam) and lam[0] > 0 else np.zeros(len(lam), bool)
            return np.ascontiguousarray(u[:, keep][:, :k])
        u, s, _ = np.linalg.svd(dense(X, np.float64), full_matrices=False)
        keep = s > s[0] * 1e-12 if len(s) and s[0] > 0 else np.zeros(len(s), bool)
        return u[:, keep][:, :k]
    p = min(k + 10, d)
    Q = np.asarray(X @ rng.standard_normal((d, p)))
    Q, _ = np.linalg.qr(Q)
    for _ in range(n_iter):
        Q, _ = np.linalg.qr(np.asarray(X.T @ Q))
        Q, _ = np.linalg.qr(np.asarray(X @ Q))
    B = np.asarray((X.T @ Q).T)  # (p, d) = Q^T X
    ub, s, _ = np.linalg.svd(B, full_matrices=False)
    keep = s > s[0] * 1e-12 if len(s) and s[0] > 0 else np.zeros(len(s), bool)
    return (Q @ ub[:, keep])[:, :k]


def _positive_leverage(p: np.ndarray, n_select: int) -> np.ndarray:
    """Mask of rows with non-zero leverage (p > 1e-14 max p); refuses ``n_select`` larger
    than their number."""
    positive = p > 1e-14 * p.max()
    n_positive = int(np.count_nonzero(positive))
    if n_select > n_positive:
        raise ValueError(
            f"cannot select {n_select} rows by CUR: only {n_positive} rows have non-zero "
            "leverage (use farthest_point_sampling, or fewer sparse points)"
        )
    return positive


def leverage_scores(X: ArrayLike2D, n_components: int, random_state: int = 0) -> np.ndarray:
    """Statistical leverage of each row of ``X`` on its top ``n_components`` singular vectors.

    π_i = Σ_{j<k} U_ij² / k, so that Σ_i π_i = 1 (k = number of non-zero singular values
    kept, at most ``n_components``).

    Returns:
        (n,) float array of probabilities.
    """
    n_components = check_int("n_components", n_components, 1)
    U = _top_left_singular_vectors(X, n_components, np.random.default_rng(random_state))
    if U.shape[1] == 0:
        raise ValueError("every row of the feature matrix is zero: nothing to select")
    return np.einsum("ij,ij->i", U, U) / U.shape[1]


def cur_selection(
    X: ArrayLike2D, n_select: int, n_components: int | None = None, random_state: int = 0
) -> np.ndarray:
    """Leverage-score CUR selection of ``n_select`` rows of ``X`` (n, d).

    Rows are drawn without replacement with probability proportional to their leverage on
    the top ``n_components`` (default ``min(n_select, n, d)``) singular vectors. Rows with
    zero leverage (e.g. all-zero rows) are never chosen.

    Returns:
        (n_select,) int64 row indices, sorted ascending.
    """
    n_select = _check_request(X, n_select)
    k = min(n_select, *X.shape) if n_components is None else n_components
    p = leverage_scores(X, k, random_state)
    p = np.where(_positive_leverage(p, n_select), p, 0.0)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(X.shape[0], size=n_select, replace=False, p=p / p.sum()))


def select_sparse_points(
    X: ArrayLike2D, n_select: int, method: str = "cur", random_state: int = 0
) -> np.ndarray:
    """Dispatch to ``cur_selection`` (``method="cur"``), ``farthest_point_sampling``
    (``"fps"``) or a uniform random draw (``"random"``); returns (n_select,) row indices."""
    if method == "cur":
        return cur_selection(X, n_select, random_state=random_state)
    if method == "fps":
        start = int(np.random.default_rng(random_state).integers(X.shape[0]))
        return farthest_point_sampling(X, n_select, start=start)
    if method == "random":
        n_select = _check_request(X, n_select)
        rng = np.random.default_rng(random_state)
        return np.sort(rng.choice(X.shape[0], size=n_select, replace=False))
    raise ValueError(f"unknown sparse point selection {method!r}; use 'cur', 'fps' or 'random'")


def rank_sparse_points(
    X: ArrayLike2D, n_select: int, method: str = "cur", random_state: int = 0
) -> np.ndarray:
    """``n_select`` rows of ``X`` (n, d) in an order whose first m are a selection of m rows
    for every m ≤ ``n_select`` (nested sparse sets).

    - ``"fps"``: the farthest-point order itself, from the start row of
      :func:`select_sparse_points`; every prefix equals ``select_sparse_points(X, m, "fps")``.
    - ``"cur"``: leverage scores on the top ``min(n_select, n, d)`` singular vectors, rows
      drawn one after the other without replacement with probability ∝ leverage
      (Efraimidis-Spirakis keys log(u)/π, largest first); a prefix is a CUR draw of m rows,
      but not the one ``cur_selection(X, m)`` makes (its components and draws depend on m).
    - ``"random"``: a seeded permutation's first ``n_select`` rows.

    Returns:
        (n_select,) int64 row indices, in rank order (not sorted).
    """
    n_select = _check_request(X, n_select)
    if method == "fps":
        return select_sparse_points(X, n_select, "fps", random_state)
    rng = np.random.default_rng(random_state)
    if method == "random":
        return rng.permutation(X.shape[0])[:n_select].astype(np.int64)
    if method != "cur":
        raise ValueError(f"unknown sparse point selection {method!r}; use 'cur', 'fps' or 'random'")
    p = leverage_scores(X, min(n_select, *X.shape), random_state)
    positive = _positive_leverage(p, n_select)
    keys = np.full(X.shape[0], -np.inf)
    keys[positive] = np.log1p(-rng.random(np.count_nonzero(positive))) / p[positive]
    return np.argsort(-keys, kind="stable")[:n_select].astype(np.int64)
