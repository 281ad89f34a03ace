"""Compressions made of two of the four densities (paper Table 1, GAP's nu_R, nu_S).

``nu1mu1`` and ``mu2`` take DScribe's ``species_weighting``: each species' coefficients
c^α are multiplied by a weight w_α before either density is formed (as DScribe weights each
neighbour's Gaussian, the centre's own included), so ν,μ=1,1 is (w_α c^α)·(Σ_β w_β c^β) and
μ=2 the spectrum of the weighted total density Σ_β w_β c^β.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from slimsoap.soap.compressions.densities import (
    Density,
    element,
    element_projected,
    total,
    total_projected,
)
from slimsoap.soap.compressions.maps import ChannelMap, make_block
from slimsoap.soap.compressions.spec import (
    CompressionOptions,
    CompressionSpec,
    Context,
    NoOptions,
)


@dataclass(frozen=True)
class SpeciesWeightingOptions(CompressionOptions):
    """``species_weighting``: None, or a weight per species, ``{symbol or Z: weight}``
    (every species of the calculator, finite numbers); stored as ``{symbol: float}``."""

    species_weighting: Mapping | None = None

    def validated(self, compression: str) -> SpeciesWeightingOptions:
        weights = self.species_weighting
        if weights is None:
            return self
        if not isinstance(weights, Mapping) or not weights:
            raise ValueError(
                f"{compression}: species_weighting must be a dict {{element: weight}}, "
                f"got {weights!r}"
            )
        out = {}
        for key, w in weights.items():
            symbol = _symbol(key)
            if symbol is None:
                raise ValueError(f"{compression}: species_weighting key {key!r} is no element")
            if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)):
                raise ValueError(f"{compression}: species_weighting[{key!r}] must be a number")
            if not np.isfinite(w):
                raise ValueError(f"{compression}: species_weighting[{key!r}] must be finite")
            if symbol in out:
                raise ValueError(f"{compression}: species_weighting names {symbol} twice")
            out[symbol] = float(w)
        return dataclasses.replace(self, species_weighting=out)


def _symbol(key) -> str | None:
    """Chemical symbol of a symbol or an atomic number, None if neither."""
    if isinstance(key, str):
        return key if key in atomic_numbers and key != "X" else None
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return chemical_symbols[key] if 0 < key < len(chemical_symbols) else None
    return None


def species_weights(ctx: Context) -> np.ndarray | None:
    """(S,) weight of each species (ascending Z), or None without ``species_weighting``."""
    weights = ctx.options.species_weighting
    if weights is None:
        return None
    if set(weights) != set(ctx.symbols):
        raise ValueError(
            f"species_weighting must give a weight for exactly the species {ctx.symbols}, "
            f"got {sorted(weights)}"
        )
    return np.array([weights[s] for s in ctx.symbols])


def weighted(density: Density) -> Density:
    """``density`` of the species-weighted coefficients w_α c^α: its map's rows scaled by
    w_α (the identity becomes diag(w ⊗ 1_N)); unchanged without ``species_weighting``."""

    def weighted_density(ctx: Context, l: int) -> tuple[np.ndarray | None, list[str]]:
        w, names = density(ctx, l)
        weights = species_weights(ctx)
        if weights is None:
            return w, names
        rows = np.repeat(weights, ctx.n_max)
        return (np.diag(rows) if w is None else rows[:, None] * w), names

    return weighted_density


def paired(d1: Density, d2: Density):
    """Builder of p_l = (X_l D1_l)^T (X_l D2_l); symmetric (triangle) when D1 is D2."""

    def build(ctx: Context) -> ChannelMap:
        blocks = []
        for l in range(ctx.l_max + 1):
            w1, n1 = d1(ctx, l)
            w2, n2 = (w1, n1) if d1 is d2 else d2(ctx, l)
            blocks.append(make_block(w1, w2, n1, n2, d1 is d2))
        return ChannelMap(blocks, ctx.n_max)

    return build


def _spec(name: str, d1: Density, d2: Density, description: str, **kwargs) -> CompressionSpec:
    return CompressionSpec(name, paired(d1, d2), NoOptions, description, **kwargs)


def _weighting_examples(symbols) -> list[dict]:
    return [{}, {"species_weighting": {s: 0.5 + k for k, s in enumerate(symbols)}}]


_weighted_total = weighted(total)

SPECS = [
    _spec("nu2", element, element, "ν=2: the full power spectrum, ½NS(NS+1)(L+1)"),
    CompressionSpec(
        "nu1mu1",
        paired(weighted(element), _weighted_total),
        SpeciesWeightingOptions,
        "ν,μ=1,1: element × total density, N²S(L+1)",
        example_options=_weighting_examples,
    ),
    CompressionSpec(
        "mu2",
        paired(_weighted_total, _weighted_total),
        SpeciesWeightingOptions,
        "μ=2: the element-agnostic spectrum, ½N(N+1)(L+1)",
        example_options=_weighting_examples,
    ),
    _spec("nu1nuhat1", element, element_projected, "ν,ν̂=1,1: element × projected, NS²(L+1)"),
    _spec("nu1muhat1", element, total_projected, "ν,μ̂=1,1: element × total projected, NS(L+1)"),
    _spec("nuhat1mu1", element_projected, total, "ν̂,μ=1,1: projected × total, SN(L+1)"),
    _spec("mu1muhat1", total, total_projected, "μ,μ̂=1,1: total × total projected, N(L+1)"),
    _spec("nuhat2", element_projected, element_projected, "ν̂=2: projected, ½S(S+1)(L+1)"),
    _spec(
        "nuhat1muhat1",
        element_projected,
        total_projected,
        "ν̂,μ̂=1,1: projected × total projected, S(L+1)",
    ),
    _spec(
        "muhat2",
        total_projected,
        total_projected,
        "μ̂=2: total projected density squared, L+1",
        example_options=lambda symbols: [{"projection": "sum"}],
    ),
]
