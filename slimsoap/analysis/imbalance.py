"""Information imbalance (Glielmo et al. 2021) between descriptors, computed in blocks.

Definition, as DADApy (``MetricComparisons``, ``_return_imbalance``) computes it with all
neighbours kept: for every environment i, rank all other environments by their distance
from i in space B (the nearest has rank 1); take the k nearest neighbours j of i in space A;
then

    Δ(A→B) = (2/N) · mean over i and over those k neighbours j of rank_B(i, j).

Δ ≈ 0: A predicts B's neighbourhoods (A contains the information in B); Δ ≈ 1: A says
nothing about B. Identical spaces give exactly 2/N for k = 1 (and (k+1)/N in general).

Ties: an environment is never its own neighbour; among equal distances the environment with
the lower index comes first (the order of a stable argsort). DADApy takes the order returned
by its neighbour search, so with exactly equal distances (duplicate environments) the two can
differ; without ties they agree exactly.

Memory: the (N, N) distance matrices are never formed. Rows are processed in blocks: for a
block of environments i, the squared distances to all N environments in each space are
computed (block × N, one BLAS matrix product), the k nearest in A are selected, and the rank
of each in B is counted as the number of environments closer to i than it (plus tied ones of
lower index). Entries within the matrix product's rounding bound of a decision are
recomputed directly as Σ(a − b)², so the result is that of directly computed distances
(exact ties stay ties, duplicates are at distance 0). Cost is O(N²·n_features) flops; memory
is O(block·N) (~128 MB per space by default) plus a centred copy of each input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from slimsoap._validation import check_int
from slimsoap.analysis.distances import GramDistances, as_descriptor_array, block_rows


def _nearest(gram: GramDistances, D: np.ndarray, start: int, k: int) -> np.ndarray:
    """(rows, k) the k nearest environments of rows start:start+rows, ties by lower index.

    ``D`` is the block of squared distances with +inf at each row's own environment. Rows
    with more than k candidates within the rounding bound of their k-th smallest entry are
    settled with exact distances, so the choice is that of exact arithmetic. (Only the set
    matters to the imbalance, so rows are not sorted.)
    """
    tol = 2.0 * gram.tolerance(start, start + D.shape[0])
    kth = D.min(axis=1) if k == 1 else np.partition(D, k - 1, axis=1)[:, k - 1]
    close = D <= (kth + tol)[:, None]
    count = np.count_nonzero(close, axis=1)
    out = np.empty((D.shape[0], k), dtype=np.int64)
    clear = count == k
    out[clear] = np.nonzero(close[clear])[1].reshape(-1, k)
    for r in np.flatnonzero(~clear):
        cand = np.flatnonzero(close[r])
        exact = gram.exact(start + r, cand)
        out[r] = cand[np.lexsort((cand, exact))][:k]
    return out


def _ranks(gram: GramDistances, D: np.ndarray, start: int, targets: np.ndarray) -> np.ndarray:
    """(rows, k) rank of environment ``targets[r, q]`` among the distances from row r.

    rank = 1 + #{m: d(r, m) < d(r, t)} + #{m < t: d(r, m) == d(r, t)}, with exact d: block
    entries farther than the rounding bound from d(r, t) are counted from ``D`` (which has
    +inf at each row's own environment), the others are recomputed exactly.
    """
    rows = np.arange(D.shape[0])
    tol = gram.tolerance(start, start + D.shape[0])[:, None, None]
    t = gram.exact(start + rows[:, None], targets)[:, :, None]
    diff = D[:, None, :] - t
    ranks = 1 + np.count_nonzero(diff < -tol, axis=2)
    r, q, m = np.nonzero(np.abs(diff, out=diff) <= tol)
    exact = gram.exact(start + r, m)
    t_rq, target = t[r, q, 0], targets[r, q]
    before = (exact < t_rq) | ((exact == t_rq) & (m < target))
    np.add.at(ranks, (r, q), before.astype(np.int64))
    return ranks


def _check_k(k: int, n: int) -> int:
    k = check_int("k", k, 1)
    if k > n - 1:
        raise ValueError(f"k = {k} needs at least k + 1 = {k + 1} environments, got {n}")
    return k


def _imbalances_against(
    reference: np.ndarray, others: Sequence[np.ndarray], k: int, block_size: int | None
) -> np.ndarray:
    """(len(others), 2) rows [Δ(reference→other), Δ(other→reference)].

    The reference's distance block is computed once per row block and shared by all others.
    """
    n = reference.shape[0]
    b = block_rows(n, n, block_size, n_arrays=2)
    rank_sums = np.zeros((len(others), 2))
    ref = GramDistances(reference)
    grams = [GramDistances(X) for X in others]
    for start in range(0, n, b):
        stop = min(n, start + b)
        own = (np.arange(stop - start), np.arange(start, stop))
        DR = ref.block(start, stop)
        DR[own] = np.inf
        nearest_ref = _nearest(ref, DR, start, k)
        for o, gram in enumerate(grams):
            DO = gram.block(start, stop)
            DO[own] = np.inf
            rank_sums[o, 0] += _ranks(gram, DO, start, nearest_ref).sum()
            rank_sums[o, 1] += _ranks(ref, DR, start, _nearest(gram, DO, start, k)).sum()
    return rank_sums * 2.0 / (n * n * k)


def information_imbalance(
    A: np.ndarray, B: np.ndarray, k: int = 1, block_size: int | None = None
) -> tuple[float, float]:
    """Information imbalances (Δ(A→B), Δ(B→A)) between two descriptors of the same data.

    Args:
        A, B: (N, n_features_A), (N, n_features_B) descriptors of the same N environments
            (NumPy arrays or SciPy sparse matrices), Euclidean distances.
        k: number of nearest neighbours in the source space averaged over (k >= 1).
        block_size: rows per block (default: ~128 MB of float64 per block and space).

    Returns:
        (Δ(A→B), Δ(B→A)), dimensionless, in (0, ~1].
    """
    A = as_descriptor_array(A, "A")
    B = as_descriptor_array(B, "B")
    if B.shape[0] != A.shape[0]:
        raise ValueError(
            f"A and B must describe the same environments: {A.shape[0]} vs {B.shape[0]} rows"
        )
    k = _check_k(k, A.shape[0])
    a_to_b, b_to_a = _imbalances_against(A, [B], k, block_size)[0]
    return float(a_to_b), float(b_to_a)


@dataclass
class ImbalancePlane:
    """Information imbalance of several descriptors against one reference.

    Attributes:
        names: descriptor names, in input order.
        from_reference: (n_descriptors,) mean over repeats of Δ(reference→descriptor),
            the x coordinate of the imbalance plane.
        to_reference: (n_descriptors,) mean over repeats of Δ(descriptor→reference),
            the y coordinate.
        from_reference_err, to_reference_err: (n_descriptors,) standard errors of those means
            (sample standard deviation over repeats / √repeats; 0 for one repeat).
        samples: (n_repeats, n_descriptors, 2) every repeat's [Δ(ref→D), Δ(D→ref)].
        n_samples: environments used in each repeat.
        k: neighbours averaged over.
    """

    names: list[str]
    from_reference: np.ndarray
    to_reference: np.ndarray
    from_reference_err: np.ndarray
    to_reference_err: np.ndarray
    samples: np.ndarray
    n_samples: int
    k: int


def imbalance_plane(
    reference: np.ndarray,
    descriptors: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    k: int = 1,
    n_samples: int | None = None,
    n_repeats: int = 1,
    seed: int = 0,
    block_size: int | None = None,
) -> ImbalancePlane:
    """Imbalance plane of ``descriptors`` against ``reference`` (paper Figs. 5, 6).

    Each repeat draws ``n_samples`` environments without replacement (the same subset for
    every descriptor, seeded by ``seed``) and computes both imbalances on that subset; the
    result holds the mean and standard error over repeats. Without ``n_samples`` every
    environment is used and repeats would be identical, so ``n_repeats`` must be 1.

    Args:
        reference: (N, n_features) reference descriptor (e.g. ν = 2).
        descriptors: name → (N, n_features_d) array, or a sequence (named "0", "1", ...).
        k: neighbours averaged over.
        n_samples: environments per repeat (2 <= n_samples <= N), or None for all.
        n_repeats: number of random subsets.
        seed: seed of the subsets.
        block_size: rows per block, as in :func:`information_imbalance`.
    """
    reference = as_descriptor_array(reference, "reference")
    if isinstance(descriptors, Mapping):
        names = [str(name) for name in descriptors]
        arrays = list(descriptors.values())
    else:
        arrays = list(descriptors)
        names = [str(i) for i in range(len(arrays))]
    if not arrays:
        raise ValueError("descriptors is empty: give at least one descriptor to compare")
    n = reference.shape[0]
    arrays = [
        as_descriptor_array(X, f"descriptor {name!r}")
        for name, X in zip(names, arrays, strict=True)
    ]
    for name, X in zip(names, arrays, strict=True):
        if X.shape[0] != n:
            raise ValueError(f"descriptor {name!r} has {X.shape[0]} rows, reference has {n}")
    n_repeats = check_int("n_repeats", n_repeats, 1)
    if n_samples is None:
        if n_repeats != 1:
            raise ValueError("n_repeats > 1 needs n_samples < N: repeats on all data are equal")
        n_samples = n
    n_samples = check_int("n_samples", n_samples, 2, n)
    k = _check_k(k, n_samples)

    rng = np.random.default_rng(seed)
    samples = np.empty((int(n_repeats), len(arrays), 2))
    for r in range(int(n_repeats)):
        idx = np.sort(rng.choice(n, size=n_samples, replace=False))
        samples[r] = _imbalances_against(reference[idx], [X[idx] for X in arrays], k, block_size)
    mean = samples.mean(axis=0)
    err = samples.std(axis=0, ddof=1) / np.sqrt(n_repeats) if n_repeats > 1 else np.zeros_like(mean)
    return ImbalancePlane(
        names=names,
        from_reference=mean[:, 0],
        to_reference=mean[:, 1],
        from_reference_err=err[:, 0],
        to_reference_err=err[:, 1],
        samples=samples,
        n_samples=n_samples,
        k=k,
    )
