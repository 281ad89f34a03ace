"""Reproducible train/test and k-fold index splits.

Every split is a function of its arguments only (NumPy ``default_rng(seed)``), so the same
seed gives the same indices on any machine. With ``groups`` (one label per structure, e.g.
the molecule of each conformer), whole groups go to one side, so that no group leaks from
training into testing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slimsoap._validation import check_int


def _units(n: int, groups: Sequence | None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unit labels to shuffle and, for each unit, the structure indices it holds."""
    n = check_int("n", n, 2)
    if groups is None:
        idx = np.arange(n)
        return idx, [idx[i : i + 1] for i in range(n)]
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must hold one label per structure ({n}), got {groups.shape}")
    labels, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(labels)))[:-1]
    return np.arange(len(labels)), np.split(order, bounds)


def train_test_split(
    n: int, test_fraction: float = 0.2, seed: int = 0, groups: Sequence | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split structure indices ``0..n-1`` into sorted train and test index arrays.

    Args:
        n: number of structures.
        test_fraction: share of structures (or of groups) in the test set, in (0, 1);
            rounded to the nearest count, and at least one on each side.
        seed: random seed.
        groups: optional (n,) labels; structures with the same label stay together.

    Returns:
        ``(train, test)``, int64 arrays, disjoint, together ``0..n-1``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    units, members = _units(n, groups)
    if len(units) < 2:
        raise ValueError("need at least two groups to split")
    n_test = min(max(int(round(test_fraction * len(units))), 1), len(units) - 1)
    perm = np.random.default_rng(seed).permutation(len(units))
    test = np.sort(np.concatenate([members[u] for u in perm[:n_test]]))
    train = np.sort(np.concatenate([members[u] for u in perm[n_test:]]))
    return train, test


def kfold_splits(
    n: int, k: int = 5, seed: int = 0, groups: Sequence | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) splits whose test sets partition ``0..n-1``.

    Args:
        n: number of structures.
        k: number of folds, 2 <= k <= number of structures (or groups).
        seed: random seed.
        groups: optional (n,) labels; structures with the same label share a fold.

    Returns:
        A list of ``k`` pairs of sorted int64 index arrays; fold sizes differ by at most one
        unit (structure or group).
    """
    units, members = _units(n, groups)
    k = check_int("k", k, 2, len(units))
    perm = np.random.default_rng(seed).permutation(len(units))
    folds = [
        np.sort(np.concatenate([members[u] for u in part])) for part in np.array_split(perm, k)
    ]
    everything = np.arange(n)
    return [(np.setdiff1d(everything, test), test) for test in folds]
