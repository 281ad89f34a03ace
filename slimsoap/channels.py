"""The compression vocabulary: each descriptor is a pair of per-l channel maps (DESIGN §2, §4).

For each l, X_l is the (2l+1) × (S·N) matrix of coefficients (species outer, radial inner).
A compression picks W1_l (S·N × K1_l) and W2_l (S·N × K2_l); the contraction then forms
p_l = (X_l W1_l)^T (X_l W2_l). ``None`` stands for the identity (the element density).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase.data import chemical_symbols


@dataclass
class ChannelMap:
    """Per-l maps of the two densities of a 3-body descriptor.

    Attributes:
        w1, w2: per l, an (S·N, K) matrix or None for the identity.
        symmetric: W1 == W2; the block is symmetric and stored as its upper triangle.
        labels1, labels2: per l, a name for each of the K1_l / K2_l channels.
    """

    w1: list[np.ndarray | None]
    w2: list[np.ndarray | None]
    symmetric: bool
    labels1: list[list[str]]
    labels2: list[list[str]]

    def widths(self, l: int) -> tuple[int, int]:
        """(K1_l, K2_l)."""
        return len(self.labels1[l]), len(self.labels2[l])


def _element(species_z, n_max, projection):
    names = [f"{chemical_symbols[z]}:n{n}" for z in species_z for n in range(n_max)]
    return [None] * projection.shape[0], [names] * projection.shape[0]


def _total(species_z, n_max, projection):
    S = len(species_z)
    w = np.tile(np.eye(n_max), (S, 1))
    names = [f"total:n{n}" for n in range(n_max)]
    return [w] * projection.shape[0], [names] * projection.shape[0]


def _element_projected(species_z, n_max, projection):
    S = len(species_z)
    maps = []
    for h in projection:
        w = np.zeros((S * n_max, S))
        for a in range(S):
            w[a * n_max : (a + 1) * n_max, a] = h
        maps.append(w)
    names = [f"{chemical_symbols[z]}:proj" for z in species_z]
    return maps, [names] * len(maps)


def _total_projected(species_z, n_max, projection):
    S = len(species_z)
    maps = [np.tile(h, S)[:, None] for h in projection]
    return maps, [["total:proj"]] * len(maps)


#: Density kinds: name → builder(species_z, n_max, projection (L+1, N)) → (maps, labels).
DENSITIES = {
    "element": _element,
    "total": _total,
    "element_projected": _element_projected,
    "total_projected": _total_projected,
}

#: Compressions made of two named densities: name → (density 1, density 2).
PAIRED = {
    "nu2": ("element", "element"),
    "nu1mu1": ("element", "total"),
    "mu2": ("total", "total"),
    "nu1nuhat1": ("element", "element_projected"),
    "nu1muhat1": ("element", "total_projected"),
    "nuhat1mu1": ("element_projected", "total"),
    "mu1muhat1": ("total", "total_projected"),
    "nuhat2": ("element_projected", "element_projected"),
    "nuhat1muhat1": ("element_projected", "total_projected"),
    "muhat2": ("total_projected", "total_projected"),
}


def build_channels(
    compression: str, species_z: np.ndarray, n_max: int, projection: np.ndarray
) -> ChannelMap:
    """The channel maps of ``compression`` (a name of :data:`PAIRED`).

    Args:
        species_z: (S,) atomic numbers, ascending.
        n_max: N.
        projection: (L+1, N) unit-sphere projection weights h_nl of the radial basis.
    """
    if compression not in PAIRED:
        raise ValueError(f"unknown compression {compression!r}; valid: {sorted(PAIRED)}")
    d1, d2 = PAIRED[compression]
    w1, l1 = DENSITIES[d1](species_z, n_max, projection)
    w2, l2 = DENSITIES[d2](species_z, n_max, projection)
    return ChannelMap(w1, w2, d1 == d2, l1, l2)


def block_length(k1: int, k2: int, symmetric: bool) -> int:
    """Number of stored entries of a K1 × K2 block."""
    return k1 * (k1 + 1) // 2 if symmetric else k1 * k2


def descriptor_length(
    compression: str, n_max: int, l_max: int, n_species: int, **options
) -> int:
    """Length of the SOAP descriptor ``compression`` without building a calculator.

    Example: ``descriptor_length("nu2", n_max=8, l_max=6, n_species=5) == 5740``.
    """
    if options:
        raise ValueError(f"options {sorted(options)} do not apply to {compression!r}")
    species_z = np.arange(1, n_species + 1)
    maps = build_channels(compression, species_z, n_max, np.ones((l_max + 1, n_max)))
    return sum(block_length(*maps.widths(l), maps.symmetric) for l in range(l_max + 1))
