"""The neighbour-density parameters every expansion-based calculator shares (SOAP, Bispectrum).

ρ^α(r) = Σ_j δ(α, s_j) w_j exp(-|r - r_ij|²/2σ²) f_cut(r_ij), expanded on a radial basis; see
docs/design.md §3. Validated once here so both calculators give the same errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from slimsoap._validation import check_positive, species_to_numbers
from slimsoap.soap.basis.base import RadialBasis

#: Unit-sphere projections of the "hat" densities.
PROJECTIONS = ("exact", "sum")


class DensityParameters(NamedTuple):
    """Validated density parameters: species (Z ascending), r_cut and cutoff width (Å), the
    centre's weight, the output dtype and the projection name."""

    species_z: np.ndarray
    r_cut: float
    cutoff_width: float
    center_weight: float
    dtype: np.dtype
    projection: str


def density_parameters(
    species: Sequence[str | int],
    r_cut: float,
    cutoff_width: float,
    center_weight: float,
    dtype: type,
    projection: str,
) -> DensityParameters:
    """Check the shared constructor arguments; ValueError/TypeError naming the argument."""
    species_z = species_to_numbers(species)
    r_cut = check_positive("r_cut", r_cut)
    width = check_positive("cutoff_width", cutoff_width, strict=False)
    if width >= r_cut:
        raise ValueError(f"cutoff_width ({cutoff_width} Å) must be smaller than r_cut ({r_cut} Å)")
    weight = float(center_weight)
    if not np.isfinite(weight):
        raise ValueError(f"center_weight must be finite, got {center_weight}")
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be 'exact' or 'sum', got {projection!r}")
    return DensityParameters(species_z, r_cut, width, weight, np.dtype(dtype), projection)


def projection_weights(basis: RadialBasis, projection: str) -> np.ndarray:
    """(L+1, N) weights h_nl of the unit-sphere projection: ∫ r² g_nl dr (``"exact"``) or 1
    (``"sum"``, GAP's convention)."""
    if projection == "exact":
        return basis.projection()
    return np.ones((basis.l_max + 1, basis.n_max))
