"""Radial bases g_nl(r), by name: ``"gto"`` (DScribe's primitives, orthonormal to ≤ 1e-8),
``"gto_dscribe"`` (the same, orthonormalised exactly as DScribe does) and ``"gaussian"``
(GAP's).

A new basis subclasses :class:`~slimsoap.soap.basis.base.RadialBasis` (it provides the exact
radial integrals; the base class tabulates them in one spline table) and is added to
:data:`BASES`.
"""

from __future__ import annotations

from slimsoap.soap.basis.base import RadialBasis
from slimsoap.soap.basis.gaussian import GaussianBasis
from slimsoap.soap.basis.gto import DScribeGTOBasis, GTOBasis

#: Registry of radial bases by name.
BASES: dict[str, type[RadialBasis]] = {
    cls.name: cls for cls in (GTOBasis, DScribeGTOBasis, GaussianBasis)
}


def make_basis(name: str, n_max: int, l_max: int, r_cut: float, sigma: float) -> RadialBasis:
    """Build the radial basis called ``name`` (one of :data:`BASES`)."""
    if name not in BASES:
        raise ValueError(f"unknown radial_basis {name!r}; valid: {sorted(BASES)}")
    return BASES[name](n_max, l_max, r_cut, sigma)


__all__ = ["BASES", "DScribeGTOBasis", "GTOBasis", "GaussianBasis", "RadialBasis", "make_basis"]
