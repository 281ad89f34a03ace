"""Where the bispectrum's gradients go: rows of (centre, atom) pairs, species groups of
centres, dense or species-sparse row layouts (DESIGN §3, §4 element sparsity).

A neighbour of species β moves only the density channels of β, so through maps that keep
species apart ∂B_i/∂r_j is non-zero only in the entries one of whose three channels β can
reach. Species-sparse output groups centres by the species of their environment (the
neighbours', and the centre's own when it has a weight), contracts each group over those
species only (:meth:`Contraction.restricted`) and stores, per (row, atom) entry, the
columns the atom's species can change (every entry of the group for the centre's own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slimsoap.bispectrum.contraction import Contraction, GradientLayout
from slimsoap.systems.neighbours import NeighbourList


def gradient_rows(nl: NeighbourList, n_atoms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique sorted (centre, atom) keys (n_rows, 2) of a frame or batch (every centre's own
    entry included, periodic images merged), the row of each pair and of each centre."""
    own = np.arange(n_atoms, dtype=np.int64)
    code = nl.centres.astype(np.int64) * n_atoms + nl.neighbours
    keys = np.unique(np.concatenate([code, own * n_atoms + own]))
    pair_row = np.searchsorted(keys, code)
    centre_row = np.searchsorted(keys, own * n_atoms + own)
    return np.stack([keys // n_atoms, keys % n_atoms], axis=1), pair_row, centre_row


def environment_groups(
    species: np.ndarray, nl: NeighbourList, n_species: int, center_weight: float
) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """Centres grouped by the species of their density: (species (ascending), centres
    (ascending)) per group, groups by ascending species tuple.

    Args:
        species: (n,) species index of each atom (batch-wide).
        nl: the pairs of those atoms.
        n_species: S.
        center_weight: the centre's own Gaussian counts when non-zero.
    """
    n = len(species)
    present = np.zeros((n, n_species), dtype=bool)
    present[nl.centres, species[nl.neighbours]] = True
    if center_weight != 0:
        present[np.arange(n), species] = True
    keys, inverse = np.unique(present, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    return [
        (tuple(np.flatnonzero(k).tolist()), order[bounds[g] : bounds[g + 1]])
        for g, k in enumerate(keys)
    ]


def dense_layout(n_rows: int, n_features: int) -> GradientLayout:
    """Row r is ``grad[r]`` of a C-order (n_rows, 3, n_features) array."""
    return GradientLayout(
        np.arange(n_rows, dtype=np.int64) * 3 * n_features,
        np.zeros(n_rows, dtype=np.int64),
        np.arange(n_features, dtype=np.int64)[None, :],
        np.array([n_features], dtype=np.int64),
    )


@dataclass(frozen=True)
class GroupPatterns:
    """The sparse patterns of one restricted contraction over species P.

    Attributes:
        local: (|P|+1, F') int64 column of each entry in pattern q (-1: not stored):
            q < |P| for a neighbour of species slot q (the entries it can change), |P| for
            the centre's own entry (every entry).
        widths: (|P|+1,) int64 stored columns of each pattern.
        columns: per pattern, the global feature columns stored (ascending).
    """

    local: np.ndarray
    widths: np.ndarray
    columns: list[np.ndarray]

    @classmethod
    def build(cls, contraction: Contraction) -> GroupPatterns:
        """Patterns that match exactly what the gradient kernel skips (no channel of an
        entry touched by the species)."""
        t1, t2, t3 = contraction.touched
        e = contraction.entries
        hit = (t1[:, e[:, 3]] | t2[:, e[:, 4]] | t3[:, e[:, 5]]).astype(bool)  # (|P|, F')
        hit = np.vstack([hit, np.ones((1, len(e)), dtype=bool)])
        local = np.where(hit, np.cumsum(hit, axis=1) - 1, -1).astype(np.int64)
        return cls(local, hit.sum(axis=1).astype(np.int64), [contraction.columns[h] for h in hit])


def sparse_row_patterns(
    keys: np.ndarray,
    species: np.ndarray,
    groups: list[tuple[tuple[int, ...], np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """(n_rows,) pattern of each gradient row within its centre's group (slot of the
    atom's species in the group's species, or |P| for the centre's own row), and (n,)
    group of each centre."""
    group_of = np.empty(len(species), dtype=np.int64)
    for g, (_, members) in enumerate(groups):
        group_of[members] = g
    pattern = np.empty(len(keys), dtype=np.int64)
    row_group = group_of[keys[:, 0]]
    for g, (P, _) in enumerate(groups):
        rows = np.flatnonzero(row_group == g)
        own = keys[rows, 0] == keys[rows, 1]
        pattern[rows] = np.where(
            own, len(P), np.searchsorted(np.array(P, dtype=np.int64), species[keys[rows, 1]])
        )
    return pattern, group_of
