"""Channel maps: per l, W1_l, W2_l and the stored entries of p_l (DESIGN §2-3).

For each l, X_l is the (2l+1) × C matrix of coefficients, C = S·N columns (species outer,
radial inner). A compression picks, per l, a :class:`Block`: W1_l (C × K1), W2_l (C × K2) and
which entries of p_l = (X_l W1_l)^T (X_l W2_l) are stored. ``None`` stands for the identity
(the element density). The contraction (:mod:`slimsoap.soap.contraction`) is the same for
every compression.

Stored entries ("packing"): a symmetric block (W1 = W2) keeps its upper triangle with
off-diagonal entries ×√2, so dot products of packed vectors equal Σ_ab p[a,b] p'[a,b]; a
non-symmetric block is stored whole, row-major. Truncations (``random_sym`` keeps the first
2l+1 rows of the triangle, ``diagonal_radial``/``species_diagonal`` keep a subset,
``tensor_reduced`` element-wise keeps the diagonal) keep the same √2 rule on what remains.

A map may act on *extended* coefficients: C = S·(N + N*) columns, each species holding the N
element-basis functions followed by the N* functions of a second radial basis
(:attr:`ChannelMap.n_extra`; ``nu1mustar1`` with a separate basis).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SQRT2 = np.sqrt(2.0)

#: Stored entries of a block: (rows, cols, scale), each (n_entries,).
Pattern = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Block:
    """The maps and stored entries of one l.

    Attributes:
        w1, w2: (C, K1), (C, K2) maps, or None for the identity (K = C).
        rows, cols: (n_entries,) indices into p_l (K1 × K2) of the stored entries, in order.
        scale: (n_entries,) factor applied to each stored entry (√2 off the diagonal of a
            symmetric block, else 1).
        symmetric: W1 and W2 are the same map (p_l is symmetric).
        labels1, labels2: names of the K1 / K2 channels.
    """

    w1: np.ndarray | None
    w2: np.ndarray | None
    rows: np.ndarray
    cols: np.ndarray
    scale: np.ndarray
    symmetric: bool
    labels1: list[str]
    labels2: list[str]

    @property
    def size(self) -> int:
        """Number of stored entries."""
        return len(self.rows)

    def widths(self) -> tuple[int, int]:
        """(K1, K2)."""
        return len(self.labels1), len(self.labels2)


@dataclass
class ChannelMap:
    """Per-l blocks of a descriptor, over coefficients with ``n_radial`` radial functions.

    Attributes:
        blocks: one :class:`Block` per l = 0..L.
        n_radial: radial functions per species in the coefficients the maps act on
            (N, or N + N* when ``n_extra`` > 0).
        n_extra: N*, radial functions of a second basis appended after the N element-basis
            functions of each species (compressions with the ``extra_basis`` flag).
    """

    blocks: list[Block]
    n_radial: int
    n_extra: int = 0

    @property
    def n_features(self) -> int:
        """Total stored entries over all l."""
        return sum(b.size for b in self.blocks)


def triangle(k1: int, k2: int) -> Pattern:
    """Entries (a, b), a < k1, a ≤ b < k2, row by row, ×√2 off the diagonal."""
    rows = np.concatenate([np.full(k2 - a, a) for a in range(k1)]).astype(np.int64)
    cols = np.concatenate([np.arange(a, k2) for a in range(k1)]).astype(np.int64)
    return rows, cols, np.where(rows == cols, 1.0, SQRT2)


def full(k1: int, k2: int) -> Pattern:
    """Every entry of a k1 × k2 block, row-major, unscaled."""
    rows, cols = np.divmod(np.arange(k1 * k2, dtype=np.int64), k2)
    return rows, cols, np.ones(k1 * k2)


def diagonal(k: int) -> Pattern:
    """The diagonal entries (a, a)."""
    a = np.arange(k, dtype=np.int64)
    return a, a, np.ones(k)


def make_block(
    w1: np.ndarray | None,
    w2: np.ndarray | None,
    names1: Sequence[str],
    names2: Sequence[str],
    symmetric: bool,
    pattern: Pattern | None = None,
) -> Block:
    """A :class:`Block`; ``pattern`` defaults to the triangle (symmetric) or the full block."""
    k1, k2 = len(names1), len(names2)
    if pattern is None:
        pattern = triangle(k1, k2) if symmetric else full(k1, k2)
    rows, cols, scale = pattern
    return Block(w1, w2, rows, cols, scale, symmetric, list(names1), list(names2))
