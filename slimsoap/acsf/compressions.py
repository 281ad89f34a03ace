"""ACSF species compressions: a registry of the same shape as the SOAP vocabulary.

An ACSF compression is a pair of linear maps over the neighbour-species axis: W2 (K2 × S)
of the per-species 2-body sums R^β and W3 (K3 × S(S+1)/2) of the per-unordered-pair 3-body
sums U^{βγ} (pairs in :func:`species_pairs` order). See :mod:`slimsoap.acsf.calculator` for
the table of the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from slimsoap._registry import SpecRegistry
from slimsoap.soap.compressions.spec import CompressionOptions, NoOptions


def species_pairs(n_species: int) -> list[tuple[int, int]]:
    """Unordered species pairs (β ≤ γ) in DScribe's order: (0,0), (0,1), (1,1), (0,2), ..."""
    return [(b, g) for g in range(n_species) for b in range(g + 1)]


@dataclass(frozen=True)
class SpeciesWeights(CompressionOptions):
    """``weights``: (S,) finite per-species weights in ascending-Z order, or None for the
    atomic numbers."""

    weights: np.ndarray | None = None

    def validated(self, compression: str) -> SpeciesWeights:
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            if w.ndim != 1 or not np.all(np.isfinite(w)):
                raise ValueError(
                    f"{compression}: weights must be finite numbers, one per species, "
                    f"got {self.weights!r}"
                )
        return self


#: ``maps(species_z, options) -> (W2 (K2, S), W3 (K3, S(S+1)/2))``.
MapBuilder = Callable[[np.ndarray, CompressionOptions], tuple[np.ndarray, np.ndarray]]
#: ``row_labels(symbols) -> (K2 names, K3 names)`` of the rows of W2 and W3.
RowLabels = Callable[[Sequence[str]], tuple[list[str], list[str]]]


@dataclass(frozen=True)
class ACSFCompressionSpec:
    """An ACSF compression.

    Attributes:
        name: the value of ``ACSF(compression=...)``.
        maps: builder of (W2, W3) (:data:`MapBuilder`).
        row_labels: names of the rows of W2 and W3 (:data:`RowLabels`).
        options: the options dataclass (:class:`NoOptions` or :class:`SpeciesWeights`).
        description: one line: what the features are, and their length.
        example_options: ``example_options(n_species) -> [kwargs, ...]`` of ``ACSF``
            exercising the spec; the registry-parametrised tests run each.
    """

    name: str
    maps: MapBuilder
    row_labels: RowLabels
    options: type[CompressionOptions]
    description: str
    example_options: Callable[[int], list[dict]] = lambda n_species: [{}]

    @property
    def weighted(self) -> bool:
        """The maps take per-species weights (the ``weights`` argument of ACSF)."""
        return issubclass(self.options, SpeciesWeights)

    def parse(self, options: Mapping) -> CompressionOptions:
        """Validated options; names the compression and what applies."""
        if "weights" in options and not self.weighted:
            valid = [n for n in names() if get(n).weighted]
            raise ValueError(
                f"weights only apply to compression={' or '.join(map(repr, valid))}, "
                f"not {self.name!r}"
            )
        return self.options(**options).validated(self.name)


def _nu2(species_z, options):
    s = len(species_z)
    return np.eye(s), np.eye(len(species_pairs(s)))


def _nu1mu1(species_z, options):
    s = len(species_z)
    pairs = species_pairs(s)
    w3 = np.zeros((s, len(pairs)))
    for p, (b, g) in enumerate(pairs):
        w3[b, p] = 1.0
        w3[g, p] = 1.0
    return np.eye(s), w3


def _mu2(species_z, options):
    s = len(species_z)
    return np.ones((1, s)), np.ones((1, len(species_pairs(s))))


def _weighted(species_z, options):
    w = np.asarray(species_z, dtype=np.float64) if options.weights is None else options.weights
    pairs = species_pairs(len(species_z))
    return w[None, :].copy(), np.array([[w[b] * w[g] for b, g in pairs]])


def _pair_names(symbols):
    return [f"{symbols[b]}-{symbols[g]}" for b, g in species_pairs(len(symbols))]


#: Every ACSF compression, by name.
_REGISTRY: SpecRegistry[ACSFCompressionSpec] = SpecRegistry("ACSF compression", ACSFCompressionSpec)
register, unregister, get, names = (
    _REGISTRY.register,
    _REGISTRY.unregister,
    _REGISTRY.get,
    _REGISTRY.names,
)


for _spec in (
    ACSFCompressionSpec(
        "nu2",
        _nu2,
        lambda sym: (list(sym), _pair_names(sym)),
        NoOptions,
        "R^α and U^{βγ} per species (pair), S·n2 + ½S(S+1)·n3",
    ),
    ACSFCompressionSpec(
        "nu1mu1",
        _nu1mu1,
        lambda sym: (list(sym), [f"{a}-*" for a in sym]),
        NoOptions,
        "R^α and G^α = Σ_β U^{αβ}, S·n2 + S·n3",
    ),
    ACSFCompressionSpec(
        "mu2",
        _mu2,
        lambda sym: (["*"], ["*-*"]),
        NoOptions,
        "element-agnostic Σ_α R^α, Σ_{β≤γ} U^{βγ}, n2 + n3",
    ),
    ACSFCompressionSpec(
        "weighted",
        _weighted,
        lambda sym: (["w"], ["w*w"]),
        SpeciesWeights,
        "wACSF (Gastegger 2018): Σ_α w_α R^α, Σ w_β w_γ U^{βγ}, n2 + n3",
        example_options=lambda n: [{}, {"weights": list(np.linspace(0.5, 2.0, n))}],
    ),
):
    register(_spec)
del _spec
