"""Distances between environments, per-environment ranks and distance–distance correlations.

Every function takes plain descriptor arrays, (n_environments, n_features), so it works on
descriptors from any code. Distances are Euclidean in feature space (feature units).

Large data sets: :func:`distance_blocks` yields the distance matrix a block of rows at a
time, so the (N, N) matrix is never held; :func:`distance_correlation` accumulates its
statistics and histograms from those blocks. Blocks hold ~128 MB of distances whatever N is,
so its working memory is about 0.8 GB (measured) plus a centred copy of each input, for
20,000 environments as for 2,000. :func:`scaled_distances` and :func:`environment_ranks`
return dense (N, N) arrays and are meant for small N (plots, tests).

Ties in ranks: the environment itself is excluded, the nearest other environment has rank 1,
and equal distances are ranked by environment index (the order of a stable argsort).
:func:`environment_ranks` uses distances computed directly, so exact ties stay ties; the
blocks of :func:`distance_correlation` use the Gram-matrix formula, whose last-digit rounding
can split exact ties (only the rank histogram and rank correlation can notice).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import spearmanr

from slimsoap._arrays import dense
from slimsoap._validation import check_finite, check_int

#: Default memory budget (bytes) of one block of float64 distances (per descriptor).
DEFAULT_BLOCK_BYTES = 1 << 27


def as_descriptor_array(X: object, name: str = "X") -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 (n_environments, n_features) array.

    Sparse matrices are densified. Raises ``ValueError`` for anything that is not 2-D, has
    fewer than 2 rows, or holds NaN/inf.
    """
    X = np.ascontiguousarray(dense(X), dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_environments, n_features) array, got {X.ndim}-D")
    if X.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 environments (rows), got {X.shape[0]}")
    return check_finite(name, X)


def block_rows(n_rows: int, n_columns: int, block_size: int | None, n_arrays: int = 1) -> int:
    """Rows per block so that ``n_arrays`` float64 (rows, n_columns) blocks fit the budget.

    ``block_size`` given explicitly wins (it must be >= 1); otherwise the block holds about
    ``DEFAULT_BLOCK_BYTES`` per array.
    """
    if block_size is not None:
        return min(check_int("block_size", block_size, 1), n_rows)
    return int(max(1, min(n_rows, DEFAULT_BLOCK_BYTES // (8 * n_columns * n_arrays))))


class GramDistances:
    """Squared distances between the rows of X, a block of rows at a time, via BLAS.

    A block is |a|² + |b|² − 2a·b on column-centred data (centring keeps more digits), one
    matrix product per block. Its rounding error is bounded by :meth:`tolerance`, and
    :meth:`exact` recomputes chosen entries directly as Σ(a − b)², so that callers can
    settle near-ties exactly (exact duplicates give exactly 0).

    Args:
        X: (N, n_features) descriptors (validated by :func:`as_descriptor_array`).
    """

    def __init__(self, X: np.ndarray) -> None:
        self.X = as_descriptor_array(X)
        self.n = self.X.shape[0]
        self._centred = self.X - self.X.mean(axis=0)
        self._sq = np.einsum("ij,ij->i", self._centred, self._centred)
        self._bound = (self.X.shape[1] + 4) * np.finfo(np.float64).eps

    def block(self, start: int, stop: int) -> np.ndarray:
        """(stop − start, N) squared distances of rows start:stop, exactly 0 at their own."""
        D = self._centred[start:stop] @ self._centred.T
        D *= -2.0
        D += self._sq[start:stop, None]
        D += self._sq[None, :]
        np.maximum(D, 0.0, out=D)
        D[np.arange(stop - start), np.arange(start, stop)] = 0.0
        return D

    def tolerance(self, start: int, stop: int) -> np.ndarray:
        """(stop − start,) bound on |block − exact| over each row (feature units²)."""
        return self._bound * (self._sq[start:stop] + self._sq.max())

    def exact(self, rows: np.ndarray, cols: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Squared distances Σ(X[rows] − X[cols])², elementwise over two index arrays."""
        rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
        out = np.empty(rows.shape)
        flat_r, flat_c, flat_o = rows.ravel(), cols.ravel(), out.reshape(-1)
        for lo in range(0, flat_r.size, chunk):
            diff = self.X[flat_r[lo : lo + chunk]] - self.X[flat_c[lo : lo + chunk]]
            flat_o[lo : lo + chunk] = np.einsum("ij,ij->i", diff, diff)
        return out


def distance_blocks(
    X: np.ndarray, block_size: int | None = None, squared: bool = False
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, D)`` with D = distances of rows start:stop to all rows.

    Computed with :class:`GramDistances` (relative rounding ~1e-16 ``|x|²``, so distances that
    are exactly equal may come out unequal in the last digits).

    Args:
        X: (N, n_features) descriptors.
        block_size: rows per block; default fits ``DEFAULT_BLOCK_BYTES``.
        squared: yield squared distances (cheaper; enough for ranking).

    Yields:
        D: (stop − start, N) float64, exactly 0 at each row's own environment.
    """
    gram = GramDistances(X)
    b = block_rows(gram.n, gram.n, block_size)
    for start in range(0, gram.n, b):
        stop = min(gram.n, start + b)
        D = gram.block(start, stop)
        if not squared:
            np.sqrt(D, out=D)
        yield start, stop, D


def pairwise_distances(X: np.ndarray) -> np.ndarray:
    """Dense (N, N) Euclidean distances between the rows of ``X``, computed directly.

    O(N²) memory and O(N²·n_features) work without BLAS: for small N (exact ties stay
    ties). Use :func:`distance_blocks` for large N.
    """
    X = as_descriptor_array(X)
    return cdist(X, X)


def max_distance(X: np.ndarray, block_size: int | None = None) -> float:
    """Largest distance between two rows of ``X``, computed blockwise (O(block·N) memory)."""
    return float(np.sqrt(max(D.max() for _, _, D in distance_blocks(X, block_size, True))))


def scaled_distances(X: np.ndarray) -> np.ndarray:
    """Dense (N, N) distances divided by the largest, so the largest is 1 (dimensionless)."""
    D = pairwise_distances(X)
    top = D.max()
    if top == 0:
        raise ValueError("all environments are identical: distances cannot be scaled")
    return D / top


def _block_ranks(D: np.ndarray, start: int) -> np.ndarray:
    """Ranks (int64, same shape as D) of each row's distances; own environment gets 0."""
    rows = np.arange(D.shape[0])
    own = np.arange(start, start + D.shape[0])
    D = D.copy()
    D[rows, own] = -np.inf
    order = np.argsort(D, axis=1, kind="stable")
    ranks = np.empty(D.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(D.shape[1])[None, :], axis=1)
    return ranks


def environment_ranks(X: np.ndarray) -> np.ndarray:
    """Dense (N, N) int64 ranks: ``R[i, j]`` is the rank of j among the distances from i.

    The nearest other environment has rank 1, the farthest N − 1, ``R[i, i] = 0``; equal
    distances are ranked by index.
    """
    D = pairwise_distances(X)
    return _block_ranks(D, 0)


class _Moments:
    """Running means and centred second moments of pairs (x, y), merged block by block.

    Uses the pairwise update of Chan et al., so long sums of concentrated values keep their
    digits (the naive Σx² − n·mean² does not).
    """

    def __init__(self) -> None:
        self.n = 0
        self.mean = np.zeros(2)
        self.m2 = np.zeros((2, 2))

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        n_b = x.size
        if n_b == 0:
            return
        v = np.stack([x.ravel(), y.ravel()]).astype(np.float64)
        mean_b = v.mean(axis=1)
        c = v - mean_b[:, None]
        m2_b = c @ c.T
        n = self.n + n_b
        delta = mean_b - self.mean
        self.m2 += m2_b + np.outer(delta, delta) * (self.n * n_b / n)
        self.mean += delta * (n_b / n)
        self.n = n

    def pearson(self) -> float:
        denom = np.sqrt(self.m2[0, 0] * self.m2[1, 1])
        return float(self.m2[0, 1] / denom) if denom > 0 else float("nan")


def _bin_index(u: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each value of ``u`` in [0, 1] among ``bins`` equal bins (1 goes in the last)."""
    return np.minimum((u * bins).astype(np.int64), bins - 1)


@dataclass
class DistanceCorrelation:
    """How well the distances of descriptor B follow those of descriptor A.

    Attributes:
        n_environments: N.
        pearson: Pearson correlation of d_A and d_B over all pairs i < j (exact).
        spearman: Spearman correlation of d_A and d_B over ``spearman_pairs`` pairs.
        spearman_pairs: number of pairs behind ``spearman`` (all N(N−1)/2 pairs when that is
            at most the requested sample, else a random sample drawn with replacement).
        rank_pearson: Pearson correlation of the per-environment ranks r_A(i, j), r_B(i, j)
            over all ordered pairs i ≠ j (exact). Every row holds the ranks 1..N−1, so this
            is the mean over environments of each environment's Spearman correlation.
        max_distance: (2,) largest distance of A and of B (feature units), the scales.
        edges: (bins + 1,) bin edges on [0, 1] of both histogram axes.
        distance_hist: (bins, bins) int64 counts of pairs i < j by (d_A/max_A, d_B/max_B);
            first index A.
        rank_hist: (bins, bins) int64 counts of ordered pairs i ≠ j by
            (r_A/(N−1), r_B/(N−1)); first index A.
    """

    n_environments: int
    pearson: float
    spearman: float
    spearman_pairs: int
    rank_pearson: float
    max_distance: np.ndarray
    edges: np.ndarray
    distance_hist: np.ndarray
    rank_hist: np.ndarray


def _sample_pairs(n: int, n_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) with i < j: all pairs if there are at most ``n_pairs``, else a random sample."""
    total = n * (n - 1) // 2
    if total <= n_pairs:
        i, j = np.triu_indices(n, k=1)
        return i, j
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=n_pairs)
    j = (i + rng.integers(1, n, size=n_pairs)) % n
    i, j = np.minimum(i, j), np.maximum(i, j)
    order = np.argsort(i, kind="stable")
    return i[order], j[order]


def distance_correlation(
    A: np.ndarray,
    B: np.ndarray,
    bins: int = 100,
    block_size: int | None = None,
    spearman_pairs: int = 1_000_000,
    seed: int = 0,
) -> DistanceCorrelation:
    """Distance–distance and rank–rank correlation between two descriptors of the same data.

    Two passes over the distance blocks: the first finds the largest distance of each
    descriptor (the scales of the histograms), the second accumulates the histograms, the
    Pearson moments, the ranks and the Spearman sample. Memory is O(block·N), never O(N²).

    Spearman over all N(N−1)/2 pairs would need a global sort of every pair; instead, when
    there are more than ``spearman_pairs`` pairs, it is computed on ``spearman_pairs`` pairs
    drawn uniformly (with replacement) with the generator seeded by ``seed`` — its standard
    error is about 1/√spearman_pairs. Smaller data sets use every pair (exact).

    Args:
        A, B: (N, n_features_A), (N, n_features_B) descriptors of the same N environments.
        bins: bins per histogram axis.
        block_size: rows of the distance matrix per block (default: ~128 MB per block).
        spearman_pairs: most pairs used for the Spearman coefficient.
        seed: seed of the Spearman pair sample.

    Returns:
        A :class:`DistanceCorrelation`.
    """
    A = as_descriptor_array(A, "A")
    B = as_descriptor_array(B, "B")
    n = A.shape[0]
    if B.shape[0] != n:
        raise ValueError(f"A and B must describe the same environments: {n} vs {B.shape[0]} rows")
    bins = check_int("bins", bins, 1)
    spearman_pairs = check_int("spearman_pairs", spearman_pairs, 3)
    seed = check_int("seed", seed, 0)
    b = block_rows(n, n, block_size, n_arrays=2)
    scale = np.array([max_distance(A, b), max_distance(B, b)])
    if np.any(scale == 0):
        which = "A" if scale[0] == 0 else "B"
        raise ValueError(f"all environments are identical according to {which}")

    si, sj = _sample_pairs(n, spearman_pairs, seed)
    sample = np.empty((2, si.size))
    dist_hist = np.zeros(bins * bins, dtype=np.int64)
    rank_hist = np.zeros(bins * bins, dtype=np.int64)
    dist_moments, rank_moments = _Moments(), _Moments()
    for (start, stop, DA), (_, _, DB) in zip(
        distance_blocks(A, b), distance_blocks(B, b), strict=True
    ):
        DA /= scale[0]
        DB /= scale[1]
        upper = np.arange(n)[None, :] > np.arange(start, stop)[:, None]
        da, db = DA[upper], DB[upper]
        dist_moments.add(da, db)
        dist_hist += np.bincount(
            _bin_index(da, bins) * bins + _bin_index(db, bins), minlength=bins * bins
        )
        off = np.arange(n)[None, :] != np.arange(start, stop)[:, None]
        ra = _block_ranks(DA, start)[off]
        rb = _block_ranks(DB, start)[off]
        rank_moments.add(ra, rb)
        ua, ub = ra / (n - 1), rb / (n - 1)
        rank_hist += np.bincount(
            _bin_index(ua, bins) * bins + _bin_index(ub, bins), minlength=bins * bins
        )
        lo, hi = np.searchsorted(si, [start, stop])
        sample[0, lo:hi] = DA[si[lo:hi] - start, sj[lo:hi]]
        sample[1, lo:hi] = DB[si[lo:hi] - start, sj[lo:hi]]

    return DistanceCorrelation(
        n_environments=n,
        pearson=dist_moments.pearson(),
        spearman=float(spearmanr(sample[0], sample[1]).statistic),
        spearman_pairs=int(si.size),
        rank_pearson=rank_moments.pearson(),
        max_distance=scale,
        edges=np.linspace(0.0, 1.0, bins + 1),
        distance_hist=dist_hist.reshape(bins, bins),
        rank_hist=rank_hist.reshape(bins, bins),
    )
